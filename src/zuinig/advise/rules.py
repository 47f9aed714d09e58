"""From the ledger to decisions: each job's configuration against the best measured one.

Two steps, kept apart so the rules can be tested on handmade records:

1. :func:`gather` reads what the rules need from a ledger into :class:`Records` (runs,
   conversion runs, bench sessions with their trials and trial runs);
2. :func:`recommend` and :func:`realised` are pure functions over those records.

:func:`advise` and :func:`realised_savings` do both; the CLI and the monthly report call
them and only format what they return.

**Recommendations are derived, not stored.** A recommendation is a function of the
ledger (the job's runs and the bench sessions), with fixed bootstrap seeds, so the same
ledger always gives the same advice, and a newer benchmark improves it at once. The
realised saving needs no stored recommendation either: "before" and "after" are defined
by the job's own runs, at the moment its observed configuration (input formats, engine)
changed, which the ledger records as it happens, whoever made the change and whenever
``advise`` was run. Whether the new configuration is the one the benchmark recommends
is derived too (``followed_recommendation``). Storing recommendations (a ``0003``
migration) would add a lifecycle (open, accepted, dismissed) that nothing uses yet, and
a stored row could disagree with the evidence it came from; it can be added when the
report needs "recommendations open since".

What is compared (SCI's baseline rule, ISO/IEC 21031): energy per run (the functional
unit) of runs measured with the same method (CPU method, TDP, tracking mode). Runs of a
job with another method than its latest run are set aside, and a before/after pair with
no common method is refused, with the reason in words.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import numpy as np

from zuinig.advise import savings
from zuinig.advise.savings import Range
from zuinig.advise.storage import StorageModel, scaled_size_bytes
from zuinig.bench import stats
from zuinig.bench.results import CORRECT_NO, NOT_CHECKED
from zuinig.config import Settings
from zuinig.ledger.model import (
    KIND_COMMAND,
    KIND_CONVERT,
    KIND_FUNCTION,
    PHASE_MEASURED,
    PHASE_PREPARE,
    PHASE_WARMUP,
    STATUS_OK,
    TRIAL_OK,
    TRIAL_WRONG,
    BenchSession,
    BenchTrial,
    Run,
    RunBrief,
    RunFilter,
)
from zuinig.meter.base import InputFile
from zuinig.units import format_energy, format_number

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger

__all__ = [
    "Advice",
    "BenchEvidence",
    "Evidence",
    "Realised",
    "Recommendation",
    "Records",
    "Step",
    "advise",
    "gather",
    "realised",
    "realised_savings",
    "recommend",
    "tie_sentence",
]

#: Engines the benchmark knows, in the order a job that loaded several is taken to use
#: them: pandas comes last because many scripts that compute in another engine also
#: import it (for ``.to_pandas()`` or ``.df()`` at the end).
BENCH_ENGINES = ("duckdb", "polars", "pandas")
#: Modes assumed for a job's engine: the meter sees the engine, not how it was called.
ASSUMED_MODES: Mapping[str, tuple[str, ...]] = {
    "pandas": ("default", "pyarrow"),
    "polars": ("eager", "lazy", "streaming"),
    "duckdb": ("default",),
}
#: Bench formats for each format the meter names, the first assumed when the codec is
#: not known (pandas' and pyarrow's default Parquet codec is Snappy).
FORMAT_FAMILIES: Mapping[str, tuple[str, ...]] = {
    "csv": ("csv",),
    "csv.gz": ("csv.gz",),
    "parquet": ("parquet-snappy", "parquet-zstd", "parquet-none"),
    "arrow": ("arrow-lz4", "arrow-zstd"),
}
#: A moved file is recognised by its name and a size within this share of the
#: benchmark's copy in the same format (the benchmark rewrites it, so sizes differ a bit).
MOVED_SIZE_TOLERANCE = 0.25
#: Another workload counts as comparable when its data in the job's format is within
#: this factor of the job's file size.
SIMILAR_SIZE_FACTOR = 2.0
#: Peak memory above this share of the machine's memory makes streaming worth advising.
STREAMING_MEMORY_SHARE = 0.5
#: A codec is advised when it stores the data at least this much smaller.
CODEC_MIN_SAVING_SHARE = 0.10

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
#: Every bench format in one fixed order (each family's default codec first): the last
#: way to choose between tied configurations, so that the choice is the same every time.
_FORMAT_ORDER = tuple(f for family in FORMAT_FAMILIES.values() for f in family)

_STARTED_AT = operator.attrgetter("started_at")
_RUN_ID = operator.attrgetter("run_id")
_INPUTS = operator.attrgetter("inputs")
_ENGINES = operator.attrgetter("engines")
_PROCESS = operator.attrgetter("host", "pid", "pid_started_at")
#: savings.method_key as one C call per run (jobs may have hundreds of thousands).
_METHOD_KEY = operator.attrgetter(*savings.METHOD_KEY_FIELDS)
#: A job's run as the rules read it: a full record, or the brief one :func:`gather` reads.
AdvisedRun = Run | RunBrief

_JOB_FUNCTION = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.([A-Za-z_]\w*)$")


# -- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchEvidence:
    """A bench session with what the rules read from it.

    Attributes:
        session: the session.
        trials: its trials.
        runs: its trial runs by run id (the energies).
    """

    session: BenchSession
    trials: tuple[BenchTrial, ...]
    runs: Mapping[str, Run]


@dataclass(frozen=True)
class Records:
    """What advice is made from.

    Attributes:
        runs: the jobs' runs: ``ok``, top-level, kind function or command (as
            :class:`RunBrief` from :func:`gather`: the fields the rules read).
        conversions: ``ok`` runs of kind convert (their input is the converted file).
        benches: finished bench sessions with results, newest first.
        window_start: the start of the window runs were read from (``--since``), or
            ``None`` for all.
        decimal_columns: per Parquet or Arrow input file, its decimal columns (read
            from the file's schema by :func:`gather`; absent when unreadable).
    """

    runs: tuple[Run | RunBrief, ...]
    conversions: tuple[Run | RunBrief, ...] = ()
    benches: tuple[BenchEvidence, ...] = ()
    window_start: datetime | None = None
    decimal_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def gather(
    ledger: Ledger,
    *,
    job: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    tags: Mapping[str, str] | None = None,
) -> Records:
    """Read the runs and bench sessions advice needs.

    The jobs' runs are read as :class:`RunBrief` (only the fields the rules use), so
    that a ledger of millions of runs is read in seconds.

    Args:
        ledger: the ledger.
        job: only this job's runs.
        since, until: only runs that started in ``[since, until)`` (UTC).
        tags: only runs with every one of these tag values.
    """
    job_runs = tuple(
        ledger.list_run_briefs(
            RunFilter(
                job=job,
                tags=dict(tags or {}),
                since=since,
                until=until,
                status=STATUS_OK,
                top_level_only=True,
                kind=(KIND_FUNCTION, KIND_COMMAND),
            )
        )
    )
    conversions = ledger.list_run_briefs(RunFilter(status=STATUS_OK, kind=KIND_CONVERT))
    benches = []
    for session in ledger.list_bench_sessions():
        if not session.results:
            continue
        trials = ledger.list_bench_trials(session.session_id)
        trial_runs = ledger.list_runs(RunFilter(tags={"session": session.session_id}))
        benches.append(
            BenchEvidence(session, tuple(trials), {run.run_id: run for run in trial_runs})
        )
    return Records(
        runs=job_runs,
        conversions=tuple(conversions),
        benches=tuple(benches),
        window_start=since,
        decimal_columns=_decimal_columns(
            {
                f.path: f.format
                # oldest to newest by each list's latest use: a later run's format wins
                for inputs in reversed(_distinct_inputs(reversed(job_runs)))
                for f in _data_inputs(inputs)
            }
        ),
    )


def _decimal_columns(files: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The decimal columns of each Parquet or Arrow file that can still be read.

    Only the schema is read (the file footer), so this stays cheap for large files.
    """
    import pyarrow as pa  # a dependency; imported here so advice without files skips it
    import pyarrow.parquet as pq

    found: dict[str, tuple[str, ...]] = {}
    for path, fmt in files.items():
        if fmt not in ("parquet", "arrow"):
            continue
        try:
            if fmt == "parquet":
                schema = pq.read_schema(path)
            else:
                with pa.memory_map(path) as source:
                    schema = pa.ipc.open_file(source).schema
        except (OSError, ValueError, pa.ArrowException):
            continue  # moved, deleted or not what its name says: no evidence either way
        found[path] = tuple(f.name for f in schema if pa.types.is_decimal(f.type))
    return found


# -- results -------------------------------------------------------------------------------


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


# -- entry points --------------------------------------------------------------------------


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


# -- the rules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """A job as the ledger shows it: its configuration now, frequency and energy."""

    job: str
    runs: tuple[AdvisedRun, ...]  # same configuration and method as its latest run
    all_runs: tuple[AdvisedRun, ...]
    formats: tuple[str, ...]
    engine: str | None
    engines_seen: tuple[str, ...]
    files: tuple[InputFile, ...]
    energy: stats.Estimate
    runs_per_month: float
    window_days: float
    intensity_g_per_kwh: float | None
    notes: tuple[str, ...]

    @functools.cached_property
    def cold(self) -> bool:
        """Whether most of its runs were the first of the job in their process (only
        read when a benchmark is there to compare with)."""
        firsts = _first_in_process(self.all_runs)
        called_first = sum(map(firsts.__contains__, map(_RUN_ID, self.runs)))
        return bool(self.runs) and 2 * called_first > len(self.runs)

    @property
    def label(self) -> str:
        return _config_label(self.formats, self.engine)

    @property
    def main_file(self) -> InputFile | None:
        return max(self.files, key=lambda f: f.size_bytes) if self.files else None


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
    for job, runs in _by_job(records.runs).items():
        profile = _profile(job, runs, records.window_start, now)
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
    for job, runs in _by_job(records.runs).items():
        item = _realised_for_job(job, runs, records, now, period)
        if item is not None:
            found.append(item)
    found.sort(key=lambda r: -(r.saving_kwh_per_year.value if r.saving_kwh_per_year else 0.0))
    return found


def _by_job(runs: Iterable[AdvisedRun]) -> dict[str, list[AdvisedRun]]:
    kept = [
        run
        for run in runs
        if run.status == STATUS_OK and run.energy_kwh and run.parent_run_id is None
    ]
    kept.sort(key=_STARTED_AT)  # stable: runs that started together keep their order
    jobs: dict[str, list[AdvisedRun]] = {}
    for run in kept:
        jobs.setdefault(run.job, []).append(run)
    return jobs


def _data_inputs(inputs: Iterable[InputFile]) -> tuple[InputFile, ...]:
    return tuple(f for f in inputs if f.format.split(".")[0] in _DATA_FORMATS and f.size_bytes >= 0)


def _distinct_inputs(runs: Iterable[AdvisedRun]) -> list[tuple[InputFile, ...]]:
    """Each distinct input list of ``runs`` once, in order of first appearance (runs
    read from the ledger share one tuple per list, so this is cheap)."""
    return list({id(inputs): inputs for inputs in map(_INPUTS, runs)}.values())


_DATA_FORMATS = frozenset({"csv", "tsv", "parquet", "arrow", "json", "jsonl", "orc", "avro"})


def _engines(engines: Mapping[str, str]) -> tuple[str, ...]:
    """The bench engines a run loaded, in the order it is taken to use them."""
    return tuple(e for e in BENCH_ENGINES if e in engines)


def _configurations(runs: Sequence[AdvisedRun]) -> list[tuple[tuple[str, ...], str | None]]:
    """Each run's configuration: its data formats and the engine it is taken to use,
    worked out once per distinct inputs and engines object (runs read from the ledger
    share them), not once per run."""
    # ``runs`` holds the objects, so their ids cannot be reused meanwhile.
    formats = {
        id(inputs): tuple(sorted({f.format for f in _data_inputs(inputs)}))
        for inputs in _distinct_inputs(runs)
    }
    engine = {}
    for engines in {id(engines): engines for engines in map(_ENGINES, runs)}.values():
        names = _engines(engines)
        engine[id(engines)] = names[0] if names else None
    return list(
        zip(
            map(formats.__getitem__, map(id, map(_INPUTS, runs))),
            map(engine.__getitem__, map(id, map(_ENGINES, runs))),
            strict=True,
        )
    )


def _config_label(formats: Sequence[str], engine: str | None) -> str:
    return f"{'+'.join(formats) or 'no data file'} + {engine or 'no known engine'}"


def _profile(
    job: str, runs: Sequence[AdvisedRun], since: datetime | None, now: datetime
) -> _Profile | None:
    if not runs:
        return None
    latest = runs[-1]
    configs = _configurations(runs)
    config = configs[-1]
    key = savings.method_key(latest)
    # Only the runs since the latest change of configuration describe the job now.
    unchanged = len(configs)
    while unchanged > 0 and configs[unchanged - 1] == config:
        unchanged -= 1
    same = list(runs[unchanged:])
    notes: list[str] = []
    comparable = _measured_as(same, key)
    if len(comparable) < len(same):
        notes.append(
            f"{len(same) - len(comparable)} run(s) measured another way than the latest "
            f"({savings.describe_method_key(key)}) were set aside"
        )
    energy = savings.median_interval([r.energy_kwh for r in comparable if r.energy_kwh])
    lows = [r.energy_kwh_low for r in comparable if r.energy_kwh_low is not None]
    highs = [r.energy_kwh_high for r in comparable if r.energy_kwh_high is not None]
    if lows and len(lows) == len(highs) == len(comparable):
        energy = savings.with_model_range(energy, lows, highs)
        notes.append("energy per run includes the model's range, not only run-to-run spread")
    elif lows:
        notes.append(
            f"{len(comparable) - len(lows)} run(s) without a range: the interval shows "
            "run-to-run spread only"
        )
    start = since or runs[0].started_at
    per_month, days = savings.runs_per_month(len(runs), start, now)
    if days <= savings.MIN_WINDOW_DAYS:
        notes.append(
            f"{len(runs)} runs seen within a day: runs per month extrapolated from a "
            f"{savings.MIN_WINDOW_DAYS:g}-day window"
        )
    engines_seen = _engines(latest.engines)
    if len(engines_seen) > 1:
        notes.append(
            f"the job loaded {', '.join(engines_seen)}; taken to compute in {engines_seen[0]}"
        )
    files: dict[str, InputFile] = {}
    for item in _data_inputs(latest.inputs):
        files[item.path] = item
    intensities = [r.intensity_g_per_kwh for r in comparable if r.intensity_g_per_kwh]
    return _Profile(
        job=job,
        runs=tuple(comparable),
        all_runs=tuple(runs),
        formats=config[0],
        engine=config[1],
        engines_seen=engines_seen,
        files=tuple(files.values()),
        energy=energy,
        runs_per_month=per_month,
        window_days=days,
        intensity_g_per_kwh=_upper_median(intensities) if intensities else None,
        notes=tuple(notes),
    )


def _measured_as(runs: Sequence[AdvisedRun], key: tuple[Any, ...]) -> list[AdvisedRun]:
    """The runs whose :func:`zuinig.advise.savings.method_key` is ``key``."""
    return [run for run, its in zip(runs, map(_METHOD_KEY, runs), strict=True) if its == key]


def _upper_median(values: Sequence[float]) -> float:
    """The value at index ``n // 2`` of the sorted values (a partial sort: jobs may have
    hundreds of thousands of runs)."""
    middle = len(values) // 2
    return float(np.partition(np.asarray(values, dtype=float), middle)[middle])


def _first_in_process(runs: Sequence[AdvisedRun]) -> set[str]:
    """Run ids of the runs that were the first of this job in their process.

    A job started as a script pays its engine's first-call costs (a database opened,
    thread pools started) in every run; one called many times in a long-lived process
    pays them once. Runs without a process id count as neither.
    """
    # dict() keeps the last value given for a key: fed newest first, that is the oldest.
    first = dict(zip(map(_PROCESS, reversed(runs)), map(_RUN_ID, reversed(runs)), strict=True))
    return {run_id for (_, pid, _), run_id in first.items() if pid is not None}


def _calls_text(phase: str) -> str:
    if phase == PHASE_WARMUP:
        return (
            "first call in a fresh process (the benchmark's warm-up trials), as the job "
            "runs once per process"
        )
    return "repeated calls in one process (the benchmark's measured trials)"


# -- the benchmark side --------------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    format: str
    engine: str
    mode: str
    threads: int

    @property
    def label(self) -> str:
        return f"{self.format} + {self.engine}/{self.mode} x{self.threads}"


@dataclass(frozen=True)
class _BenchView:
    """A session's energies per configuration, summed over its queries per repetition."""

    evidence: BenchEvidence
    match: str
    energies: Mapping[_Config, tuple[float, ...]]
    storage_bytes: Mapping[str, int]
    prepare_kwh: Mapping[str, float]
    phase: str = PHASE_MEASURED
    unchecked: frozenset[_Config] = frozenset()

    @property
    def session(self) -> BenchSession:
        return self.evidence.session

    def method_text(self) -> str:
        words = self.session.method.get("in_words")
        return str(words) if words else "method not recorded"

    def method_key(self) -> tuple[Any, ...]:
        method = self.session.method
        return (
            method.get("cpu_method"),
            method.get("cpu_tdp_w"),
            method.get("tracking_mode"),
            method.get("attribution"),
        )


def _view(evidence: BenchEvidence, match: str, phase: str = PHASE_MEASURED) -> _BenchView:
    session = evidence.session
    queries = list(session.config.get("queries") or [])
    wrong = {
        (t.format, t.engine, t.mode, t.threads)
        for t in evidence.trials
        if t.status == TRIAL_WRONG or t.correct is False
    }
    unchecked: set[tuple[Any, ...]] = set()
    for row in session.results or ():
        key = (row.get("format"), row.get("engine"), row.get("mode"), row.get("threads"))
        # The bench writes "yes" / "no" / "not checked"; sessions stored before that
        # hold True / False / None.
        verdict = row.get("correct")
        if verdict in (False, CORRECT_NO) or row.get("status") == TRIAL_WRONG:
            wrong.add(key)
        elif verdict is None or verdict == NOT_CHECKED:
            # Not a disqualification: nothing contradicted it. But nothing confirmed
            # it either, so advice resting on it says so (see _caveats).
            unchecked.add(key)
    per_repetition: dict[_Config, dict[int, dict[str, float]]] = {}
    storage: dict[str, int] = {}
    prepare: dict[str, float] = {}
    for trial in evidence.trials:
        if trial.storage_bytes and trial.format:
            storage.setdefault(trial.format, trial.storage_bytes)
        run = evidence.runs.get(trial.run_id or "")
        if trial.phase == PHASE_PREPARE and trial.status == TRIAL_OK and trial.format:
            # A reused preparation measured finding files, not writing them.
            if run is not None and run.energy_kwh and not (trial.reason or "").startswith("reused"):
                prepare[trial.format] = run.energy_kwh
            continue
        if (
            trial.phase != phase
            or trial.status != TRIAL_OK
            or run is None
            or not run.energy_kwh
            or not (trial.format and trial.engine and trial.mode and trial.threads)
            or (trial.format, trial.engine, trial.mode, trial.threads) in wrong
        ):
            continue
        config = _Config(trial.format, trial.engine, trial.mode, trial.threads)
        repetition = trial.repetition if trial.repetition is not None else 0
        per_repetition.setdefault(config, {}).setdefault(repetition, {})[trial.query or ""] = (
            run.energy_kwh
        )
    for row in session.results or ():
        if row.get("storage_bytes") and row.get("format"):
            storage.setdefault(str(row["format"]), int(row["storage_bytes"]))
    energies = {
        config: tuple(
            sum(found.values())
            for _, found in sorted(reps.items())
            if not queries or set(found) >= set(queries)
        )
        for config, reps in per_repetition.items()
    }
    return _BenchView(
        evidence,
        match,
        {c: e for c, e in energies.items() if e},
        storage,
        prepare,
        phase,
        frozenset(c for c in energies if (c.format, c.engine, c.mode, c.threads) in unchecked),
    )


def _find_bench(profile: _Profile, benches: Sequence[BenchEvidence]) -> _BenchView | None:
    main = profile.main_file
    if main is None:
        return None
    fmt = main.format
    family = FORMAT_FAMILIES.get(fmt, (fmt,))
    best: tuple[int, _BenchView] | None = None
    for evidence in benches:  # newest first: the first of a rank wins
        session = evidence.session
        data = session.config.get("data")
        rank: int | None = None
        match = ""
        if session.workload == "user" and data:
            if _same_path(str(data), main.path):
                rank, match = 0, MATCH_SAME_FILE
            elif PurePath(str(data)).name == PurePath(main.path).name:
                view = _view(evidence, MATCH_MOVED)
                size = next(
                    (view.storage_bytes[f] for f in family if f in view.storage_bytes), None
                )
                if size and abs(size - main.size_bytes) <= MOVED_SIZE_TOLERANCE * main.size_bytes:
                    rank, match = 1, MATCH_MOVED
        elif session.workload != "user":
            view = _view(evidence, MATCH_SIMILAR)
            size = next((view.storage_bytes[f] for f in family if f in view.storage_bytes), None)
            if size and 1 / SIMILAR_SIZE_FACTOR <= main.size_bytes / size <= SIMILAR_SIZE_FACTOR:
                rank, match = 2, MATCH_SIMILAR
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, _view(evidence, match))
    if best is None:
        return None
    view = best[1]
    if profile.cold:
        cold = _view(view.evidence, view.match, PHASE_WARMUP)
        if cold.energies:
            return cold
    return view


