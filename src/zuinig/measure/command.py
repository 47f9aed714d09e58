"""``zuinig run -- CMD``: run any command as one measured run.

The command is started as a child of this process and inherits its standard
input, output and error untouched; the meter's window is open from just before
the command starts until it has exited, so the window covers the whole process
tree (the command and everything it starts). The run row is written before the
command starts and completed after it ends, with the command's exit code.

Exit codes follow the shells: the command's own code; ``128 + N`` when it was
ended by signal N (130 for SIGINT); 127 when the command cannot be found and
126 when it cannot be executed (the run is still recorded, as an error).

Signals: Ctrl-C in a terminal reaches the whole foreground process group, so
the command already has it and zuinig does not send it again. A SIGINT,
SIGTERM, SIGHUP or SIGQUIT sent to zuinig alone (``kill PID``, a CI runner, a
supervisor) is forwarded to the command. Either way zuinig waits for the
command to end and records the run. On Linux and the BSDs zuinig tells the
two apart from the signal's origin (``si_code``), as ``sudo`` does; where that
is not available (macOS, Windows) the first SIGINT is left to the terminal
and a second one is forwarded.

The command's environment gets ``ZUINIG_PARENT_RUN_ID`` (so measured functions
inside it record this run as their parent) and ``ZUINIG_LEDGER`` (so they write
to the same ledger).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from zuinig.command_line import mask_command
from zuinig.config import PARENT_RUN_ENV
from zuinig.errors import UsageError, ZuinigError
from zuinig.ledger.model import KIND_COMMAND, Run
from zuinig.measure.recorder import ActiveRun, Recorder

__all__ = [
    "EXIT_CANNOT_EXECUTE",
    "EXIT_NOT_FOUND",
    "CommandResult",
    "CommandSignalled",
    "default_job_name",
    "run_command",
]

logger = logging.getLogger("zuinig")

#: Exit code when the command does not exist (as sh, bash, env and timeout do).
EXIT_NOT_FOUND = 127
#: Exit code when the command exists but cannot be executed (permissions, not a program).
EXIT_CANNOT_EXECUTE = 126

LEDGER_ENV = "ZUINIG_LEDGER"

#: Signals passed on to the command when they were meant for it but sent to zuinig.
FORWARDED_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    if hasattr(signal, name)
)

# Python ignores these at start-up; the command must get the default back, as Popen does.
_RESTORED_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name)
)

#: How often the waiting loop looks at the child even when no signal arrives (s).
_POLL_S = 0.5


@dataclass(frozen=True)
class CommandResult:
    """What :func:`run_command` gives back.

    Attributes:
        exit_code: the command's exit code, shell style (see the module docstring).
        run: the stored run, status ``ok`` or ``error``.
        problem: one line saying why the command could not be started, if it could not.
    """

    exit_code: int
    run: Run
    problem: str | None = None


class CommandSignalled(Exception):
    """Recorded as the run's error when the command was ended by a signal (never raised)."""

    # The run's error_type is this class's qualified name, stored in the ledger; runs
    # have stored "zuinig.command.CommandSignalled" since before this module moved into
    # zuinig.measure, so that name is kept: old and new runs of a command then match.
    __module__ = "zuinig.command"


def default_job_name(argv: Sequence[str]) -> str:
    """The job name of a command when none is given: the program's base name."""
    return Path(argv[0]).name or argv[0]


def run_command(
    argv: Sequence[str],
    *,
    job: str | None = None,
    tags: Mapping[str, str] | None = None,
    recorder: Recorder | None = None,
    env: Mapping[str, str] | None = None,
    record_command: bool = True,
) -> CommandResult:
    """Run ``argv`` as a measured run and wait for it to end.

    Args:
        argv: the program and its arguments; the program is looked up on ``PATH``.
        job: the run's job name; by default the scheduler's name for the task
            (``dag.task`` in Airflow, see :mod:`zuinig.run_context`), else the
            program's base name.
        tags: labels for the run.
        recorder: meter and ledger to use; one that reads the settings by default.
        env: extra environment variables for the command.
        record_command: store the command line with the run, its secrets masked
            (:func:`zuinig.command_line.mask_command`); ``False`` stores none.

    Returns:
        The exit code and the stored run.

    Raises:
        UsageError: ``argv`` is empty.
        ConfigError: the settings are wrong (nothing has been started).
        LedgerURLError: the ledger URL is malformed (nothing has been started). A
            ledger that is merely unreachable does not stop the command: its run
            is kept locally and delivered later.
    """
    if not argv:
        raise UsageError("no command given; put it after --, as in: zuinig run -- python job.py")
    argv = [os.fspath(arg) for arg in argv]
    recorder = recorder or Recorder()
    _check_inputs(recorder)
    command_env = {**os.environ, **(env or {}), LEDGER_ENV: recorder.ledger_url()}
    launch = _Launch(
        argv,
        job or default_job_name(mask_command(argv)),
        dict(tags or {}),
        recorder,
        command_env,
        record_command,
        job_is_fallback=job is None,
    )

    _flush_std_streams()  # what zuinig wrote must come before what the command writes
    # A signal ignored when zuinig started stays ignored by the command: nothing to forward.
    forwarded: list[int] = [
        s for s in FORWARDED_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN
    ]
    if hasattr(signal, "sigtimedwait") and threading.current_thread() is threading.main_thread():
        return _run_with_signal_wait(launch, forwarded)
    return _run_with_popen(launch, forwarded)


