"""Convert a large CSV to Parquet with ``zuinig convert``: peak memory and time, beside
Polars and DuckDB doing the same conversion of the same file.

The CSV is generated here, nothing is downloaded. By default: numpy, seeded, written in
chunks with pyarrow's CSV writer, a measurement table as a provincial data team keeps
one, with an id, a timestamp, a municipality and a sensor code (text), a measured value
(a float with all its digits), a count, a validity flag and a remark that is mostly
empty. With ``--tpch SCALE``: the TPC-H ``lineitem`` table from ``tpchgen-cli`` (in the
venv; scale 1 gives about 766 MB; "TPC-H derived, not comparable to official TPC-H").

Each tool then converts the file to Parquet with Zstandard, one after the other, each in
a fresh subprocess, exactly as a user would run it (imports included), while this script
samples the resident memory of the subprocess's whole process tree (psutil, every
50 ms) and times it:

* ``python -m zuinig convert FILE --to parquet`` (the real meter, a throwaway ledger),
  which also reads the written file back in full to verify it before the rename;
* Polars: ``pl.scan_csv(FILE).sink_parquet(OUT, compression="zstd")``;
* DuckDB: ``COPY (SELECT * FROM read_csv(FILE)) TO OUT (FORMAT parquet, COMPRESSION zstd)``.

With ``--repeat N`` the three run N times, interleaved, and each tool's fastest run
counts. The ratio of zuinig's wall time to Polars' is the speed figure (target:
:data:`SPEED_TARGET_RATIO`); timings of other loads on the machine distort it, so run
it on a quiet machine.

    python benchmarks/convert_large.py --size-gb 5 --out reports/convert     # issue 4's run
    python benchmarks/convert_large.py --tpch 1 --repeat 3 --out reports/convert-tpch
    python benchmarks/convert_large.py --size-gb 0.01 --out DIR              # smoke size

Targets: peak memory under 1 GB (10**9 bytes) for a 5 GB CSV (issue 4), and zuinig
within 1.5 times Polars' wall time (issue 14). The generated files are deleted
afterwards unless ``--keep`` is given. Exit code 1 if the memory target is missed; the
speed verdict is printed and stored (at smoke sizes start-up time dominates it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from zuinig.units import format_energy

#: Issue 4's memory target for a 5 GB CSV (bytes).
PEAK_RSS_TARGET_BYTES = 10**9
#: Issue 14's speed target: zuinig's wall time at most this many times Polars'.
SPEED_TARGET_RATIO = 1.5
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


def clean_env(home: Path) -> dict[str, str]:
    """The environment of every timed subprocess: no zuinig or CodeCarbon settings, a
    throwaway home."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ZUINIG_", "CODECARBON_"))},
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }


