"""The CodeCarbon source on fakes: its arithmetic, failure paths, probe cache, intensity, log.

The machine's counters are fakes here (RAPL ``energy_uj`` files in a temporary folder,
``psutil.cpu_times`` replaced); CodeCarbon's detection is replaced by a fixed probe where
a test says so. The real detection and counters are in ``test_codecarbon_real.py``.
"""

from __future__ import annotations

import json
import logging
import stat
import time
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from zuinig.config import Settings
from zuinig.meter import window as meter_window
from zuinig.meter.attribution import MachineEnergy
from zuinig.meter.base import (
    ATTRIBUTION_MACHINE,
    ATTRIBUTION_RESOURCE_SHARE,
    CPU_METHOD_CPU_LOAD,
    CPU_METHOD_NONE,
    CPU_METHOD_RAPL,
    Measurement,
)
from zuinig.meter.codecarbon import (
    PROBE_CACHE_FILE,
    CodeCarbonMeter,
    HardwareProbe,
    ProbeCache,
    RaplDomain,
    probe_key,
    resolve_intensity,
)
from zuinig.meter.sources import codecarbon as source_module
from zuinig.meter.sources.codecarbon import CodeCarbonSource, quiet_codecarbon

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def _assert_failed(measurement: Measurement, *fragments: str) -> None:
    assert measurement.energy_kwh is None
    assert measurement.co2_kg is None
    assert measurement.energy_kwh_low is None and measurement.energy_kwh_high is None
    assert not measurement.ok
    assert measurement.measurement_error is not None
    for fragment in fragments:
        assert fragment in measurement.measurement_error
    # The process figures are still there: the work was still observed.
    assert measurement.cpu_s is not None and measurement.cpu_s >= 0
    assert measurement.duration_s > 0
    assert measurement.method is not None and measurement.method.cpu_method == CPU_METHOD_NONE


@pytest.fixture
def fixed_probe(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[HardwareProbe]]:
    """Replace CodeCarbon's detection by the probe the test puts in the list."""
    probes: list[HardwareProbe] = []

    def detect() -> HardwareProbe:
        return probes[0]

    monkeypatch.setattr(source_module, "detect_hardware", detect)
    yield probes


class _CpuTimes:
    """A stand-in for ``psutil.cpu_times``: returns the readings given, in turn."""

    def __init__(self, *readings: Times) -> None:
        self.readings = list(readings)

    def __call__(self) -> Times:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


def _machine(source: CodeCarbonSource) -> tuple[MachineEnergy, Any]:
    opened = source.open()
    reading = source.close(opened)
    assert reading.machine is not None
    return reading.machine, reading.method


# -- the machine's energy -----------------------------------------------------------------


def test_rapl_counters_are_read_exactly_with_their_wrap(
    tmp_path: Path, fixed_probe: list[HardwareProbe], monkeypatch: pytest.MonkeyPatch
) -> None:
    domains = []
    for name, value in (("package-0", 999_000_000), ("dram", 5_000_000)):
        folder = tmp_path / f"intel-rapl:{name}"
        folder.mkdir()
        (folder / "name").write_text(name + "\n")
        (folder / "energy_uj").write_text(str(value))
        (folder / "max_energy_range_uj").write_text("1000000000")
        domains.append(
            RaplDomain(name, str(folder / "energy_uj"), str(folder / "max_energy_range_uj"))
        )
    fixed_probe.append(
        HardwareProbe(cpu_physical_count=1, rapl=tuple(domains), memory_total_bytes=8 * 10**9)
    )
    source = CodeCarbonSource(Settings(), cache_dir=tmp_path / "cache")
    opened = source.open()
    # The package counter wraps at 10^9 uJ: from 999 J to 3 J is 4 J; DRAM adds 2 J.
    Path(domains[0].path).write_text("3000000")
    Path(domains[1].path).write_text("7000000")
    reading = source.close(opened)
    assert reading.machine is not None
    assert reading.machine.cpu_kwh.value == pytest.approx(4.0 / 3.6e6, rel=1e-12)
    assert (
        reading.machine.cpu_kwh.low == reading.machine.cpu_kwh.high == reading.machine.cpu_kwh.value
    )
    assert reading.machine.ram_kwh.value == pytest.approx(2.0 / 3.6e6, rel=1e-12)
    assert reading.method.cpu_method == CPU_METHOD_RAPL
    assert reading.method.is_measured
    assert "RAPL DRAM" in (reading.method.ram_model or "")


