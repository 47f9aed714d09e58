"""The figures of a monthly report, read from the ledger (pure figures, no language).

:func:`build_report` asks the ledger for a few ``GROUP BY`` summaries
(:meth:`zuinig.ledger.store.Ledger.summarise_runs`), the same SQL on SQLite and
PostgreSQL, and folds the small grouped rows into :class:`~zuinig.report.model.MonthlyReport`:

1. The month and the month before, grouped finely (month, job, kind, team tag, status,
   method, input list, and the method columns): every total, job, team, kind, status
   count, method share, the method section and the trend's last two months are sums
   of these rows, so one scan of the two months' runs serves them all.
2. The trend's ten earlier months, grouped by month.

Only top-level runs are summed: a parent's window covers its children (DESIGN, "The
ledger"). Recommendations and realised savings come from :mod:`zuinig.advise`.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from zuinig.advise import Evidence, Range, Realised, Recommendation, gather, realised, recommend
from zuinig.config import Settings
from zuinig.errors import UsageError
from zuinig.ledger.model import (
    STATUS_ERROR,
    STATUS_INTERRUPTED,
    STATUS_OK,
    STATUS_RUNNING,
    RunFilter,
)
from zuinig.ledger.store import GROUP_BY_MONTH, GROUP_BY_TAG, Ledger, RunGroup, month_bounds
from zuinig.meter.base import CPU_METHOD_IMPORTED, Method
from zuinig.report.equivalents import equivalents
from zuinig.report.model import (
    AnnualFigures,
    ChangeSplit,
    GroupFigures,
    IntensityUsed,
    MethodSummary,
    MonthlyReport,
    MonthPoint,
    OpenRecommendation,
    RealisedSaving,
    Totals,
)

__all__ = [
    "ADVICE_WINDOW",
    "EARLIEST_MONTH",
    "LATEST_MONTH",
    "TREND_MONTHS",
    "build_report",
    "checked_month_bounds",
]

#: The months a report can be made for (and that every ``--month`` accepts). No run is
#: older than the Unix epoch (the clocks that time runs start there), and a report also
#: reads the 12 months before its month and the month after it, which must stay within
#: Python's dates (they end in 9999).
EARLIEST_MONTH = "1970-01"
LATEST_MONTH = "9998-12"
#: Months in the trend, ending with the report's month.
TREND_MONTHS = 12
#: How far back advice looks for a job's runs, up to the month's end. Long enough that a
#: monthly or weekly job has several runs to compare and a frequency to extrapolate
#: from; short enough that a job changed a quarter ago is advised on what it does now.
ADVICE_WINDOW = timedelta(days=90)

METHOD_MEASURED = "measured"  # Method.is_measured: CPU energy read from hardware counters
METHOD_ESTIMATED = "estimated"  # CPU load x TDP, or constants
METHOD_IMPORTED = "imported"  # imported from CodeCarbon files (see ledger.importers)
_IMPORTED_METER_SUFFIX = "(imported)"
#: Stored or shown status -> the Totals field that counts it.
_STATUS_FIELDS = {
    STATUS_OK: "ok",
    STATUS_ERROR: "failed",
    STATUS_INTERRUPTED: "interrupted",
    STATUS_RUNNING: "running",
}
#: The columns that name a location-based factor, in :class:`IntensityUsed`'s terms.
_LOCATION_KEYS = {
    "intensity_g_per_kwh": "intensity_g_per_kwh",
    "intensity_source": "source",
    "intensity_year": "year",
    "country_iso_code": "country_iso_code",
    "intensity_name": "name",
    "intensity_boundary": "boundary",
}
#: The columns that name a market-based factor (the contract).
_MARKET_KEYS = {
    "market_intensity_g_per_kwh": "intensity_g_per_kwh",
    "market_intensity_source": "source",
    "market_intensity_year": "year",
    "market_intensity_name": "name",
    "market_intensity_boundary": "boundary",
}
_METHOD_KEYS = (
    *_LOCATION_KEYS,
    *_MARKET_KEYS,
    "market_added_later",
    "pue",
    "method_cpu",
    "method_cpu_tdp_w",
    "method_cpu_tdp_is_generic",
    "method_ram_power_w",
    "tracking_mode",
    "method_attribution",
    "codecarbon_version",
    "method_cpu_coefficients",
)


@dataclass(frozen=True)
class _Slice:
    """One finely grouped row: runs of one month, job, kind, team, status, method and
    input list."""

    month: str
    job: str
    kind: str
    team: str
    status: str
    method: str
    processed_bytes_per_run: int
    #: The values of :data:`_METHOD_KEYS`, in that order.
    method_values: tuple[Any, ...]
    group: RunGroup


def build_report(
    ledger: Ledger,
    settings: Settings,
    *,
    month: str,
    tags: Mapping[str, str] | None = None,
    team_tag: str = "team",
    now: datetime | None = None,
    advice: bool = True,
) -> MonthlyReport:
    """The figures of the monthly report for ``month``.

    Args:
        ledger: the ledger to read.
        settings: the storage model and price shown in the method section.
        month: ``YYYY-MM`` (UTC).
        tags: only runs with every one of these tag values (``--tag``); also narrows
            recommendations and realised savings to those runs' jobs.
        team_tag: the tag key whose values are the teams.
        now: when the figures are read (UTC); the current time by default.
        advice: also read recommendations and realised savings (``False``: leave them
            empty). Advice reads every ok run of the jobs up to the month's end, in
            brief (:func:`zuinig.advise.gather`); it runs beside the grouped figures
            and takes about as long on a large ledger (reports/report-scale).

    Raises:
        UsageError: ``month`` is not ``YYYY-MM``, or not from :data:`EARLIEST_MONTH`
            to :data:`LATEST_MONTH`.
        LedgerError: the ledger cannot be read.
    """
    start, end = checked_month_bounds(month)
    now = now or datetime.now(UTC)
    month = _month_key(start)
    previous_month = _shift_month(start, -1)
    tags = dict(tags or {})
    # The grouped read spends its time inside the database (SQLite sorts with the GIL
    # released), advice mostly in Python: on a large ledger they overlap.
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(
            _read_slices, ledger, tags, team_tag, since=_month_start(previous_month), until=end
        )
        recommendations, realised_savings = (
            _advice(ledger, settings, tags, start, end, now) if advice else ((), ())
        )
        slices = reading.result()
    this = [item for item in slices if item.month == month]
    before = [item for item in slices if item.month == previous_month]
    totals = _totals(this)
    previous = _totals(before)
    method = _method_summary(settings, this)
    previous_method = _method_summary(settings, before)
    trend = _trend(ledger, tags, start, slices)
    return MonthlyReport(
        month=month,
        previous_month=previous_month,
        generated_at=now,
        tags=tags,
        team_tag=team_tag,
        ledger=ledger.display_url,
        totals=totals,
        previous=previous,
        trend=trend,
        jobs=_groups(this, before, lambda item: item.job),
        teams=_groups(this, before, lambda item: item.team),
        kinds=_groups(this, before, lambda item: item.kind),
        recommendations=recommendations,
        realised=realised_savings,
        equivalents=equivalents(totals.co2_kg, totals.energy_kwh),
        method=method,
        price_eur_per_kwh=settings.price_eur_per_kwh,
        change_split=_change_split(totals, previous, method, previous_method),
        annual=_annual(month, totals, trend),
    )


# -- months ---------------------------------------------------------------------------------


def checked_month_bounds(month: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a ``YYYY-MM`` month in UTC, from :data:`EARLIEST_MONTH` to
    :data:`LATEST_MONTH`: the one month rule of the library and of every ``--month``.

    Raises:
        UsageError: ``month`` is not ``YYYY-MM``, or out of that range.
    """
    try:
        start, end = month_bounds(month)
    except ValueError:  # a month Python's dates cannot hold (0000-01, 9999-12)
        pass
    else:
        # YYYY-MM text sorts as the months do.
        if EARLIEST_MONTH <= _month_key(start) <= LATEST_MONTH:
            return start, end
    raise UsageError(
        f"{month.strip()} is out of range; give a month from {EARLIEST_MONTH} to {LATEST_MONTH}"
    )


