"""The ledger: runs and bench sessions in a database behind a SQLAlchemy URL.

:class:`Ledger` is the facade; the work is done per concern in

- :mod:`zuinig.ledger.db`: URL checks, the engine, read and write transactions,
  the schema check (and why SQLite is set up as it is);
- :mod:`zuinig.ledger.rows`: records to rows and back;
- :mod:`zuinig.ledger.runs`: writing and reading runs;
- :mod:`zuinig.ledger.summaries`: grouped sums over runs;
- :mod:`zuinig.ledger.benches`: bench sessions and trials.

This module keeps the import path callers use (``zuinig.ledger.store``) for
:class:`Ledger` and the names that go with its methods: :func:`month_bounds`,
:func:`display_url`, :func:`missing_sqlite_file`, :class:`RunGroup`,
:data:`GROUP_BY_MONTH` and :data:`GROUP_BY_TAG`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from zuinig.config import Settings
from zuinig.errors import LedgerError
from zuinig.ledger import benches, runs, summaries
from zuinig.ledger.db import (
    Database,
    create_engine,
    display_url,
    missing_sqlite_file,
    month_bounds,
    parse_url,
)
from zuinig.ledger.model import BenchSession, BenchTrial, Run, RunBrief, RunFilter
from zuinig.ledger.runs import StartedTags
from zuinig.ledger.summaries import GROUP_BY_MONTH, GROUP_BY_TAG, RunGroup
from zuinig.ledger.urls import configured_ledger_url

# default_ledger_url lives in urls (no SQLAlchemy needed); re-exported for callers of the store.
from zuinig.ledger.urls import default_ledger_url as default_ledger_url

if TYPE_CHECKING:
    from zuinig.ledger.spool import DrainResult

__all__ = [
    "GROUP_BY_MONTH",
    "GROUP_BY_TAG",
    "Ledger",
    "RunGroup",
    "default_ledger_url",
    "display_url",
    "missing_sqlite_file",
    "month_bounds",
]

log = logging.getLogger(__name__)


class Ledger:
    """A store of runs behind a SQLAlchemy URL.

    Open with :meth:`open`; use as a context manager or call :meth:`close`. A
    ledger object may be shared by the threads of one process.

    Attributes:
        url: the URL it was opened with (may hold a password: show
            :attr:`display_url` instead).
        database: the database it works on (engine, transactions), for the
            functions of :mod:`zuinig.ledger.runs` and :mod:`zuinig.ledger.benches`.
    """

    url: str

    def __init__(self, engine: Engine, url: str) -> None:
        """Use :meth:`open`; this wraps an engine whose schema is already checked."""
        self.url = url
        self.database = Database(engine, url)
        # Tags written by start_run, per run id, so that finish_run can skip rewriting
        # unchanged tags (two statements of a run's write). Dict operations are atomic
        # in CPython, so threads may share the ledger.
        self._started_tags: StartedTags = {}

    @classmethod
    def open(cls, url: str | None = None, *, settings: Settings | None = None) -> Ledger:
        """Open (creating and migrating as needed) the ledger at ``url``.

        ``url`` wins over ``settings.ledger``, which wins over :func:`default_ledger_url`.
        With neither ``url`` nor ``settings``, settings are read as usual (file,
        ``ZUINIG_LEDGER``), so the ledger the user configured is the one opened.
        Runs kept in the spool for this URL (see :mod:`zuinig.ledger.spool`) are
        delivered; a failure to deliver them is logged, not raised.

        Raises LedgerURLError for a malformed URL or unknown backend, LedgerError when
        the database cannot be reached or was made by a newer zuinig.
        """
        if url is None:
            if settings is None:
                from zuinig.config import load_settings

                settings = load_settings()
            url = configured_ledger_url(settings.ledger)
        engine = create_engine(parse_url(url))
        ledger = cls(engine, url)
        try:
            ledger.database.ensure_schema()
        except BaseException:
            engine.dispose()
            raise
        ledger._drain_quietly()
        return ledger

    @property
    def display_url(self) -> str:
        """The URL with any password masked."""
        return self.database.shown

    def __repr__(self) -> str:
        return f"Ledger({self.database.shown!r})"

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release connections."""
        self.database.close()

    # -- runs -----------------------------------------------------------------------

    def start_run(self, run: Run) -> None:
        """Insert ``run`` (status ``running``). Raises LedgerError.

        A run id already in the ledger is an error: ids are unique per run.
        """
        runs.start_run(self.database, run, self._started_tags)

    def finish_run(self, run: Run) -> None:
        """Write the final state of ``run`` (status ``ok`` or ``error``), inserting it if
        its start was never written. Raises LedgerError.

        Every column is overwritten and the tags are replaced by ``run.tags``.
        """
        runs.finish_run(self.database, run, self._started_tags)

    def put_run(self, run: Run) -> bool:
        """Insert or update ``run`` idempotently by ``run_id``, as :meth:`finish_run`,
        except that a ``running`` state never overwrites a finished (``ok``/``error``)
        row: a state kept from a run's start must not undo its recorded end.

        Used to deliver spooled runs and by sync/import. Safe to call for the same
        run from several processes at once (two drains of one spool): no duplicate
        row, no conflict error, and a finished state always wins. Raises LedgerError.

        Returns:
            Whether the row was written (``False``: a finished row was kept).
        """
        return runs.put_run(self.database, run, self._started_tags)

    def drain_spool(self, *, root: Path | None = None) -> DrainResult:
        """Deliver runs kept in the spool for this ledger's URL (see :mod:`zuinig.ledger.spool`).

        Idempotent by ``run_id``; delivered files are removed.

        Args:
            root: spool root; the user data directory's ``spool`` by default.

        Raises:
            LedgerError: the ledger could not be written; undelivered files stay.
        """
        from zuinig.ledger import spool

        return spool.drain(self, root=root)

    def _drain_quietly(self) -> None:
        from zuinig.ledger import spool

        if not spool.has_pending(self.url):
            return
        try:
            result = spool.drain(self)
        except LedgerError as error:
            log.warning("spooled runs stay in the spool for now: %s", error)
            return
        if result.delivered:
            log.info("delivered %d spooled run(s) to %s", result.delivered, self.database.shown)

    def get_run(self, run_id: str) -> Run:
        """The run with this id (or unique id prefix). Raises RunNotFoundError.

        Raises:
            RunNotFoundError: no run has this id or prefix.
            AmbiguousRunIdError: the prefix matches more than one run.
        """
        return runs.get_run(self.database, run_id)

    def list_runs(self, run_filter: RunFilter | None = None) -> list[Run]:
        """Runs matching the filter, newest first; ``running`` rows whose process is
        gone come back with status ``interrupted``.

        Raises:
            UsageError: the filter is invalid (bad month, unknown status, negative limit).
            LedgerError: the ledger cannot be read.
        """
        return runs.list_runs(self.database, run_filter or RunFilter())

    def list_run_briefs(self, run_filter: RunFilter | None = None) -> list[RunBrief]:
        """Runs matching the filter as :class:`~zuinig.ledger.model.RunBrief` (the fields
        advice reads), oldest first; runs that started at the same moment larger run id
        first, as a stable sort by start time of :meth:`list_runs`' order gives them
        (``limit`` keeps the newest). ``running`` rows whose process is gone come back
        ``interrupted``.

        For ledgers of millions of runs: only those columns are read, times are parsed
        without SQLAlchemy's per-value type processing, and each distinct ``inputs``
        and ``engines`` JSON text is parsed once (runs that share one share the parsed
        value), so a run costs a small tuple instead of a full :class:`Run`.

        Raises:
            UsageError: the filter is invalid.
            LedgerError: the ledger cannot be read.
        """
        return runs.list_run_briefs(self.database, run_filter or RunFilter())

    def count_runs(self, run_filter: RunFilter | None = None) -> int:
        """How many runs match the filter, ignoring its ``limit``.

        Raises:
            UsageError: the filter is invalid.
            LedgerError: the ledger cannot be read.
        """
        return runs.count_runs(self.database, run_filter or RunFilter())

    def summarise_runs(
        self, run_filter: RunFilter | None = None, by: Sequence[str] = ()
    ) -> list[RunGroup]:
        """Counts and sums of the runs matching the filter, grouped in the database.

        One ``GROUP BY`` query does the work on both SQLite and PostgreSQL; only rows
        still stored ``running`` are read one by one, when ``by`` holds ``status`` or
        the filter asks for ``running``/``interrupted``, so that a row whose process is
        gone is counted under ``interrupted`` (as :meth:`list_runs` shows it).

        Args:
            run_filter: which runs (its ``limit`` is ignored).
            by: group keys: a column of ``runs`` (``job``, ``kind``, ``status``,
                ``method_cpu``, ``inputs``, ...), :data:`GROUP_BY_MONTH`, or
                :data:`GROUP_BY_TAG` + a tag key. Grouping by ``inputs`` (JSON text)
                lets a caller parse each distinct input list once instead of once
                per run. No keys: one group over all matching runs (none when no
                run matches).

        Returns:
            One :class:`RunGroup` per combination of key values, in no set order.

        Raises:
            UsageError: the filter is invalid or a key is unknown.
            LedgerError: the ledger cannot be read.
        """
        return summaries.summarise_runs(self.database, run_filter or RunFilter(), by)

    def jobs(self) -> list[str]:
        """The distinct job names in the ledger, sorted."""
        return runs.jobs(self.database)

    # -- bench sessions and trials ----------------------------------------------------

    def start_bench_session(self, session: BenchSession) -> BenchSession:
        """Insert ``session`` at the start of a ``zuinig bench`` invocation.

        When ``host``, ``pid`` and ``pid_started_at`` are all ``None``, this process's
        are filled in, so that the session reads back as ``interrupted`` once this
        process is gone without finishing it.

        Args:
            session: the new session, usually with status ``running``.

        Returns:
            The session as stored (with this process's provenance filled in).

        Raises:
            LedgerError: the session id is already used, the status is not one of
                :data:`~zuinig.ledger.model.BENCH_STATUSES`, a mapping holds a value
                that is not JSON, or the ledger cannot be written.
        """
        return benches.start_bench_session(self.database, session)

    def finish_bench_session(self, session: BenchSession) -> None:
        """Write the final state of ``session`` (status ``ok``, ``interrupted`` or
        ``error``, its ``results`` and ``ended_at``), inserting it if its start was
        never written.

        Every field is overwritten, except that ``host``, ``pid`` and
        ``pid_started_at`` keep their stored values when all three are ``None`` in
        ``session`` (as when the runner kept the object it passed to
        :meth:`start_bench_session`).

        Raises:
            LedgerError: the status is not one of the bench statuses, a mapping holds
                a value that is not JSON, or the ledger cannot be written.
        """
        benches.finish_bench_session(self.database, session)

    def add_bench_trials(self, trials: Sequence[BenchTrial]) -> None:
        """Store ``trials`` in one transaction: all of them or none.

        A trial id already stored is replaced, so writing the same trial again (a
        retry) is harmless. Each trial's run (``run_id``) is written separately,
        with :meth:`start_run`/:meth:`finish_run` or :meth:`put_run`; it may come
        before or after its trial.

        Raises:
            LedgerError: a trial's session is not in the ledger (start it first), a
                phase or status is unknown, or the ledger cannot be written.
        """
        benches.add_bench_trials(self.database, trials)

    def get_bench_session(self, session_id: str) -> BenchSession:
        """The bench session with this id (or unique id prefix).

        A ``running`` session whose process is gone comes back ``interrupted``.

        Raises:
            BenchSessionNotFoundError: no session has this id or prefix.
            AmbiguousBenchSessionIdError: the prefix matches more than one session.
            LedgerError: the ledger cannot be read.
        """
        return benches.get_bench_session(self.database, session_id)

    def list_bench_sessions(
        self, limit: int | None = None, workload: str | None = None
    ) -> list[BenchSession]:
        """Bench sessions, newest first; ``running`` ones whose process is gone
        come back ``interrupted``.

        Args:
            limit: at most this many; ``None`` for all.
            workload: only sessions of this workload (``tpch``, ``groupby``, ``user``).

        Raises:
            UsageError: ``limit`` is negative.
            LedgerError: the ledger cannot be read.
        """
        return benches.list_bench_sessions(self.database, limit, workload)

    def list_bench_trials(self, session_id: str) -> list[BenchTrial]:
        """The trials of a bench session (id or unique id prefix), in the order
        they started (trials without a start time first), then by trial id.

        Raises:
            BenchSessionNotFoundError: no session has this id or prefix.
            AmbiguousBenchSessionIdError: the prefix matches more than one session.
            LedgerError: the ledger cannot be read.
        """
        return benches.list_bench_trials(self.database, session_id)
