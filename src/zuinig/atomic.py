"""Writing a file so that a reader never sees half of it: the one writer of zuinig.

Every file zuinig writes for people (reports, exports, converted data) is written to a
hidden temporary file beside its target, flushed to disk, and renamed onto the target
only when complete: a crash or a full disk leaves the previous file (or none), never a
truncated one. The rules, in one place:

- **What a target may be.** A regular file (or none yet) is replaced as above. A
  symbolic link is followed: the file it points to is replaced and the link kept. A
  *stream*, a character device or a FIFO (``--out /dev/stdout``, ``/dev/null``, a
  named pipe), is written straight into and never replaced: renaming a file over
  ``/dev/null`` would break the machine, and a stream has no "half a file" to protect
  anyone from. A directory, a block device or a socket is refused
  (:class:`TargetNotWritableError`, one line, exit code 2). Writers that must read their
  output back (``zuinig convert`` verifies before it publishes) refuse streams too.
- **Permissions.** A new file gets the permissions any new file gets (0o666 less the
  umask, not ``mkstemp``'s 0o600: a report is meant to be read by others); a replaced
  file keeps the old file's permission bits (rwx for user, group and others; set-id
  bits are not carried over); a writer may give the mode itself, and gets at most the
  bits a new file gets under the umask, so a writer can make a file more private but
  never more open (``convert`` gives the source's, the spool 0o600).
- **Replacing.** By default an existing target is replaced. A writer that must never
  replace a file unasked (``convert`` without ``--force``) publishes with a hard link
  instead, which fails (:class:`FileExistsError`) if the target exists, even one made a
  moment before (a check and then a rename would leave a gap).
- **Temporary files** are named ``.<target name>.zuinig-<12 hex>.tmp`` and locked
  (``flock``) for as long as their writer lives. A writer that was killed leaves its
  file behind, unlocked: the next write into that folder removes such files once they
  are :data:`STALE_AFTER_S` old (:func:`sweep_stale_temporaries`). A locked file, a
  file of a live writer, is never removed, whatever its age; the age rule covers
  writers that hold no lock (older versions of zuinig, file systems without ``flock``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from zuinig.errors import UsageError

try:  # POSIX; on Windows an open file cannot be deleted, which protects it as well
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "STALE_AFTER_S",
    "TEMPORARY_PATTERN",
    "TargetKind",
    "TargetNotWritableError",
    "Temporary",
    "atomic_path",
    "sweep_stale_temporaries",
    "target_kind",
    "write_file",
]

logger = logging.getLogger("zuinig")

#: An unlocked temporary file this old (s, by its last change) is a dead writer's.
STALE_AFTER_S = 3600.0
#: The names of zuinig's temporary files (and only zuinig's).
TEMPORARY_PATTERN = re.compile(r"\..+\.zuinig-[0-9a-f]{12}\.tmp")
# A name must fit the file system's 255 bytes with the mark and suffix added.
_NAME_ROOM = 200

#: ``missing``: nothing there yet; ``file``: a regular file (replaced atomically);
#: ``stream``: a character device or FIFO (written into, never replaced).
TargetKind = Literal["missing", "file", "stream"]


class TargetNotWritableError(UsageError):
    """The target is a directory, block device or socket: zuinig writes none of those."""


def target_kind(target: Path) -> TargetKind:
    """What ``target`` is, following symbolic links (see the module docstring).

    Raises:
        TargetNotWritableError: it is a directory, a block device or a socket.
        OSError: it cannot be looked at (permissions).
    """
    try:
        mode = Path(target).stat().st_mode
    except FileNotFoundError:
        return "missing"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    what = (
        "a directory"
        if stat.S_ISDIR(mode)
        else "a block device"
        if stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise TargetNotWritableError(
        f"{target} is {what}; give a file name (or a stream such as /dev/stdout)"
    )


@contextmanager
def atomic_path(
    target: Path,
    *,
    mode: int | None = None,
    replace: bool = True,
    streams: bool = True,
) -> Iterator[Path]:
    """A path for the block to write ``target`` through, published when the block succeeds.

    For a regular or new target: a new, empty, hidden file beside it, fsynced and renamed
    onto it when the block succeeds and removed when it fails (the block may read the
    file back before that: ``convert`` verifies it). For a stream (character device,
    FIFO): ``target`` itself, written straight into.

    Args:
        target: the file to write.
        mode: permission bits for the new file, at most those any new file gets (the
            umask); by default those of the file it replaces, or those of any new file.
        replace: replace an existing ``target``; when ``False``, publishing fails with
            :class:`FileExistsError` if ``target`` exists by then.
        streams: accept a stream as ``target``; when ``False`` it is refused
            (:class:`TargetNotWritableError`), for writers that read their file back.

    Raises:
        TargetNotWritableError: ``target`` is a directory, block device or socket (or a
            stream, with ``streams=False``).
        FileExistsError: ``replace`` is ``False`` and ``target`` exists.
        OSError: the temporary file cannot be made, synced or renamed; callers turn it
            into their own error with what to do.
    """
    target = Path(target)
    if target_kind(target) == "stream":
        if not streams:
            raise TargetNotWritableError(
                f"{target} is a device or named pipe, not a regular file; give a file name"
            )
        yield target
        return
    final = Path(os.path.realpath(target))  # a link is kept; the file it names is replaced
    sweep_stale_temporaries(final.parent)
    with Temporary.beside(final) as temporary:
        yield temporary.path
        temporary.fsync()
        if mode is not None:
            # Created as 0o666 less the umask: the most a new file may get.
            mode &= stat.S_IMODE(temporary.path.stat().st_mode)
        temporary.publish(final, replace=replace, mode=mode)


def write_file(target: Path, data: str | bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` (text as UTF-8) to ``target`` whole, through :func:`atomic_path`.

    Args:
        target: the file to write.
        data: its whole content.
        mode: as for :func:`atomic_path`.

    Returns:
        ``target``.

    Raises:
        TargetNotWritableError: ``target`` is a directory, block device or socket.
        OSError: the file cannot be written; nothing half-written is left.
    """
    target = Path(target)
    content = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(target, mode=mode) as path:
        path.write_bytes(content)
    return target


