"""A ``running`` row whose process is gone is shown as ``interrupted``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

from ledger_helpers import child_env, full_run

from zuinig.ledger import Ledger, RunFilter
from zuinig.ledger.liveness import is_process_gone, process_started_at

STARTS_AND_HANGS = """
import os, sys, time
from datetime import UTC, datetime
from zuinig.ledger import Ledger, Run
from zuinig.ledger.liveness import process_started_at, this_host

ledger = Ledger.open(sys.argv[1])
ledger.start_run(Run(
    run_id="killed-run", job="doomed", status="running", started_at=datetime.now(UTC),
    host=this_host(), pid=os.getpid(), pid_started_at=process_started_at(os.getpid()),
))
print("started", flush=True)
time.sleep(120)
"""


def test_a_sigkilled_process_leaves_an_interrupted_run(ledger: Ledger) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", STARTS_AND_HANGS, ledger.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "started", child.stderr.read() if child.stderr else ""
        # While it lives, the run is running.
        assert ledger.get_run("killed-run").status == "running"
        assert [run.run_id for run in ledger.list_runs(RunFilter(status="running"))] == [
            "killed-run"
        ]
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    assert ledger.get_run("killed-run").status == "interrupted"
    assert [run.run_id for run in ledger.list_runs(RunFilter(status="interrupted"))] == [
        "killed-run"
    ]
    assert ledger.list_runs(RunFilter(status="running")) == []
    assert ledger.count_runs(RunFilter(status="interrupted")) == 1
    assert ledger.list_runs()[0].status == "interrupted"


def test_a_reused_pid_does_not_keep_a_run_alive(ledger: Ledger) -> None:
    # Our own pid, alive, but the stored start time is an hour before ours: another process.
    ours = process_started_at(os.getpid())
    assert ours is not None
    ledger.start_run(full_run("reused", status="running", pid_started_at=ours - timedelta(hours=1)))
    ledger.start_run(full_run("alive", status="running", pid_started_at=ours))
    assert ledger.get_run("reused").status == "interrupted"
    assert ledger.get_run("alive").status == "running"


def test_runs_from_other_hosts_stay_running(ledger: Ledger) -> None:
    ledger.start_run(full_run("elsewhere", status="running", host="another-host", pid=1))
    assert ledger.get_run("elsewhere").status == "running"
    assert ledger.count_runs(RunFilter(status="interrupted")) == 0


def test_unknown_pid_stays_running(ledger: Ledger) -> None:
    ledger.start_run(full_run("no-pid", status="running", pid=None, pid_started_at=None))
    assert ledger.get_run("no-pid").status == "running"


def test_liveness_of_a_finished_child() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = process_started_at(child.pid)
    child.wait()
    assert is_process_gone(child.pid, started)
    assert not is_process_gone(os.getpid(), process_started_at(os.getpid()))
    assert not is_process_gone(os.getpid(), None)
