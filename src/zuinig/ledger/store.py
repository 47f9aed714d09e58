"""The ledger store: runs kept in a database behind a SQLAlchemy URL.

SQLite (the default, one file in the user data directory) and PostgreSQL (for a
team) are both first-class; the SQL is portable Core. Design points:

- **Cheap to open.** Opening an up-to-date ledger costs one query; Alembic is
  imported only to create or upgrade a schema (see :mod:`zuinig.ledger.migrate`).
- **Many writers.** SQLite runs in WAL mode, so readers never block writers;
  every write transaction starts with ``BEGIN IMMEDIATE``, so a writer queues on
  the busy timeout up front instead of failing with "database is locked" when it
  tries to upgrade a read lock halfway through.
- **Cheap to write.** One pooled connection per process, reused for every run;
  ``synchronous=NORMAL`` in WAL mode commits without an fsync (durable at the
  next checkpoint; a crash of the OS, not of the process, could lose the latest
  runs). One run start or finish is one short transaction.
- **Fork-safe.** A forked child drops the parent's pooled connections without
  closing them (closing would disturb the parent's) and opens its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import itertools
import json
import logging
import operator
import os
import re
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from zuinig.config import Settings
from zuinig.errors import (
    AmbiguousBenchSessionIdError,
    AmbiguousRunIdError,
    BenchSessionNotFoundError,
    LedgerError,
    LedgerURLError,
    RunNotFoundError,
    UsageError,
)
from zuinig.ledger.model import (
    BENCH_STATUSES,
    STATUS_ERROR,
    STATUS_INTERRUPTED,
    STATUS_OK,
    STATUS_RUNNING,
    STATUSES,
    TRIAL_PHASES,
    TRIAL_STATUSES,
    BenchSession,
    BenchTrial,
    Run,
    RunBrief,
    RunFilter,
)
from zuinig.ledger.schema import (
    BENCH_SESSION_COLUMNS,
    BENCH_TRIAL_COLUMNS,
    HEAD_REVISION,
    RUN_COLUMNS,
    SCHEMA_REVISIONS,
    VERSION_TABLE,
    UTCDateTime,
    bench_sessions,
    bench_trials,
    run_tags,
    runs,
)

# default_ledger_url lives in urls (no SQLAlchemy needed); re-exported for callers of the store.
from zuinig.ledger.storable import UnstorableRunError, storable, storable_run, storable_text
from zuinig.ledger.urls import SECRET_QUERY_KEYS, configured_ledger_url
from zuinig.ledger.urls import default_ledger_url as default_ledger_url
from zuinig.meter.base import InputFile

if TYPE_CHECKING:
    from typing import TypeAlias

    from zuinig.ledger.liveness import LivenessCache
    from zuinig.ledger.spool import DrainResult

    _AnyRow: TypeAlias = sa.Row[*tuple[Any, ...]]

log = logging.getLogger(__name__)

#: How long a SQLite writer waits for another writer's transaction before failing (s).
#: A run's write holds the lock for well under a millisecond, so this is only reached
#: when something is badly stuck (a long checkpoint on a slow network disk).
SQLITE_BUSY_TIMEOUT_S = 60.0
#: How long to wait for a database server to accept a connection (s), unless the URL
#: says otherwise (``?connect_timeout=N``).
SERVER_CONNECT_TIMEOUT_S = 10
#: Helper threads SQLite may use for one sort (its default is none).
_SQLITE_SORT_THREADS = 2
_LIBPQ_DRIVERS = frozenset({"psycopg", "psycopg2"})
#: Stored states; ``interrupted`` is only ever shown, never stored.
STORED_STATUSES = (STATUS_RUNNING, STATUS_OK, STATUS_ERROR)
FINISHED_STATUSES = frozenset({STATUS_OK, STATUS_ERROR})
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
#: Bound parameters per ``IN (...)`` list, well below SQLite's and PostgreSQL's limits.
_CHUNK = 500
#: Run starts remembered for :meth:`Ledger.finish_run`'s shortcut (a bound on memory).
_REMEMBERED_STARTS = 10_000
#: Ambiguous prefixes list at most this many candidates.
_SHOWN_CANDIDATES = 5
_EXAMPLE_URLS = "sqlite:////path/to/ledger.sqlite or postgresql+psycopg://user@host/dbname"

# Statements built once: their SET columns come from the parameters, so executing them
# costs no per-call expression building (a fresh .values(...) costs about 1 ms per run).
_UPDATE_RUN = runs.update().where(runs.c.run_id == sa.bindparam("match_run_id"))
_DELETE_TAGS = run_tags.delete().where(run_tags.c.run_id == sa.bindparam("match_run_id"))
# FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers): a
# concurrent writer of the same run waits until this transaction has decided, so a
# stale ``running`` state read from the spool cannot overwrite an end committed in
# between the check and the write.
_SELECT_STATUS = (
    sa.select(runs.c.status).where(runs.c.run_id == sa.bindparam("match_run_id")).with_for_update()
)

# Engines of this process, so a forked child can drop the connections it inherited.
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_inherited_connections() -> None:
    for engine in list(_ENGINES):
        # close=False: the parent still uses these connections; the child must not
        # touch them (SQLite forbids carrying a connection across fork()).
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def display_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: safe to print and log.

    Masks the password in the authority part and in query parameters such as
    ``?password=...``. A string that is not a URL is masked as best it can be.
    """
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        # Greedy up to the last "@" before the query: a password may hold an "@".
        masked = re.sub(r"(://[^:/@]*):[^?#]*@", r"\1:***@", str(url))
        return re.sub(r"(?i)((?:password|passwd|pwd)=)[^&]*", r"\1***", masked)
    if parsed.host and "@" in parsed.host:
        # A password with an unescaped "@": SQLAlchemy ends it at the first "@" and
        # takes the rest for the host. Mask everything up to the last "@".
        parsed = parsed.set(password="***", host=parsed.host.rsplit("@", 1)[1])
    return _masked(parsed)