def _find_bench_of_earlier_files(
    profile: _Profile, benches: Sequence[BenchEvidence]
) -> _BenchView | None:
    """A benchmark on a file the job read before (the CSV it was converted from).

    After a job follows a format recommendation it reads a new file that no benchmark
    has seen; the benchmark of its old file measured the new format on the same data.
    """
    if not benches:
        return None
    current = {f.path for f in profile.files}
    earlier: dict[str, InputFile] = {}
    for inputs in _distinct_inputs(reversed(profile.all_runs)):
        for item in _data_inputs(inputs):
            if item.path not in current:
                earlier.setdefault(item.path, item)
    for item in earlier.values():
        view = _find_bench(dataclasses.replace(profile, files=(item,)), benches)
        if view is not None and view.match != MATCH_SIMILAR:
            return dataclasses.replace(view, match=f"the job's earlier file {item.path}")
    return None


def _same_path(bench_data: str, job_path: str) -> bool:
    """Whether the bench's ``--data`` names the job's file. The session stores ``--data``
    as given, possibly relative to wherever ``zuinig bench`` ran; the meter records
    absolute paths, so a relative one matches as a trailing part of the path."""
    data = PurePath(bench_data)
    if data.is_absolute():
        return data == PurePath(job_path)
    parts = [p for p in data.parts if p != "."]
    return bool(parts) and PurePath(job_path).parts[-len(parts) :] == tuple(parts)


