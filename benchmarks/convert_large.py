"""Convert a large generated CSV to Parquet with ``zuinig convert``: peak memory and time.

The CSV is generated here (numpy, seeded, written in chunks with pyarrow's CSV writer;
nothing is downloaded): a measurement table as a provincial data team keeps one, with an
id, a timestamp, a municipality and a sensor code (text), a measured value (a float with
all its digits), a count, a validity flag and a remark that is mostly empty. It is then
converted by ``python -m zuinig convert FILE --to parquet`` in a subprocess, exactly as a
user would run it (the real meter, a throwaway ledger), while this script samples the
resident memory of the subprocess's whole process tree (psutil, every 50 ms) and times it.

    python benchmarks/convert_large.py --size-gb 5 --out reports/convert     # issue 4's run
    python benchmarks/convert_large.py --size-gb 0.01 --out DIR              # smoke size

Target (issue 4): peak memory under 1 GB (10**9 bytes) for a 5 GB CSV. The generated
files are deleted afterwards unless ``--keep`` is given. Exit code 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

#: Issue 4's memory target for a 5 GB CSV (bytes).
PEAK_RSS_TARGET_BYTES = 10**9
#: How often the process tree's memory is sampled (s).
SAMPLE_INTERVAL_S = 0.05
#: Rows generated per chunk: about 100 MB of CSV, so generating stays cheap in memory too.
CHUNK_ROWS = 1_000_000
SEED = 20261129

_MUNICIPALITIES = [
    f"Gemeente {name}"
    for name in (
        "Zwolle",
        "Deventer",
        "Enschede",
        "Ĳsselmuiden",
        "Hengelo",
        "Almelo",
        "Kampen",
        "Raalte",
        "Ommen",
        "Hardenberg",
    )
] + [f"Gemeente {index:03d}" for index in range(332)]


def generate_csv(path: Path, size_bytes: int) -> int:
    """Write CSV chunks to ``path`` until it holds at least ``size_bytes``; return its rows."""
    rng = np.random.default_rng(SEED)
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("measured_at", pa.timestamp("s")),
            ("municipality", pa.string()),
            ("sensor", pa.string()),
            ("value", pa.float64()),
            ("count", pa.int64()),
            ("valid", pa.bool_()),
            ("remark", pa.string()),
        ]
    )
    municipalities = pa.array(_MUNICIPALITIES)
    sensors = pa.array([f"S-{index:05d}" for index in range(20_000)])
    remarks = pa.array(["", "herkalibratie", "storing, waarde geschat", 'sensor "B" vervangen'])
    # Small files get small chunks so that the file is not many times the size asked for.
    chunk_rows = int(min(CHUNK_ROWS, max(1_000, size_bytes // 1_000)))
    start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    rows = 0
    with pa.OSFile(str(path), "wb") as sink, pa_csv.CSVWriter(sink, schema) as writer:
        while sink.tell() < size_bytes:
            ids = np.arange(rows, rows + chunk_rows, dtype=np.int64)
            remark_index = rng.choice(4, size=chunk_rows, p=[0.94, 0.03, 0.02, 0.01])
            remark = remarks.take(pa.array(remark_index))
            remark_mask = pa.array(rng.random(chunk_rows) < 0.05)  # some remarks missing
            columns = [
                pa.array(ids),
                pa.array(start + ids * 15, type=pa.timestamp("s")),
                municipalities.take(pa.array(rng.integers(0, len(_MUNICIPALITIES), chunk_rows))),
                sensors.take(pa.array(rng.integers(0, len(sensors), chunk_rows))),
                pa.array(rng.normal(18.5, 6.0, chunk_rows)),
                pa.array(rng.poisson(40, chunk_rows).astype(np.int64)),
                pa.array(rng.random(chunk_rows) < 0.98),
                pc.if_else(remark_mask, pa.scalar(None, pa.string()), remark),
            ]
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            rows += chunk_rows
    return rows


class TreeMemorySampler:
    """Samples the summed RSS of a process and all its descendants in a thread."""

    def __init__(self, pid: int) -> None:
        self._root = psutil.Process(pid)
        self._stop = threading.Event()
        self.peak_rss_bytes = 0
        self.samples = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                processes = [self._root, *self._root.children(recursive=True)]
            except psutil.Error:
                break
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_rss_bytes = max(self.peak_rss_bytes, total)
            self.samples += 1
            self._stop.wait(SAMPLE_INTERVAL_S)


def convert_in_subprocess(csv_path: Path, parquet_path: Path, home: Path) -> dict[str, Any]:
    """Run ``zuinig convert`` as a user would; return its time, peak memory and output."""
    ledger = f"sqlite:///{home / 'ledger.sqlite'}"
    command = [
        sys.executable,
        "-m",
        "zuinig",
        "--ledger",
        ledger,
        "convert",
        str(csv_path),
        "--to",
        "parquet",
        "--out",
        str(parquet_path),
    ]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ZUINIG_", "CODECARBON_"))},
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=home
    )
    with TreeMemorySampler(process.pid) as sampler:
        stdout, stderr = process.communicate()
    wall_s = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"zuinig convert failed ({process.returncode}): {stderr.strip()}")
    # ru_maxrss: the largest single waited-for child (KiB on Linux), as a cross-check.
    max_child_rss_bytes = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {
        "command": " ".join(["python", *command[1:]]),
        "wall_s": wall_s,
        "peak_rss_bytes": sampler.peak_rss_bytes,
        "rss_samples": sampler.samples,
        "max_child_rss_bytes": max_child_rss_bytes,
        "stdout": stdout,
        "run": _convert_run(ledger, csv_path.name),
    }


def _convert_run(ledger_url: str, source_name: str) -> dict[str, Any] | None:
    """The run ``zuinig convert`` recorded, from its ledger."""
    from zuinig.ledger import Ledger
    from zuinig.ledger.model import RunFilter

    with Ledger.open(ledger_url) as ledger:
        runs = ledger.list_runs(RunFilter(job=f"convert:{source_name}"))
    if not runs:
        return None
    run = runs[0]
    return {
        "run_id": run.run_id,
        "status": run.status,
        "duration_s": run.duration_s,
        "energy_kwh": run.energy_kwh,
        "co2_kg": run.co2_kg,
        "cpu_s": run.cpu_s,
        "meter_peak_rss_bytes": run.peak_rss_bytes,
        "method_cpu": run.method_cpu,
        "is_estimated": run.is_estimated,
    }


def format_markdown(results: dict[str, Any]) -> str:
    """The README.md table of one run of this benchmark."""
    run = results.get("run") or {}
    energy = run.get("energy_kwh")
    energy_text = "not measured" if energy is None else f"{energy:.4g} kWh"
    if energy is not None and run.get("is_estimated"):
        energy_text += f" (estimated: CPU method {run.get('method_cpu')})"
    met = "met" if results["target_met"] else "NOT met"
    rows = [
        ("CSV size", f"{results['csv_bytes'] / 1e9:.2f} GB ({results['csv_bytes']:,} bytes)"),
        ("rows", f"{results['rows']:,}"),
        (
            "Parquet size (zstd)",
            f"{results['parquet_bytes'] / 1e9:.3f} GB ({results['parquet_bytes'] / results['csv_bytes']:.1%} of the CSV)",
        ),
        (
            "peak RSS, whole process tree",
            f"{results['peak_rss_bytes'] / 1e6:,.0f} MB (target < {PEAK_RSS_TARGET_BYTES / 1e6:,.0f} MB: {met})",
        ),
        ("largest single process (ru_maxrss)", f"{results['max_child_rss_bytes'] / 1e6:,.0f} MB"),
        (
            "wall time",
            f"{results['wall_s']:.1f} s ({results['csv_bytes'] / 1e6 / results['wall_s']:.0f} MB/s of CSV)",
        ),
        ("energy of the conversion (its own run)", energy_text),
        ("CSV generation (not part of the conversion)", f"{results['generate_s']:.1f} s"),
    ]
    lines = [
        "# Converting a large CSV to Parquet with `zuinig convert`",
        "",
        f"Measured {results['measured_at']} on {results['machine']}, Python {results['python']}, "
        f"pyarrow {results['pyarrow']}.",
        "",
        f"Command: `{results['benchmark_command']}`; the conversion ran as "
        f"`{results['command']}` (paths of a temporary folder).",
        "",
        "| measure | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        "The conversion streams: the CSV is read in blocks and written as Parquet row groups, "
        "then the written file is read back in full to verify row count, schema and per-column "
        "checksums before it is renamed into place; the wall time includes that verification. "
        "Memory is the resident set size summed over the `zuinig` process and any children, "
        f"sampled every {SAMPLE_INTERVAL_S * 1000:.0f} ms ({results['rss_samples']:,} samples).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=5.0, help="CSV size (GB, 10**9 bytes)")
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for results.json and README.md"
    )
    parser.add_argument(
        "--work-dir", type=Path, help="where the CSV and Parquet go (default: a temporary folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV and Parquet")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="zuinig-convert-", dir=args.work_dir))
    try:
        csv_path = work / "metingen.csv"
        parquet_path = work / "metingen.parquet"
        print(f"generating {args.size_gb:g} GB of CSV in {work}", file=sys.stderr)
        started = time.perf_counter()
        rows = generate_csv(csv_path, int(args.size_gb * 1e9))
        generate_s = time.perf_counter() - started
        print(f"converting {csv_path.stat().st_size / 1e9:.2f} GB ({rows:,} rows)", file=sys.stderr)
        measured = convert_in_subprocess(csv_path, parquet_path, work)
        results = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()} ({os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM)",
            "python": platform.python_version(),
            "pyarrow": pa.__version__,
            "benchmark_command": f"python benchmarks/convert_large.py --size-gb {args.size_gb:g} --out {args.out}",
            "size_gb_asked": args.size_gb,
            "csv_bytes": csv_path.stat().st_size,
            "parquet_bytes": parquet_path.stat().st_size,
            "rows": rows,
            "generate_s": generate_s,
            "peak_rss_target_bytes": PEAK_RSS_TARGET_BYTES,
            **measured,
        }
        results["target_met"] = results["peak_rss_bytes"] < PEAK_RSS_TARGET_BYTES
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "README.md").write_text(format_markdown(results))
    print(format_markdown(results))
    return 0 if results["target_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