def _masked(parsed: URL) -> str:
    # A placeholder that URL quoting leaves alone, swapped for *** after rendering.
    placeholder = "zuinig-masked-secret"
    query = {
        key: (placeholder if key.lower() in SECRET_QUERY_KEYS else value)
        for key, value in parsed.query.items()
    }
    rendered = parsed.set(query=query).render_as_string(hide_password=True)
    return rendered.replace(placeholder, "***")


def _reason(error: BaseException, secret: str | None = None) -> str:
    """The first line of the driver's message, without SQLAlchemy's statement dump."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    text = lines[0] if lines else type(original).__name__
    if secret:
        text = text.replace(secret, "***")
    return text


def _parse_url(url: str) -> URL:
    """Parse and check ``url``; every problem becomes a one-line LedgerURLError."""
    shown = display_url(url)
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError, TypeError) as error:
        raise LedgerURLError(
            f"ledger URL {shown!r} is not a database URL; use {_EXAMPLE_URLS}"
        ) from error
    try:
        parsed.get_dialect()
    except sa.exc.NoSuchModuleError as error:
        raise LedgerURLError(
            f"ledger URL {shown!r} names an unknown database {parsed.drivername!r}; "
            f"use {_EXAMPLE_URLS}"
        ) from error
    if parsed.host and "@" in parsed.host:
        # Refused before any driver sees it: its messages would name the "host",
        # which holds the rest of the password.
        raise LedgerURLError(
            f"ledger URL {shown!r} has an '@' in its user name or password; "
            "percent-encode it as %40 (and ':' as %3A, '/' as %2F)"
        )
    if parsed.get_backend_name() == "sqlite" and not parsed.database:
        raise LedgerURLError(
            f"ledger URL {shown!r} is an in-memory SQLite database, which keeps nothing; "
            "give a file: sqlite:////path/to/ledger.sqlite"
        )
    return parsed


def missing_sqlite_file(url: str) -> Path | None:
    """The path of a SQLite ledger whose file does not exist (yet), else ``None``.

    ``None`` also for a URL that is not a SQLite file (another backend, in memory,
    a ``file:`` URI) or cannot be parsed (:meth:`Ledger.open` says what is wrong).

    Args:
        url: a ledger URL.
    """
    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def _create_engine(parsed: URL) -> Engine:
    shown = _masked(parsed)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    options: dict[str, Any] = {
        # One connection serves a single-threaded process for its whole life; a few
        # overflow connections serve threads that measure at the same moment.
        "pool_size": 1,
        "max_overflow": 4,
    }
    if is_sqlite:
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    else:
        if parsed.get_driver_name() in _LIBPQ_DRIVERS and "connect_timeout" not in parsed.query:
            # An unreachable server would otherwise hold every measured job for the OS's
            # TCP timeout (minutes) before its run is spooled.
            options["connect_args"] = {"connect_timeout": SERVER_CONNECT_TIMEOUT_S}
        # Servers drop idle connections; recycle before a typical 1 h idle timeout.
        options["pool_recycle"] = 1800
    try:
        engine = sa.create_engine(parsed, **options)
    except ImportError as error:
        raise LedgerURLError(_missing_driver_message(parsed, shown, error)) from error
    except (sa.exc.ArgumentError, TypeError, ValueError) as error:
        raise LedgerURLError(f"ledger URL {shown!r} cannot be used: {_reason(error)}") from error
    if is_sqlite:
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
    _ENGINES.add(engine)
    return engine


def _missing_driver_message(parsed: URL, shown: str, error: ImportError) -> str:
    module = error.name or str(error)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            return (
                f"ledger URL {shown!r} names no driver, so SQLAlchemy uses {module}, which is "
                "not installed; pip install 'psycopg[binary]' and write postgresql+psycopg://..."
            )
        return (
            f"ledger URL {shown!r} needs the Python module {module}, which is not installed; "
            "for postgresql+psycopg://... run pip install 'psycopg[binary]'"
        )
    return (
        f"ledger URL {shown!r} needs the Python module {module}, which is not installed; "
        "install that database driver, or use a sqlite:/// URL"
    )


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    # SQLAlchemy's recipe: stop the sqlite3 module from issuing its own (deferred) BEGIN,
    # so _sqlite_on_begin decides how each transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        _ensure_wal(cursor)
        # In WAL mode NORMAL is safe against process crashes and skips an fsync per commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Let a large GROUP BY or ORDER BY sort in a helper thread too (the monthly
        # report's grouped read of a million runs is mostly sorting).
        cursor.execute(f"PRAGMA threads = {_SQLITE_SORT_THREADS}")
    finally:
        cursor.close()


def _ensure_wal(cursor: Any) -> None:
    """Switch the file to WAL mode unless it is already (the mode is stored in the file).

    Switching needs an exclusive lock and SQLite does not wait for it on the busy
    timeout: processes opening a new ledger at the same moment get "database is
    locked" at once. So wait here, until one of them has switched it.
    """
    import sqlite3

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    pause_s = 0.001
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                return
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() == "wal":
                return
            raise sqlite3.OperationalError(f"SQLite refused WAL mode (journal mode {mode})")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if time.monotonic() > deadline:
                raise
        time.sleep(pause_s)
        pause_s = min(pause_s * 2, 0.05)


def _sqlite_on_begin(connection: Connection) -> None:
    # A write takes the write lock at BEGIN, where the busy timeout applies; a deferred
    # transaction that later writes can fail at once with "database is locked".
    # Straight to the driver: this runs for every transaction, and going through
    # exec_driver_sql would add SQLAlchemy's statement machinery to every run's write.
    driver = connection.connection.driver_connection
    assert driver is not None
    if connection.get_execution_options().get("zuinig_write"):
        driver.execute("BEGIN IMMEDIATE")
    else:
        driver.execute("BEGIN")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a ``YYYY-MM`` month in UTC.

    Raises:
        UsageError: ``month`` is not of the form ``YYYY-MM``.
    """
    match = _MONTH.fullmatch(month.strip()) if isinstance(month, str) else None
    if match is None:
        raise UsageError(f"month must look like 2026-11 (YYYY-MM), got {month!r}")
    year, number = int(match.group(1)), int(match.group(2))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class _Query:
    """A validated filter: SQL conditions plus what must be decided in Python."""

    conditions: tuple[sa.ColumnElement[bool], ...]
    #: ``running`` or ``interrupted`` when the status is decided per row in Python.
    live_status: str | None
    limit: int | None