def run_timed(name: str, command: list[str], home: Path) -> dict[str, Any]:
    """Run ``command`` (of the tool ``name``); return its wall time, the peak RSS of its process tree and stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(home),
        cwd=home,
    )
    with TreeMemorySampler(process.pid) as sampler, ThreadPoolExecutor(2) as pipes:
        assert process.stdout is not None and process.stderr is not None
        stdout_read, stderr_read = (
            pipes.submit(process.stdout.read),
            pipes.submit(process.stderr.read),
        )
        # wait4, not communicate: the rusage of this child alone (ru_maxrss in KiB on
        # Linux), a cross-check of the sampled peak that other tools' runs do not blur.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout, stderr = stdout_read.result(), stderr_read.result()
    wall_s = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{name} failed ({process.returncode}): {stderr.strip()}")
    return {
        "wall_s": wall_s,
        "peak_rss_bytes": sampler.peak_rss_bytes,
        "rss_samples": sampler.samples,
        "max_child_rss_bytes": usage.ru_maxrss * 1024,
        "stdout": stdout,
    }


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
        "--force",  # the second and later repeats replace the first's file
    ]
    measured = run_timed("zuinig convert", command, home)
    return {
        "command": " ".join(["python", *command[1:]]),
        **measured,
        "parquet_bytes": parquet_path.stat().st_size,
        "run": _convert_run(ledger, csv_path.name),
    }


POLARS_SCRIPT = """
import sys, polars as pl
pl.scan_csv(sys.argv[1]).sink_parquet(sys.argv[2], compression="zstd")
"""
DUCKDB_SCRIPT = """
import sys, duckdb
source, target = (path.replace("'", "''") for path in sys.argv[1:3])
duckdb.sql(f"COPY (SELECT * FROM read_csv('{source}')) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
"""
#: The other tools, each converting the same CSV to Parquet with zstd in a fresh Python.
OTHER_TOOLS = {"polars": POLARS_SCRIPT, "duckdb": DUCKDB_SCRIPT}


def other_in_subprocess(tool: str, csv_path: Path, home: Path) -> dict[str, Any]:
    """Convert with ``tool`` (a key of :data:`OTHER_TOOLS`); its time, memory and size."""
    out = home / f"{tool}.parquet"
    out.unlink(missing_ok=True)
    measured = run_timed(
        tool, [sys.executable, "-c", OTHER_TOOLS[tool], str(csv_path), str(out)], home
    )
    measured["parquet_bytes"] = out.stat().st_size
    out.unlink()
    return measured


def compare(csv_path: Path, parquet_path: Path, home: Path, repeat: int) -> dict[str, Any]:
    """zuinig, Polars and DuckDB, ``repeat`` times interleaved; each one's fastest run,
    with every run's wall time, and zuinig's ratio to Polars."""
    runs: dict[str, list[dict[str, Any]]] = {"zuinig": [], "polars": [], "duckdb": []}
    for round_index in range(repeat):
        print(f"round {round_index + 1} of {repeat}: zuinig, polars, duckdb", file=sys.stderr)
        runs["zuinig"].append(convert_in_subprocess(csv_path, parquet_path, home))
        for tool in OTHER_TOOLS:
            runs[tool].append(other_in_subprocess(tool, csv_path, home))
    best = {tool: min(found, key=lambda run: run["wall_s"]) for tool, found in runs.items()}
    ratio = best["zuinig"]["wall_s"] / best["polars"]["wall_s"]
    return {
        **best["zuinig"],
        "repeat": repeat,
        "wall_s_all": [run["wall_s"] for run in runs["zuinig"]],
        "others": {
            tool: {**best[tool], "wall_s_all": [run["wall_s"] for run in runs[tool]]}
            for tool in OTHER_TOOLS
        },
        "ratio_to_polars": ratio,
        "ratio_to_duckdb": best["zuinig"]["wall_s"] / best["duckdb"]["wall_s"],
        "speed_target_ratio": SPEED_TARGET_RATIO,
        "speed_target_met": ratio <= SPEED_TARGET_RATIO,
    }


def generate_tpch_lineitem(work: Path, scale: float) -> tuple[Path, int]:
    """``lineitem.csv`` of TPC-H at ``scale`` from ``tpchgen-cli``; the file and its rows."""
    from zuinig.bench.workloads import find_tpchgen

    command = [str(find_tpchgen()), "csv", "--scale-factor", f"{scale:g}", "--tables"]
    command += ["lineitem", "--output-dir", str(work)]
    subprocess.run(command, check=True, capture_output=True)
    path = work / "lineitem.csv"
    with path.open("rb") as lines:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: lines.read(1 << 24), b"")) - 1
    return path, rows


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
    energy_text = "not measured" if energy is None else format_energy(energy)
    if energy is not None and run.get("is_estimated"):
        energy_text += f" (estimated: CPU method {run.get('method_cpu')})"
    met = "met" if results["target_met"] else "NOT met"
    speed_met = "met" if results["speed_target_met"] else "NOT met"
    csv_bytes = results["csv_bytes"]
    own = run.get("duration_s")
    rows = [
        ("CSV", results["csv_name"]),
        ("CSV size", f"{csv_bytes / 1e9:.2f} GB ({csv_bytes:,} bytes)"),
        ("rows", f"{results['rows']:,}"),
        (
            "Parquet size (zstd)",
            f"{results['parquet_bytes'] / 1e9:.3f} GB ({results['parquet_bytes'] / csv_bytes:.1%} of the CSV)",
        ),
        (
            "peak RSS, whole process tree",
            f"{results['peak_rss_bytes'] / 1e6:,.0f} MB (target < {PEAK_RSS_TARGET_BYTES / 1e6:,.0f} MB: {met})",
        ),
        ("largest single process (ru_maxrss)", f"{results['max_child_rss_bytes'] / 1e6:,.0f} MB"),
        (
            "wall time, `zuinig convert` as a user runs it",
            f"{results['wall_s']:.1f} s ({csv_bytes / 1e6 / results['wall_s']:.0f} MB/s of CSV)"
            + ("" if own is None else f"; the conversion itself (its run) {own:.1f} s"),
        ),
        (
            "zuinig / Polars wall time",
            f"{results['ratio_to_polars']:.2f} (target <= {SPEED_TARGET_RATIO:g}: {speed_met})",
        ),
        ("zuinig / DuckDB wall time", f"{results['ratio_to_duckdb']:.2f}"),
        ("energy of the conversion (its own run)", energy_text),
        ("CSV generation (not part of the conversion)", f"{results['generate_s']:.1f} s"),
    ]
    tools = [("zuinig convert (verified)", results)] + [
        (name, results["others"][name]) for name in OTHER_TOOLS
    ]
    lines = [
        "# Converting a large CSV to Parquet with `zuinig convert`",
        "",
        f"Measured {results['measured_at']} on {results['machine']}, Python {results['python']}, "
        f"pyarrow {results['pyarrow']}, Polars {results['polars']}, DuckDB {results['duckdb']}.",
        "",
        f"Command: `{results['benchmark_command']}`; the conversion ran as "
        f"`{results['command']}` (paths of a temporary folder).",
        "",
        "| measure | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        f"Each tool converted the same file to Parquet (zstd) in a fresh Python process, "
        f"imports included; {results['repeat']} round(s), interleaved, fastest counted.",
        "",
        "| tool | wall time (s), fastest | all rounds (s) | peak RSS (MB) | Parquet (MB) |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {tool['wall_s']:.2f} | "
            + ", ".join(f"{wall:.2f}" for wall in tool["wall_s_all"])
            + f" | {tool['peak_rss_bytes'] / 1e6:,.0f} | {tool['parquet_bytes'] / 1e6:,.1f} |"
            for name, tool in tools
        ),
        "",
        "The conversion streams: the CSV is read in blocks and written as Parquet row groups, "
        "then the written file is read back in full to verify row count, schema and per-column "
        "checksums before it is renamed into place; zuinig's wall time includes that verification "
        "(Polars and DuckDB do not verify). "
        "Memory is the resident set size summed over each process and any children, "
        f"sampled every {SAMPLE_INTERVAL_S * 1000:.0f} ms ({results['rss_samples']:,} samples "
        "for zuinig's fastest run).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import duckdb
    import polars

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=5.0, help="CSV size (GB, 10**9 bytes)")
    parser.add_argument(
        "--tpch",
        type=float,
        metavar="SCALE",
        help="convert TPC-H lineitem at this scale factor (tpchgen-cli) instead",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the three tools (fastest counts)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for results.json and README.md"
    )
    parser.add_argument(
        "--work-dir", type=Path, help="where the CSV and Parquet go (default: a temporary folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV and Parquet")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    work = Path(tempfile.mkdtemp(prefix="zuinig-convert-", dir=args.work_dir))
    try:
        started = time.perf_counter()
        if args.tpch is not None:
            print(f"generating TPC-H lineitem at scale {args.tpch:g} in {work}", file=sys.stderr)
            csv_path, rows = generate_tpch_lineitem(work, args.tpch)
            asked = f"--tpch {args.tpch:g}"
        else:
            csv_path = work / "metingen.csv"
            print(f"generating {args.size_gb:g} GB of CSV in {work}", file=sys.stderr)
            rows = generate_csv(csv_path, int(args.size_gb * 1e9))
            asked = f"--size-gb {args.size_gb:g}"
        generate_s = time.perf_counter() - started
        parquet_path = work / f"{csv_path.stem}.parquet"
        print(f"converting {csv_path.stat().st_size / 1e9:.2f} GB ({rows:,} rows)", file=sys.stderr)
        measured = compare(csv_path, parquet_path, work, args.repeat)
        repeat = f" --repeat {args.repeat}" if args.repeat != 1 else ""
        results = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()} ({os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM)",
            "python": platform.python_version(),
            "pyarrow": pa.__version__,
            "polars": polars.__version__,
            "duckdb": duckdb.__version__,
            "benchmark_command": f"python benchmarks/convert_large.py {asked}{repeat} --out {args.out}",
            "size_gb_asked": None if args.tpch is not None else args.size_gb,
            "tpch_scale": args.tpch,
            "csv_name": "TPC-H lineitem (TPC-H derived, not comparable to official TPC-H)"
            if args.tpch is not None
            else "generated measurements (metingen.csv)",
            "csv_bytes": csv_path.stat().st_size,
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
