"""Helpers shared by the ledger tests and ``ledger_overhead.py``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from zuinig.ledger.liveness import process_started_at, this_host
from zuinig.ledger.model import Run
from zuinig.meter.base import InputFile

SRC = Path(__file__).resolve().parents[2] / "src"


def child_env() -> dict[str, str]:
    """Environment for a child Python that must import this checkout's zuinig."""
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=str(SRC) + (os.pathsep + path if path else ""))


def full_run(run_id: str, **changes: Any) -> Run:
    """A run with every field set to a distinctive value (this process's provenance)."""
    started = datetime(2026, 11, 3, 9, 30, 15, 123456, tzinfo=UTC)
    values: dict[str, Any] = {
        "run_id": run_id,
        "job": "woningbouwmonitor",
        "status": "ok",
        "started_at": started,
        "kind": "command",
        "parent_run_id": "parent-0001",
        "tags": {"team": "ruimte", "env": "prod"},
        "ended_at": started + timedelta(seconds=12.5),
        "duration_s": 12.5,
        "energy_kwh": 0.000123,
        "cpu_energy_kwh": 0.0001,
        "ram_energy_kwh": 0.00002,
        "gpu_energy_kwh": 0.000003,
        "energy_kwh_low": 0.00008,
        "energy_kwh_high": 0.0002,
        "co2_kg": 0.0000369,
        "co2_kg_low": 0.000024,
        "co2_kg_high": 0.00006,
        "intensity_g_per_kwh": 300.0,
        "cpu_s": 11.75,
        "cpu_share": 0.4375,
        "ram_gb_s": 61.25,
        "peak_rss_bytes": 5_000_000_000,
        "read_bytes": 3_000_000_000,
        "written_bytes": 1234,
        "method_meter": "codecarbon 3.0.0",
        "method_cpu": "cpu_load",
        "method_cpu_model": "Intel(R) Xeon(R) Gold 6248",
        "method_cpu_tdp_w": 150.0,
        "method_cpu_tdp_is_generic": True,
        "method_cpu_count": 16,
        "method_ram": "3 W per 8 GB DIMM",
        "method_ram_power_w": 12.0,
        "method_gpu": "nvml",
        "method_attribution": "resource-share",
        "method_cpu_coefficients": "Cloud Carbon Footprint, 2021: 0.74-3.5 W per vCPU",
        "tracking_mode": "process",
        "pue": 1.2,
        "intensity_source": "CodeCarbon offline data, NLD",
        "intensity_year": 2023,
        "country_iso_code": "NLD",
        "measurement_error": "none, really",
        "error_type": "ValueError",
        "error_message": "bad value: 'x' ünïcode ✓",
        "command": "python job.py --in data.parquet",
        "exit_code": 3,
        "inputs": (
            InputFile(path="/data/a.parquet", size_bytes=10_000_000_000, format="parquet"),
            InputFile(path="/data/b.csv.gz", size_bytes=42, format="csv.gz"),
        ),
        "engines": {"polars": "1.9.0", "duckdb": "1.1.0"},
        "host": this_host(),
        "user": "analist",
        "pid": os.getpid(),
        "pid_started_at": process_started_at(os.getpid()),
        "python_version": "3.11.7",
        "codecarbon_version": "3.0.0",
        "zuinig_version": "0.1.0",
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
    }
    values.update(changes)
    return Run(**values)


WRITER = """
import dataclasses, os, sys, time
from datetime import UTC, datetime
from pathlib import Path
from zuinig.ledger import Ledger, Run
from zuinig.ledger.liveness import process_started_at, this_host

url, pairs, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
import sqlalchemy.dialects.sqlite  # imports done before the start signal: time the writes
(go.parent / f"ready-{os.getpid()}").touch()
while not go.exists():
    time.sleep(0.001)
ledger = Ledger.open(url)
pid = os.getpid()
started = process_started_at(pid)
for index in range(pairs):
    run = Run(
        run_id=f"{pid}-{index:05d}", job=f"job{index % 7}", status="running",
        started_at=datetime.now(UTC), tags={"writer": str(pid), "batch": str(index % 3)},
        host=this_host(), pid=pid, pid_started_at=started,
    )
    ledger.start_run(run)
    ledger.finish_run(dataclasses.replace(run, status="ok", ended_at=datetime.now(UTC),
                                          energy_kwh=1e-6, duration_s=0.001))
ledger.close()
"""


def run_writers(url: str, *, processes: int, pairs: int, folder: Path | None = None) -> float:
    """Start ``processes`` writers of ``pairs`` runs each at the same moment.

    Every writer imports its modules first and then waits for one go signal, so the
    writers open (and possibly create) the ledger and write at the same moment.

    Returns:
        Wall time from the go signal until the last writer exits (s).

    Raises:
        AssertionError: a writer failed; its stderr is in the message.
    """
    import tempfile

    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        go = Path(scratch) / "go"
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, url, str(pairs), str(go)],
                env=child_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        deadline = time.monotonic() + 120
        while len(list(Path(scratch).glob("ready-*"))) < processes:
            if time.monotonic() > deadline or any(w.poll() is not None for w in writers):
                break  # a writer died early: its stderr says why, below
            time.sleep(0.01)
        start = time.perf_counter()
        go.touch()
        failures = []
        for writer in writers:
            _, err = writer.communicate(timeout=600)
            if writer.returncode != 0:
                failures.append(err)
        elapsed = time.perf_counter() - start
    assert not failures, "\n---\n".join(failures)
    return elapsed
