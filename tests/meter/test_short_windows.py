"""Windows of a few milliseconds: precise CPU time, and the machine's busy time from its
recent rate where its 10 ms tick counters say too little.

The arithmetic is tested on fakes (given readings, a fake ``psutil.cpu_times``); the
last two tests measure real work with the real CodeCarbon source.
"""

from __future__ import annotations

import time
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from zuinig.config import Settings
from zuinig.meter.attribution import (
    RECENT_BASIS_S,
    SHORT_WINDOW_S,
    RecentReadings,
    window_busy,
)
from zuinig.meter.codecarbon import CodeCarbonMeter, HardwareProbe
from zuinig.meter.process import ProcessSampler
from zuinig.meter.sources import codecarbon as source_module
from zuinig.meter.sources.codecarbon import CodeCarbonSource

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def _times(busy_s: float, idle_s: float) -> Times:
    return Times(busy_s, 0, 0, idle_s, 0, 0, 0, 0, 0, 0)


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


# -- the arithmetic, on given figures ----------------------------------------------------


def test_a_window_of_a_second_or_more_keeps_its_own_counter_figures() -> None:
    busy, u, basis = window_busy(
        duration_s=SHORT_WINDOW_S,
        busy_s=0.5,
        total_s=2.0,
        basis_s=5.0,
        basis_busy_s=9.0,
        basis_total_s=10.0,
    )
    assert (busy, u, basis) == (0.5, 0.25, SHORT_WINDOW_S)


def test_a_short_window_gets_the_machines_recent_rate_and_load() -> None:
    # 1.5 busy CPU seconds of 2 over the last 1.2 s: 1.25 CPU-s per s, u = 0.75.
    busy, u, basis = window_busy(
        duration_s=0.04,
        busy_s=0.0,  # the tick counter moved nothing over 40 ms
        total_s=0.0,
        basis_s=1.2,
        basis_busy_s=1.5,
        basis_total_s=2.0,
    )
    assert busy == pytest.approx(1.25 * 0.04)
    assert u == pytest.approx(0.75)
    assert basis == 1.2


def test_a_short_window_without_a_longer_basis_keeps_its_own_figures() -> None:
    busy, u, basis = window_busy(
        duration_s=0.04,
        busy_s=0.01,
        total_s=0.08,
        basis_s=0.04,
        basis_busy_s=0.01,
        basis_total_s=0.08,
    )
    assert (busy, u, basis) == (0.01, 0.125, 0.04)


def test_recent_readings_give_the_newest_one_at_least_the_basis_back() -> None:
    # Times in 1/16 s, exact in binary floating point.
    recent = RecentReadings(basis_s=1.0, spacing_s=0.125)
    for step in range(25):  # every 62.5 ms from 0 to 1.5 s: every other one is kept
        recent.remember(step * 0.0625, step)
    found = recent.basis(1.5625)
    assert found == (0.5, 8)  # the newest kept reading at least 1 s before the end
    # Readings no later basis can need were dropped: about basis / spacing are kept.
    assert len(recent) <= 1.0 / 0.125 + 2


def test_recent_readings_fall_back_to_the_oldest_before_the_end() -> None:
    recent = RecentReadings(basis_s=1.0, spacing_s=0.1)
    assert recent.basis(5.0) is None
    recent.remember(4.6, "a")
    recent.remember(4.8, "b")
    assert recent.basis(5.0) == (4.6, "a")
    assert recent.basis(4.6) is None  # nothing before the end


@pytest.fixture
def fixed_probe(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    probe = HardwareProbe(
        cpu_physical_count=1,
        tdp_model="Intel Xeon Gold 6248",
        tdp_w=150.0,
        tdp_matched=True,
        ram_power_w=10.0,
        memory_total_bytes=16 * 10**9,
    )
    monkeypatch.setattr(source_module, "detect_hardware", lambda: probe)
    yield


def test_the_source_charges_a_short_window_the_recent_rate(
    tmp_path: Path, fixed_probe: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = CodeCarbonSource(Settings(), cache_dir=tmp_path)
    hardware = source.hardware()
    # A reading 2 s ago; since then 3 of 4 CPU seconds were busy, and over the short
    # window itself the tick counters did not move at all.
    hardware.recent.remember(time.perf_counter() - 2.0, _times(10.0, 10.0))
    now = _times(13.0, 11.0)
    monkeypatch.setattr(psutil, "cpu_times", lambda: now)
    reading = source.close(source.open())
    machine = reading.machine
    assert machine is not None
    assert machine.busy_basis_s is not None and machine.busy_basis_s >= 2.0
    rate = 3.0 / machine.busy_basis_s
    assert machine.busy_cpu_s == pytest.approx(rate * machine.duration_s, rel=1e-9)
    assert machine.busy_cpu_s > 0
    # u = 0.75 from the basis, in CodeCarbon's machine model TDP x (0.1 + 0.9 u^3).
    ram_w = 10.0
    cpu_w = machine.cpu_kwh.value / machine.ram_kwh.value * ram_w
    assert cpu_w == pytest.approx(150.0 * (0.1 + 0.9 * 0.75**3), rel=1e-9)


# -- real work ---------------------------------------------------------------------------


def test_a_few_milliseconds_of_cpu_time_are_seen_in_every_window() -> None:
    # /proc/<pid>/stat counts in 10 ms ticks: 3 ms windows read 0 most of the time.
    sampler = ProcessSampler()
    figures = []
    for _ in range(20):
        window = sampler.begin()
        _spin(0.003)
        figures.append(window.end().cpu_s)
    assert all(cpu_s is not None and 0.003 <= cpu_s < 0.1 for cpu_s in figures), figures


@pytest.mark.slow
@pytest.mark.solo
def test_many_short_windows_add_up_to_one_window_over_the_same_work(tmp_path: Path) -> None:
    meter = CodeCarbonMeter(Settings(), cache_dir=tmp_path)
    meter.begin().end()  # hardware detection, once
    # Work before the windows, as in a bench session: the first short windows then have
    # a basis a second back, as later ones do.
    _spin(RECENT_BASIS_S * 1.2)
    # The whole window spans the short ones, so both see the same machine: other
    # programs' load, which changes from second to second, cannot tell them apart.
    outer = meter.begin()
    short = []
    for _ in range(200):
        window = meter.begin()
        _spin(0.005)
        short.append(window.end())
    whole = outer.end()
    assert whole.cpu_energy_kwh is not None and whole.cpu_energy_kwh > 0
    energies = [m.cpu_energy_kwh for m in short]
    assert all(e is not None and e > 0 for e in energies), "a short window was charged nothing"
    total = sum(e for e in energies if e is not None)
    assert total / whole.cpu_energy_kwh == pytest.approx(1.0, abs=0.2)