#: :meth:`Ledger.summarise_runs` key: the ``YYYY-MM`` month (UTC) a run started in.
GROUP_BY_MONTH = "month"
#: :meth:`Ledger.summarise_runs` key prefix: ``tag:team`` groups by the value of tag ``team``.
GROUP_BY_TAG = "tag:"


@dataclass(frozen=True)
class RunGroup:
    """Sums over the runs that share one combination of :meth:`Ledger.summarise_runs`'s keys.

    Attributes:
        key: the group's values, in the order of ``by``; ``None`` where the column is
            NULL or the run has no such tag.
        runs: runs in the group (every status).
        energy_runs: runs with an energy figure (``energy_kwh`` not NULL).
        energy_kwh, co2_kg, duration_s, cpu_s: sums over the group (kWh, kg CO2e, s,
            s); a NULL adds nothing.
        range_runs: runs with an energy range (``energy_kwh_low`` not NULL).
        energy_kwh_low, energy_kwh_high, co2_kg_low, co2_kg_high: sums of those runs'
            range ends (kWh, kg CO2e); a run without a range adds nothing, so they
            bound the group's total only when ``range_runs == energy_runs``.
        market_runs: runs with a market-based CO2e (``co2_kg_market_based`` not NULL).
        co2_kg_market_based: their sum (kg CO2e, market-based: the contract's factor).
    """

    key: tuple[Any, ...]
    runs: int
    energy_runs: int
    energy_kwh: float
    co2_kg: float
    duration_s: float
    cpu_s: float
    range_runs: int = 0
    energy_kwh_low: float = 0.0
    energy_kwh_high: float = 0.0
    co2_kg_low: float = 0.0
    co2_kg_high: float = 0.0
    market_runs: int = 0
    co2_kg_market_based: float = 0.0


