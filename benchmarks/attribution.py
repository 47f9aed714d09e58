"""Do zuinig's figures add up? The must-show measurements of issue 11 (attribution by resource).

Three experiments, each made only of ``zuinig run`` commands, read back from the ledger:

a. **Side by side.** One outer ``zuinig run`` starts four CPU-bound jobs at once, each
   under its own ``zuinig run``, and waits. The four inner runs' energy summed, over the
   outer run's energy: 1.0 when the figures add up, more when every job is charged for
   what the machine drew for all of them. The same for the CPU and the RAM component.
   Twice: on the estimated path, and under a simulated RAPL counter (package 40 W, DRAM
   6 W; ``tests/meter/rapl_sim.py``, needs root and ``unshare``), where every run should
   be labelled ``rapl``.
b. **Memory held.** Two jobs of the same length, one holding 40 MB and one 2,000 MB
   (bytes written out, so the pages are resident): their RAM power
   (``ram_energy_kwh / duration_s``) and its ratio.
c. **Baseline.** An idle job (sleep) and a fixed small CPU job repeated: power, energy
   per run and the RAM share of the total.

Writes ``results.json`` and ``README.md`` (a short table) to ``--out``::

    python benchmarks/attribution.py --repeat 3 --out reports/attribution/before   # full run
    python benchmarks/attribution.py --job-s 0.5 --hold-s 0.5 --large-mb 60 \\
        --fixed-runs 1 --idle-s 0.5 --rapl off --out DIR                    # smoke size

All runs go to the ledger given with ``--ledger`` (default: a new SQLite file in a
temporary folder), tagged with a session id so a shared ledger works too. Each command
runs with a private home (its own hardware-probe cache), warmed by one discarded run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RAPL_SIM = ROOT / "tests" / "meter" / "rapl_sim.py"

#: Issue 11's targets, reported beside the figures (tests/test_attribution_mustshow.py asserts them).
SUM_OVER_OUTER_TARGET = 1.10
RAM_POWER_RATIO_TARGET = 10.0

SIDE_BY_SIDE_JOBS = 4
SIMULATED_PACKAGE_W = 40.0
SIMULATED_DRAM_W = 6.0
ZUINIG = [sys.executable, "-m", "zuinig"]

# A CPU-bound job: spins for argv[1] seconds of wall time, so four of them overlap fully.
BUSY = textwrap.dedent(
    """
    import sys, time
    end = time.monotonic() + float(sys.argv[1])
    while time.monotonic() < end:
        pass
    """
)

# Holds argv[1] MB until argv[2] seconds after it started, so both sizes last equally long
# although the larger takes longer to fill. Bytes repeated are written out in full, so all
# of them are resident; no numpy, so the interpreter's own share (~10 MB) stays small
# beside the 40 MB the small job is meant to hold.
HOLD = textwrap.dedent(
    """
    import sys, time
    end = time.monotonic() + float(sys.argv[2])
    block = b"\\x01" * (int(float(sys.argv[1]) * 2**20))
    time.sleep(max(0.0, end - time.monotonic()))
    assert block[-1] == 1
    """
)


# A fixed amount of work: the same loop every time.
FIXED = "total = 0\nfor i in range(3_000_000):\n    total += i * i\n"

IDLE = "import sys, time; time.sleep(float(sys.argv[1]))"

# The outer job of experiment a: starts the inner zuinig runs at once and waits for all.
LAUNCHER = textwrap.dedent(
    """
    import json, subprocess, sys
    commands = json.loads(sys.argv[1])
    children = [subprocess.Popen(command) for command in commands]
    sys.exit(max(child.wait() for child in children))
    """
)


class Harness:
    """Runs ``zuinig run`` commands against one ledger and reads the runs back.

    Args:
        ledger_url: the ledger every run goes to.
        home: a private home folder for the commands (probe cache, settings).
        session: a tag value that marks this session's runs.
    """

    def __init__(self, ledger_url: str, home: Path, session: str) -> None:
        self.ledger_url = ledger_url
        self.session = session
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("ZUINIG_", "CODECARBON_"))
        }
        self.env.update(
            {
                "HOME": str(home),
                "XDG_DATA_HOME": str(home / "data"),
                "XDG_CACHE_HOME": str(home / "cache"),
                "XDG_CONFIG_HOME": str(home / "config"),
            }
        )
        self.cwd = home

    def zuinig_run(self, job: str, experiment: str, argv: Sequence[str]) -> list[str]:
        """The command line of one ``zuinig run`` of ``argv``, tagged for this session."""
        return [
            *ZUINIG,
            "--ledger",
            self.ledger_url,
            "run",
            "--quiet",
            "--job",
            job,
            "--tag",
            f"attribution-session={self.session}",
            "--tag",
            f"experiment={experiment}",
            "--",
            *argv,
        ]

    def execute(self, argv: Sequence[str], timeout_s: float) -> None:
        """Run a command line; a failure stops the benchmark with the command's output."""
        completed = subprocess.run(
            list(argv),
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if completed.returncode != 0:
            raise SystemExit(
                f"command failed ({completed.returncode}): {shlex.join(argv)}\n"
                f"{completed.stdout}{completed.stderr}"
            )

    def runs(self, experiment: str) -> list[dict[str, Any]]:
        """This session's runs of one experiment, as ``zuinig runs list --json`` gives them."""
        listed = subprocess.run(
            [
                *ZUINIG,
                "--ledger",
                self.ledger_url,
                "runs",
                "list",
                "--json",
                "--tag",
                f"attribution-session={self.session}",
                "--tag",
                f"experiment={experiment}",
            ],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        runs: list[dict[str, Any]] = json.loads(listed.stdout)
        return runs


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def _run_summary(run: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "job",
        "status",
        "duration_s",
        "energy_kwh",
        "cpu_energy_kwh",
        "ram_energy_kwh",
        "cpu_s",
        "peak_rss_bytes",
        "power_w",
        "method_cpu",
        "method_ram_power_w",
        "tracking_mode",
        "is_estimated",
        "measurement_error",
    )
    return {key: run.get(key) for key in keys}


def side_by_side(
    harness: Harness, mode: str, job_s: float, rapl_report: Path | None, repetition: int
) -> dict[str, Any]:
    """Experiment a, once: four CPU-bound jobs inside one outer run; sums over the outer run."""
    experiment = f"side-by-side-{mode}-{repetition}"
    inner = [
        harness.zuinig_run("inner", experiment, [sys.executable, "-c", BUSY, repr(job_s)])
        for _ in range(SIDE_BY_SIDE_JOBS)
    ]
    outer = harness.zuinig_run(
        "outer", experiment, [sys.executable, "-c", LAUNCHER, json.dumps(inner)]
    )
    if rapl_report is not None:
        outer = [
            sys.executable,
            str(RAPL_SIM),
            "--package-w",
            repr(SIMULATED_PACKAGE_W),
            "--dram-w",
            repr(SIMULATED_DRAM_W),
            "--report",
            str(rapl_report),
            "--",
            *outer,
        ]
    harness.execute(outer, timeout_s=120 + 10 * job_s)
    runs = harness.runs(experiment)
    outers = [run for run in runs if run["job"] == "outer"]
    if len(outers) != 1:
        raise SystemExit(f"{experiment}: expected one outer run, found {len(outers)}")
    outer_run = outers[0]
    inners = [run for run in runs if run["job"] == "inner"]
    nested = [run for run in inners if run.get("parent_run_id") == outer_run["run_id"]]
    result: dict[str, Any] = {
        "mode": mode,
        "jobs": len(inners),
        "inner_runs_nested_in_outer": len(nested),
        "job_s": job_s,
        "all_ok": all(run["status"] == "ok" for run in runs),
        "methods_cpu": sorted({str(run.get("method_cpu")) for run in runs}),
        "all_labelled_rapl": all(run.get("method_cpu") == "rapl" for run in runs),
        "outer": _run_summary(outer_run),
        "inner": [_run_summary(run) for run in inners],
    }
    for component in ("energy_kwh", "cpu_energy_kwh", "ram_energy_kwh"):
        inner_sum = sum(float(run[component] or 0.0) for run in inners)
        result[f"sum_{component}"] = inner_sum
        result[f"sum_over_outer_{component.removesuffix('_kwh')}"] = _ratio(
            inner_sum, float(outer_run[component] or 0.0)
        )
    if rapl_report is not None and rapl_report.exists():
        result["simulation"] = json.loads(rapl_report.read_text())
    return result


RATIOS = ("sum_over_outer_energy", "sum_over_outer_cpu_energy", "sum_over_outer_ram_energy")


def combine(repetitions: list[dict[str, Any]]) -> dict[str, Any]:
    """Experiment a over its repetitions: each ratio's median, minimum and maximum.

    The outer run also spans the inner processes' start-up, which depends on how busy the
    machine is, so one repetition alone can mislead.
    """
    combined: dict[str, Any] = {
        "mode": repetitions[0]["mode"],
        "repetitions": len(repetitions),
        "jobs": min(rep["jobs"] for rep in repetitions),
        "inner_runs_nested_in_outer": min(rep["inner_runs_nested_in_outer"] for rep in repetitions),
        "all_ok": all(rep["all_ok"] for rep in repetitions),
        "methods_cpu": sorted({method for rep in repetitions for method in rep["methods_cpu"]}),
        "all_labelled_rapl": all(rep["all_labelled_rapl"] for rep in repetitions),
        "outer_duration_s_median": statistics.median(
            float(rep["outer"]["duration_s"]) for rep in repetitions
        ),
        "outer_energy_kwh_median": statistics.median(
            float(rep["outer"]["energy_kwh"]) for rep in repetitions
        ),
    }
    for ratio in RATIOS:
        values = [rep[ratio] for rep in repetitions if rep[ratio] is not None]
        combined[ratio] = statistics.median(values) if values else None
        combined[f"{ratio}_min"] = min(values) if values else None
        combined[f"{ratio}_max"] = max(values) if values else None
    combined["each"] = repetitions
    return combined


def memory_held(
    harness: Harness, small_mb: float, large_mb: float, hold_s: float
) -> dict[str, Any]:
    """Experiment b: RAM power of a job holding little memory against one holding much."""
    experiment = "memory"
    for label, size_mb in (("small", small_mb), ("large", large_mb)):
        harness.execute(
            harness.zuinig_run(
                f"hold-{label}",
                experiment,
                [sys.executable, "-c", HOLD, repr(size_mb), repr(hold_s)],
            ),
            timeout_s=120 + 2 * hold_s,
        )
    runs = {run["job"]: run for run in harness.runs(experiment)}
    result: dict[str, Any] = {"small_mb": small_mb, "large_mb": large_mb, "hold_s": hold_s}
    powers = {}
    for label in ("small", "large"):
        run = runs[f"hold-{label}"]
        power_w = float(run["ram_energy_kwh"] or 0.0) * 3.6e6 / float(run["duration_s"])
        powers[label] = power_w
        result[label] = {**_run_summary(run), "ram_power_w": power_w}
    result["ram_power_ratio"] = _ratio(powers["large"], powers["small"])
    return result


def baseline(harness: Harness, idle_s: float, fixed_runs: int) -> dict[str, Any]:
    """Experiment c: an idle run and a fixed small job; energy per run and the RAM share."""
    experiment = "baseline"
    harness.execute(
        harness.zuinig_run("idle", experiment, [sys.executable, "-c", IDLE, repr(idle_s)]),
        timeout_s=120 + 2 * idle_s,
    )
    for _ in range(fixed_runs):
        harness.execute(
            harness.zuinig_run("fixed", experiment, [sys.executable, "-c", FIXED]), timeout_s=300
        )
    runs = harness.runs(experiment)
    idle = next(run for run in runs if run["job"] == "idle")
    fixed = [run for run in runs if run["job"] == "fixed"]

    def ram_share(run: dict[str, Any]) -> float | None:
        return _ratio(float(run["ram_energy_kwh"] or 0.0), float(run["energy_kwh"] or 0.0))

    fixed_energy = [float(run["energy_kwh"]) for run in fixed]
    fixed_shares = [share for run in fixed if (share := ram_share(run)) is not None]
    return {
        "idle_s": idle_s,
        "idle": {**_run_summary(idle), "ram_share": ram_share(idle)},
        "fixed_runs": len(fixed),
        "fixed_energy_kwh_median": statistics.median(fixed_energy),
        "fixed_duration_s_median": statistics.median(float(run["duration_s"]) for run in fixed),
        "fixed_cpu_s_median": statistics.median(float(run["cpu_s"] or 0.0) for run in fixed),
        "fixed_ram_share_median": statistics.median(fixed_shares) if fixed_shares else None,
        "fixed": [_run_summary(run) for run in fixed],
    }


def _rapl_unavailable_reason() -> str | None:
    # rapl_sim.py is a test tool outside any package: ask it as a script.
    completed = subprocess.run(
        [sys.executable, str(RAPL_SIM), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return (
        None if completed.returncode == 0 else completed.stdout.strip() or completed.stderr.strip()
    )


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def format_markdown(results: dict[str, Any]) -> str:
    """A short table of the figures, with the targets of issue 11 beside them."""
    lines = [
        "# Do the figures add up? (issue 11, attribution by resource)",
        "",
        f"Measured {results['measured_at']} on {results['machine']}, zuinig "
        f"{results['zuinig_commit']} (from `{results['zuinig_source']}`). "
        f"Command: `{results['command']}`. Load average (1, 5, 15 min) at start "
        f"{', '.join(f'{x:.1f}' for x in results['load_average_at_start'])}, at end "
        f"{', '.join(f'{x:.1f}' for x in results['load_average_at_end'])}.",
        "",
    ]
    sides = results.get("side_by_side", {})
    if sides:
        lines += [
            f"## a. {SIDE_BY_SIDE_JOBS} CPU-bound jobs side by side inside one outer `zuinig run`",
            "",
            f"Sum of the {SIDE_BY_SIDE_JOBS} inner runs over the outer run (1.00 = adds up; "
            f"target <= {SUM_OVER_OUTER_TARGET:.2f}); each job spins for {results['parameters']['job_s']:g} s "
            f"of wall time. Median of {results['parameters']['repeat']} repetitions (lowest to highest).",
            "",
            "The outer run's window also holds the start-up of the four inner `zuinig run` "
            "processes, which no inner run covers: with short jobs the sum falls below 1 for "
            "that reason alone, so read the ratios with the job length in mind.",
            "",
            "| path | energy | CPU | RAM | CPU method of all runs | outer energy, median (Wh) | outer duration, median (s) |",
            "|---|---:|---:|---:|---|---:|---:|",
        ]
        for mode, side in sides.items():
            if "skipped" in side:
                lines.append(f"| {mode} | skipped: {side['skipped']} | | | | | |")
                continue
            ratios = " ".join(
                f"| {_fmt(side[ratio])}x ({_fmt(side[f'{ratio}_min'])} to {_fmt(side[f'{ratio}_max'])})"
                for ratio in RATIOS
            )
            lines.append(
                f"| {mode} {ratios} | {', '.join(side['methods_cpu'])} "
                f"| {_fmt(side['outer_energy_kwh_median'] * 1000, '.3f')} "
                f"| {_fmt(side['outer_duration_s_median'], '.1f')} |"
            )
        lines.append("")
    memory = results.get("memory")
    if memory:
        lines += [
            "## b. Two jobs of equal length holding little and much memory",
            "",
            "| job | memory held (MB) | peak RSS (MB) | duration (s) | RAM power (W) |",
            "|---|---:|---:|---:|---:|",
        ]
        for label in ("small", "large"):
            run = memory[label]
            lines.append(
                f"| {label} | {memory[f'{label}_mb']:.0f} | {(run['peak_rss_bytes'] or 0) / 2**20:.0f} "
                f"| {run['duration_s']:.1f} | {run['ram_power_w']:.2f} |"
            )
        lines += [
            "",
            f"RAM power ratio large/small: {_fmt(memory['ram_power_ratio'])} "
            f"(target >= {RAM_POWER_RATIO_TARGET:.0f}).",
            "",
        ]
    base = results.get("baseline")
    if base:
        idle = base["idle"]
        lines += [
            "## c. Baseline",
            "",
            "| figure | value |",
            "|---|---:|",
            f"| idle run ({base['idle_s']:.0f} s sleep): power (W) | {_fmt(idle['power_w'])} |",
            f"| idle run: energy (Wh) | {_fmt(idle['energy_kwh'] * 1000, '.4f')} |",
            f"| idle run: RAM share of the total | {_fmt(idle['ram_share'], '.0%')} |",
            f"| fixed small job, median of {base['fixed_runs']}: energy per run (Wh) "
            f"| {_fmt(base['fixed_energy_kwh_median'] * 1000, '.4f')} |",
            f"| fixed small job: duration (s) | {_fmt(base['fixed_duration_s_median'])} |",
            f"| fixed small job: RAM share of the total | {_fmt(base['fixed_ram_share_median'], '.0%')} |",
            "",
        ]
    return "\n".join(lines)


def _git_commit() -> str:
    try:
        completed = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return completed.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for results.json and README.md"
    )
    parser.add_argument(
        "--ledger", default=None, help="ledger URL (default: a temporary SQLite file)"
    )
    parser.add_argument(
        "--job-s", type=float, default=8.0, help="wall seconds of each side-by-side job"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="repetitions of the side-by-side experiment"
    )
    parser.add_argument("--hold-s", type=float, default=10.0, help="seconds each memory job holds")
    parser.add_argument("--small-mb", type=float, default=40.0)
    parser.add_argument("--large-mb", type=float, default=2000.0)
    parser.add_argument("--idle-s", type=float, default=10.0, help="seconds of the idle run")
    parser.add_argument("--fixed-runs", type=int, default=5, help="repetitions of the fixed job")
    parser.add_argument(
        "--rapl",
        choices=("auto", "on", "off"),
        default="auto",
        help="side by side under the simulated RAPL counter too (auto: where root and unshare allow)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=("side-by-side", "memory", "baseline"),
        help="run only these experiments (repeatable; default: all)",
    )
    args = parser.parse_args(argv)
    experiments = set(args.only or ("side-by-side", "memory", "baseline"))

    started = time.perf_counter()
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.node()}",
        "python": platform.python_version(),
        # Other work on the machine stretches the outer run's start-up span (see README).
        "load_average_at_start": os.getloadavg(),
        "zuinig_commit": _git_commit(),
        # The zuinig the commands run: this interpreter's, as its path (PYTHONPATH) finds it.
        "zuinig_source": str(getattr(importlib.util.find_spec("zuinig"), "origin", None)),
        "command": shlex.join(["python", "benchmarks/attribution.py", *(argv or sys.argv[1:])]),
        "parameters": {
            "job_s": args.job_s,
            "repeat": args.repeat,
            "hold_s": args.hold_s,
            "small_mb": args.small_mb,
            "large_mb": args.large_mb,
            "idle_s": args.idle_s,
            "fixed_runs": args.fixed_runs,
            "simulated_package_w": SIMULATED_PACKAGE_W,
            "simulated_dram_w": SIMULATED_DRAM_W,
        },
        "targets": {
            "sum_over_outer_max": SUM_OVER_OUTER_TARGET,
            "ram_power_ratio_min": RAM_POWER_RATIO_TARGET,
        },
    }
    with tempfile.TemporaryDirectory(prefix="zuinig-attribution-") as folder:
        home = Path(folder)
        ledger_url = args.ledger or f"sqlite:///{home / 'ledger.sqlite'}"
        harness = Harness(ledger_url, home, uuid.uuid4().hex[:12])
        # One discarded run pays CodeCarbon's hardware detection, so no figure below carries it.
        harness.execute(
            harness.zuinig_run("warm-up", "warm-up", [sys.executable, "-c", "pass"]), 300
        )
        if "side-by-side" in experiments:
            reason = None if args.rapl == "on" else _rapl_unavailable_reason()
            skipped = "--rapl off" if args.rapl == "off" else reason
            estimated: list[dict[str, Any]] = []
            rapl: list[dict[str, Any]] = []
            # Interleaved, so a change in the machine's load hits both paths alike.
            for repetition in range(args.repeat):
                print(f"a. side by side, estimated ({repetition + 1})", file=sys.stderr)
                estimated.append(side_by_side(harness, "estimated", args.job_s, None, repetition))
                if skipped is None:
                    print(f"a. side by side, simulated RAPL ({repetition + 1})", file=sys.stderr)
                    report = home / f"rapl-sim-{repetition}.json"
                    rapl.append(side_by_side(harness, "rapl", args.job_s, report, repetition))
            results["side_by_side"] = {
                "estimated": combine(estimated),
                "rapl": combine(rapl) if skipped is None else {"skipped": skipped},
            }
        if "memory" in experiments:
            print("b. memory held", file=sys.stderr)
            results["memory"] = memory_held(harness, args.small_mb, args.large_mb, args.hold_s)
        if "baseline" in experiments:
            print("c. baseline", file=sys.stderr)
            results["baseline"] = baseline(harness, args.idle_s, args.fixed_runs)
    results["benchmark_wall_s"] = time.perf_counter() - started
    results["load_average_at_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = format_markdown(results)
    (args.out / "README.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