def _month_key(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _shift_month(start: datetime, months: int) -> str:
    index = start.year * 12 + start.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month_start(month: str) -> datetime:
    return month_bounds(month)[0]


def _filter(tags: Mapping[str, str], since: datetime, until: datetime) -> RunFilter:
    return RunFilter(tags=tags, since=since, until=until, top_level_only=True)


# -- the fine slices ------------------------------------------------------------------------


def _read_slices(
    ledger: Ledger, tags: Mapping[str, str], team_tag: str, *, since: datetime, until: datetime
) -> list[_Slice]:
    """The runs of ``[since, until)`` grouped finely, in a fixed order (so that float
    sums come out the same whatever order the database returns groups in)."""
    by = (
        GROUP_BY_MONTH,
        "job",
        "kind",
        GROUP_BY_TAG + team_tag,
        "status",
        "method_meter",
        "inputs",
        *_METHOD_KEYS,
    )
    groups = ledger.summarise_runs(_filter(tags, since, until), by=by)
    input_bytes = _InputBytes()
    cpu_at = _METHOD_KEYS.index("method_cpu")
    slices = [
        _Slice(
            month=month,
            job=job,
            kind=kind,
            team=team or "",
            status=status,
            method=_method_class(method_values[cpu_at], method_meter),
            processed_bytes_per_run=input_bytes(inputs),
            method_values=tuple(method_values),
            group=group,
        )
        for group in groups
        for month, job, kind, team, status, method_meter, inputs, *method_values in [group.key]
    ]
    slices.sort(key=lambda item: tuple((value is None, value or "") for value in item.group.key))
    return slices


class _InputBytes:
    """Bytes of the data files in one run's ``inputs`` JSON, parsed once per distinct list.

    The ledger stores a run's inputs as JSON text, and JSON operators differ between
    SQLite and PostgreSQL; grouping by the text itself is portable, and jobs read the
    same files run after run, so there are far fewer distinct lists than runs.
    """

    def __init__(self) -> None:
        self._known: dict[str | None, int] = {}

    def __call__(self, inputs: str | None) -> int:
        if inputs not in self._known:
            self._known[inputs] = _sum_sizes(inputs)
        return self._known[inputs]


def _sum_sizes(inputs: str | None) -> int:
    try:
        files = json.loads(inputs or "[]")
    except ValueError:
        return 0  # not written by zuinig; no size to count
    return sum(
        int(item["size_bytes"])
        for item in files
        if isinstance(item, dict)
        and isinstance(item.get("size_bytes"), int)
        and item["size_bytes"] >= 0
    )


def _method_class(method_cpu: str | None, method_meter: str | None) -> str:
    if method_cpu == CPU_METHOD_IMPORTED or (method_meter or "").endswith(_IMPORTED_METER_SUFFIX):
        return METHOD_IMPORTED
    if (
        method_cpu is not None
        and Method(meter=method_meter or "", cpu_method=method_cpu).is_measured
    ):
        return METHOD_MEASURED
    return METHOD_ESTIMATED


def _totals(slices: Iterable[_Slice]) -> Totals:
    sums: dict[str, float] = defaultdict(float)
    for item in slices:
        group = item.group
        sums["runs"] += group.runs
        sums["energy_kwh"] += group.energy_kwh
        sums["co2_kg"] += group.co2_kg
        sums["duration_s"] += group.duration_s
        sums["cpu_s"] += group.cpu_s
        sums["processed_bytes"] += item.processed_bytes_per_run * group.runs
        sums[_STATUS_FIELDS.get(item.status, "running")] += group.runs
        sums[f"{item.method}_runs"] += group.energy_runs
        sums[f"{item.method}_energy_kwh"] += group.energy_kwh
        sums["unmeasured_runs"] += group.runs - group.energy_runs
        sums["range_runs"] += group.range_runs
        sums["ranged_energy_kwh_low"] += group.energy_kwh_low
        sums["ranged_energy_kwh_high"] += group.energy_kwh_high
        sums["ranged_co2_kg_low"] += group.co2_kg_low
        sums["ranged_co2_kg_high"] += group.co2_kg_high
        sums["co2_kg_market_based"] += group.co2_kg_market_based
        sums["market_runs"] += group.market_runs
        if item.method_values[_ADDED_LATER_AT]:
            sums["market_added_later_runs"] += group.market_runs
    return Totals(**{name: kind(sums[name]) for name, kind in _TOTALS_TYPES.items()})


#: Each Totals field and its type (int or float), from its default.
_TOTALS_TYPES: dict[str, Callable[[float], Any]] = {
    item.name: type(item.default) for item in dataclasses.fields(Totals)
}
_ADDED_LATER_AT = _METHOD_KEYS.index("market_added_later")


def _groups(
    this: Sequence[_Slice], before: Sequence[_Slice], name_of: Callable[[_Slice], str]
) -> tuple[GroupFigures, ...]:
    """Figures per job, team or kind of this month, most energy first."""
    current: dict[str, list[_Slice]] = defaultdict(list)
    for item in this:
        current[name_of(item)].append(item)
    previous_kwh: dict[str, float] = defaultdict(float)
    for item in before:
        previous_kwh[name_of(item)] += item.group.energy_kwh
    figures = [
        GroupFigures(name=name, totals=_totals(items), previous_energy_kwh=previous_kwh[name])
        for name, items in current.items()
    ]
    figures.sort(key=lambda item: (-item.totals.energy_kwh, item.name))
    return tuple(figures)


# -- trend and method -----------------------------------------------------------------------


def _trend(
    ledger: Ledger, tags: Mapping[str, str], start: datetime, slices: Sequence[_Slice]
) -> tuple[MonthPoint, ...]:
    """The last :data:`TREND_MONTHS` months: the earlier ones read grouped by month, the
    last two summed from the fine slices already read (not scanned again)."""
    months = [_shift_month(start, offset) for offset in range(1 - TREND_MONTHS, 1)]
    earlier = ledger.summarise_runs(
        _filter(tags, _month_start(months[0]), _month_start(months[-2])),
        by=(GROUP_BY_MONTH, "market_added_later"),
    )
    sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0, 0])
    for group in earlier:
        _add_to_point(sums[group.key[0]], group, bool(group.key[1]))
    for item in slices:
        _add_to_point(sums[item.month], item.group, bool(item.method_values[_ADDED_LATER_AT]))
    return tuple(
        MonthPoint(
            month,
            int(sums[month][0]),
            sums[month][1],
            sums[month][2],
            co2_kg_market_based=sums[month][3],
            market_added_later_runs=int(sums[month][4]),
            market_runs=int(sums[month][5]),
        )
        for month in months
    )


