"""The benchmark side of advice: a bench session's energies per configuration, found for
a job's data, and how configurations compare.

:func:`find_bench` picks the session that measured the job's file (or the same file
moved, or other data of similar size) and returns a :class:`BenchView`: per
configuration, its energy per repetition summed over the session's queries. The ratio
helpers below turn those into "which is best, and which are tied with it".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from zuinig.advise.gather import BenchEvidence, data_inputs, distinct_inputs
from zuinig.advise.model import MATCH_MOVED, MATCH_SAME_FILE, MATCH_SIMILAR
from zuinig.advise.profile import JobProfile
from zuinig.bench import stats
from zuinig.bench.results import CORRECT_NO, NOT_CHECKED, stored_rows
from zuinig.formats import FORMAT_FAMILIES
from zuinig.ledger.model import (
    PHASE_MEASURED,
    PHASE_PREPARE,
    PHASE_WARMUP,
    TRIAL_OK,
    TRIAL_WRONG,
    BenchSession,
)
from zuinig.meter.base import InputFile

__all__ = [
    "ASSUMED_MODES",
    "MOVED_SIZE_TOLERANCE",
    "SIMILAR_SIZE_FACTOR",
    "BenchConfig",
    "BenchView",
    "bench_view",
    "by_change",
    "calls_text",
    "clearly_less",
    "current_config",
    "find_bench",
    "find_bench_of_earlier_files",
    "median",
    "ratios_against",
    "representative",
    "same_path",
    "tied_with_best",
]

#: Modes assumed for a job's engine: the meter sees the engine, not how it was called.
ASSUMED_MODES: Mapping[str, tuple[str, ...]] = {
    "pandas": ("default", "pyarrow"),
    "polars": ("eager", "lazy", "streaming"),
    "duckdb": ("default",),
}
#: A moved file is recognised by its name and a size within this share of the
#: benchmark's copy in the same format (the benchmark rewrites it, so sizes differ a bit).
MOVED_SIZE_TOLERANCE = 0.25
#: Another workload counts as comparable when its data in the job's format is within
#: this factor of the job's file size.
SIMILAR_SIZE_FACTOR = 2.0
#: Every bench format in one fixed order (each family's default codec first): the last
#: way to choose between tied configurations, so that the choice is the same every time.
_FORMAT_ORDER = tuple(f for family in FORMAT_FAMILIES.values() for f in family)


@dataclass(frozen=True)
class BenchConfig:
    """A configuration of a bench session: format, engine in a mode, thread count."""

    format: str
    engine: str
    mode: str
    threads: int

    @property
    def label(self) -> str:
        """``parquet-zstd + polars/lazy x2``."""
        return f"{self.format} + {self.engine}/{self.mode} x{self.threads}"


@dataclass(frozen=True)
class BenchView:
    """A session's energies per configuration, summed over its queries per repetition.

    Attributes:
        evidence: the session with its trials and trial runs.
        match: how its data relates to the job's (``MATCH_*`` of :mod:`zuinig.advise.model`).
        energies: per configuration, energy per repetition (kWh), its queries summed.
        storage_bytes: per format, the size of the session's copy (bytes).
        prepare_kwh: per format, the measured energy of writing it (kWh).
        phase: the trials counted: measured (repeated calls) or warm-up (first calls).
        unchecked: configurations whose answers were not checked against another engine's.
    """

    evidence: BenchEvidence
    match: str
    energies: Mapping[BenchConfig, tuple[float, ...]]
    storage_bytes: Mapping[str, int]
    prepare_kwh: Mapping[str, float]
    phase: str = PHASE_MEASURED
    unchecked: frozenset[BenchConfig] = frozenset()

    @property
    def session(self) -> BenchSession:
        """The bench session."""
        return self.evidence.session

    def method_text(self) -> str:
        """How the session measured energy, in words."""
        words = self.session.method.get("in_words")
        return str(words) if words else "method not recorded"

    def method_key(self) -> tuple[Any, ...]:
        """The session's method as :func:`zuinig.advise.savings.method_key` compares it."""
        method = self.session.method
        return (
            method.get("cpu_method"),
            method.get("cpu_tdp_w"),
            method.get("tracking_mode"),
            method.get("attribution"),
        )


