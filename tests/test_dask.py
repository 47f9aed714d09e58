"""``zuinig.dask``: a job on a real ``LocalCluster``, measured on the client and every worker.

The fast tests use replayed meters (figures given, process figures real) on a real
cluster of worker processes; the must-show runs the real CodeCarbon meter with the
client in a process of its own (a real tracker in the pytest process would change
CodeCarbon's process-wide logger setup under the other meter tests).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("distributed")

from click.testing import CliRunner
from distributed import Client, LocalCluster

import zuinig.dask
from zuinig.cli import cli
from zuinig.config import PARENT_RUN_ENV, Settings
from zuinig.errors import MeasurementError
from zuinig.ledger import Ledger
from zuinig.ledger.model import (
    KIND_DASK,
    KIND_DASK_CLIENT,
    KIND_DASK_WORKER,
    Run,
)
from zuinig.measure import dask as measure_dask
from zuinig.measure.dask import (
    CLIENT,
    ProcessMeasurement,
    measurement_from_plain,
    measurement_to_plain,
    share_machine_terms,
    total,
)
from zuinig.meter import Measurement, Meter, Method, ReplayMeter
from zuinig.meter.base import ATTRIBUTION_RESOURCE_SHARE, InputFile

# Every replayed window: CPU 1 Wh, RAM 2 Wh (a machine constant, like CodeCarbon's), no GPU.
CPU_KWH = 0.001
RAM_KWH = 0.002
INTENSITY = 250.0


def replayed(settings: Settings) -> Meter:
    return ReplayMeter(
        [{"cpu_energy_kwh": CPU_KWH, "ram_energy_kwh": RAM_KWH, "gpu_energy_kwh": 0.0,
          "energy_kwh": CPU_KWH + RAM_KWH}],
        intensity_g_per_kwh=INTENSITY,
        cycle=True,
        sample_process=True,
    )  # fmt: skip


def failing_in(pid: int) -> Callable[[Settings], Meter]:
    """A meter factory that raises in process ``pid`` (a closure: pickled by value)."""

    def factory(settings: Settings) -> Meter:
        if os.getpid() == pid:
            raise RuntimeError("this worker's meter broke")
        return replayed(settings)

    return factory


def burn(loops: int) -> int:
    return sum(i * i for i in range(loops))


def _cluster(n_workers: int = 2, *, processes: bool = True) -> LocalCluster:
    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=processes,
        # ":0", not None: with None the scheduler still serves /metrics on port 8787,
        # and a second cluster then warns that the port is taken.
        dashboard_address=":0",
    )


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with _cluster() as cluster, Client(cluster) as dask_client:
        yield dask_client


def _runs(url: str) -> list[Run]:
    measure_dask._recorder(Settings(), url).flush()
    ledger = Ledger.open(url)
    try:
        return ledger.list_runs()
    finally:
        ledger.close()


def _family(url: str, parent_id: str) -> tuple[Run, list[Run], list[Run]]:
    runs = _runs(url)
    parent = next(run for run in runs if run.run_id == parent_id)
    children = [run for run in runs if run.parent_run_id == parent_id]
    clients = [run for run in children if run.kind == KIND_DASK_CLIENT]
    workers = [run for run in children if run.kind == KIND_DASK_WORKER]
    return parent, clients, workers


def _measure(client: Client, url: str, **kwargs: Any) -> zuinig.dask.DaskMeasureSpec:
    kwargs.setdefault("meter_factory", replayed)
    return zuinig.dask.measure(client, settings=Settings(), ledger_url=url, **kwargs)


# -- on a real cluster, with replayed meters ------------------------------------------------


def test_parent_holds_client_plus_workers_and_ram_once_per_host(
    client: Client, sqlite_url: str
) -> None:
    workers = sorted(client.scheduler_info()["workers"])
    with _measure(client, sqlite_url, job="laden", tags={"team": "ruimte"}) as m:
        futures = [client.submit(burn, 300_000, workers=[a], pure=False) for a in workers * 3]
        client.gather(futures)

    assert m.run is not None
    parent, clients, children = _family(sqlite_url, m.run.run_id)
    assert parent.kind == KIND_DASK and parent.status == "ok" and parent.parent_run_id is None
    assert parent.job == "laden" and parent.tags == {"team": "ruimte"}
    assert len(clients) == 1 and len(children) == 2
    assert sorted(run.tags["dask_worker"] for run in children) == workers
    assert {run.job for run in children} == {"laden"}
    assert all(run.tags["team"] == "ruimte" for run in children)
    assert all(run.pid not in (None, os.getpid()) for run in children)
    parts = [*clients, *children]
    assert parent.energy_kwh == pytest.approx(sum(run.energy_kwh or 0 for run in parts))
    assert parent.co2_kg == pytest.approx(sum(run.co2_kg or 0 for run in parts))
    assert parent.cpu_s == pytest.approx(sum(run.cpu_s or 0 for run in parts))
    # Three meters on one host, each replaying the machine's RAM term: counted once.
    assert parent.ram_energy_kwh == pytest.approx(RAM_KWH)
    assert all(run.ram_energy_kwh == pytest.approx(RAM_KWH / 3) for run in parts)
    assert "once per host" in (parent.method_ram or "")
    # The handle tells the same story as the ledger.
    assert m.client is not None and m.client.run is not None
    assert [w.address for w in m.workers] == workers
    assert {w.run.run_id for w in m.workers if w.run} == {run.run_id for run in children}


def test_local_workers_cpu_is_taken_out_of_the_clients_share(
    client: Client, sqlite_url: str
) -> None:
    workers = sorted(client.scheduler_info()["workers"])
    with _measure(client, sqlite_url, job="cpu") as m:
        client.gather([client.submit(burn, 20_000_000, workers=[a], pure=False) for a in workers])

    assert m.client is not None and m.client.measurement is not None
    own = m.client.measurement
    worker_cpu_s = [w.measurement.cpu_s for w in m.workers if w.measurement]
    assert len(worker_cpu_s) == 2 and all(cpu_s and cpu_s > 0.5 for cpu_s in worker_cpu_s)
    # The client's tree holds both workers; its share is its own process only.
    assert own.cpu_s is not None and own.cpu_s < sum(cpu_s or 0 for cpu_s in worker_cpu_s)
    assert own.peak_rss_bytes is None
    # The replayed CPU energy is scaled by the client's own part of its tree's CPU time.
    assert own.cpu_energy_kwh is not None and own.cpu_energy_kwh < CPU_KWH
    assert m.run is not None and m.run.cpu_s == pytest.approx(own.cpu_s + sum(worker_cpu_s))


def test_the_bodys_exception_passes_through_and_the_runs_are_stored(
    client: Client, sqlite_url: str
) -> None:
    error = ValueError("bad partition")
    spec = _measure(client, sqlite_url, job="fails")
    with pytest.raises(ValueError) as caught, spec as m:
        raise error
    assert caught.value is error
    assert m.run is not None
    parent, clients, children = _family(sqlite_url, m.run.run_id)
    assert parent.status == "error" and parent.error_type == "ValueError"
    assert parent.energy_kwh and parent.energy_kwh > 0
    assert len(clients) == 1 and len(children) == 2
    assert {run.status for run in children} == {"error"}
    # The workers' meters are closed: no window of this job is left open anywhere.
    workers = client.scheduler_info()["workers"]
    assert client.run(lambda: len(measure_dask._held)) == dict.fromkeys(workers, 0)


def test_a_worker_whose_meter_raises_is_recorded_as_missing(
    client: Client, sqlite_url: str
) -> None:
    pids = client.run(os.getpid)
    broken, healthy = sorted(pids)
    with _measure(client, sqlite_url, job="half", meter_factory=failing_in(pids[broken])) as m:
        answer = client.submit(burn, 1000, pure=False).result()
    assert answer == burn(1000)
    assert m.run is not None
    parent, clients, children = _family(sqlite_url, m.run.run_id)
    assert parent.status == "ok"
    assert f"worker {broken}" in (parent.measurement_error or "")
    assert "this worker's meter broke" in (parent.measurement_error or "")
    by_address = {run.tags["dask_worker"]: run for run in children}
    assert by_address[broken].energy_kwh is None
    assert "this worker's meter broke" in (by_address[broken].measurement_error or "")
    assert by_address[healthy].energy_kwh and by_address[healthy].energy_kwh > 0
    measured = [*clients, by_address[healthy]]
    assert parent.energy_kwh == pytest.approx(sum(run.energy_kwh or 0 for run in measured))


def test_client_run_failing_leaves_the_job_and_the_clients_measurement(
    client: Client, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("scheduler unreachable")

    monkeypatch.setattr(client, "run", refuse)
    with _measure(client, sqlite_url, job="blind") as m:
        result = client.submit(burn, 1000, pure=False).result()
    monkeypatch.undo()
    assert result == burn(1000)
    assert m.run is not None
    parent, clients, children = _family(sqlite_url, m.run.run_id)
    assert parent.status == "ok" and children == [] and len(clients) == 1
    assert "worker meters could not be started (OSError: scheduler unreachable)" in (
        parent.measurement_error or ""
    )
    assert "joined after the start" in (parent.measurement_error or "")
    assert parent.energy_kwh == pytest.approx(clients[0].energy_kwh)


def test_the_workers_carry_the_dask_run_as_parent_only_meanwhile(
    client: Client, sqlite_url: str
) -> None:
    def parent_here() -> str | None:
        return os.environ.get(PARENT_RUN_ENV)

    with _measure(client, sqlite_url, job="nested") as m:
        inside = set(client.run(parent_here).values())
    after = set(client.run(parent_here).values())
    assert m.run is not None and inside == {m.run.run_id}
    assert after == {None}


def test_as_a_decorator(client: Client, sqlite_url: str) -> None:
    @_measure(client, sqlite_url)
    def job(loops: int) -> int:
        return client.submit(burn, loops, pure=False).result()

    assert job(2000) == burn(2000)
    assert job(3000) == burn(3000)
    runs = [run for run in _runs(sqlite_url) if run.kind == KIND_DASK]
    assert len(runs) == 2
    assert {run.job for run in runs} == {f"{__name__}.test_as_a_decorator.<locals>.job"}


def test_runs_show_lists_the_processes_of_a_dask_run(client: Client, sqlite_url: str) -> None:
    with _measure(client, sqlite_url, job="shown") as m:
        client.submit(burn, 1000, pure=False).result()
    assert m.run is not None and m.client is not None and m.client.run is not None
    shown = CliRunner().invoke(cli, ["--ledger", sqlite_url, "runs", "show", m.run.run_id[:8]])
    assert shown.exit_code == 0, shown.output
    block = shown.output.split("processes (child runs; their figures add up to the ones above)\n")[
        1
    ]
    lines = block.strip().splitlines()
    assert lines[0].split()[:2] == [m.client.run.run_id[:8], "client"]
    assert [line.split()[1] for line in lines[1:]] == [w.address for w in m.workers]
    assert all(f"pid {w.pid}" in line for w, line in zip(m.workers, lines[1:], strict=True))


def test_an_asynchronous_client_is_refused() -> None:
    with pytest.raises(MeasurementError, match="synchronous Client"):
        zuinig.dask.measure(SimpleNamespace(asynchronous=True), job="x")  # type: ignore[arg-type]


# -- clusters of their own: workers in the client's process, workers joining and leaving ---


def test_workers_in_the_clients_process_share_its_meter(sqlite_url: str) -> None:
    with (
        _cluster(2, processes=False) as cluster,
        Client(cluster) as threads_client,
        _measure(threads_client, sqlite_url, job="threads") as m,
    ):
        threads_client.submit(burn, 1000, pure=False).result()
    assert m.run is not None
    parent, clients, children = _family(sqlite_url, m.run.run_id)
    assert children == [] and len(clients) == 1
    assert parent.measurement_error is None
    assert parent.energy_kwh == pytest.approx(CPU_KWH + RAM_KWH)
    assert parent.energy_kwh == pytest.approx(clients[0].energy_kwh)


@pytest.mark.slow  # scaling a cluster down and up again: about 9 s
def test_workers_joining_and_leaving_meanwhile_are_named(sqlite_url: str) -> None:
    with _cluster(2) as cluster, Client(cluster) as own_client:
        first = sorted(own_client.scheduler_info()["workers"])
        with _measure(own_client, sqlite_url, job="elastic") as m:
            cluster.scale(1)
            _wait_until(lambda: len(own_client.scheduler_info()["workers"]) == 1)
            cluster.scale(2)
            _wait_until(lambda: len(own_client.scheduler_info()["workers"]) == 2)
            now = set(own_client.scheduler_info()["workers"])
    [leaving] = sorted(set(first) - now)
    [stays] = sorted(set(first) & now)
    [joined] = sorted(now - set(first))
    assert m.run is not None
    error = m.run.measurement_error or ""
    assert f"worker {leaving}: left the cluster before its meter stopped" in error
    assert "joined after the start and were not measured" in error
    assert joined in error and stays not in error
    _, _, children = _family(sqlite_url, m.run.run_id)
    assert sorted(run.tags["dask_worker"] for run in children) == first
    stayed = next(run for run in children if run.tags["dask_worker"] == stays)
    assert stayed.energy_kwh and stayed.energy_kwh > 0


def _wait_until(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the cluster did not reach the expected size")
        time.sleep(0.05)


# -- the arithmetic, without a cluster ------------------------------------------------------

_T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _part(
    address: str,
    host: str,
    *,
    cpu: float,
    ram: float,
    mode: str = "process",
    cpu_method: str = "cpu_load",
    attribution: str | None = None,
    gpu: float = 0.0,
) -> ProcessMeasurement:
    method = Method(
        meter="test", cpu_method=cpu_method, tracking_mode=mode, ram_model="10 W",
        attribution=attribution,
    )  # fmt: skip
    measurement = Measurement(
        started_at=_T0, ended_at=_T0, duration_s=10.0, energy_kwh=cpu + ram + gpu,
        energy_kwh_low=(cpu + ram + gpu) / 2, energy_kwh_high=(cpu + ram + gpu) * 2,
        cpu_energy_kwh=cpu, ram_energy_kwh=ram, gpu_energy_kwh=gpu,
        co2_kg=(cpu + ram + gpu) * INTENSITY / 1000, intensity_g_per_kwh=INTENSITY,
        cpu_s=1.0, method=method,
    )  # fmt: skip
    return ProcessMeasurement(address=address, host=host, pid=1, measurement=measurement)


def _energies(parts: list[ProcessMeasurement]) -> list[float]:
    """CPU and RAM energy of each part, in one flat list (kWh)."""
    return [
        value
        for p in parts
        if p.measurement
        for value in (p.measurement.cpu_energy_kwh or 0.0, p.measurement.ram_energy_kwh or 0.0)
    ]


def test_ram_is_shared_per_host_and_cpu_by_time_adds_up() -> None:
    parts = [
        _part(CLIENT, "laptop", cpu=0.001, ram=0.004),
        _part("tcp://a:1", "node-a", cpu=0.010, ram=0.002),
        _part("tcp://a:2", "node-a", cpu=0.020, ram=0.003),
    ]
    shared = share_machine_terms(parts)
    assert _energies(shared) == pytest.approx(
        [0.001, 0.004, 0.010, 0.003 * 2 / 5, 0.020, 0.003 * 3 / 5]
    )
    assert shared[0] is parts[0]  # alone on its host: untouched
    whole = total(shared, started_at=_T0, duration_s=10.0)
    assert whole.ram_energy_kwh == pytest.approx(0.004 + 0.003)
    assert whole.cpu_energy_kwh == pytest.approx(0.031)
    assert whole.energy_kwh == pytest.approx(0.038)
    assert whole.co2_kg == pytest.approx(0.038 * INTENSITY / 1000)
    assert whole.intensity_g_per_kwh == pytest.approx(INTENSITY)


def test_resource_shares_add_up_and_only_the_gpu_is_counted_once_per_host() -> None:
    rule = ATTRIBUTION_RESOURCE_SHARE
    parts = [
        _part("tcp://a:1", "node-a", cpu=0.010, ram=0.002, attribution=rule, gpu=0.004),
        _part("tcp://a:2", "node-a", cpu=0.030, ram=0.001, attribution=rule, gpu=0.004),
    ]
    shared = share_machine_terms(parts)
    whole = total(shared, started_at=_T0, duration_s=10.0)
    assert whole.cpu_energy_kwh == pytest.approx(0.040)  # shares of the machine: they add up
    assert whole.ram_energy_kwh == pytest.approx(0.003)
    assert whole.gpu_energy_kwh == pytest.approx(0.004)  # machine-wide: once for the host
    assert whole.energy_kwh == pytest.approx(0.047)
    # Each part's range moved with its figure; the total's range is the parts' sum.
    first = shared[0].measurement
    assert first is not None and first.energy_kwh is not None
    assert first.energy_kwh_low == pytest.approx(first.energy_kwh / 2)
    assert whole.energy_kwh_low == pytest.approx(0.047 / 2)
    assert whole.energy_kwh_high == pytest.approx(0.047 * 2)


@pytest.mark.parametrize(("mode", "cpu_method"), [("machine", "cpu_load"), ("process", "rapl")])
def test_a_machine_wide_cpu_figure_is_counted_once_per_host(mode: str, cpu_method: str) -> None:
    parts = [
        _part("tcp://a:1", "node-a", cpu=0.010, ram=0.002, mode=mode, cpu_method=cpu_method),
        _part("tcp://a:2", "node-a", cpu=0.030, ram=0.002, mode=mode, cpu_method=cpu_method),
    ]
    whole = total(share_machine_terms(parts), started_at=_T0, duration_s=10.0)
    assert whole.cpu_energy_kwh == pytest.approx(0.030)
    assert whole.ram_energy_kwh == pytest.approx(0.002)
    assert whole.method is not None and "CPU, RAM counted once per host" in (
        share_machine_terms(parts)[0].measurement.method.ram_model  # type: ignore[union-attr]
    )


def test_missing_parts_are_named_and_the_rest_is_summed() -> None:
    parts = [
        _part(CLIENT, "laptop", cpu=0.001, ram=0.002),
        ProcessMeasurement(address="tcp://b:1", host="b", pid=2, error="its meter did not start"),
    ]
    whole = total(parts, started_at=_T0, duration_s=3.0, issues=["1 worker(s) joined later"])
    assert whole.energy_kwh == pytest.approx(0.003)
    assert whole.measurement_error == (
        "1 worker(s) joined later; worker tcp://b:1: its meter did not start"
    )
    nothing = total([], started_at=_T0, duration_s=3.0)
    assert nothing.energy_kwh is None and nothing.duration_s == 3.0


def test_a_measurement_crosses_processes_as_plain_data() -> None:
    measurement = Measurement(
        started_at=_T0, ended_at=_T0, duration_s=1.5, energy_kwh=0.5, cpu_s=2.0,
        inputs=(InputFile(path="/data/a.parquet", size_bytes=10, format="parquet"),),
        engines={"pandas": "3.0"}, method=Method(meter="m", cpu_method="cpu_load", pue=1.2),
    )  # fmt: skip
    plain = measurement_to_plain(measurement)
    assert json.loads(json.dumps(plain, default=str))  # builtins only
    assert measurement_from_plain(plain) == measurement
    newer = {**plain, "water_l": 3.0, "method": {**plain["method"], "embodied_kg": 1.0}}
    assert measurement_from_plain(newer) == measurement


# -- the must-show: real CodeCarbon on a LocalCluster with two worker processes ----------

_REAL_JOB = textwrap.dedent(
    """
    import json, os, sys, warnings
    warnings.simplefilter("error")
    from distributed import Client, LocalCluster
    import zuinig.dask
    from zuinig.config import Settings
    from zuinig.measure import dask as measure_dask

    def burn(loops):
        return sum(i * i for i in range(loops))

    if __name__ == "__main__":
        url = sys.argv[1]
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            workers = sorted(client.scheduler_info()["workers"])
            with zuinig.dask.measure(client, job="must-show", settings=Settings(),
                                     ledger_url=url) as m:
                futures = [client.submit(burn, 1_500_000, workers=[a], pure=False)
                           for a in workers * 6]
                client.gather(futures)
        measure_dask._recorder(Settings(), url).flush()
        print(json.dumps({"run_id": m.run.run_id, "workers": workers,
                          "start_s": m.start_s, "stop_s": m.stop_s}))
    """
)


@pytest.mark.slow
def test_must_show_a_local_cluster_job_records_energy_from_both_workers(
    sqlite_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "job.py"
    script.write_text(_REAL_JOB)
    done = subprocess.run(
        [sys.executable, str(script), sqlite_url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    parent, clients, workers = _family(sqlite_url, report["run_id"])

    assert parent.status == "ok" and parent.measurement_error is None
    assert parent.method_meter and parent.method_meter.startswith("codecarbon")
    assert parent.energy_kwh and parent.energy_kwh > 0
    assert len(workers) == 2 and len(clients) == 1
    assert sorted(run.tags["dask_worker"] for run in workers) == report["workers"]
    assert len({run.pid for run in workers}) == 2
    for run in workers:
        assert run.energy_kwh and run.energy_kwh > 0 and run.measurement_error is None
        assert run.cpu_s and run.cpu_s > 0.1
        assert run.method_meter == parent.method_meter
    parts = [*clients, *workers]
    assert math.isclose(parent.energy_kwh, sum(run.energy_kwh or 0 for run in parts), rel_tol=1e-9)
    assert math.isclose(parent.co2_kg or 0, sum(run.co2_kg or 0 for run in parts), rel_tol=1e-9)
    # The workers are the client's children; their CPU time is in their runs, not the client's.
    client_cpu_s = clients[0].cpu_s or 0.0
    assert client_cpu_s < sum(run.cpu_s or 0 for run in workers)
    # Resource shares (no GPU here): nothing machine-wide to count once per host, and the
    # parts' RAM adds up to no more than the machine's RAM power over the job (conservation).
    assert "once per host" not in (parent.method_ram or "")
    assert parent.method_ram_power_w and parent.duration_s and parent.ram_energy_kwh is not None
    machine_ram_kwh = parent.method_ram_power_w * parent.duration_s * (parent.pue or 1) / 3.6e6
    assert parent.ram_energy_kwh <= machine_ram_kwh * 1.1