@dataclass
class _Launch:
    argv: list[str]
    job: str
    tags: dict[str, str]
    recorder: Recorder
    env: dict[str, str]
    record_command: bool = True
    #: No job name was given: a scheduler's name for the task (``dag.task``) wins.
    job_is_fallback: bool = False

    def begin(self) -> ActiveRun:
        active = self.recorder.begin(
            self.job,
            tags=self.tags,
            kind=KIND_COMMAND,
            # Passwords, tokens and keys typed into the command stay out of the
            # ledger (and out of every database it is synced to).
            command=shlex.join(mask_command(self.argv)) if self.record_command else None,
            # "command" tells a meter the work is a child process: the engines
            # imported in zuinig's own process are not the command's.
            context={"paths": _existing_files(self.argv[1:]), "command": list(self.argv)},
            job_is_fallback=self.job_is_fallback,
        )
        self.env[PARENT_RUN_ENV] = active.run.run_id
        return active


def _check_inputs(recorder: Recorder) -> None:
    """Raise for the user's mistakes before anything runs; let failures of the ledger pass."""
    recorder.settings  # noqa: B018  (reads and checks the settings: ConfigError)
    try:
        recorder.ledger()
    except ZuinigError as error:
        if error.bad_input:
            raise
        # Unreachable or broken: Recorder warns and spools the run; the job still runs.


# -- Linux and the BSDs: signals waited for, with their origin -------------------------------


def _run_with_signal_wait(launch: _Launch, forwarded: list[int]) -> CommandResult:
    # Block the signals before the meter starts its threads, so every thread
    # inherits the block and the signals wait for sigtimedwait below instead of
    # running Python's handlers (which cannot tell who sent them).
    waited = {*forwarded, signal.SIGCHLD}
    original_mask = signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    try:
        active = launch.begin()
        early = _take_pending(forwarded)
        if early is not None:  # interrupted while the meter was starting: do not start the job
            code = 128 + early
            error = CommandSignalled(f"interrupted by {_signal_name(early)} before the start")
            run = active.finish(error, exit_code=code)
            return CommandResult(code, run, f"interrupted by {_signal_name(early)}; not started")
        try:
            pid = os.posix_spawnp(
                launch.argv[0],
                launch.argv,
                launch.env,
                setsigmask=original_mask,
                setsigdef=_RESTORED_SIGNALS,
            )
        except OSError as error:
            return _not_started(active, launch.argv, error)
        # A thread started before ours does not block the signals: should the
        # kernel hand one to it, Python's handler runs here; forward that too.
        with _forwarding_handlers(forwarded, lambda: pid, first_interrupt_is_terminal=False):
            code, signum = _wait_forwarding(pid, [*forwarded, signal.SIGCHLD])
        # The child is still a zombie here (waited for with WNOWAIT): the meter's
        # last look at the process tree still sees it and its CPU time.
        run = active.finish(_signalled(signum), exit_code=code)
        _reap(pid)
        return CommandResult(code, run)
    finally:
        _drain(waited)  # the command is gone; late signals have nowhere to go
        signal.pthread_sigmask(signal.SIG_SETMASK, original_mask)


def _wait_forwarding(pid: int, waited: list[int]) -> tuple[int, int | None]:
    """Wait until ``pid`` exits, forwarding signals meant for it: (exit code, signal)."""
    while True:
        status = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if status is not None and status.si_pid == pid:
            if status.si_code == os.CLD_EXITED:
                return status.si_status, None
            return 128 + status.si_status, status.si_status  # killed (or dumped core)
        info = signal.sigtimedwait(waited, _POLL_S)
        if info is None or info.si_signo == signal.SIGCHLD:
            continue
        name = _signal_name(info.si_signo)
        if _should_forward(info.si_code, info.si_pid, pid):
            logger.debug("zuinig: forwarding %s to the command (pid %d)", name, pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, info.si_signo)
        else:
            logger.debug("zuinig: %s came from the terminal or the command; not sent again", name)


