"""Recommendations for every job in the ledger, ranked: each job's context once, every rule asked.

:func:`recommend` is pure over :class:`~zuinig.advise.gather.Records`; :func:`advise`
gathers them from a ledger first. What the rules are and how to add one:
:mod:`zuinig.advise.rules`.

**Recommendations are derived, not stored.** A recommendation is a function of the
ledger (the job's runs and the bench sessions), with fixed bootstrap seeds, so the same
ledger always gives the same advice, and a newer benchmark improves it at once.
Storing recommendations (a ``0003`` migration) would add a lifecycle (open, accepted,
dismissed) that nothing uses yet, and a stored row could disagree with the evidence it
came from; it can be added when the report needs "recommendations open since".

What is compared (SCI's baseline rule, ISO/IEC 21031): energy per run (the functional
unit) of runs measured with the same method (CPU method, TDP, tracking mode). Runs of a
job with another method than its latest run are set aside.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from zuinig.advise.bench_view import current_config, find_bench, find_bench_of_earlier_files
from zuinig.advise.gather import Records, gather
from zuinig.advise.model import KIND_RUN_BENCH, Advice, Recommendation
from zuinig.advise.profile import JobProfile, by_job, profile_of
from zuinig.advise.realised import realised
from zuinig.advise.rules import RULES, JobContext
from zuinig.advise.storage import StorageModel
from zuinig.config import Settings

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger

__all__ = ["advise", "recommend"]


def advise(
    ledger: Ledger,
    settings: Settings,
    *,
    job: str | None = None,
    since: datetime | None = None,
    now: datetime | None = None,
) -> Advice:
    """Ranked recommendations and realised savings for the jobs in ``ledger``.

    Args:
        ledger: the ledger to read.
        settings: price, storage constants and PUE.
        job: only this job.
        since: only runs from this moment (UTC); frequencies are per month over
            ``[since, now]``, or from each job's first run when ``None``.
        now: the end of the window; the current time by default.
    """
    return recommend(gather(ledger, job=job, since=since), settings, now=now)


def recommend(
    records: Records,
    settings: Settings,
    *,
    now: datetime | None = None,
    with_realised: bool = True,
) -> Advice:
    """Ranked recommendations and realised savings from ``records`` (pure).

    Args:
        records: from :func:`gather` (or built by hand in tests).
        settings: price, storage constants and PUE.
        now: the end of the window; the current time by default.
        with_realised: also work out the realised savings (``False``: leave them empty,
            for a caller that works them out over other records, as the monthly report).
    """
    now = now or datetime.now(UTC)
    model = StorageModel(
        settings.storage_wh_per_tb_hour, settings.storage_replication, settings.pue
    )
    recommendations: list[Recommendation] = []
    notes: list[str] = []
    for job, runs in by_job(records.runs).items():
        profile = profile_of(job, runs, records.window_start, now)
        if profile is None:
            continue
        if not profile.files:
            notes.append(f"{job}: no data file was observed in its runs; nothing to compare")
            continue
        recommendations.extend(_advise_job(profile, records, settings, model))
    recommendations.sort(key=lambda r: (r.kind == KIND_RUN_BENCH, -r.yearly_kwh, r.job, r.kind))
    return Advice(
        recommendations=recommendations,
        realised=realised(records, now=now) if with_realised else [],
        notes=notes,
        storage_method=model.describe(),
    )


def _advise_job(
    profile: JobProfile, records: Records, settings: Settings, model: StorageModel
) -> list[Recommendation]:
    """Every rule's advice for one job, in the order of :data:`RULES`."""
    view = find_bench(profile, records.benches) or find_bench_of_earlier_files(
        profile, records.benches
    )
    current, assumptions = current_config(profile, view) if view else (None, [])
    job = JobContext(profile, records, settings, model, view, current, tuple(assumptions))
    found: list[Recommendation] = []
    for rule in RULES:
        found.extend(rule(dataclasses.replace(job, earlier=tuple(found))))
    return found