def test_an_unknown_cpu_gets_ccf_coefficients_and_their_range(
    tmp_path: Path, fixed_probe: list[HardwareProbe], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed_probe.append(
        HardwareProbe(
            cpu_physical_count=1,
            tdp_model="AMD EPYC",
            tdp_w=8.0,
            tdp_matched=False,
            ram_power_w=20.0,
            memory_total_bytes=25 * 10**9,
        )
    )
    monkeypatch.setattr(source_module, "_cpu_brand", lambda: "AMD EPYC")
    monkeypatch.setattr(source_module.os, "cpu_count", lambda: 2)
    # Half busy: 1 busy CPU second of 2 over the window.
    monkeypatch.setattr(
        psutil,
        "cpu_times",
        _CpuTimes(Times(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), Times(1, 0, 0, 1, 0, 0, 0, 0, 0, 0)),
    )
    machine, method = _machine(CodeCarbonSource(Settings(), cache_dir=tmp_path))
    assert machine.busy_cpu_s == 1.0
    # Both figures are watts x the same duration: their ratio is exact.
    central_w = 2 * (0.58 + 0.5 * ((2.55 + 1.69 + 2.02) / 3 - 0.58))
    low_w, high_w = 2 * (0.45 + 0.5 * (1.69 - 0.45)), 2 * (0.82 + 0.5 * (2.55 - 0.82))
    ram = machine.ram_kwh
    assert machine.cpu_kwh.value / ram.value == pytest.approx(central_w / 20.0, rel=1e-9)
    assert machine.cpu_kwh.low / ram.value == pytest.approx(low_w / 20.0, rel=1e-9)
    assert machine.cpu_kwh.high / ram.value == pytest.approx(high_w / 20.0, rel=1e-9)
    # RAM: CodeCarbon's 20 W, down to CCF's 0.392 W/GB x 25 GB = 9.8 W.
    assert ram.low / ram.value == pytest.approx(9.8 / 20.0, rel=1e-9)
    assert ram.high == ram.value
    assert method.cpu_method == CPU_METHOD_CPU_LOAD
    assert method.cpu_tdp_is_generic is True
    assert method.cpu_coefficients and "Cloud Carbon Footprint" in method.cpu_coefficients
    assert method.attribution == ATTRIBUTION_RESOURCE_SHARE
    assert "Cloud Carbon Footprint" in method.describe()
    assert "share of the CPU time" in method.describe()


def test_a_cpu_in_codecarbons_table_uses_its_machine_model(
    tmp_path: Path, fixed_probe: list[HardwareProbe], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed_probe.append(
        HardwareProbe(
            cpu_physical_count=2,
            tdp_model="Intel Xeon Gold 6248",
            tdp_w=150.0,
            tdp_matched=True,
            ram_power_w=10.0,
            memory_total_bytes=16 * 10**9,
        )
    )
    monkeypatch.setattr(
        psutil,
        "cpu_times",
        _CpuTimes(Times(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), Times(1, 0, 0, 1, 0, 0, 0, 0, 0, 0)),
    )
    machine, method = _machine(
        CodeCarbonSource(Settings(tracking_mode="machine"), cache_dir=tmp_path)
    )
    tdp = 300.0  # 150 W per socket x 2 sockets
    ram = machine.ram_kwh.value
    assert machine.cpu_kwh.value / ram == pytest.approx(tdp * (0.1 + 0.9 * 0.5**3) / 10.0)
    assert machine.cpu_kwh.high / ram == pytest.approx(tdp * 0.5 / 10.0)
    assert method.cpu_tdp_w == tdp and method.cpu_tdp_is_generic is False
    assert method.attribution == ATTRIBUTION_MACHINE


def test_calibrated_cpu_and_ram_watts_replace_the_estimates(
    tmp_path: Path, fixed_probe: list[HardwareProbe], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed_probe.append(
        HardwareProbe(cpu_physical_count=1, ram_power_w=20.0, memory_total_bytes=10**9)
    )
    monkeypatch.setattr(
        psutil,
        "cpu_times",
        _CpuTimes(Times(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), Times(3, 0, 0, 1, 0, 0, 0, 0, 0, 0)),
    )
    settings = Settings(cpu_power_w=40.0, ram_power_w=5.0)
    machine, method = _machine(CodeCarbonSource(settings, cache_dir=tmp_path))
    # 40 W at full load x 3/4 busy = 30 W against 5 W of RAM; calibrated: no spread.
    assert machine.cpu_kwh.value / machine.ram_kwh.value == pytest.approx(30.0 / 5.0)
    assert machine.cpu_kwh.low == machine.cpu_kwh.high == machine.cpu_kwh.value
    assert method.ram_power_w == 5.0 and method.cpu_tdp_w == 40.0


class _FakeGpu:
    """Stands in for CodeCarbon's NVIDIA device: a total energy counter in mJ."""

    def __init__(self, readings: list[float | None]) -> None:
        self.readings = readings

    def _get_total_energy_consumption(self) -> float | None:
        return self.readings.pop(0)


class _FakeGpus:
    def __init__(self, *devices: _FakeGpu) -> None:
        self.devices = list(devices)
        self.device_count = len(devices)


def test_gpu_energy_is_the_nvml_counters_delta_machine_wide(
    tmp_path: Path, fixed_probe: list[HardwareProbe], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed_probe.append(
        HardwareProbe(cpu_physical_count=1, ram_power_w=10.0, memory_total_bytes=10**9, gpu_count=2)
    )
    gpus = _FakeGpus(_FakeGpu([1_000.0, 37_000.0]), _FakeGpu([5_000.0, 5_000.0 + 3_600.0]))
    monkeypatch.setattr(source_module, "_gpu_devices", lambda: gpus)
    window = CodeCarbonMeter(Settings(pue=1.5), cache_dir=tmp_path).begin()
    measurement = window.end()
    assert measurement.ok, measurement.measurement_error
    # (36 J + 3.6 J) x PUE 1.5, whole: no per-process GPU figures exist.
    assert measurement.gpu_energy_kwh == pytest.approx(39.6 * 1.5 / 3.6e6, rel=1e-12)
    assert measurement.method is not None and measurement.method.gpu_method == "nvml"
    assert "NVML" in measurement.method.describe()


def test_a_gpu_counter_that_cannot_be_read_leaves_the_gpu_out_not_the_run(
    tmp_path: Path, fixed_probe: list[HardwareProbe], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed_probe.append(
        HardwareProbe(cpu_physical_count=1, ram_power_w=10.0, memory_total_bytes=10**9, gpu_count=1)
    )
    monkeypatch.setattr(source_module, "_gpu_devices", lambda: _FakeGpus(_FakeGpu([None, None])))
    measurement = CodeCarbonMeter(Settings(), cache_dir=tmp_path).begin().end()
    assert measurement.ok, measurement.measurement_error
    assert measurement.gpu_energy_kwh == 0.0
    assert measurement.method is not None and measurement.method.gpu_method == "none"


def test_the_probe_is_detected_once_and_then_read_from_disk(
    tmp_path: Path, fixed_probe: list[HardwareProbe]
) -> None:
    fixed_probe.append(
        HardwareProbe(cpu_physical_count=1, ram_power_w=10.0, memory_total_bytes=10**9)
    )
    CodeCarbonSource(Settings(), cache_dir=tmp_path).open()
    stored = json.loads((tmp_path / PROBE_CACHE_FILE).read_text())
    assert [entry["ram_power_w"] for entry in stored["entries"].values()] == [10.0]


# -- failures are measurements ------------------------------------------------------------


def test_codecarbon_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from importlib.metadata import PackageNotFoundError

    def no_codecarbon() -> str:
        raise PackageNotFoundError("codecarbon")

    monkeypatch.setattr(source_module, "codecarbon_version", no_codecarbon)
    measurement = CodeCarbonMeter(Settings(), cache_dir=tmp_path / "empty").begin().end()
    _assert_failed(measurement, "could not be loaded", "install codecarbon")


def test_a_detection_that_raises_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken() -> HardwareProbe:
        raise RuntimeError("lscpu is missing")

    monkeypatch.setattr(source_module, "detect_hardware", broken)
    window = CodeCarbonMeter(Settings(), cache_dir=tmp_path / "fresh").begin()
    _spin(0.02)
    _assert_failed(window.end(), "could not be loaded", "lscpu is missing")


def test_a_counter_that_fails_at_the_end_is_reported(
    tmp_path: Path, fixed_probe: list[HardwareProbe]
) -> None:
    counter = tmp_path / "energy_uj"
    counter.write_text("100")
    fixed_probe.append(
        HardwareProbe(
            cpu_physical_count=1,
            rapl=(RaplDomain("package-0", str(counter), str(tmp_path / "max")),),
            memory_total_bytes=10**9,
        )
    )
    window = CodeCarbonMeter(Settings(), cache_dir=tmp_path / "cache").begin()
    counter.unlink()
    measurement = window.end()
    assert measurement.energy_kwh is None and measurement.measurement_error is not None
    assert "failed while reading" in measurement.measurement_error
    assert "FileNotFoundError" in measurement.measurement_error


def test_end_never_raises(monkeypatch: pytest.MonkeyPatch, probe_cache_dir: Path) -> None:
    def broken(**kwargs: Any) -> Measurement:
        raise KeyError("surprise")

    monkeypatch.setattr(meter_window, "build_measurement", broken)
    window = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir).begin()
    measurement = window.end()
    assert measurement.measurement_error is not None
    assert "could not assemble" in measurement.measurement_error
    assert window.end() is measurement  # closed once; later calls give the same record


def test_method_without_measuring_anything(probe_cache_dir: Path) -> None:
    method = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir).method()
    assert method.meter.startswith("codecarbon ")
    assert method.cpu_method != CPU_METHOD_NONE
    assert method.intensity_g_per_kwh == 374.0  # the Dutch table's grid mix
    assert method.market_intensity_g_per_kwh is not None
    assert method.attribution == ATTRIBUTION_RESOURCE_SHARE


# -- the probe cache ----------------------------------------------------------------------


def test_probe_cache_round_trip(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path / "cache")
    key = probe_key("3.3.2")
    assert cache.load(key) is None
    probe = HardwareProbe(
        cpu_physical_count=2,
        tdp_model="AMD EPYC",
        tdp_w=8.0,
        tdp_matched=False,
        rapl=(RaplDomain("dram", "/x/energy_uj", "/x/max_energy_range_uj"),),
        ram_power_w=20.0,
        memory_total_bytes=24 * 10**9,
        gpu_count=1,
    )
    cache.store(key, probe)
    assert cache.load(key) == probe
    assert cache.load(probe_key("9.9.9")) is None  # another CodeCarbon version: probe again
    other = dict(key, cpu_brand="Another CPU")
    cache.store(other, HardwareProbe(cpu_physical_count=1))
    assert cache.load(key) == probe  # one entry per machine in a shared home
    assert cache.load(other) == HardwareProbe(cpu_physical_count=1)
    assert not list(cache.path.parent.glob("*.tmp"))


def test_probe_cache_is_written_whole_for_its_owner_only(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path / "cache")
    cache.store(probe_key("3.3.2"), HardwareProbe(cpu_physical_count=1))
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert [p.name for p in cache.path.parent.iterdir()] == [cache.path.name]


def test_probe_cache_ignores_damage(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path)
    key = probe_key("3.3.2")
    cache.path.write_text("{not json")
    assert cache.load(key) is None
    cache.path.write_text(json.dumps({"format": 2, "entries": {"x": "y"}}))
    assert cache.load(key) is None
    cache.store(key, HardwareProbe(cpu_physical_count=1))  # a damaged file is replaced
    assert cache.load(key) == HardwareProbe(cpu_physical_count=1)


def test_probe_cache_write_failure_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = ProbeCache(blocker / "below-a-file")
    cache.store(probe_key("3.3.2"), HardwareProbe(cpu_physical_count=1))
    assert cache.load(probe_key("3.3.2")) is None


def test_probe_cache_defaults_to_the_user_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ProbeCache().path == tmp_path / "zuinig" / PROBE_CACHE_FILE


# -- intensity ----------------------------------------------------------------------------


def test_intensity_from_codecarbons_offline_data_outside_the_netherlands() -> None:
    intensity = resolve_intensity(Settings(country_iso_code="BEL"), "3.3.2")
    assert intensity.g_per_kwh > 0
    assert intensity.country_name == "Belgium"
    assert intensity.name == "Our World in Data, Belgium"
    assert intensity.boundary is None
    assert "Our World in Data" in intensity.source
    assert "global_energy_mix.json" in intensity.source


def test_intensity_for_the_netherlands_comes_from_the_factor_table_by_year() -> None:
    own_year = resolve_intensity(Settings(), "3.3.2", 2024)
    assert (own_year.g_per_kwh, own_year.year, own_year.boundary) == (374.0, 2024, "well-to-wheel")
    assert own_year.source.startswith("CO2emissiefactoren.nl, list 2024")
    later = resolve_intensity(Settings(), "3.3.2", 2026)
    assert later.g_per_kwh == 374.0 and later.year == 2024
    assert "the newest list zuinig has, used for 2026" in later.source
    production = resolve_intensity(
        Settings(location_factor="grid-mix:tank-to-wheel"), "3.3.2", 2024
    )
    assert (production.g_per_kwh, production.boundary) == (300.0, "tank-to-wheel")


def test_intensity_from_settings_wins() -> None:
    settings = Settings(intensity_g_per_kwh=300.0, intensity_source="CBS 2024")
    intensity = resolve_intensity(settings, "3.3.2")
    assert (intensity.g_per_kwh, intensity.source, intensity.year) == (300.0, "CBS 2024", None)


def test_intensity_for_a_country_codecarbon_does_not_know() -> None:
    intensity = resolve_intensity(Settings(country_iso_code="XYZ"), "3.3.2")
    assert intensity.g_per_kwh > 0
    assert "world average" in intensity.source
    assert "XYZ" in intensity.source


# -- CodeCarbon's log ------------------------------------------------------------------------


def test_quiet_codecarbon_drops_records_keeps_swallowed_errors_and_restores_the_logger() -> None:
    codecarbon_logger = logging.getLogger("codecarbon")
    handlers, level = list(codecarbon_logger.handlers), codecarbon_logger.level
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    mine = Keep(level=logging.DEBUG)
    codecarbon_logger.addHandler(mine)
    try:
        error = RuntimeError("swallowed")
        with quiet_codecarbon() as swallowed:
            codecarbon_logger.addHandler(logging.StreamHandler())  # as CodeCarbon's import does
            codecarbon_logger.setLevel(logging.DEBUG)
            codecarbon_logger.warning("dropped")
            try:
                raise error
            except RuntimeError:
                codecarbon_logger.exception("CodeCarbon hides this")
        assert swallowed.errors == [error]
        assert records == []
        assert codecarbon_logger.handlers == [*handlers, mine]
        assert codecarbon_logger.level == level
        codecarbon_logger.warning("kept afterwards")
        assert [r.getMessage() for r in records] == ["kept afterwards"]
    finally:
        codecarbon_logger.removeHandler(mine)


def test_detection_refuses_a_ram_model_that_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    from codecarbon.core import cpu as cc_cpu
    from codecarbon.core.units import Power
    from codecarbon.external import ram as cc_ram

    class QuickTdp:  # py-cpuinfo takes a second and more; its answer does not matter here
        model = "AMD EPYC"
        tdp = 8

        def _get_cpu_power_from_registry(self, model: str) -> None:
            return None

    monkeypatch.setattr(cc_cpu, "TDP", QuickTdp)
    monkeypatch.setattr(cc_cpu, "is_rapl_available", lambda: False)
    monkeypatch.setattr(cc_ram.RAM, "total_power", lambda self: Power.from_watts(20))
    probe = source_module.detect_hardware()
    assert (probe.ram_power_w, probe.tdp_w, probe.tdp_matched) == (20.0, 8.0, False)
    # CodeCarbon logs a failure of its RAM model and returns 0 W: not a figure to keep.
    monkeypatch.setattr(cc_ram.RAM, "total_power", lambda self: Power.from_watts(0))
    with pytest.raises(RuntimeError, match="RAM model gave no power"):
        source_module.detect_hardware()
