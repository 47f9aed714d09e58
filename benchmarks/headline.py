"""The headline comparison: storage formats x engines on TPC-H-derived data and group-by data.

Two ``zuinig bench`` sessions with the default formats (csv, parquet-zstd, arrow-lz4) and
engines (pandas default parser, Polars lazy, DuckDB): TPC-H-derived data at scale
factor 1 and h2oai-style group-by data with 10 million rows. Each writes, under
``--out``:

- ``<workload>/results.json``: the ``zuinig bench --json`` object;
- ``<workload>/energy.svg`` and ``<workload>/energy_vs_time.svg``: the charts;
- ``README.md``: per workload, median energy and time per configuration over all
  queries, the ratio to csv + pandas with 95 % intervals, and the method behind them.

    python benchmarks/headline.py --out reports/headline                 # full run
    python benchmarks/headline.py --scale 0.01 --rows 10000 --repeat 2 \
        --queries q1,q6 --idle 0 --out DIR                                # smoke

The runs are stored in the ledger given with ``--ledger`` (default: the usual one).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zuinig.bench.results import CORRECT_NO
from zuinig.bench.runner import DEFAULT_IDLE_S, BenchOptions, BenchRunner
from zuinig.bench.text import (
    format_range,
    format_ratio,
    format_with_interval,
    is_estimated,
    method_label,
    write_outputs,
)
from zuinig.config import load_settings
from zuinig.ledger import Ledger, default_ledger_url
from zuinig.measure import Recorder
from zuinig.units import energy_unit, format_number

#: The headline sizes: TPC-H scale factor 1 (about 1 GB of CSV) and h2oai's smallest size.
HEADLINE_SCALE = 1.0
HEADLINE_ROWS = 10_000_000
HEADLINE_REPEAT = 5
#: A trial of pandas on SF1 CSV takes about a minute; ten is far beyond any healthy one.
HEADLINE_TIMEOUT_S = 600.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=HEADLINE_SCALE, help="TPC-H scale factor")
    parser.add_argument("--rows", type=int, default=HEADLINE_ROWS, help="group-by rows")
    parser.add_argument("--repeat", type=int, default=HEADLINE_REPEAT)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument(
        "--timeout", type=float, default=HEADLINE_TIMEOUT_S, help="seconds per trial"
    )
    parser.add_argument(
        "--queries",
        default=None,
        help="queries of both workloads, comma-separated (default: all; both have q1 and q6)",
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=None,
        help="seconds of each session's idle baseline (default: zuinig bench's)",
    )
    parser.add_argument("--ledger", default=None, help="ledger URL (default: the usual one)")
    parser.add_argument("--out", type=Path, default=Path("reports/headline"))
    args = parser.parse_args(argv)

    settings = load_settings()
    url = args.ledger or settings.ledger or default_ledger_url()
    reports: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    with Ledger.open(url, settings=settings) as ledger:
        for workload, size in (("tpch", {"scale": args.scale}), ("groupby", {"rows": args.rows})):
            options = BenchOptions(
                workload=workload,
                repeat=args.repeat,
                seed=args.seed,
                timeout_s=args.timeout,
                queries=args.queries,
                idle_s=DEFAULT_IDLE_S if args.idle is None else args.idle,
                **size,
            )
            print(f"headline: {workload} {size} ...", file=sys.stderr, flush=True)
            runner = BenchRunner(
                options,
                recorder=Recorder(settings, ledger_url=url),
                store=ledger,
                ledger_url=url,
            )
            result = runner.run()
            report = result.to_dict()  # the results document, as results.json holds it
            write_outputs(result, args.out / workload, document=report)
            reports[workload] = report
            print(f"headline: {workload} done in {report['wall_s']:.0f} s", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "README.md").write_text(
        format_markdown(reports, time.monotonic() - started), encoding="utf-8"
    )
    print(f"headline: wrote {args.out}", file=sys.stderr)
    return 0


#: What a reader should know about the energy figures, by how they were obtained.
ESTIMATED_NOTE = (
    "Energy figures are estimates on this machine (no RAPL counters): each trial is charged "
    "the machine's modelled CPU power times its share of the CPU time the machine spent, and "
    "the machine's RAM power times its share of the memory held; the model range beside each "
    "figure runs from the lowest to the highest published coefficients."
)
MEASURED_NOTE = (
    "CPU energy is read from the machine's RAPL counters and shared out by each trial's share "
    "of the machine's CPU time."
)


def format_markdown(reports: Mapping[str, Mapping[str, Any]], wall_s: float) -> str:
    """The headline page: one table per workload and the method."""
    lines = ["# Headline benchmark: storage formats x engines", ""]
    first = next(iter(reports.values()))
    lines += [
        f"Method: {method_label(first['method'])}.",
        ESTIMATED_NOTE if is_estimated(first["method"]) else MEASURED_NOTE,
        "",
        f"Machine: {first['machine'].get('cpu_model')}, {first['machine'].get('cpu_count')} "
        f"logical CPUs, {first['machine'].get('memory_bytes', 0) / 1e9:.1f} GB memory; "
        f"{first['machine'].get('os')}; Python {first['machine'].get('python')}.",
        f"Wall time of the whole benchmark: {wall_s / 60:.1f} min.",
        "",
    ]
    for workload, report in reports.items():
        lines += _workload_section(workload, report)
    return "\n".join(lines) + "\n"


def _workload_section(workload: str, report: Mapping[str, Any]) -> list[str]:
    size = f"scale factor {report['scale']:g}" if report.get("scale") else f"{report['rows']} rows"
    # One unit for the table's energies, chosen by the largest figure it shows.
    factor, unit = energy_unit(
        max(
            [0.0]
            + [
                abs(row.get(key) or 0.0)
                for row in report["totals"]
                for key in ("energy_kwh_median", "energy_kwh_low_median", "energy_kwh_high_median")
            ]
            + [abs(end) for row in report["totals"] for end in row.get("energy_kwh_ci") or ()]
        )
    )
    lines = [
        f"## {workload}: {size}",
        "",
        f"{report['label']}. Repeat {report['repeat']} per configuration, interleaved in a "
        f"shuffled order (seed {report['seed']}); session `{report['session_id']}`.",
        f"Page cache: {report['page_cache']}.",
        "",
        "Per configuration, over all queries (sum per repetition, then the median; "
        "95 % bootstrap intervals in brackets; ratio = configuration / csv + pandas):",
        "",
        f"| configuration | energy ({unit}) | time (s) | energy ratio to csv + pandas | time ratio | storage (MB) | correct |",
        "|---|---|---|---|---|---|---|",
    ]
    # An estimate carries the model's range beside the 95 % interval; a measured
    # session's range is its reading, so it gets no column.
    with_range = is_estimated(report.get("method", {})) and any(
        row.get("energy_kwh_low_median") is not None for row in report["totals"]
    )
    if with_range:
        lines[-2:] = [
            f"| configuration | energy ({unit}) | model range ({unit}) | time (s) | energy ratio to csv + pandas | time ratio | storage (MB) | correct |",
            "|---|---|---|---|---|---|---|---|",
        ]
    for row in report["totals"]:
        range_cell = (
            f"| {format_range(row.get('energy_kwh_low_median'), row.get('energy_kwh_high_median'), factor)} "
            if with_range
            else ""
        )
        lines.append(
            f"| {row['label']} "
            f"| {format_with_interval(row.get('energy_kwh_median'), row.get('energy_kwh_ci'), factor)} "
            f"{range_cell}"
            f"| {format_with_interval(row.get('duration_s_median'), row.get('duration_s_ci'))} "
            f"| {format_ratio(row.get('ratio_vs_baseline'), row.get('ratio_vs_baseline_ci'))} "
            f"| {format_ratio(row.get('duration_ratio_vs_baseline'), row.get('duration_ratio_vs_baseline_ci'))} "
            f"| {format_number((row.get('storage_bytes') or 0) / 1e6)} | {_correct(row)} |"
        )
    lines.append("")
    lines += [
        f"- {row['label']}: {row['significance']}"
        for row in report["totals"]
        if row.get("significance")
    ]
    lines += [f"- note: {note}" for note in report.get("notes", [])]
    lines += [
        f"- DISQUALIFIED {label}: {reason}"
        for label, reason in report.get("disqualified", {}).items()
    ]
    lines += [
        "",
        f"Charts: [energy]({workload}/energy.svg), [energy against time]({workload}/energy_vs_time.svg).",
        "",
    ]
    return lines


def _correct(row: Mapping[str, Any]) -> str:
    text = str(row.get("correct"))
    return "NO (disqualified)" if text == CORRECT_NO else text


if __name__ == "__main__":
    sys.exit(main())
