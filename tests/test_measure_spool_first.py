"""Spool first until the ledger is open: a process's first calls never wait for SQLAlchemy.

Until a process has opened its ledger, each state of a run is saved to the spool
(fsynced) before the job goes on, and a background thread opens the ledger and
delivers the spool; then runs are written directly.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zuinig import measure
from zuinig.config import Settings
from zuinig.errors import LedgerError, ZuinigError
from zuinig.ledger import Ledger, RunFilter, spool
from zuinig.measure import Recorder
from zuinig.meter.null import NullMeter

OPENER = "zuinig-ledger-opener"
#: The spool-first writer's module (its limits are patched here).
writer_module = importlib.import_module("zuinig.ledger.writer")


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Holds the background opener before it opens the ledger, until the event is set."""
    event = threading.Event()
    original = Ledger.open.__func__  # type: ignore[attr-defined]

    def held_open(cls: type[Ledger], url: str | None = None, **kwargs: Any) -> Ledger:
        if threading.current_thread().name == OPENER:
            assert event.wait(60), "the test never let the opener go"
        opened: Ledger = original(cls, url, **kwargs)
        return opened

    monkeypatch.setattr(Ledger, "open", classmethod(held_open))
    yield event
    event.set()


def recorder_for(url: str) -> Recorder:
    return Recorder(Settings(), ledger_url=url, meter=NullMeter())


def statuses_in_spool(url: str) -> list[str]:
    return [run.status for run in spool.pending(url)]


def test_first_calls_go_to_the_spool_then_to_the_ledger(
    gate: threading.Event, sqlite_url: str
) -> None:
    recorder = recorder_for(sqlite_url)

    active = recorder.begin("j", tags={"team": "ruimte"})
    assert statuses_in_spool(sqlite_url) == ["running"]  # on disk before the job starts
    first = active.finish()
    assert statuses_in_spool(sqlite_url) == ["ok"]  # the end replaced the start
    # More calls while the ledger is still opening: each state goes to the spool too.
    later = [recorder.begin("j").finish() for _ in range(3)]
    assert statuses_in_spool(sqlite_url) == ["ok"] * 4
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # not opened yet

    gate.set()
    assert recorder.flush(timeout_s=60)
    assert not spool.has_pending(sqlite_url)

    # Delivered: now the ledger is written directly, the spool is left alone.
    direct = recorder.begin("j")
    assert not spool.has_pending(sqlite_url)
    with Ledger.open(sqlite_url) as ledger:
        assert ledger.get_run(direct.run.run_id).status == "running"
    direct.finish()
    assert not spool.has_pending(sqlite_url)
    with Ledger.open(sqlite_url) as ledger:
        stored = {run.run_id: run for run in ledger.list_runs()}
    assert set(stored) == {run.run_id for run in [first, *later, direct.run]}
    assert {run.status for run in stored.values()} == {"ok"}
    assert stored[first.run_id] == first


def test_the_ledger_opens_after_the_first_run_not_during_it(sqlite_url: str) -> None:
    recorder = recorder_for(sqlite_url)
    active = recorder.begin("j")
    # The opener waits: opening (CPU-bound, under the GIL) would slow the job down
    # and count in its window.
    assert recorder.sink._opener is not None
    recorder.sink._opener.join(0.5)
    assert recorder.sink._opener.is_alive()
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()
    active.finish()
    assert recorder.flush(timeout_s=60)
    assert not spool.has_pending(sqlite_url)


