"""Many writers at once: every run arrives, nobody sees "database is locked"."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime

import pytest
from ledger_helpers import full_run, run_writers

from zuinig.ledger import Ledger, RunFilter


@pytest.mark.slow
def test_8_processes_x_200_runs(ledger_url: str) -> None:
    # The writers open the ledger themselves at the same moment, so its creation races too.
    elapsed = run_writers(ledger_url, processes=8, pairs=200)
    with Ledger.open(ledger_url) as ledger:
        assert ledger.count_runs() == 1600
        assert ledger.count_runs(RunFilter(status="ok")) == 1600
        runs = ledger.list_runs()
        assert len({run.run_id for run in runs}) == 1600
        assert all(len(run.tags) == 2 for run in runs)
    print(f"8 x 200 start+finish pairs: {elapsed:.2f} s")


@pytest.mark.slow
def test_8_processes_create_a_new_ledger_at_once(ledger_url: str) -> None:
    # Creating the file, switching it to WAL and migrating all race here.
    run_writers(ledger_url, processes=8, pairs=1)
    with Ledger.open(ledger_url) as ledger:
        assert ledger.count_runs(RunFilter(status="ok")) == 8


def test_a_few_processes_at_once(ledger_url: str) -> None:
    run_writers(ledger_url, processes=3, pairs=20)
    with Ledger.open(ledger_url) as ledger:
        assert ledger.count_runs(RunFilter(status="ok")) == 60


def test_threads_share_one_ledger(ledger: Ledger) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def work(index: int) -> None:
        run = full_run(f"thread-{index:03d}", status="running")
        ledger.start_run(run)
        ledger.finish_run(dataclasses.replace(run, status="ok"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(80)))
    assert ledger.count_runs(RunFilter(status="ok")) == 80


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_writes_on_its_own_connection(ledger: Ledger) -> None:
    ledger.finish_run(full_run("before-fork"))  # the parent's pooled connection is in use
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            ledger.finish_run(full_run("from-child", started_at=datetime.now(UTC)))
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    ledger.finish_run(full_run("after-fork"))
    assert {run.run_id for run in ledger.list_runs()} == {"before-fork", "from-child", "after-fork"}
