"""How long the monthly report takes on a large ledger.

Fills a fresh SQLite ledger with N runs in one month (a realistic spread of jobs, teams,
kinds, statuses, measurement methods, input files and nested runs; bulk-inserted with
SQLAlchemy Core executemany into ``runs`` and ``run_tags``), then times
``build_report`` and ``write_csv`` (and ``zuinig.report.render.write_report`` for HTML
and PDF when that module is there), each phase on its own, and writes
``results.json`` and ``README.md`` to ``--out``.

    python benchmarks/report_month.py --runs 1000000 --out reports/report-scale
    python benchmarks/report_month.py --runs 200 --out DIR          # smoke size
    python benchmarks/report_month.py --runs 1000000 --out DIR --ledger-cache /tmp/l.sqlite

``--ledger-cache PATH`` keeps the filled ledger at ``PATH`` and reuses it on a later run
when its stamp (``PATH.json``: runs, seed, generator version) matches, so the report can
be timed again without filling 1,000,000 runs anew (about 190 s).

Target (issue 5): the whole report (build_report with advice, write_csv, HTML, PDF)
under 30 s for 1,000,000 runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TARGET_S = 30.0
MONTH = "2026-11"
SEED = 20261101
BATCH = 20_000
JOBS = 200
TEAMS = ("ruimte", "mobiliteit", "natuur", "economie", "sociaal", "financien", "ict")
KINDS = (("function", 0.85), ("command", 0.10), ("bench", 0.03), ("convert", 0.02))
STATUSES = (("ok", 0.95), ("error", 0.04), ("running", 0.01))
METHODS = (("rapl", 0.30), ("cpu_load", 0.60), ("imported", 0.05), ("failed", 0.05))
CHILD_SHARE = 0.10
#: Raise when :func:`_rows` changes, so a cached ledger filled by the old generator is
#: not reused.
GENERATOR_VERSION = 1
#: Runs inserted in the order they started, as a ledger fills (a run's row is written when
#: it starts), or in random order (the first version of this benchmark): the same runs,
#: but a random order scatters records read in time order across memory.
ORDER_TIME = "time"
ORDER_RANDOM = "random"


def _pick(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _rows(
    count: int, rng: random.Random, order: str = ORDER_TIME
) -> Iterator[tuple[dict[str, Any], list[dict[str, str]]]]:
    """Run rows (and their tag rows), started across the month: in the order they
    started (:data:`ORDER_TIME`), or in random order (:data:`ORDER_RANDOM`)."""
    from zuinig.ledger.schema import RUN_COLUMNS

    start = datetime(2026, 11, 1, tzinfo=UTC)
    month_s = 30 * 24 * 3600
    blank = dict.fromkeys(RUN_COLUMNS)
    jobs = [(f"job-{n:03d}", TEAMS[n % len(TEAMS)] if n % 10 else None, n % 3) for n in range(JOBS)]
    parent: str | None = None
    offsets = (
        sorted(random.Random(rng.random()).uniform(0, month_s - 601) for _ in range(count))
        if order == ORDER_TIME
        else None
    )
    for index in range(count):
        job, team, files = jobs[int(rng.paretovariate(1.2)) % JOBS]
        run_id = f"run-{index:08d}"
        is_child = parent is not None and rng.random() < CHILD_SHARE
        status = _pick(rng, STATUSES)
        method = _pick(rng, METHODS)
        energy = None if method == "failed" or status == "running" else rng.uniform(1e-6, 5e-3)
        duration = rng.uniform(0.1, 600.0)
        offset = offsets[index] if offsets else rng.uniform(0, month_s - 601)
        started = start + timedelta(seconds=offset)
        path = f"/data/{job}/part-{rng.randrange(files + 1)}.parquet"
        row = dict(blank)
        row.update(
            run_id=run_id,
            parent_run_id=parent if is_child else None,
            job=job,
            kind=_pick(rng, KINDS),
            status=status,
            started_at=started,
            ended_at=started + timedelta(seconds=duration),
            duration_s=duration,
            energy_kwh=energy,
            co2_kg=energy * 0.268 if energy is not None else None,
            intensity_g_per_kwh=268.0,
            cpu_s=duration * 0.8,
            method_meter="codecarbon 2.8.0 (imported)"
            if method == "imported"
            else "codecarbon 3.0.0",
            method_cpu=None if method == "failed" else method,
            method_cpu_tdp_w=95.0,
            method_cpu_tdp_is_generic=method == "cpu_load",
            method_ram_power_w=3.0,
            tracking_mode="process",
            pue=1.0,
            intensity_source="CodeCarbon offline data, NLD",
            intensity_year=2023,
            country_iso_code="NLD",
            inputs=json.dumps(
                [{"path": path, "size_bytes": 10_000_000 * (files + 1), "format": "parquet"}]
            ),
            engines=json.dumps({"polars": "1.9.0"}),
            host="bench-host",  # not this host: running rows stay running, like a team ledger
            pid=1000 + index % 50,
            codecarbon_version="3.0.0",
        )
        parent = None if is_child else run_id
        tags = [{"run_id": run_id, "key": "team", "value": team}] if team else []
        yield row, tags


def fill(url: str, count: int, seed: int = SEED, order: str = ORDER_TIME) -> float:
    """Insert ``count`` runs into the ledger at ``url``; returns the seconds it took."""
    from zuinig.ledger import Ledger
    from zuinig.ledger.schema import run_tags, runs

    rng = random.Random(seed)
    Ledger.open(url).close()  # creates the schema
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    began = time.perf_counter()
    with engine.begin() as connection:
        batch: list[dict[str, Any]] = []
        tags: list[dict[str, str]] = []
        for row, row_tags in _rows(count, rng, order):
            batch.append(row)
            tags.extend(row_tags)
            if len(batch) >= BATCH:
                connection.execute(runs.insert(), batch)
                if tags:
                    connection.execute(run_tags.insert(), tags)
                batch, tags = [], []
        if batch:
            connection.execute(runs.insert(), batch)
        if tags:
            connection.execute(run_tags.insert(), tags)
    engine.dispose()
    return time.perf_counter() - began


def cached_fill(path: Path, count: int, seed: int = SEED, order: str = ORDER_TIME) -> float | None:
    """Fill the ledger file at ``path`` unless it holds these runs already.

    Returns the seconds filling took, or ``None`` when the cached ledger was reused.
    """
    stamp_path = path.with_name(path.name + ".json")
    stamp: dict[str, Any] = {"runs": count, "seed": seed, "generator": GENERATOR_VERSION}
    if order != ORDER_RANDOM:  # random order is what version 1 wrote: its caches stay valid
        stamp["order"] = order
    if (
        path.exists()
        and stamp_path.exists()
        and json.loads(stamp_path.read_text(encoding="utf-8")) == stamp
    ):
        return None
    for stale in (path, stamp_path, *path.parent.glob(path.name + "-*")):
        stale.unlink(missing_ok=True)  # the ledger and its WAL/SHM files
    path.parent.mkdir(parents=True, exist_ok=True)
    fill_s = fill(f"sqlite:///{path}", count, seed, order)
    stamp_path.write_text(json.dumps(stamp) + "\n", encoding="utf-8")
    return fill_s


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = work()
    return result, time.perf_counter() - began


def measure(url: str, out: Path, *, with_advice: bool) -> dict[str, Any]:
    """Time each phase of making the report from the ledger at ``url``."""
    from zuinig.config import Settings
    from zuinig.ledger import Ledger
    from zuinig.report.aggregate import build_report
    from zuinig.report.appendix import write_csv

    phases: dict[str, float] = {}
    with Ledger.open(url) as ledger:
        report, phases["build_report_s"] = _timed(
            lambda: build_report(ledger, Settings(), month=MONTH, advice=with_advice)
        )
        parts = _build_parts(ledger) if with_advice else {}
    _, phases["write_csv_s"] = _timed(lambda: write_csv(report, out / "appendix.csv"))
    phases.update(_render_phases(report, out))
    return {"phases": phases, "build_report_parts": parts, "report": report}


def _build_parts(ledger: Any) -> dict[str, float]:
    """build_report's two halves timed one after the other, after the timed whole (so
    with warm caches): the grouped figures alone, and advice's steps. build_report runs
    the figures' grouped read beside advice, so its time is less than their sum."""
    from zuinig.advise import gather, realised, recommend
    from zuinig.config import Settings
    from zuinig.ledger.store import month_bounds
    from zuinig.report.aggregate import ADVICE_WINDOW, build_report

    start, end = month_bounds(MONTH)
    parts: dict[str, float] = {}
    _, parts["figures_only_s"] = _timed(
        lambda: build_report(ledger, Settings(), month=MONTH, advice=False)
    )
    records, parts["advice_gather_s"] = _timed(lambda: gather(ledger, until=end))
    recent = dataclasses.replace(
        records,
        runs=tuple(run for run in records.runs if run.started_at >= end - ADVICE_WINDOW),
        window_start=end - ADVICE_WINDOW,
    )
    _, parts["advice_recommend_s"] = _timed(
        lambda: recommend(recent, Settings(), now=end, with_realised=False)
    )
    _, parts["advice_realised_s"] = _timed(lambda: realised(records, now=end, period=(start, end)))
    return parts


