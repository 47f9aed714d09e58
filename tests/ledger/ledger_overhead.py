"""Measure the ledger's own costs: opening, writing a run, and many writers at once.

Run: ``python tests/ledger/ledger_overhead.py [--quick]``. Prints one JSON object.

- ``open_ms``: extra wall time, in a fresh process, of importing zuinig's ledger and
  opening an existing up-to-date SQLite ledger, beyond ``import sqlalchemy``
  (median over fresh processes; each process times itself with perf_counter).
- ``write_ms``: one ``start_run`` + ``finish_run`` pair on SQLite, median and 95th
  percentile, for a run with every field set, two tags and one input file.
- ``concurrent_s``: wall time for 8 processes x 200 pairs into one new SQLite file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
sys.path.insert(0, str(SRC))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger_helpers import full_run, run_writers  # noqa: E402

_BASELINE = """
import time
t0 = time.perf_counter()
import sqlalchemy
t1 = time.perf_counter()
print(t1 - t0, 0.0, 0.0)
"""
_OPEN = """
import time
t0 = time.perf_counter()
import sqlalchemy
t1 = time.perf_counter()
from zuinig.ledger import Ledger
t2 = time.perf_counter()
ledger = Ledger.open({url!r})
t3 = time.perf_counter()
import sys
assert "alembic" not in sys.modules
print(t1 - t0, t2 - t1, t3 - t2)
"""


def _fresh(code: str) -> tuple[float, float, float]:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    first, second, third = (float(part) for part in output.split())
    return first, second, third


def measure_open(url: str, repeats: int) -> dict[str, float]:
    from zuinig.ledger import Ledger

    Ledger.open(url).close()  # create it, so the timed processes open an up-to-date ledger
    imports, opens = [], []
    for _ in range(repeats):
        _fresh(_BASELINE)  # interleaved so both see the same page cache
        _, import_s, open_s = _fresh(_OPEN.format(url=url))
        imports.append(import_s * 1e3)
        opens.append(open_s * 1e3)
    totals = [a + b for a, b in zip(imports, opens, strict=True)]
    return {
        "import_zuinig_ledger_ms_median": statistics.median(imports),
        "open_ms_median": statistics.median(opens),
        "import_plus_open_ms_median": statistics.median(totals),
        "repeats": repeats,
    }


def measure_writes(url: str, pairs: int) -> dict[str, float]:
    import dataclasses

    from zuinig.ledger import Ledger

    ledger = Ledger.open(url)
    timings = []
    for index in range(pairs):
        run = full_run(f"w{index:08d}", status="running")
        done = dataclasses.replace(run, status="ok")
        start = time.perf_counter()
        ledger.start_run(run)
        ledger.finish_run(done)
        timings.append((time.perf_counter() - start) * 1e3)
    ledger.close()
    timings.sort()
    return {
        "write_pair_ms_median": statistics.median(timings),
        "write_pair_ms_p95": timings[int(len(timings) * 0.95)],
        "pairs": pairs,
    }


def measure_concurrent(url: str, processes: int, pairs: int) -> dict[str, float]:

    elapsed = run_writers(url, processes=processes, pairs=pairs)
    return {"concurrent_s": elapsed, "processes": processes, "pairs_each": pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        result = {}
        result.update(
            measure_open(f"sqlite:///{(base / 'open.sqlite').as_posix()}", 2 if args.quick else 15)
        )
        result.update(
            measure_writes(
                f"sqlite:///{(base / 'w.sqlite').as_posix()}", 20 if args.quick else 2000
            )
        )
        result.update(
            measure_concurrent(
                f"sqlite:///{(base / 'c.sqlite').as_posix()}",
                2 if args.quick else 8,
                5 if args.quick else 200,
            )
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