def wait_until_direct(recorder: Recorder, timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while not recorder.sink._direct and time.monotonic() < deadline:
        time.sleep(0.02)
    return recorder.sink._direct


def test_the_ledger_waits_for_no_window_open_then_opens_at_a_quiet_moment(
    sqlite_url: str,
) -> None:
    recorder = recorder_for(sqlite_url)
    recorder.begin("first").finish()  # the first run has ended: the opener may go...
    outer = recorder.begin("outer")  # ...but a measured window is open
    for index in range(5):
        recorder.begin(f"inner{index}").finish()
    assert recorder.sink._opener is not None
    recorder.sink._opener.join(0.6)  # three quiet periods' worth: still waiting for the window
    assert recorder.sink._opener.is_alive() and recorder.sink._ledger is None
    assert spool.pending_count(sqlite_url) == 7  # each state is in the journal meanwhile
    outer.finish()
    assert wait_until_direct(recorder)  # quiet now: it opened and delivered, unasked
    assert not spool.has_pending(sqlite_url)
    with Ledger.open(sqlite_url) as ledger:
        assert ledger.count_runs() == 7


def test_a_full_journal_opens_the_ledger_even_inside_a_window(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "OPEN_AFTER_RECORDS", 6)
    monkeypatch.setattr(writer_module, "OPEN_AT_THE_LATEST_S", 600.0)
    recorder = recorder_for(sqlite_url)
    recorder.begin("first").finish()
    outer = recorder.begin("outer")
    for index in range(3):
        recorder.begin(f"inner{index}").finish()  # 2 + 1 + 6 states: over the bound
    assert wait_until_direct(recorder)
    outer.finish()  # written directly now
    assert not spool.has_pending(sqlite_url)


def test_states_spooled_while_the_ledger_opens_are_delivered_in_order(
    gate: threading.Event, sqlite_url: str
) -> None:
    recorder = recorder_for(sqlite_url)
    open_runs = [recorder.begin(f"j{index}") for index in range(3)]
    gate.set()
    # The opener now runs while these end: some ends are spooled, some written directly.
    # (Last begun, first finished: each run restores the current run it found.)
    finished = [active.finish() for active in reversed(open_runs)]
    assert recorder.flush(timeout_s=60)
    with Ledger.open(sqlite_url) as ledger:
        assert [ledger.get_run(run.run_id) for run in finished] == finished


def test_opening_the_ledger_up_front_writes_directly_from_the_first_call(sqlite_url: str) -> None:
    recorder = recorder_for(sqlite_url)
    recorder.ledger()  # as `zuinig run` does, to refuse a bad ledger URL before starting
    active = recorder.begin("j")
    assert not spool.has_pending(sqlite_url)
    active.finish()
    assert not spool.has_pending(sqlite_url)
    assert recorder.flush(timeout_s=1)


def test_a_failed_direct_write_still_spools_the_run(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = recorder_for(sqlite_url)
    recorder.ledger()
    active = recorder.begin("j")

    def refuse(self: Ledger, run: Any) -> None:
        raise LedgerError("disk full")

    monkeypatch.setattr(Ledger, "finish_run", refuse)
    finished = active.finish()
    assert "kept in" in caplog.text
    assert spool.pending(sqlite_url) == [finished]


def test_after_a_failed_open_runs_are_spooled_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the ledger's folder should be")
    url = f"sqlite:///{blocked}/ledger.sqlite"
    recorder = recorder_for(url)
    with pytest.raises(ZuinigError):
        recorder.ledger()  # as `zuinig run` does before starting the command
    finished = recorder.begin("j").finish()
    assert f"run {finished.run_id} and later runs are kept in" in caplog.text
    assert spool.pending(url) == [finished]
    assert not recorder.flush(timeout_s=30)
    warnings = len(caplog.records)
    recorder.begin("j").finish()
    assert len(caplog.records) == warnings  # one warning per outage, not one per run


def test_flush_with_nothing_waiting_returns_at_once(sqlite_url: str) -> None:
    assert recorder_for(sqlite_url).flush(timeout_s=0)


def test_a_forked_child_spools_first_with_its_own_pid(sqlite_url: str) -> None:
    recorder = recorder_for(sqlite_url)
    parent_job = measure(job="parent", recorder=recorder)(lambda: None)
    parent_job()
    assert recorder.flush(timeout_s=60)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            child_job = measure(job="child", recorder=recorder)(lambda: None)
            child_job()
            # The child does not inherit the parent's open ledger: its run was spooled.
            code = 0 if recorder.flush(timeout_s=60) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    parent_job()  # the parent still writes directly
    assert not spool.has_pending(sqlite_url)
    with Ledger.open(sqlite_url) as ledger:
        [child] = ledger.list_runs(RunFilter(job="child"))
        parents = ledger.list_runs(RunFilter(job="parent"))
    assert child.status == "ok"
    assert child.pid == pid  # not the parent's: provenance is recomputed after a fork
    assert [run.pid for run in parents] == [os.getpid()] * 2


# -- whole processes ------------------------------------------------------------------------

# Never opens the ledger: the run stays in the spool, as when a process ends (or is
# killed) before its opener has delivered.
_NO_OPENER = textwrap.dedent(
    """
    import sys, time
    from zuinig.ledger.writer import RunWriter
    from zuinig.measure import Recorder, measure
    from zuinig.meter.null import NullMeter

    RunWriter._start_opener = lambda self, *, force=False: None
    recorder = Recorder(ledger_url=sys.argv[1], meter=NullMeter())

    @measure(job="light", recorder=recorder)
    def job(seconds):
        print("inside", flush=True)
        time.sleep(seconds)

    job(0)
    job(0)
    assert "sqlalchemy" not in sys.modules, "the spool-first path imported SQLAlchemy"
    if len(sys.argv) > 2:
        job(60)
    """
)


def test_runs_of_a_process_that_never_opened_the_ledger_arrive_on_the_next_open(
    sqlite_url: str,
) -> None:
    subprocess.run(
        [sys.executable, "-c", _NO_OPENER, sqlite_url],
        check=True,
        timeout=120,
        capture_output=True,
        env=dict(os.environ),
    )
    assert statuses_in_spool(sqlite_url) == ["ok", "ok"]
    with Ledger.open(sqlite_url) as ledger:  # any later open delivers: zuinig runs list does
        runs = ledger.list_runs(RunFilter(job="light"))
    assert [run.status for run in runs] == ["ok", "ok"]
    assert not spool.has_pending(sqlite_url)


def test_a_process_killed_before_delivery_leaves_an_interrupted_run(sqlite_url: str) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _NO_OPENER, sqlite_url, "then-hang"],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    ) as child:
        assert child.stdout is not None
        for _ in range(3):
            assert child.stdout.readline().strip() == "inside"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    # The killed run's start was fsynced to the spool before its job began.
    assert statuses_in_spool(sqlite_url) == ["ok", "ok", "running"]
    with Ledger.open(sqlite_url) as ledger:
        runs = ledger.list_runs(RunFilter(job="light"))
        interrupted = ledger.list_runs(RunFilter(status="interrupted"))
    assert sorted(run.status for run in runs) == ["interrupted", "ok", "ok"]
    assert [run.run_id for run in interrupted] == [
        run.run_id for run in runs if run.status == "interrupted"
    ]


