"""``@measure`` and ``with measure(...)``: a thin shell over a meter and the ledger.

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
before the job goes on: in the ledger, or in the local spool
(:mod:`zuinig.ledger.spool`: this process's journal, one ``fdatasync``'ed line
per state, about 0.15 ms), from where the next open
of the ledger, in any process, delivers it. A measured run is never lost, and a
run whose process died before its end shows as ``interrupted``.

Spool first until the ledger is open. Opening the ledger imports SQLAlchemy
(about a quarter second of CPU), so a process does not open it on the path of
its first call:

- Until this process has opened its ledger and delivered what it spooled, each
  state is appended to its spool journal. The first call starts a background
  thread which opens the ledger (opening delivers the spool) and then delivers
  states spooled meanwhile, **at a quiet moment only**: after the first run has
  ended, when no measured window is open and no run began in the last
  :data:`QUIET_S` seconds. It opens sooner when the journal holds
  :data:`OPEN_AFTER_RECORDS` states, when someone waits (:meth:`Recorder.flush`,
  exit, :meth:`Recorder.ledger`), and at the latest :data:`OPEN_AT_THE_LATEST_S`
  after it started. So a burst of calls stays on the journal, and the quarter
  second of CPU that opening costs does not take the GIL from measured work.
  After that, states are written to the ledger directly (its commit is
  the state on disk); a direct write that fails is spooled, fsynced, before the job
  goes on, start state included. An outage gives one warning, and one line when the
  runs kept meanwhile are delivered; :meth:`Recorder.flush` is ``False`` until then.
- When neither the ledger nor the spool can be written (a full disk), runs are kept
  in memory and saved by the next write that works, by ``flush()`` or at exit; one
  line says so, no traceback.
- The thread is started once per process: again in a forked child (whose runs
  also record its own pid), and after a failed open at most every
  :data:`REOPEN_AFTER_S` seconds (meanwhile runs stay in the spool, and one
  warning says where).
- At exit the process waits up to :data:`EXIT_FLUSH_TIMEOUT_S` for that thread,
  so a script's runs are in the ledger when it ends (a ``multiprocessing`` child's
  too, when its target returns). What is left, say of a process killed or ended
  with ``os._exit()``, stays in the spool for the next open (``zuinig runs list``
  does one). :meth:`Recorder.flush` waits for delivery on demand.
- Opening the ledger up front with :meth:`Recorder.ledger` (``zuinig run`` does,
  to refuse a bad URL before the command starts) writes directly from the first call.
- Why a quiet moment: opening is CPU-bound Python (about 0.3 s of CPU). Under
  the GIL it cannot overlap a measured call, only slow it down (each call then
  waits up to the 5 ms switch interval, 8-19 ms per call measured), and a window
  open meanwhile counts its CPU time. Between bursts of calls it costs them
  nothing; a run longer than the limit includes it (then under 1 % of it).
- Why direct writes once open, not the journal for good: a direct write puts
  the run in the ledger at once (other processes, ``runs list``, see it without
  a delivery step) and keeps one path for an outage; it costs about 1 ms per
  call, paid only after a quiet moment, i.e. not in a burst of early calls.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import dataclasses
import functools
import getpass
import importlib.util
import inspect
import logging
import os
import platform
import socket
import sys
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, overload

from zuinig import __version__
from zuinig.config import PARENT_RUN_ENV, Settings, load_settings
from zuinig.errors import LedgerError, ZuinigError
from zuinig.ledger.model import (
    KIND_FUNCTION,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_RUNNING,
    Provenance,
    Run,
)
from zuinig.meter.base import Measurement, Meter, Window
from zuinig.run_context import run_context

__all__ = ["ActiveRun", "Measuring", "Recorder", "measure"]

logger = logging.getLogger("zuinig")

P = ParamSpec("P")
R = TypeVar("R")

#: How long a process waits at exit for its spooled runs to reach the ledger (s).
EXIT_FLUSH_TIMEOUT_S = 10.0
#: After a failed attempt to open the ledger, the wait before a call tries again (s).
REOPEN_AFTER_S = 30.0
#: The opener thread opens the ledger when the first run of the process ends, or
#: this long after that run began if it is still going (s).
OPEN_AT_THE_LATEST_S = 30.0
#: The opener waits for a quiet moment: no measured window open and no run begun
#: in the last this many seconds (s).
QUIET_S = 0.2
#: ... unless the journal holds this many states already: then it opens at once.
OPEN_AFTER_RECORDS = 1000
# A bound on the opener's drain loop, in case files of ours cannot be removed.
_MAX_DELIVERY_ROUNDS = 100
# A bound on the runs kept in memory when neither ledger nor spool can be written.
_MAX_UNSAVED = 10_000

#: The run currently open in this thread or asyncio task, for ``parent_run_id``.
_current_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "zuinig_current_run_id", default=None
)


class ActiveRun:
    """A run that has started and not yet finished. Made by :meth:`Recorder.begin`."""

    def __init__(
        self, recorder: Recorder, run: Run, window: Window | None, *, current: bool = True
    ) -> None:
        self.recorder = recorder
        self.run = run
        self._window = window
        self._token: contextvars.Token[str | None] | None = (
            _current_run_id.set(run.run_id) if current else None
        )
        self.measurement: Measurement | None = None

    def finish(
        self,
        error: BaseException | None = None,
        *,
        exit_code: int | None = None,
    ) -> Run:
        """Close the measurement window and store the final run. Never raises."""
        measurement = _end_window(self._window)
        self.measurement = measurement
        self._reset_current()
        self.recorder._window_closed()
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
            _log_bug(f"could not complete run {self.run.run_id}", error)
            finished = dataclasses.replace(self.run, status=STATUS_ERROR)
        self.run = finished
        self.recorder.store_finished(finished)
        return finished

    def _reset_current(self) -> None:
        if self._token is None:
            return
        # ValueError: finished in another context than it began (e.g. a generator
        # driven from elsewhere); the context that set it is gone, nothing to undo.
        with contextlib.suppress(ValueError):
            _current_run_id.reset(self._token)
        self._token = None


class Recorder:
    """Meter plus ledger for one process: opens runs and stores them.

    Settings, the ledger and the meter are made on first use, not at import or
    decoration time: importing a module with decorated functions stays free,
    and a broken setting shows up when a job runs, as a warning, not as an
    import error.

    **Spool first until the ledger is open.** Opening the ledger imports
    SQLAlchemy, about a quarter second of CPU that would otherwise sit in the first
    call of every process. So until this process has opened its ledger, each state
    of a run (``running`` at the start, ``ok``/``error`` at the end) is appended to
    this process's spool journal (:class:`zuinig.ledger.spool.Journal`, one synced
    line) before the job goes on, and a background thread opens the ledger at a
    quiet moment after the first run has ended (see the module description), which
    delivers the spool. Once everything this process spooled is
    delivered, runs are written to the ledger directly. The thread is started once per process (again in a
    forked child, and at most every :data:`REOPEN_AFTER_S` after a failed open);
    at exit the process waits up to :data:`EXIT_FLUSH_TIMEOUT_S` for it. Whatever
    is still in the spool then is delivered by the next open of that ledger, by
    any process (``zuinig runs list`` does it).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        ledger_url: str | None = None,
        meter: Meter | None = None,
    ) -> None:
        self._settings = settings
        self._ledger_url = ledger_url
        self._meter = meter
        self._url: str | None = None
        self._reset_process_state()
        _recorders.add(self)

    def _reset_process_state(self) -> None:
        """State that belongs to one process: set up here, and again in a forked child.

        A child inherits neither the parent's threads nor its duty to deliver the
        parent's spooled runs, and a lock some other thread held at fork() would
        stay held in the child forever; so all of it starts afresh.
        """
        self._ledger: Any = None  # zuinig.ledger.Ledger, imported lazily
        # Held while opening the ledger (slow), never while deciding how to store a run.
        self._open_lock = threading.Lock()
        # Guards the fields below; held while a run's state is saved to the spool, so
        # the opener cannot declare the spool delivered between a save and its record.
        self._state_lock = threading.Lock()
        #: The ledger is open and every state this process spooled is delivered:
        #: write runs directly. Read without the lock (a bool read is atomic); it
        #: only ever turns true within a process.
        self._direct = False
        #: This process's spool journal (:class:`zuinig.ledger.spool.Journal`), made on
        #: the first state it takes; closed and replaced when it is to be delivered.
        self._journal: Any = None
        #: Journals of this process closed for delivery, until delivered (removed).
        self._own: set[Path] = set()
        #: Measured windows open now, and when the last run began (monotonic s): the
        #: opener waits until none is open and none began for QUIET_S.
        self._open_windows = 0
        self._last_begin_s = 0.0
        #: Someone waits for delivery (flush, exit, an explicit open): skip the quiet wait.
        self._hurry = threading.Event()
        self._opener: threading.Thread | None = None
        #: Set when the opener may start opening: a run has ended (or someone waits).
        self._go = threading.Event()
        #: When the last attempt to open the ledger (or deliver to it) failed, and why.
        self._failed_at: float | None = None
        self._failure: str | None = None
        #: An outage was announced (one warning) and its end not yet (one line).
        self._outage = False
        #: Runs neither the ledger nor the spool took (disk full): kept here, saved to
        #: the spool by the next successful write, by flush() or at exit.
        self._unsaved: dict[str, Run] = {}
        self._unsaved_warned = False

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

    def ledger(self) -> Any:
        """The open ledger of this process, opened now if it is not yet (again after a fork).

        Opening delivers what waits in the spool for this ledger; from then on runs
        are written to it directly.

        Raises:
            ZuinigError: the settings are wrong, or the ledger cannot be opened
                (what :meth:`zuinig.ledger.Ledger.open` raises).
        """
        try:
            ledger = self._open_ledger()
        except Exception as error:
            self._note_failure(error)
            raise
        with self._state_lock:
            if not self._waiting():
                self._direct = True
                self._failed_at = self._failure = None
        if not self._direct:  # spooled runs wait: deliver them in the background now
            self._hurry.set()
            self._go.set()
            self._start_opener(force=True)
        return ledger

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

        The state goes to the ledger once it is open, and to the spool before that
        (see the class description); either way it is on disk when this returns.
        Never raises for a measurement or ledger failure; those are logged and
        the run goes on (its start may then be missing; :meth:`store_finished`
        inserts it).

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
                parent_run_id or _current_run_id.get() or os.environ.get(PARENT_RUN_ENV) or None
            ),
            tags={**found.tags, **(tags or {})},
            command=command,
            **_provenance_fields(),
        )
        self._store(run)
        with self._state_lock:
            self._open_windows += 1
            self._last_begin_s = time.monotonic()
        window: Window | None = None
        try:
            window = self.meter.begin(context)
        except Exception as error:
            # Whether the run itself is stored is said by _store: a bad setting can stop both.
            _warn_once(f"zuinig: cannot measure ({_reason(error)}); the job goes on unmeasured")
        # The thread waits for the end of the first run (see _open_and_deliver), so
        # starting it costs this call next to nothing.
        if not self._direct:
            try:
                self._start_opener()
            except Exception as error:  # e.g. no more threads: the spool keeps the runs
                _warn_once(f"zuinig: cannot open the ledger in the background ({_reason(error)})")
        return ActiveRun(self, run, window, current=current)

    def _window_closed(self) -> None:
        with self._state_lock:
            self._open_windows = max(0, self._open_windows - 1)

    def store_finished(self, run: Run) -> None:
        """Record the finished run: in the ledger when it is open, else in the spool.

        When writing the ledger fails, the run is spooled too, so it is not lost.
        Never raises.
        """
        if self._store(run) == "spool-first":
            self._go.set()  # the first run has ended: the opener may start now

    def _store(self, run: Run) -> str:
        """Put this state of ``run`` on disk before the job goes on; say how. Never raises.

        - Spool first (the ledger is not open yet): the spool, fsynced.
        - The ledger is open: the ledger only (its commit is the state on disk: no
          second write on the happy path); when that write fails, the spool, fsynced,
          before returning. Writing the spool first would cost an fsync per state on
          every call, and loses nothing more: the gap was a failed ledger write whose
          state stayed in memory.
        - Neither takes it (the disk is full): kept in memory, saved by the next
          write that works, by :meth:`flush` or at exit; one line says so.

        Returns:
            ``"spool-first"``, ``"ledger"``, ``"spool"`` (after a failed ledger
            write) or ``"memory"``.
        """
        try:
            if self._spool_if_not_open(run):
                return "spool-first"
        except Exception as error:
            self._keep_unsaved(run, error)
            return "memory"
        try:
            if run.status == STATUS_RUNNING:
                self._ledger.start_run(run)
            else:
                self._ledger.finish_run(run)
        except Exception as error:
            failure = error
        else:
            if self._outage or self._unsaved or self._own or self._journal is not None:
                self._after_outage()
            return "ledger"
        try:
            path = self._save_to_spool(run)
        except Exception as error:
            self._keep_unsaved(run, error, ledger_error=failure)
            return "memory"
        self._note_outage(_reason(failure), run, path.parent)
        return "spool"

    def _save_to_spool(self, run: Run) -> Path:
        """Append ``run`` to this process's journal (synced to disk), to be delivered.

        Raises:
            ZuinigError: the spool could not be written (or the settings are wrong).
        """
        with self._state_lock:
            return self._append_to_journal(run)

    def _append_to_journal(self, run: Run) -> Path:
        """Append ``run`` to the journal, made on first use; call with ``_state_lock`` held.

        The journal is this process's own, so a forked child (whose state was reset)
        makes its own. Returns the journal's path.
        """
        from zuinig.ledger import spool

        journal = self._journal
        if journal is not None and journal.closed:  # a failed write closed it
            if journal.records:
                self._own.add(journal.path)
            journal = self._journal = None
        if journal is None:
            journal = self._journal = spool.Journal.create(self.ledger_url())
        journal.append(run)
        path: Path = journal.path
        return path

    def _note_outage(self, reason: str, run: Run | None, where: Path | str) -> None:
        """Say once that runs are kept in the spool, not once per run (an outage may last
        hundreds of runs); :meth:`_after_outage` says when they are delivered again."""
        with self._state_lock:
            first = not self._outage
            self._outage = True
        if not first:
            logger.debug("zuinig: ledger still not writable (%s)", reason)
            return
        which = f"run {run.run_id} and later runs are" if run is not None else "runs are"
        logger.warning(
            "zuinig: cannot write to the ledger (%s); %s kept in %s and delivered "
            "when it is reachable again (no more warnings until then)",
            reason,
            which,
            where,
        )

    def _after_outage(self) -> None:
        """A direct write worked again: save what memory holds, deliver the spool in the
        background, and say so once it is delivered."""
        if self._opener is not None and self._opener.is_alive():
            return  # delivering already
        self._save_unsaved()
        with self._state_lock:
            waiting = self._waiting()
        if waiting:
            self._start_redelivery()
        else:
            self._note_recovered()

    def _note_recovered(self) -> None:
        with self._state_lock:
            was = self._outage
            self._outage = False
        if was:
            logger.warning(
                "zuinig: the ledger at %s is written again; the runs kept meanwhile are delivered",
                self._shown_url(),
            )

    def _start_redelivery(self) -> None:
        """Deliver this process's spooled runs in a background thread (direct mode)."""
        with self._state_lock:
            if self._opener is not None and self._opener.is_alive():
                return
            thread = threading.Thread(
                target=self._redeliver, name="zuinig-ledger-redeliver", daemon=True
            )
            self._opener = thread  # so flush() and the exit hook wait for it too
        try:
            thread.start()
        except RuntimeError as error:  # no more threads: the next open delivers them
            logger.debug("zuinig: cannot start the delivery thread: %r", error)

    def _redeliver(self) -> None:
        with self._state_lock:
            self._rotate()
        try:
            self._ledger.drain_spool()
        except Exception as error:
            logger.debug("zuinig: delivery failed again: %s", _reason(error))
            return
        with self._state_lock:
            waiting = self._waiting()
        if not waiting:
            self._note_recovered()

    def _keep_unsaved(
        self, run: Run, spool_error: BaseException, *, ledger_error: BaseException | None = None
    ) -> None:
        """Neither the ledger nor the spool took ``run``: keep it in memory; one line, once."""
        if getattr(spool_error, "bad_input", False):  # a wrong setting: no place to keep it
            _warn_once(f"zuinig: runs are not recorded: {_reason(spool_error)}")
            return
        with self._state_lock:
            if len(self._unsaved) < _MAX_UNSAVED or run.run_id in self._unsaved:
                self._unsaved[run.run_id] = run
            first = not self._unsaved_warned
            self._unsaved_warned = True
        logger.debug("zuinig: run %s not saved", run.run_id, exc_info=spool_error)
        if not first:
            return
        ledger_part = f"the ledger ({_reason(ledger_error)}) nor " if ledger_error else ""
        logger.error(
            "zuinig: neither %sthe spool (%s) can be written; run %s and later runs are "
            "kept in memory and saved when the spool can be written again, at the latest "
            "at exit (free some disk space)",
            ledger_part,
            _reason(spool_error),
            run.run_id,
        )

    def _save_unsaved(self) -> None:
        """Save runs kept in memory to the spool, oldest first; stop at the first failure."""
        with self._state_lock:
            waiting = list(self._unsaved.values())
        for run in waiting:
            try:
                self._save_to_spool(run)
            except Exception as error:
                logger.debug("zuinig: run %s still not saved: %s", run.run_id, _reason(error))
                return
            with self._state_lock:
                if self._unsaved.get(run.run_id) is run:
                    del self._unsaved[run.run_id]
                if not self._unsaved:
                    self._unsaved_warned = False

    def _shown_url(self) -> str:
        try:
            from zuinig.ledger.urls import mask_password

            return mask_password(self.ledger_url())
        except Exception:
            return "its URL"

    def flush(self, timeout_s: float = EXIT_FLUSH_TIMEOUT_S) -> bool:
        """Wait until every run this process recorded so far is in the ledger.

        Runs recorded before the ledger was open wait in the spool; this opens the
        ledger in the background if nothing is doing so (also right after a failed
        attempt) and waits for the delivery. Useful in tests, and before reading
        the ledger in the same process that measured.

        Args:
            timeout_s: how long to wait at most (s).

        Returns:
            Whether everything was delivered. ``False``: some runs are still in
            the spool (the ledger is unreachable, or slow to open); they are kept,
            and the next open of the ledger delivers them.
        """
        deadline = time.monotonic() + timeout_s
        if self._unsaved:
            self._save_unsaved()
        if self._delivered():
            return True
        self._hurry.set()
        self._go.set()
        if self._direct:  # runs spooled after failed direct writes: deliver them now
            self._start_redelivery()
        else:
            self._start_opener(force=True)
        opener = self._opener
        if opener is not None and opener is not threading.current_thread():
            opener.join(max(0.0, deadline - time.monotonic()))
        return self._delivered()

    # -- spool first ---------------------------------------------------------------------

    def _spool_if_not_open(self, run: Run) -> bool:
        """Save ``run`` to the spool unless runs go to the ledger directly; say which.

        Raises:
            ZuinigError: the spool could not be written (or the settings are wrong).
        """
        if self._direct:
            return False
        with self._state_lock:
            if self._direct_now():  # the opener finished while this thread waited for the lock
                return False
            path = self._append_to_journal(run)
            failure = self._failure
        if failure is not None:
            # Not merely waiting for the opener: the ledger could not be opened.
            self._note_outage(failure, run, path.parent)
        return True

    def _direct_now(self) -> bool:
        # A call, so a type checker does not carry over what an earlier test of the
        # flag found: another thread may have set it since.
        return self._direct

    def _delivered(self) -> bool:
        """Whether nothing this process recorded waits in the spool or in memory."""
        with self._state_lock:
            return not self._waiting() and not self._unsaved

    def _waiting(self) -> bool:
        """Whether states of this process wait in its journals; call with ``_state_lock`` held."""
        self._forget_delivered()
        return bool(self._own) or (self._journal is not None and self._journal.records > 0)

    def _rotate(self) -> None:
        """Close the journal if it holds states, so a drain may deliver and remove it; the
        next state starts a new one. Call with ``_state_lock`` held."""
        journal = self._journal
        if journal is not None and journal.records:
            journal.close()
            self._own.add(journal.path)
            self._journal = None

    def _forget_delivered(self) -> None:
        """Drop closed journals that are gone: delivered, by this process or any other.

        A drainer removes a journal only after its runs are committed (bad lines set
        aside) and its writer closed it, so a missing journal is delivered. Call with
        ``_state_lock`` held.
        """
        self._own = {path for path in self._own if path.exists()}

    def _start_opener(self, *, force: bool = False) -> None:
        """Start the thread that opens the ledger and delivers the spool, unless it runs.

        Args:
            force: start even within :data:`REOPEN_AFTER_S` of a failed attempt.
        """
        with self._state_lock:
            if self._direct or (self._opener is not None and self._opener.is_alive()):
                return
            if (
                not force
                and self._failed_at is not None
                and time.monotonic() - self._failed_at < REOPEN_AFTER_S
            ):
                return
            # A daemon thread, so a hung database cannot keep the process alive; the
            # exit hook gives it a bounded time to finish instead.
            opener = threading.Thread(
                target=self._open_and_deliver, name="zuinig-ledger-opener", daemon=True
            )
            self._opener = opener
            opener.start()
        _wait_at_exit_of_multiprocessing_child()

    def _open_and_deliver(self) -> None:
        """The opener thread: open the ledger, deliver until nothing of ours waits.

        It first waits for the end of the process's first run (at most
        :data:`OPEN_AT_THE_LATEST_S`). Opening is CPU-bound Python, and under the GIL
        it would slow a short first call down rather than overlap it, and count its
        CPU time (about 0.3 s) in that run's window. After the first run it overlaps
        whatever the program does next; only a first run longer than the limit
        has the opening inside its window (then under 1 % of it).
        """
        self._wait_for_a_quiet_moment()
        try:
            with self._state_lock:
                self._rotate()
            ledger = self._open_ledger()  # Ledger.open drains the spool of this URL
            for _ in range(_MAX_DELIVERY_ROUNDS):
                with self._state_lock:
                    self._rotate()
                    delivered = not self._waiting()
                    if delivered:
                        self._direct = True
                        self._failed_at = self._failure = None
                if delivered:
                    self._note_recovered()
                    return
                # Saved while the ledger was opening or draining: deliver those too.
                ledger.drain_spool()
            raise LedgerError(f"runs stayed in the spool after {_MAX_DELIVERY_ROUNDS} deliveries")
        except Exception as error:
            self._note_failure(error)
            if getattr(error, "bad_input", False):  # a wrong setting, not an outage
                _warn_once(f"zuinig: runs are not recorded: {_reason(error)}")
            else:
                self._note_outage(_reason(error), None, self._spool_dir())

    def _wait_for_a_quiet_moment(self) -> None:
        """Wait until opening the ledger would not slow measured work down.

        That is: the first run has ended, then no measured window is open and no run
        began in the last :data:`QUIET_S`; or the journal holds
        :data:`OPEN_AFTER_RECORDS` states; or someone waits (flush, exit, an explicit
        open); at the latest :data:`OPEN_AT_THE_LATEST_S` after the thread started.
        """
        deadline = time.monotonic() + OPEN_AT_THE_LATEST_S
        self._go.wait(OPEN_AT_THE_LATEST_S)
        while not self._hurry.is_set():
            now = time.monotonic()
            if now >= deadline:
                return
            with self._state_lock:
                since_begin = now - self._last_begin_s
                busy = self._open_windows > 0 or since_begin < QUIET_S
                journal = self._journal
                many = journal is not None and journal.records >= OPEN_AFTER_RECORDS
            if not busy or many:
                return
            # Sleeping, not spinning: the measured calls keep the GIL meanwhile.
            pause = QUIET_S - since_begin if self._open_windows == 0 else QUIET_S / 4
            self._hurry.wait(min(max(pause, 0.01), deadline - now))

    def _note_failure(self, error: BaseException) -> None:
        with self._state_lock:
            self._failed_at = time.monotonic()
            self._failure = _reason(error)

    def _open_ledger(self) -> Any:
        with self._open_lock:
            if self._ledger is None:
                from zuinig.ledger import Ledger

                self._ledger = Ledger.open(self.ledger_url(), settings=self.settings)
            return self._ledger

    def _spool_dir(self) -> str:
        try:
            from zuinig.ledger import spool

            return str(spool.spool_dir(self.ledger_url()))
        except Exception:
            return "the spool"

    def _wait_for_opener(self, timeout_s: float) -> None:
        opener = self._opener
        if opener is not None and opener.is_alive() and opener is not threading.current_thread():
            opener.join(timeout_s)


