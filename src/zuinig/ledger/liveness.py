"""Is the process that wrote a ``running`` row still alive?

A run is written at its start as ``running``. If its process dies (SIGKILL, power
loss) the row stays ``running`` for ever; the ledger *shows* such a row as
``interrupted``. Only processes on this host can be checked, so rows from other
hosts stay ``running``. A pid can be reused by an unrelated process after the
original died, so the process start time stored with the run must match too.

The measuring side should fill :class:`zuinig.ledger.model.Provenance` with
:func:`this_host` and :func:`process_started_at` so both sides agree.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from zuinig.ledger.model import STATUS_INTERRUPTED, STATUS_RUNNING

#: How far a process's start time may differ between when it was stored and when it
#: is checked (s). psutil derives it from boot time plus clock ticks, so it is stable
#: to well under a second; a reused pid started within this window is not told apart.
PID_START_TOLERANCE_S = 1.0


def this_host() -> str:
    """This machine's name, as stored in ``Run.host``."""
    return socket.gethostname()


def process_started_at(pid: int) -> datetime | None:
    """When process ``pid`` started (UTC), or ``None`` if it does not exist."""
    import psutil  # imported here: only needed once a running row is shown

    try:
        return datetime.fromtimestamp(psutil.Process(pid).create_time(), tz=UTC)
    except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
        return None


def is_process_gone(pid: int, started_at: datetime | None) -> bool:
    """Whether process ``pid``, started at ``started_at``, no longer runs on this host.

    Args:
        pid: process id stored with the run.
        started_at: process start time stored with the run (UTC); ``None`` when
            unknown, in which case any live process with that pid counts as alive.
    """
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True  # killed and not yet reaped by its parent: it will do no more work
        created = datetime.fromtimestamp(process.create_time(), tz=UTC)
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False  # it exists; we just may not look at it
    if started_at is None:
        return False
    return abs((created - started_at).total_seconds()) > PID_START_TOLERANCE_S


class LivenessCache:
    """Answers :func:`is_process_gone` once per (host, pid, start) within one query.

    :meth:`shown_status` is the one place the ledger turns a stored ``running`` into
    a shown ``interrupted``: every read of runs and bench sessions goes through it.
    """

    def __init__(self) -> None:
        self._host = this_host()
        self._answers: dict[tuple[int, datetime | None], bool] = {}

    def is_interrupted(
        self, host: str | None, pid: int | None, pid_started_at: datetime | None
    ) -> bool:
        """Whether a ``running`` row with this provenance should be shown as interrupted."""
        if host != self._host or pid is None:
            return False
        key = (pid, pid_started_at)
        if key not in self._answers:
            self._answers[key] = is_process_gone(pid, pid_started_at)
        return self._answers[key]

    def shown_status(
        self, status: str, host: str | None, pid: int | None, pid_started_at: datetime | None
    ) -> str:
        """The status a stored row is shown with.

        ``running`` becomes ``interrupted`` when the row's process ran on this host
        and is gone; every other status is shown as stored.

        Args:
            status: the stored status.
            host: the host stored with the row.
            pid: the process id stored with the row.
            pid_started_at: that process's start time stored with the row (UTC).
        """
        if status == STATUS_RUNNING and self.is_interrupted(host, pid, pid_started_at):
            return STATUS_INTERRUPTED
        return status
