"""Measure the ledger's own costs: opening, writing a run, and many writers at once.

Run: ``python tests/ledger/ledger_overhead.py [--quick]``. Prints one JSON object.

- ``*_ms_median`` of opening: in fresh processes (each timing itself with
  perf_counter, median over processes), the wall time of ``import sqlalchemy``,
  ``import zuinig``, importing the ledger store, and ``Ledger.open`` of an existing,
  up-to-date SQLite ledger (no Alembic import); and, for scale, how much of the open
  is SQLAlchemy importing its SQLite dialect and ``sqlite3``, which any SQLAlchemy
  use of SQLite pays.
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

_OPEN = """
import time
t0 = time.perf_counter()
import sqlalchemy
t1 = time.perf_counter()
import zuinig
t2 = time.perf_counter()
from zuinig.ledger.store import Ledger
t3 = time.perf_counter()
ledger = Ledger.open({url!r})
t4 = time.perf_counter()
import sys
assert "alembic" not in sys.modules
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
"""
# What SQLAlchemy itself needs to talk to SQLite at all, timed after the same imports.
_DIALECT = """
import time
import sqlalchemy, zuinig
t0 = time.perf_counter()
import sqlite3
import sqlalchemy.dialects.sqlite
t1 = time.perf_counter()
print(0, 0, 0, t1 - t0)
"""


def _fresh(code: str) -> list[float]:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    return [float(part) * 1e3 for part in output.split()]


def measure_open(url: str, repeats: int) -> dict[str, float]:
    from zuinig.ledger import Ledger

    Ledger.open(url).close()  # create it, so the timed processes open an up-to-date ledger
    samples = []
    dialect = []
    for _ in range(repeats):
        samples.append(_fresh(_OPEN.format(url=url)))
        dialect.append(_fresh(_DIALECT)[3])  # interleaved, so both see the same machine state
    column = list(zip(*samples, strict=True))
    return {
        "import_sqlalchemy_ms_median": statistics.median(column[0]),
        "import_zuinig_package_ms_median": statistics.median(column[1]),
        "import_ledger_store_ms_median": statistics.median(column[2]),
        "ledger_open_ms_median": statistics.median(column[3]),
        "of_which_sqlalchemy_sqlite_dialect_import_ms_median": statistics.median(dialect),
        "store_import_plus_open_ms_median": statistics.median(
            [sample[2] + sample[3] for sample in samples]
        ),
        "open_repeats": repeats,
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
