"""A run's start is on disk before the job goes on, on every path; an outage costs one
warning, not one per run; a full disk costs one line, not a traceback (issue 10, items 2, 10)."""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any

import pytest

from zuinig import measure
from zuinig.config import Settings
from zuinig.errors import LedgerError
from zuinig.ledger import Ledger, RunFilter, spool
from zuinig.measure import Recorder
from zuinig.meter.null import NullMeter


def recorder_for(url: str) -> Recorder:
    return Recorder(Settings(), ledger_url=url, meter=NullMeter())


def ledger_status(url: str, run_id: str) -> str:
    with Ledger.open(url) as ledger:
        return ledger.get_run(run_id).status


def refuse(*_: Any, **__: Any) -> None:
    raise LedgerError("server closed the connection unexpectedly")


def test_spool_first_the_start_is_in_the_spool_while_the_job_runs(sqlite_url: str) -> None:
    recorder = recorder_for(sqlite_url)
    with measure(job="j", recorder=recorder) as handle:
        assert handle.run is not None
        assert [(run.run_id, run.status) for run in spool.pending(sqlite_url)] == [
            (handle.run.run_id, "running")
        ]
    assert recorder.flush(timeout_s=30)
    assert ledger_status(sqlite_url, handle.run.run_id) == "ok"


def test_open_ledger_the_start_is_in_the_ledger_and_not_spooled(sqlite_url: str) -> None:
    recorder = recorder_for(sqlite_url)
    recorder.ledger()
    with measure(job="j", recorder=recorder) as handle:
        assert handle.run is not None
        assert ledger_status(sqlite_url, handle.run.run_id) == "running"
        assert not spool.has_pending(sqlite_url)  # no second write on the happy path
    assert ledger_status(sqlite_url, handle.run.run_id) == "ok"


def test_open_ledger_a_failed_start_write_is_spooled_before_the_job_goes_on(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = recorder_for(sqlite_url)
    recorder.ledger()
    monkeypatch.setattr(Ledger, "start_run", refuse)
    with measure(job="j", recorder=recorder) as handle:
        assert handle.run is not None
        # Before this fix the start was only in memory: a SIGKILL here lost the run.
        assert [(run.run_id, run.status) for run in spool.pending(sqlite_url)] == [
            (handle.run.run_id, "running")
        ]
    assert "server closed the connection" in caplog.text
    assert recorder.flush(timeout_s=30)  # the end was written directly; the start delivered
    assert ledger_status(sqlite_url, handle.run.run_id) == "ok"
    assert not spool.has_pending(sqlite_url)


def test_an_outage_gives_one_warning_one_recovery_line_and_flush_tells_the_truth(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = recorder_for(sqlite_url)
    recorder.ledger()

    @measure(job="many", recorder=recorder)
    def job(value: int) -> int:
        return value + 1

    monkeypatch.setattr(Ledger, "start_run", refuse)
    monkeypatch.setattr(Ledger, "finish_run", refuse)
    monkeypatch.setattr(Ledger, "drain_spool", refuse)
    with caplog.at_level(logging.WARNING, logger="zuinig"):
        assert [job(value) for value in range(50)] == list(range(1, 51))
        assert spool.pending_count(sqlite_url) == 50  # one per run: its last state
        assert recorder.flush(timeout_s=5) is False  # runs sit in the spool: not flushed
        outage = [record.getMessage() for record in caplog.records]
        assert len(outage) == 1, outage
        assert "and later runs are kept in" in outage[0]
        assert "no more warnings until then" in outage[0]
        monkeypatch.undo()
        # The delivery thread pauses between emptying the spool and saying so (as a busy
        # machine may make it): flush must still wait for its line, not return before it.
        drain = Ledger.drain_spool

        def drain_then_pause(self: Ledger, *args: Any, **kwargs: Any) -> Any:
            delivered = drain(self, *args, **kwargs)
            time.sleep(0.5)
            return delivered

        monkeypatch.setattr(Ledger, "drain_spool", drain_then_pause)
        assert job(50) == 51  # written directly: the ledger is back
        deadline = time.monotonic() + 30
        while spool.has_pending(sqlite_url) and time.monotonic() < deadline:
            time.sleep(0.01)  # delivered; the thread has not yet said so
        assert recorder.flush(timeout_s=30) is True
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2, messages
    assert "is written again; the runs kept meanwhile are delivered" in messages[1]
    with Ledger.open(sqlite_url) as ledger:
        runs = ledger.list_runs(RunFilter(job="many"))
    assert len(runs) == 51 and {run.status for run in runs} == {"ok"}
    assert not spool.has_pending(sqlite_url)


def test_ledger_and_spool_both_full_one_line_no_traceback_runs_kept_in_memory(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = recorder_for(sqlite_url)
    recorder.ledger()

    @measure(job="full", recorder=recorder)
    def job(value: int) -> int:
        if value == 3:
            raise KeyError("the job's own error")
        return value

    def disk_full(*_: Any, **__: Any) -> None:
        raise LedgerError("cannot keep run in the spool: No space left on device")

    monkeypatch.setattr(Ledger, "start_run", refuse)
    monkeypatch.setattr(Ledger, "finish_run", refuse)
    monkeypatch.setattr(spool.Journal, "create", disk_full)  # the spool journal cannot be made
    with caplog.at_level(logging.WARNING, logger="zuinig"):
        assert [job(value) for value in range(3)] == [0, 1, 2]
        with pytest.raises(KeyError, match="the job's own error"):
            job(3)
    assert len(caplog.records) == 1, caplog.text
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is None  # no traceback
    assert "\n" not in record.getMessage()
    assert "No space left on device" in record.getMessage()
    assert "kept in memory" in record.getMessage()
    assert recorder.flush(timeout_s=1) is False
    writer_module = importlib.import_module("zuinig.ledger.writer")
    caplog.clear()
    writer_module._deliver_at_exit(timeout_s=1)  # were the process to end now: said plainly
    assert [record.getMessage() for record in caplog.records] == [
        "zuinig: 4 run(s) could be saved neither in the ledger nor in the spool before this "
        "process ended; they are lost"
    ]
    monkeypatch.undo()  # space again, the server back
    assert recorder.flush(timeout_s=30) is True
    with Ledger.open(sqlite_url) as ledger:
        runs = ledger.list_runs(RunFilter(job="full"))
    assert sorted(run.status for run in runs) == ["error", "ok", "ok", "ok"]


def test_a_failure_of_zuinigs_own_is_one_line_and_the_traceback_only_at_debug(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from zuinig.ledger.model import Run
    from zuinig.meter.base import Measurement

    def broken(self: Run, measurement: Measurement) -> Run:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(Run, "with_measurement", broken)
    recorder = recorder_for(sqlite_url)
    recorder.ledger()

    @measure(job="j", recorder=recorder)
    def job() -> str:
        return "result"

    with caplog.at_level(logging.DEBUG, logger="zuinig"):
        assert job() == "result"
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [record.getMessage() for record in warnings] == [
        f"zuinig: could not complete run {job.last_run.run_id} (RuntimeError: a bug of ours)"  # type: ignore[attr-defined]
    ]
    assert warnings[0].exc_info is None
    debug = [record for record in caplog.records if record.levelno == logging.DEBUG]
    assert any(record.exc_info is not None for record in debug)  # for --debug
    assert job.last_run.status == "error"  # type: ignore[attr-defined]  # recorded, not lost
