"""What every rule shares: the :class:`Rule` protocol and the :class:`JobContext` it reads.

A rule is a callable ``rule(job) -> list[Recommendation]``: it reads one job's context
(the job's profile, the benchmark found for its data, the settings) and returns its
advice, or nothing. :data:`zuinig.advise.rules.RULES` lists them in the order their
advice is shown; :func:`zuinig.advise.ranking.recommend` builds each job's context once
and asks every rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from zuinig.advise import savings
from zuinig.advise.bench_view import BenchConfig, BenchView
from zuinig.advise.gather import Records
from zuinig.advise.model import MATCH_SIMILAR, Recommendation
from zuinig.advise.profile import JobProfile
from zuinig.advise.savings import Range
from zuinig.advise.storage import StorageModel
from zuinig.config import Settings

__all__ = ["JobContext", "Rule", "caveats", "yearly"]


@dataclass(frozen=True)
class JobContext:
    """Everything a rule may read about one job, worked out once for all rules.

    Attributes:
        profile: the job as the ledger shows it (it reads at least one data file).
        records: everything advice is made from (conversion runs, decimal columns, ...).
        settings: price, storage constants and PUE.
        storage: the storage-at-rest model built from ``settings``.
        view: the benchmark found for the job's data, or ``None``.
        current: the benchmark's configuration taken as the job's, or ``None`` when
            there is no benchmark or it did not measure what the job uses.
        assumptions: what was assumed to find ``current`` (codec, mode), in words.
        earlier: the advice of the rules before this one in
            :data:`zuinig.advise.rules.RULES` (the codec rule builds on the
            configuration rule's).
    """

    profile: JobProfile
    records: Records
    settings: Settings
    storage: StorageModel
    view: BenchView | None = None
    current: BenchConfig | None = None
    assumptions: tuple[str, ...] = ()
    earlier: tuple[Recommendation, ...] = ()

    def shared_fields(self) -> dict[str, Any]:
        """The fields every recommendation for this job shares."""
        profile = self.profile
        return {
            "job": profile.job,
            "current": profile.label,
            "files": profile.files,
            "energy_kwh_per_run": Range.of(profile.energy),
            "runs_per_month": profile.runs_per_month,
            "window_days": profile.window_days,
        }


class Rule(Protocol):
    """One kind of advice: a job's context in, its recommendations out (pure)."""

    def __call__(self, job: JobContext, /) -> list[Recommendation]:
        """The recommendations of this rule for ``job`` (empty when it has none)."""
        ...


def caveats(
    profile: JobProfile, view: BenchView, assumptions: Sequence[str], recommended: BenchConfig
) -> list[str]:
    """What weakens advice to move to ``recommended``, in words."""
    found = list(assumptions)
    if recommended in view.unchecked:
        found.append(
            f"the benchmark did not check {recommended.label}'s answers against another "
            "engine's, so it is not known to compute the same result"
        )
    if view.match == MATCH_SIMILAR:
        found.append(f"measured on {MATCH_SIMILAR}, not on the job's file")
    job_key = savings.method_key(profile.runs[-1])
    if view.method_key() != job_key:
        found.append(
            "the benchmark was measured another way ("
            f"{savings.describe_method_key(view.method_key())}) than the job "
            f"({savings.describe_method_key(job_key)}); its ratio is applied, not its energies"
        )
    if profile.energy.n < 2:
        found.append("the job has a single measured run")
    return found


def yearly(
    per_run: Range, profile: JobProfile, settings: Settings
) -> tuple[Range, Range, Range | None, Range | None]:
    """A saving per run as per month, per year (kWh), kg CO2e and euro per year; the last
    two ``None`` without a carbon intensity or a price."""
    per_month = per_run.scaled(profile.runs_per_month)
    per_year = per_month.scaled(savings.MONTHS_PER_YEAR)
    co2 = (
        per_year.scaled(profile.intensity_g_per_kwh / 1000) if profile.intensity_g_per_kwh else None
    )
    eur = per_year.scaled(settings.price_eur_per_kwh) if settings.price_eur_per_kwh else None
    return per_month, per_year, co2, eur