_SCRIPT = textwrap.dedent(
    """
    import zuinig

    @zuinig.measure(job="script")
    def job():
        return 1

    job()
    print(job.last_run.run_id)
    """
)


_LEFT_OPEN = textwrap.dedent(
    """
    import zuinig

    block = zuinig.measure(job="left-open")
    block.__enter__()  # never ended: the exit hook still opens the ledger
    """
)


def test_a_run_still_open_at_exit_is_delivered_and_shown_interrupted(sqlite_url: str) -> None:
    subprocess.run(
        [sys.executable, "-c", _LEFT_OPEN],
        check=True,
        timeout=120,
        env={**os.environ, "ZUINIG_LEDGER": sqlite_url},
    )
    assert not spool.has_pending(sqlite_url)
    with Ledger.open(sqlite_url) as ledger:
        [run] = ledger.list_runs(RunFilter(job="left-open"))
    assert run.status == "interrupted"


def test_a_script_s_runs_are_in_the_ledger_when_it_ends(sqlite_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
        env={**os.environ, "ZUINIG_LEDGER": sqlite_url},
    )
    run_id = done.stdout.strip()
    # Delivered by the script itself (its exit hook waited for the opener), not by us.
    assert not spool.has_pending(sqlite_url)
    with Ledger.open(sqlite_url) as ledger:
        assert ledger.get_run(run_id).status == "ok"


_MULTIPROCESSING = textwrap.dedent(
    """
    import multiprocessing, zuinig

    @zuinig.measure(job="in-a-child")
    def job():
        return 1

    child = multiprocessing.get_context("fork").Process(target=job)
    child.start()
    child.join()
    assert child.exitcode == 0
    """
)


def test_a_multiprocessing_child_s_runs_are_in_the_ledger_when_it_ends(sqlite_url: str) -> None:
    # Such a child ends with os._exit(), skipping atexit: zuinig waits in
    # multiprocessing's own exit finalizers instead.
    subprocess.run(
        [sys.executable, "-c", _MULTIPROCESSING],
        check=True,
        timeout=120,
        env={**os.environ, "ZUINIG_LEDGER": sqlite_url},
    )
    assert not spool.has_pending(sqlite_url)
    with Ledger.open(sqlite_url) as ledger:
        [run] = ledger.list_runs(RunFilter(job="in-a-child"))
    assert run.status == "ok"


_HAND_OFF = textwrap.dedent(
    """
    import sys
    from zuinig.config import Settings
    from zuinig.ledger.writer import RunWriter
    from zuinig.measure import Recorder
    from zuinig.meter.null import NullMeter

    url = sys.argv[1]
    sink = RunWriter(lambda: url, lambda: Settings(), hand_off=True)
    recorder = Recorder(Settings(), ledger_url=url, meter=NullMeter(), sink=sink)
    for _ in range(3):
        recorder.begin("handed-off").finish()
    assert recorder.sink.flush(timeout_s=5) is False  # delivery is the parent's
    print("sqlalchemy" in sys.modules)
    """
)


def test_a_hand_off_writer_never_opens_the_ledger_and_its_parent_delivers(
    sqlite_url: str,
) -> None:
    """A bench trial's writer: every run in the spool, no SQLAlchemy, no warning at exit;
    the process that holds the ledger delivers them with drain_spool."""
    with Ledger.open(sqlite_url) as ledger:  # the parent, open before the child starts
        done = subprocess.run(
            [sys.executable, "-c", _HAND_OFF, sqlite_url],
            check=True,
            timeout=120,
            capture_output=True,
            text=True,
            env=dict(os.environ),
        )
        assert done.stdout.strip() == "False"  # SQLAlchemy was never imported
        assert done.stderr == ""  # not "the ledger did not open within 10 s"
        assert statuses_in_spool(sqlite_url) == ["ok", "ok", "ok"]
        assert ledger.list_runs(RunFilter(job="handed-off")) == []

        ledger.drain_spool()

        runs = ledger.list_runs(RunFilter(job="handed-off"))
    assert [run.status for run in runs] == ["ok", "ok", "ok"]
    assert not spool.has_pending(sqlite_url)
