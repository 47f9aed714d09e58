"""The CodeCarbon meter with the real CodeCarbon, offline, on this machine."""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from meter_helpers import ProbeRun, run_probe_process

from zuinig.config import Settings
from zuinig.meter import codecarbon as zc
from zuinig.meter.base import (
    CPU_METHOD_CPU_LOAD,
    CPU_METHOD_RAPL,
    CPU_METHOD_USER_POWER,
    Measurement,
)
from zuinig.meter.codecarbon import CodeCarbonMeter, ProbeCache, probe_key

NLD_OFFLINE_G_PER_KWH = 267.622  # CodeCarbon 3.3.2 global_energy_mix.json, NLD, year 2023


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def _listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def test_a_cpu_busy_window(probe_cache_dir: Path, tmp_path: Path) -> None:
    before = _listing(tmp_path)
    meter = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir)
    window = meter.begin()
    _spin(0.3)
    measurement = window.end()

    assert measurement.measurement_error is None
    assert measurement.ok
    assert measurement.energy_kwh is not None and measurement.energy_kwh > 0
    assert measurement.cpu_energy_kwh is not None and measurement.cpu_energy_kwh > 0
    assert measurement.ram_energy_kwh is not None and measurement.ram_energy_kwh > 0
    assert measurement.energy_kwh == pytest.approx(
        measurement.cpu_energy_kwh + measurement.ram_energy_kwh + (measurement.gpu_energy_kwh or 0)
    )
    assert measurement.intensity_g_per_kwh == NLD_OFFLINE_G_PER_KWH
    assert measurement.co2_kg == pytest.approx(
        measurement.energy_kwh * measurement.intensity_g_per_kwh / 1000, rel=1e-12
    )
    assert measurement.duration_s >= 0.25  # CPU time of all threads: a little under the wall
    assert measurement.power_w is not None and measurement.power_w > 0

    # psutil figures
    assert measurement.cpu_s is not None and 0.28 <= measurement.cpu_s <= 1.0
    assert measurement.peak_rss_bytes is not None and measurement.peak_rss_bytes > 10_000_000
    assert measurement.started_at.tzinfo is not None

    method = measurement.method
    assert method is not None
    assert method.meter.startswith("codecarbon 3.")
    assert method.cpu_method in {CPU_METHOD_CPU_LOAD, CPU_METHOD_RAPL}
    assert method.cpu_model
    assert method.cpu_count == psutil.cpu_count()
    assert method.ram_model and method.ram_power_w is not None and method.ram_power_w > 0
    assert method.tracking_mode == "process"
    assert method.pue == 1.0
    assert method.intensity_g_per_kwh == NLD_OFFLINE_G_PER_KWH
    assert method.intensity_source is not None and "Our World in Data" in method.intensity_source
    assert method.intensity_year == 2023
    assert method.country_iso_code == "NLD"
    if method.cpu_method == CPU_METHOD_CPU_LOAD:
        assert method.cpu_tdp_w is not None and method.cpu_tdp_w > 0
        probe = ProbeCache(probe_cache_dir).load(probe_key(method.meter.split()[1]))
        assert probe is not None
        assert method.cpu_tdp_is_generic is (not probe.tdp_matched)
        # Process mode: CPU power = TDP x (CPU time / wall time) / logical CPUs.
        expected_kwh = method.cpu_tdp_w * measurement.cpu_s / psutil.cpu_count() / 3.6e6
        assert measurement.cpu_energy_kwh == pytest.approx(expected_kwh, rel=0.35)

    assert _listing(tmp_path) == before  # CodeCarbon wrote nothing in the working directory


def test_cpu_energy_counts_a_child_process_that_ends_within_the_window(
    probe_cache_dir: Path,
) -> None:
    child = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    window = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir).begin()
    subprocess.run([sys.executable, "-c", child], check=True)
    measurement = window.end()
    assert measurement.ok
    assert measurement.cpu_s is not None and measurement.cpu_s >= 0.4
    method = measurement.method
    assert method is not None
    if method.cpu_method != CPU_METHOD_CPU_LOAD:
        pytest.skip("CPU energy is read from counters here, not modelled from CPU time")
    assert method.cpu_tdp_w is not None and measurement.cpu_energy_kwh is not None
    # CodeCarbon alone sums per-pid deltas a second apart and misses such a child.
    expected_kwh = method.cpu_tdp_w * measurement.cpu_s / psutil.cpu_count() / 3.6e6
    assert measurement.cpu_energy_kwh == pytest.approx(expected_kwh, rel=0.25)


