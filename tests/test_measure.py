"""``@measure`` and ``with measure()``: the job behaves exactly as before, and every call is a run."""

from __future__ import annotations

import asyncio
import importlib
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from zuinig import measure
from zuinig.config import Settings
from zuinig.ledger import Ledger, RunFilter
from zuinig.measure import Recorder
from zuinig.meter.base import CPU_METHOD_REPLAY, Measurement, Meter, Method, Window

FAKE_METHOD = Method(meter="fake", cpu_method=CPU_METHOD_REPLAY, intensity_g_per_kwh=250.0)


class FakeWindow(Window):
    def __init__(self, meter: FakeMeter) -> None:
        self.meter = meter
        self.started_at = datetime.now(UTC)

    def end(self) -> Measurement:
        if self.meter.fail_on_end:
            raise RuntimeError("meter exploded on end")
        ended_at = datetime.now(UTC)
        energy_kwh = self.meter.energy_kwh
        return Measurement(
            started_at=self.started_at,
            ended_at=ended_at,
            duration_s=(ended_at - self.started_at).total_seconds(),
            energy_kwh=energy_kwh,
            co2_kg=energy_kwh * 0.25,
            intensity_g_per_kwh=250.0,
            method=FAKE_METHOD,
        )


class FakeMeter(Meter):
    """Gives a fixed energy per window; can be told to fail at begin or end."""

    name = "fake"

    def __init__(self, energy_kwh: float = 1e-6) -> None:
        self.energy_kwh = energy_kwh
        self.fail_on_begin = False
        self.fail_on_end = False
        self.contexts: list[Mapping[str, Any] | None] = []

    def begin(self, context: Mapping[str, Any] | None = None) -> Window:
        self.contexts.append(context)
        if self.fail_on_begin:
            raise RuntimeError("meter exploded on begin")
        return FakeWindow(self)


@pytest.fixture
def meter() -> FakeMeter:
    return FakeMeter()


@pytest.fixture
def recorder(sqlite_url: str, meter: FakeMeter) -> Recorder:
    return Recorder(Settings(), ledger_url=sqlite_url, meter=meter)


def stored_runs(url: str, **filters: Any) -> list[Any]:
    ledger = Ledger.open(url)
    try:
        return ledger.list_runs(RunFilter(**filters))
    finally:
        ledger.close()


def test_return_value_passes_through_and_run_is_stored(recorder: Recorder, sqlite_url: str) -> None:
    @measure(job="woningbouwmonitor", tags={"team": "ruimte"}, recorder=recorder)
    def job(x: int, *, y: int) -> dict[str, int]:
        return {"sum": x + y}

    assert job(2, y=3) == {"sum": 5}
    run = job.last_run  # type: ignore[attr-defined]
    assert run.status == "ok"
    assert run.job == "woningbouwmonitor"
    assert run.tags == {"team": "ruimte"}
    assert run.energy_kwh == pytest.approx(1e-6)
    [stored] = stored_runs(sqlite_url)
    assert stored.run_id == run.run_id
    assert stored.status == "ok"
    assert stored.co2_kg == pytest.approx(2.5e-7)
    assert stored.method_meter == "fake"


def test_bare_decorator_names_the_job_after_the_function(recorder: Recorder) -> None:
    recorder_module = importlib.import_module("zuinig.measure.recorder")
    recorder_module._default_recorder = recorder

    @measure
    def bare() -> str:
        return "ok"

    assert bare() == "ok"
    assert bare.__name__ == "bare"
    assert bare.last_run.job.endswith(
        "test_bare_decorator_names_the_job_after_the_function.<locals>.bare"
    )  # type: ignore[attr-defined]


def _raise_deep() -> None:
    _raise_deeper()


def _raise_deeper() -> None:
    raise KeyError("no such municipality")


def test_exception_passes_through_with_its_frames(recorder: Recorder, sqlite_url: str) -> None:
    plain_frames = _frames_of(_raise_deep)

    decorated = measure(job="failing", recorder=recorder)(_raise_deep)
    with pytest.raises(KeyError) as caught:
        decorated()

    assert caught.value.args == ("no such municipality",)
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    # The job's own frames are all there, in order, after the one frame the wrapper adds.
    assert frames[-len(plain_frames) :] == plain_frames
    [run] = stored_runs(sqlite_url)
    assert run.status == "error"
    assert run.error_type == "KeyError"
    assert "no such municipality" in (run.error_message or "")


def _frames_of(func: Any) -> list[str]:
    try:
        func()
    except Exception as error:
        return [frame.name for frame in traceback.extract_tb(error.__traceback__)][1:]
    raise AssertionError("expected an exception")


