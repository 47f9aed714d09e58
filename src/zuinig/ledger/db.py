"""The ledger's database: URL checks, the engine, read and write transactions.

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

Every database error that leaves this module is a :class:`~zuinig.errors.LedgerError`
with one line saying what failed, with any password masked. Times read as stored
become UTC through :func:`stored_time` (which defers to
:func:`zuinig.ledger.model.as_utc`, the one UTC rule).
"""

from __future__ import annotations

import logging
import os
import re
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from zuinig.errors import LedgerError, LedgerURLError, UsageError
from zuinig.ledger.model import as_utc
from zuinig.ledger.schema import HEAD_REVISION, SCHEMA_REVISIONS, VERSION_TABLE, runs
from zuinig.ledger.storable import UnstorableRunError
from zuinig.ledger.urls import SECRET_QUERY_KEYS

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
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
#: Bound parameters per ``IN (...)`` list, well below SQLite's and PostgreSQL's limits.
IN_LIST_CHUNK = 500
#: Ambiguous prefixes list at most this many candidates.
_SHOWN_CANDIDATES = 5
_EXAMPLE_URLS = "sqlite:////path/to/ledger.sqlite or postgresql+psycopg://user@host/dbname"
#: ``YYYY-MM-DD HH:MM:SS.ffffff``: how SQLAlchemy stores a time in SQLite (no zone).
SQLITE_TIME_LENGTH = 26

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


