"""A job as the ledger shows it: its configuration now, how often it runs, its energy.

:func:`profile_of` builds a :class:`JobProfile` from a job's runs once; every rule
(:mod:`zuinig.advise.rules`) and the realised savings read it.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from zuinig.advise import savings
from zuinig.advise.gather import AdvisedRun, data_inputs, distinct_inputs
from zuinig.bench import stats
from zuinig.ledger.model import STATUS_OK
from zuinig.meter.base import InputFile

__all__ = [
    "BENCH_ENGINES",
    "JobProfile",
    "by_job",
    "config_label",
    "configurations",
    "engines_used",
    "measured_as",
    "profile_of",
]

#: Engines the benchmark knows, in the order a job that loaded several is taken to use
#: them: pandas comes last because many scripts that compute in another engine also
#: import it (for ``.to_pandas()`` or ``.df()`` at the end).
BENCH_ENGINES = ("duckdb", "polars", "pandas")

_STARTED_AT = operator.attrgetter("started_at")
_RUN_ID = operator.attrgetter("run_id")
_INPUTS = operator.attrgetter("inputs")
_ENGINES = operator.attrgetter("engines")
_PROCESS = operator.attrgetter("host", "pid", "pid_started_at")
#: savings.method_key as one C call per run (jobs may have hundreds of thousands).
_METHOD_KEY = operator.attrgetter(*savings.METHOD_KEY_FIELDS)


@dataclass(frozen=True)
class JobProfile:
    """A job as the ledger shows it: its configuration now, frequency and energy.

    Attributes:
        job: the job.
        runs: its runs with the same configuration and method as its latest run.
        all_runs: all its runs, oldest first.
        formats: the data formats it reads now, e.g. ``("csv",)``.
        engine: the engine it is taken to compute in, or ``None``.
        engines_seen: every bench engine its latest run loaded.
        files: the data files its latest run read.
        energy: median energy per run (kWh) with its 95% interval.
        runs_per_month: how often it runs (extrapolated over ``window_days``).
        window_days: the window the frequency comes from (days).
        intensity_g_per_kwh: its runs' carbon intensity (upper median), or ``None``.
        notes: what was set aside or assumed, in words.
    """

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
        """Its configuration now, e.g. ``csv + pandas``."""
        return config_label(self.formats, self.engine)

    @property
    def main_file(self) -> InputFile | None:
        """Its largest data file, the one advice is about."""
        return max(self.files, key=lambda f: f.size_bytes) if self.files else None


def by_job(runs: Iterable[AdvisedRun]) -> dict[str, list[AdvisedRun]]:
    """Each job's ok, metered, top-level runs, oldest first."""
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


def engines_used(engines: Mapping[str, str]) -> tuple[str, ...]:
    """The bench engines a run loaded, in the order it is taken to use them."""
    return tuple(e for e in BENCH_ENGINES if e in engines)


def configurations(runs: Sequence[AdvisedRun]) -> list[tuple[tuple[str, ...], str | None]]:
    """Each run's configuration: its data formats and the engine it is taken to use,
    worked out once per distinct inputs and engines object (runs read from the ledger
    share them), not once per run."""
    # ``runs`` holds the objects, so their ids cannot be reused meanwhile.
    formats = {
        id(inputs): tuple(sorted({f.format for f in data_inputs(inputs)}))
        for inputs in distinct_inputs(runs)
    }
    engine = {}
    for engines in {id(engines): engines for engines in map(_ENGINES, runs)}.values():
        names = engines_used(engines)
        engine[id(engines)] = names[0] if names else None
    return list(
        zip(
            map(formats.__getitem__, map(id, map(_INPUTS, runs))),
            map(engine.__getitem__, map(id, map(_ENGINES, runs))),
            strict=True,
        )
    )


def config_label(formats: Sequence[str], engine: str | None) -> str:
    """A job's configuration in words, e.g. ``csv + pandas``."""
    return f"{'+'.join(formats) or 'no data file'} + {engine or 'no known engine'}"


def profile_of(
    job: str, runs: Sequence[AdvisedRun], since: datetime | None, now: datetime
) -> JobProfile | None:
    """``job``'s profile from its runs (oldest first), ``None`` without runs.

    Args:
        job: the job.
        runs: its runs, as :func:`by_job` gives them.
        since: the start of the window (``None``: its first run).
        now: the end of the window.
    """
    if not runs:
        return None
    latest = runs[-1]
    configs = configurations(runs)
    config = configs[-1]
    key = savings.method_key(latest)
    # Only the runs since the latest change of configuration describe the job now.
    unchanged = len(configs)
    while unchanged > 0 and configs[unchanged - 1] == config:
        unchanged -= 1
    same = list(runs[unchanged:])
    notes: list[str] = []
    comparable = measured_as(same, key)
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
    engines_seen = engines_used(latest.engines)
    if len(engines_seen) > 1:
        notes.append(
            f"the job loaded {', '.join(engines_seen)}; taken to compute in {engines_seen[0]}"
        )
    files: dict[str, InputFile] = {}
    for item in data_inputs(latest.inputs):
        files[item.path] = item
    intensities = [r.intensity_g_per_kwh for r in comparable if r.intensity_g_per_kwh]
    return JobProfile(
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


def measured_as(runs: Sequence[AdvisedRun], key: tuple[Any, ...]) -> list[AdvisedRun]:
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
