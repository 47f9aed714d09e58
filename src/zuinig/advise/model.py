"""What advice says: recommendations, their ladder steps and evidence, realised savings.

Frozen records with units in their field names; ``to_dict`` gives ``advise --json``'s
objects (keys and order are part of the CLI's contract). The rules
(:mod:`zuinig.advise.rules`) make them; :mod:`zuinig.advise.text` and the monthly report
show them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zuinig.advise.savings import Range
from zuinig.meter.base import InputFile

__all__ = [
    "Advice",
    "Evidence",
    "Realised",
    "Recommendation",
    "Step",
    "tie_sentence",
]

MATCH_SAME_FILE = "same file"
MATCH_MOVED = "same file name and size (moved)"
MATCH_SIMILAR = "other data of similar size"

KIND_CONFIGURATION = "configuration"
KIND_RUN_BENCH = "bench"
KIND_THREADS = "threads"
KIND_CODEC = "codec"
KIND_STREAMING = "streaming"
KIND_DTYPE = "dtype"

#: The effort a step of the ladder asks: the job's code stays (another file format or
#: codec, engine mode or thread count), or the job is written for another engine.
EFFORT_ONE_LINE = "one line"
EFFORT_REWRITE = "rewrite"


@dataclass(frozen=True)
class Evidence:
    """The benchmark a recommendation rests on.

    Attributes:
        session_id: the bench session.
        data: what it was measured on (the file, or the workload's label).
        match: how that data relates to the job's (:data:`MATCH_SAME_FILE`, ...).
        repeats: measured repetitions of the recommended and the current configuration.
        method: how the benchmark measured energy, in words.
        ratio: energy of recommended over current (unitless) with its 95% interval.
        ratio_text: the ratio in words.
        calls: which calls of the benchmark were compared: the first call in a fresh
            process (its warm-up trials) for a job that runs once per process, or the
            repeated calls (its measured trials) for one that runs many times in one.
    """

    session_id: str
    data: str
    match: str
    repeats: tuple[int, int]
    method: str
    ratio: Range | None = None
    ratio_text: str | None = None
    calls: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "bench_session": self.session_id,
            "calls": self.calls,
            "data": self.data,
            "match": self.match,
            "repeats": {"recommended": self.repeats[0], "current": self.repeats[1]},
            "method": self.method,
            "ratio": self.ratio.value if self.ratio else None,
            "ratio_ci": self.ratio.as_list() if self.ratio else None,
            "ratio_text": self.ratio_text,
        }


@dataclass(frozen=True)
class Step:
    """One rung of a recommendation's ladder: a change and what it saves.

    Energies in kWh, CO2e in kg, money in euro; every ``Range`` a 95% interval, worked
    out as for the recommendation itself (see :mod:`zuinig.advise.savings`).

    Attributes:
        configuration: what to use, e.g. ``parquet-zstd + pandas/default x2``.
        effort: :data:`EFFORT_ONE_LINE` (the same engine: another format or codec,
            mode or thread count) or :data:`EFFORT_REWRITE` (another engine).
        effort_text: the same in words, e.g. ``rewrite in DuckDB``.
        ratio: its energy over the current configuration's in the benchmark.
        ratio_text: the ratio in words.
        saving_kwh_per_run, saving_kwh_per_month, saving_kwh_per_year: energy saved.
        saving_co2_kg_per_year: the same in kg CO2e (``None`` without an intensity).
        saving_eur_per_year: the same in euro (``None`` without a price).
        storage_saved_bytes: bytes saved at rest (``None`` when the format stays).
        storage_saving_kwh_per_year: energy of storing those bytes for a year.
        conversion_kwh: one-off energy of converting the data (0 when the format stays).
        conversion_method: how ``conversion_kwh`` was obtained.
        payback_runs, payback_days: when the conversion is earned back.
        confidence, confidence_text: how sure the saving is.
        tied_with: configurations with no clear difference from this one.
    """

    configuration: str
    effort: str
    effort_text: str
    ratio: Range
    ratio_text: str
    saving_kwh_per_run: Range
    saving_kwh_per_month: Range
    saving_kwh_per_year: Range
    saving_co2_kg_per_year: Range | None
    saving_eur_per_year: Range | None
    storage_saved_bytes: float | None
    storage_saving_kwh_per_year: float | None
    conversion_kwh: float | None
    conversion_method: str
    payback_runs: float | None
    payback_days: float | None
    confidence: str
    confidence_text: str
    tied_with: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """One element of ``advise --json``'s ``steps`` (``*_ci`` keys hold ``[low, high]``)."""

        def ci(item: Range | None) -> list[float] | None:
            return item.as_list() if item else None

        return {
            "configuration": self.configuration,
            "effort": self.effort,
            "effort_text": self.effort_text,
            "ratio": self.ratio.value,
            "ratio_ci": ci(self.ratio),
            "ratio_text": self.ratio_text,
            **_savings_fields(self),
            "tied_with": list(self.tied_with),
        }


@dataclass(frozen=True)
class Recommendation:
    """One piece of advice for one job, with its figures and how sure they are.

    Energies in kWh, CO2e in kg (location-based, the job's own carbon intensity), money
    in euro; every ``Range`` is a 95% interval (see :mod:`zuinig.advise.savings`).

    Attributes:
        job: the job.
        kind: ``configuration`` (format and engine), ``bench`` (measure first),
            ``threads``, ``codec``, ``streaming`` or ``dtype``.
        current: what the job uses now, e.g. ``csv + pandas``.
        recommended: what to use instead, e.g. ``parquet-zstd + duckdb/default x2``.
        text: the advice in one or two sentences.
        files: the job's data files (path, bytes, format).
        energy_kwh_per_run: the job's median energy per run now.
        runs_per_month: how often it ran in the window (extrapolated, see ``window_days``).
        window_days: the window the frequency comes from (days).
        saving_kwh_per_run, saving_kwh_per_month, saving_kwh_per_year: expected
            energy saved by the runs.
        saving_co2_kg_per_year: the same in kg CO2e.
        saving_eur_per_year: the same in euro; ``None`` when no price is set.
        storage_saved_bytes: bytes the format change saves at rest.
        storage_saving_kwh_per_year: energy of storing those bytes for a year (estimated).
        conversion_kwh: one-off energy of converting the data.
        conversion_method: how ``conversion_kwh`` was obtained.
        payback_runs: runs until the runs' savings repay the conversion.
        payback_days: days until all savings (runs and storage) repay it.
        confidence: ``clear``, ``unclear`` or ``indicative`` (see
            :func:`zuinig.advise.savings.confidence_of`); ``None`` for ``bench``.
        confidence_text: the same in a sentence, with its reasons.
        evidence: the benchmark behind it.
        command: a command to run (``bench`` advice).
        notes: assumptions and methods, in words.
        steps: for ``configuration`` advice, the ladder: each change that saves clearly,
            cheapest first (the job's engine kept, then another engine); the last is
            ``recommended`` when it saves clearly.
        tied_with: configurations with no clear difference from ``recommended`` (their
            intervals overlap the best one's); ``recommended`` is the smallest change
            among them, not the lowest median, so the advice does not flip between
            benches.
    """

    job: str
    kind: str
    current: str
    recommended: str | None
    text: str
    files: tuple[InputFile, ...] = ()
    energy_kwh_per_run: Range | None = None
    runs_per_month: float | None = None
    window_days: float | None = None
    saving_kwh_per_run: Range | None = None
    saving_kwh_per_month: Range | None = None
    saving_kwh_per_year: Range | None = None
    saving_co2_kg_per_year: Range | None = None
    saving_eur_per_year: Range | None = None
    storage_saved_bytes: float | None = None
    storage_saving_kwh_per_year: float | None = None
    conversion_kwh: float | None = None
    conversion_method: str | None = None
    payback_runs: float | None = None
    payback_days: float | None = None
    confidence: str | None = None
    confidence_text: str | None = None
    evidence: Evidence | None = None
    command: str | None = None
    notes: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    tied_with: tuple[str, ...] = ()

    @property
    def yearly_kwh(self) -> float:
        """What it saves per year, runs and storage (kWh): the ranking key."""
        runs = self.saving_kwh_per_year.value if self.saving_kwh_per_year else 0.0
        return runs + (self.storage_saving_kwh_per_year or 0.0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``advise --json`` (``*_ci`` keys hold ``[low, high]``)."""

        def value(item: Range | None) -> float | None:
            return item.value if item else None

        def ci(item: Range | None) -> list[float] | None:
            return item.as_list() if item else None

        return {
            "job": self.job,
            "kind": self.kind,
            "current": self.current,
            "recommended": self.recommended,
            "text": self.text,
            "files": [
                {"path": f.path, "size_bytes": f.size_bytes, "format": f.format} for f in self.files
            ],
            "energy_kwh_per_run": value(self.energy_kwh_per_run),
            "energy_kwh_per_run_ci": ci(self.energy_kwh_per_run),
            "runs_per_month": self.runs_per_month,
            "window_days": self.window_days,
            **_savings_fields(self),
            "evidence": self.evidence.to_dict() if self.evidence else None,
            "command": self.command,
            "notes": list(self.notes),
            "steps": [step.to_dict() for step in self.steps],
            "tied_with": list(self.tied_with),
        }


def _savings_fields(item: Step | Recommendation) -> dict[str, Any]:
    """The savings keys a step and a recommendation share in ``advise --json``.

    ``*_ci`` keys hold ``[low, high]``; a missing figure is ``None``.
    """

    def value(figure: Range | None) -> float | None:
        return figure.value if figure else None

    def ci(figure: Range | None) -> list[float] | None:
        return figure.as_list() if figure else None

    fields: dict[str, Any] = {}
    for name in (
        "saving_kwh_per_run",
        "saving_kwh_per_month",
        "saving_kwh_per_year",
        "saving_co2_kg_per_year",
        "saving_eur_per_year",
    ):
        figure = getattr(item, name)
        fields[name] = value(figure)
        fields[f"{name}_ci"] = ci(figure)
    return fields | {
        "storage_saved_bytes": item.storage_saved_bytes,
        "storage_saving_kwh_per_year": item.storage_saving_kwh_per_year,
        "conversion_kwh": item.conversion_kwh,
        "conversion_method": item.conversion_method,
        "payback_runs": item.payback_runs,
        "payback_days": item.payback_days,
        "confidence": item.confidence,
        "confidence_text": item.confidence_text,
    }


@dataclass(frozen=True)
class Realised:
    """The saving a job realised by changing its configuration: before against after.

    Attributes:
        job: the job.
        before, after: the configurations, e.g. ``csv + pandas`` and ``parquet + duckdb``.
        since: the first run with the new configuration (UTC).
        runs_before, runs_after: runs compared on each side (same method).
        method_match: whether both sides were measured the same way; when False the
            figures are ``None`` and ``notes`` says why (SCI's baseline rule).
        method: the method compared, in words.
        before_kwh_per_run, after_kwh_per_run: median energy per run (kWh), 95% intervals.
        saving_kwh_per_run: before - after (kWh), by interval arithmetic.
        saving_kwh_per_year: per run x runs per month x 12 (kWh).
        runs_per_month: the job's frequency over the window.
        followed_recommendation: whether the new configuration is the one the
            benchmark recommends for the old data; ``None`` without a benchmark.
        confidence, confidence_text: how sure, as for a recommendation.
        runs_in_period, saving_kwh_in_period: for a month's report: runs with the new
            configuration in that month and the saving they made (kWh).
        notes: why something is missing or set aside.
    """

    job: str
    before: str
    after: str
    since: datetime
    runs_before: int
    runs_after: int
    method_match: bool
    method: str
    before_kwh_per_run: Range | None = None
    after_kwh_per_run: Range | None = None
    saving_kwh_per_run: Range | None = None
    saving_kwh_per_year: Range | None = None
    runs_per_month: float | None = None
    followed_recommendation: bool | None = None
    confidence: str | None = None
    confidence_text: str | None = None
    runs_in_period: int | None = None
    saving_kwh_in_period: Range | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON object under ``advise --json``'s ``realised`` key."""

        def value(item: Range | None) -> float | None:
            return item.value if item else None

        return {
            "job": self.job,
            "before": self.before,
            "after": self.after,
            "since": self.since.isoformat(),
            "runs_before": self.runs_before,
            "runs_after": self.runs_after,
            "method_match": self.method_match,
            "method": self.method,
            "before_kwh_per_run": value(self.before_kwh_per_run),
            "before_kwh_per_run_ci": self.before_kwh_per_run.as_list()
            if self.before_kwh_per_run
            else None,
            "after_kwh_per_run": value(self.after_kwh_per_run),
            "after_kwh_per_run_ci": self.after_kwh_per_run.as_list()
            if self.after_kwh_per_run
            else None,
            "saving_kwh_per_run": value(self.saving_kwh_per_run),
            "ci": self.saving_kwh_per_run.as_list() if self.saving_kwh_per_run else None,
            "saving_kwh_per_year": value(self.saving_kwh_per_year),
            "saving_kwh_per_year_ci": self.saving_kwh_per_year.as_list()
            if self.saving_kwh_per_year
            else None,
            "runs_per_month": self.runs_per_month,
            "followed_recommendation": self.followed_recommendation,
            "confidence": self.confidence,
            "confidence_text": self.confidence_text,
            "runs_in_period": self.runs_in_period,
            "saving_kwh_in_period": value(self.saving_kwh_in_period),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Advice:
    """Everything ``zuinig advise`` shows.

    Attributes:
        recommendations: ranked, largest expected yearly saving first; ``bench``
            suggestions (no saving known yet) last.
        realised: savings jobs realised by changing configuration.
        notes: jobs that could not be advised, and why.
        storage_method: the storage model in words.
    """

    recommendations: list[Recommendation]
    realised: list[Realised]
    notes: list[str] = field(default_factory=list)
    storage_method: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommendations": [r.to_dict() for r in self.recommendations],
            "realised": [r.to_dict() for r in self.realised],
            "notes": list(self.notes),
            "storage_method": self.storage_method,
        }


def tie_sentence(labels: Sequence[str]) -> str:
    """Configurations with no clear difference between them, named together."""
    return f"{' or '.join(labels)}: no clear difference between them; pick the one your team knows"