def _current_config(profile: _Profile, view: _BenchView) -> tuple[_Config | None, list[str]]:
    main = profile.main_file
    if main is None or profile.engine is None:
        return None, []
    family = FORMAT_FAMILIES.get(main.format, (main.format,))
    modes = ASSUMED_MODES.get(profile.engine, ("default",))
    candidates = [c for c in view.energies if c.format in family and c.engine == profile.engine]
    if not candidates:
        return None, []
    most_threads = max(c.threads for c in candidates)
    candidates.sort(
        key=lambda c: (
            c.threads != most_threads,  # engines use every core unless told otherwise
            family.index(c.format),
            modes.index(c.mode) if c.mode in modes else len(modes),
        )
    )
    chosen = candidates[0]
    # The meter sees neither the Parquet codec nor the engine's mode. The guess only
    # weakens the advice when the benchmark measured alternatives that could be meant.
    alternatives = [c for c in candidates if c.threads == chosen.threads and c != chosen]
    assumptions = []
    if any(c.format != chosen.format for c in alternatives):
        assumptions.append(
            f"the job's {main.format} codec is not observed; taken as {chosen.format}"
        )
    if any(c.mode != chosen.mode for c in alternatives):
        assumptions.append(
            f"the job's {profile.engine} mode is not observed; taken as {chosen.mode}"
        )
    return chosen, assumptions