def _add_to_point(point: list[float], group: RunGroup, added_later: bool) -> None:
    """Add ``group`` to a trend month's sums: [runs, energy_kwh, co2_kg,
    co2_kg_market_based, market_added_later_runs, market_runs]."""
    point[0] += group.runs
    point[1] += group.energy_kwh
    point[2] += group.co2_kg
    point[3] += group.co2_kg_market_based
    point[5] += group.market_runs
    if added_later:
        point[4] += group.market_runs


def _method_summary(settings: Settings, this: Sequence[_Slice]) -> MethodSummary:
    rows = [
        (dict(zip(_METHOD_KEYS, item.method_values, strict=True)), item.group.runs) for item in this
    ]
    return MethodSummary(
        intensities=_intensities(rows, _LOCATION_KEYS, "location"),
        market_intensities=_intensities(rows, _MARKET_KEYS, "market"),
        pue_values=_distinct(rows, "pue"),
        cpu_methods=_counts(rows, "method_cpu"),
        tdp_generic_runs=sum(runs for key, runs in rows if key["method_cpu_tdp_is_generic"]),
        tdp_values_w=_distinct(rows, "method_cpu_tdp_w"),
        ram_power_values_w=_distinct(rows, "method_ram_power_w"),
        tracking_modes=_counts(rows, "tracking_mode"),
        attributions=_counts(rows, "method_attribution"),
        cpu_coefficients=_counts(rows, "method_cpu_coefficients"),
        storage_wh_per_tb_hour=settings.storage_wh_per_tb_hour,
        storage_replication=settings.storage_replication,
        codecarbon_versions=_distinct(rows, "codecarbon_version"),
    )