#: Every recorder of this process: for the fork and exit hooks below.
_recorders: weakref.WeakSet[Recorder] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # Runs in the only thread of the new child, so nothing races the reset.
    _provenance.cache_clear()  # the child has its own pid and start time
    for recorder in list(_recorders):
        inherited = recorder._journal
        recorder._reset_process_state()
        if inherited is not None:  # the parent's: its lock stays with the parent
            inherited.forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _deliver_at_exit(timeout_s: float = EXIT_FLUSH_TIMEOUT_S) -> None:
    """Give the ledger openers a bounded time, so a script's runs are in the ledger at its end.

    Only waits for openers already running: starting one now could stall the exit
    on an unreachable database. What is left stays in the spool, for the next open.
    """
    deadline = time.monotonic() + timeout_s
    for recorder in list(_recorders):
        if recorder._unsaved:  # the disk was full: a last try to keep those runs
            recorder._save_unsaved()
            if recorder._unsaved:
                logger.error(
                    "zuinig: %d run(s) could be saved neither in the ledger nor in the spool "
                    "before this process ended; they are lost",
                    len(recorder._unsaved),
                )
        recorder._hurry.set()  # no quiet moment to wait for any more
        recorder._go.set()  # a run still open at exit: open the ledger now, not later
        recorder._wait_for_opener(max(0.0, deadline - time.monotonic()))
        with recorder._state_lock:
            recorder._forget_delivered()
            journal = recorder._journal
            waiting = len(recorder._own) + (journal.records if journal is not None else 0)
        if waiting and not recorder._direct and recorder._failed_at is None:
            logger.warning(
                "zuinig: the ledger did not open within %.0f s; %d run(s) stay in %s and are "
                "delivered the next time it is opened (zuinig runs list does)",
                timeout_s,
                waiting,
                recorder._spool_dir(),
            )


