"""Overhead of ``@zuinig.measure`` on a no-op function, beside CodeCarbon's ``track_emissions``.

Analysts decorate small functions too, so the cost zuinig adds to each call matters.
For each contender this script starts fresh Python processes; in each it decorates a
no-op, times the first call (which pays for hardware detection and imports; zuinig
spools its first runs and opens the ledger in a background thread) and then the
median of many later calls. It also times each whole process, start to exit, which
includes zuinig's wait at exit for that thread. Both contenders run in the same
invocation, alternating, so machine drift hits them alike.

    python benchmarks/overhead.py --out reports/overhead            # full run
    python benchmarks/overhead.py --processes 1 --calls 5 --out DIR # smoke size

A third contender opens and closes the meter's window alone (``CodeCarbonMeter.begin()``
then ``end()``), without the ledger: the cost of measuring, apart from storing.

Targets (issue 11): first call <= 0.1 s; median of calls 2 to 31 (the early calls count)
<= 1 ms and <= 1/3 of CodeCarbon's own tracker start+stop (``track_emissions`` builds,
starts and stops one tracker per call) in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIRST_CALL_TARGET_S = 0.1
EARLY_CALL_TARGET_S = 0.001
EARLY_CALL_RATIO_TARGET = 1 / 3
#: Calls 2 to 31: the 30 calls after the first.
EARLY_CALLS = 30

ZUINIG = "zuinig @measure"
WINDOW = "zuinig meter window"
CODECARBON = "codecarbon track_emissions"

# The same shape of measurement for both contenders: decorate, time the first call,
# then time each later call; print one JSON line.
_WORKER = textwrap.dedent(
    """
    import json, sys, time
    calls = int(sys.argv[2])
    start = time.perf_counter()
    if sys.argv[1] == "zuinig":
        import zuinig
        decorate = zuinig.measure(job="overhead-noop")
    elif sys.argv[1] == "window":
        from zuinig.config import Settings
        from zuinig.meter.codecarbon import CodeCarbonMeter
        meter = CodeCarbonMeter(Settings())

        def decorate(function):
            def measured():
                window = meter.begin()
                try:
                    return function()
                finally:
                    window.end()
            return measured
    else:
        from codecarbon import track_emissions
        decorate = track_emissions(
            offline=True, country_iso_code="NLD", save_to_file=False,
            allow_multiple_runs=True, log_level="error",
        )

    import_s = time.perf_counter() - start

    def noop():
        return None

    measured = decorate(noop)
    start = time.perf_counter()
    measured()
    first_s = time.perf_counter() - start
    later_s = []
    for _ in range(calls):
        start = time.perf_counter()
        measured()
        later_s.append(time.perf_counter() - start)
    print(json.dumps({"import_s": import_s, "first_s": first_s, "later_s": later_s}))
    """
)


def run_worker(contender: str, calls: int, home: Path) -> dict[str, Any]:
    """One fresh process: returns its first-call and later-call times (s)."""
    env = {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PATH": "/usr/bin:/bin",
    }
    if os.environ.get("PYTHONPATH"):  # a checkout's src first, as the tests run it
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", _WORKER, contender, str(calls)],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        check=True,
    )
    process_s = time.perf_counter() - start
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["process_s"] = process_s
    return result


def summarise(samples: list[dict[str, Any]]) -> dict[str, float]:
    firsts = [sample["first_s"] for sample in samples]
    imports = [sample["import_s"] for sample in samples]
    processes = [sample["process_s"] for sample in samples]
    laters = [value for sample in samples for value in sample["later_s"]]
    early = [value for sample in samples for value in sample["later_s"][:EARLY_CALLS]]
    return {
        "early_call_median_s": statistics.median(early),
        "import_median_s": statistics.median(imports),
        "first_call_median_s": statistics.median(firsts),
        "first_call_max_s": max(firsts),
        "later_call_median_s": statistics.median(laters),
        "process_median_s": statistics.median(processes),
        "later_call_p90_s": statistics.quantiles(laters, n=10)[-1]
        if len(laters) > 1
        else laters[0],
        "processes": len(firsts),
        "later_calls": len(laters),
    }


def format_markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Overhead of measuring a no-op function",
        "",
        f"Measured {results['measured_at']} on {results['machine']}, "
        f"Python {results['python']}. Command: `{results['command']}`.",
        "",
        "Each process is fresh; the first call pays for hardware detection and imports. zuinig "
        "saves its runs to the local spool (fsynced) until its background thread has opened "
        "the SQLite ledger and delivered them, then writes the ledger directly. Later calls: "
        "median over all later calls of all processes. Whole process: start to exit, including "
        "the interpreter's start, the imports, all calls and zuinig's wait at exit for its "
        "runs to reach the ledger.",
        "",
        "| contender | import, median (s) | first call, median (s) | first call, max (s) "
        "| calls 2-31, median (ms) | later calls, median (ms) "
        "| later calls, p90 (ms) | whole process, median (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, summary in results["summary"].items():
        lines.append(
            f"| {name} | {summary['import_median_s']:.3f} | {summary['first_call_median_s']:.3f} | {summary['first_call_max_s']:.3f} "
            f"| {summary['early_call_median_s'] * 1000:.2f} "
            f"| {summary['later_call_median_s'] * 1000:.2f} | {summary['later_call_p90_s'] * 1000:.2f} "
            f"| {summary['process_median_s']:.2f} |"
        )
    codecarbon = results["summary"][CODECARBON]
    lines.append("")
    for name in (WINDOW, ZUINIG):
        lines.append(
            f"Targets for {name}: "
            + "; ".join(_verdicts(results["summary"][name], codecarbon))
            + "."
        )
    lines += [
        "",
        "zuinig's first call in a process on a machine it has seen before reuses the cached "
        "hardware probe; the very first process on a new machine pays CodeCarbon's full "
        "detection once (the `cold machine` row).",
    ]
    return "\n".join(lines) + "\n"


def _verdicts(summary: dict[str, float], codecarbon: dict[str, float]) -> list[str]:
    ratio = summary["early_call_median_s"] / codecarbon["early_call_median_s"]

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return [
        f"first call {summary['first_call_median_s']:.3f} s <= {FIRST_CALL_TARGET_S} s "
        f"({met(summary['first_call_median_s'] <= FIRST_CALL_TARGET_S)})",
        f"calls 2-31 {summary['early_call_median_s'] * 1000:.2f} ms <= "
        f"{EARLY_CALL_TARGET_S * 1000:.0f} ms ({met(summary['early_call_median_s'] <= EARLY_CALL_TARGET_S)})",
        f"{ratio:.2f}x CodeCarbon's tracker start+stop <= {EARLY_CALL_RATIO_TARGET:.2f}x "
        f"({met(ratio <= EARLY_CALL_RATIO_TARGET)})",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=10, help="fresh processes per contender")
    parser.add_argument("--calls", type=int, default=200, help="later calls per process")
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for results.json and README.md"
    )
    args = parser.parse_args(argv)

    samples: dict[str, list[dict[str, Any]]] = {ZUINIG: [], WINDOW: [], CODECARBON: []}
    with tempfile.TemporaryDirectory(prefix="zuinig-overhead-") as folder:
        home = Path(folder)
        # A machine zuinig has never seen: no cached hardware probe, no ledger yet.
        cold = run_worker("zuinig", args.calls, home)
        for index in range(args.processes):
            print(f"process {index + 1}/{args.processes}", file=sys.stderr)
            samples[ZUINIG].append(run_worker("zuinig", args.calls, home))
            samples[WINDOW].append(run_worker("window", args.calls, home))
            samples[CODECARBON].append(run_worker("codecarbon", args.calls, home))

    summary = {name: summarise(values) for name, values in samples.items()}
    summary[f"{ZUINIG}, cold machine"] = summarise([cold])
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or ''} ({_cpu_count()} CPUs)".strip(),
        "python": platform.python_version(),
        "command": f"python benchmarks/overhead.py --processes {args.processes} --calls {args.calls}",
        "summary": summary,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "README.md").write_text(format_markdown(results))
    print(format_markdown(results))
    return 0


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    raise SystemExit(main())