class Ledger:
    """A store of runs behind a SQLAlchemy URL.

    Open with :meth:`open`; use as a context manager or call :meth:`close`. A
    ledger object may be shared by the threads of one process.

    Attributes:
        url: the URL it was opened with (may hold a password: show
            :attr:`display_url` instead).
    """

    url: str

    def __init__(self, engine: Engine, url: str) -> None:
        """Use :meth:`open`; this wraps an engine whose schema is already checked."""
        self.url = url
        self._engine = engine
        self._write_engine = engine.execution_options(zuinig_write=True)
        self._shown = display_url(url)
        self._password = make_url(url).password
        self._is_sqlite = engine.dialect.name == "sqlite"
        # Tags written by start_run, per run id, so that finish_run can skip rewriting
        # unchanged tags (two statements of a run's write). Dict operations are atomic
        # in CPython, so threads may share the ledger.
        self._started_tags: dict[str, list[dict[str, str]]] = {}

    # -- opening ------------------------------------------------------------------

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
        parsed = _parse_url(url)
        engine = _create_engine(parsed)
        ledger = cls(engine, url)
        try:
            ledger._ensure_schema()
        except BaseException:
            engine.dispose()
            raise
        ledger._drain_quietly()
        return ledger

    @property
    def display_url(self) -> str:
        """The URL with any password masked."""
        return self._shown

    def __repr__(self) -> str:
        return f"Ledger({self._shown!r})"

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release connections."""
        self._engine.dispose()

    def _ensure_schema(self) -> None:
        try:
            connection = self._engine.connect()
        except sa.exc.SQLAlchemyError as error:
            raise self._unreachable(error) from error
        with connection:
            try:
                stored = connection.execute(
                    sa.select(sa.column("version_num")).select_from(sa.table(VERSION_TABLE))
                ).scalar()
            except sa.exc.DBAPIError:
                stored = None  # no version table yet, or unreadable: the careful path decides
            connection.rollback()
        if stored == HEAD_REVISION:
            return
        if stored is not None:
            self._refuse_newer(stored)
        self._create_or_upgrade()

    def _refuse_newer(self, stored: str) -> None:
        if stored in SCHEMA_REVISIONS:
            return
        raise LedgerError(
            f"the ledger at {self._shown} has schema version {stored}, newer than this "
            f"zuinig knows ({HEAD_REVISION}); upgrade zuinig (pip install -U zuinig)"
        )

    def _create_or_upgrade(self) -> None:
        from zuinig.ledger import migrate

        try:
            with self._write_engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # Serialise concurrent creators; released at commit. Key: crc32("zuinig").
                    connection.execute(sa.select(sa.func.pg_advisory_xact_lock(0x5A75696E)))
                inspector = sa.inspect(connection)
                if inspector.has_table(VERSION_TABLE):
                    stored = connection.execute(
                        sa.select(sa.column("version_num")).select_from(sa.table(VERSION_TABLE))
                    ).scalar()
                    if stored == HEAD_REVISION:
                        return  # another process got here first
                    if stored is not None:
                        self._refuse_newer(stored)
                elif inspector.has_table(runs.name):
                    raise LedgerError(
                        f"the database at {self._shown} already has a table {runs.name!r} "
                        "that zuinig did not make; give zuinig its own database or schema"
                    )
                log.info("creating or upgrading the ledger schema at %s", self._shown)
                migrate.upgrade(connection)
        except LedgerError:
            raise
        except sa.exc.SQLAlchemyError as error:
            raise LedgerError(
                f"cannot create or upgrade the ledger at {self._shown}: "
                f"{_reason(error, self._password)}; check that the database is writable"
            ) from error

    def _unreachable(self, error: BaseException) -> LedgerError:
        return LedgerError(
            f"cannot open the ledger at {self._shown}: {_reason(error, self._password)}; "
            "check that the database exists and is reachable, or choose another with "
            "--ledger or ZUINIG_LEDGER"
        )

    # -- writing ------------------------------------------------------------------

    def start_run(self, run: Run) -> None:
        """Insert ``run`` (status ``running``). Raises LedgerError.

        A run id already in the ledger is an error: ids are unique per run.
        """
        run = storable_run(run)  # also its run id, matched below
        row = self._row(run)
        tags = _tag_rows(run)

        def write(connection: Connection) -> None:
            connection.execute(runs.insert(), row)
            if tags:
                connection.execute(run_tags.insert(), tags)

        self._write(write, f"record the start of run {run.run_id}")
        if len(self._started_tags) >= _REMEMBERED_STARTS:
            self._started_tags.clear()  # runs never finished by this process; forget them
        self._started_tags[run.run_id] = tags

    def finish_run(self, run: Run) -> None:
        """Write the final state of ``run`` (status ``ok`` or ``error``), inserting it if
        its start was never written. Raises LedgerError.

        Every column is overwritten and the tags are replaced by ``run.tags``.
        """
        run = storable_run(run)
        self._write(
            lambda connection: self._store(connection, run),
            f"record run {run.run_id}",
            retry_conflict=True,
        )

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
                    connection.execute(runs.insert(), self._row(run))
                    tags = _tag_rows(run)
                    if tags:
                        connection.execute(run_tags.insert(), tags)
                    written.append(True)
                    return
            self._store(connection, run)
            written.append(True)

        self._write(write, f"record run {run.run_id}", retry_conflict=True)
        return written[-1]

    def _store(self, connection: Connection, run: Run) -> None:
        row = self._row(run)
        values = {name: value for name, value in row.items() if name != "run_id"}
        values["match_run_id"] = run.run_id
        tags = _tag_rows(run)
        updated = connection.execute(_UPDATE_RUN, values)
        if updated.rowcount == 0:
            connection.execute(runs.insert(), row)
        elif self._started_tags.pop(run.run_id, None) == tags:
            return  # this process wrote exactly these tags at the start: nothing to replace
        else:
            connection.execute(_DELETE_TAGS, {"match_run_id": run.run_id})
        if tags:
            connection.execute(run_tags.insert(), tags)

    def _row(self, run: Run) -> dict[str, Any]:
        if run.status not in STORED_STATUSES:
            raise LedgerError(
                f"run {run.run_id} has status {run.status!r}; a stored run is one of "
                f"{', '.join(STORED_STATUSES)}"
            )
        return _run_to_row(run)

    def _write(
        self,
        work: Callable[[Connection], None],
        what: str,
        conflict: str = "is the run id already used?",
        *,
        retry_conflict: bool = False,
    ) -> None:
        for attempt in (1, 2):
            try:
                with self._write_engine.begin() as connection:
                    work(connection)
                return
            except sa.exc.IntegrityError as error:
                # An insert-or-update whose insert lost a race (PostgreSQL: another
                # process inserted the same run after this one's UPDATE found no row):
                # the row exists now, so a second attempt takes the UPDATE path.
                if retry_conflict and attempt == 1:
                    continue
                raise UnstorableRunError(
                    f"cannot {what} in the ledger at {self._shown}: "
                    f"{_reason(error, self._password)} ({conflict})"
                ) from error
            except sa.exc.DataError as error:
                raise UnstorableRunError(
                    f"cannot {what} in the ledger at {self._shown}: the database refuses "
                    f"a value: {_reason(error, self._password)}"
                ) from error
            except (ValueError, OverflowError, TypeError) as error:
                # Raised by the driver while binding one value (a number too large
                # for SQLite's INTEGER, text it cannot encode): this record, not the
                # database, is the problem.
                raise UnstorableRunError(
                    f"cannot {what} in the ledger at {self._shown}: a value cannot be "
                    f"stored: {_reason(error, self._password)}"
                ) from error
            except sa.exc.DBAPIError as error:
                # A server connection dropped while idle in the pool: the pool has been
                # invalidated, so one retry runs on a fresh connection.
                if attempt == 1 and error.connection_invalidated:
                    continue
                raise self._write_failed(what, error) from error
            except sa.exc.SQLAlchemyError as error:
                raise self._write_failed(what, error) from error

    def _write_failed(self, what: str, error: BaseException) -> LedgerError:
        return LedgerError(
            f"cannot {what} in the ledger at {self._shown}: {_reason(error, self._password)}"
        )

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
            log.info("delivered %d spooled run(s) to %s", result.delivered, self._shown)

    # -- reading ------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run:
        """The run with this id (or unique id prefix). Raises RunNotFoundError.

        Raises:
            RunNotFoundError: no run has this id or prefix.
            AmbiguousRunIdError: the prefix matches more than one run.
        """
        prefix = run_id.strip()
        if not prefix:
            raise RunNotFoundError("no run id given; `zuinig runs list` shows the run ids")
        with self._reading() as connection:
            row = connection.execute(sa.select(runs).where(runs.c.run_id == prefix)).first()
            if row is None:
                found_id = self._unique_prefix_match(
                    connection,
                    runs.c.run_id,
                    prefix,
                    not_found=RunNotFoundError(
                        f"no run {prefix!r} in the ledger at {self._shown}; "
                        "`zuinig runs list` shows the run ids"
                    ),
                    ambiguous=lambda shown: AmbiguousRunIdError(
                        f"run id {prefix!r} matches more than one run ({shown}); "
                        "give more of the id"
                    ),
                )
                row = connection.execute(sa.select(runs).where(runs.c.run_id == found_id)).one()
            found = self._runs_from_rows(connection, [row])
        return found[0]

    def _prefix_condition(
        self, prefix: str, column: sa.ColumnElement[str] = runs.c.run_id
    ) -> sa.ColumnElement[bool]:
        if self._is_sqlite:
            # SQLite's LIKE ignores case and cannot use the primary-key index; a range on
            # the binary-collated key is exact and indexed.
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            return sa.and_(column >= prefix, column < upper)
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(escaped + "%", escape="\\")

    def list_runs(self, run_filter: RunFilter | None = None) -> list[Run]:
        """Runs matching the filter, newest first; ``running`` rows whose process is
        gone come back with status ``interrupted``.

        Raises:
            UsageError: the filter is invalid (bad month, unknown status, negative limit).
            LedgerError: the ledger cannot be read.
        """
        query = self._query(run_filter or RunFilter())
        statement = sa.select(runs).where(*query.conditions)
        statement = statement.order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
        if query.live_status is None and query.limit is not None:
            statement = statement.limit(query.limit)
        with self._reading() as connection:
            rows = connection.execute(statement).all()
            if query.live_status is not None:
                rows = self._with_live_status(rows, query.live_status)
                if query.limit is not None:
                    rows = rows[: query.limit]
            return self._runs_from_rows(connection, rows)

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
        query = self._query(run_filter or RunFilter())
        # Sorted here, not by the database: SQLite sorts whole rows, which costs more
        # than sorting the tuples (and rows are mostly stored in time order already).
        statement = sa.select(*_BRIEF_COLUMNS).where(*query.conditions)
        inputs: dict[str | None, tuple[InputFile, ...]] = {}
        engines: dict[str | None, Mapping[str, str]] = {}
        moments: dict[Any, datetime | None] = {None: None}
        briefs = []
        cache: LivenessCache | None = None
        from_sqlite = datetime.fromisoformat
        with self._reading() as connection, _gc_paused():
            # The DB-API rows as they come: no column here has a result processor
            # (times are read as stored), and SQLAlchemy's row objects cost ~1 s a
            # million.
            cursor = connection.execute(statement).cursor
            rows = (
                row for part in iter(lambda: cursor.fetchmany(_BRIEF_BATCH), []) for row in part
            )
            for row in rows:
                values = list(row)
                if values[_AT_STATUS] == STATUS_RUNNING:
                    if cache is None:
                        from zuinig.ledger.liveness import LivenessCache

                        cache = LivenessCache()
                    host, pid, pid_started = values[_AT_PROCESS:]
                    if cache.is_interrupted(host, pid, _utc_value(pid_started)):
                        values[_AT_STATUS] = STATUS_INTERRUPTED
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
                    moments[pid_started] = _utc_value(pid_started)
                values[_AT_INPUTS] = inputs[inputs_text]
                values[_AT_ENGINES] = engines[engines_text]
                values[_AT_PID_STARTED] = moments[pid_started]
                started = values[_AT_STARTED]
                values[_AT_STARTED] = (
                    from_sqlite(started + "+00:00")  # _utc_value's usual case, inlined
                    if type(started) is str and len(started) == _SQLITE_TIME_LENGTH
                    else _utc_value(started)
                )
                briefs.append(RunBrief._make(values))
        briefs.sort(key=_started_at)
        _order_ties(briefs)
        if query.limit is not None:
            briefs = briefs[len(briefs) - query.limit :] if query.limit else []
        return briefs

    def count_runs(self, run_filter: RunFilter | None = None) -> int:
        """How many runs match the filter, ignoring its ``limit``.

        Raises:
            UsageError: the filter is invalid.
            LedgerError: the ledger cannot be read.
        """
        query = self._query(run_filter or RunFilter())
        with self._reading() as connection:
            if query.live_status is None:
                counted = connection.execute(
                    sa.select(sa.func.count()).select_from(runs).where(*query.conditions)
                ).scalar()
                return int(counted or 0)
            rows = connection.execute(
                sa.select(runs.c.run_id, runs.c.host, runs.c.pid, runs.c.pid_started_at).where(
                    *query.conditions
                )
            ).all()
        return len(self._with_live_status(rows, query.live_status))

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
        query = self._query(run_filter or RunFilter())
        source, keys = self._group_keys(by)
        live = _STATUS_KEY in by or query.live_status is not None
        conditions = [*query.conditions]
        if live:
            conditions.append(runs.c.status != STATUS_RUNNING)
        statement = (
            sa.select(*keys, *_GROUP_SUMS).select_from(source).where(*conditions).group_by(*keys)
        )
        with self._reading() as connection:
            groups = [
                RunGroup(tuple(row[: len(keys)]), *_group_sums(row[len(keys) :]))
                for row in connection.execute(statement)
                if row[len(keys)]  # no keys and no match: SQL still returns one empty row
            ]
            if live:
                groups.extend(self._running_groups(connection, source, keys, query, by))
        return groups

    def _group_keys(self, by: Sequence[str]) -> tuple[sa.FromClause, list[sa.ColumnElement[Any]]]:
        source: sa.FromClause = runs
        keys: list[sa.ColumnElement[Any]] = []
        for position, name in enumerate(by):
            if name == GROUP_BY_MONTH:
                keys.append(self._month_of_start())
            elif name.startswith(GROUP_BY_TAG) and len(name) > len(GROUP_BY_TAG):
                tag = run_tags.alias(f"group_tag_{position}")
                source = source.outerjoin(
                    tag,
                    sa.and_(tag.c.run_id == runs.c.run_id, tag.c.key == name[len(GROUP_BY_TAG) :]),
                )
                keys.append(tag.c.value)
            elif name in RUN_COLUMNS:
                keys.append(runs.c[name])
            else:
                raise UsageError(
                    f"cannot group runs by {name!r}; use a run column, "
                    f"{GROUP_BY_MONTH!r} or '{GROUP_BY_TAG}KEY'"
                )
        return source, keys

    def _month_of_start(self) -> sa.ColumnElement[str]:
        # Literal columns, not bound parameters: PostgreSQL matches a SELECT expression
        # to its GROUP BY twin only when both are written the same, and two binds of
        # the same value are two different parameters.
        if self._is_sqlite:
            # Stored as UTC text "YYYY-MM-DD HH:MM:SS..." (see schema.UTCDateTime).
            return sa.func.substr(
                sa.cast(runs.c.started_at, sa.Text),
                sa.literal_column("1"),
                sa.literal_column("7"),
                type_=sa.String,
            )
        return sa.func.to_char(
            sa.func.timezone(sa.literal_column("'UTC'"), runs.c.started_at),
            sa.literal_column("'YYYY-MM'"),
            type_=sa.String,
        )

    def _running_groups(
        self,
        connection: Connection,
        source: sa.FromClause,
        keys: list[sa.ColumnElement[Any]],
        query: _Query,
        by: Sequence[str],
    ) -> list[RunGroup]:
        """The rows stored ``running``, grouped in Python with their shown status."""
        from zuinig.ledger.liveness import LivenessCache

        cache = LivenessCache()
        status_at = list(by).index(_STATUS_KEY) if _STATUS_KEY in by else None
        statement = (
            sa.select(
                *keys,
                runs.c.energy_kwh,
                runs.c.co2_kg,
                runs.c.duration_s,
                runs.c.cpu_s,
                *_RANGE_COLUMNS,
                runs.c.co2_kg_market_based,
                runs.c.host,
                runs.c.pid,
                runs.c.pid_started_at,
            )
            .select_from(source)
            .where(*query.conditions, runs.c.status == STATUS_RUNNING)
        )
        sums: dict[tuple[Any, ...], list[float]] = {}
        for row in connection.execute(statement):
            interrupted = cache.is_interrupted(row.host, row.pid, row.pid_started_at)
            shown = STATUS_INTERRUPTED if interrupted else STATUS_RUNNING
            if query.live_status is not None and shown != query.live_status:
                continue
            key = list(row[: len(keys)])
            if status_at is not None:
                key[status_at] = shown
            energy, co2, duration, cpu, low, high, co2_low, co2_high, market = row[
                len(keys) : len(keys) + 9
            ]
            total = sums.setdefault(
                tuple(key), [0, 0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, 0.0, 0, 0.0]
            )
            values: tuple[Any, ...] = (1, energy is not None, energy, co2, duration, cpu)
            values += (low is not None, low, high, co2_low, co2_high, market is not None, market)
            for index, value in enumerate(values):
                total[index] += value or 0
        return [RunGroup(key, *_group_sums(total)) for key, total in sums.items()]

    def jobs(self) -> list[str]:
        """The distinct job names in the ledger, sorted."""
        with self._reading() as connection:
            return list(
                connection.execute(sa.select(runs.c.job).distinct().order_by(runs.c.job))
                .scalars()
                .all()
            )

    def _query(self, run_filter: RunFilter) -> _Query:
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
            conditions.append(runs.c.started_at >= _utc(run_filter.since))
        if run_filter.until is not None:
            conditions.append(runs.c.started_at < _utc(run_filter.until))
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
        return _Query(tuple(conditions), live_status, limit)

    def _with_live_status(self, rows: Sequence[_AnyRow], wanted: str) -> list[_AnyRow]:
        from zuinig.ledger.liveness import LivenessCache

        cache = LivenessCache()
        want_interrupted = wanted == STATUS_INTERRUPTED
        return [
            row
            for row in rows
            if cache.is_interrupted(row.host, row.pid, row.pid_started_at) == want_interrupted
        ]

    def _runs_from_rows(self, connection: Connection, rows: Sequence[_AnyRow]) -> list[Run]:
        tags: dict[str, dict[str, str]] = {}
        ids = [row.run_id for row in rows]
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for run_id, key, value in connection.execute(
                sa.select(run_tags.c.run_id, run_tags.c.key, run_tags.c.value).where(
                    run_tags.c.run_id.in_(chunk)
                )
            ):
                tags.setdefault(run_id, {})[key] = value
        cache: LivenessCache | None = None
        result = []
        for row in rows:
            run = _row_to_run(row._mapping, tags.get(row.run_id, {}))
            if run.status == STATUS_RUNNING:
                if cache is None:
                    from zuinig.ledger.liveness import LivenessCache

                    cache = LivenessCache()
                if cache.is_interrupted(run.host, run.pid, run.pid_started_at):
                    run = _replace_status(run, STATUS_INTERRUPTED)
            result.append(run)
        return result

    # -- bench sessions and trials -------------------------------------------------

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
        if session.host is None and session.pid is None and session.pid_started_at is None:
            from zuinig.ledger.liveness import process_started_at, this_host

            pid = os.getpid()
            session = dataclasses.replace(
                session, host=this_host(), pid=pid, pid_started_at=process_started_at(pid)
            )
        row = _session_to_row(session)

        def write(connection: Connection) -> None:
            connection.execute(bench_sessions.insert(), row)

        self._write(
            write,
            f"record the start of bench session {session.session_id}",
            "is the session id already used?",
        )
        return session

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
        row = _session_to_row(session)
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

        self._write(write, f"record bench session {session.session_id}")

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
        rows = [_trial_to_row(trial) for trial in trials]
        if not rows:
            return
        ids = [row["trial_id"] for row in rows]

        def write(connection: Connection) -> None:
            for start in range(0, len(ids), _CHUNK):
                connection.execute(
                    bench_trials.delete().where(
                        bench_trials.c.trial_id.in_(ids[start : start + _CHUNK])
                    )
                )
            connection.execute(bench_trials.insert(), rows)

        sessions = sorted({trial.session_id for trial in trials})
        self._write(
            write,
            f"record {len(rows)} trial(s) of bench session {', '.join(sessions)}",
            "is the bench session started, and is each trial id given once?",
        )

    def get_bench_session(self, session_id: str) -> BenchSession:
        """The bench session with this id (or unique id prefix).

        A ``running`` session whose process is gone comes back ``interrupted``.

        Raises:
            BenchSessionNotFoundError: no session has this id or prefix.
            AmbiguousBenchSessionIdError: the prefix matches more than one session.
            LedgerError: the ledger cannot be read.
        """
        with self._reading() as connection:
            found = self._resolve_session_id(connection, session_id)
            row = connection.execute(
                sa.select(bench_sessions).where(bench_sessions.c.session_id == found)
            ).one()
        return _with_live_session_status([_row_to_session(row._mapping)])[0]

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
        if limit is not None and (isinstance(limit, bool) or limit < 0):
            raise UsageError(f"limit must be 0 or more, got {limit!r}")
        statement = sa.select(bench_sessions).order_by(
            bench_sessions.c.started_at.desc(), bench_sessions.c.session_id.desc()
        )
        if workload is not None:
            statement = statement.where(bench_sessions.c.workload == workload)
        if limit is not None:
            statement = statement.limit(limit)
        with self._reading() as connection:
            rows = connection.execute(statement).all()
        return _with_live_session_status([_row_to_session(row._mapping) for row in rows])

    def list_bench_trials(self, session_id: str) -> list[BenchTrial]:
        """The trials of a bench session (id or unique id prefix), in the order
        they started (trials without a start time first), then by trial id.

        Raises:
            BenchSessionNotFoundError: no session has this id or prefix.
            AmbiguousBenchSessionIdError: the prefix matches more than one session.
            LedgerError: the ledger cannot be read.
        """
        with self._reading() as connection:
            found = self._resolve_session_id(connection, session_id)
            rows = connection.execute(
                sa.select(bench_trials).where(bench_trials.c.session_id == found)
            ).all()
        trials = [_row_to_trial(row._mapping) for row in rows]
        trials.sort(
            key=lambda trial: (
                trial.started_at is not None,
                trial.started_at or _EPOCH,
                trial.trial_id,
            )
        )
        return trials

    def _resolve_session_id(self, connection: Connection, session_id: str) -> str:
        prefix = session_id.strip()
        if not prefix:
            raise BenchSessionNotFoundError(
                "no bench session id given; `zuinig bench list` shows the session ids"
            )
        column = bench_sessions.c.session_id
        exact = connection.execute(sa.select(column).where(column == prefix)).scalar()
        if exact is not None:
            return str(exact)
        return self._unique_prefix_match(
            connection,
            column,
            prefix,
            not_found=BenchSessionNotFoundError(
                f"no bench session {prefix!r} in the ledger at {self._shown}; "
                "`zuinig bench list` shows the session ids"
            ),
            ambiguous=lambda shown: AmbiguousBenchSessionIdError(
                f"bench session id {prefix!r} matches more than one session "
                f"({shown}); give more of the id"
            ),
        )

    def _unique_prefix_match(
        self,
        connection: Connection,
        column: sa.ColumnElement[str],
        prefix: str,
        *,
        not_found: LedgerError,
        ambiguous: Callable[[str], LedgerError],
    ) -> str:
        """The one id in ``column`` that starts with ``prefix``; ``not_found`` or
        ``ambiguous(candidates shown)`` is raised otherwise."""
        matches = (
            connection.execute(
                sa.select(column)
                .where(self._prefix_condition(prefix, column))
                .order_by(column)
                .limit(_SHOWN_CANDIDATES + 1)
            )
            .scalars()
            .all()
        )
        if not matches:
            raise not_found
        if len(matches) > 1:
            shown = ", ".join(matches[:_SHOWN_CANDIDATES])
            more = ", ..." if len(matches) > _SHOWN_CANDIDATES else ""
            raise ambiguous(shown + more)
        return str(matches[0])

    def _reading(self) -> _ReadingContext:
        return _ReadingContext(self)


class _ReadingContext:
    """A read transaction whose database errors become LedgerError."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._connection: Connection | None = None

    def __enter__(self) -> Connection:
        try:
            self._connection = self._ledger._engine.connect()
        except sa.exc.SQLAlchemyError as error:
            raise self._ledger._unreachable(error) from error
        return self._connection

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> None:
        assert self._connection is not None
        self._connection.close()
        if isinstance(error, sa.exc.SQLAlchemyError):
            raise LedgerError(
                f"cannot read the ledger at {self._ledger.display_url}: "
                f"{_reason(error, self._ledger._password)}"
            ) from error


