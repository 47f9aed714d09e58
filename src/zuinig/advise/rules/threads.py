"""Rule ``threads``: the same format, engine and mode with another thread count, when the
benchmark shows a clear difference."""

from __future__ import annotations

from zuinig.advise import savings
from zuinig.advise.bench_view import calls_text, median
from zuinig.advise.model import KIND_THREADS, Evidence, Recommendation
from zuinig.advise.rules.base import JobContext, caveats, yearly
from zuinig.advise.savings import Range
from zuinig.bench import stats

__all__ = ["advise_threads"]


def advise_threads(job: JobContext) -> list[Recommendation]:
    """If the job keeps its format, engine and mode: the thread count that clearly saves."""
    profile, view, current = job.profile, job.view, job.current
    if view is None or current is None:
        return []
    same = [
        c
        for c in view.energies
        if (c.format, c.engine, c.mode) == (current.format, current.engine, current.mode)
    ]
    if len(same) < 2:
        return []
    best = min(same, key=lambda c: median(view.energies[c]))
    if best == current:
        return []
    ratio = stats.ratio_ci(view.energies[best], view.energies[current])
    if not (ratio.has_interval and ratio.high < 1.0):
        return []  # only a clear difference is worth a change of settings
    per_run = savings.saving_per_run(profile.energy, ratio)
    per_month, per_year, co2, eur = yearly(per_run, profile, job.settings)
    confidence, confidence_text = savings.confidence_of(per_run, caveats(profile, view, [], best))
    return [
        Recommendation(
            **job.shared_fields(),
            kind=KIND_THREADS,
            recommended=best.label,
            text=(
                f"if {profile.label} stays, give {current.engine} {best.threads} thread(s) "
                f"instead of {current.threads}: {stats.describe_ratio(ratio, current.label)}"
            ),
            saving_kwh_per_run=per_run,
            saving_kwh_per_month=per_month,
            saving_kwh_per_year=per_year,
            saving_co2_kg_per_year=co2,
            saving_eur_per_year=eur,
            conversion_kwh=0.0,
            conversion_method="no conversion: a setting",
            payback_runs=0.0,
            payback_days=0.0,
            confidence=confidence,
            confidence_text=confidence_text,
            evidence=Evidence(
                session_id=view.session.session_id,
                data=str(view.session.config.get("data") or view.session.label),
                match=view.match,
                repeats=(len(view.energies[best]), len(view.energies[current])),
                method=view.method_text(),
                ratio=Range.of(ratio),
                ratio_text=stats.describe_ratio(ratio, current.label),
                calls=calls_text(view.phase),
            ),
        )
    ]
