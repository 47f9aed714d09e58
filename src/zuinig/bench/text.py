"""Presentation of a benchmark session: a table, one JSON object, SVG charts.

Pure renderers: a :class:`~zuinig.bench.runner.BenchReport` (its rows typed
:class:`~zuinig.bench.results.ResultRow`) in, text out or one file written. JSON is
written only here (:func:`format_json`, ``results.json``), from the report's
``to_dict``. Only the CLI prints.

- :func:`format_table`: the terminal table, totals per configuration (or one row per
  query), with a loud warning for every disqualified configuration.
- :func:`format_json`: the ``--json`` object.
- :func:`write_charts`: ``energy.svg`` (median energy per configuration with its 95 %
  interval) and ``energy_vs_time.svg`` (energy against time, the Pareto set marked).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zuinig.bench.results import CORRECT_NO, ResultRow
from zuinig.meter.base import Method
from zuinig.units import energy_unit, format_energy, format_number

if TYPE_CHECKING:
    from zuinig.bench.runner import BenchReport

#: Above this ratio of largest to smallest bar, the energy axis is logarithmic.
LOG_SCALE_RATIO = 20.0
#: The chart files :func:`write_charts` writes.
ENERGY_CHART = "energy.svg"
SCATTER_CHART = "energy_vs_time.svg"
RESULTS_FILE = "results.json"


def format_json(document: Mapping[str, Any]) -> str:
    """The ``--json`` object (a report's ``to_dict``, and what the CLI adds): one JSON
    document."""
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


def format_table(report: BenchReport, *, per_query: bool = False) -> list[str]:
    """The lines of the terminal table.

    Args:
        report: the session's report.
        per_query: one row per configuration and query instead of totals over queries.
    """
    rows = report.summary.results if per_query else report.summary.totals
    lines = [*_header(report), ""]
    lines += _grid(rows, per_query, ranges=is_estimated(report.session.method))
    lines.append("")
    lines += [
        "* on the Pareto front (no configuration is better on energy, time and storage at once)"
    ]
    lines += _significance(rows)
    lines += _imports_and_idle(report)
    lines += [f"note: {note}" for note in [*report.notes, *report.summary.notes]]
    lines += disqualified_warnings(report)
    if report.interrupted:
        lines.append(
            f"INTERRUPTED: {report.completed_trials} of {report.planned_trials} trials "
            "completed; figures above use the completed ones only"
        )
    return lines


def disqualified_warnings(report: BenchReport) -> list[str]:
    """One loud line per disqualified configuration (also shown on stderr)."""
    return [
        f"WARNING: DISQUALIFIED {label}: wrong answer ({reason}); never ranked"
        for label, reason in report.summary.disqualified.items()
    ]


def _header(report: BenchReport) -> list[str]:
    session = report.session
    size = f"scale {session.scale:g}" if session.scale else f"{session.rows} rows"
    return [
        f"zuinig bench {session.session_id[:8]}: {session.workload} ({size}), "
        f"repeat {report.repeat}, seed {report.seed}, {report.wall_s:.0f} s",
        f"data: {session.label}",
        f"method: {method_label(session.method)}",
        f"page cache: {session.page_cache}",
    ]


def is_estimated(method: Mapping[str, Any]) -> bool:
    """Whether a session's method (``Method`` as a mapping) is an estimate.

    :attr:`zuinig.meter.base.Method.is_measured` decides from the stored CPU method;
    a session stored without one falls back on its stored ``estimated`` flag (which
    the bench wrote from the same rule), and one with neither counts as estimated.
    """
    cpu_method = method.get("cpu_method")
    if isinstance(cpu_method, str):
        return not Method(meter=str(method.get("meter") or ""), cpu_method=cpu_method).is_measured
    return bool(method.get("estimated", True))


def method_label(method: Mapping[str, Any]) -> str:
    """The method in words, led by whether energy was measured or estimated."""
    words = method.get("in_words") or "unknown"
    if is_estimated(method):
        return f"estimated from CPU load, not RAPL ({words})"
    return f"measured with RAPL ({words})"


#: The energy column's header; ``{unit}`` is the one unit of its figures.
_ENERGY_COLUMN = "energy ({unit}) [95% CI]"
_COLUMNS = (
    "configuration",
    "query",
    _ENERGY_COLUMN,
    "ratio [95% CI]",
    "time (s)",
    "CPU (s)",
    "storage",
    "correct",
    "status",
)


def _grid(rows: Sequence[ResultRow], per_query: bool, *, ranges: bool) -> list[str]:
    columns = _COLUMNS if per_query else tuple(c for c in _COLUMNS if c != "query")
    # An estimate's model range, beside the statistical interval, where trials had one;
    # a measured figure's range is its reading, so it gets none.
    with_range = ranges and any(row.energy_kwh_low_median is not None for row in rows)
    if with_range:
        at = columns.index(_ENERGY_COLUMN) + 1
        columns = (*columns[:at], "model range ({unit})", *columns[at:])
    # One unit for all energies of the table (medians, intervals and ranges), chosen by
    # the largest, so the rows compare at a glance: "450 mWh" beside "1.2 Wh" does not.
    factor, unit = energy_unit(_largest_energy_kwh(rows))
    columns = tuple(name.format(unit=unit) for name in columns)
    cells = [tuple(_cells(row, per_query, with_range, factor)) for row in rows]
    widths = [
        max(len(text) for text in (name, *(c[i] for c in cells))) for i, name in enumerate(columns)
    ]
    out = ["  ".join(name.ljust(widths[i]) for i, name in enumerate(columns)).rstrip()]
    out += [
        "  ".join(text.ljust(widths[i]) for i, text in enumerate(row)).rstrip() for row in cells
    ]
    return out


def _largest_energy_kwh(rows: Sequence[ResultRow]) -> float:
    """The largest energy the table shows (kWh): medians, interval ends and range ends."""
    figures = [0.0]
    for row in rows:
        figures += [row.energy_kwh_median or 0.0, *(row.energy_kwh_ci or ())]
        figures += [row.energy_kwh_low_median or 0.0, row.energy_kwh_high_median or 0.0]
    return max(abs(figure) for figure in figures)


def _cells(row: ResultRow, per_query: bool, with_range: bool, factor: float) -> list[str]:
    """A row's cells; energies are multiplied by ``factor`` into the table's unit."""
    mark = "*" if row.pareto else " "
    cells = [f"{mark} {row.label}"]
    if per_query:
        cells.append(row.query)
    cells.append(format_with_interval(row.energy_kwh_median, row.energy_kwh_ci, factor))
    if with_range:
        cells.append(format_model_range(row, factor))
    cells += [
        format_ratio(row.ratio_vs_baseline, row.ratio_vs_baseline_ci),
        _number(row.duration_s_median),
        _number(row.cpu_s_median),
        _bytes(row.storage_bytes),
        "NO" if row.correct == CORRECT_NO else row.correct,
        row.status if row.status == "ok" else row.status.upper(),
    ]
    return cells


def _significance(rows: Sequence[ResultRow]) -> list[str]:
    return [f"{row.label}: {row.significance}" for row in rows if row.significance]


def _imports_and_idle(report: BenchReport) -> list[str]:
    lines = []
    idle = report.idle
    if idle and idle.get("energy_kwh_per_s") is not None:
        lines.append(
            f"idle machine: {format_energy(idle['energy_kwh_per_s'])} per s "
            f"({format_number(idle.get('power_w') or 0)} W) "
            f"over {format_number(idle['duration_s'])} s"
        )
    for item in report.summary.imports:
        if item.energy_kwh_median is not None:
            lines.append(
                f"importing {item.engine}/{item.mode}: "
                f"{format_energy(item.energy_kwh_median)}, "
                f"{_number(item.duration_s_median)} s "
                "(once per process; not in the figures above)"
            )
    for row in report.prepare:
        energy = row.get("energy_kwh")
        how = (
            "reused"
            if row.get("reused")
            else f"written: {'-' if energy is None else format_energy(energy)}"
        )
        lines.append(f"format {row['format']}: {_bytes(row.get('storage_bytes'))} ({how})")
    return lines


def format_with_interval(
    value: float | None, interval: Sequence[float] | None, factor: float = 1.0
) -> str:
    """``1.2 [1.1-1.4]``: a median and its 95 % interval, times ``factor``."""
    if value is None:
        return "-"
    text = format_number(value * factor)
    if interval:
        low, high = (format_number(end * factor) for end in interval)
        text += f" [{low}-{high}]"
    return text


def format_ratio(value: float | None, interval: Sequence[float] | None) -> str:
    """``0.45x [0.41x-0.5x]``: a ratio stays a plain number, three significant digits
    (two decimals would show a twentieth of the baseline's energy as ``0.05x``, a
    thousandth as ``0.00x``)."""
    if value is None:
        return "-"
    text = f"{format_number(value)}x"
    if interval:
        text += f" [{format_number(interval[0])}x-{format_number(interval[1])}x]"
    return text


def format_model_range(row: ResultRow, factor: float) -> str:
    """``between 1.2 and 3.4``: a configuration's energy per call by the model's bounds,
    times ``factor`` (into the table's unit); a dash where its trials had no range."""
    return format_range(row.energy_kwh_low_median, row.energy_kwh_high_median, factor)


def format_range(low: float | None, high: float | None, factor: float) -> str:
    """``between 1.2 and 3.4``: the bounds times ``factor``; a dash where either is missing
    (also for a results document read as JSON, as ``benchmarks/headline.py`` does)."""
    if low is None or high is None:
        return "-"
    return f"between {format_number(low * factor)} and {format_number(high * factor)}"


def _number(value: float | None) -> str:
    return "-" if value is None else format_number(value)


def _bytes(value: float | None) -> str:
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1000:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} TB"


# -- charts -------------------------------------------------------------------------------


def write_charts(report: BenchReport, directory: Path) -> list[Path]:
    """Write the two SVG charts of the totals into ``directory``; return their paths."""
    import matplotlib

    matplotlib.use("svg")  # no display: write files only
    rows = [
        r
        for r in report.summary.totals
        if r.energy_kwh_median and r.energy_kwh_ci and r.status == "ok"
    ]
    # The full method sentence is too long for a chart title; the table and JSON carry it.
    estimated = is_estimated(report.session.method)
    how = "energy estimated from CPU load, not RAPL" if estimated else "energy measured with RAPL"
    subtitle = f"{report.session.label}\n{how}"
    directory.mkdir(parents=True, exist_ok=True)
    # Text stays text in the SVG (not outlines): searchable, selectable, smaller.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        return [
            _energy_bars(rows, subtitle, directory / ENERGY_CHART),
            _energy_vs_time(rows, subtitle, directory / SCATTER_CHART),
        ]


