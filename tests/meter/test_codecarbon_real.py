"""The CodeCarbon meter with the real CodeCarbon, offline, on this machine."""

from __future__ import annotations

import logging
import os
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
    ATTRIBUTION_MACHINE,
    ATTRIBUTION_RESOURCE_SHARE,
    CPU_METHOD_CPU_LOAD,
    CPU_METHOD_RAPL,
    CPU_METHOD_USER_POWER,
    Measurement,
)
from zuinig.meter.codecarbon import CodeCarbonMeter, ProbeCache, probe_key
from zuinig.meter.coefficients import coefficients_for
from zuinig.meter.process import BYTES_PER_GB

NLD_OFFLINE_G_PER_KWH = 267.622  # CodeCarbon 3.3.2 global_energy_mix.json, NLD, year 2023
#: The shipped CO2emissiefactoren.nl grid mix (list 2024, with the supply chain): what a
#: Dutch run's location-based figure now uses instead of CodeCarbon's.
NLD_GRID_MIX_G_PER_KWH = 374.0


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
    assert measurement.intensity_g_per_kwh == NLD_GRID_MIX_G_PER_KWH
    assert measurement.co2_kg == pytest.approx(
        measurement.energy_kwh * measurement.intensity_g_per_kwh / 1000, rel=1e-12
    )
    # Both scope 2 figures on every run: without a contract and without an unknown-origin
    # row in the table, the market-based figure is the location-based one, and says so.
    assert measurement.co2_kg_market_based == pytest.approx(measurement.co2_kg, rel=1e-12)
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
    assert method.intensity_g_per_kwh == NLD_GRID_MIX_G_PER_KWH
    assert method.intensity_source is not None
    assert "CO2emissiefactoren.nl, list 2024" in method.intensity_source
    assert (method.intensity_year, method.intensity_boundary) == (2024, "well-to-wheel")
    assert method.intensity_name is not None and "CE Delft" in method.intensity_name
    assert method.market_intensity_g_per_kwh == NLD_GRID_MIX_G_PER_KWH
    assert method.market_intensity_source is not None
    assert "unknown origin" in method.market_intensity_source
    assert method.country_iso_code == "NLD"
    assert method.attribution == ATTRIBUTION_RESOURCE_SHARE
    # The range holds the figure; CO2e follows it.
    assert measurement.energy_kwh_low is not None and measurement.energy_kwh_high is not None
    assert measurement.energy_kwh_low <= measurement.energy_kwh <= measurement.energy_kwh_high
    assert measurement.co2_kg_low == pytest.approx(
        measurement.energy_kwh_low * NLD_GRID_MIX_G_PER_KWH / 1000, rel=1e-12
    )
    # Shares: this process's CPU time is part of the machine's; memory held is its RSS.
    assert measurement.cpu_share is not None and 0 < measurement.cpu_share <= 1
    assert measurement.ram_gb_s is not None
    rss_gb = measurement.peak_rss_bytes / BYTES_PER_GB
    assert 0.5 * rss_gb * measurement.duration_s <= measurement.ram_gb_s
    assert measurement.ram_gb_s <= 1.05 * rss_gb * measurement.duration_s
    # RAM: the machine's RAM power x the share of memory held.
    total_gb = psutil.virtual_memory().total / BYTES_PER_GB
    if method.cpu_method == CPU_METHOD_CPU_LOAD:
        expected_ram_kwh = method.ram_power_w * measurement.ram_gb_s / total_gb / 3.6e6
        assert measurement.ram_energy_kwh == pytest.approx(expected_ram_kwh, rel=0.01)
        probe = ProbeCache(probe_cache_dir).load(probe_key(method.meter.split()[1]))
        assert probe is not None
        assert method.cpu_tdp_is_generic is (not probe.tdp_matched)
        if method.cpu_tdp_is_generic:
            # CCF's curve: at most every vCPU at its highest published full-load watts.
            highest_w = psutil.cpu_count() * coefficients_for(method.cpu_model).high.max_w
            assert measurement.cpu_energy_kwh * 3.6e6 <= highest_w * measurement.duration_s * 1.05
            assert measurement.energy_kwh_low < measurement.energy_kwh_high

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
    assert measurement.cpu_energy_kwh is not None
    # The child's CPU time is the tree's: the window gets a real share of the machine's CPU
    # energy, where a window that only sleeps gets (next to) none.
    assert measurement.cpu_share is not None and measurement.cpu_share > 0.05
    # A window that only sleeps (in a fresh process: this one may have threads left by
    # earlier tests) has next to no CPU time of its own. Its energy is not compared: on an
    # otherwise idle machine the rule rightly charges even a sleeper the idle draw.
    sleeper = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from zuinig.config import Settings\n"
        "from zuinig.meter.codecarbon import CodeCarbonMeter\n"
        "meter = CodeCarbonMeter(Settings(), cache_dir=Path(sys.argv[1]))\n"
        "meter.begin().end()\n"
        "idle = meter.begin()\n"
        "time.sleep(0.4)\n"
        "print(idle.end().cpu_s)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", sleeper, str(probe_cache_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    sleeping_cpu_s = float(done.stdout.strip().splitlines()[-1])
    assert sleeping_cpu_s < measurement.cpu_s / 4


def test_a_window_shorter_than_codecarbons_50_ms_still_has_its_energy(
    probe_cache_dir: Path,
) -> None:
    settings = Settings(ram_power_w=10.0, tracking_mode="machine")
    window = CodeCarbonMeter(settings, cache_dir=probe_cache_dir).begin()
    time.sleep(0.01)
    measurement = window.end()
    assert measurement.ram_energy_kwh is not None
    # The whole machine's 10 W over the 10 ms slept, read at the window's two ends.
    assert measurement.ram_energy_kwh * 3.6e6 >= 10.0 * 0.01
    assert measurement.ram_energy_kwh * 3.6e6 <= 10.0 * (measurement.duration_s + 0.002)


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
    assert method.attribution == ATTRIBUTION_MACHINE
    assert measurement.ram_energy_kwh is not None
    # The PUE multiplies every figure: 10 W x 2 over the window.
    ram_w = measurement.ram_energy_kwh * 3.6e6 / measurement.duration_s
    assert ram_w == pytest.approx(20.0, rel=0.02)
    assert measurement.energy_kwh_low == measurement.energy_kwh_high  # calibrated: no spread


def test_another_country_keeps_codecarbons_figure_and_a_contract_sets_the_market_figure(
    probe_cache_dir: Path,
) -> None:
    """Outside the Netherlands the location-based figure stays CodeCarbon's (Our World
    in Data); a numeric contract gives the market-based figure, computed at measure time."""
    settings = Settings(
        country_iso_code="BEL", market_factor=50.0, market_factor_source="supplier label 2026"
    )
    measurement = CodeCarbonMeter(settings, cache_dir=probe_cache_dir).begin().end()
    assert measurement.ok and measurement.energy_kwh is not None
    method = measurement.method
    assert method is not None and method.intensity_source is not None
    assert "Our World in Data" in method.intensity_source
    assert method.intensity_name == "Our World in Data, Belgium"
    assert method.intensity_boundary is None
    assert (method.market_intensity_g_per_kwh, method.market_intensity_source) == (
        50.0,
        "supplier label 2026",
    )
    assert measurement.co2_kg_market_based == pytest.approx(
        measurement.energy_kwh * 50.0 / 1000, rel=1e-12
    )


def test_intensity_from_settings(probe_cache_dir: Path) -> None:
    settings = Settings(intensity_g_per_kwh=100.0, intensity_source="test grid, 2026")
    measurement = CodeCarbonMeter(settings, cache_dir=probe_cache_dir).begin().end()
    assert measurement.ok and measurement.energy_kwh is not None
    assert measurement.intensity_g_per_kwh == 100.0
    assert measurement.co2_kg == pytest.approx(measurement.energy_kwh * 100.0 / 1000, rel=1e-12)
    assert measurement.method is not None
    assert measurement.method.intensity_source == "test grid, 2026"
    assert measurement.method.intensity_year is None
    # The setting overrides the table too: the market-based fallback follows it.
    assert measurement.method.market_intensity_g_per_kwh == 100.0


def test_machine_mode_charges_the_machines_memory(probe_cache_dir: Path) -> None:
    window = CodeCarbonMeter(Settings(tracking_mode="machine"), cache_dir=probe_cache_dir).begin()
    # The machine's RAM energy covers the source's own interval between its two counter
    # readings, which sits a scheduling slice inside the window's: long enough a window
    # that a few milliseconds of a loaded machine do not matter.
    time.sleep(0.5)
    measurement = window.end()
    assert measurement.ok
    method = measurement.method
    assert method is not None and method.ram_model is not None and method.ram_power_w
    assert "the machine's" in method.ram_model
    assert method.attribution == ATTRIBUTION_MACHINE
    assert measurement.cpu_share == 1.0
    ram_w = measurement.ram_energy_kwh * 3.6e6 / measurement.duration_s
    assert ram_w == pytest.approx(method.ram_power_w, rel=0.03)


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


def test_windows_leave_the_codecarbon_logger_alone(
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
        codecarbon_logger.warning("the user's own record, while a window is open")
        window.end()
        # No CodeCarbon code runs in a window, so nothing is filtered: the user's record
        # arrives, and the logger is as it was.
        assert [r.getMessage() for r in records] == [
            "the user's own record, while a window is open"
        ]
        assert codecarbon_logger.handlers == handlers
        assert codecarbon_logger.level == level
    finally:
        codecarbon_logger.removeHandler(mine)
    captured = capfd.readouterr()
    assert "[codecarbon" not in captured.err


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
    assert cold["codecarbon_imported"] is True
    assert warm["codecarbon_imported"] is False  # the cached probe is all a window needs
    assert warm["stderr"] == ""  # nothing from CodeCarbon on the terminal


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
    # Nested windows of one process tree: the inner one is part of the outer one.
    assert inner_measurement.energy_kwh <= outer_measurement.energy_kwh * 1.1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_can_measure(probe_cache_dir: Path) -> None:
    meter = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir)
    outer = meter.begin()  # open while forking: the child must not inherit it
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        try:
            measurement = meter.begin().end()
            os._exit(0 if measurement.ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert outer.end().ok
    assert os.waitstatus_to_exitcode(status) == 0
