"""zuinig.convert.pipeline: stages in other threads keep their order, pass errors back
unchanged, and stop before what they read from is closed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from zuinig.convert.pipeline import ParallelMap, in_background, read_ahead


def test_in_background_consumes_every_item_in_order_in_another_thread() -> None:
    seen: list[int] = []
    threads: set[int] = set()

    def consume(item: int) -> None:
        threads.add(threading.get_ident())
        seen.append(item)

    with in_background(consume) as hand_over:
        for item in range(200):
            hand_over(item)
    assert seen == list(range(200))  # all consumed when the block is left
    assert threads and threading.get_ident() not in threads


def test_in_background_raises_the_consumers_own_error() -> None:
    failure = OSError(28, "No space left on device")

    def consume(item: int) -> None:
        if item == 3:
            raise failure

    with pytest.raises(OSError) as caught, in_background(consume) as hand_over:
        for item in range(100):
            hand_over(item)
    assert caught.value is failure


def test_in_background_lets_the_callers_error_through() -> None:
    with pytest.raises(KeyError), in_background(lambda item: None) as hand_over:
        hand_over(1)
        raise KeyError("reader failed")


def test_read_ahead_yields_every_item_in_order() -> None:
    with read_ahead(iter(range(500))) as items:
        assert list(items) == list(range(500))


def test_read_ahead_raises_the_readers_own_error_after_the_items_before_it() -> None:
    failure = ValueError("damaged row group")

    def reader() -> Iterator[int]:
        yield 1
        yield 2
        raise failure

    got: list[int] = []
    with pytest.raises(ValueError) as caught, read_ahead(reader()) as items:
        got.extend(items)
    assert got == [1, 2] and caught.value is failure


def test_read_ahead_stops_its_thread_when_the_caller_stops_early() -> None:
    taken: list[int] = []

    def reader() -> Iterator[int]:
        for item in range(10_000):
            taken.append(item)
            yield item

    with read_ahead(reader(), depth=2) as items:
        assert next(items) == 0
    count = len(taken)
    assert count < 10  # no more than the depth (and the one in hand) was read
    assert not any(t.name == "zuinig-convert-reader" for t in threading.enumerate())


def test_parallel_map_runs_every_call_and_raises_after_all_ended() -> None:
    done: list[int] = []

    def ok(index: int) -> None:
        done.append(index)

    def bad() -> None:
        raise RuntimeError("digest failed")

    with ParallelMap() as parallel:
        parallel.each([lambda i=i: ok(i) for i in range(8)])
        assert sorted(done) == list(range(8))
        with pytest.raises(RuntimeError, match="digest failed"):
            parallel.each([bad, lambda: ok(99)])
    assert 99 in done