atexit.register(_deliver_at_exit)

_child_hook_pid: int | None = None


def _wait_at_exit_of_multiprocessing_child() -> None:
    """Have a ``multiprocessing`` child wait for its opener too.

    Such a child ends with ``os._exit()``, which skips :mod:`atexit`; multiprocessing's
    own exit finalizers do run (when the child's target returns), so one is added
    there, once per process. Not imported here unless the program uses it.
    """
    global _child_hook_pid
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None or _child_hook_pid == os.getpid():
        return
    _child_hook_pid = os.getpid()
    try:
        if multiprocessing.parent_process() is None:
            return
        from multiprocessing import util

        util.Finalize(None, _deliver_at_exit, exitpriority=0)
    except Exception as error:  # an unusual multiprocessing: the spool still keeps the runs
        logger.debug("zuinig: no exit hook in this multiprocessing child: %r", error)


_default_recorder: Recorder | None = None
_default_recorder_lock = threading.Lock()


def default_recorder() -> Recorder:
    """The process-wide recorder used by ``@measure`` without explicit settings."""
    global _default_recorder
    with _default_recorder_lock:
        if _default_recorder is None:
            _default_recorder = Recorder()
        return _default_recorder


class Measuring:
    """What ``with measure(...) as m`` gives: the run, and its measurement after the block.

    Attributes:
        run: the run; its final state once the block has ended.
        measurement: the :class:`~zuinig.meter.base.Measurement`, once the block has ended.
    """

    def __init__(self, active: ActiveRun | None) -> None:
        self._active = active
        self.run: Run | None = active.run if active else None
        self.measurement: Measurement | None = None

    @property
    def run_id(self) -> str | None:
        return self.run.run_id if self.run else None

    def _finish(self, error: BaseException | None) -> None:
        if self._active is None:
            return
        self.run = self._active.finish(error)
        self.measurement = self._active.measurement


