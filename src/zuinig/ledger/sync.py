"""Copying runs from one ledger to another: ``zuinig ledger sync --to URL``.

An analyst measures on a laptop (the default SQLite ledger) and shares later
with the team's ledger (PostgreSQL). :func:`sync_runs` copies the runs, their
tags, and the bench sessions with their trials. It is idempotent by id, with
:meth:`~zuinig.ledger.Ledger.put_run`'s rules:

- a run the target lacks is copied; one it holds identically is left alone;
- one it holds differently is updated, since the source holds the run's own,
  later, state (say a run that was still running at the previous sync);
- except that a ``running`` state never overwrites a finished (``ok``/``error``)
  one: a start kept somewhere must not undo a recorded end.

:func:`sync_to` is the command: it also delivers the runs kept in the *local*
spool for the target (jobs that ran while the team ledger was unreachable).

Batched, because a team database is usually a network round trip away: runs are
read from the source in pages of run ids, compared with the target's rows in two
queries per page, and written in one transaction per page (the new ones as one
multi-row insert). That is a handful of round trips per 500 runs instead of a
handful per run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url

from zuinig.errors import LedgerError, UsageError
from zuinig.ledger.model import (
    STATUS_INTERRUPTED,
    STATUS_RUNNING,
    BenchSession,
    BenchTrial,
    Run,
    RunFilter,
)
from zuinig.ledger.schema import (
    SCHEMA_REVISIONS,
    VERSION_TABLE,
    bench_sessions,
    bench_trials,
    run_tags,
    runs,
)
from zuinig.ledger.spool import QuarantinedFile, format_quarantined
from zuinig.ledger.storable import storable_run
from zuinig.ledger.store import (
    _DELETE_TAGS,
    _UPDATE_RUN,
    FINISHED_STATUSES,
    Ledger,
    _create_engine,
    _parse_url,
    _row_to_run,
    _row_to_session,
    _row_to_trial,
    _session_to_row,
    _tag_rows,
    _trial_to_row,
    display_url,
)

if TYPE_CHECKING:
    from zuinig.config import Settings

#: Runs read, compared and written per transaction. Well below the bound-parameter
#: limits of SQLite and PostgreSQL for the ``IN (...)`` lists it needs.
BATCH_SIZE = 500
#: Times a batch is planned again when another writer inserted one of its runs
#: between our look at the target and our write (two syncs at once).
_CONFLICT_RETRIES = 3

_UPDATE_RUN_UNLESS_FINISHED = (
    runs.update()
    .where(runs.c.run_id == sa.bindparam("match_run_id"))
    .where(runs.c.status.not_in(sorted(FINISHED_STATUSES)))
)


@dataclass(frozen=True)
class SyncResult:
    """What :func:`sync_runs` did (or, for a dry run, would do).

    Attributes:
        copied: runs the target did not have, now written there.
        updated: runs the target held in another state, now overwritten.
        unchanged: runs the target already held exactly so.
        skipped_running: runs ``running`` in the source that the target holds
            finished; the finished state was kept.
        sessions: bench sessions copied or updated.
        trials: bench trials copied or updated.
        dry_run: nothing was written; the counts say what would have been.
    """

    copied: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_running: int = 0
    sessions: int = 0
    trials: int = 0
    dry_run: bool = False

    @property
    def written(self) -> int:
        """Runs written (or, for a dry run, to be written) to the target."""
        return self.copied + self.updated


@dataclass(frozen=True)
class SyncProgress:
    """How far a sync is, for a progress bar.

    Attributes:
        done: source runs looked at so far.
        total: source runs to look at (those matching the filter).
    """

    done: int
    total: int


@dataclass(frozen=True)
class SyncReport:
    """What :func:`sync_to` did, for the command to print.

    Attributes:
        source: the source ledger's URL, password masked.
        target: the target ledger's URL, password masked.
        result: the run and bench counts; all zero when source and target are
            the same ledger (only the spool is delivered then).
        same_ledger: the source is the target itself.
        spooled: runs that were waiting in the local spool for the target.
        delivered: of those, how many are no longer waiting (delivered, or
            superseded by a finished state already there); for a dry run, 0.
        bad_spool_files: spooled files this sync could not deliver, set aside in quarantine
            (with why).
        quarantined: every file in the target's spool quarantine (from this sync or
            an earlier delivery), with why; see :func:`zuinig.ledger.spool.quarantined`.
    """

    source: str
    target: str
    result: SyncResult
    same_ledger: bool = False
    spooled: int = 0
    delivered: int = 0
    bad_spool_files: list[tuple[Path, str]] = field(default_factory=list)
    quarantined: list[QuarantinedFile] = field(default_factory=list)


# -- the library call -----------------------------------------------------------------------


def sync_runs(
    source: Ledger,
    target: Ledger,
    *,
    run_filter: RunFilter | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[SyncProgress], None] | None = None,
) -> SyncResult:
    """Copy the runs of ``source`` (and their tags) into ``target``, idempotent by run id.

    Bench sessions and their trials are copied too, unless the filter selects
    runs by job, tag or status (a session spans many jobs); a time filter
    (``month``, ``since``, ``until``) selects the sessions that started then.

    Args:
        source: the ledger to copy from; it is only read.
        target: the ledger to copy to.
        run_filter: which runs to copy (``job``, ``tags``, ``month``, ``since``,
            ``until``, ``status``, ``top_level_only``); all by default. ``limit``
            is refused: a sync that stops at an arbitrary run would look complete.
        dry_run: only count what would be written.
        batch_size: runs per read-compare-write step.
        progress: called after each step with the runs looked at so far.

    Returns:
        The counts; see :class:`SyncResult`.

    Raises:
        UsageError: the filter has a ``limit``, is invalid, or ``batch_size`` < 1.
        LedgerError: a ledger cannot be read or written. Batches written before
            the failure stay written; running the sync again finishes the job.
    """
    run_filter = run_filter or RunFilter()
    if run_filter.limit is not None:
        raise UsageError("a sync copies every matching run; leave out the limit")
    if batch_size < 1:
        raise UsageError(f"batch_size must be 1 or more, got {batch_size}")
    return _sync(source, _Target(target), run_filter, dry_run, batch_size, progress)


def sync_to(
    to_url: str,
    *,
    from_url: str | None = None,
    settings: Settings | None = None,
    run_filter: RunFilter | None = None,
    dry_run: bool = False,
    progress: Callable[[SyncProgress], None] | None = None,
) -> SyncReport:
    """``zuinig ledger sync``: deliver the local spool for ``to_url``, then copy runs there.

    Args:
        to_url: the target ledger (typically the team's PostgreSQL ledger). The
            spool is matched by this URL with its password masked, so give the
            URL the jobs wrote to (the password may differ).
        from_url: the source ledger; by default your ledger (``--ledger``,
            ``ZUINIG_LEDGER``, settings, or the local SQLite file). When that is
            the target itself, only the spool is delivered.
        settings: settings that name your ledger; read as usual when ``None``.
        run_filter: which runs to copy; see :func:`sync_runs`.
        dry_run: write nothing; count what would be written. The target's
            schema is not created or upgraded either.
        progress: see :func:`sync_runs`.

    Returns:
        What was done (or, for a dry run, would be), with both URLs masked.

    Raises:
        LedgerURLError: a URL is malformed.
        UsageError: the filter is not allowed for a sync.
        LedgerError: a ledger cannot be opened, read or written, or spooled runs
            could not be delivered (they stay in the spool).
    """
    from zuinig.ledger import spool
    from zuinig.ledger.urls import configured_ledger_url

    if from_url is None:
        if settings is None:
            from zuinig.config import load_settings

            settings = load_settings()
        from_url = configured_ledger_url(settings.ledger)
    run_filter = run_filter or RunFilter()
    if run_filter.limit is not None:
        raise UsageError("a sync copies every matching run; leave out the limit")
    same = same_database(from_url, to_url)
    spooled = spool.pending_count(to_url)
    quarantined_before = {item.path for item in spool.quarantined(to_url)}
    shown_source, shown_target = display_url(from_url), display_url(to_url)

    if dry_run:
        result = SyncResult(dry_run=True)
        if not same:
            with Ledger.open(from_url) as source:
                peeked = _peek(to_url)
                try:
                    result = _sync(source, peeked, run_filter, True, BATCH_SIZE, progress)
                finally:
                    peeked.close()
        return SyncReport(
            shown_source, shown_target, result, same, spooled, 0, [], spool.quarantined(to_url)
        )

    # Opening the target delivers its spool already (quietly); draining again here
    # makes a failure to deliver an error of this command instead of a log line.
    with Ledger.open(to_url) as target:
        drained = target.drain_spool()
        if same:
            result = SyncResult()
        else:
            with Ledger.open(from_url) as source:
                result = sync_runs(source, target, run_filter=run_filter, progress=progress)
    left = spool.pending_count(to_url)
    quarantined = spool.quarantined(to_url)
    # Set aside now, by this drain or by the quiet one of opening the target.
    newly = [item for item in quarantined if item.path not in quarantined_before]
    bad = [(item.path, item.reason) for item in newly] or drained.bad
    return SyncReport(
        shown_source,
        shown_target,
        result,
        same,
        spooled,
        max(spooled - left - len(bad), 0),
        bad,
        quarantined,
    )


def same_database(first: str, second: str) -> bool:
    """Whether two ledger URLs name the same database (passwords aside).

    SQLite file paths are compared resolved, so ``./ledger.sqlite`` and its
    absolute path match.

    Args:
        first: a ledger URL.
        second: another ledger URL.

    Returns:
        ``True`` when both name one database.
    """
    try:
        one, two = make_url(first), make_url(second)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        return display_url(first) == display_url(second)
    if one.get_backend_name() == "sqlite" and two.get_backend_name() == "sqlite":
        if not one.database or not two.database:
            return False
        return Path(one.database).resolve() == Path(two.database).resolve()
    return display_url(first) == display_url(second)


def format_sync(report: SyncReport) -> list[str]:
    """One or two lines saying what :func:`sync_to` did (passwords masked).

    Args:
        report: what :func:`sync_to` returned.

    Returns:
        The lines, without line ends.
    """
    result = report.result
    would = "would be " if result.dry_run else ""
    lines = []
    if report.same_ledger:
        lines.append(
            f"{report.target} is your ledger itself: no runs to copy, only the spool to deliver"
        )
    else:
        parts = [f"{result.copied} {would}copied", f"{result.updated} {would}updated"]
        parts.append(f"{result.unchanged} already there")
        if result.skipped_running:
            parts.append(f"{result.skipped_running} still running here but finished there: kept")
        looked = result.written + result.unchanged + result.skipped_running
        head = "dry run: " if result.dry_run else ""
        line = (
            f"{head}{_plural(looked, 'run')} from {report.source} to {report.target}: "
            + ", ".join(parts)
        )
        if result.sessions or result.trials:
            line += (
                f"; {_plural(result.sessions, 'bench session')} and "
                f"{_plural(result.trials, 'trial')} {would}copied"
            )
        lines.append(line)
    if report.spooled or report.bad_spool_files:
        if result.dry_run:
            spool_line = (
                f"{_plural(report.spooled, 'run')} kept in the local spool would be delivered"
            )
        else:
            spool_line = f"{_plural(report.delivered, 'run')} kept in the local spool delivered"
            waiting = report.spooled - report.delivered - len(report.bad_spool_files)
            if waiting > 0:
                spool_line += f", {waiting} still waiting"
        if report.bad_spool_files:
            spool_line += (
                f"; {_plural(len(report.bad_spool_files), 'spool file')} could not be "
                "delivered and went to quarantine"
            )
        lines.append(spool_line)
    elif report.same_ledger:
        lines.append("nothing was waiting in the local spool")
    if report.quarantined:
        lines.append(format_quarantined(report.quarantined))
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# -- the target side ------------------------------------------------------------------------


class _Target:
    """The target ledger, or for a dry run a ledger whose schema is not made yet.

    Args:
        ledger: the open target; ``None`` for a database without zuinig's tables
            (a dry run into a new database: every run would be copied).
        has_bench: the target has the bench tables (schema 0002 or later).
    """

    def __init__(self, ledger: Ledger | None, *, has_bench: bool = True) -> None:
        self.ledger = ledger
        self.has_bench = has_bench and ledger is not None

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()

    def stored_runs(self, ids: Sequence[str]) -> dict[str, Run]:
        if self.ledger is None or not ids:
            return {}
        with self.ledger._reading() as connection:
            rows = connection.execute(sa.select(runs).where(runs.c.run_id.in_(ids))).all()
            tags = _tags_of(connection, [row.run_id for row in rows])
        return {row.run_id: _row_to_run(row._mapping, tags.get(row.run_id, {})) for row in rows}

    def stored_session(self, session_id: str) -> tuple[BenchSession | None, dict[str, BenchTrial]]:
        if self.ledger is None or not self.has_bench:
            return None, {}
        with self.ledger._reading() as connection:
            row = connection.execute(
                sa.select(bench_sessions).where(bench_sessions.c.session_id == session_id)
            ).first()
            trials = connection.execute(
                sa.select(bench_trials).where(bench_trials.c.session_id == session_id)
            ).all()
        session = _row_to_session(row._mapping) if row is not None else None
        return session, {trial.trial_id: _row_to_trial(trial._mapping) for trial in trials}


def _peek(url: str) -> _Target:
    """The ledger at ``url`` for a dry run: read only, nothing created, nothing delivered."""
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return _Target(None)  # connecting would create the file
    engine = _create_engine(parsed)
    ledger = Ledger(engine, url)
    try:
        with ledger._reading() as connection:
            made = sa.inspect(connection).has_table(VERSION_TABLE)
            version = (
                connection.execute(
                    sa.select(sa.column("version_num")).select_from(sa.table(VERSION_TABLE))
                ).scalar()
                if made
                else None
            )
        if version is not None and version not in SCHEMA_REVISIONS:
            ledger._refuse_newer(str(version))
    except BaseException:
        ledger.close()
        raise
    if not made:
        ledger.close()  # after the connection went back to the pool, so dispose closes it
        return _Target(None)
    return _Target(ledger, has_bench=version is not None and version >= "0002")


# -- one sync -------------------------------------------------------------------------------


@dataclass
class _Counts:
    copied: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_running: int = 0

    def add(self, other: _Counts) -> None:
        self.copied += other.copied
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped_running += other.skipped_running


def _sync(
    source: Ledger,
    target: _Target,
    run_filter: RunFilter,
    dry_run: bool,
    batch_size: int,
    progress: Callable[[SyncProgress], None] | None,
) -> SyncResult:
    total = source.count_runs(run_filter)
    counts = _Counts()
    done = 0
    for batch in _source_batches(source, run_filter, batch_size):
        counts.add(put_batch(target, batch, dry_run=dry_run))
        done += len(batch)
        if progress is not None:
            progress(SyncProgress(done=done, total=max(total, done)))
    sessions = trials = 0
    if _copies_bench(run_filter):
        sessions, trials = _sync_bench(source, target, run_filter, dry_run)
    return SyncResult(
        copied=counts.copied,
        updated=counts.updated,
        unchanged=counts.unchanged,
        skipped_running=counts.skipped_running,
        sessions=sessions,
        trials=trials,
        dry_run=dry_run,
    )


def _source_batches(source: Ledger, run_filter: RunFilter, batch_size: int) -> Iterator[list[Run]]:
    """Pages of the source's runs as stored (a dead ``running`` run stays ``running``).

    Keyset pagination on the primary key: each page is one indexed range query,
    however far into the ledger, and runs written meanwhile cannot shift a page.
    A page may come out smaller (even empty) after the live-status filter.
    """
    query = source._query(run_filter)
    after: str | None = None
    while True:
        statement = sa.select(runs).where(*query.conditions)
        if after is not None:
            statement = statement.where(runs.c.run_id > after)
        statement = statement.order_by(runs.c.run_id).limit(batch_size)
        with source._reading() as connection:
            rows = connection.execute(statement).all()
            if not rows:
                return
            tags = _tags_of(connection, [row.run_id for row in rows])
        after = rows[-1].run_id
        if query.live_status is not None:
            rows = source._with_live_status(rows, query.live_status)
        yield [_row_to_run(row._mapping, tags.get(row.run_id, {})) for row in rows]


def _tags_of(connection: Connection, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    tags: dict[str, dict[str, str]] = {}
    for start in range(0, len(ids), BATCH_SIZE):
        for run_id, key, value in connection.execute(
            sa.select(run_tags.c.run_id, run_tags.c.key, run_tags.c.value).where(
                run_tags.c.run_id.in_(ids[start : start + BATCH_SIZE])
            )
        ):
            tags.setdefault(run_id, {})[key] = value
    return tags


@dataclass
class _Plan:
    new: list[Run] = field(default_factory=list)
    changed: list[Run] = field(default_factory=list)
    unchanged: int = 0
    skipped_running: int = 0


def put_batch(
    target: Ledger | _Target,
    batch: Sequence[Run],
    *,
    dry_run: bool = False,
    keep_stored: Callable[[Run, Run], bool] | None = None,
) -> _Counts:
    """Write ``batch`` into ``target`` as :meth:`Ledger.put_run` would, in one transaction.

    Shared with the CodeCarbon importer.

    Args:
        target: the ledger to write to.
        batch: the runs; a few hundred at most (one ``IN`` list each way).
        dry_run: only count.
        keep_stored: ``keep_stored(stored, new)`` may say that a stored run wins
            over a differing new state (counted as unchanged); it also chooses
            between two states of one run id within ``batch`` (without it, the
            last one counts; the other is counted as unchanged).

    Returns:
        Runs copied, updated, unchanged and kept finished.

    Raises:
        LedgerError: the target cannot be read or written (nothing of this batch
            is written then).
    """
    wrapped = target if isinstance(target, _Target) else _Target(target)
    chosen: dict[str, Run] = {}
    # As the target will store them, so a run is compared with what it holds (and a
    # run with unstorable text is not "changed" again on every sync).
    for run in map(storable_run, batch):
        previous = chosen.get(run.run_id)
        if previous is None or keep_stored is None or not keep_stored(previous, run):
            chosen[run.run_id] = run
    unique = list(chosen.values())
    repeated = len(batch) - len(unique)
    for attempt in range(1, _CONFLICT_RETRIES + 1):
        plan = _plan(unique, wrapped.stored_runs([run.run_id for run in unique]), keep_stored)
        plan.unchanged += repeated
        if dry_run or (not plan.new and not plan.changed):
            return _Counts(len(plan.new), len(plan.changed), plan.unchanged, plan.skipped_running)
        assert wrapped.ledger is not None
        try:
            return _write_plan(wrapped.ledger, plan)
        except LedgerError as error:
            # Another writer inserted one of our "new" runs after we looked: look again.
            if attempt == _CONFLICT_RETRIES or not isinstance(
                error.__cause__, sa.exc.IntegrityError
            ):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _plan(
    batch: Sequence[Run],
    stored: Mapping[str, Run],
    keep_stored: Callable[[Run, Run], bool] | None,
) -> _Plan:
    plan = _Plan()
    for run in batch:
        if run.status == STATUS_INTERRUPTED:
            # Only ever shown, never stored: the stored state of such a run is running.
            run = dataclasses.replace(run, status=STATUS_RUNNING)
        there = stored.get(run.run_id)
        if there is None:
            plan.new.append(run)
        elif there == run:
            plan.unchanged += 1
        elif run.status == STATUS_RUNNING and there.status in FINISHED_STATUSES:
            plan.skipped_running += 1
        elif keep_stored is not None and keep_stored(there, run):
            plan.unchanged += 1
        else:
            plan.changed.append(run)
    return plan


def _write_plan(ledger: Ledger, plan: _Plan) -> _Counts:
    new_rows = [ledger._row(run) for run in plan.new]  # validates each status
    new_tags = [tag for run in plan.new for tag in _tag_rows(run)]
    changes = [(run, ledger._row(run), _tag_rows(run)) for run in plan.changed]
    outcome = _Counts()

    def write(connection: Connection) -> None:
        outcome.copied, outcome.updated, outcome.skipped_running = len(new_rows), 0, 0
        if new_rows:
            connection.execute(runs.insert(), new_rows)
            if new_tags:
                connection.execute(run_tags.insert(), new_tags)
        for run, row, tags in changes:
            values = {name: value for name, value in row.items() if name != "run_id"}
            values["match_run_id"] = run.run_id
            # The condition makes "a running state never overwrites a finished one"
            # hold even if the run finished there after we looked.
            statement = _UPDATE_RUN_UNLESS_FINISHED if run.status == STATUS_RUNNING else _UPDATE_RUN
            if connection.execute(statement, values).rowcount == 0:
                if run.status == STATUS_RUNNING:
                    outcome.skipped_running += 1
                    continue
                connection.execute(runs.insert(), row)  # deleted there meanwhile
                outcome.copied += 1
            else:
                connection.execute(_DELETE_TAGS, {"match_run_id": run.run_id})
                outcome.updated += 1
            if tags:
                connection.execute(run_tags.insert(), tags)

    ledger._write(write, f"copy {_plural(len(new_rows) + len(changes), 'run')}")
    outcome.unchanged = plan.unchanged
    return outcome


# -- bench sessions and trials --------------------------------------------------------------


def _copies_bench(run_filter: RunFilter) -> bool:
    # A session spans many runs and jobs; only a whole-ledger or time-bounded sync
    # can say which sessions belong to it.
    return (
        run_filter.job is None
        and not run_filter.tags
        and run_filter.status is None
        and not run_filter.top_level_only
    )


def _sync_bench(
    source: Ledger, target: _Target, run_filter: RunFilter, dry_run: bool
) -> tuple[int, int]:
    conditions: list[sa.ColumnElement[bool]] = []
    if run_filter.month is not None:
        from zuinig.ledger.store import month_bounds

        start, end = month_bounds(run_filter.month)
        conditions += [bench_sessions.c.started_at >= start, bench_sessions.c.started_at < end]
    if run_filter.since is not None:
        conditions.append(bench_sessions.c.started_at >= run_filter.since)
    if run_filter.until is not None:
        conditions.append(bench_sessions.c.started_at < run_filter.until)
    with source._reading() as connection:
        ids = (
            connection.execute(
                sa.select(bench_sessions.c.session_id)
                .where(*conditions)
                .order_by(bench_sessions.c.session_id)
            )
            .scalars()
            .all()
        )
    sessions = trials = 0
    for session_id in ids:
        session, source_trials = _source_session(source, session_id)
        there, target_trials = target.stored_session(session_id)
        write_session = there is None or (
            there != session
            and not (session.status == STATUS_RUNNING and there.status != STATUS_RUNNING)
        )
        changed = [
            trial
            for trial_id, trial in source_trials.items()
            if target_trials.get(trial_id) != trial
        ]
        if not write_session and not changed:
            continue
        sessions += int(write_session)
        trials += len(changed)
        if not dry_run:
            assert target.ledger is not None
            _write_session(target.ledger, session if write_session else None, there, changed)
    return sessions, trials


def _source_session(source: Ledger, session_id: str) -> tuple[BenchSession, dict[str, BenchTrial]]:
    with source._reading() as connection:
        row = connection.execute(
            sa.select(bench_sessions).where(bench_sessions.c.session_id == session_id)
        ).one()
        trials = connection.execute(
            sa.select(bench_trials).where(bench_trials.c.session_id == session_id)
        ).all()
    return _row_to_session(row._mapping), {
        trial.trial_id: _row_to_trial(trial._mapping) for trial in trials
    }


def _write_session(
    ledger: Ledger,
    session: BenchSession | None,
    there: BenchSession | None,
    trials: Sequence[BenchTrial],
) -> None:
    session_row = _session_to_row(session) if session is not None else None
    trial_rows: list[dict[str, Any]] = [_trial_to_row(trial) for trial in trials]
    ids = [row["trial_id"] for row in trial_rows]

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
        for start in range(0, len(ids), BATCH_SIZE):
            connection.execute(
                bench_trials.delete().where(
                    bench_trials.c.trial_id.in_(ids[start : start + BATCH_SIZE])
                )
            )
        if trial_rows:
            connection.execute(bench_trials.insert(), trial_rows)

    session_id = session.session_id if session is not None else (there.session_id if there else "")
    ledger._write(write, f"copy bench session {session_id}", "is a trial id used twice?")


# -- a progress bar for the command ---------------------------------------------------------


@contextlib.contextmanager
def terminal_progress() -> Iterator[Callable[[SyncProgress], None]]:
    """A progress callback for the command: a rich bar on stderr when it is a terminal.

    Yields a function taking :class:`SyncProgress`; it does nothing when stderr is
    not a terminal (a pipe, a log file, a test), so scripts get only the summary.
    """
    try:
        interactive = bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        interactive = False
    if not interactive:
        yield lambda step: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("syncing runs"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as shown:
        task = shown.add_task("sync", total=None)

        def update(step: SyncProgress) -> None:
            shown.update(task, completed=step.done, total=step.total)

        yield update