_STATUS_KEY = "status"
#: What :meth:`Ledger.summarise_runs` sums per group, in :class:`RunGroup`'s order.
_GROUP_SUMS: tuple[sa.ColumnElement[Any], ...] = (
    sa.func.count(),
    sa.func.count(runs.c.energy_kwh),
    sa.func.coalesce(sa.func.sum(runs.c.energy_kwh), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.co2_kg), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.duration_s), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.cpu_s), 0.0),
    sa.func.count(runs.c.energy_kwh_low),
    sa.func.coalesce(sa.func.sum(runs.c.energy_kwh_low), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.energy_kwh_high), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.co2_kg_low), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.co2_kg_high), 0.0),
    sa.func.count(runs.c.co2_kg_market_based),
    sa.func.coalesce(sa.func.sum(runs.c.co2_kg_market_based), 0.0),
)
#: The range columns :meth:`Ledger.summarise_runs` sums, in :class:`RunGroup`'s order.
_RANGE_COLUMNS = (
    runs.c.energy_kwh_low,
    runs.c.energy_kwh_high,
    runs.c.co2_kg_low,
    runs.c.co2_kg_high,
)


#: The columns of a :class:`RunBrief`, in its order. Times are read as stored (text on
#: SQLite) and parsed by :func:`_utc_value`: SQLAlchemy's per-value processing of
#: :class:`~zuinig.ledger.schema.UTCDateTime` costs more than the rest of a row.
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
#: ``YYYY-MM-DD HH:MM:SS.ffffff``: how SQLAlchemy stores a time in SQLite (no zone).
_SQLITE_TIME_LENGTH = 26


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