class MeasureSpec:
    """The object ``measure(job=..., tags=...)`` returns: a decorator and a context manager.

    One object may be used by many threads and asyncio tasks at once: each entry of
    ``with`` / ``async with`` gets its own run, whose parent is the run open in that
    thread or task, and its exit finishes that run with that block's exception.
    """

    def __init__(
        self,
        job: str | None,
        tags: Mapping[str, str] | None,
        recorder: Recorder | None,
    ) -> None:
        self.job = job
        self.tags = _check_tags(tags)
        self._recorder = recorder
        # The blocks entered and not yet left, per thread and asyncio task (a context
        # variable, not a list on the object): one object may be entered in several
        # threads or tasks at once, and each exit must finish its own entry's run.
        self._entered: contextvars.ContextVar[tuple[Measuring, ...]] = contextvars.ContextVar(
            f"zuinig_measure_entered_{id(self):x}", default=()
        )

    @property
    def recorder(self) -> Recorder:
        return self._recorder or default_recorder()

    # -- decorator ---------------------------------------------------------------------------

    @overload
    def __call__(self, func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...

    @overload
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, func: Callable[P, Any]) -> Callable[P, Any]:
        job = self.job or _default_job_name(func)
        spec = self

        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func, job)
        if inspect.isasyncgenfunction(func):
            return self._wrap_async_generator(func, job)
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                active = spec._begin(job, args, kwargs)
                try:
                    result = await func(*args, **kwargs)
                except BaseException as error:
                    spec._end(active, async_wrapper, error)
                    raise
                spec._end(active, async_wrapper, None)
                return result

            async_wrapper.last_run = None  # type: ignore[attr-defined]
            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            active = spec._begin(job, args, kwargs)
            try:
                result = func(*args, **kwargs)
            except BaseException as error:
                spec._end(active, wrapper, error)
                raise
            spec._end(active, wrapper, None)
            return result

        wrapper.last_run = None  # type: ignore[attr-defined]
        return wrapper

    # A generator function's call only makes the generator; the work happens while it
    # is iterated. So its run spans the iteration: it begins at the first next() and
    # ends when the generator is exhausted (ok), raises (error) or is closed early
    # (ok: the consumer stopped, nothing failed). The window includes what the
    # consumer does between items: it is the process's work while the run is open.
    # Values sent, thrown and yielded, the return value and exceptions pass through
    # unchanged. The run is the parent of runs begun inside the generator's body,
    # but not of the consumer's (it is current only while the body runs).

    def _wrap_generator(
        self, func: Callable[..., Generator[Any, Any, Any]], job: str
    ) -> Callable[..., Generator[Any, Any, Any]]:
        spec = self

        @functools.wraps(func)
        def generator_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            active = spec._begin(job, args, kwargs, current=False)
            try:
                result = yield from _steps_as_current(func(*args, **kwargs), active)
            except GeneratorExit:
                spec._end(active, generator_wrapper, None)
                raise
            except BaseException as error:
                spec._end(active, generator_wrapper, error)
                raise
            spec._end(active, generator_wrapper, None)
            return result

        generator_wrapper.last_run = None  # type: ignore[attr-defined]
        return generator_wrapper

    def _wrap_async_generator(
        self, func: Callable[..., AsyncGenerator[Any, Any]], job: str
    ) -> Callable[..., AsyncGenerator[Any, Any]]:
        spec = self

        @functools.wraps(func)
        async def async_generator_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            active = spec._begin(job, args, kwargs, current=False)
            generator = func(*args, **kwargs)
            to_send: Any = None
            to_throw: BaseException | None = None
            try:
                while True:
                    token = _current_run_id.set(active.run.run_id) if active else None
                    try:
                        if to_throw is not None:
                            item = await generator.athrow(to_throw)
                        else:
                            item = await generator.asend(to_send)
                    except StopAsyncIteration:
                        break
                    finally:
                        if token is not None:
                            _reset_quietly(token)
                    to_throw = None
                    try:
                        to_send = yield item
                    except GeneratorExit:
                        await generator.aclose()
                        raise
                    except BaseException as error:  # thrown in by the consumer: pass it on
                        to_throw = error
            except GeneratorExit:
                spec._end(active, async_generator_wrapper, None)
                raise
            except BaseException as error:
                spec._end(active, async_generator_wrapper, error)
                raise
            spec._end(active, async_generator_wrapper, None)

        async_generator_wrapper.last_run = None  # type: ignore[attr-defined]
        return async_generator_wrapper

    def _begin(
        self, job: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], *, current: bool = True
    ) -> ActiveRun | None:
        try:
            context = {"paths": _existing_file_arguments(args, kwargs)}
            return self.recorder.begin(job, tags=self.tags, context=context, current=current)
        except Exception as error:
            _warn_once(f"zuinig: not measuring {job} ({_reason(error)})")
            return None

    @staticmethod
    def _end(active: ActiveRun | None, wrapper: Any, error: BaseException | None) -> None:
        if active is None:
            return
        try:
            wrapper.last_run = active.finish(error)
        except Exception as failure:
            _log_bug(f"could not finish run {active.run.run_id}", failure)

    # -- context manager ---------------------------------------------------------------------

    def __enter__(self) -> Measuring:
        job = self.job or "unnamed"
        active: ActiveRun | None
        try:
            active = self.recorder.begin(job, tags=self.tags, job_is_fallback=self.job is None)
        except Exception as error:
            _warn_once(f"zuinig: not measuring {job} ({_reason(error)})")
            active = None
        handle = Measuring(active)
        self._entered.set((*self._entered.get(), handle))
        return handle

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        entered = self._entered.get()
        if not entered:  # left in another thread or task than it was entered: not ours
            _warn_once("zuinig: a measured block ended in another thread or task than it began")
            return
        handle = entered[-1]
        self._entered.set(entered[:-1])
        try:
            handle._finish(exc)
        except Exception as error:
            _log_bug("could not finish a measured block", error)

    async def __aenter__(self) -> Measuring:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