def driver_reason(error: BaseException, secret: str | None = None) -> str:
    """The first line of the driver's message, without SQLAlchemy's statement dump."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    text = lines[0] if lines else type(original).__name__
    if secret:
        text = text.replace(secret, "***")
    return text


def parse_url(url: str) -> URL:
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


def create_engine(parsed: URL) -> Engine:
    """An engine for a URL checked by :func:`parse_url`, set up for many writers.

    Raises:
        LedgerURLError: the URL's driver is not installed or its options are wrong.
    """
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
        raise LedgerURLError(
            f"ledger URL {shown!r} cannot be used: {driver_reason(error)}"
        ) from error
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


def stored_time(value: Any) -> datetime | None:
    """A time read as stored (text on SQLite) as an aware UTC datetime; ``None`` stays.

    For reads that skip SQLAlchemy's per-value processing of
    :class:`~zuinig.ledger.schema.UTCDateTime` (it costs more than the rest of a row).
    """
    if value is None:
        return None
    if type(value) is str and len(value) == SQLITE_TIME_LENGTH:
        # SQLite's stored UTC text; parsing it with its zone is 5x faster than as_utc.
        return datetime.fromisoformat(value + "+00:00")
    return as_utc(value if isinstance(value, datetime) else str(value))


class Database:
    """One ledger database: its engine, read and write transactions, and schema check.

    Made by :meth:`connect` (nothing is created or checked) or from an engine. A
    database object may be shared by the threads of one process.

    Attributes:
        url: the URL (may hold a password: show :attr:`shown` instead).
        shown: the URL with any password masked.
        engine: the SQLAlchemy engine (reads).
        is_sqlite: whether the database is SQLite.
    """

    def __init__(self, engine: Engine, url: str) -> None:
        """Wrap ``engine``, opened for ``url``."""
        self.url = url
        self.engine = engine
        self.shown = display_url(url)
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._write_engine = engine.execution_options(zuinig_write=True)
        self._password = make_url(url).password

    @classmethod
    def connect(cls, url: str) -> Database:
        """The database at ``url``; nothing is connected, created or checked yet.

        Raises:
            LedgerURLError: the URL is malformed, names an unknown backend or a
                driver that is not installed.
        """
        return cls(create_engine(parse_url(url)), url)

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()

    # -- transactions --------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads; database errors become :class:`LedgerError`.

        Raises:
            LedgerError: the database cannot be reached or read.
        """
        try:
            connection = self.engine.connect()
        except sa.exc.SQLAlchemyError as error:
            raise self.unreachable(error) from error
        try:
            yield connection
        except sa.exc.SQLAlchemyError as error:
            raise LedgerError(
                f"cannot read the ledger at {self.shown}: {driver_reason(error, self._password)}"
            ) from error
        finally:
            connection.close()

    def write(
        self,
        work: Callable[[Connection], None],
        what: str,
        conflict: str = "is the run id already used?",
        *,
        retry_conflict: bool = False,
    ) -> None:
        """Run ``work`` in one write transaction (all or nothing).

        Args:
            work: the writes; it may run twice (a retry), so it must not keep state
                from a failed attempt.
            what: what is written, for the error (``record run 1a2b``).
            conflict: what a unique-key conflict probably means, in words.
            retry_conflict: run ``work`` once more after a unique-key conflict (an
                insert-or-update whose insert lost a race).

        Raises:
            UnstorableRunError: the database refuses a value or a key (the record
                is the problem, not the database).
            LedgerError: the database cannot be written.
        """
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
                    f"cannot {what} in the ledger at {self.shown}: "
                    f"{driver_reason(error, self._password)} ({conflict})"
                ) from error
            except sa.exc.DataError as error:
                raise UnstorableRunError(
                    f"cannot {what} in the ledger at {self.shown}: the database refuses "
                    f"a value: {driver_reason(error, self._password)}"
                ) from error
            except (ValueError, OverflowError, TypeError) as error:
                # Raised by the driver while binding one value (a number too large
                # for SQLite's INTEGER, text it cannot encode): this record, not the
                # database, is the problem.
                raise UnstorableRunError(
                    f"cannot {what} in the ledger at {self.shown}: a value cannot be "
                    f"stored: {driver_reason(error, self._password)}"
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
            f"cannot {what} in the ledger at {self.shown}: {driver_reason(error, self._password)}"
        )

    def unreachable(self, error: BaseException) -> LedgerError:
        """The error for a database that cannot be connected to, in one line."""
        return LedgerError(
            f"cannot open the ledger at {self.shown}: {driver_reason(error, self._password)}; "
            "check that the database exists and is reachable, or choose another with "
            "--ledger or ZUINIG_LEDGER"
        )

    # -- the schema ----------------------------------------------------------------

    def schema_version(self) -> str | None:
        """The stored schema revision; ``None`` when zuinig's tables are not made yet.

        Reads only: nothing is created. For a look at a ledger before writing to it
        (``zuinig ledger sync --dry-run``).

        Raises:
            LedgerError: the database cannot be read, or its schema is newer than
                this zuinig knows.
        """
        with self.reading() as connection:
            if not sa.inspect(connection).has_table(VERSION_TABLE):
                return None
            stored = connection.execute(
                sa.select(sa.column("version_num")).select_from(sa.table(VERSION_TABLE))
            ).scalar()
        if stored is not None:
            self.refuse_newer(str(stored))
        return None if stored is None else str(stored)

    def ensure_schema(self) -> None:
        """Create or upgrade the schema as needed (one query when it is up to date).

        Raises:
            LedgerError: the database cannot be reached, holds tables zuinig did not
                make, or was made by a newer zuinig.
        """
        try:
            connection = self.engine.connect()
        except sa.exc.SQLAlchemyError as error:
            raise self.unreachable(error) from error
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
            self.refuse_newer(stored)
        self._create_or_upgrade()

    def refuse_newer(self, stored: str) -> None:
        """Raise :class:`LedgerError` when ``stored`` is a schema revision this zuinig
        does not know (made by a newer zuinig)."""
        if stored in SCHEMA_REVISIONS:
            return
        raise LedgerError(
            f"the ledger at {self.shown} has schema version {stored}, newer than this "
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
                        self.refuse_newer(stored)
                elif inspector.has_table(runs.name):
                    raise LedgerError(
                        f"the database at {self.shown} already has a table {runs.name!r} "
                        "that zuinig did not make; give zuinig its own database or schema"
                    )
                log.info("creating or upgrading the ledger schema at %s", self.shown)
                migrate.upgrade(connection)
        except LedgerError:
            raise
        except sa.exc.SQLAlchemyError as error:
            raise LedgerError(
                f"cannot create or upgrade the ledger at {self.shown}: "
                f"{driver_reason(error, self._password)}; check that the database is writable"
            ) from error

    # -- ids given by a prefix ------------------------------------------------------

    def prefix_condition(
        self, prefix: str, column: sa.ColumnElement[str]
    ) -> sa.ColumnElement[bool]:
        """``column`` starts with ``prefix`` (case-sensitive, indexed on SQLite)."""
        if self.is_sqlite:
            # SQLite's LIKE ignores case and cannot use the primary-key index; a range on
            # the binary-collated key is exact and indexed.
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            return sa.and_(column >= prefix, column < upper)
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(escaped + "%", escape="\\")

    def unique_prefix_match(
        self,
        connection: Connection,
        column: sa.ColumnElement[str],
        prefix: str,
        *,
        not_found: LedgerError,
        ambiguous: Callable[[str], LedgerError],
    ) -> str:
        """The one id in ``column`` that starts with ``prefix``.

        Raises:
            LedgerError: ``not_found`` when none does, ``ambiguous(candidates shown)``
                when more than one does.
        """
        matches = (
            connection.execute(
                sa.select(column)
                .where(self.prefix_condition(prefix, column))
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
