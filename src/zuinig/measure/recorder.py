"""The recorder: opens runs, measures them with a meter, and hands each state to a sink.

Every call of a measured function becomes a run in the ledger. The promise to
the analyst is that measuring never changes the job: its return value and its
exceptions (type, message, traceback frames) pass through unchanged, and when
measuring or storing fails, zuinig logs one warning and the job goes on.

Nesting rule: a measured call made inside another measured call (in the same
thread or asyncio task, or in a command started by ``zuinig run``) records the
outer run as its ``parent_run_id``. Both windows cover the inner work, so a
parent's energy already includes its children's; totals therefore sum
top-level runs only (``RunFilter(top_level_only=True)``), never children.

What a run records: its ``running`` state at the start, then its end as ``ok``
or ``error`` (with the exception's type and message). Each state is on disk
before the job goes on: the recorder hands it to its :class:`RunSink`, by default
a :class:`zuinig.ledger.writer.RunWriter`, which writes it to the ledger or, until
this process has opened the ledger, to the local spool (see that module for how
and why). A measured run is never lost, and a run whose process died before its
end shows as ``interrupted``.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from zuinig.config import PARENT_RUN_ENV, Settings, load_settings
from zuinig.ledger.model import (
    KIND_FUNCTION,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_RUNNING,
    Run,
)
from zuinig.ledger.writer import EXIT_FLUSH_TIMEOUT_S, RunWriter, wait_for_deliveries
from zuinig.measure.provenance import provenance, provenance_fields
from zuinig.meter.base import Measurement, Meter, Window
from zuinig.notices import forget_warnings, log_bug, reason, warn_once
from zuinig.run_context import run_context

if TYPE_CHECKING:
    from zuinig.ledger import Ledger

__all__ = [
    "ActiveRun",
    "Recorder",
    "RunSink",
    "current_run_id",
    "default_recorder",
    "end_window",
    "reset_current_run",
]

#: The run currently open in this thread or asyncio task, for ``parent_run_id``.
current_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "zuinig_current_run_id", default=None
)


class RunSink(Protocol):
    """Where a :class:`Recorder` puts each state of a run; :class:`~zuinig.ledger.writer.RunWriter`
    is the one zuinig uses, and a test may pass its own.

    Every method but :meth:`ledger` must never raise: measuring never breaks the job.
    """

    def write(self, run: Run) -> str:
        """Put this state of ``run`` (``running``, ``ok`` or ``error``) on disk before
        returning; say where (a word for logs and tests, e.g. ``"ledger"``)."""
        ...

    def window_opened(self) -> None:
        """A run's measured window opens (the sink may keep slow work out of it)."""
        ...

    def window_closed(self) -> None:
        """A run's measured window has closed; its end is written next."""
        ...

    def flush(self, timeout_s: float) -> bool:
        """Wait at most ``timeout_s`` seconds until every state written is in the ledger;
        whether it is."""
        ...

    def ledger(self) -> Ledger:
        """The open ledger, opened now if it is not yet.

        Raises:
            ZuinigError: the ledger cannot be opened.
        """
        ...


class ActiveRun:
    """A run that has started and not yet finished. Made by :meth:`Recorder.begin`."""

    def __init__(
        self, recorder: Recorder, run: Run, window: Window | None, *, current: bool = True
    ) -> None:
        self.recorder = recorder
        self.run = run
        self._window = window
        self._token: contextvars.Token[str | None] | None = (
            current_run_id.set(run.run_id) if current else None
        )
        self.measurement: Measurement | None = None

    def finish(
        self,
        error: BaseException | None = None,
        *,
        exit_code: int | None = None,
    ) -> Run:
        """Close the measurement window and store the final run. Never raises."""
        measurement = end_window(self._window)
        self.measurement = measurement
        self._reset_current()
        self.recorder.sink.window_closed()
        try:
            finished = self.run.with_measurement(measurement) if measurement else self.run
            status = STATUS_OK if error is None and not exit_code else STATUS_ERROR
            changes: dict[str, Any] = {"status": status, "exit_code": exit_code}
            if error is not None:
                changes["error_type"] = _qualified_type_name(error)
                changes["error_message"] = _first_lines(str(error))
            elif exit_code:
                changes["error_type"] = "ExitCode"
                changes["error_message"] = f"the command exited with code {exit_code}"
            if finished.ended_at is None:
                changes["ended_at"] = datetime.now(UTC)
            finished = dataclasses.replace(finished, **changes)
        except Exception as error:  # a bug of ours must not reach the job
            log_bug(f"could not complete run {self.run.run_id}", error)
            finished = dataclasses.replace(self.run, status=STATUS_ERROR)
        self.run = finished
        self.recorder.store_finished(finished)
        return finished

    def _reset_current(self) -> None:
        # Finished in another context than it began (e.g. a generator driven from
        # elsewhere): the context that set it is gone, nothing to undo there.
        if self._token is not None:
            reset_current_run(self._token)
            self._token = None