@overload
def measure(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def measure(
    *,
    job: str | None = None,
    tags: Mapping[str, str] | None = None,
    recorder: Recorder | None = None,
) -> MeasureSpec: ...


def measure(
    func: Callable[P, R] | None = None,
    /,
    *,
    job: str | None = None,
    tags: Mapping[str, str] | None = None,
    recorder: Recorder | None = None,
) -> Callable[P, R] | MeasureSpec:
    """Measure every call of a function, or a block of code, as a run in the ledger.

    Use as ``@measure``, ``@measure(job="woningbouwmonitor", tags={"team": "ruimte"})``
    or ``with measure(job="laden") as m: ...`` (then ``m.measurement``). Works on
    plain and async functions, and on generator functions (plain and async), whose
    run spans the iteration: from the first ``next()`` to exhaustion, an exception
    or ``close()`` (an early close is ``ok``). A decorated function's latest run is
    ``f.last_run``. One :class:`MeasureSpec` may be entered by many threads and
    asyncio tasks at once; each entry is its own run.

    Args:
        func: the function, when used as a bare decorator.
        job: the job's name in the ledger; by default ``module.qualname`` of the function,
            and for a ``with`` block the scheduler's name for the task (``dag.task`` in
            Airflow, see :mod:`zuinig.run_context`), else ``unnamed``.
        tags: labels such as ``{"team": "ruimte"}``, for filters and reports.
        recorder: where to measure and store; the process-wide default reads settings.

    Returns:
        The wrapped function, or a :class:`MeasureSpec` usable as decorator or context manager.
    """
    spec = MeasureSpec(job, tags, recorder)
    if func is not None:
        return spec(func)
    return spec


# -- helpers ---------------------------------------------------------------------------------


def _steps_as_current(
    generator: Generator[Any, Any, Any], active: ActiveRun | None
) -> Generator[Any, Any, Any]:
    """Drive ``generator`` as ``yield from`` would, with ``active``'s run current (the
    parent of runs begun) only while the generator's body runs."""
    to_send: Any = None
    to_throw: BaseException | None = None
    while True:
        token = _current_run_id.set(active.run.run_id) if active else None
        try:
            item = generator.throw(to_throw) if to_throw is not None else generator.send(to_send)
        except StopIteration as stop:
            return stop.value
        finally:
            if token is not None:
                _reset_quietly(token)
        to_throw = None
        try:
            to_send = yield item
        except GeneratorExit:
            generator.close()
            raise
        except BaseException as error:  # thrown in by the consumer: pass it on
            to_throw = error


def _reset_quietly(token: contextvars.Token[str | None]) -> None:
    # ValueError: reset in another context than it was set in; nothing to undo there.
    with contextlib.suppress(ValueError):
        _current_run_id.reset(token)


def _end_window(window: Window | None) -> Measurement | None:
    if window is None:
        return None
    try:
        return window.end()
    except Exception as error:  # Window.end promises not to raise; this is the belt to its braces
        _warn_once(f"zuinig: the meter failed ({_reason(error)})")
        return None


def _check_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in (tags or {}).items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"tag keys must be non-empty strings, got {key!r}")
        checked[key] = str(value)
    return checked


