"""Overlapping the stages of a conversion on several cores, with bounded memory.

A conversion reads, hashes and writes; pyarrow releases the GIL while it parses,
encodes, compresses and decodes, and hashlib while it hashes large buffers. So each
stage can run in a thread of its own: the Parquet writer encodes one row group while
the next is parsed and the columns of a third are hashed. Queues are small (one or two
items), so memory stays bounded by a few batches or row groups, as without threads.

Errors cross over unchanged: an exception raised in a background thread is raised again,
the same object, in the thread that hands it work or takes its results.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

_T = TypeVar("_T")

#: Seconds a blocked hand-over waits before it looks again whether it should stop.
_POLL_S = 0.1


class _Done:
    """The end of a queue's items."""


class _Failed:
    """An exception raised in the thread that fed a queue."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


@contextmanager
def in_background(
    consume: Callable[[_T], None], *, depth: int = 1
) -> Iterator[Callable[[_T], None]]:
    """A function that hands each item to ``consume`` in another thread, in order.

    At most ``depth`` items wait while ``consume`` works on one. Leaving the block waits
    for the last item to be consumed.

    Raises:
        BaseException: whatever ``consume`` raised, at the next hand-over or on leaving
            the block; items handed over after it are dropped.
    """
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    failure: list[BaseException] = []

    def work() -> None:
        while True:
            item = items.get()
            if isinstance(item, _Done):
                return
            if failure:
                continue  # drain, so that no hand-over blocks for ever
            try:
                consume(item)
            except BaseException as error:  # raised again in the caller's thread
                failure.append(error)

    def hand_over(item: _T) -> None:
        if failure:
            raise failure[0]
        items.put(item)

    thread = threading.Thread(target=work, name="zuinig-convert-writer", daemon=True)
    thread.start()
    try:
        yield hand_over
    finally:
        items.put(_Done())
        thread.join()
    if failure:
        raise failure[0]


@contextmanager
def read_ahead(items: Iterator[_T], *, depth: int = 2) -> Iterator[Iterator[_T]]:
    """``items``, taken from another thread up to ``depth`` ahead of the caller.

    Leaving the block stops the thread (after the item it is taking), so whatever the
    items read from may be closed afterwards.
    """
    taken: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                taken.put(item, timeout=_POLL_S)
            except queue.Full:
                continue
            return True
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # raised again in the caller's thread
            put(_Failed(error))
            return
        put(_Done())

    def results() -> Iterator[_T]:
        while True:
            item = taken.get()
            if isinstance(item, _Done):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    thread = threading.Thread(target=work, name="zuinig-convert-reader", daemon=True)
    thread.start()
    try:
        yield results()
    finally:
        stop.set()
        thread.join()


class ParallelMap:
    """Calls a function on each of several arguments at once, on up to one thread per CPU."""

    def __init__(self) -> None:
        self._workers = max(1, os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> ParallelMap:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def each(self, calls: Sequence[Callable[[], object]]) -> None:
        """Run every call and wait for all; the first exception is raised after all ended."""
        if self._workers == 1 or len(calls) <= 1:
            for call in calls:
                call()
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="zuinig-digest")
        futures = [self._pool.submit(call) for call in calls]
        errors = [future.exception() for future in futures]
        for error in errors:
            if error is not None:
                raise error