def _intensities(
    rows: Sequence[tuple[dict[str, Any], int]], columns: Mapping[str, str], basis: str
) -> tuple[IntensityUsed, ...]:
    """The distinct factors named by ``columns`` (column -> IntensityUsed field), most
    runs first."""
    counts: dict[tuple[Any, ...], int] = defaultdict(int)
    for key, runs in rows:
        used = tuple(key[name] for name in columns)
        if any(value is not None for value in used):
            counts[used] += runs
    ranked = sorted(counts.items(), key=lambda item: (-item[1], repr(item[0])))
    return tuple(
        IntensityUsed(
            **{"country_iso_code": None, **dict(zip(columns.values(), used, strict=True))},
            runs=runs,
            basis=basis,
        )
        for used, runs in ranked
    )


# -- for the annual report -------------------------------------------------------------------


def _change_split(
    totals: Totals, previous: Totals, method: MethodSummary, previous_method: MethodSummary
) -> tuple[ChangeSplit, ...]:
    """The change of CO2e split into energy and factor effect, location- then
    market-based; the market-based split only where a month has market-based figures
    (ledgers from before they were kept have none, which is not zero)."""

    def year(used: Sequence[IntensityUsed]) -> int | None:
        return used[0].year if used else None  # the factor most runs used

    splits = (
        ChangeSplit(
            basis="location",
            previous_energy_kwh=previous.energy_kwh,
            energy_kwh=totals.energy_kwh,
            previous_co2_kg=previous.co2_kg,
            co2_kg=totals.co2_kg,
            previous_year=year(previous_method.intensities),
            year=year(method.intensities),
        ),
        ChangeSplit(
            basis="market",
            previous_energy_kwh=previous.energy_kwh,
            energy_kwh=totals.energy_kwh,
            previous_co2_kg=previous.co2_kg_market_based,
            co2_kg=totals.co2_kg_market_based,
            previous_year=year(previous_method.market_intensities),
            year=year(method.market_intensities),
        ),
    )
    return splits if totals.market_runs or previous.market_runs else splits[:1]


