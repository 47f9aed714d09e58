"""Facts about this process that every run carries (its provenance), computed once.

Host, user, pid and the process's start time (together they tell a live run from an
interrupted one), the versions of Python, CodeCarbon and zuinig, and the git commit
of the working directory. Read cheaply, without running programs: the first measured
call of a process pays for them, and its budget is 0.1 s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import getpass
import importlib.util
import os
import platform
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zuinig import __version__
from zuinig.ledger.model import Provenance

__all__ = ["provenance", "provenance_fields"]


@functools.cache
def provenance() -> Provenance:
    """Facts about this process that every run carries; computed once per process."""
    return Provenance(
        host=socket.gethostname(),
        user=_user_name(),
        pid=os.getpid(),
        pid_started_at=_process_start_time(),
        python_version=platform.python_version(),
        codecarbon_version=_package_version("codecarbon"),
        zuinig_version=__version__,
        git_commit=_git_commit(Path.cwd()),
    )


def provenance_fields() -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies every value on every call of the hot path.
    found = provenance()
    return {field.name: getattr(found, field.name) for field in dataclasses.fields(found)}


def _user_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _process_start_time() -> datetime | None:
    try:
        import psutil

        return datetime.fromtimestamp(psutil.Process().create_time(), UTC)
    except Exception:
        return None


def _package_version(name: str) -> str | None:
    """The installed version of distribution ``name`` (an import name equal to it).

    Read from the name of its ``<name>-<version>.dist-info`` folder beside the
    package when there is exactly one: importing :mod:`importlib.metadata` alone
    costs about 50 ms, a sixth of the first call's budget. Anything less plain
    (several candidates, no such folder) asks importlib.metadata.
    """
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        site = Path(spec.origin).parent.parent
        prefix = f"{name.replace('-', '_')}-"
        with contextlib.suppress(OSError):
            found = [
                entry.name[len(prefix) : -len(".dist-info")]
                for entry in os.scandir(site)
                if entry.name.startswith(prefix) and entry.name.endswith(".dist-info")
            ]
            if len(found) == 1 and found[0]:
                return found[0]
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _git_commit(start: Path) -> str | None:
    """The commit checked out in ``start``'s repository, read from .git without running git."""
    for directory in (start, *start.parents):
        git_dir = directory / ".git"
        if git_dir.is_file():  # a worktree or submodule: "gitdir: <path>"
            try:
                target = git_dir.read_text().split(":", 1)[1].strip()
                git_dir = (directory / target).resolve()
            except (OSError, IndexError):
                return None
        if not git_dir.is_dir():
            continue
        try:
            head = (git_dir / "HEAD").read_text().strip()
            if not head.startswith("ref:"):
                return head or None
            ref = head.split(":", 1)[1].strip()
            ref_file = git_dir / ref
            if ref_file.is_file():
                return ref_file.read_text().strip() or None
            packed = git_dir / "packed-refs"
            if packed.is_file():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split(" ", 1)[0]
        except OSError:
            return None
        return None
    return None


# A forked child has its own pid and start time.
os.register_at_fork(after_in_child=provenance.cache_clear)