def _render_phases(report: Any, out: Path) -> dict[str, float]:
    """HTML and PDF, when the renderer exists in this checkout (it is written in parallel)."""
    try:
        from zuinig.report import render
    except ImportError:
        return {}
    write_report = getattr(render, "write_report", None)
    if write_report is None:
        return {}
    phases: dict[str, float] = {}
    for fmt in ("html", "pdf"):
        target = out / f"report.{fmt}"
        try:
            _, phases[f"write_{fmt}_s"] = _timed(lambda t=target: write_report(report, t))
        except Exception as error:  # a renderer still in progress must not stop the timing
            phases[f"write_{fmt}_error"] = f"{type(error).__name__}: {error}"  # type: ignore[assignment]
    return phases


def _readme(results: dict[str, Any]) -> str:
    from zuinig.advise.savings import MEDIAN_BOOTSTRAP_MAX_VALUES

    phases = results["phases"]
    rows = "\n".join(
        f"| {name.removesuffix('_s').replace('_', ' ')} | {value:.2f} |"
        for name, value in phases.items()
        if isinstance(value, float)
    )
    parts = "\n".join(
        f"| {name.removesuffix('_s').replace('_', ' ')} | {value:.2f} |"
        for name, value in results["build_report_parts"].items()
    )
    met = "met" if results["target_met"] else "NOT met"
    order = (
        "in the order they started, as a ledger fills"
        if results["order"] == ORDER_TIME
        else "in random order"
    )
    fill = (
        f"Filling it (SQLAlchemy Core executemany) took {results['fill_s']:.1f} s."
        if results["fill_s"] is not None
        else "It was filled by an earlier run of this script (`--ledger-cache`), not timed here."
    )
    return f"""# Monthly report on a large ledger

Measured {results["measured_at"]} on {results["machine"]}, Python {results["python"]}.
Command: `{results["command"]}` (advice: {"yes" if results["advice"] else "no"}).

A fresh SQLite ledger holds {results["runs"]:,} runs started in {MONTH} ({JOBS} jobs with a
Pareto spread of runs, {len(TEAMS)} teams plus untagged jobs, 10% nested child runs, 95% ok /
4% error / 1% still running, RAPL / estimated / imported / failed measurements, one to three
input files per job), inserted {order}. {fill}

| phase | seconds |
|---|---:|
{rows}

The whole report (every phase above): {results["total_s"]:.2f} s; target under {TARGET_S:.0f} s: {met}.
The report counted {results["top_level_runs"]:,} top-level runs and {results["total_energy_kwh"]:.3f} kWh,
{results["jobs"]} jobs, {results["recommendations"]} recommendations.

build_report's parts, timed again one by one after it (not part of the total; build_report
runs the grouped figures beside advice, so it takes less than their sum):

| part | seconds |
|---|---:|
{parts}

How it stays fast: the month's figures come from one grouped scan (month, job, kind, team,
status, meter, input list and the method columns; the trend's earlier months are a second,
small query), run in a thread beside advice. Advice reads the jobs' runs as `RunBrief`
tuples (`Ledger.list_run_briefs`: only the fields the rules use, DB-API rows, each distinct
inputs/engines JSON parsed once, the garbage collector paused while the records are built),
filters kinds and tags in SQL, and works out each job's configuration once per distinct
input list. A median's 95% interval over more than
{MEDIAN_BOOTSTRAP_MAX_VALUES} values is the order-statistic interval (Binomial(n, 1/2) ranks,
coverage at least 95%) instead of a 2000-resample bootstrap; up to that size it is the
bootstrap as before (`zuinig.advise.savings.median_interval`).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, default=None, help="where the ledger goes")
    parser.add_argument(
        "--order",
        choices=(ORDER_TIME, ORDER_RANDOM),
        default=ORDER_TIME,
        help="insert runs in the order they started (as a ledger fills) or in random order",
    )
    parser.add_argument(
        "--ledger-cache",
        type=Path,
        default=None,
        help="keep the filled ledger at this path and reuse it when it matches --runs",
    )
    parser.add_argument(
        "--no-advice",
        action="store_true",
        help="build the report without recommendations and realised savings",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.work_dir) as work:
        ledger_path = args.ledger_cache or Path(work) / "ledger.sqlite"
        fill_s = cached_fill(ledger_path.resolve(), args.runs, order=args.order)
        measured = measure(
            f"sqlite:///{ledger_path.resolve()}", Path(work), with_advice=not args.no_advice
        )
        sizes = {p.name: p.stat().st_size for p in Path(work).iterdir() if p.is_file()}
        sizes["ledger.sqlite"] = ledger_path.stat().st_size
    phases = measured["phases"]
    report = measured["report"]
    total_s = sum(value for value in phases.values() if isinstance(value, float))
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/report_month.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": f"{platform.machine()} ({os.cpu_count()} CPUs)",
        "python": platform.python_version(),
        "runs": args.runs,
        "advice": not args.no_advice,
        "order": args.order,
        "fill_s": fill_s,
        "phases": phases,
        "build_report_parts": measured["build_report_parts"],
        "total_s": total_s,
        "target_s": TARGET_S,
        "target_met": total_s < TARGET_S,
        "top_level_runs": report.totals.runs,
        "total_energy_kwh": report.totals.energy_kwh,
        "jobs": len(report.jobs),
        "recommendations": len(report.recommendations),
        "file_bytes": sizes,
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (args.out / "README.md").write_text(_readme(results), encoding="utf-8")
    print(
        json.dumps({k: results[k] for k in ("runs", "fill_s", "phases", "total_s", "target_met")})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
