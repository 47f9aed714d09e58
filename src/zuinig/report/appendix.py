"""The CSV appendix of a monthly report: every figure the report shows, one per row.

Columns (:data:`COLUMNS`):

- ``section``: ``report``, ``totals``, ``previous``, ``annual`` (ESRS E1-5/E1-6 figures
  of the month and the year to date), ``change_split`` (the change of CO2e split into
  energy and factor effect, per basis), ``trend``, ``job``, ``team``, ``kind``,
  ``recommendation``, ``realised``, ``equivalent``, ``factor`` (each emission factor
  used, one row per distinct factor, with its list, year, row and boundary), ``method``.
- ``item``: the position within a list section (1 = first as the report orders it:
  most energy first, largest saving first, oldest month first); empty elsewhere.
- ``name``: what the row is about: a job, team, kind, month, comparison, CPU method...
- ``metric``: the figure's language-neutral key, with its unit in the name where it has
  one (``energy_kwh``, ``co2_kg``, ``processed_bytes``).
- ``value``: machine readable: a float as Python's ``repr`` (shortest text that reads
  back to the same float, dot decimal, e.g. ``2.875`` or ``1e-06``), an integer in
  digits, ``true``/``false``, a time in ISO 8601 (UTC), text as is; empty for "none".
- ``unit``: the value's unit (``kWh``, ``kg CO2e``, ``s``, ``bytes``, ``runs``, ...).
- ``notes``: how the figure was obtained or where its constant comes from.

The file is UTF-8 (no byte-order mark), RFC 4180 quoting (Python's ``csv`` module), so
names holding quotes, commas or newlines read back unchanged with any CSV reader.

**Formula injection.** A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``,
``@`` (or a tab or carriage return) as a formula. Job names, tag values and other text
come from users, so every *text* cell that starts with one of those gets a leading
apostrophe (``'=HYPERLINK(...)``), which spreadsheets show as text; strip one leading
apostrophe from such a cell to get the original back (one rule for every CSV zuinig
writes: :func:`zuinig.safe_text.defuse_formula`). Numbers are written by zuinig
itself and are never prefixed, so ``-0.625`` stays a number.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from zuinig.atomic import atomic_path
from zuinig.errors import ReportError
from zuinig.report.model import GroupFigures, MethodSummary, MonthlyReport, Totals
from zuinig.safe_text import FORMULA_PREFIXES, defuse_formula

__all__ = ["COLUMNS", "FORMULA_PREFIXES", "rows", "write_csv"]

COLUMNS = ("section", "item", "name", "metric", "value", "unit", "notes")

#: Unit by the ending of a metric's name; the first ending that matches wins.
_UNITS_BY_SUFFIX = (
    ("_g_per_kwh", "g CO2e/kWh"),
    ("_kg_per_kwh", "kg CO2e/kWh"),
    ("_kg_location_based", "kg CO2e"),
    ("_kg_market_based", "kg CO2e"),
    ("_t_location_based", "t CO2e"),
    ("_t_market_based", "t CO2e"),
    ("_mwh", "MWh"),
    ("_kg_per_run", "kg CO2e/run"),
    ("_kg_per_gb", "kg CO2e/GB"),
    ("_kwh_per_year", "kWh/year"),
    ("_kwh_in_month", "kWh"),
    ("_co2_kg_per_year", "kg CO2e/year"),
    ("_eur_per_year", "EUR/year"),
    ("_eur_per_kwh", "EUR/kWh"),
    ("_wh_per_tb_hour", "Wh/(TB h)"),
    ("_kwh", "kWh"),
    ("_kg", "kg CO2e"),
    ("_bytes", "bytes"),
    ("_days", "days"),
    ("_s", "s"),
    ("_w", "W"),
    ("_ratio", "ratio"),
    ("_share", "ratio"),
    ("_runs", "runs"),
    ("_month", "runs"),
)
_COUNTS = frozenset({"runs", "ok", "failed", "interrupted", "running", "runs_without_range"})
_EQUIVALENT_UNITS = {"car_km": "km", "petrol_litres": "l", "household_days": "days"}
#: Totals' derived figures, shown beside the stored ones.
_SCI_NOTE = "ISO/IEC 21031 SCI with M = 0: CO2e of the runs with a measurement"
_RANGE_NOTE = "sum of the runs' range ends; empty unless every run with energy has a range"
_TOTALS_DERIVED = {
    "energy_mwh": "energy_kwh / 1000 (ESRS E1-5 reports MWh)",
    "co2_kg_location_based": "the grid mix's factor (GHG Protocol scope 2, location-based); = co2_kg",
    "sci_kg_per_run": _SCI_NOTE,
    "sci_kg_per_gb": _SCI_NOTE,
    "measured_share": "RAPL-measured energy / all energy",
    "energy_kwh_low": _RANGE_NOTE,
    "energy_kwh_high": _RANGE_NOTE,
    "co2_kg_low": _RANGE_NOTE,
    "co2_kg_high": _RANGE_NOTE,
    "runs_without_range": "runs with energy but no range (measured before ranges were kept)",
}


def write_csv(report: MonthlyReport, path: Path) -> Path:
    """Write the appendix of ``report`` to ``path`` atomically (a temporary file beside
    it, renamed over it once complete), so a reader never sees half a file.

    Returns:
        ``path``.

    Raises:
        ReportError: the file cannot be written.
    """
    path = Path(path)
    try:
        with (
            atomic_path(path) as temporary,
            temporary.open("w", encoding="utf-8", newline="") as out,
        ):
            writer = csv.writer(out)
            writer.writerow(COLUMNS)
            writer.writerows(rows(report))
    except OSError as error:
        raise ReportError(
            f"cannot write the CSV appendix {path}: {error.strerror or error}"
        ) from error
    return path


def rows(report: MonthlyReport) -> Iterator[list[str]]:
    """The appendix's rows (without the header), as the cells written."""
    for section, item, name, metric, value, unit, notes in _figures(report):
        yield [
            defuse_formula(section),
            "" if item is None else str(item),
            defuse_formula(name),
            defuse_formula(metric),
            _cell(value),
            unit if unit is not None else _unit(metric),
            defuse_formula(notes),
        ]


