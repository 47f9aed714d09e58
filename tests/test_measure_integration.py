"""``@measure`` with the real parts: CodeCarbon offline, psutil, a SQLite ledger, real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from zuinig import measure
from zuinig.config import Settings
from zuinig.ledger import Ledger, RunFilter
from zuinig.measure import Recorder


def busy(seconds: float) -> int:
    """Burn CPU for about ``seconds``; returns how many loops it did."""
    loops = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        sum(i * i for i in range(2_000))
        loops += 1
    return loops


def test_real_codecarbon_measures_a_cpu_busy_function(sqlite_url: str, tmp_path: Path) -> None:
    recorder = Recorder(Settings(), ledger_url=sqlite_url)

    own_cpu_s: list[float] = []

    @measure(job="busy", recorder=recorder)
    def job() -> int:
        start = time.process_time()
        loops = busy(0.5)
        own_cpu_s.append(time.process_time() - start)
        return loops

    assert job() > 0
    run = job.last_run  # type: ignore[attr-defined]
    ledger = Ledger.open(sqlite_url)
    stored = ledger.get_run(run.run_id)
    ledger.close()

    assert stored.status == "ok"
    assert stored.measurement_error is None
    assert stored.energy_kwh is not None and stored.energy_kwh > 0
    assert stored.intensity_g_per_kwh is not None and stored.intensity_g_per_kwh > 0
    assert stored.co2_kg == pytest.approx(stored.energy_kwh * stored.intensity_g_per_kwh / 1000)
    assert stored.method_meter is not None and stored.method_meter.startswith("codecarbon")
    assert stored.method_cpu in {"rapl", "cpu_load", "constant", "user_power"}
    assert stored.intensity_source and stored.pue == 1.0
    # The sampler sees at least the CPU time the job itself spent (the machine may be shared).
    assert stored.cpu_s is not None and stored.cpu_s >= own_cpu_s[0] * 0.95
    assert stored.peak_rss_bytes is not None and stored.peak_rss_bytes > 10_000_000
    assert stored.duration_s is not None and stored.duration_s >= 0.5
    assert list(tmp_path.glob("*.csv")) == []  # CodeCarbon wrote no emissions.csv


def test_codecarbon_failure_leaves_the_result_and_records_the_error(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zuinig.meter.sources.codecarbon import CodeCarbonSource

    recorder = Recorder(Settings(), ledger_url=sqlite_url)

    @measure(job="j", recorder=recorder)
    def job() -> str:
        return "result"

    def explode(self: object, *args: object) -> None:
        raise RuntimeError("RAPL went away")

    monkeypatch.setattr(CodeCarbonSource, "close", explode)
    assert job() == "result"
    failed_at_end = job.last_run  # type: ignore[attr-defined]

    monkeypatch.setattr(CodeCarbonSource, "open", explode)
    assert job() == "result"
    failed_at_start = job.last_run  # type: ignore[attr-defined]

    ledger = Ledger.open(sqlite_url)
    for run in (failed_at_end, failed_at_start):
        stored = ledger.get_run(run.run_id)
        assert stored.status == "ok"
        assert stored.energy_kwh is None
        assert stored.measurement_error and "RAPL went away" in stored.measurement_error
    ledger.close()


_WORKER = textwrap.dedent(
    """
    import sys, zuinig

    @zuinig.measure(job="concurrent", tags={"worker": sys.argv[1]})
    def job(i):
        return i

    for i in range(int(sys.argv[2])):
        assert job(i) == i
    """
)


@pytest.mark.slow
def test_eight_processes_write_1600_runs_into_one_sqlite_ledger(sqlite_url: str) -> None:
    env = {**os.environ, "ZUINIG_LEDGER": sqlite_url}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(index), "200"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(8)
    ]
    errors = [worker.communicate(timeout=300)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 8, errors
    assert not any("locked" in error for error in errors), errors

    ledger = Ledger.open(sqlite_url)
    runs = ledger.list_runs(RunFilter(job="concurrent"))
    ledger.close()
    assert len(runs) == 1600
    assert {run.status for run in runs} == {"ok"}
    assert len({run.run_id for run in runs}) == 1600
    assert sum(1 for run in runs if run.energy_kwh) == 1600


_KILLED = textwrap.dedent(
    """
    import sys, time, zuinig

    @zuinig.measure(job="doomed")
    def job():
        print("inside", flush=True)
        time.sleep(60)

    job()
    """
)


def test_a_killed_process_leaves_an_interrupted_run(sqlite_url: str) -> None:
    env = {**os.environ, "ZUINIG_LEDGER": sqlite_url}
    with subprocess.Popen(
        [sys.executable, "-c", _KILLED], env=env, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "inside"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)

    ledger = Ledger.open(sqlite_url)
    [run] = ledger.list_runs(RunFilter(job="doomed"))
    interrupted = ledger.list_runs(RunFilter(status="interrupted"))
    ledger.close()
    assert run.status == "interrupted"
    assert [r.run_id for r in interrupted] == [run.run_id]
