"""The spool: runs kept as JSON files until their ledger is written.

Nothing measured is ever lost. A run goes to the spool with :func:`save` when its
ledger cannot be written (the team database is unreachable, the disk is full),
and, in :mod:`zuinig.measure`, while this process has not opened its ledger yet
(the first calls of a process). The next :meth:`zuinig.ledger.Ledger.open` of the
same URL, in any process, (or an explicit :meth:`~zuinig.ledger.Ledger.drain_spool`)
delivers it with :meth:`~zuinig.ledger.Ledger.put_run`, idempotent by ``run_id``.

Layout: ``<user data dir>/spool/<key>/<run_id>.<time_ns>.<pid>.json`` where
``<key>`` is a hash of the ledger URL *with its password masked*
(:func:`zuinig.ledger.urls.mask_password`): no password is ever written to disk,
the same database reached with a changed password keeps its spool, and neither
saving nor finding a spool imports SQLAlchemy. :func:`spool_dir` is the one place
the key is computed, so a drain always looks where a save wrote.

Two kinds of spooled file, both delivered by :func:`drain`:

- A **journal** (:class:`Journal`, ``journal.<time_ns>.<pid>.jsonl``): one per
  process and ledger, opened once; each state of a run is appended as one JSON
  line and ``fdatasync``'ed before the job goes on (one write and one sync per
  state, no new file, no directory sync: about 0.1 ms against 2 ms for a file;
  the file is written ahead with zeros, so a line overwrites blocks already on
  disk and its sync needs no metadata commit).
  Its writer holds an exclusive ``flock`` on it for its lifetime, released by the
  kernel when the process dies, even by SIGKILL: a drainer that can take the lock
  knows the writer is gone. The last line of a run wins. A journal whose writer
  lives is delivered but kept (delivery is idempotent); once its writer is gone
  (or has closed it, see :meth:`Journal.close`) and its runs are delivered, it is
  removed. An incomplete last line of a live writer is still being written and
  is left alone.
- A **per-run file** (``<run_id>.<time_ns>.<pid>.json``, :func:`save`): written to
  a temporary name, fsynced, then renamed, so a drainer never sees half a file.
  Older zuinig wrote every state so; such files are still delivered. Several drainers may run at once (threads
or processes): a file is removed only after its run is committed, a file gone
before it could be read was delivered by another drainer, and ``put_run`` never
lets the start state of a run overwrite its end state, nor inserts a run twice.

A file that cannot be delivered (unreadable, or refused by a reachable ledger)
never stops a drain: it is moved to ``<key>/quarantine/`` with a ``.reason`` file
beside it (a bad journal line is copied there as a file of its own, once its
writer is gone, and the journal's other lines are delivered), and ``zuinig doctor`` and ``zuinig ledger sync`` say so (:func:`quarantined`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zuinig.atomic import write_file
from zuinig.errors import LedgerError
from zuinig.ledger.model import STATUS_ERROR, STATUS_OK, STATUS_RUNNING, Run
from zuinig.ledger.storable import UnstorableRunError, storable_run, storable_text
from zuinig.ledger.urls import mask_password

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger

log = logging.getLogger(__name__)

SPOOL_FORMAT = "zuinig-spool"
SPOOL_VERSION = 1
#: Permission bits of a spooled file: for its owner only.
SPOOL_FILE_MODE = 0o600
#: Older zuinig renamed an unreadable file with this suffix; now it is the fallback
#: when a file cannot be moved to quarantine (listed by :func:`quarantined` either way).
BAD_SUFFIX = ".bad"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
#: A journal's name: ``journal.<time_ns>.<pid>.jsonl`` (not ``.json``: older zuinig ignores it).
JOURNAL_PREFIX = "journal."
JOURNAL_SUFFIX = ".jsonl"
#: A journal grows by this many bytes of zeros at a time (about 250 calls' states).
JOURNAL_CHUNK_BYTES = 1 << 20

try:  # POSIX: the writer's lock tells a drainer whether the writer still lives
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class QuarantinedFile:
    """A spooled file that could not be delivered, set aside for a person.

    Attributes:
        path: where the file now is (in the spool's ``quarantine`` folder).
        reason: why it was set aside, in words.
    """

    path: Path
    reason: str


@dataclass
class DrainResult:
    """What :func:`drain` did.

    Attributes:
        delivered: files whose run was written to the ledger (and removed).
        superseded: files holding a ``running`` state of a run the ledger already
            has finished (removed; nothing was lost).
        bad: files set aside in quarantine (unreadable, or refused by the
            ledger), with why; the other runs were delivered all the same.
    """

    delivered: int = 0
    superseded: int = 0
    bad: list[tuple[Path, str]] = field(default_factory=list)


def spool_root() -> Path:
    """``<user data dir>/spool``: where spooled runs of every ledger are kept."""
    from zuinig.ledger.paths import user_data_dir

    return user_data_dir() / "spool"


def spool_dir(url: str, root: Path | None = None) -> Path:
    """The directory of runs spooled for the ledger at ``url`` (not created here).

    The only place the spool key is computed: saves, listings and drains all
    call it, so they agree for every URL.
    """
    key = hashlib.sha256(mask_password(url).encode("utf-8")).hexdigest()[:16]
    return (root if root is not None else spool_root()) / key


def save(run: Run, url: str, *, root: Path | None = None) -> Path:
    """Keep ``run`` for the ledger at ``url`` until it can be delivered.

    Args:
        run: the run in its latest state (a later save of the same run wins if finished).
        url: the ledger URL the run was meant for (its password is never written).
        root: spool root; :func:`spool_root` by default.

    Returns:
        The file written.

    Raises:
        LedgerError: the file could not be written either.
    """
    directory = spool_dir(url, root)
    document = _document(run, url)
    name = f"{_UNSAFE.sub('_', run.run_id)[:80]}.{document['saved_at_ns']}.{os.getpid()}.json"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return _write_atomically(directory / name, json.dumps(document, indent=1))
    except OSError as error:
        raise LedgerError(
            f"cannot keep run {run.run_id} in the spool at {directory}: {error.strerror or error}"
        ) from error


def _document(run: Run, url: str) -> dict[str, Any]:
    return {
        "format": SPOOL_FORMAT,
        "version": SPOOL_VERSION,
        "ledger": mask_password(url),
        "saved_at_ns": time.time_ns(),
        # Storable text, so that no spooled file can hold up a drain (see storable).
        "run": storable_run(run).to_dict(),
    }


class Journal:
    """This process's append-only spool file for one ledger (see the module description).

    Made by :meth:`create`; each :meth:`append` puts one state on disk. Not for use
    across a fork: a child makes its own (the parent's lock and file stay the parent's).
    Not thread-safe: the caller serialises appends (the recorder does, under its lock).
    """

    def __init__(self, path: Path, fd: int, url: str) -> None:
        self.path = path
        self._fd: int | None = fd
        self._ledger = mask_password(url)  # once, not per line
        #: Where the next line goes, and how much of the file is written with zeros.
        self._offset = 0
        self._allocated = 0
        #: Lines appended so far.
        self.records = 0

    @classmethod
    def create(cls, url: str, *, root: Path | None = None) -> Journal:
        """Open a new journal for the ledger at ``url``, locked by this process.

        Raises:
            LedgerError: it could not be created.
        """
        directory = spool_dir(url, root)
        path = directory / f"{JOURNAL_PREFIX}{time.time_ns()}.{os.getpid()}{JOURNAL_SUFFIX}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(path, flags, 0o600)
        except OSError as error:
            raise LedgerError(
                f"cannot create a spool journal in {directory}: {error.strerror or error}"
            ) from error
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            journal = cls(path, fd, url)
            journal._allocate()
            _sync_directory(directory)  # once per journal: its name survives a crash
        except OSError as error:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise LedgerError(
                f"cannot create a spool journal in {directory}: {error.strerror or error}"
            ) from error
        return journal

    def _allocate(self) -> None:
        """Write :data:`JOURNAL_CHUNK_BYTES` more zeros and sync them (size and blocks).

        Why: a line written over blocks already on disk, within the file's size, is
        synced by ``fdatasync`` without a metadata commit: about 0.09 ms here against
        0.17 ms for an append that grows the file. A reader stops at the first zero
        byte (JSON lines never hold one).
        """
        assert self._fd is not None
        os.pwrite(self._fd, bytes(JOURNAL_CHUNK_BYTES), self._allocated)
        os.fsync(self._fd)
        self._allocated += JOURNAL_CHUNK_BYTES

    def append(self, run: Run) -> None:
        """Append ``run``'s state as one line and sync it to disk before returning.

        Raises:
            LedgerError: it could not be written; the journal is unchanged (a partial
                line is cut off again) or, when even that fails, closed.
        """
        if self._fd is None:
            raise LedgerError(f"the spool journal {self.path} is closed")
        document = {
            "format": SPOOL_FORMAT,
            "version": SPOOL_VERSION,
            "ledger": self._ledger,
            "saved_at_ns": time.time_ns(),
            # Not made storable here (it is half the cost of a line): JSON escapes lone
            # surrogates and NULs (ensure_ascii), so they read back exactly, and put_run
            # makes every delivered run storable.
            "run": run.to_dict(),
        }
        data = (json.dumps(document, separators=(",", ":")) + "\n").encode("ascii")
        fd = self._fd
        try:
            while self._offset + len(data) > self._allocated:
                self._allocate()
            view = memoryview(data)
            offset = self._offset
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
            _datasync(fd)
        except OSError as error:
            try:  # no torn line before the next one
                os.pwrite(fd, bytes(len(data)), self._offset)
            except OSError:
                self.close()
            raise LedgerError(
                f"cannot keep run {run.run_id} in the spool journal {self.path}: "
                f"{error.strerror or error}"
            ) from error
        self._offset += len(data)
        self.records += 1

    @property
    def closed(self) -> bool:
        """Whether it takes no more lines (closed, or a failed write could not be undone)."""
        return self._fd is None

    def close(self) -> None:
        """Stop writing; the lock goes with it, so a drain may now deliver and remove it."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __del__(self) -> None:
        # A recorder dropped without closing its journal must not keep its descriptor.
        self.close()

    def forget_after_fork(self) -> None:
        """In a forked child: drop the inherited descriptor without touching the parent's
        lock (it stays held by the parent's own descriptor)."""
        self.close()


def _datasync(fd: int) -> None:
    sync = getattr(os, "fdatasync", None)  # not on macOS or Windows
    if sync is not None:
        sync(fd)
    else:  # pragma: no cover
        os.fsync(fd)


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on every platform (Windows)
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _write_atomically(path: Path, text: str) -> Path:
    # The one writer (temporary file, fsync, rename, folder sync); 0o600 as the spool
    # always wrote: runs name jobs, paths, users and hosts.
    return write_file(path, text, mode=SPOOL_FILE_MODE)


def pending(url: str, *, root: Path | None = None) -> list[Run]:
    """Runs waiting in the spool for the ledger at ``url``, oldest save first.

    A run saved in more than one per-run file appears once per file; a journal gives
    each run once, in its last state. Unreadable files and lines are left out
    (:func:`drain` reports them).
    """
    runs: list[Run] = []
    for path in pending_files(url, root=root):
        if _is_journal(path):
            with contextlib.suppress(OSError):
                runs.extend(read_journal(path).runs.values())
            continue
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            runs.append(load(path))
    return runs


def pending_count(url: str, *, root: Path | None = None) -> int:
    """How many run states wait for ``url``: one per per-run file, one per run in a journal."""
    return len(pending(url, root=root))


def pending_files(url: str, *, root: Path | None = None) -> list[Path]:
    """Spooled files (per-run files and journals) waiting for ``url``, oldest save first.

    An empty journal is not listed: it holds nothing to deliver.
    """
    directory = spool_dir(url, root)
    try:
        with os.scandir(directory) as entries:
            files = [Path(entry.path) for entry in entries if _waits(entry)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(files, key=_saved_order)


def has_pending(url: str, *, root: Path | None = None) -> bool:
    """Whether any run waits in the spool for ``url`` (one directory listing)."""
    directory = spool_dir(url, root)
    try:
        with os.scandir(directory) as entries:
            return any(_waits(entry) for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _waits(entry: os.DirEntry[str]) -> bool:
    if entry.name.endswith(".json"):
        return True
    if entry.name.startswith(JOURNAL_PREFIX) and entry.name.endswith(JOURNAL_SUFFIX):
        with contextlib.suppress(OSError):
            return entry.stat().st_size > 0
    return False


def _is_journal(path: Path) -> bool:
    return path.name.startswith(JOURNAL_PREFIX) and path.name.endswith(JOURNAL_SUFFIX)


@dataclass
class JournalContent:
    """What :func:`read_journal` found in a journal.

    Attributes:
        runs: run id -> its last readable state.
        bad: ``(line number, line text, why)`` of each complete line that is not a run.
        torn: an incomplete last line (no line end) was found.
        writer_alive: its writer still holds it (the lock could not be taken).
    """

    runs: dict[str, Run] = field(default_factory=dict)
    bad: list[tuple[int, str, str]] = field(default_factory=list)
    torn: str | None = None
    writer_alive: bool = True


def read_journal(path: Path) -> JournalContent:
    """Read a journal; whether its writer lives is tested by its lock.

    Raises:
        OSError: it cannot be read (``FileNotFoundError``: delivered meanwhile).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        content = JournalContent(writer_alive=_held_by_writer(fd, path))
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)  # releases the lock if taken: a drain takes it again to remove
    _parse_journal(b"".join(chunks), content)
    return content


def _held_by_writer(fd: int, path: Path) -> bool:
    if fcntl is None:  # pragma: no cover - Windows: ask whether its pid lives
        try:  # type: ignore[unreachable]  # (reachable on Windows only)
            import psutil

            return bool(psutil.pid_exists(int(path.name.split(".")[-2])))
        except (ImportError, ValueError, IndexError):
            return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return True
        raise
    return False


def _parse_journal(data: bytes, content: JournalContent) -> None:
    data = data.split(b"\0", 1)[0]  # the zeros written ahead (see Journal._allocate)
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last line end: b"" unless the last line is incomplete
    if tail:
        content.torn = tail.decode("utf-8", errors="replace")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            run = _run_from_document(json.loads(raw.decode("utf-8")))
        except (ValueError, KeyError, TypeError) as error:
            content.bad.append((number, raw.decode("utf-8", errors="replace"), _one_line(error)))
            continue
        content.runs.pop(run.run_id, None)  # keep the order of last states
        content.runs[run.run_id] = run


def _saved_order(path: Path) -> tuple[int, str]:
    parts = path.name.split(".")
    try:
        return int(parts[-3]), path.name
    except (IndexError, ValueError):
        return 0, path.name


def load(path: Path) -> Run:
    """Read one spooled run.

    Raises:
        ValueError: the file is not a spooled run this zuinig can read.
        OSError: the file cannot be read.
    """
    return _run_from_document(json.loads(path.read_text(encoding="utf-8")))


def _run_from_document(document: Any) -> Run:
    if not isinstance(document, dict) or document.get("format") != SPOOL_FORMAT:
        raise ValueError("not a zuinig spool file")
    if document.get("version") != SPOOL_VERSION:
        raise ValueError(f"spool format version {document.get('version')} is not known here")
    run = Run.from_dict(document["run"])
    if run.status not in (STATUS_RUNNING, STATUS_OK, STATUS_ERROR):
        raise ValueError(f"status {run.status!r} cannot be stored")
    return run


def drain(ledger: Ledger, *, root: Path | None = None) -> DrainResult:
    """Deliver every run spooled for ``ledger.url`` into ``ledger``.

    Idempotent: delivering the same run twice writes the same row, and files are
    removed only after their run is committed, so an interrupted drain just
    delivers again next time. Several processes may drain at once.

    A file that cannot be delivered (unreadable, or a run the reachable ledger
    refuses: :class:`~zuinig.ledger.storable.UnstorableRunError`) is moved to the
    quarantine folder with a ``.reason`` file beside it (see :func:`quarantined`),
    and the drain goes on with the other files: one bad file never holds up the rest.

    Raises:
        LedgerError: the ledger could not be written (unreachable, disk full);
            this and later files stay in the spool.
    """
    result = DrainResult()
    for path in pending_files(ledger.url, root=root):
        if _is_journal(path):
            _drain_journal(ledger, path, result)
            continue
        try:
            run = load(path)
        except FileNotFoundError:
            continue  # another process delivered it first
        except (OSError, ValueError, KeyError, TypeError) as error:
            _set_aside(path, f"it cannot be read as a run: {_one_line(error)}", result)
            continue
        refused = _deliver(ledger, run, result)
        if refused is not None:
            _set_aside(path, refused, result)
            continue
        path.unlink(missing_ok=True)
    return result


def _deliver(ledger: Ledger, run: Run, result: DrainResult) -> str | None:
    """Put ``run`` into ``ledger`` and count it; why it was refused, or ``None``.

    Raises:
        LedgerError: the ledger itself cannot be written.
    """
    try:
        written = ledger.put_run(run)
    except UnstorableRunError as error:
        return f"the ledger refuses it: {error}"
    except LedgerError:
        raise  # the ledger itself cannot be written: every file waits for the next drain
    except Exception as error:  # a bug of ours must not stop delivery for good
        return f"delivering it failed: {_one_line(error)}"
    if written:
        result.delivered += 1
    else:
        result.superseded += 1
    return None


def _drain_journal(ledger: Ledger, path: Path, result: DrainResult) -> None:
    """Deliver a journal's runs (last state each); remove it once its writer is gone.

    Bad and refused lines are set aside only once the writer is gone (a live
    journal is read again at the next drain, and a line is quarantined once);
    the other lines are delivered all the same.
    """
    try:
        content = read_journal(path)
    except FileNotFoundError:
        return  # delivered and removed by another drainer
    except OSError as error:
        _set_aside(path, f"it cannot be read: {_one_line(error)}", result)
        return
    refused = [(f"line{number}", text, why) for number, text, why in content.bad]
    for run in content.runs.values():
        why = _deliver(ledger, run, result)
        if why is not None:
            label = "run-" + _UNSAFE.sub("_", run.run_id)[:80]
            refused.append((label, json.dumps(_document(run, ledger.url)), why))
    if content.writer_alive:
        return
    for label, text, why in refused:
        _set_aside_line(path, label, text, why, result)
    if content.torn is not None:
        # The writer died inside this append: the job never went on past it.
        why = "an incomplete last line (its writer died while writing it)"
        _set_aside_line(path, "torn", content.torn, why, result)
    # Only a drainer that sees the writer gone removes it; the writer never reopens it.
    path.unlink(missing_ok=True)


def _set_aside_line(path: Path, label: str, text: str, why: str, result: DrainResult) -> None:
    """Put one line of a journal into quarantine as a file of its own (named after the
    journal and the line, so a repeated drain does not make copies); never raises."""
    parts = path.name.split(".")
    stamp = ".".join(parts[1:3]) if len(parts) >= 4 else "0.0"
    target = path.parent / QUARANTINE_DIR / f"journal-{label}.{stamp}.json"
    why = storable_text(why)
    try:
        target.parent.mkdir(exist_ok=True)
        _write_atomically(target.with_name(target.name + REASON_SUFFIX), why + "\n")
        _write_atomically(target, text + "\n")
    except OSError as error:
        log.warning("cannot set a spool journal line aside in %s: %s", target.parent, error)
        return
    log.warning(
        "spooled run set aside in quarantine: %s (%s); the other runs are delivered", target, why
    )
    result.bad.append((target, why))


#: The folder, inside a ledger's spool folder, of files that could not be delivered.
QUARANTINE_DIR = "quarantine"
#: Beside each quarantined file, a text file with this suffix says why.
REASON_SUFFIX = ".reason"


def quarantine_dir(url: str, root: Path | None = None) -> Path:
    """Where files spooled for ``url`` that could not be delivered are set aside."""
    return spool_dir(url, root) / QUARANTINE_DIR


def quarantined(url: str | None = None, *, root: Path | None = None) -> list[QuarantinedFile]:
    """Spooled files set aside because they could not be delivered, oldest first.

    Also lists ``*.bad`` files left in a spool folder by an older zuinig (their reason
    was not kept).

    Args:
        url: only those spooled for this ledger; every ledger's when ``None``.
        root: spool root; :func:`spool_root` by default.
    """
    if url is not None:
        directories = [spool_dir(url, root)]
    else:
        base = root if root is not None else spool_root()
        try:
            directories = sorted(entry for entry in base.iterdir() if entry.is_dir())
        except (FileNotFoundError, NotADirectoryError):
            return []
    found: list[QuarantinedFile] = []
    for directory in directories:
        for path in _files(directory / QUARANTINE_DIR):
            if path.name.endswith(REASON_SUFFIX) or path.name.startswith("."):
                continue
            reason_file = path.with_name(path.name + REASON_SUFFIX)
            try:
                reason = reason_file.read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                reason = "unknown (no readable .reason file beside it)"
            found.append(QuarantinedFile(path, reason))
        found.extend(
            QuarantinedFile(path, "it could not be read as a run (set aside by an older zuinig)")
            for path in _files(directory)
            if path.name.endswith(BAD_SUFFIX)
        )
    return sorted(found, key=lambda item: _saved_order(item.path))


def _files(directory: Path) -> list[Path]:
    try:
        return [entry for entry in directory.iterdir() if entry.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _set_aside(path: Path, why: str, result: DrainResult) -> None:
    """Move ``path`` into the quarantine folder with a ``.reason`` file; never raises."""
    why = storable_text(why)  # it may quote the text that made the run unstorable
    folder = path.parent / QUARANTINE_DIR
    target = folder / path.name
    try:
        folder.mkdir(exist_ok=True)
        # The reason first: a file in quarantine always has one.
        _write_atomically(target.with_name(target.name + REASON_SUFFIX), why + "\n")
        path.replace(target)
    except FileNotFoundError:
        return  # another drainer moved or delivered it meanwhile
    except OSError as error:
        # Cannot move it: rename in place, so the next drain does not stop at it again.
        log.warning("cannot move spooled file %s to quarantine: %s", path, error)
        target = path.with_name(path.name + BAD_SUFFIX)
        with contextlib.suppress(OSError):
            path.replace(target)
    log.warning(
        "spooled run file set aside in quarantine: %s (%s); the other runs are delivered",
        target,
        why,
    )
    result.bad.append((target, why))