class Recorder:
    """Meter plus sink for one process: opens runs, measures them and stores them.

    Settings, the sink's ledger and the meter are made on first use, not at import
    or decoration time: importing a module with decorated functions stays free,
    and a broken setting shows up when a job runs, as a warning, not as an
    import error. Each state of a run goes to the sink (by default a
    :class:`~zuinig.ledger.writer.RunWriter`: the spool first, then the ledger).

    Args:
        settings: the settings; by default read (:func:`zuinig.config.load_settings`) on first use.
        ledger_url: where runs go; by default the settings' ledger.
        meter: what measures a run's window; by default the settings' meter.
        sink: where each state of a run goes; by default a writer for ``ledger_url``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        ledger_url: str | None = None,
        meter: Meter | None = None,
        sink: RunSink | None = None,
    ) -> None:
        self._settings = settings
        self._ledger_url = ledger_url
        self._meter = meter
        self._url: str | None = None
        self.sink: RunSink = sink or RunWriter(self.ledger_url, lambda: self.settings)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def meter(self) -> Meter:
        if self._meter is None:
            from zuinig.meter import default_meter

            self._meter = default_meter(self.settings)
        return self._meter

    def ledger_url(self) -> str:
        """The URL runs are written to."""
        if self._url is None:
            # zuinig.ledger.urls, not the store: no SQLAlchemy on the spool-first path.
            from zuinig.ledger.urls import configured_ledger_url

            self._url = self._ledger_url or configured_ledger_url(self.settings.ledger)
        return self._url

    def ledger(self) -> Ledger:
        """The open ledger of this process, opened now if it is not yet (again after a fork).

        Opening delivers what waits in the spool for this ledger; from then on runs
        are written to it directly.

        Raises:
            ZuinigError: the settings are wrong, or the ledger cannot be opened
                (what :meth:`zuinig.ledger.Ledger.open` raises).
        """
        return self.sink.ledger()

    def begin(
        self,
        job: str,
        *,
        tags: Mapping[str, str] | None = None,
        kind: str = KIND_FUNCTION,
        command: str | None = None,
        context: Mapping[str, Any] | None = None,
        current: bool = True,
        job_is_fallback: bool = False,
        parent_run_id: str | None = None,
    ) -> ActiveRun:
        """Open a run: record its ``running`` state, then open the meter's window.

        The state is on disk when this returns (see :class:`RunSink`).
        Never raises for a measurement or ledger failure; those are logged and
        the run goes on (its start may then be missing; storing its end inserts it).

        The run's tags are the scheduler and CI context of this process
        (:func:`zuinig.run_context.run_context`: ``orchestrator``, ``dag``, ``task``, ...)
        with ``tags`` over them: the caller's tags win.

        Args:
            job: the job's name.
            tags: the caller's tags.
            kind: what made the run (``KIND_*`` of :mod:`zuinig.ledger.model`).
            command: the command line of a ``zuinig run``, secrets masked.
            context: hints for the meter (see :meth:`zuinig.meter.base.Meter.begin`).
            current: ``False`` does not make the run the parent of runs begun later
                in this thread or task (a generator's run is current only while its
                body runs).
            job_is_fallback: ``job`` is a stand-in (a program's name, ``unnamed``):
                a scheduler's name for the task (``dag.task``) replaces it.
            parent_run_id: the parent run, when it is not the run current in this
                thread or task nor ``ZUINIG_PARENT_RUN_ID`` (an xdist worker's session).
        """
        found = run_context()
        if job_is_fallback and found.job:
            job = found.job
        run = Run(
            run_id=str(uuid.uuid4()),
            job=job,
            status=STATUS_RUNNING,
            started_at=datetime.now(UTC),
            kind=kind,
            parent_run_id=(
                parent_run_id or current_run_id.get() or os.environ.get(PARENT_RUN_ENV) or None
            ),
            tags={**found.tags, **(tags or {})},
            command=command,
            **provenance_fields(),
        )
        self.sink.write(run)
        self.sink.window_opened()
        window: Window | None = None
        try:
            window = self.meter.begin(context)
        except Exception as error:
            # Whether the run itself is stored is said by the sink: a bad setting can stop both.
            warn_once(f"zuinig: cannot measure ({reason(error)}); the job goes on unmeasured")
        return ActiveRun(self, run, window, current=current)

    def store_finished(self, run: Run) -> None:
        """Record the finished run: in the ledger when it is open, else in the spool.

        When writing the ledger fails, the run is spooled too, so it is not lost.
        Never raises.
        """
        self.sink.write(run)

    def flush(self, timeout_s: float = EXIT_FLUSH_TIMEOUT_S) -> bool:
        """Wait until every run this process recorded so far is in the ledger, at most
        ``timeout_s`` seconds; ``False`` when some are still in the spool (kept for the
        next open of the ledger). See :meth:`zuinig.ledger.writer.RunWriter.flush`.
        """
        return self.sink.flush(timeout_s)


_default_recorder: Recorder | None = None
_default_recorder_lock = threading.Lock()


def default_recorder() -> Recorder:
    """The process-wide recorder used by ``@measure`` without explicit settings."""
    global _default_recorder
    with _default_recorder_lock:
        if _default_recorder is None:
            _default_recorder = Recorder()
        return _default_recorder


def reset_current_run(token: contextvars.Token[str | None]) -> None:
    """Undo :data:`current_run_id`'s ``set`` that gave ``token``; quietly, when it was set
    in another context (nothing to undo there)."""
    with contextlib.suppress(ValueError):
        current_run_id.reset(token)


def end_window(window: Window | None) -> Measurement | None:
    """Close a meter's window (``None``: there was none); its measurement, or ``None``.

    Never raises: a meter that fails here is one warning, and the run is stored unmeasured.
    """
    if window is None:
        return None
    try:
        return window.end()
    except Exception as error:  # Window.end promises not to raise; this is the belt to its braces
        warn_once(f"zuinig: the meter failed ({reason(error)})")
        return None


def _qualified_type_name(error: BaseException) -> str:
    kind = type(error)
    if kind.__module__ in ("builtins", "__main__"):
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _first_lines(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reset_for_tests() -> None:
    """Forget the process-wide recorder and warnings (tests only).

    Waits for ledger openers first, so no test's background delivery runs into the next.
    """
    global _default_recorder
    wait_for_deliveries(EXIT_FLUSH_TIMEOUT_S)
    _default_recorder = None
    forget_warnings()
    provenance.cache_clear()