def bench_view(evidence: BenchEvidence, match: str, phase: str = PHASE_MEASURED) -> BenchView:
    """The session's energies per configuration from its ``phase`` trials; a configuration
    with a wrong answer is left out."""
    session = evidence.session
    queries = list(session.config.get("queries") or [])
    wrong = {
        (t.format, t.engine, t.mode, t.threads)
        for t in evidence.trials
        if t.status == TRIAL_WRONG or t.correct is False
    }
    unchecked: set[tuple[Any, ...]] = set()
    results = stored_rows(session)
    for row in results:
        key = (row.format, row.engine, row.mode, row.threads)
        # Sessions stored before "not checked" existed hold True / False / None; the
        # row reads them as "yes" / "no" / "not checked".
        if row.correct == CORRECT_NO or row.status == TRIAL_WRONG:
            wrong.add(key)
        elif row.correct == NOT_CHECKED:
            # Not a disqualification: nothing contradicted it. But nothing confirmed
            # it either, so advice resting on it says so (see caveats).
            unchecked.add(key)
    per_repetition: dict[BenchConfig, dict[int, dict[str, float]]] = {}
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
        config = BenchConfig(trial.format, trial.engine, trial.mode, trial.threads)
        repetition = trial.repetition if trial.repetition is not None else 0
        per_repetition.setdefault(config, {}).setdefault(repetition, {})[trial.query or ""] = (
            run.energy_kwh
        )
    for row in results:
        if row.storage_bytes:
            storage.setdefault(row.format, int(row.storage_bytes))
    energies = {
        config: tuple(
            sum(found.values())
            for _, found in sorted(reps.items())
            if not queries or set(found) >= set(queries)
        )
        for config, reps in per_repetition.items()
    }
    return BenchView(
        evidence,
        match,
        {c: e for c, e in energies.items() if e},
        storage,
        prepare,
        phase,
        frozenset(c for c in energies if (c.format, c.engine, c.mode, c.threads) in unchecked),
    )


def find_bench(profile: JobProfile, benches: Sequence[BenchEvidence]) -> BenchView | None:
    """The session that measured the job's main file (or it moved, or similar data),
    newest first within a rank; its warm-up trials for a job that runs cold."""
    main = profile.main_file
    if main is None:
        return None
    fmt = main.format
    family = FORMAT_FAMILIES.get(fmt, (fmt,))
    best: tuple[int, BenchView] | None = None
    for evidence in benches:  # newest first: the first of a rank wins
        session = evidence.session
        data = session.config.get("data")
        rank: int | None = None
        match = ""
        if session.workload == "user" and data:
            if same_path(str(data), main.path):
                rank, match = 0, MATCH_SAME_FILE
            elif PurePath(str(data)).name == PurePath(main.path).name:
                view = bench_view(evidence, MATCH_MOVED)
                size = next(
                    (view.storage_bytes[f] for f in family if f in view.storage_bytes), None
                )
                if size and abs(size - main.size_bytes) <= MOVED_SIZE_TOLERANCE * main.size_bytes:
                    rank, match = 1, MATCH_MOVED
        elif session.workload != "user":
            view = bench_view(evidence, MATCH_SIMILAR)
            size = next((view.storage_bytes[f] for f in family if f in view.storage_bytes), None)
            if size and 1 / SIMILAR_SIZE_FACTOR <= main.size_bytes / size <= SIMILAR_SIZE_FACTOR:
                rank, match = 2, MATCH_SIMILAR
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, bench_view(evidence, match))
    if best is None:
        return None
    view = best[1]
    if profile.cold:
        cold = bench_view(view.evidence, view.match, PHASE_WARMUP)
        if cold.energies:
            return cold
    return view