def _bench_command(profile: _Profile, file: InputFile) -> tuple[str, str]:
    found = _JOB_FUNCTION.match(profile.job)
    target = f"{found.group(1)}:{found.group(2)}" if found else "<module:function>"
    command = f"zuinig bench --data {shlex.quote(file.path)} --job {target}"
    if found:
        sentence = (
            f"No benchmark on {PurePath(file.path).name} yet: run {command} (it calls "
            f"{target}(engine_name, path) for every format and engine)"
        )
    else:
        sentence = (
            f"No benchmark on {PurePath(file.path).name} yet: run {command}, with in place of "
            "<module:function> a function of yours that takes (engine_name, path) and does "
            "this job's work with that engine on that file"
        )
    return command, sentence


def _advise_job(
    profile: _Profile, records: Records, settings: Settings, model: StorageModel
) -> list[Recommendation]:
    found = _advise_against_bench(profile, records, settings, model)
    # The dtype trap needs no benchmark: the file's schema is the evidence.
    found.extend(_dtype_advice(profile, records, _base(profile)))
    return found


def _base(profile: _Profile) -> dict[str, Any]:
    """The fields every recommendation for ``profile`` shares."""
    return {
        "job": profile.job,
        "current": profile.label,
        "files": profile.files,
        "energy_kwh_per_run": Range.of(profile.energy),
        "runs_per_month": profile.runs_per_month,
        "window_days": profile.window_days,
    }


