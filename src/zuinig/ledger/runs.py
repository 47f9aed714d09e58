"""Runs in the ledger: written at start and end, read back, filtered, counted.

Functions over a :class:`~zuinig.ledger.db.Database`; :class:`~zuinig.ledger.store.Ledger`
is their facade. Reads show a stored ``running`` row whose process is gone as
``interrupted`` (:meth:`~zuinig.ledger.liveness.LivenessCache.shown_status`); the
``stored_*`` reads and :func:`write_runs` (for sync and import) keep rows as stored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import itertools
import json
import operator
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from zuinig.errors import AmbiguousRunIdError, RunNotFoundError, UsageError
from zuinig.ledger.db import (
    IN_LIST_CHUNK,
    SQLITE_TIME_LENGTH,
    Database,
    month_bounds,
    stored_time,
)
from zuinig.ledger.liveness import LivenessCache
from zuinig.ledger.model import (
    STATUS_INTERRUPTED,
    STATUS_RUNNING,
    STATUSES,
    Run,
    RunBrief,
    RunFilter,
    as_utc,
)
from zuinig.ledger.rows import FINISHED_STATUSES, row_to_run, run_to_row, tag_rows
from zuinig.ledger.schema import UTCDateTime, run_tags, runs
from zuinig.ledger.storable import storable_run
from zuinig.meter.base import InputFile

if TYPE_CHECKING:
    from typing import TypeAlias

    AnyRow: TypeAlias = sa.Row[*tuple[Any, ...]]

#: Tags written by :func:`start_run`, per run id: :func:`finish_run` skips rewriting
#: unchanged tags (two statements of a run's write). Owned by the caller (one per ledger).
StartedTags = MutableMapping[str, list[dict[str, str]]]
#: Run starts remembered for :func:`finish_run`'s shortcut (a bound on memory).
_REMEMBERED_STARTS = 10_000

# Statements built once: their SET columns come from the parameters, so executing them
# costs no per-call expression building (a fresh .values(...) costs about 1 ms per run).
_UPDATE_RUN = runs.update().where(runs.c.run_id == sa.bindparam("match_run_id"))
# The condition makes "a running state never overwrites a finished one" hold even if
# the run finished there after a caller looked.
_UPDATE_RUN_UNLESS_FINISHED = _UPDATE_RUN.where(runs.c.status.not_in(sorted(FINISHED_STATUSES)))
_DELETE_TAGS = run_tags.delete().where(run_tags.c.run_id == sa.bindparam("match_run_id"))
# FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers): a
# concurrent writer of the same run waits until this transaction has decided, so a
# stale ``running`` state read from the spool cannot overwrite an end committed in
# between the check and the write.
_SELECT_STATUS = (
    sa.select(runs.c.status).where(runs.c.run_id == sa.bindparam("match_run_id")).with_for_update()
)


@dataclass(frozen=True)
class RunQuery:
    """A validated :class:`~zuinig.ledger.model.RunFilter`: SQL conditions plus what
    must be decided in Python.

    Attributes:
        conditions: the WHERE conditions on ``runs``.
        live_status: ``running`` or ``interrupted`` when the status is decided per
            row in Python (both are stored ``running``); ``None`` otherwise.
        limit: the filter's limit.
    """

    conditions: tuple[sa.ColumnElement[bool], ...]
    live_status: str | None
    limit: int | None


def run_query(run_filter: RunFilter) -> RunQuery:
    """Check ``run_filter`` and turn it into a :class:`RunQuery`.

    Raises:
        UsageError: the filter is invalid (bad month, unknown status, negative limit).
    """
    conditions: list[sa.ColumnElement[bool]] = []
    if run_filter.job is not None:
        conditions.append(runs.c.job == run_filter.job)
    for key, value in run_filter.tags.items():
        conditions.append(
            sa.exists()
            .where(run_tags.c.run_id == runs.c.run_id)
            .where(run_tags.c.key == key, run_tags.c.value == value)
        )
    if run_filter.month is not None:
        start, end = month_bounds(run_filter.month)
        conditions.extend([runs.c.started_at >= start, runs.c.started_at < end])
    if run_filter.since is not None:
        conditions.append(runs.c.started_at >= as_utc(run_filter.since))
    if run_filter.until is not None:
        conditions.append(runs.c.started_at < as_utc(run_filter.until))
    if run_filter.top_level_only:
        conditions.append(runs.c.parent_run_id.is_(None))
    if run_filter.parent_run_id is not None:
        conditions.append(runs.c.parent_run_id == run_filter.parent_run_id)
    if isinstance(run_filter.kind, str):
        conditions.append(runs.c.kind == run_filter.kind)
    elif run_filter.kind is not None:
        conditions.append(runs.c.kind.in_(run_filter.kind))
    live_status = None
    status = run_filter.status
    if status is not None:
        if status not in STATUSES:
            raise UsageError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        if status in (STATUS_RUNNING, STATUS_INTERRUPTED):
            conditions.append(runs.c.status == STATUS_RUNNING)
            live_status = status
        else:
            conditions.append(runs.c.status == status)
    limit = run_filter.limit
    if limit is not None and (isinstance(limit, bool) or limit < 0):
        raise UsageError(f"limit must be 0 or more, got {limit!r}")
    return RunQuery(tuple(conditions), live_status, limit)


# -- writing ----------------------------------------------------------------------------


def start_run(db: Database, run: Run, started: StartedTags) -> None:
    """Insert ``run`` (status ``running``); see :meth:`Ledger.start_run`.

    Raises:
        LedgerError: the run id is already used, or the ledger cannot be written.
    """
    run = storable_run(run)  # also its run id, matched below
    row = run_to_row(run)
    tags = tag_rows(run)

    def write(connection: Connection) -> None:
        connection.execute(runs.insert(), row)
        if tags:
            connection.execute(run_tags.insert(), tags)

    db.write(write, f"record the start of run {run.run_id}")
    if len(started) >= _REMEMBERED_STARTS:
        started.clear()  # runs never finished by this process; forget them
    started[run.run_id] = tags


def finish_run(db: Database, run: Run, started: StartedTags) -> None:
    """Write the final state of ``run``; see :meth:`Ledger.finish_run`.

    Raises:
        LedgerError: the ledger cannot be written.
    """
    run = storable_run(run)
    db.write(
        lambda connection: _store(connection, run, started),
        f"record run {run.run_id}",
        retry_conflict=True,
    )


def put_run(db: Database, run: Run, started: StartedTags) -> bool:
    """Insert or update ``run`` unless that undoes its recorded end; see
    :meth:`Ledger.put_run`.

    Returns:
        Whether the row was written (``False``: a finished row was kept).

    Raises:
        LedgerError: the ledger cannot be written.
    """
    run = storable_run(run)
    written: list[bool] = []

    def write(connection: Connection) -> None:
        if run.status == STATUS_RUNNING:
            stored = connection.execute(_SELECT_STATUS, {"match_run_id": run.run_id}).scalar()
            if stored in FINISHED_STATUSES:
                written.append(False)
                return
            if stored is None:
                # A plain insert, not _store's update-then-insert: on PostgreSQL that
                # update would see a finished row committed since the check above
                # (no row to lock then) and overwrite it. A racing insert is a
                # conflict instead, and the retry finds the row.
                connection.execute(runs.insert(), run_to_row(run))
                tags = tag_rows(run)
                if tags:
                    connection.execute(run_tags.insert(), tags)
                written.append(True)
                return
        _store(connection, run, started)
        written.append(True)

    db.write(write, f"record run {run.run_id}", retry_conflict=True)
    return written[-1]


def _store(connection: Connection, run: Run, started: StartedTags) -> None:
    row = run_to_row(run)
    values = {name: value for name, value in row.items() if name != "run_id"}
    values["match_run_id"] = run.run_id
    tags = tag_rows(run)
    updated = connection.execute(_UPDATE_RUN, values)
    if updated.rowcount == 0:
        connection.execute(runs.insert(), row)
    elif started.pop(run.run_id, None) == tags:
        return  # this process wrote exactly these tags at the start: nothing to replace
    else:
        connection.execute(_DELETE_TAGS, {"match_run_id": run.run_id})
    if tags:
        connection.execute(run_tags.insert(), tags)


@dataclass(frozen=True)
class WrittenRuns:
    """What :func:`write_runs` did.

    Attributes:
        copied: runs inserted.
        updated: runs overwritten.
        skipped_running: ``running`` states not written because the stored run
            had finished meanwhile.
    """

    copied: int
    updated: int
    skipped_running: int


def write_runs(db: Database, new: Sequence[Run], changed: Sequence[Run]) -> WrittenRuns:
    """Insert ``new`` and overwrite ``changed`` (by run id) in one transaction.

    For batches (sync, import): the new runs go in as one multi-row insert. A
    ``running`` state in ``changed`` never overwrites a row that has finished since
    the caller looked; a changed run whose row has gone is inserted.

    Raises:
        UnstorableRunError: a new run's id is already stored (another writer was
            first: look again and retry), or a value cannot be stored.
        LedgerError: a status is not stored, or the ledger cannot be written.
    """
    new_rows = [run_to_row(run) for run in new]  # validates each status
    new_tags = [tag for run in new for tag in tag_rows(run)]
    changes = [(run, run_to_row(run), tag_rows(run)) for run in changed]
    outcome = [len(new_rows), 0, 0]

    def write(connection: Connection) -> None:
        outcome[:] = [len(new_rows), 0, 0]
        if new_rows:
            connection.execute(runs.insert(), new_rows)
            if new_tags:
                connection.execute(run_tags.insert(), new_tags)
        for run, row, tags in changes:
            values = {name: value for name, value in row.items() if name != "run_id"}
            values["match_run_id"] = run.run_id
            statement = _UPDATE_RUN_UNLESS_FINISHED if run.status == STATUS_RUNNING else _UPDATE_RUN
            if connection.execute(statement, values).rowcount == 0:
                if run.status == STATUS_RUNNING:
                    outcome[2] += 1
                    continue
                connection.execute(runs.insert(), row)  # deleted there meanwhile
                outcome[0] += 1
            else:
                connection.execute(_DELETE_TAGS, {"match_run_id": run.run_id})
                outcome[1] += 1
            if tags:
                connection.execute(run_tags.insert(), tags)

    count = len(new_rows) + len(changes)
    db.write(write, f"copy {count} run{'' if count == 1 else 's'}")
    return WrittenRuns(*outcome)


# -- reading ----------------------------------------------------------------------------


def get_run(db: Database, run_id: str) -> Run:
    """The run with this id (or unique id prefix); see :meth:`Ledger.get_run`.

    Raises:
        RunNotFoundError: no run has this id or prefix.
        AmbiguousRunIdError: the prefix matches more than one run.
        LedgerError: the ledger cannot be read.
    """
    prefix = run_id.strip()
    if not prefix:
        raise RunNotFoundError("no run id given; `zuinig runs list` shows the run ids")
    with db.reading() as connection:
        row = connection.execute(sa.select(runs).where(runs.c.run_id == prefix)).first()
        if row is None:
            found_id = db.unique_prefix_match(
                connection,
                runs.c.run_id,
                prefix,
                not_found=RunNotFoundError(
                    f"no run {prefix!r} in the ledger at {db.shown}; "
                    "`zuinig runs list` shows the run ids"
                ),
                ambiguous=lambda shown: AmbiguousRunIdError(
                    f"run id {prefix!r} matches more than one run ({shown}); give more of the id"
                ),
            )
            row = connection.execute(sa.select(runs).where(runs.c.run_id == found_id)).one()
        found = _runs_from_rows(connection, [row], LivenessCache())
    return found[0]


def list_runs(db: Database, run_filter: RunFilter) -> list[Run]:
    """Runs matching the filter, newest first, as shown; see :meth:`Ledger.list_runs`.

    Raises:
        UsageError: the filter is invalid.
        LedgerError: the ledger cannot be read.
    """
    query = run_query(run_filter)
    statement = sa.select(runs).where(*query.conditions)
    statement = statement.order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
    if query.live_status is None and query.limit is not None:
        statement = statement.limit(query.limit)
    liveness = LivenessCache()
    with db.reading() as connection:
        rows = connection.execute(statement).all()
        if query.live_status is not None:
            rows = rows_shown_as(rows, query.live_status, liveness)
            if query.limit is not None:
                rows = rows[: query.limit]
        return _runs_from_rows(connection, rows, liveness)


def count_runs(db: Database, run_filter: RunFilter) -> int:
    """How many runs match the filter, ignoring its ``limit``.

    Raises:
        UsageError: the filter is invalid.
        LedgerError: the ledger cannot be read.
    """
    query = run_query(run_filter)
    with db.reading() as connection:
        if query.live_status is None:
            counted = connection.execute(
                sa.select(sa.func.count()).select_from(runs).where(*query.conditions)
            ).scalar()
            return int(counted or 0)
        rows = connection.execute(
            sa.select(
                runs.c.run_id, runs.c.status, runs.c.host, runs.c.pid, runs.c.pid_started_at
            ).where(*query.conditions)
        ).all()
    return len(rows_shown_as(rows, query.live_status, LivenessCache()))


def jobs(db: Database) -> list[str]:
    """The distinct job names in the ledger, sorted."""
    with db.reading() as connection:
        return list(
            connection.execute(sa.select(runs.c.job).distinct().order_by(runs.c.job))
            .scalars()
            .all()
        )


def rows_shown_as(rows: Sequence[AnyRow], wanted: str, liveness: LivenessCache) -> list[AnyRow]:
    """The ``runs`` rows whose shown status is ``wanted``.

    Args:
        rows: rows with ``status``, ``host``, ``pid`` and ``pid_started_at``.
        wanted: the status shown.
        liveness: the cache of this read.
    """
    return [
        row
        for row in rows
        if liveness.shown_status(row.status, row.host, row.pid, row.pid_started_at) == wanted
    ]


def stored_tags(connection: Connection, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """The tags of the runs ``ids``, per run id (runs without tags are left out)."""
    tags: dict[str, dict[str, str]] = {}
    for start in range(0, len(ids), IN_LIST_CHUNK):
        for run_id, key, value in connection.execute(
            sa.select(run_tags.c.run_id, run_tags.c.key, run_tags.c.value).where(
                run_tags.c.run_id.in_(ids[start : start + IN_LIST_CHUNK])
            )
        ):
            tags.setdefault(run_id, {})[key] = value
    return tags


def _runs_from_rows(
    connection: Connection, rows: Sequence[AnyRow], liveness: LivenessCache
) -> list[Run]:
    tags = stored_tags(connection, [row.run_id for row in rows])
    result = []
    for row in rows:
        run = row_to_run(row._mapping, tags.get(row.run_id, {}))
        shown = liveness.shown_status(run.status, run.host, run.pid, run.pid_started_at)
        result.append(run if shown == run.status else dataclasses.replace(run, status=shown))
    return result


def stored_runs(db: Database, ids: Sequence[str]) -> dict[str, Run]:
    """The runs ``ids`` as stored (a dead ``running`` run stays ``running``), by run id;
    ids not stored are left out. For a few hundred ids at a time (sync, import).

    Raises:
        LedgerError: the ledger cannot be read.
    """
    if not ids:
        return {}
    with db.reading() as connection:
        rows = connection.execute(sa.select(runs).where(runs.c.run_id.in_(ids))).all()
        tags = stored_tags(connection, [row.run_id for row in rows])
    return {row.run_id: row_to_run(row._mapping, tags.get(row.run_id, {})) for row in rows}


def stored_run_pages(db: Database, run_filter: RunFilter, page_size: int) -> Iterator[list[Run]]:
    """Pages of the runs matching ``run_filter`` as stored (a dead ``running`` run stays
    ``running``), in run id order; its ``limit`` is ignored.

    Keyset pagination on the primary key: each page is one indexed range query,
    however far into the ledger, and runs written meanwhile cannot shift a page.
    A page may come out smaller (even empty) after the filter's live status.

    Raises:
        UsageError: the filter is invalid.
        LedgerError: the ledger cannot be read.
    """
    query = run_query(run_filter)
    liveness = LivenessCache()
    after: str | None = None
    while True:
        statement = sa.select(runs).where(*query.conditions)
        if after is not None:
            statement = statement.where(runs.c.run_id > after)
        statement = statement.order_by(runs.c.run_id).limit(page_size)
        with db.reading() as connection:
            rows = connection.execute(statement).all()
            if not rows:
                return
            tags = stored_tags(connection, [row.run_id for row in rows])
        after = rows[-1].run_id
        if query.live_status is not None:
            rows = rows_shown_as(rows, query.live_status, liveness)
        yield [row_to_run(row._mapping, tags.get(row.run_id, {})) for row in rows]


# -- briefs: the fields advice reads, for millions of runs -------------------------------

#: The columns of a :class:`RunBrief`, in its order. Times are read as stored (text on
#: SQLite) and parsed by :func:`~zuinig.ledger.db.stored_time`: SQLAlchemy's per-value
#: processing of :class:`~zuinig.ledger.schema.UTCDateTime` costs more than the rest of a row.
_BRIEF_COLUMNS: tuple[sa.ColumnElement[Any], ...] = tuple(
    sa.type_coerce(runs.c[name], sa.String()).label(name)
    if isinstance(runs.c[name].type, UTCDateTime)
    else runs.c[name]
    for name in RunBrief._fields
)


#: Rows fetched at a time by :meth:`Ledger.list_run_briefs` (fetchmany, not row by row).
_BRIEF_BATCH = 10_000
_started_at = operator.attrgetter("started_at")
_AT_STATUS = RunBrief._fields.index("status")
_AT_STARTED = RunBrief._fields.index("started_at")
_AT_INPUTS = RunBrief._fields.index("inputs")
_AT_ENGINES = RunBrief._fields.index("engines")
_AT_PROCESS = RunBrief._fields.index("host")  # host, pid, pid_started_at: the last three
_AT_PID_STARTED = RunBrief._fields.index("pid_started_at")


def list_run_briefs(db: Database, run_filter: RunFilter) -> list[RunBrief]:
    """Runs matching the filter as :class:`RunBrief`, oldest first; see
    :meth:`Ledger.list_run_briefs`.

    Raises:
        UsageError: the filter is invalid.
        LedgerError: the ledger cannot be read.
    """
    query = run_query(run_filter)
    # Sorted here, not by the database: SQLite sorts whole rows, which costs more
    # than sorting the tuples (and rows are mostly stored in time order already).
    statement = sa.select(*_BRIEF_COLUMNS).where(*query.conditions)
    inputs: dict[str | None, tuple[InputFile, ...]] = {}
    engines: dict[str | None, Mapping[str, str]] = {}
    moments: dict[Any, datetime | None] = {None: None}
    briefs = []
    liveness = LivenessCache()
    from_sqlite = datetime.fromisoformat
    with db.reading() as connection, _gc_paused():
        # The DB-API rows as they come: no column here has a result processor
        # (times are read as stored), and SQLAlchemy's row objects cost ~1 s a
        # million.
        cursor = connection.execute(statement).cursor
        rows = (row for part in iter(lambda: cursor.fetchmany(_BRIEF_BATCH), []) for row in part)
        for row in rows:
            values = list(row)
            if values[_AT_STATUS] == STATUS_RUNNING:
                host, pid, pid_started = values[_AT_PROCESS:]
                values[_AT_STATUS] = liveness.shown_status(
                    STATUS_RUNNING, host, pid, stored_time(pid_started)
                )
                if query.live_status not in (None, values[_AT_STATUS]):
                    continue
            inputs_text, engines_text = values[_AT_INPUTS], values[_AT_ENGINES]
            if inputs_text not in inputs:
                inputs[inputs_text] = tuple(
                    InputFile(**item) for item in json.loads(inputs_text or "[]")
                )
            if engines_text not in engines:
                engines[engines_text] = json.loads(engines_text or "{}")
            pid_started = values[_AT_PID_STARTED]
            if pid_started not in moments:
                moments[pid_started] = stored_time(pid_started)
            values[_AT_INPUTS] = inputs[inputs_text]
            values[_AT_ENGINES] = engines[engines_text]
            values[_AT_PID_STARTED] = moments[pid_started]
            started = values[_AT_STARTED]
            values[_AT_STARTED] = (
                from_sqlite(started + "+00:00")  # stored_time's usual case, inlined
                if type(started) is str and len(started) == SQLITE_TIME_LENGTH
                else stored_time(started)
            )
            briefs.append(RunBrief._make(values))
    briefs.sort(key=_started_at)
    _order_ties(briefs)
    if query.limit is not None:
        briefs = briefs[len(briefs) - query.limit :] if query.limit else []
    return briefs


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a million small records are built.

    Each burst of new container objects triggers a collection that walks every record
    built so far, which made the read three times slower; these records hold no
    reference cycles, so nothing is left for the collector once it runs again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _order_ties(briefs: list[RunBrief]) -> None:
    """Within runs that started at the same moment, the larger run id first (the order
    :meth:`Ledger.list_runs` gives them), so either read gives advice one order."""
    starts = list(map(_started_at, briefs))
    if not any(map(operator.eq, starts, itertools.islice(starts, 1, None))):
        return  # no two at the same moment (the usual case): nothing to reorder
    start = 0
    for index in range(1, len(briefs) + 1):
        if index == len(briefs) or briefs[index].started_at != briefs[start].started_at:
            if index - start > 1:
                briefs[start:index] = sorted(
                    briefs[start:index], key=operator.attrgetter("run_id"), reverse=True
                )
            start = index