def _annual(month: str, totals: Totals, trend: Sequence[MonthPoint]) -> tuple[AnnualFigures, ...]:
    """The month and the year to date (1 January up to the month's end) in ESRS terms.

    The year's months are all in the trend (it holds the 12 months up to ``month``), so
    the year to date is summed from it rather than read again.
    """
    year = month[:4]
    months = [point for point in trend if point.month[:4] == year and point.month <= month]
    return (
        AnnualFigures(
            start=month,
            end=month,
            runs=totals.runs,
            energy_kwh=totals.energy_kwh,
            co2_kg_location_based=totals.co2_kg,
            co2_kg_market_based=totals.co2_kg_market_based,
            market_added_later_runs=totals.market_added_later_runs,
            market_runs=totals.market_runs,
        ),
        AnnualFigures(
            start=f"{year}-01",
            end=month,
            runs=sum(point.runs for point in months),
            energy_kwh=sum(point.energy_kwh for point in months),
            co2_kg_location_based=sum(point.co2_kg for point in months),
            co2_kg_market_based=sum(point.co2_kg_market_based for point in months),
            market_added_later_runs=sum(point.market_added_later_runs for point in months),
            market_runs=sum(point.market_runs for point in months),
        ),
    )


def _distinct(rows: Sequence[tuple[dict[str, Any], int]], name: str) -> tuple[Any, ...]:
    return tuple(sorted({key[name] for key, _ in rows if key[name] is not None}))


