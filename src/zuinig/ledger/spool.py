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

Every save is its own file, written to a temporary name, fsynced, then renamed,
so a drainer never sees half a file and never deletes a newer state of a run
that another process saved meanwhile. Several drainers may run at once (threads
or processes): a file is removed only after its run is committed, a file gone
before it could be read was delivered by another drainer, and ``put_run`` never
lets the start state of a run overwrite its end state, nor inserts a run twice.

A file that cannot be delivered (unreadable, or refused by a reachable ledger)
never stops a drain: it is moved to ``<key>/quarantine/`` with a ``.reason`` file
beside it, and ``zuinig doctor`` and ``zuinig ledger sync`` say so (:func:`quarantined`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zuinig.errors import LedgerError
from zuinig.ledger.model import STATUS_ERROR, STATUS_OK, STATUS_RUNNING, Run
from zuinig.ledger.storable import UnstorableRunError, storable_run, storable_text
from zuinig.ledger.urls import mask_password

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger

log = logging.getLogger(__name__)

SPOOL_FORMAT = "zuinig-spool"
SPOOL_VERSION = 1
#: Older zuinig renamed an unreadable file with this suffix; now it is the fallback
#: when a file cannot be moved to quarantine (listed by :func:`quarantined` either way).
BAD_SUFFIX = ".bad"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


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
    document = {
        "format": SPOOL_FORMAT,
        "version": SPOOL_VERSION,
        "ledger": mask_password(url),
        "saved_at_ns": time.time_ns(),
        # Storable text, so that no spooled file can hold up a drain (see storable).
        "run": storable_run(run).to_dict(),
    }
    name = f"{_UNSAFE.sub('_', run.run_id)[:80]}.{document['saved_at_ns']}.{os.getpid()}.json"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return _write_atomically(directory / name, json.dumps(document, indent=1))
    except OSError as error:
        raise LedgerError(
            f"cannot keep run {run.run_id} in the spool at {directory}: {error.strerror or error}"
        ) from error


def _write_atomically(path: Path, text: str) -> Path:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            # The spool exists for when things go wrong; make the file survive a crash.
            os.fsync(stream.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # not possible on every platform (Windows)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return path


def pending(url: str, *, root: Path | None = None) -> list[Run]:
    """Runs waiting in the spool for the ledger at ``url``, oldest save first.

    A run saved more than once appears once per save; unreadable files are left out
    (:func:`drain` reports them).
    """
    runs = []
    for path in pending_files(url, root=root):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            runs.append(load(path))
    return runs


def pending_files(url: str, *, root: Path | None = None) -> list[Path]:
    """Spooled files waiting for the ledger at ``url``, oldest save first."""
    directory = spool_dir(url, root)
    try:
        files = [entry for entry in directory.iterdir() if entry.name.endswith(".json")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(files, key=_saved_order)


def has_pending(url: str, *, root: Path | None = None) -> bool:
    """Whether any run waits in the spool for ``url`` (one directory listing)."""
    directory = spool_dir(url, root)
    try:
        with os.scandir(directory) as entries:
            return any(entry.name.endswith(".json") for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False


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
    document: Any = json.loads(path.read_text(encoding="utf-8"))
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
        try:
            run = load(path)
        except FileNotFoundError:
            continue  # another process delivered it first
        except (OSError, ValueError, KeyError, TypeError) as error:
            _set_aside(path, f"it cannot be read as a run: {_one_line(error)}", result)
            continue
        try:
            written = ledger.put_run(run)
        except UnstorableRunError as error:
            _set_aside(path, f"the ledger refuses it: {error}", result)
            continue
        except LedgerError:
            raise  # the ledger itself cannot be written: every file waits for the next drain
        except Exception as error:  # a bug of ours must not stop delivery for good
            _set_aside(path, f"delivering it failed: {_one_line(error)}", result)
            continue
        if written:
            result.delivered += 1
        else:
            result.superseded += 1
        path.unlink(missing_ok=True)
    return result


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


def format_quarantined(files: Sequence[QuarantinedFile]) -> str:
    """One line on spooled files set aside in quarantine: how many, where, why, what to do.

    Args:
        files: what :func:`zuinig.ledger.spool.quarantined` returned (not empty).

    Returns:
        The line, without a line end.
    """
    folders = sorted({str(item.path.parent) for item in files})
    where = folders[0] if len(folders) == 1 else ", ".join(folders)
    reasons = sorted({item.reason for item in files})
    why = reasons[0] if len(reasons) == 1 else f"{reasons[0]} (and {len(reasons) - 1} more)"
    one = len(files) == 1
    return (
        f"{len(files)} spooled run file{'' if one else 's'} could not be delivered and "
        f"{'is' if one else 'are'} set aside in {where} (why: {why}); "
        "each has a .reason file beside it: fix the file and move it back one folder up "
        "to deliver it, or delete it"
    )


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
