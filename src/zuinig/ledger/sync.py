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

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from zuinig.errors import LedgerError, UsageError
from zuinig.ledger import benches, runs
from zuinig.ledger.db import Database, display_url, month_bounds
from zuinig.ledger.model import (
    STATUS_INTERRUPTED,
    STATUS_RUNNING,
    BenchSession,
    BenchTrial,
    Run,
    RunFilter,
    as_utc,
)
from zuinig.ledger.rows import FINISHED_STATUSES
from zuinig.ledger.spool import QuarantinedFile
from zuinig.ledger.storable import storable_run
from zuinig.ledger.store import Ledger

if TYPE_CHECKING:
    from zuinig.config import Settings

#: Runs read, compared and written per transaction. Well below the bound-parameter
#: limits of SQLite and PostgreSQL for the ``IN (...)`` lists it needs.
BATCH_SIZE = 500
#: Times a batch is planned again when another writer inserted one of its runs
#: between our look at the target and our write (two syncs at once).
_CONFLICT_RETRIES = 3


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
    """How far a sync is, for a progress bar (the CLI draws it).

    Attributes:
        done: source runs looked at so far.
        total: source runs to look at (those matching the filter).
    """

    done: int
    total: int


@dataclass(frozen=True)
class SyncReport:
    """What :func:`sync_to` did, for the command to word and print.

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
    return _sync(source, _Target(target.database), run_filter, dry_run, batch_size, progress)


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


# -- the target side ------------------------------------------------------------------------


class _Target:
    """The target ledger, or for a dry run a ledger whose schema is not made yet.

    Args:
        database: the open target; ``None`` for a database without zuinig's tables
            (a dry run into a new database: every run would be copied).
        has_bench: the target has the bench tables (schema 0002 or later).
    """

    def __init__(self, database: Database | None, *, has_bench: bool = True) -> None:
        self.database = database
        self.has_bench = has_bench and database is not None

    def close(self) -> None:
        if self.database is not None:
            self.database.close()

    def stored_runs(self, ids: Sequence[str]) -> dict[str, Run]:
        if self.database is None:
            return {}
        return runs.stored_runs(self.database, ids)

    def stored_session(self, session_id: str) -> tuple[BenchSession | None, dict[str, BenchTrial]]:
        if self.database is None or not self.has_bench:
            return None, {}
        return benches.stored_session(self.database, session_id)


def _peek(url: str) -> _Target:
    """The ledger at ``url`` for a dry run: read only, nothing created, nothing delivered."""
    database = Database.connect(url)
    path = database.engine.url.database
    if database.is_sqlite and not Path(path or "").exists():
        database.close()
        return _Target(None)  # connecting would create the file
    try:
        version = database.schema_version()
    except BaseException:
        database.close()
        raise
    if version is None:
        database.close()  # after the connection went back to the pool, so dispose closes it
        return _Target(None)
    return _Target(database, has_bench=version >= "0002")


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
    for batch in runs.stored_run_pages(source.database, run_filter, batch_size):
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
    wrapped = target if isinstance(target, _Target) else _Target(target.database)
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
        assert wrapped.database is not None
        try:
            written = runs.write_runs(wrapped.database, plan.new, plan.changed)
        except LedgerError as error:
            # Another writer inserted one of our "new" runs after we looked: look again.
            if attempt == _CONFLICT_RETRIES or not isinstance(
                error.__cause__, sa.exc.IntegrityError
            ):
                raise
            continue
        return _Counts(written.copied, written.updated, plan.unchanged, written.skipped_running)
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
    since, until = _session_window(run_filter)
    sessions = trials = 0
    for session_id in benches.stored_session_ids(source.database, since, until):
        session, source_trials = benches.stored_session(source.database, session_id)
        if session is None:
            continue  # deleted since it was listed
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
            assert target.database is not None
            benches.write_session(
                target.database, session_id, session if write_session else None, changed
            )
    return sessions, trials


def _session_window(run_filter: RunFilter) -> tuple[datetime | None, datetime | None]:
    """``[since, until)`` of the sessions a time-bounded sync copies (either end open)."""
    starts = [as_utc(run_filter.since)] if run_filter.since is not None else []
    ends = [as_utc(run_filter.until)] if run_filter.until is not None else []
    if run_filter.month is not None:
        start, end = month_bounds(run_filter.month)
        starts.append(start)
        ends.append(end)
    return (max(starts) if starts else None, min(ends) if ends else None)