def test_meter_failing_at_begin_leaves_the_job_and_records_the_run(
    recorder: Recorder, meter: FakeMeter, sqlite_url: str
) -> None:
    meter.fail_on_begin = True

    @measure(job="j", recorder=recorder)
    def job() -> int:
        return 42

    assert job() == 42
    [run] = stored_runs(sqlite_url)
    assert run.status == "ok"
    assert run.energy_kwh is None


def test_meter_failing_at_end_leaves_the_job_and_records_the_run(
    recorder: Recorder, meter: FakeMeter, sqlite_url: str
) -> None:
    meter.fail_on_end = True

    @measure(job="j", recorder=recorder)
    def job() -> int:
        return 42

    assert job() == 42
    assert job() == 42
    runs = stored_runs(sqlite_url)
    assert [run.status for run in runs] == ["ok", "ok"]
    assert all(run.energy_kwh is None for run in runs)


def test_unwritable_ledger_keeps_the_job_and_spools_the_run(
    meter: FakeMeter, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the ledger's folder should be")
    recorder = Recorder(Settings(), ledger_url=f"sqlite:///{blocked}/ledger.sqlite", meter=meter)

    @measure(job="j", recorder=recorder)
    def job() -> str:
        return "done"

    assert job() == "done"
    assert job.last_run.status == "ok"  # type: ignore[attr-defined]
    assert recorder.flush(timeout_s=30) is False  # the ledger cannot be opened
    assert "kept in" in caplog.text

    from zuinig.ledger import spool

    spooled = spool.pending(f"sqlite:///{blocked}/ledger.sqlite")
    # One file per run: its end state replaced the start state saved before it.
    assert spooled == [job.last_run]  # type: ignore[attr-defined]


def test_nested_calls_record_their_parent(recorder: Recorder, sqlite_url: str) -> None:
    @measure(job="inner", recorder=recorder)
    def inner() -> int:
        return 1

    @measure(job="outer", recorder=recorder)
    def outer() -> int:
        return inner() + inner()

    assert outer() == 2
    runs = {run.job: run for run in stored_runs(sqlite_url, job="outer")}
    parent = runs["outer"]
    children = stored_runs(sqlite_url, job="inner")
    assert len(children) == 2
    assert {child.parent_run_id for child in children} == {parent.run_id}
    assert parent.parent_run_id is None
    top = stored_runs(sqlite_url, top_level_only=True)
    assert [run.job for run in top] == ["outer"]


def test_async_functions_are_measured(recorder: Recorder, sqlite_url: str) -> None:
    @measure(job="inner-async", recorder=recorder)
    async def inner(value: int) -> int:
        await asyncio.sleep(0)
        return value * 2

    @measure(job="outer-async", recorder=recorder)
    async def outer() -> list[int]:
        return list(await asyncio.gather(inner(1), inner(2)))

    assert asyncio.run(outer()) == [2, 4]
    [parent] = stored_runs(sqlite_url, job="outer-async")
    children = stored_runs(sqlite_url, job="inner-async")
    assert {child.parent_run_id for child in children} == {parent.run_id}


def test_async_exception_passes_through(recorder: Recorder, sqlite_url: str) -> None:
    @measure(job="a", recorder=recorder)
    async def job() -> None:
        raise ValueError("bad geometry")

    with pytest.raises(ValueError, match="bad geometry"):
        asyncio.run(job())
    [run] = stored_runs(sqlite_url)
    assert run.status == "error"


def test_context_manager_gives_the_measurement(recorder: Recorder, sqlite_url: str) -> None:
    with measure(job="laden", recorder=recorder) as m:
        total = sum(range(1000))

    assert total == 499500
    assert m.measurement is not None
    assert m.measurement.energy_kwh == pytest.approx(1e-6)
    assert m.run is not None and m.run.status == "ok"
    [run] = stored_runs(sqlite_url)
    assert run.run_id == m.run_id


def test_context_manager_lets_exceptions_through(recorder: Recorder, sqlite_url: str) -> None:
    with pytest.raises(ZeroDivisionError), measure(job="laden", recorder=recorder):
        _ = 1 / 0
    [run] = stored_runs(sqlite_url)
    assert run.status == "error"
    assert run.error_type == "ZeroDivisionError"


def test_file_arguments_reach_the_meter(
    recorder: Recorder, meter: FakeMeter, tmp_path: Path
) -> None:
    data = tmp_path / "gemeenten.csv"
    data.write_text("a,b\n1,2\n")

    @measure(job="j", recorder=recorder)
    def job(path: Path, other: str) -> None:
        pass

    job(data, "not a file")
    assert meter.contexts[-1] == {"paths": [str(data.resolve())]}


def test_bad_tags_are_refused_at_decoration() -> None:
    with pytest.raises(TypeError):
        measure(job="x", tags={"": "empty key"})
