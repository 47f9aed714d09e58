"""Bench sessions and their trials in the ledger (``zuinig bench``).

Functions over a :class:`~zuinig.ledger.db.Database`; :class:`~zuinig.ledger.store.Ledger`
is their facade. Reads show a ``running`` session whose process is gone as
``interrupted``; the ``stored_*`` reads and :func:`write_session` (for sync) keep
them as stored.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from zuinig.errors import AmbiguousBenchSessionIdError, BenchSessionNotFoundError, UsageError
from zuinig.ledger.db import IN_LIST_CHUNK, Database
from zuinig.ledger.liveness import LivenessCache, process_started_at, this_host
from zuinig.ledger.model import BenchSession, BenchTrial
from zuinig.ledger.rows import row_to_session, row_to_trial, session_to_row, trial_to_row
from zuinig.ledger.schema import bench_sessions, bench_trials

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- writing ----------------------------------------------------------------------------


def start_bench_session(db: Database, session: BenchSession) -> BenchSession:
    """Insert ``session``; see :meth:`Ledger.start_bench_session`.

    Raises:
        LedgerError: the session id is already used, the session cannot be
            stored, or the ledger cannot be written.
    """
    if session.host is None and session.pid is None and session.pid_started_at is None:
        pid = os.getpid()
        session = dataclasses.replace(
            session, host=this_host(), pid=pid, pid_started_at=process_started_at(pid)
        )
    row = session_to_row(session)

    def write(connection: Connection) -> None:
        connection.execute(bench_sessions.insert(), row)

    db.write(
        write,
        f"record the start of bench session {session.session_id}",
        "is the session id already used?",
    )
    return session


def finish_bench_session(db: Database, session: BenchSession) -> None:
    """Write the final state of ``session``; see :meth:`Ledger.finish_bench_session`.

    Raises:
        LedgerError: the session cannot be stored, or the ledger cannot be written.
    """
    row = session_to_row(session)
    values = {name: value for name, value in row.items() if name != "session_id"}
    if session.host is None and session.pid is None and session.pid_started_at is None:
        for name in ("host", "pid", "pid_started_at"):
            del values[name]
    statement = (
        bench_sessions.update()
        .where(bench_sessions.c.session_id == session.session_id)
        .values(**values)
    )

    def write(connection: Connection) -> None:
        if connection.execute(statement).rowcount == 0:
            connection.execute(bench_sessions.insert(), row)

    db.write(write, f"record bench session {session.session_id}")


def add_bench_trials(db: Database, trials: Sequence[BenchTrial]) -> None:
    """Store ``trials`` in one transaction; see :meth:`Ledger.add_bench_trials`.

    Raises:
        LedgerError: a trial's session is not in the ledger, a phase or status is
            unknown, or the ledger cannot be written.
    """
    rows = [trial_to_row(trial) for trial in trials]
    if not rows:
        return

    def write(connection: Connection) -> None:
        _replace_trials(connection, rows)

    sessions = sorted({trial.session_id for trial in trials})
    db.write(
        write,
        f"record {len(rows)} trial(s) of bench session {', '.join(sessions)}",
        "is the bench session started, and is each trial id given once?",
    )


def write_session(
    db: Database, session_id: str, session: BenchSession | None, trials: Sequence[BenchTrial]
) -> None:
    """Insert or overwrite ``session`` (as stored, when given) and ``trials`` (by
    trial id) in one transaction. For sync.

    Args:
        db: the ledger to write to.
        session_id: the session's id, for the error message.
        session: the session's state to store; ``None`` to leave the stored one.
        trials: trials to insert or overwrite.

    Raises:
        LedgerError: the session or a trial cannot be stored, or the ledger cannot
            be written.
    """
    session_row = session_to_row(session) if session is not None else None
    trial_rows: list[dict[str, Any]] = [trial_to_row(trial) for trial in trials]

    def write(connection: Connection) -> None:
        if session_row is not None:
            values = {key: value for key, value in session_row.items() if key != "session_id"}
            updated = connection.execute(
                bench_sessions.update()
                .where(bench_sessions.c.session_id == session_row["session_id"])
                .values(**values)
            ).rowcount
            if updated == 0:
                connection.execute(bench_sessions.insert(), session_row)
        _replace_trials(connection, trial_rows)

    db.write(write, f"copy bench session {session_id}", "is a trial id used twice?")


def _replace_trials(connection: Connection, rows: list[dict[str, Any]]) -> None:
    # A trial id already stored is replaced, so writing the same trial again is harmless.
    ids = [row["trial_id"] for row in rows]
    for start in range(0, len(ids), IN_LIST_CHUNK):
        connection.execute(
            bench_trials.delete().where(
                bench_trials.c.trial_id.in_(ids[start : start + IN_LIST_CHUNK])
            )
        )
    if rows:
        connection.execute(bench_trials.insert(), rows)


# -- reading ----------------------------------------------------------------------------


def get_bench_session(db: Database, session_id: str) -> BenchSession:
    """The bench session with this id (or unique id prefix), as shown.

    Raises:
        BenchSessionNotFoundError: no session has this id or prefix.
        AmbiguousBenchSessionIdError: the prefix matches more than one session.
        LedgerError: the ledger cannot be read.
    """
    with db.reading() as connection:
        found = _resolve_session_id(db, connection, session_id)
        row = connection.execute(
            sa.select(bench_sessions).where(bench_sessions.c.session_id == found)
        ).one()
    return _as_shown([row_to_session(row._mapping)])[0]


def list_bench_sessions(
    db: Database, limit: int | None = None, workload: str | None = None
) -> list[BenchSession]:
    """Bench sessions, newest first, as shown; see :meth:`Ledger.list_bench_sessions`.

    Raises:
        UsageError: ``limit`` is negative.
        LedgerError: the ledger cannot be read.
    """
    if limit is not None and (isinstance(limit, bool) or limit < 0):
        raise UsageError(f"limit must be 0 or more, got {limit!r}")
    statement = sa.select(bench_sessions).order_by(
        bench_sessions.c.started_at.desc(), bench_sessions.c.session_id.desc()
    )
    if workload is not None:
        statement = statement.where(bench_sessions.c.workload == workload)
    if limit is not None:
        statement = statement.limit(limit)
    with db.reading() as connection:
        rows = connection.execute(statement).all()
    return _as_shown([row_to_session(row._mapping) for row in rows])


def list_bench_trials(db: Database, session_id: str) -> list[BenchTrial]:
    """The trials of a bench session (id or unique id prefix), in the order they
    started (trials without a start time first), then by trial id.

    Raises:
        BenchSessionNotFoundError: no session has this id or prefix.
        AmbiguousBenchSessionIdError: the prefix matches more than one session.
        LedgerError: the ledger cannot be read.
    """
    with db.reading() as connection:
        found = _resolve_session_id(db, connection, session_id)
        rows = connection.execute(
            sa.select(bench_trials).where(bench_trials.c.session_id == found)
        ).all()
    trials = [row_to_trial(row._mapping) for row in rows]
    trials.sort(
        key=lambda trial: (
            trial.started_at is not None,
            trial.started_at or _EPOCH,
            trial.trial_id,
        )
    )
    return trials


def stored_session_ids(
    db: Database, since: datetime | None = None, until: datetime | None = None
) -> list[str]:
    """The ids of the sessions that started in ``[since, until)`` (either end open
    when ``None``), sorted.

    Raises:
        LedgerError: the ledger cannot be read.
    """
    conditions: list[sa.ColumnElement[bool]] = []
    if since is not None:
        conditions.append(bench_sessions.c.started_at >= since)
    if until is not None:
        conditions.append(bench_sessions.c.started_at < until)
    with db.reading() as connection:
        return [
            str(session_id)
            for session_id in connection.execute(
                sa.select(bench_sessions.c.session_id)
                .where(*conditions)
                .order_by(bench_sessions.c.session_id)
            ).scalars()
        ]


def stored_session(
    db: Database, session_id: str
) -> tuple[BenchSession | None, dict[str, BenchTrial]]:
    """The session with exactly this id as stored (``None`` when there is none) and
    its trials by trial id.

    Raises:
        LedgerError: the ledger cannot be read.
    """
    with db.reading() as connection:
        row = connection.execute(
            sa.select(bench_sessions).where(bench_sessions.c.session_id == session_id)
        ).first()
        trials = connection.execute(
            sa.select(bench_trials).where(bench_trials.c.session_id == session_id)
        ).all()
    session = row_to_session(row._mapping) if row is not None else None
    return session, {trial.trial_id: row_to_trial(trial._mapping) for trial in trials}


def _resolve_session_id(db: Database, connection: Connection, session_id: str) -> str:
    prefix = session_id.strip()
    if not prefix:
        raise BenchSessionNotFoundError(
            "no bench session id given; `zuinig bench list` shows the session ids"
        )
    column = bench_sessions.c.session_id
    exact = connection.execute(sa.select(column).where(column == prefix)).scalar()
    if exact is not None:
        return str(exact)
    return db.unique_prefix_match(
        connection,
        column,
        prefix,
        not_found=BenchSessionNotFoundError(
            f"no bench session {prefix!r} in the ledger at {db.shown}; "
            "`zuinig bench list` shows the session ids"
        ),
        ambiguous=lambda shown: AmbiguousBenchSessionIdError(
            f"bench session id {prefix!r} matches more than one session "
            f"({shown}); give more of the id"
        ),
    )


def _as_shown(sessions: list[BenchSession]) -> list[BenchSession]:
    liveness = LivenessCache()
    shown = []
    for session in sessions:
        status = liveness.shown_status(
            session.status, session.host, session.pid, session.pid_started_at
        )
        shown.append(
            session if status == session.status else dataclasses.replace(session, status=status)
        )
    return shown