def write_outputs(
    report: BenchReport, directory: Path, *, document: Mapping[str, Any] | None = None
) -> list[Path]:
    """Write ``results.json`` and the charts into ``directory``; return the paths.

    Args:
        report: the session's report.
        directory: where to write (made when missing).
        document: the JSON to write, when the caller adds to the report's ``to_dict``
            (the CLI adds ``comparison``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    results = directory / RESULTS_FILE
    text = format_json(document if document is not None else report.to_dict())
    results.write_text(text + "\n", encoding="utf-8")
    return [results, *write_charts(report, directory)]


def _energy_bars(rows: Sequence[ResultRow], subtitle: str, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 0.45 * max(len(rows), 3) + 2.2))
    axes = figure.add_subplot()
    labels = [row.label for row in rows]
    values = [(row.energy_kwh_median or 0.0) * 1000 for row in rows]  # Wh reads better
    intervals = [row.energy_kwh_ci or (0.0, 0.0) for row in rows]
    lows = [v - ci[0] * 1000 for v, ci in zip(values, intervals, strict=True)]
    highs = [ci[1] * 1000 - v for v, ci in zip(values, intervals, strict=True)]
    colours = ["tab:green" if row.pareto else "tab:blue" for row in rows]
    axes.barh(labels, values, xerr=[lows, highs], color=colours, capsize=3)
    axes.invert_yaxis()
    if values and max(values) / max(min(values), 1e-12) > LOG_SCALE_RATIO:
        axes.set_xscale("log")
    axes.set_xlabel("energy per run of all queries (Wh), median with 95% interval")
    axes.set_title(f"Energy per configuration (green: Pareto front)\n{subtitle}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, format="svg")
    return path


def _energy_vs_time(rows: Sequence[ResultRow], subtitle: str, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 6))
    axes = figure.add_subplot()
    for row in rows:
        x, y = row.duration_s_median or 0.0, (row.energy_kwh_median or 0.0) * 1000
        marker, colour = ("*", "tab:green") if row.pareto else ("o", "tab:blue")
        axes.scatter([x], [y], marker=marker, s=120 if row.pareto else 40, color=colour)
        axes.annotate(row.label, (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
    spread = [row.energy_kwh_median or 0.0 for row in rows]
    if spread and max(spread) / max(min(spread), 1e-15) > LOG_SCALE_RATIO:
        axes.set_xscale("log")
        axes.set_yscale("log")
    axes.set_xlabel("time per run of all queries (s), median")
    axes.set_ylabel("energy (Wh), median")
    axes.set_title(f"Energy against time (stars: Pareto front)\n{subtitle}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, format="svg")
    return path
