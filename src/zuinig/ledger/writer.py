"""Spool-first delivery of runs to the ledger: where a recorder puts each state of a run.

A run's ``running`` state at its start and its end (``ok`` or ``error``) are each on
disk before the job goes on: in the ledger, or in the local spool
(:mod:`zuinig.ledger.spool`: this process's journal, one ``fdatasync``'ed line per
state, about 0.15 ms), from where the next open of the ledger, in any process,
delivers it. A measured run is never lost, and a run whose process died before its
end shows as ``interrupted``. :class:`RunWriter` is that delivery; the recorder of
:mod:`zuinig.measure.recorder` holds one (its ``RunSink``). It uses the ledger's
public API only (:meth:`~zuinig.ledger.Ledger.open`, ``start_run``, ``finish_run``,
``drain_spool``) and :mod:`zuinig.ledger.spool`.

Spool first until the ledger is open. Opening the ledger imports SQLAlchemy
(about a quarter second of CPU), so a process does not open it on the path of
its first call:

- Until this process has opened its ledger and delivered what it spooled, each
  state is appended to its spool journal. The first call starts a background
  thread which opens the ledger (opening delivers the spool) and then delivers
  states spooled meanwhile, **at a quiet moment only**: after the first run has
  ended, when no measured window is open and no run began in the last
  :data:`QUIET_S` seconds. It opens sooner when the journal holds
  :data:`OPEN_AFTER_RECORDS` states, when someone waits (:meth:`RunWriter.flush`,
  exit, :meth:`RunWriter.ledger`), and at the latest :data:`OPEN_AT_THE_LATEST_S`
  after it started. So a burst of calls stays on the journal, and the quarter
  second of CPU that opening costs does not take the GIL from measured work.
  After that, states are written to the ledger directly (its commit is
  the state on disk); a direct write that fails is spooled, fsynced, before the job
  goes on, start state included. An outage gives one warning, and one line when the
  runs kept meanwhile are delivered; :meth:`RunWriter.flush` is ``False`` until then.
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
  does one). :meth:`RunWriter.flush` waits for delivery on demand.
- Opening the ledger up front with :meth:`RunWriter.ledger` (``zuinig run`` does,
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
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from zuinig.config import Settings
from zuinig.errors import LedgerError
from zuinig.ledger.model import STATUS_RUNNING, Run
from zuinig.notices import reason, warn_once

if TYPE_CHECKING:
    from zuinig.ledger import Ledger
    from zuinig.ledger.spool import Journal

__all__ = [
    "EXIT_FLUSH_TIMEOUT_S",
    "OPEN_AFTER_RECORDS",
    "OPEN_AT_THE_LATEST_S",
    "QUIET_S",
    "REOPEN_AFTER_S",
    "RunWriter",
    "wait_for_deliveries",
]

logger = logging.getLogger("zuinig")

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


class RunWriter:
    """Writes each state of a run to the ledger, or to the spool until the ledger is open.

    **Spool first until the ledger is open.** Opening the ledger imports
    SQLAlchemy, about a quarter second of CPU that would otherwise sit in the first
    call of every process. So until this process has opened its ledger, each state
    of a run (``running`` at the start, ``ok``/``error`` at the end) is appended to
    this process's spool journal (:class:`zuinig.ledger.spool.Journal`, one synced
    line) before the job goes on, and a background thread opens the ledger at a
    quiet moment after the first run has ended (see the module description), which
    delivers the spool. Once everything this process spooled is delivered, runs are
    written to the ledger directly. The thread is started once per process (again
    in a forked child, and at most every :data:`REOPEN_AFTER_S` after a failed
    open); at exit the process waits up to :data:`EXIT_FLUSH_TIMEOUT_S` for it.
    Whatever is still in the spool then is delivered by the next open of that
    ledger, by any process (``zuinig runs list`` does it).

    The ledger's URL and the settings are asked for on first use, not when the
    writer is made: importing a module with decorated functions stays free, and a
    broken setting shows up when a job runs, as a warning.

    **Handing off.** With ``hand_off=True`` this process never opens the ledger: every
    state stays in its spool journal (synced, as above) for the process that started
    it to deliver with :meth:`~zuinig.ledger.Ledger.drain_spool`, which it holds open
    anyway. A ``zuinig bench`` trial is such a process: opening the ledger was 0.23 of
    its 0.56 CPU-seconds, paid again by every trial. If that parent dies first, the
    journal waits for the next open of the ledger, as after any crash.

    Args:
        ledger_url: gives the URL runs are written to.
        settings: gives the settings the ledger is opened with.
        hand_off: keep every run in the spool for another process to deliver.
    """

    def __init__(
        self,
        ledger_url: Callable[[], str],
        settings: Callable[[], Settings],
        *,
        hand_off: bool = False,
    ) -> None:
        self._ledger_url = ledger_url
        self._settings = settings
        self.hand_off = hand_off
        self._reset_process_state()
        _writers.add(self)

    def _reset_process_state(self) -> None:
        """State that belongs to one process: set up here, and again in a forked child.

        A child inherits neither the parent's threads nor its duty to deliver the
        parent's spooled runs, and a lock some other thread held at fork() would
        stay held in the child forever; so all of it starts afresh.
        """
        self._ledger: Ledger | None = None  # imported on first use: SQLAlchemy is slow to load
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
        self._journal: Journal | None = None
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

    def ledger(self) -> Ledger:
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

    def window_opened(self) -> None:
        """A run's measured window opens: no quiet moment to open the ledger until it closes.

        Until the ledger is open this also starts the opener thread, which waits for
        the end of the first run (see :meth:`_open_and_deliver`), so starting it costs
        the call next to nothing. Never raises.
        """
        with self._state_lock:
            self._open_windows += 1
            self._last_begin_s = time.monotonic()
        if not self._direct and not self.hand_off:
            try:
                self._start_opener()
            except Exception as error:  # e.g. no more threads: the spool keeps the runs
                warn_once(f"zuinig: cannot open the ledger in the background ({reason(error)})")

    def window_closed(self) -> None:
        """A run's measured window has closed (its end is about to be written)."""
        with self._state_lock:
            self._open_windows = max(0, self._open_windows - 1)

    def write(self, run: Run) -> str:
        """Put this state of ``run`` on disk before the job goes on; say where. Never raises.

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
        where = self._store(run)
        if where == "spool-first" and run.status != STATUS_RUNNING:
            self._go.set()  # a run has ended: the opener may start now
        return where

    def _store(self, run: Run) -> str:
        """:meth:`write` without waking the opener: where this state of ``run`` went."""
        try:
            if self._spool_if_not_open(run):
                return "spool-first"
        except Exception as error:
            self._keep_unsaved(run, error)
            return "memory"
        try:
            ledger = self._ledger
            if ledger is None:  # direct, so open: a state a fork could only make briefly
                raise LedgerError("the ledger is not open")
            if run.status == STATUS_RUNNING:
                ledger.start_run(run)
            else:
                ledger.finish_run(run)
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
        self._note_outage(reason(failure), run, path.parent)
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
            journal = self._journal = spool.Journal.create(self._ledger_url())
        journal.append(run)
        path: Path = journal.path
        return path

    def _note_outage(self, why: str, run: Run | None, where: Path | str) -> None:
        """Say once that runs are kept in the spool, not once per run (an outage may last
        hundreds of runs); :meth:`_after_outage` says when they are delivered again."""
        with self._state_lock:
            first = not self._outage
            self._outage = True
        if not first:
            logger.debug("zuinig: ledger still not writable (%s)", why)
            return
        which = f"run {run.run_id} and later runs are" if run is not None else "runs are"
        logger.warning(
            "zuinig: cannot write to the ledger (%s); %s kept in %s and delivered "
            "when it is reachable again (no more warnings until then)",
            why,
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
            if self._ledger is None:
                raise LedgerError("the ledger is not open")
            self._ledger.drain_spool()
        except Exception as error:
            logger.debug("zuinig: delivery failed again: %s", reason(error))
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
            warn_once(f"zuinig: runs are not recorded: {reason(spool_error)}")
            return
        with self._state_lock:
            if len(self._unsaved) < _MAX_UNSAVED or run.run_id in self._unsaved:
                self._unsaved[run.run_id] = run
            first = not self._unsaved_warned
            self._unsaved_warned = True
        logger.debug("zuinig: run %s not saved", run.run_id, exc_info=spool_error)
        if not first:
            return
        ledger_part = f"the ledger ({reason(ledger_error)}) nor " if ledger_error else ""
        logger.error(
            "zuinig: neither %sthe spool (%s) can be written; run %s and later runs are "
            "kept in memory and saved when the spool can be written again, at the latest "
            "at exit (free some disk space)",
            ledger_part,
            reason(spool_error),
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
                logger.debug("zuinig: run %s still not saved: %s", run.run_id, reason(error))
                return
            with self._state_lock:
                if self._unsaved.get(run.run_id) is run:
                    del self._unsaved[run.run_id]
                if not self._unsaved:
                    self._unsaved_warned = False

    def _shown_url(self) -> str:
        try:
            from zuinig.ledger.urls import mask_password

            return mask_password(self._ledger_url())
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
        if self.hand_off and not self._direct:  # delivery is another process's
            return self._delivered()
        if self._delivered():
            if self._direct:
                # A redelivery thread may have drained the spool and not yet said so:
                # its one line belongs before this returns, not in a later caller's output.
                self._join_opener(deadline)
            return True
        self._hurry.set()
        self._go.set()
        if self._direct:  # runs spooled after failed direct writes: deliver them now
            self._start_redelivery()
        else:
            self._start_opener(force=True)
        self._join_opener(deadline)
        return self._delivered()

    def _join_opener(self, deadline: float) -> None:
        """Wait, until ``deadline`` (monotonic s), for the opening or delivering thread."""
        opener = self._opener
        if opener is not None and opener is not threading.current_thread():
            opener.join(max(0.0, deadline - time.monotonic()))

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
                warn_once(f"zuinig: runs are not recorded: {reason(error)}")
            else:
                self._note_outage(reason(error), None, self._spool_dir())

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
            self._failure = reason(error)

    def _open_ledger(self) -> Ledger:
        with self._open_lock:
            if self._ledger is None:
                from zuinig.ledger import Ledger

                self._ledger = Ledger.open(self._ledger_url(), settings=self._settings())
            return self._ledger

    def _spool_dir(self) -> str:
        try:
            from zuinig.ledger import spool

            return str(spool.spool_dir(self._ledger_url()))
        except Exception:
            return "the spool"

    def _wait_for_opener(self, timeout_s: float) -> None:
        opener = self._opener
        if opener is not None and opener.is_alive() and opener is not threading.current_thread():
            opener.join(timeout_s)


#: Every writer of this process: for the fork and exit hooks below.
_writers: weakref.WeakSet[RunWriter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # Runs in the only thread of the new child, so nothing races the reset.
    for writer in list(_writers):
        inherited = writer._journal
        writer._reset_process_state()
        if inherited is not None:  # the parent's: its lock stays with the parent
            inherited.forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _deliver_at_exit(timeout_s: float = EXIT_FLUSH_TIMEOUT_S) -> None:
    """Give the ledger openers a bounded time, so a script's runs are in the ledger at its end.

    Only waits for openers already running: starting one now could stall the exit
    on an unreachable database. What is left stays in the spool, for the next open.
    """
    deadline = time.monotonic() + timeout_s
    for writer in list(_writers):
        if writer._unsaved:  # the disk was full: a last try to keep those runs
            writer._save_unsaved()
            if writer._unsaved:
                logger.error(
                    "zuinig: %d run(s) could be saved neither in the ledger nor in the spool "
                    "before this process ended; they are lost",
                    len(writer._unsaved),
                )
        if writer.hand_off and not writer._direct:
            with writer._state_lock:
                writer._rotate()  # closed: a drain may remove it once delivered
            continue
        writer._hurry.set()  # no quiet moment to wait for any more
        writer._go.set()  # a run still open at exit: open the ledger now, not later
        writer._wait_for_opener(max(0.0, deadline - time.monotonic()))
        with writer._state_lock:
            writer._forget_delivered()
            journal = writer._journal
            waiting = len(writer._own) + (journal.records if journal is not None else 0)
        if waiting and not writer._direct and writer._failed_at is None:
            logger.warning(
                "zuinig: the ledger did not open within %.0f s; %d run(s) stay in %s and are "
                "delivered the next time it is opened (zuinig runs list does)",
                timeout_s,
                waiting,
                writer._spool_dir(),
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


def wait_for_deliveries(timeout_s: float = EXIT_FLUSH_TIMEOUT_S) -> None:
    """Hurry every writer's background delivery and wait for it (at most ``timeout_s`` each).

    For a caller that must not leave a delivery running into what it does next:
    tests, between one test's ledger and the next.
    """
    for writer in list(_writers):
        writer._hurry.set()
        writer._go.set()
        writer._wait_for_opener(timeout_s)
