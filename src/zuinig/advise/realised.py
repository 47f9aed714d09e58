"""Savings jobs realised by changing configuration: before against after, from the runs.

The realised saving needs no stored recommendation: "before" and "after" are defined by
the job's own runs, at the moment its observed configuration (input formats, engine)
changed, which the ledger records as it happens, whoever made the change and whenever
``advise`` was run. Whether the new configuration is the one the benchmark recommends
is derived too (``followed_recommendation``). Only runs measured with the same method
are compared (SCI's baseline rule, ISO/IEC 21031): a before/after pair with no common
method is refused, with the reason in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from zuinig.advise import savings
from zuinig.advise.bench_view import (
    BenchConfig,
    current_config,
    find_bench,
    median,
    ratios_against,
    tied_with_best,
)
from zuinig.advise.gather import AdvisedRun, Records, gather
from zuinig.advise.model import Realised
from zuinig.advise.profile import by_job, config_label, configurations, measured_as, profile_of
from zuinig.advise.savings import Range
from zuinig.formats import FORMAT_FAMILIES

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger

__all__ = ["realised", "realised_savings"]


def realised(
    records: Records,
    *,
    now: datetime | None = None,
    period: tuple[datetime, datetime] | None = None,
) -> list[Realised]:
    """The saving each job realised at its latest change of configuration (pure).

    "Before" is the run of configurations just before the change, "after" every run
    since; only runs measured like the latest one are compared.

    Args:
        records: the runs (and benches, to tell whether the change followed a
            recommendation).
        now: the end of the window for the frequency.
        period: ``(start, end)``: also count the runs and the saving in that period.
    """
    now = now or datetime.now(UTC)
    found = []
    for job, runs in by_job(records.runs).items():
        item = _realised_for_job(job, runs, records, now, period)
        if item is not None:
            found.append(item)
    found.sort(key=lambda r: -(r.saving_kwh_per_year.value if r.saving_kwh_per_year else 0.0))
    return found


def realised_savings(
    ledger: Ledger,
    *,
    month: str | None = None,
    job: str | None = None,
    now: datetime | None = None,
) -> list[Realised]:
    """The savings jobs realised by changing configuration (for the monthly report).

    Args:
        ledger: the ledger.
        month: ``YYYY-MM``: only runs up to that month's end count, and
            ``runs_in_period``/``saving_kwh_in_period`` say what the new configuration
            saved in that month. All runs when ``None``.
        job: only this job.
        now: the end of the window when no month is given.
    """
    start: datetime | None = None
    end: datetime | None = None
    if month is not None:
        from zuinig.ledger.store import month_bounds

        start, end = month_bounds(month)
    records = gather(ledger, job=job, until=end)
    return realised(records, now=end or now, period=(start, end) if start and end else None)


def _realised_for_job(
    job: str,
    runs: Sequence[AdvisedRun],
    records: Records,
    now: datetime,
    period: tuple[datetime, datetime] | None,
) -> Realised | None:
    configs = configurations(runs)
    latest = configs[-1]
    switch = len(configs)
    while switch > 0 and configs[switch - 1] == latest:
        switch -= 1
    if switch == 0:
        return None  # never changed
    previous = configs[switch - 1]
    start = switch
    while start > 0 and configs[start - 1] == previous:
        start -= 1
    before, after = list(runs[start:switch]), list(runs[switch:])
    key = savings.method_key(after[-1])
    after = measured_as(after, key)
    comparable = measured_as(before, key)
    label_before, label_after = config_label(*previous), config_label(*latest)
    per_month, _ = savings.runs_per_month(
        len(runs), records.window_start or runs[0].started_at, now
    )
    common: dict[str, Any] = {
        "job": job,
        "before": label_before,
        "after": label_after,
        "since": runs[switch].started_at,
        "runs_after": len(after),
        "method": savings.describe_method_key(key),
        "runs_per_month": per_month,
        "followed_recommendation": _followed(job, before, latest, records, now),
    }
    if not comparable:
        methods = sorted({savings.describe_method_key(savings.method_key(r)) for r in before})
        return Realised(
            **common,
            runs_before=0,
            method_match=False,
            notes=(
                "refused: the runs before the change were measured another way "
                f"({'; '.join(methods)}) than those after ({savings.describe_method_key(key)}); "
                "SCI compares a baseline only with an identical method",
            ),
        )
    before_e = savings.median_interval([r.energy_kwh for r in comparable if r.energy_kwh])
    after_e = savings.median_interval([r.energy_kwh for r in after if r.energy_kwh])
    per_run = savings.difference(before_e, after_e)
    per_year = per_run.scaled(per_month * savings.MONTHS_PER_YEAR)
    notes = []
    if len(comparable) < len(before):
        notes.append(
            f"{len(before) - len(comparable)} run(s) before, measured another way, set aside"
        )
    confidence, confidence_text = savings.confidence_of(per_run, [])
    in_period: int | None = None
    saved_in_period: Range | None = None
    if period is not None:
        in_period = sum(1 for r in after if period[0] <= r.started_at < period[1])
        saved_in_period = per_run.scaled(in_period)
    return Realised(
        **common,
        runs_before=len(comparable),
        method_match=True,
        before_kwh_per_run=Range.of(before_e),
        after_kwh_per_run=Range.of(after_e),
        saving_kwh_per_run=per_run,
        saving_kwh_per_year=per_year,
        confidence=confidence,
        confidence_text=confidence_text,
        runs_in_period=in_period,
        saving_kwh_in_period=saved_in_period,
        notes=tuple(notes),
    )


def _followed(
    job: str,
    before: Sequence[AdvisedRun],
    after_config: tuple[tuple[str, ...], str | None],
    records: Records,
    now: datetime,
) -> bool | None:
    """Whether the new configuration is what the benchmark recommends for the old data:
    the best one, or one tied with it (the advice names those together)."""
    profile = profile_of(job, before, None, now)
    if profile is None or not profile.files:
        return None
    view = find_bench(profile, records.benches)
    if view is None or not view.energies:
        return None
    best = min(view.energies, key=lambda c: (median(view.energies[c]), c.label))
    current, _ = current_config(profile, view)
    group = (
        tied_with_best(list(view.energies), ratios_against(view, current))
        if current is not None
        else [best]
    )
    formats, engine = after_config

    def matches(config: BenchConfig) -> bool:
        family = {f for f, members in FORMAT_FAMILIES.items() if config.format in members}
        return (
            engine == config.engine
            and bool(formats)
            and set(formats) <= (family or {config.format})
        )

    return any(matches(config) for config in group)
