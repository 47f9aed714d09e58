"""Rows and records: how a run, its tags, a bench session and a bench trial are stored.

Pure conversions, no database access: each record type has one ``*_to_row`` (also
where its text is made storable and its status checked) and one ``row_to_*``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from zuinig.errors import LedgerError
from zuinig.ledger.model import (
    BENCH_STATUSES,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_RUNNING,
    TRIAL_PHASES,
    TRIAL_STATUSES,
    BenchSession,
    BenchTrial,
    Run,
)
from zuinig.ledger.schema import BENCH_SESSION_COLUMNS, BENCH_TRIAL_COLUMNS, RUN_COLUMNS
from zuinig.ledger.storable import storable, storable_run, storable_text
from zuinig.meter.base import InputFile

#: Stored states; ``interrupted`` is only ever shown, never stored.
STORED_STATUSES = (STATUS_RUNNING, STATUS_OK, STATUS_ERROR)
#: States a run ends in; a ``running`` state never overwrites one of them.
FINISHED_STATUSES = frozenset({STATUS_OK, STATUS_ERROR})


def run_to_row(run: Run) -> dict[str, Any]:
    """The ``runs`` row of ``run`` (its text made storable; tags apart: :func:`tag_rows`).

    Raises:
        LedgerError: the run's status is not one that is stored.
    """
    if run.status not in STORED_STATUSES:
        raise LedgerError(
            f"run {run.run_id} has status {run.status!r}; a stored run is one of "
            f"{', '.join(STORED_STATUSES)}"
        )
    # Every run row is made here, so this is where its text is made storable.
    run = storable_run(run)
    row = {name: getattr(run, name) for name in RUN_COLUMNS}
    row["inputs"] = json.dumps(
        [
            {"path": item.path, "size_bytes": item.size_bytes, "format": item.format}
            for item in run.inputs
        ]
    )
    row["engines"] = json.dumps(dict(run.engines), sort_keys=True)
    return row


def tag_rows(run: Run) -> list[dict[str, str]]:
    """The ``run_tags`` rows of ``run``, one per tag, their text made storable."""
    return [
        {
            "run_id": storable_text(run.run_id),
            "key": storable_text(str(key)),
            "value": storable_text(str(value)),
        }
        for key, value in run.tags.items()
    ]


def row_to_run(row: Mapping[Any, Any], tags: Mapping[str, str]) -> Run:
    """The run stored as ``row`` (a ``runs`` row) with ``tags``, status as stored."""
    values = dict(row)
    values["inputs"] = tuple(InputFile(**item) for item in json.loads(values["inputs"] or "[]"))
    values["engines"] = json.loads(values["engines"] or "{}")
    if values["method_cpu_tdp_is_generic"] is not None:
        values["method_cpu_tdp_is_generic"] = bool(values["method_cpu_tdp_is_generic"])
    return Run(tags=dict(tags), **values)


def session_to_row(session: BenchSession) -> dict[str, Any]:
    """The ``bench_sessions`` row of ``session``.

    Raises:
        LedgerError: the status is not a bench status, or a mapping holds a value
            that is not JSON.
    """
    if session.status not in BENCH_STATUSES:
        raise LedgerError(
            f"bench session {session.session_id} has status {session.status!r}; "
            f"a session is one of {', '.join(BENCH_STATUSES)}"
        )
    row = storable({name: getattr(session, name) for name in BENCH_SESSION_COLUMNS})
    what = f"bench session {session.session_id}"
    for name in ("config", "machine", "method"):
        row[name] = _to_json(dict(row[name]), f"{what}: its {name}")
    if session.results is not None:
        row["results"] = _to_json([dict(item) for item in session.results], f"{what}: its results")
    return row


def row_to_session(row: Mapping[Any, Any]) -> BenchSession:
    """The bench session stored as ``row``, status as stored."""
    values = dict(row)
    for name in ("config", "machine", "method"):
        values[name] = json.loads(values[name] or "{}")
    if values["results"] is not None:
        values["results"] = json.loads(values["results"])
    return BenchSession(**values)


def trial_to_row(trial: BenchTrial) -> dict[str, Any]:
    """The ``bench_trials`` row of ``trial``.

    Raises:
        LedgerError: the phase or status is unknown.
    """
    if trial.phase not in TRIAL_PHASES:
        raise LedgerError(
            f"bench trial {trial.trial_id} has phase {trial.phase!r}; "
            f"a trial's phase is one of {', '.join(TRIAL_PHASES)}"
        )
    if trial.status not in TRIAL_STATUSES:
        raise LedgerError(
            f"bench trial {trial.trial_id} has status {trial.status!r}; "
            f"a trial's status is one of {', '.join(TRIAL_STATUSES)}"
        )
    return storable({name: getattr(trial, name) for name in BENCH_TRIAL_COLUMNS})


def row_to_trial(row: Mapping[Any, Any]) -> BenchTrial:
    """The bench trial stored as ``row``."""
    values = dict(row)
    if values["correct"] is not None:
        values["correct"] = bool(values["correct"])
    return BenchTrial(**values)


def _json_default(value: Any) -> Any:
    """JSON for the values a bench runner naturally holds: paths, times, sets, numpy."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _to_json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, default=_json_default)
    except (TypeError, ValueError) as error:
        raise LedgerError(f"cannot store {what}: {error}") from error