def test_a_window_shorter_than_codecarbons_50_ms_still_has_its_energy(
    probe_cache_dir: Path,
) -> None:
    meter = CodeCarbonMeter(Settings(ram_power_w=10.0), cache_dir=probe_cache_dir)
    window = meter.begin()
    time.sleep(0.01)
    measurement = window.end()
    assert measurement.ram_energy_kwh is not None
    # 10 W over at least the 10 ms slept (plus CodeCarbon's own start and stop).
    assert measurement.ram_energy_kwh * 3.6e6 >= 10.0 * 0.01
    assert measurement.ram_energy_kwh * 3.6e6 <= 10.0 * (measurement.duration_s + 0.05)


def test_calibration_and_pue_are_applied(probe_cache_dir: Path) -> None:
    settings = Settings(tracking_mode="machine", pue=2.0, cpu_power_w=20.0, ram_power_w=10.0)
    window = CodeCarbonMeter(settings, cache_dir=probe_cache_dir).begin()
    time.sleep(0.3)
    measurement = window.end()
    assert measurement.ok
    method = measurement.method
    assert method is not None
    assert method.cpu_method == CPU_METHOD_USER_POWER
    assert method.cpu_tdp_w == 20.0
    assert method.cpu_tdp_is_generic is False
    assert method.ram_power_w == 10.0
    assert method.pue == 2.0
    assert method.tracking_mode == "machine"
    assert measurement.ram_energy_kwh is not None
    # CodeCarbon multiplies every reading by the PUE: 10 W x 2 over the window.
    ram_w = measurement.ram_energy_kwh * 3.6e6 / measurement.duration_s
    assert ram_w == pytest.approx(20.0, rel=0.1)


def test_intensity_from_settings(probe_cache_dir: Path) -> None:
    settings = Settings(intensity_g_per_kwh=100.0, intensity_source="test grid, 2026")
    measurement = CodeCarbonMeter(settings, cache_dir=probe_cache_dir).begin().end()
    assert measurement.ok and measurement.energy_kwh is not None
    assert measurement.intensity_g_per_kwh == 100.0
    assert measurement.co2_kg == pytest.approx(measurement.energy_kwh * 100.0 / 1000, rel=1e-12)
    assert measurement.method is not None
    assert measurement.method.intensity_source == "test grid, 2026"
    assert measurement.method.intensity_year is None


def test_machine_mode_describes_installed_memory(probe_cache_dir: Path) -> None:
    measurement = (
        CodeCarbonMeter(Settings(tracking_mode="machine"), cache_dir=probe_cache_dir).begin().end()
    )
    assert measurement.ok
    assert measurement.method is not None and measurement.method.ram_model is not None
    assert "installed memory" in measurement.method.ram_model


def test_codecarbon_configuration_is_ignored(
    probe_cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name, value in {
        "CODECARBON_SAVE_TO_FILE": "true",
        "CODECARBON_OUTPUT_METHODS": "csv",
        "CODECARBON_OUTPUT_DIR": str(tmp_path),
        "CODECARBON_TRACKING_MODE": "machine",
        "CODECARBON_PUE": "3.0",
        "CODECARBON_FORCE_RAM_POWER": "1000",
        "CODECARBON_LOG_LEVEL": "debug",
    }.items():
        monkeypatch.setenv(name, value)
    config = "[codecarbon]\nsave_to_file = true\noutput_methods = csv\npue = 5\n"
    (tmp_path / ".codecarbon.config").write_text(config)
    (home / ".codecarbon.config").write_text(config + "emissions_endpoint = http://127.0.0.1:9/\n")
    before = _listing(tmp_path)

    measurement = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir).begin().end()

    assert measurement.ok, measurement.measurement_error
    assert measurement.method is not None
    assert measurement.method.pue == 1.0
    assert measurement.method.tracking_mode == "process"
    assert measurement.method.ram_power_w is not None and measurement.method.ram_power_w < 1000
    assert measurement.energy_kwh is not None and measurement.ram_energy_kwh is not None
    # With a PUE of 3 or 1000 W of RAM the energy would be far larger than the window allows.
    assert measurement.ram_energy_kwh * 3.6e6 <= 100.0 * (measurement.duration_s + 0.05)
    assert _listing(tmp_path) == before  # no emissions.csv anywhere
    assert not (home / "emissions.csv").exists()

    # The user's own CodeCarbon use still reads its configuration.
    import codecarbon.emissions_tracker

    assert codecarbon.emissions_tracker.get_hierarchical_config()["pue"] == "3.0"


def test_a_malformed_codecarbon_config_file_does_not_break_measuring(
    probe_cache_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / ".codecarbon.config").write_text("this is not an ini file\n")
    measurement = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir).begin().end()
    assert measurement.ok, measurement.measurement_error


