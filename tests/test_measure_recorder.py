"""The recorder against its ``RunSink``: which state goes to the sink, and when.

Fast unit tests on a fake sink and a fake meter (no disk, no ledger). The real sink,
:class:`zuinig.ledger.writer.RunWriter`, is tested for real in test_measure_spool_first.py,
test_measure_durability.py and tests/ledger/test_ledger_spool*.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from zuinig import measure
from zuinig.config import Settings
from zuinig.ledger import Ledger
from zuinig.ledger.model import STATUS_ERROR, STATUS_OK, STATUS_RUNNING, Run
from zuinig.measure.recorder import Recorder, RunSink
from zuinig.meter.base import CPU_METHOD_REPLAY, Measurement, Meter, Method, Window

METHOD = Method(meter="fake", cpu_method=CPU_METHOD_REPLAY, intensity_g_per_kwh=250.0)


class LoggedWindow(Window):
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.started_at = datetime.now(UTC)

    def end(self) -> Measurement:
        self.log.append("meter.end")
        ended_at = datetime.now(UTC)
        return Measurement(
            started_at=self.started_at,
            ended_at=ended_at,
            duration_s=(ended_at - self.started_at).total_seconds(),
            energy_kwh=2e-6,
            co2_kg=5e-7,
            intensity_g_per_kwh=250.0,
            method=METHOD,
        )


class LoggedMeter(Meter):
    name = "fake"

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def begin(self, context: Mapping[str, Any] | None = None) -> Window:
        self.log.append("meter.begin")
        return LoggedWindow(self.log)


class FakeSink:
    """Keeps every state it is given, in order, and logs each call."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.states: list[Run] = []
        self.flushed: list[float] = []

    def write(self, run: Run) -> str:
        self.log.append(f"write {run.status}")
        self.states.append(run)
        return "memory"

    def window_opened(self) -> None:
        self.log.append("window_opened")

    def window_closed(self) -> None:
        self.log.append("window_closed")

    def flush(self, timeout_s: float) -> bool:
        self.flushed.append(timeout_s)
        return True

    def ledger(self) -> Ledger:
        raise AssertionError("the recorder must not open a ledger on its own")


def recorder_with_fake_sink() -> tuple[Recorder, FakeSink, list[str]]:
    log: list[str] = []
    sink = FakeSink(log)
    typed: RunSink = sink  # the fake is a RunSink (checked by mypy where tests are checked)
    recorder = Recorder(
        Settings(), ledger_url="sqlite:///unused", meter=LoggedMeter(log), sink=typed
    )
    return recorder, sink, log


def test_each_state_reaches_the_sink_around_the_window_in_order() -> None:
    recorder, sink, log = recorder_with_fake_sink()

    @measure(job="j", tags={"team": "ruimte"}, recorder=recorder)
    def job(x: int) -> int:
        log.append("job")
        return x * 2

    assert job(21) == 42
    # The running state is on disk before the window opens; the end after it closed.
    assert log == [
        "write running",
        "window_opened",
        "meter.begin",
        "job",
        "meter.end",
        "window_closed",
        "write ok",
    ]
    started, finished = sink.states
    assert started.status == STATUS_RUNNING and started.energy_kwh is None
    assert finished.status == STATUS_OK and finished.run_id == started.run_id
    assert finished.energy_kwh == pytest.approx(2e-6)
    assert finished.tags["team"] == "ruimte"


def test_a_failing_job_s_end_reaches_the_sink_as_error_and_the_exception_passes() -> None:
    recorder, sink, _ = recorder_with_fake_sink()

    @measure(job="j", recorder=recorder)
    def job() -> None:
        raise KeyError("gone")

    with pytest.raises(KeyError, match="gone"):
        job()
    assert [run.status for run in sink.states] == [STATUS_RUNNING, STATUS_ERROR]
    assert sink.states[-1].error_type == "KeyError"


def test_flush_is_the_sink_s_flush() -> None:
    recorder, sink, _ = recorder_with_fake_sink()
    assert recorder.flush(timeout_s=3.0) is True
    assert sink.flushed == [3.0]


def test_a_block_inside_a_measured_call_is_its_child() -> None:
    recorder, sink, _ = recorder_with_fake_sink()

    @measure(job="outer", recorder=recorder)
    def outer() -> None:
        with measure(job="inner", recorder=recorder):
            pass

    outer()
    by_job = {run.job: run for run in sink.states if run.status == STATUS_OK}
    assert by_job["inner"].parent_run_id == by_job["outer"].run_id
    assert by_job["outer"].parent_run_id is None
