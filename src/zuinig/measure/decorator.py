"""``@measure`` and ``with measure(...)``: a thin shell over the recorder.

:func:`measure` makes a :class:`MeasureSpec`, which wraps plain, async, generator
and async generator functions, and is a context manager; each call or block is a
run opened and finished by a :class:`~zuinig.measure.recorder.Recorder` (the
process-wide one unless another is given). See :mod:`zuinig.measure.recorder` for
the promise (the job never notices) and the nesting rule.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, overload

from zuinig.ledger.model import Run
from zuinig.measure.recorder import (
    ActiveRun,
    Recorder,
    current_run_id,
    default_recorder,
    reset_current_run,
)
from zuinig.meter.base import Measurement
from zuinig.notices import log_bug, reason, warn_once

__all__ = [
    "MeasureSpec",
    "Measuring",
    "check_tags",
    "default_job_name",
    "existing_file_arguments",
    "measure",
]

P = ParamSpec("P")
R = TypeVar("R")


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
        self.tags = check_tags(tags)
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
        job = self.job or default_job_name(func)
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
                    token = current_run_id.set(active.run.run_id) if active else None
                    try:
                        if to_throw is not None:
                            item = await generator.athrow(to_throw)
                        else:
                            item = await generator.asend(to_send)
                    except StopAsyncIteration:
                        break
                    finally:
                        if token is not None:
                            reset_current_run(token)
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
            context = {"paths": existing_file_arguments(args, kwargs)}
            return self.recorder.begin(job, tags=self.tags, context=context, current=current)
        except Exception as error:
            warn_once(f"zuinig: not measuring {job} ({reason(error)})")
            return None

    @staticmethod
    def _end(active: ActiveRun | None, wrapper: Any, error: BaseException | None) -> None:
        if active is None:
            return
        try:
            wrapper.last_run = active.finish(error)
        except Exception as failure:
            log_bug(f"could not finish run {active.run.run_id}", failure)

    # -- context manager ---------------------------------------------------------------------

    def __enter__(self) -> Measuring:
        job = self.job or "unnamed"
        active: ActiveRun | None
        try:
            active = self.recorder.begin(job, tags=self.tags, job_is_fallback=self.job is None)
        except Exception as error:
            warn_once(f"zuinig: not measuring {job} ({reason(error)})")
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
            warn_once("zuinig: a measured block ended in another thread or task than it began")
            return
        handle = entered[-1]
        self._entered.set(entered[:-1])
        try:
            handle._finish(exc)
        except Exception as error:
            log_bug("could not finish a measured block", error)

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
        token = current_run_id.set(active.run.run_id) if active else None
        try:
            item = generator.throw(to_throw) if to_throw is not None else generator.send(to_send)
        except StopIteration as stop:
            return stop.value
        finally:
            if token is not None:
                reset_current_run(token)
        to_throw = None
        try:
            to_send = yield item
        except GeneratorExit:
            generator.close()
            raise
        except BaseException as error:  # thrown in by the consumer: pass it on
            to_throw = error


def check_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """The tags as a new dict of strings (values turned into text).

    Raises:
        TypeError: a key is not a non-empty string (at decoration time: the analyst's mistake).
    """
    checked: dict[str, str] = {}
    for key, value in (tags or {}).items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"tag keys must be non-empty strings, got {key!r}")
        checked[key] = str(value)
    return checked


def default_job_name(func: Callable[..., Any]) -> str:
    """A job's name when none is given: ``module.qualname`` of the measured function."""
    module = getattr(func, "__module__", None) or "__main__"
    qualname = getattr(func, "__qualname__", None) or repr(func)
    return f"{module}.{qualname}"


def existing_file_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[str]:
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