_Figure = tuple[str, int | None, str, str, Any, str | None, str]


def _figures(report: MonthlyReport) -> Iterator[_Figure]:
    yield from _report_figures(report)
    yield from _totals_figures("totals", None, "", report.totals)
    yield ("totals", None, "", "change_kwh", report.change_kwh, None, "against the previous month")
    yield ("totals", None, "", "change_ratio", report.change_ratio, None, "change / previous")
    yield from _totals_figures("previous", None, report.previous_month, report.previous)
    yield from _annual_figures(report)
    yield from _split_figures(report)
    for item, point in enumerate(report.trend, 1):
        for metric in ("runs", "energy_kwh", "co2_kg", "co2_kg_market_based"):
            yield ("trend", item, point.month, metric, getattr(point, metric), None, "")
    for section, groups in (("job", report.jobs), ("team", report.teams), ("kind", report.kinds)):
        for item, group in enumerate(groups, 1):
            yield from _group_figures(section, item, group)
    for item, recommendation in enumerate(report.recommendations, 1):
        yield from _record_figures("recommendation", item, recommendation.job, recommendation)
    for item, saving in enumerate(report.realised, 1):
        yield from _record_figures("realised", item, saving.job, saving)
    for item, equivalent in enumerate(report.equivalents, 1):
        source = f"{equivalent.source}; {equivalent.source_url or ''}".rstrip("; ")
        yield (
            "equivalent",
            item,
            equivalent.key,
            "amount",
            equivalent.amount,
            _EQUIVALENT_UNITS.get(equivalent.key, ""),
            f"{equivalent.basis} / constant",
        )
        yield ("equivalent", item, equivalent.key, "constant", equivalent.constant,
               equivalent.constant_unit, source)  # fmt: skip
    yield from _factor_figures(report.method)
    yield from _method_figures(report.method)


def _report_figures(report: MonthlyReport) -> Iterator[_Figure]:
    yield ("report", None, "", "month", report.month, "", "UTC")
    yield ("report", None, "", "previous_month", report.previous_month, "", "UTC")
    yield ("report", None, "", "generated_at", report.generated_at, "", "UTC")
    yield ("report", None, "", "ledger", report.ledger, "", "password masked")
    yield ("report", None, "", "team_tag", report.team_tag, "", "")
    for key, value in sorted(report.tags.items()):
        yield ("report", None, key, "tag_filter", value, "", "only runs with this tag value")
    yield ("report", None, "", "price_eur_per_kwh", report.price_eur_per_kwh, None, "settings")


def _annual_figures(report: MonthlyReport) -> Iterator[_Figure]:
    for name, figures in zip(("month", "year_to_date"), report.annual, strict=False):
        period = f"{figures.start} to {figures.end}, top-level runs"
        for metric, note in (
            ("runs", period),
            ("energy_mwh", "ESRS E1-5 energy consumption"),
            ("co2_t_location_based", "ESRS E1-6 gross scope 2, location-based"),
            ("co2_t_market_based", "ESRS E1-6 gross scope 2, market-based"),
            ("market_runs", "runs with a market-based figure"),
            ("market_added_later_runs", "runs whose market-based figure was added later"),
        ):
            yield ("annual", None, name, metric, getattr(figures, metric), None, note)