def _counts(rows: Sequence[tuple[dict[str, Any], int]], name: str) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for key, runs in rows:
        if key[name] is not None:
            counts[key[name]] += runs
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# -- advice ---------------------------------------------------------------------------------


def _advice(
    ledger: Ledger,
    settings: Settings,
    tags: Mapping[str, str],
    start: datetime,
    end: datetime,
    now: datetime,
) -> tuple[tuple[OpenRecommendation, ...], tuple[RealisedSaving, ...]]:
    """Open recommendations as of the month's end, and the savings realised in the month.

    The ledger is read once (:func:`zuinig.advise.gather` up to the month's end): the
    realised savings need each job's whole history (before against after a change), as
    :func:`zuinig.advise.realised_savings` reads it; the recommendations use the last
    :data:`ADVICE_WINDOW` of it, as ``advise(now=end)`` would on the runs of that window,
    except that runs after the month's end are left out, so that a report made later
    shows the advice that stood at the end of its month.
    """
    records = gather(ledger, until=end, tags=tags)
    since = end - ADVICE_WINDOW
    # A job's runs per month are counted from its first run in the window, as plain
    # `zuinig advise` counts them from its first run: a job that began last week is
    # not spread over 90 days, so the report and `zuinig advise` give the same savings.
    recent = dataclasses.replace(
        records,
        runs=tuple(run for run in records.runs if run.started_at >= since),
        window_start=None,
    )
    # A report of the current month stops its frequency window today, not at the
    # month's end still to come (that would dilute how often jobs run).
    until = min(end, now)
    advice = recommend(recent, settings, now=until, with_realised=False)
    saved = realised(records, now=until, period=(start, end))
    return (
        tuple(_open_recommendation(item) for item in advice.recommendations),
        tuple(_realised_saving(item) for item in saved),
    )


def _value(item: Range | None) -> float | None:
    return item.value if item else None


def _low(item: Range | None) -> float | None:
    return item.low if item else None


def _high(item: Range | None) -> float | None:
    return item.high if item else None


def _evidence(evidence: Evidence | None) -> str | None:
    if evidence is None:
        return None
    return f"bench session {evidence.session_id}: {evidence.data} ({evidence.match})"


def _open_recommendation(item: Recommendation) -> OpenRecommendation:
    return OpenRecommendation(
        job=item.job,
        kind=item.kind,
        current=item.current,
        recommended=item.recommended,
        saving_kwh_per_year=_value(item.saving_kwh_per_year),
        saving_kwh_per_year_low=_low(item.saving_kwh_per_year),
        saving_kwh_per_year_high=_high(item.saving_kwh_per_year),
        saving_co2_kg_per_year=_value(item.saving_co2_kg_per_year),
        saving_eur_per_year=_value(item.saving_eur_per_year),
        storage_saved_bytes=item.storage_saved_bytes,
        payback_days=item.payback_days,
        confidence=item.confidence,
        evidence=_evidence(item.evidence),
        command=item.command,
    )


def _realised_saving(item: Realised) -> RealisedSaving:
    return RealisedSaving(
        job=item.job,
        before=item.before,
        after=item.after,
        since=item.since,
        runs_in_month=item.runs_in_period,
        saving_kwh_in_month=_value(item.saving_kwh_in_period),
        saving_kwh_in_month_low=_low(item.saving_kwh_in_period),
        saving_kwh_in_month_high=_high(item.saving_kwh_in_period),
        saving_kwh_per_year=_value(item.saving_kwh_per_year),
        method_match=item.method_match,
        followed_recommendation=item.followed_recommendation,
        confidence=item.confidence,
    )
