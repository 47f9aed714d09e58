"""A decorated generator function (plain or async) is measured over its iteration, from
the first next() to exhaustion, an exception or close(); values, sends, throws, return
values and exceptions pass through unchanged (issue 10, item 10)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Generator

import pytest

from zuinig import measure
from zuinig.config import Settings
from zuinig.ledger import Ledger, RunFilter
from zuinig.measure import Recorder
from zuinig.meter.null import NullMeter


@pytest.fixture
def recorder(sqlite_url: str) -> Recorder:
    opened = Recorder(Settings(), ledger_url=sqlite_url, meter=NullMeter())
    opened.ledger()
    return opened


def stored(url: str, job: str) -> list[object]:
    with Ledger.open(url) as ledger:
        return ledger.list_runs(RunFilter(job=job))


def test_a_generator_is_measured_over_its_iteration(recorder: Recorder, sqlite_url: str) -> None:
    @measure(job="child", recorder=recorder)
    def child() -> int:
        return 1

    @measure(job="gen", recorder=recorder)
    def numbers(count: int) -> Generator[int, None, str]:
        for number in range(count):
            time.sleep(0.05)  # the work is here, while it is iterated
            yield number + child()
        return "done"

    generator = numbers(3)
    assert stored(sqlite_url, "gen") == []  # making it starts no run
    assert list(generator) == [1, 2, 3]
    [run] = stored(sqlite_url, "gen")
    assert run.status == "ok"  # type: ignore[attr-defined]
    assert run.duration_s >= 0.15  # type: ignore[attr-defined]  # the iteration, not creation
    children = stored(sqlite_url, "child")
    assert len(children) == 3
    assert {item.parent_run_id for item in children} == {run.run_id}  # type: ignore[attr-defined]

    @measure(job="consumer-side", recorder=recorder)
    def consumer() -> None:
        pass

    for _ in numbers(2):
        consumer()  # the consumer's runs are not the generator's children
    assert [item.parent_run_id for item in stored(sqlite_url, "consumer-side")] == [None, None]


def test_return_value_send_and_throw_pass_through(recorder: Recorder, sqlite_url: str) -> None:
    @measure(job="echo", recorder=recorder)
    def echo() -> Generator[str, str, int]:
        received = 0
        while True:
            try:
                value = yield f"got {received}"
            except KeyError as error:
                value = f"caught {error.args[0]}"
            if value == "stop":
                return received
            received += 1

    generator = echo()
    assert next(generator) == "got 0"
    assert generator.send("a") == "got 1"
    assert generator.throw(KeyError("k")) == "got 2"
    with pytest.raises(StopIteration) as stop:
        generator.send("stop")
    assert stop.value.value == 2
    [run] = stored(sqlite_url, "echo")
    assert run.status == "ok"  # type: ignore[attr-defined]
    assert echo.last_run.run_id == run.run_id  # type: ignore[attr-defined]


def test_an_exception_is_recorded_and_passes_through_unchanged(
    recorder: Recorder, sqlite_url: str
) -> None:
    error = ValueError("row 3 is bad")

    @measure(job="fails", recorder=recorder)
    def rows() -> Generator[int, None, None]:
        yield 1
        raise error

    generator = rows()
    assert next(generator) == 1
    with pytest.raises(ValueError) as raised:
        next(generator)
    assert raised.value is error
    [run] = stored(sqlite_url, "fails")
    assert (run.status, run.error_message) == ("error", "row 3 is bad")  # type: ignore[attr-defined]


def test_closing_early_ends_the_run_ok_and_runs_the_generators_cleanup(
    recorder: Recorder, sqlite_url: str
) -> None:
    cleaned: list[bool] = []

    @measure(job="early", recorder=recorder)
    def endless() -> Generator[int, None, None]:
        try:
            number = 0
            while True:
                yield number
                number += 1
        finally:
            cleaned.append(True)

    for number in endless():
        if number == 2:
            break
    assert cleaned == [True]
    [run] = stored(sqlite_url, "early")
    assert run.status == "ok"  # type: ignore[attr-defined]


def test_an_async_generator_is_measured_over_its_iteration(
    recorder: Recorder, sqlite_url: str
) -> None:
    @measure(job="agen", recorder=recorder)
    async def ticks(count: int) -> AsyncIterator[int]:
        for number in range(count):
            await asyncio.sleep(0.05)
            yield number

    @measure(job="agen-fails", recorder=recorder)
    async def broken() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("stream cut")

    async def main() -> tuple[list[int], list[int]]:
        generator = ticks(3)
        assert stored(sqlite_url, "agen") == []
        values = [value async for value in generator]
        seen: list[int] = []
        with pytest.raises(RuntimeError, match="stream cut"):
            async for value in broken():
                seen.append(value)
        return values, seen

    assert asyncio.run(main()) == ([0, 1, 2], [1])
    [run] = stored(sqlite_url, "agen")
    assert run.status == "ok" and run.duration_s >= 0.15  # type: ignore[attr-defined]
    [failed] = stored(sqlite_url, "agen-fails")
    assert (failed.status, failed.error_message) == ("error", "stream cut")  # type: ignore[attr-defined]
