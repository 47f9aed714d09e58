"""Writing a file so that a reader never sees half of it.

Every file zuinig writes for people (reports, exports) is written to a hidden temporary
file beside its target, flushed to disk, and renamed onto the target only when complete:
a crash or a full disk leaves the previous file (or none), never a truncated one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A new, empty, hidden file beside ``target`` for the block to fill; renamed onto
    ``target`` (after an fsync) when the block succeeds, removed when it fails.

    The file gets the permissions any new file gets (0o666 less the umask), not
    ``tempfile.mkstemp``'s 0o600, which the target would keep after the rename: a
    report is meant to be read by others.

    Raises:
        OSError: the temporary file cannot be made, synced or renamed; callers turn it
            into their own error with what to do.
    """
    target = Path(target)
    temporary = _create_hidden_beside(target)
    try:
        yield temporary
        descriptor = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


def _create_hidden_beside(target: Path) -> Path:
    while True:
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # 48 random bits taken: try another name
            continue
        os.close(descriptor)
        return temporary