def _utc_value(value: Any) -> Any:
    """A stored time as an aware UTC datetime (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) == _SQLITE_TIME_LENGTH:
        # SQLite's stored UTC text; parsing it with its zone is 5x faster than replace().
        return datetime.fromisoformat(value + "+00:00")
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _group_sums(values: Sequence[Any]) -> tuple[Any, ...]:
    """:data:`_GROUP_SUMS`' values as :class:`RunGroup`'s fields after ``key``: the
    counts as ints, the sums as floats."""
    counts = {0, 1, 6, 11}  # runs, energy_runs, range_runs, market_runs
    return tuple(int(value) if at in counts else float(value) for at, value in enumerate(values))


def _replace_status(run: Run, status: str) -> Run:
    return dataclasses.replace(run, status=status)


def _run_to_row(run: Run) -> dict[str, Any]:
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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def _session_to_row(session: BenchSession) -> dict[str, Any]:
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


def _row_to_session(row: Mapping[Any, Any]) -> BenchSession:
    values = dict(row)
    for name in ("config", "machine", "method"):
        values[name] = json.loads(values[name] or "{}")
    if values["results"] is not None:
        values["results"] = json.loads(values["results"])
    return BenchSession(**values)


def _with_live_session_status(sessions: list[BenchSession]) -> list[BenchSession]:
    if not any(session.status == STATUS_RUNNING for session in sessions):
        return sessions
    from zuinig.ledger.liveness import LivenessCache

    cache = LivenessCache()
    return [
        dataclasses.replace(session, status=STATUS_INTERRUPTED)
        if session.status == STATUS_RUNNING
        and cache.is_interrupted(session.host, session.pid, session.pid_started_at)
        else session
        for session in sessions
    ]


def _trial_to_row(trial: BenchTrial) -> dict[str, Any]:
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


def _row_to_trial(row: Mapping[Any, Any]) -> BenchTrial:
    values = dict(row)
    if values["correct"] is not None:
        values["correct"] = bool(values["correct"])
    return BenchTrial(**values)


def _tag_rows(run: Run) -> list[dict[str, str]]:
    return [
        {
            "run_id": storable_text(run.run_id),
            "key": storable_text(str(key)),
            "value": storable_text(str(value)),
        }
        for key, value in run.tags.items()
    ]


def _row_to_run(row: Mapping[Any, Any], tags: Mapping[str, str]) -> Run:
    values = dict(row)
    values["inputs"] = tuple(InputFile(**item) for item in json.loads(values["inputs"] or "[]"))
    values["engines"] = json.loads(values["engines"] or "{}")
    if values["method_cpu_tdp_is_generic"] is not None:
        values["method_cpu_tdp_is_generic"] = bool(values["method_cpu_tdp_is_generic"])
    return Run(tags=dict(tags), **values)