def _should_forward(si_code: int, sender_pid: int, child_pid: int) -> bool:
    """Whether a signal zuinig received must be sent on to the command.

    A signal from the kernel (``si_code > 0``: the terminal's Ctrl-C, Ctrl-\\ or
    hang-up) went to the whole foreground process group, the command included,
    unless the command has left zuinig's process group. A signal sent by a
    process (``kill``) reached zuinig alone, unless the command sent it itself.
    """
    if si_code > 0:
        return not _same_process_group(child_pid)
    return sender_pid != child_pid


def _same_process_group(pid: int) -> bool:
    if not hasattr(os, "getpgid"):
        return True  # Windows: no process groups in this sense
    try:
        return os.getpgid(pid) == os.getpgrp()
    except OSError:
        return True  # gone: nothing to forward to


def _take_pending(signals: list[int]) -> int | None:
    """One of ``signals`` if pending, taken off."""
    info = signal.sigtimedwait(signals, 0) if signals else None
    return None if info is None else info.si_signo


def _drain(signals: set[int]) -> None:
    while signal.sigtimedwait(signals, 0) is not None:
        pass


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


# -- elsewhere (macOS, Windows, or not on the main thread): Popen and handlers ----------------


def _run_with_popen(launch: _Launch, forwarded: list[int]) -> CommandResult:
    active = launch.begin()
    try:
        process = subprocess.Popen(launch.argv, env=launch.env)
    except OSError as error:
        return _not_started(active, launch.argv, error)
    terminal = _terminal_sends_interrupts()
    with _forwarding_handlers(forwarded, lambda: process.pid, first_interrupt_is_terminal=terminal):
        returncode = process.wait()
    signum = -returncode if returncode < 0 else None
    code = 128 + signum if signum is not None else returncode
    run = active.finish(_signalled(signum), exit_code=code)
    return CommandResult(code, run)


def _terminal_sends_interrupts() -> bool:
    """Whether a Ctrl-C would reach the command from the terminal, as well as zuinig."""
    if os.name == "nt":
        return True  # the console sends Ctrl-C to every process attached to it
    for stream in (sys.stdin, sys.stderr):
        try:
            if os.tcgetpgrp(stream.fileno()) == os.getpgrp():
                return True
        except (OSError, AttributeError, ValueError):
            continue
    return False


@contextlib.contextmanager
def _forwarding_handlers(
    forwarded: list[int],
    child_pid: Callable[[], int],
    *,
    first_interrupt_is_terminal: bool,
) -> Iterator[None]:
    """Python-level handlers that pass signals on to the child, while the block runs.

    Without the signal's origin, the first SIGINT is taken to come from the
    terminal (which sent it to the command too) when ``first_interrupt_is_terminal``
    and the command shares zuinig's process group; every later one is forwarded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set on the main thread
        return
    interrupts = 0

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupts
        pid = child_pid()
        if signum == signal.SIGINT:
            interrupts += 1
            if first_interrupt_is_terminal and interrupts == 1 and _same_process_group(pid):
                logger.debug("zuinig: SIGINT taken to come from the terminal; not sent again")
                return
        logger.debug("zuinig: forwarding %s to the command (pid %d)", _signal_name(signum), pid)
        with contextlib.suppress(OSError):
            os.kill(pid, signum)

    previous = {signum: signal.signal(signum, forward) for signum in forwarded}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- shared --------------------------------------------------------------------------------


def _not_started(active: ActiveRun, argv: list[str], error: OSError) -> CommandResult:
    """Record a command that could not be started, with the shell's exit code."""
    # The program name may itself hold a secret (``zuinig run -- PGPASSWORD=x psql``
    # is not a shell: it looks for a program of that name).
    program = mask_command(argv)[0]
    if isinstance(error, FileNotFoundError):
        code = EXIT_NOT_FOUND
        problem = f"command not found: {program}; check the name or give its full path"
    else:
        code = EXIT_CANNOT_EXECUTE
        problem = f"cannot execute {program}: {error.strerror or error}"
    if program != argv[0]:
        error = type(error)(error.errno, error.strerror, program)
    run = active.finish(error, exit_code=code)
    return CommandResult(code, run, problem)


def _signalled(signum: int | None) -> CommandSignalled | None:
    """The error recorded for a command ended by a signal; ``None`` for a normal exit."""
    if signum is None:
        return None  # ActiveRun.finish records a non-zero exit code as the error
    return CommandSignalled(f"the command was ended by {_signal_name(signum)}")


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _existing_files(args: Sequence[str]) -> list[str]:
    """Arguments naming existing files: hints to the meter about the job's inputs."""
    paths: list[str] = []
    for arg in args:
        if arg.startswith("-") or len(arg) > 4096:
            continue
        try:
            path = Path(arg)
            if path.is_file():
                paths.append(str(path.resolve()))
        except (OSError, ValueError):
            continue
    return paths


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