def _advise_against_bench(
    profile: _Profile, records: Records, settings: Settings, model: StorageModel
) -> list[Recommendation]:
    main = profile.main_file
    assert main is not None
    base = _base(profile)
    view = _find_bench(profile, records.benches) or _find_bench_of_earlier_files(
        profile, records.benches
    )
    if view is None:
        command, sentence = _bench_command(profile, main)
        return [
            Recommendation(
                **base,
                kind=KIND_RUN_BENCH,
                recommended=None,
                text=sentence,
                command=command,
                notes=profile.notes,
            )
        ]
    current, assumptions = _current_config(profile, view)
    if current is None:
        command, _ = _bench_command(profile, main)
        family = FORMAT_FAMILIES.get(main.format, (main.format,))[0]
        command += f" --formats {family},parquet-zstd --engines {profile.engine or 'pandas'},duckdb"
        return [
            Recommendation(
                **base,
                kind=KIND_RUN_BENCH,
                recommended=None,
                text=(
                    f"bench session {view.session.session_id[:8]} did not measure what the job "
                    f"uses now ({profile.label}), so nothing can be compared: run {command}"
                ),
                command=command,
                notes=profile.notes,
            )
        ]
    found = [
        _configuration_advice(profile, view, current, assumptions, records, settings, model, base)
    ]
    found.extend(_threads_advice(profile, view, current, settings, base))
    found.extend(_codec_advice(profile, view, found[0], model, base))
    found.extend(_streaming_advice(profile, view, base))
    return [r for r in found if r is not None]


def _caveats(
    profile: _Profile, view: _BenchView, assumptions: Sequence[str], recommended: _Config
) -> list[str]:
    caveats = list(assumptions)
    if recommended in view.unchecked:
        caveats.append(
            f"the benchmark did not check {recommended.label}'s answers against another "
            "engine's, so it is not known to compute the same result"
        )
    if view.match == MATCH_SIMILAR:
        caveats.append(f"measured on {MATCH_SIMILAR}, not on the job's file")
    job_key = savings.method_key(profile.runs[-1])
    if view.method_key() != job_key:
        caveats.append(
            "the benchmark was measured another way ("
            f"{savings.describe_method_key(view.method_key())}) than the job "
            f"({savings.describe_method_key(job_key)}); its ratio is applied, not its energies"
        )
    if profile.energy.n < 2:
        caveats.append("the job has a single measured run")
    return caveats


def _yearly(
    per_run: Range, profile: _Profile, settings: Settings
) -> tuple[Range, Range, Range | None, Range | None]:
    per_month = per_run.scaled(profile.runs_per_month)
    per_year = per_month.scaled(savings.MONTHS_PER_YEAR)
    co2 = (
        per_year.scaled(profile.intensity_g_per_kwh / 1000) if profile.intensity_g_per_kwh else None
    )
    eur = per_year.scaled(settings.price_eur_per_kwh) if settings.price_eur_per_kwh else None
    return per_month, per_year, co2, eur