_SPLIT_NOTES = {
    "previous_energy_kwh": "E0",
    "energy_kwh": "E1",
    "previous_co2_kg": "C0",
    "co2_kg": "C1",
    "previous_co2_kg_per_kwh": "f0 = C0 / E0",
    "co2_kg_per_kwh": "f1 = C1 / E1",
    "energy_effect_co2_kg": "(E1 - E0) x f0",
    "factor_effect_co2_kg": "E1 x (f1 - f0)",
    "change_co2_kg": "C1 - C0 = energy effect + factor effect",
    "previous_year": "list year of the previous month's main factor",
    "year": "list year of this month's main factor",
}


def _split_figures(report: MonthlyReport) -> Iterator[_Figure]:
    for split in report.change_split:
        name = f"{split.basis}_based"
        for metric, note in _SPLIT_NOTES.items():
            unit = "" if metric.endswith("year") else None
            yield ("change_split", None, name, metric, getattr(split, metric), unit, note)


def _factor_figures(method: MethodSummary) -> Iterator[_Figure]:
    """One row per distinct emission factor: its value, and in the notes its list,
    year, row, boundary and the runs that used it."""
    factors = [*method.intensities, *method.market_intensities]
    for item, used in enumerate(factors, 1):
        notes = "; ".join(
            f"{label}: {value}"
            for label, value in (
                ("list", used.source),
                ("year", used.year),
                ("row", used.name),
                ("boundary", used.boundary),
                ("country", used.country_iso_code),
                ("runs", used.runs),
            )
            if value is not None
        )
        metric = f"{used.basis}_intensity_g_per_kwh"
        yield ("factor", item, used.name or used.source or "", metric,
               used.intensity_g_per_kwh, None, notes)  # fmt: skip


def _totals_figures(section: str, item: int | None, name: str, totals: Totals) -> Iterator[_Figure]:
    for field in dataclasses.fields(totals):
        yield (section, item, name, field.name, getattr(totals, field.name), None, "")
    for metric, note in _TOTALS_DERIVED.items():
        yield (section, item, name, metric, getattr(totals, metric), None, note)


def _group_figures(section: str, item: int, group: GroupFigures) -> Iterator[_Figure]:
    yield from _totals_figures(section, item, group.name, group.totals)
    yield (section, item, group.name, "previous_energy_kwh", group.previous_energy_kwh, None, "")
    yield (section, item, group.name, "change_kwh", group.change_kwh, None, "")


def _record_figures(section: str, item: int, name: str, record: Any) -> Iterator[_Figure]:
    for field in dataclasses.fields(record):
        if field.name != "job":
            yield (section, item, name, field.name, getattr(record, field.name), None, "")


def _method_figures(method: MethodSummary) -> Iterator[_Figure]:
    for item, used in enumerate(method.intensities, 1):
        name = used.source or ""
        yield ("method", item, name, "intensity_g_per_kwh", used.intensity_g_per_kwh, None, "")
        yield ("method", item, name, "intensity_year", used.year, "", "")
        yield ("method", item, name, "intensity_name", used.name, "", "the list's row")
        yield ("method", item, name, "intensity_boundary", used.boundary, "", "")
        yield ("method", item, name, "country_iso_code", used.country_iso_code, "", "")
        yield ("method", item, name, "runs", used.runs, None, "runs that used this intensity")
    yield from _listed("pue", method.pue_values, "")
    yield from _counted("cpu_method", method.cpu_methods)
    yield ("method", None, "", "tdp_generic_runs", method.tdp_generic_runs, "runs",
           "runs whose CPU TDP was a generic guess")  # fmt: skip
    yield from _listed("tdp_w", method.tdp_values_w, "W")
    yield from _listed("ram_power_w", method.ram_power_values_w, "W")
    yield from _counted("tracking_mode", method.tracking_modes)
    yield from _counted("attribution", method.attributions)
    yield ("method", None, "", "storage_wh_per_tb_hour", method.storage_wh_per_tb_hour, None,
           "storage at rest model (settings)")  # fmt: skip
    yield ("method", None, "", "storage_replication", method.storage_replication, "copies",
           "storage at rest model (settings)")  # fmt: skip
    yield from _listed("codecarbon_version", method.codecarbon_versions, "")


def _listed(metric: str, values: Iterable[Any], unit: str) -> Iterator[_Figure]:
    for item, value in enumerate(values, 1):
        yield ("method", item, "", metric, value, unit, "")


def _counted(metric: str, counts: Mapping[str, int]) -> Iterator[_Figure]:
    for item, (name, runs) in enumerate(counts.items(), 1):
        yield ("method", item, name, f"{metric}_runs", runs, "runs", "")


def _unit(metric: str) -> str:
    if metric in _COUNTS:
        return "runs"
    base = metric.removesuffix("_low").removesuffix("_high")  # interval ends: the figure's unit
    for suffix, unit in _UNITS_BY_SUFFIX:
        if base.endswith(suffix):
            return unit
    return ""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # float repr: shortest round-trip text, dot decimal
    if isinstance(value, datetime):
        return value.isoformat()
    return defuse_formula(str(value))
