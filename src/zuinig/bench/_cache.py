"""Cache directories that are either complete or absent.

Generated data (TPC-H tables, group-by data, prepared formats) is written into a
temporary sibling directory, finished with a manifest, and only then renamed into
place. A rename within one file system is atomic, so an interrupted run (Ctrl-C,
out of memory, a full disk) never leaves a half-written cache that a later run
would trust. Several processes may build the same entry at once: the first to
finish wins and the others throw their copy away.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import platformdirs
import psutil

from zuinig.errors import BenchError

#: The file that marks a cache directory complete; written last, before the rename.
MANIFEST_NAME = "zuinig-manifest.json"

#: Bumped when the layout or content of cached data changes, so old caches are rebuilt.
CACHE_LAYOUT_VERSION = 1

_TEMP_MARK = ".tmp-"


def default_cache_dir() -> Path:
    """The user cache directory of zuinig (``~/.cache/zuinig`` on Linux)."""
    return platformdirs.user_cache_path("zuinig")


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of a complete cache directory, or ``None`` when it is absent or broken.

    Complete means: the manifest parses, its layout version is current, and every
    file it lists exists with the size it recorded (bytes).
    """
    try:
        manifest = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("layout") != CACHE_LAYOUT_VERSION:
        return None
    files = manifest.get("files")
    if not isinstance(files, dict):
        return None
    for name, size in files.items():
        try:
            if (directory / name).stat().st_size != size:
                return None
        except OSError:
            return None
    return manifest


def write_manifest(directory: Path, content: Mapping[str, Any]) -> dict[str, Any]:
    """Write the manifest of ``directory``, listing every file in it with its size (bytes)."""
    files = {
        path.name: path.stat().st_size
        for path in sorted(directory.iterdir())
        if path.is_file() and path.name != MANIFEST_NAME
    }
    manifest = {"layout": CACHE_LAYOUT_VERSION, **content, "files": files}
    (directory / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8"
    )
    return manifest


@contextlib.contextmanager
def building(
    final: Path, accept: Callable[[Mapping[str, Any]], bool] | None = None
) -> Iterator[Path]:
    """Yield an empty temporary directory that becomes ``final`` when the block succeeds.

    The block must write a manifest (:func:`write_manifest`) last. When the block
    raises, the temporary directory is removed and ``final`` is left as it was.

    Args:
        final: where the finished directory goes.
        accept: whether a complete ``final`` found at the end (published meanwhile by
            another process) may stay in place of ours, given its manifest; when it
            says no, or is ``None``, ours replaces it. Without this, a stale entry
            (other data, other tables) would survive being rebuilt.
    """
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BenchError(
            f"cannot create the cache directory {parent}: {error.strerror}; "
            "check its permissions or free disk space"
        ) from error
    _remove_abandoned_temp_dirs(parent, final.name)
    temp = Path(tempfile.mkdtemp(prefix=f".{final.name}{_TEMP_MARK}{os.getpid()}-", dir=parent))
    try:
        yield temp
        if read_manifest(temp) is None:
            raise BenchError(f"internal error: {temp} was finished without a manifest")
        _publish(temp, final, accept or (lambda manifest: False))
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _publish(temp: Path, final: Path, accept: Callable[[Mapping[str, Any]], bool]) -> None:
    if final.exists():
        existing = read_manifest(final)
        if existing is not None and accept(existing):
            return  # another process finished first; its copy is as good as ours
        # An incomplete or unwanted entry: move it aside first so that the rename below
        # stays atomic, then delete it.
        stale = Path(tempfile.mkdtemp(prefix=f".{final.name}{_TEMP_MARK}stale-", dir=final.parent))
        final.rename(stale / "old")
        shutil.rmtree(stale, ignore_errors=True)
    try:
        temp.rename(final)
    except OSError:
        existing = read_manifest(final)
        if existing is None or not accept(existing):
            raise
        # Lost a race to another process that published a good copy; keep theirs.


def _remove_abandoned_temp_dirs(parent: Path, name: str) -> None:
    """Delete temporary directories left by processes that no longer run (a killed run)."""
    for candidate in parent.glob(f".{name}{_TEMP_MARK}*"):
        owner = candidate.name[len(f".{name}{_TEMP_MARK}") :].split("-", 1)[0]
        if owner.isdigit() and _process_alive(int(owner)):
            continue
        shutil.rmtree(candidate, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    # psutil rather than os.kill(pid, 0): on Windows os.kill terminates the process.
    return pid == os.getpid() or psutil.pid_exists(pid)