def find_bench_of_earlier_files(
    profile: JobProfile, benches: Sequence[BenchEvidence]
) -> BenchView | None:
    """A benchmark on a file the job read before (the CSV it was converted from).

    After a job follows a format recommendation it reads a new file that no benchmark
    has seen; the benchmark of its old file measured the new format on the same data.
    """
    if not benches:
        return None
    current = {f.path for f in profile.files}
    earlier: dict[str, InputFile] = {}
    for inputs in distinct_inputs(reversed(profile.all_runs)):
        for item in data_inputs(inputs):
            if item.path not in current:
                earlier.setdefault(item.path, item)
    for item in earlier.values():
        view = find_bench(dataclasses.replace(profile, files=(item,)), benches)
        if view is not None and view.match != MATCH_SIMILAR:
            return dataclasses.replace(view, match=f"the job's earlier file {item.path}")
    return None


def same_path(bench_data: str, job_path: str) -> bool:
    """Whether the bench's ``--data`` names the job's file. The session stores ``--data``
    as given, possibly relative to wherever ``zuinig bench`` ran; the meter records
    absolute paths, so a relative one matches as a trailing part of the path."""
    data = PurePath(bench_data)
    if data.is_absolute():
        return data == PurePath(job_path)
    parts = [p for p in data.parts if p != "."]
    return bool(parts) and PurePath(job_path).parts[-len(parts) :] == tuple(parts)


def current_config(profile: JobProfile, view: BenchView) -> tuple[BenchConfig | None, list[str]]:
    """The session's configuration taken as the job's, with the assumptions made (the
    codec and mode the meter cannot see); ``None`` when the session did not measure it."""
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


def ratios_against(view: BenchView, current: BenchConfig) -> dict[BenchConfig, stats.Estimate]:
    """Every measured configuration's energy over the current one's (fixed seed)."""
    return {
        config: stats.ratio_ci(energies, view.energies[current])
        for config, energies in view.energies.items()
    }


def _overlaps(one: stats.Estimate, other: stats.Estimate) -> bool:
    return one.low <= other.high and other.low <= one.high


def tied_with_best(
    pool: Sequence[BenchConfig], ratios: Mapping[BenchConfig, stats.Estimate]
) -> list[BenchConfig]:
    """The configuration with the lowest median and those whose interval overlaps its
    interval: no clear difference between them, so none is named the winner."""
    best = min(pool, key=lambda c: (ratios[c].value, c.label))
    return [c for c in pool if _overlaps(ratios[c], ratios[best])]


def _change_key(config: BenchConfig, current: BenchConfig) -> tuple[Any, ...]:
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


def by_change(configs: Iterable[BenchConfig], current: BenchConfig) -> list[BenchConfig]:
    """``configs``, the smallest change from ``current`` first."""
    return sorted(configs, key=lambda c: _change_key(c, current))


def representative(group: Sequence[BenchConfig], current: BenchConfig) -> BenchConfig:
    """The one of tied configurations to advise: the smallest change from the job's
    (its own configuration when that is among them). Not the lowest median: between
    tied configurations that is noise, and the advice would flip from bench to bench."""
    return by_change(group, current)[0]


def clearly_less(ratio: stats.Estimate) -> bool:
    """Whether a ratio's whole 95% interval is below 1."""
    return ratio.has_interval and ratio.high < 1.0


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (not empty)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def calls_text(phase: str) -> str:
    """Which calls of the benchmark a view of ``phase`` compares, in words."""
    if phase == PHASE_WARMUP:
        return (
            "first call in a fresh process (the benchmark's warm-up trials), as the job "
            "runs once per process"
        )
    return "repeated calls in one process (the benchmark's measured trials)"


# -- the benchmark side --------------------------------------------------------------------