def _configuration_advice(
    profile: _Profile,
    view: _BenchView,
    current: _Config,
    assumptions: Sequence[str],
    records: Records,
    settings: Settings,
    model: StorageModel,
    base: Mapping[str, Any],
) -> Recommendation | None:
    main = profile.main_file
    assert main is not None
    ratios = _ratios_against(view, current)
    group = _tied_with_best(list(view.energies), ratios)
    best = _representative(group, current)
    if best == current:
        return None  # the job's own configuration is as good as any measured
    tied = tuple(c for c in _by_change(group, current) if c != best)
    found = {
        config: _step(profile, view, current, config, ratios, assumptions, records, settings, model)
        for config in _ladder(view, current, ratios, best)
    }
    top = dataclasses.replace(found[best], tied_with=tuple(c.label for c in tied))
    steps = tuple(
        top if config == best else step
        for config, step in found.items()
        if _clearly_less(ratios[config])  # a step is shown only when it saves clearly
    )
    notes = [*profile.notes]
    if top.storage_saved_bytes is not None:
        notes.append(
            f"storage at rest: {model.describe()}; saved only once the old "
            f"{main.format} file is removed (convert never deletes it)"
        )
    ratio = top.ratio
    evidence = Evidence(
        session_id=view.session.session_id,
        data=str(view.session.config.get("data") or view.session.label or view.session.workload),
        match=view.match,
        repeats=(len(view.energies[best]), len(view.energies[current])),
        method=view.method_text(),
        ratio=ratio,
        ratio_text=top.ratio_text,
        calls=_calls_text(view.phase),
    )
    per_year = top.saving_kwh_per_year
    text = (
        f"switch from {profile.label} ({current.label} in the benchmark) to {best.label}: "
        f"{top.ratio_text}; expected saving "
        f"{format_energy(per_year.value)} per year ({format_energy(per_year.low)} to "
        f"{format_energy(per_year.high)})"
    )
    if tied:
        text += f"; {tie_sentence([best.label, *top.tied_with])}"
    return Recommendation(
        **base,
        kind=KIND_CONFIGURATION,
        recommended=best.label,
        text=text,
        saving_kwh_per_run=top.saving_kwh_per_run,
        saving_kwh_per_month=top.saving_kwh_per_month,
        saving_kwh_per_year=per_year,
        saving_co2_kg_per_year=top.saving_co2_kg_per_year,
        saving_eur_per_year=top.saving_eur_per_year,
        storage_saved_bytes=top.storage_saved_bytes,
        storage_saving_kwh_per_year=top.storage_saving_kwh_per_year,
        conversion_kwh=top.conversion_kwh,
        conversion_method=top.conversion_method,
        payback_runs=top.payback_runs,
        payback_days=top.payback_days,
        confidence=top.confidence,
        confidence_text=top.confidence_text,
        evidence=evidence,
        notes=tuple(notes),
        steps=steps,
        tied_with=top.tied_with,
    )


def tie_sentence(labels: Sequence[str]) -> str:
    """Configurations with no clear difference between them, named together."""
    return f"{' or '.join(labels)}: no clear difference between them; pick the one your team knows"


def _ratios_against(view: _BenchView, current: _Config) -> dict[_Config, stats.Estimate]:
    """Every measured configuration's energy over the current one's (fixed seed)."""
    return {
        config: stats.ratio_ci(energies, view.energies[current])
        for config, energies in view.energies.items()
    }


def _overlaps(one: stats.Estimate, other: stats.Estimate) -> bool:
    return one.low <= other.high and other.low <= one.high


def _tied_with_best(
    pool: Sequence[_Config], ratios: Mapping[_Config, stats.Estimate]
) -> list[_Config]:
    """The configuration with the lowest median and those whose interval overlaps its
    interval: no clear difference between them, so none is named the winner."""
    best = min(pool, key=lambda c: (ratios[c].value, c.label))
    return [c for c in pool if _overlaps(ratios[c], ratios[best])]


def _change_key(config: _Config, current: _Config) -> tuple[Any, ...]:
    """How big a change ``config`` is from ``current``: engine first, then format, mode,
    threads; then a fixed order (formats as :data:`FORMAT_FAMILIES` lists them, default
    codec first; then the label), so that the choice never depends on noise."""
    order = _FORMAT_ORDER.index(config.format) if config.format in _FORMAT_ORDER else None
    return (
        config.engine != current.engine,
        config.format != current.format,
        config.mode != current.mode,
        config.threads != current.threads,
        order is None,
        order or 0,
        config.label,
    )


def _by_change(configs: Iterable[_Config], current: _Config) -> list[_Config]:
    return sorted(configs, key=lambda c: _change_key(c, current))


def _representative(group: Sequence[_Config], current: _Config) -> _Config:
    """The one of tied configurations to advise: the smallest change from the job's
    (its own configuration when that is among them). Not the lowest median: between
    tied configurations that is noise, and the advice would flip from bench to bench."""
    return _by_change(group, current)[0]


def _ladder(
    view: _BenchView,
    current: _Config,
    ratios: Mapping[_Config, stats.Estimate],
    best: _Config,
) -> list[_Config]:
    """The steps towards ``best``, cheapest first: the best change that keeps the
    job's engine (other format or codec, mode or threads: "same code, one line") when
    it saves clearly, then ``best`` itself when it takes another engine."""
    steps: list[_Config] = []
    if best.engine != current.engine:
        same_engine = [
            c
            for c in view.energies
            if c != current and c.engine == current.engine and _clearly_less(ratios[c])
        ]
        if same_engine:
            steps.append(_representative(_tied_with_best(same_engine, ratios), current))
    steps.append(best)
    return steps


