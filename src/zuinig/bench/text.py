"""Presentation of a benchmark session: a table, one JSON object, SVG charts.

Pure renderers: a :class:`~zuinig.bench.runner.BenchReport` (or its ``to_dict``) in,
text out or one file written. Only the CLI prints.

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
from typing import Any

from zuinig.bench.results import CORRECT_NO, correct_text
from zuinig.meter.base import Method
from zuinig.units import energy_unit, format_energy, format_number

#: Above this ratio of largest to smallest bar, the energy axis is logarithmic.
LOG_SCALE_RATIO = 20.0
#: The chart files :func:`write_charts` writes.
ENERGY_CHART = "energy.svg"
SCATTER_CHART = "energy_vs_time.svg"
RESULTS_FILE = "results.json"
#: Row keys of an estimate's model range per call (kWh): the medians of the trials'
#: ``energy_kwh_low`` and ``energy_kwh_high``. Shown when the results carry them.
RANGE_KEYS = ("energy_kwh_low_median", "energy_kwh_high_median")


def format_json(report: Mapping[str, Any]) -> str:
    """The ``--json`` object: one JSON document."""
    return json.dumps(report, indent=2, ensure_ascii=False, default=str)


def format_table(report: Mapping[str, Any], *, per_query: bool = False) -> list[str]:
    """The lines of the terminal table.

    Args:
        report: the report's ``to_dict``.
        per_query: one row per configuration and query instead of totals over queries.
    """
    rows = report["results"] if per_query else report["totals"]
    lines = [*_header(report), ""]
    lines += _grid(rows, per_query, ranges=is_estimated(report.get("method", {})))
    lines.append("")
    lines += [
        "* on the Pareto front (no configuration is better on energy, time and storage at once)"
    ]
    lines += _significance(rows)
    lines += _imports_and_idle(report)
    lines += [f"note: {note}" for note in report.get("notes", [])]
    lines += disqualified_warnings(report)
    if report.get("status") == "interrupted":
        lines.append(
            f"INTERRUPTED: {report['completed_trials']} of {report['planned_trials']} trials "
            "completed; figures above use the completed ones only"
        )
    return lines


def disqualified_warnings(report: Mapping[str, Any]) -> list[str]:
    """One loud line per disqualified configuration (also shown on stderr)."""
    return [
        f"WARNING: DISQUALIFIED {label}: wrong answer ({reason}); never ranked"
        for label, reason in report.get("disqualified", {}).items()
    ]


def _header(report: Mapping[str, Any]) -> list[str]:
    method = report.get("method", {})
    size = f"scale {report['scale']:g}" if report.get("scale") else f"{report.get('rows')} rows"
    return [
        f"zuinig bench {report['session_id'][:8]}: {report['workload']} ({size}), "
        f"repeat {report['repeat']}, seed {report['seed']}, {report['wall_s']:.0f} s",
        f"data: {report.get('label')}",
        f"method: {method_label(method)}",
        f"page cache: {report.get('page_cache')}",
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


def _grid(rows: Sequence[Mapping[str, Any]], per_query: bool, *, ranges: bool) -> list[str]:
    columns = _COLUMNS if per_query else tuple(c for c in _COLUMNS if c != "query")
    # An estimate's model range, beside the statistical interval, where trials had one;
    # a measured figure's range is its reading, so it gets none.
    with_range = ranges and any(row.get(RANGE_KEYS[0]) is not None for row in rows)
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


def _largest_energy_kwh(rows: Sequence[Mapping[str, Any]]) -> float:
    """The largest energy the table shows (kWh): medians, interval ends and range ends."""
    figures = [0.0]
    for row in rows:
        figures += [row.get("energy_kwh_median") or 0.0, *(row.get("energy_kwh_ci") or ())]
        figures += [row.get(key) or 0.0 for key in RANGE_KEYS]
    return max(abs(figure) for figure in figures)


def _cells(row: Mapping[str, Any], per_query: bool, with_range: bool, factor: float) -> list[str]:
    """A row's cells; energies are multiplied by ``factor`` into the table's unit."""
    mark = "*" if row.get("pareto") else " "
    cells = [f"{mark} {row['label']}"]
    if per_query:
        cells.append(str(row["query"]))
    cells.append(
        format_with_interval(row.get("energy_kwh_median"), row.get("energy_kwh_ci"), factor)
    )
    if with_range:
        cells.append(format_model_range(row, factor))
    cells += [
        format_ratio(row.get("ratio_vs_baseline"), row.get("ratio_vs_baseline_ci")),
        _number(row.get("duration_s_median")),
        _number(row.get("cpu_s_median")),
        _bytes(row.get("storage_bytes")),
        _correct(row.get("correct")),
        row["status"] if row["status"] == "ok" else f"{row['status'].upper()}",
    ]
    return cells


def _correct(value: object) -> str:
    # Sessions stored before "not checked" existed hold True, False or None.
    text = correct_text(value) if value is None or isinstance(value, bool) else str(value)
    return "NO" if text == CORRECT_NO else text


def _significance(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return [f"{row['label']}: {row['significance']}" for row in rows if row.get("significance")]


def _imports_and_idle(report: Mapping[str, Any]) -> list[str]:
    lines = []
    idle = report.get("idle_baseline")
    if idle and idle.get("energy_kwh_per_s") is not None:
        lines.append(
            f"idle machine: {format_energy(idle['energy_kwh_per_s'])} per s "
            f"({format_number(idle.get('power_w') or 0)} W) "
            f"over {format_number(idle['duration_s'])} s"
        )
    for row in report.get("imports", []):
        if row.get("energy_kwh_median") is not None:
            lines.append(
                f"importing {row['engine']}/{row['mode']}: "
                f"{format_energy(row['energy_kwh_median'])}, "
                f"{_number(row.get('duration_s_median'))} s "
                "(once per process; not in the figures above)"
            )
    for row in report.get("prepare", []):
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


def format_model_range(row: Mapping[str, Any], factor: float) -> str:
    """``between 1.2 and 3.4``: a configuration's energy per call by the model's bounds,
    times ``factor`` (into the table's unit); a dash where its trials had no range."""
    low, high = (row.get(key) for key in RANGE_KEYS)
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


def write_charts(report: Mapping[str, Any], directory: Path) -> list[Path]:
    """Write the two SVG charts of the totals into ``directory``; return their paths."""
    import matplotlib

    matplotlib.use("svg")  # no display: write files only
    rows = [r for r in report["totals"] if r.get("energy_kwh_median") and r["status"] == "ok"]
    # The full method sentence is too long for a chart title; the table and JSON carry it.
    estimated = is_estimated(report.get("method", {}))
    how = "energy estimated from CPU load, not RAPL" if estimated else "energy measured with RAPL"
    subtitle = f"{report.get('label')}\n{how}"
    directory.mkdir(parents=True, exist_ok=True)
    # Text stays text in the SVG (not outlines): searchable, selectable, smaller.
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        return [
            _energy_bars(rows, subtitle, directory / ENERGY_CHART),
            _energy_vs_time(rows, subtitle, directory / SCATTER_CHART),
        ]


def write_outputs(report: Mapping[str, Any], directory: Path) -> list[Path]:
    """Write ``results.json`` and the charts into ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    results = directory / RESULTS_FILE
    results.write_text(format_json(report) + "\n", encoding="utf-8")
    return [results, *write_charts(report, directory)]


def _energy_bars(rows: Sequence[Mapping[str, Any]], subtitle: str, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 0.45 * max(len(rows), 3) + 2.2))
    axes = figure.add_subplot()
    labels = [row["label"] for row in rows]
    values = [row["energy_kwh_median"] * 1000 for row in rows]  # Wh reads better than kWh
    lows = [v - row["energy_kwh_ci"][0] * 1000 for v, row in zip(values, rows, strict=True)]
    highs = [row["energy_kwh_ci"][1] * 1000 - v for v, row in zip(values, rows, strict=True)]
    colours = ["tab:green" if row.get("pareto") else "tab:blue" for row in rows]
    axes.barh(labels, values, xerr=[lows, highs], color=colours, capsize=3)
    axes.invert_yaxis()
    if values and max(values) / max(min(values), 1e-12) > LOG_SCALE_RATIO:
        axes.set_xscale("log")
    axes.set_xlabel("energy per run of all queries (Wh), median with 95% interval")
    axes.set_title(f"Energy per configuration (green: Pareto front)\n{subtitle}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, format="svg")
    return path


def _energy_vs_time(rows: Sequence[Mapping[str, Any]], subtitle: str, path: Path) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 6))
    axes = figure.add_subplot()
    for row in rows:
        x, y = row["duration_s_median"], row["energy_kwh_median"] * 1000
        marker, colour = ("*", "tab:green") if row.get("pareto") else ("o", "tab:blue")
        axes.scatter([x], [y], marker=marker, s=120 if row.get("pareto") else 40, color=colour)
        axes.annotate(row["label"], (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
    spread = [row["energy_kwh_median"] for row in rows]
    if spread and max(spread) / max(min(spread), 1e-15) > LOG_SCALE_RATIO:
        axes.set_xscale("log")
        axes.set_yscale("log")
    axes.set_xlabel("time per run of all queries (s), median")
    axes.set_ylabel("energy (Wh), median")
    axes.set_title(f"Energy against time (stars: Pareto front)\n{subtitle}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, format="svg")
    return path