class Temporary:
    """A hidden, locked, new file beside a target; see the module docstring.

    Use as a context manager: leaving it removes the file unless it was published.
    """

    def __init__(self, path: Path, lock: int) -> None:
        self.path = path
        self._lock = lock

    @classmethod
    def beside(cls, target: Path) -> Temporary:
        """Create ``.<target name>.zuinig-<random>.tmp`` beside ``target``, 0o666 less the
        umask, locked while this object lives.

        Raises:
            OSError: the folder does not exist or cannot be written.
        """
        while True:
            name = f".{target.name[:_NAME_ROOM]}.zuinig-{secrets.token_hex(6)}.tmp"
            path = target.with_name(name)
            try:
                descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:  # 48 random bits taken: try another name
                continue
            if fcntl is not None:
                # New, so nobody holds it; a file system without locks leaves the age rule.
                with contextlib.suppress(OSError):
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return cls(path, descriptor)

    def __enter__(self) -> Temporary:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    def fsync(self) -> None:
        """Flush what the writers wrote through their own handles to the disk."""
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def publish(self, target: Path, *, replace: bool, mode: int | None = None) -> None:
        """Put the file in place of ``target`` and sync the folder.

        Args:
            target: where the file goes (a regular file or none).
            replace: replace an existing ``target``; when ``False`` the file is hard
                linked into place, which fails if ``target`` exists, even one made a
                moment ago by someone else (a check then a rename would have a gap).
            mode: permission bits to give the file; by default those of the file it
                replaces, or those it was created with.

        Raises:
            FileExistsError: ``target`` exists and ``replace`` is ``False``.
            OSError: the file cannot be put in place.
        """
        if mode is None and replace:
            with contextlib.suppress(FileNotFoundError):
                mode = stat.S_IMODE(target.stat().st_mode) & 0o777
        if mode is not None:
            self.path.chmod(mode)
        if replace:
            self.path.replace(target)
        else:
            try:
                os.link(self.path, target)
            except FileExistsError:
                raise
            except OSError:
                # No hard links here (some network and FAT file systems): check, then rename.
                if os.path.lexists(target):
                    raise FileExistsError(target) from None
                self.path.replace(target)
            else:
                self.path.unlink()
        _fsync_directory(target.parent)

    def discard(self) -> None:
        """Remove the file (if still there) and release the lock."""
        try:
            self.path.unlink(missing_ok=True)
        finally:
            if self._lock >= 0:
                os.close(self._lock)
                self._lock = -1


def sweep_stale_temporaries(directory: Path, *, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove the temporary files killed writers left in ``directory``.

    Only files named as :data:`TEMPORARY_PATTERN`, not changed for ``older_than_s``
    seconds, and not locked (a locked file's writer is alive) are removed. Nothing
    here ever fails the write that called it: a file that cannot be looked at, locked
    or removed is left alone.

    Returns:
        The files removed (one warning line says how many and how large).
    """
    removed: list[Path] = []
    freed_bytes = 0
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not TEMPORARY_PATTERN.fullmatch(entry.name):
            continue
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < older_than_s:
                continue
            if _remove_if_unlocked(Path(entry.path), info):
                removed.append(Path(entry.path))
                freed_bytes += info.st_size
    if removed:
        logger.warning(
            "removed %d temporary file%s (%s bytes) left in %s by a write that was "
            "interrupted more than %.0f minutes ago",
            len(removed),
            "" if len(removed) == 1 else "s",
            f"{freed_bytes:,}",
            directory,
            older_than_s / 60,
        )
    return removed


def _remove_if_unlocked(path: Path, info: os.stat_result) -> bool:
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # its writer is alive
        now = os.fstat(descriptor)
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            return False  # replaced meanwhile: not the file judged stale
        path.unlink()  # while holding the lock, so no writer can have taken it over
        return True
    finally:
        os.close(descriptor)


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk; not every
    # platform can open a directory, and the file itself is already synced.
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