def _default_job_name(func: Callable[..., Any]) -> str:
    module = getattr(func, "__module__", None) or "__main__"
    qualname = getattr(func, "__qualname__", None) or repr(func)
    return f"{module}.{qualname}"


def _existing_file_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[str]:
    """Arguments that name existing files: the inputs a native engine may open unseen."""
    paths: list[str] = []
    for value in (*args, *kwargs.values()):
        if isinstance(value, str | os.PathLike) and len(os.fspath(value)) < 4096:
            try:
                path = Path(os.fspath(value))
                if path.is_file():
                    paths.append(str(path.resolve()))
            except (OSError, ValueError, TypeError):
                continue
    return paths


def _qualified_type_name(error: BaseException) -> str:
    kind = type(error)
    if kind.__module__ in ("builtins", "__main__"):
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _first_lines(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _log_bug(what: str, error: BaseException) -> None:
    """One warning line for a failure of zuinig's own; the traceback only at debug level
    (``--debug``), so a job's output is not filled with zuinig's tracebacks."""
    logger.warning("zuinig: %s (%s)", what, _reason(error))
    logger.debug("zuinig: %s", what, exc_info=error)


def _reason(error: BaseException) -> str:
    if isinstance(error, ZuinigError):
        return str(error)
    return "".join(traceback.format_exception_only(error)).strip()


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Log a failure of measurement once per process, not once per call."""
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)


@functools.cache
def _provenance() -> Provenance:
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


def _provenance_fields() -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies every value on every call of the hot path.
    provenance = _provenance()
    return {field.name: getattr(provenance, field.name) for field in dataclasses.fields(provenance)}


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


def _reset_for_tests() -> None:
    """Forget the process-wide recorder and warnings (tests only).

    Waits for ledger openers first, so no test's background delivery runs into the next.
    """
    global _default_recorder
    for recorder in list(_recorders):
        recorder._hurry.set()
        recorder._go.set()
        recorder._wait_for_opener(EXIT_FLUSH_TIMEOUT_S)
    _default_recorder = None
    _warned.clear()
    _provenance.cache_clear()