def test_codecarbon_log_stays_off_the_terminal_and_its_setup_is_kept(
    probe_cache_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    codecarbon_logger = logging.getLogger("codecarbon")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    mine = Keep(level=logging.DEBUG)
    codecarbon_logger.addHandler(mine)
    handlers = list(codecarbon_logger.handlers)
    level = codecarbon_logger.level
    try:
        window = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir).begin()
        codecarbon_logger.warning("logged while a zuinig window is open")
        window.end()
        assert records == []
        assert codecarbon_logger.handlers == handlers
        assert codecarbon_logger.level == level
        codecarbon_logger.warning("logged after the window")
        assert [r.getMessage() for r in records] == ["logged after the window"]
    finally:
        codecarbon_logger.removeHandler(mine)
    captured = capfd.readouterr()
    assert "while a zuinig window is open" not in captured.err
    assert "[codecarbon" not in captured.err.replace("logged after the window", "")


def test_later_windows_are_cheap(probe_cache_dir: Path) -> None:
    meter = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir)
    meter.begin().end()
    durations = []
    for _ in range(20):
        start = time.perf_counter()
        meter.begin().end()
        durations.append(time.perf_counter() - start)
    # About 3-4 ms on a 2-vCPU VM; generous here so a loaded CI machine does not fail,
    # tight enough to catch a per-window subprocess (lscpu) or a full process scan.
    assert statistics.median(durations) < 0.025


def test_the_hardware_probe_is_reused_by_the_next_process(
    cold_probe: ProbeRun, tmp_path: Path
) -> None:
    cold = cold_probe.report
    assert cold["error"] is None
    assert cold["stderr"] == ""  # CodeCarbon's detection warnings stay off the terminal
    assert cold["energy_kwh"] > 0
    assert (cold_probe.cache_dir / zc.PROBE_CACHE_FILE).is_file()

    warm = run_probe_process(cold_probe.cache_home, cwd=tmp_path)
    assert warm["error"] is None
    assert warm["energy_kwh"] > 0
    for field in ("cpu_method", "cpu_model", "cpu_tdp_w", "cpu_tdp_is_generic"):
        assert warm[field] == cold[field], field
    if cold["cpu_method"] == CPU_METHOD_CPU_LOAD:
        assert cold["cpuinfo_ran"] is True
        assert warm["cpuinfo_ran"] is False  # py-cpuinfo and the TDP match were skipped
        assert warm["elapsed_s"] < cold["elapsed_s"]
    assert warm["stderr"] == ""  # nothing from CodeCarbon on the terminal


def test_an_untested_codecarbon_version_uses_the_plain_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zc, "SEAM_TESTED_VERSIONS", frozenset())
    meter = CodeCarbonMeter(Settings(), cache_dir=tmp_path / "cache")
    window = meter.begin()
    _spin(0.1)
    measurement = window.end()
    runtime = zc._runtimes[tmp_path / "cache" / zc.PROBE_CACHE_FILE]
    assert runtime.fast is False
    assert measurement.ok, measurement.measurement_error
    assert measurement.energy_kwh is not None and measurement.energy_kwh > 0
    assert measurement.co2_kg == pytest.approx(measurement.energy_kwh * 267.622 / 1000)
    assert measurement.method is not None
    # Without the probe zuinig cannot tell a table match from a guess, and says "guess".
    if measurement.method.cpu_method == CPU_METHOD_CPU_LOAD:
        assert measurement.method.cpu_tdp_is_generic is True
    assert not (tmp_path / "cache" / zc.PROBE_CACHE_FILE).exists()


def test_nested_and_concurrent_windows(probe_cache_dir: Path) -> None:
    meter = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir)
    results: list[Measurement] = []
    errors: list[BaseException] = []

    def job() -> None:
        try:
            window = meter.begin()
            _spin(0.05)
            results.append(window.end())
        except BaseException as error:
            errors.append(error)

    outer = meter.begin()
    inner = meter.begin()
    threads = [threading.Thread(target=job) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    inner_measurement = inner.end()
    outer_measurement = outer.end()
    assert not errors
    for measurement in [*results, inner_measurement, outer_measurement]:
        assert measurement.ok, measurement.measurement_error
        assert measurement.energy_kwh is not None and measurement.energy_kwh > 0
    assert outer_measurement.duration_s >= inner_measurement.duration_s
    assert zc._quiet_log._open_windows == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_can_measure(probe_cache_dir: Path) -> None:
    meter = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir)
    outer = meter.begin()  # open while forking: the child must not inherit it
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        try:
            measurement = meter.begin().end()
            os._exit(0 if measurement.ok and zc._quiet_log._open_windows == 0 else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert outer.end().ok
    assert os.waitstatus_to_exitcode(status) == 0