def _clearly_less(ratio: stats.Estimate) -> bool:
    return ratio.has_interval and ratio.high < 1.0


#: How engines are named to people.
_ENGINE_NAMES: Mapping[str, str] = {"pandas": "pandas", "polars": "Polars", "duckdb": "DuckDB"}


def _effort(config: _Config, current: _Config) -> tuple[str, str]:
    """The effort a change asks, as a word and in words."""
    if config.engine != current.engine:
        name = _ENGINE_NAMES.get(config.engine, config.engine)
        mode = f" ({config.mode})" if config.mode != "default" else ""
        return EFFORT_REWRITE, f"rewrite in {name}{mode}"
    if config.format != current.format:
        return EFFORT_ONE_LINE, (
            f"same code, one line: read {config.format} instead of {current.format} "
            "(convert the file once with zuinig convert)"
        )
    changes = []
    if config.mode != current.mode:
        changes.append(f"mode {config.mode}")
    if config.threads != current.threads:
        changes.append(f"{config.threads} thread(s)")
    return EFFORT_ONE_LINE, f"same code, one setting: {' and '.join(changes)}"


def _step(
    profile: _Profile,
    view: _BenchView,
    current: _Config,
    target: _Config,
    ratios: Mapping[_Config, stats.Estimate],
    assumptions: Sequence[str],
    records: Records,
    settings: Settings,
    model: StorageModel,
) -> Step:
    """The savings of changing from ``current`` to ``target``, with their intervals."""
    main = profile.main_file
    assert main is not None
    ratio = ratios[target]
    per_run = savings.saving_per_run(profile.energy, ratio)
    per_month, per_year, co2, eur = _yearly(per_run, profile, settings)
    storage_saved: float | None = None
    storage_kwh: float | None = None
    cur_bytes = view.storage_bytes.get(current.format)
    new_bytes = view.storage_bytes.get(target.format)
    converts = target.format != current.format
    if converts and cur_bytes and new_bytes:
        storage_saved = main.size_bytes - scaled_size_bytes(main.size_bytes, cur_bytes, new_bytes)
        storage_kwh = model.kwh_per_year(storage_saved)
    conversion_kwh, conversion_method = _conversion(main, target, view, cur_bytes, records)
    if not converts:
        conversion_kwh, conversion_method = 0.0, "no conversion: the format stays"
    runs, days = savings.payback(
        conversion_kwh, per_run.value, per_year.value + (storage_kwh or 0.0)
    )
    confidence, confidence_text = savings.confidence_of(
        per_run, _caveats(profile, view, assumptions, target)
    )
    effort, effort_text = _effort(target, current)
    return Step(
        configuration=target.label,
        effort=effort,
        effort_text=effort_text,
        ratio=Range.of(ratio),
        ratio_text=stats.describe_ratio(ratio, current.label),
        saving_kwh_per_run=per_run,
        saving_kwh_per_month=per_month,
        saving_kwh_per_year=per_year,
        saving_co2_kg_per_year=co2,
        saving_eur_per_year=eur,
        storage_saved_bytes=storage_saved,
        storage_saving_kwh_per_year=storage_kwh,
        conversion_kwh=conversion_kwh,
        conversion_method=conversion_method,
        payback_runs=runs,
        payback_days=days,
        confidence=confidence,
        confidence_text=confidence_text,
    )


def _conversion(
    main: InputFile,
    target: _Config,
    view: _BenchView,
    bench_current_bytes: int | None,
    records: Records,
) -> tuple[float | None, str]:
    converted = [
        r
        for r in records.conversions
        if r.energy_kwh and any(f.path == main.path for f in r.inputs)
    ]
    if converted:
        run = max(converted, key=lambda r: r.started_at)
        return run.energy_kwh, f"measured: zuinig convert run {run.run_id[:8]} of this file"
    prepared = view.prepare_kwh.get(target.format)
    if prepared is None or not bench_current_bytes:
        return None, (
            "unknown: no convert run of this file and no measured preparation of "
            f"{target.format} in the benchmark"
        )
    factor = main.size_bytes / bench_current_bytes
    return prepared * factor, (
        f"estimated: the benchmark's preparation of {target.format} "
        f"({format_energy(prepared)}) scaled by file size (x{format_number(factor)}); it "
        "wrote from a cached Parquet copy, so reading a CSV source costs more"
    )


def _threads_advice(
    profile: _Profile,
    view: _BenchView,
    current: _Config,
    settings: Settings,
    base: Mapping[str, Any],
) -> list[Recommendation]:
    same = [
        c
        for c in view.energies
        if (c.format, c.engine, c.mode) == (current.format, current.engine, current.mode)
    ]
    if len(same) < 2:
        return []
    best = min(same, key=lambda c: _median(view.energies[c]))
    if best == current:
        return []
    ratio = stats.ratio_ci(view.energies[best], view.energies[current])
    if not (ratio.has_interval and ratio.high < 1.0):
        return []  # only a clear difference is worth a change of settings
    per_run = savings.saving_per_run(profile.energy, ratio)
    per_month, per_year, co2, eur = _yearly(per_run, profile, settings)
    confidence, confidence_text = savings.confidence_of(per_run, _caveats(profile, view, [], best))
    return [
        Recommendation(
            **base,
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
                calls=_calls_text(view.phase),
            ),
        )
    ]


