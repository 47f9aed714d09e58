"""What advice is made from, read from a ledger once: :func:`gather` into :class:`Records`.

The rules (:mod:`zuinig.advise.rules`) and the realised savings
(:mod:`zuinig.advise.realised`) are pure functions over :class:`Records`, so they can be
tested on handmade records; :func:`gather` is the one place that reads the ledger.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from zuinig.ledger.model import (
    KIND_COMMAND,
    KIND_CONVERT,
    KIND_FUNCTION,
    STATUS_OK,
    BenchSession,
    BenchTrial,
    Run,
    RunBrief,
    RunFilter,
)
from zuinig.meter.base import InputFile

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger

__all__ = [
    "AdvisedRun",
    "BenchEvidence",
    "Records",
    "data_inputs",
    "distinct_inputs",
    "gather",
]

#: A job's run as the rules read it: a full record, or the brief one :func:`gather` reads.
AdvisedRun = Run | RunBrief

_INPUTS = operator.attrgetter("inputs")
#: What the meter's formats count as data (a job's configuration is its data formats).
_DATA_FORMATS = frozenset({"csv", "tsv", "parquet", "arrow", "json", "jsonl", "orc", "avro"})


def data_inputs(inputs: Iterable[InputFile]) -> tuple[InputFile, ...]:
    """The data files among a run's inputs (see :data:`_DATA_FORMATS`)."""
    return tuple(f for f in inputs if f.format.split(".")[0] in _DATA_FORMATS and f.size_bytes >= 0)


def distinct_inputs(runs: Iterable[AdvisedRun]) -> list[tuple[InputFile, ...]]:
    """Each distinct input list of ``runs`` once, in order of first appearance (runs
    read from the ledger share one tuple per list, so this is cheap)."""
    return list({id(inputs): inputs for inputs in map(_INPUTS, runs)}.values())


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

    runs: tuple[AdvisedRun, ...]
    conversions: tuple[AdvisedRun, ...] = ()
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
                for inputs in reversed(distinct_inputs(reversed(job_runs)))
                for f in data_inputs(inputs)
            }
        ),
    )


def _decimal_columns(files: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The decimal columns of each Parquet or Arrow file that can still be read.

    Only the schema is read (the file footer), so this stays cheap for large files.
    """
    files = {path: fmt for path, fmt in files.items() if fmt in ("parquet", "arrow")}
    if not files:
        return {}
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        # The core install has no PyArrow (the bench extra): no schema, no evidence either way.
        return {}

    found: dict[str, tuple[str, ...]] = {}
    for path, fmt in files.items():
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
