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

What a run records while it is open: a row with status ``running`` is written
at the start, then completed as ``ok`` or ``error`` (with the exception's type
and message). If the ledger cannot be written at the end, the finished run is
kept in the local spool and delivered the next time the ledger opens, so a
measured run is never lost.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import getpass
import inspect
import logging
import os
import platform
import socket
import threading
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, overload

from zuinig import __version__
from zuinig.config import PARENT_RUN_ENV, Settings, load_settings
from zuinig.errors import ZuinigError
from zuinig.ledger.model import (
    KIND_FUNCTION,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_RUNNING,
    Provenance,
    Run,
)
from zuinig.meter.base import Measurement, Meter, Window

__all__ = ["ActiveRun", "Measuring", "Recorder", "measure"]

logger = logging.getLogger("zuinig")

P = ParamSpec("P")
R = TypeVar("R")

#: The run currently open in this thread or asyncio task, for ``parent_run_id``.
_current_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "zuinig_current_run_id", default=None
)


class ActiveRun:
    """A run that has started and not yet finished. Made by :meth:`Recorder.begin`."""

    def __init__(self, recorder: Recorder, run: Run, window: Window | None) -> None:
        self.recorder = recorder
        self.run = run
        self._window = window
        self._token: contextvars.Token[str | None] | None = _current_run_id.set(run.run_id)
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
        except Exception:  # a bug of ours must not reach the job
            logger.warning("zuinig: could not complete run %s", self.run.run_id, exc_info=True)
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
        self._ledger: Any = None  # zuinig.ledger.Ledger, imported lazily
        self._ledger_pid: int | None = None
        self._lock = threading.Lock()

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
        from zuinig.ledger import default_ledger_url

        return self._ledger_url or self.settings.ledger or default_ledger_url()

    def ledger(self) -> Any:
        """The open ledger of this process (reopened after a fork)."""
        with self._lock:
            if self._ledger is None or self._ledger_pid != os.getpid():
                from zuinig.ledger import Ledger

                self._ledger = Ledger.open(self.ledger_url(), settings=self.settings)
                self._ledger_pid = os.getpid()
            return self._ledger

    def begin(
        self,
        job: str,
        *,
        tags: Mapping[str, str] | None = None,
        kind: str = KIND_FUNCTION,
        command: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> ActiveRun:
        """Open a run: write its ``running`` row, then open the meter's window.

        Never raises for a measurement or ledger failure; those are logged and
        the run goes on (its start row may then be missing; :meth:`store_finished`
        inserts it).
        """
        run = Run(
            run_id=str(uuid.uuid4()),
            job=job,
            status=STATUS_RUNNING,
            started_at=datetime.now(UTC),
            kind=kind,
            parent_run_id=_current_run_id.get() or os.environ.get(PARENT_RUN_ENV) or None,
            tags=dict(tags or {}),
            command=command,
            **dataclasses.asdict(_provenance()),
        )
        try:
            self.ledger().start_run(run)
        except Exception as error:  # kept in memory; written (or spooled) at the end
            _warn_once(
                f"zuinig: cannot write to the ledger ({_reason(error)}); runs are kept locally"
            )
        window: Window | None = None
        try:
            window = self.meter.begin(context)
        except Exception as error:
            _warn_once(f"zuinig: cannot measure ({_reason(error)}); runs are recorded unmeasured")
        return ActiveRun(self, run, window)

    def store_finished(self, run: Run) -> None:
        """Write the finished run; when the ledger fails, spool it so it is not lost."""
        try:
            self.ledger().finish_run(run)
            return
        except Exception as error:
            failure = error
        try:
            from zuinig.ledger import spool

            path = spool.save(run, self.ledger_url())
            logger.warning(
                "zuinig: the ledger could not be written (%s); run %s is kept in %s and is "
                "delivered when the ledger is reachable again",
                _reason(failure),
                run.run_id,
                path,
            )
        except Exception:
            logger.error("zuinig: run %s could not be stored anywhere", run.run_id, exc_info=True)


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
    """The object ``measure(job=..., tags=...)`` returns: a decorator and a context manager."""

    def __init__(
        self,
        job: str | None,
        tags: Mapping[str, str] | None,
        recorder: Recorder | None,
    ) -> None:
        self.job = job
        self.tags = _check_tags(tags)
        self._recorder = recorder
        self._open: list[Measuring] = []

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

    def _begin(
        self, job: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> ActiveRun | None:
        try:
            context = {"paths": _existing_file_arguments(args, kwargs)}
            return self.recorder.begin(job, tags=self.tags, context=context)
        except Exception as error:
            _warn_once(f"zuinig: not measuring {job} ({_reason(error)})")
            return None

    @staticmethod
    def _end(active: ActiveRun | None, wrapper: Any, error: BaseException | None) -> None:
        if active is None:
            return
        try:
            wrapper.last_run = active.finish(error)
        except Exception:
            logger.warning("zuinig: could not finish run %s", active.run.run_id, exc_info=True)

    # -- context manager ---------------------------------------------------------------------

    def __enter__(self) -> Measuring:
        job = self.job or "unnamed"
        active: ActiveRun | None
        try:
            active = self.recorder.begin(job, tags=self.tags)
        except Exception as error:
            _warn_once(f"zuinig: not measuring {job} ({_reason(error)})")
            active = None
        handle = Measuring(active)
        self._open.append(handle)
        return handle

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        handle = self._open.pop()
        try:
            handle._finish(exc)
        except Exception:
            logger.warning("zuinig: could not finish a measured block", exc_info=True)

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
    plain and async functions. A decorated function's latest run is ``f.last_run``.

    Args:
        func: the function, when used as a bare decorator.
        job: the job's name in the ledger; by default ``module.qualname`` of the function.
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
    """Forget the process-wide recorder and warnings (tests only)."""
    global _default_recorder
    _default_recorder = None
    _warned.clear()
    _provenance.cache_clear()