def _codec_advice(
    profile: _Profile,
    view: _BenchView,
    main_advice: Recommendation | None,
    model: StorageModel,
    base: Mapping[str, Any],
) -> list[Recommendation]:
    """Parquet zstd against snappy (and others): sizes measured by the benchmark."""
    main = profile.main_file
    assert main is not None
    target = (
        main_advice.recommended.split(" + ")[0] if main_advice and main_advice.recommended else None
    )
    if target is None and main.format in FORMAT_FAMILIES and len(FORMAT_FAMILIES[main.format]) > 1:
        target = FORMAT_FAMILIES[main.format][0]
    if target is None or not target.startswith(("parquet-", "arrow-")):
        return []
    kind = target.split("-")[0]
    sizes = {f: b for f, b in view.storage_bytes.items() if f.startswith(kind + "-")}
    if target not in sizes or len(sizes) < 2:
        return []
    smallest = min(sizes, key=lambda f: sizes[f])
    if smallest == target or sizes[smallest] > (1 - CODEC_MIN_SAVING_SHARE) * sizes[target]:
        return []
    reference = view.storage_bytes.get(FORMAT_FAMILIES.get(main.format, (main.format,))[0])
    job_bytes = scaled_size_bytes(main.size_bytes, reference, sizes[target]) if reference else None
    saved = job_bytes * (1 - sizes[smallest] / sizes[target]) if job_bytes else None
    return [
        Recommendation(
            **base,
            kind=KIND_CODEC,
            recommended=smallest,
            text=(
                f"store as {smallest} rather than {target}: the benchmark's copy was "
                f"{sizes[smallest]:,} bytes against {sizes[target]:,} "
                f"({1 - sizes[smallest] / sizes[target]:.0%} smaller)"
            ),
            storage_saved_bytes=saved,
            storage_saving_kwh_per_year=model.kwh_per_year(saved) if saved else None,
            confidence=savings.CONFIDENCE_CLEAR
            if view.match != MATCH_SIMILAR
            else savings.CONFIDENCE_INDICATIVE,
            confidence_text="sizes are measured, not sampled: no interval needed; "
            f"storage energy {model.describe()}",
            evidence=Evidence(
                session_id=view.session.session_id,
                data=str(view.session.config.get("data") or view.session.label),
                match=view.match,
                repeats=(1, 1),
                method="file sizes on disk",
            ),
        )
    ]


def _streaming_advice(
    profile: _Profile, view: _BenchView, base: Mapping[str, Any]
) -> list[Recommendation]:
    memory = view.session.machine.get("memory_bytes")
    peaks = sorted(r.peak_rss_bytes for r in profile.runs if r.peak_rss_bytes)
    if not memory or not peaks:
        return []
    peak = peaks[len(peaks) // 2]
    if peak < STREAMING_MEMORY_SHARE * float(memory):
        return []
    return [
        Recommendation(
            **base,
            kind=KIND_STREAMING,
            recommended="polars streaming or duckdb",
            text=(
                f"the job's median peak memory ({peak / 1e9:.3g} GB) is over "
                f"{STREAMING_MEMORY_SHARE:.0%} of the machine's ({float(memory) / 1e9:.3g} GB): "
                "an engine that streams (polars streaming, duckdb) keeps memory bounded "
                "and avoids swapping as the data grows"
            ),
            confidence=savings.CONFIDENCE_INDICATIVE,
            confidence_text="indicative: peak memory measured, energy effect not benchmarked",
        )
    ]


def _dtype_advice(
    profile: _Profile, records: Records, base: Mapping[str, Any]
) -> list[Recommendation]:
    """pandas turns Arrow decimals into Python ``Decimal`` objects (dtype ``object``):
    every value a heap object, every sum a Python loop. Our own check (EVIDENCE.md:
    TPC-H SF0.1 lineitem, Q1-like) cost pandas 1.20 CPU-s on Parquet with decimals left
    as they are against 0.28 after casting."""
    if profile.engine != "pandas":
        return []
    columns = sorted({c for f in profile.files for c in records.decimal_columns.get(f.path, ())})
    if not columns:
        return []
    shown = ", ".join(columns[:5]) + (f" and {len(columns) - 5} more" if len(columns) > 5 else "")
    return [
        Recommendation(
            **base,
            kind=KIND_DTYPE,
            recommended="decimal columns as float64, or dtype_backend='pyarrow'",
            text=(
                f"pandas reads the decimal column(s) {shown} as Python Decimal objects "
                "(dtype object), slow and memory-hungry: read with "
                "pd.read_parquet(path, dtype_backend='pyarrow'), or cast them to float64 "
                "(or to integer cents) where exact decimals are not needed"
            ),
            confidence=savings.CONFIDENCE_INDICATIVE,
            confidence_text=(
                "indicative: the decimal columns are read from the file's schema; the cost "
                "is from zuinig's own check (1.20 against 0.28 CPU-s on TPC-H SF0.1 "
                "lineitem), not measured on this job"
            ),
        )
    ]


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# -- realised savings ----------------------------------------------------------------------


def _realised_for_job(
    job: str,
    runs: Sequence[AdvisedRun],
    records: Records,
    now: datetime,
    period: tuple[datetime, datetime] | None,
) -> Realised | None:
    configs = _configurations(runs)
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
    after = _measured_as(after, key)
    comparable = _measured_as(before, key)
    label_before, label_after = _config_label(*previous), _config_label(*latest)
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
    profile = _profile(job, before, None, now)
    if profile is None or not profile.files:
        return None
    view = _find_bench(profile, records.benches)
    if view is None or not view.energies:
        return None
    best = min(view.energies, key=lambda c: (_median(view.energies[c]), c.label))
    current, _ = _current_config(profile, view)
    group = (
        _tied_with_best(list(view.energies), _ratios_against(view, current))
        if current is not None
        else [best]
    )
    formats, engine = after_config

    def matches(config: _Config) -> bool:
        family = {f for f, members in FORMAT_FAMILIES.items() if config.format in members}
        return (
            engine == config.engine
            and bool(formats)
            and set(formats) <= (family or {config.format})
        )

    return any(matches(config) for config in group)
