"""The CodeCarbon meter's failure paths, cache, intensity, log and configuration handling.

Failures are injected into subclasses of the real tracker class, so CodeCarbon's own
error swallowing is exercised, not imitated.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zuinig.config import Settings
from zuinig.meter import codecarbon as zc
from zuinig.meter.base import CPU_METHOD_NONE, Measurement
from zuinig.meter.codecarbon import (
    CodeCarbonMeter,
    HardwareProbe,
    ProbeCache,
    probe_key,
    resolve_intensity,
)


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


@pytest.fixture
def tracker_base(probe_cache_dir: Path) -> Iterator[tuple[type[Any], Any]]:
    """The real tracker class of the meter's runtime, and the runtime to patch."""
    runtime = zc._runtime(ProbeCache(probe_cache_dir))
    original = runtime.tracker_class
    yield original, runtime
    runtime.tracker_class = original


def _measure_with(tracker_class: type[Any], runtime: Any, probe_cache_dir: Path) -> Measurement:
    runtime.tracker_class = tracker_class
    window = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir).begin()
    _spin(0.02)
    return window.end()


def _assert_failed(measurement: Measurement, *fragments: str) -> None:
    assert measurement.energy_kwh is None
    assert measurement.co2_kg is None
    assert not measurement.ok
    assert measurement.measurement_error is not None
    for fragment in fragments:
        assert fragment in measurement.measurement_error
    # The process figures are still there: the work was still observed.
    assert measurement.cpu_s is not None and measurement.cpu_s >= 0
    assert measurement.duration_s > 0
    assert measurement.method is not None and measurement.method.cpu_method == CPU_METHOD_NONE
    assert measurement.method.intensity_g_per_kwh is not None


def _no_timer_left_behind() -> None:
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
        if not any(t.is_alive() and not t.finished.is_set() for t in timers):
            return
        time.sleep(0.01)
    raise AssertionError("a CodeCarbon timer thread outlived its window")


def test_start_raising(tracker_base: tuple[type[Any], Any], probe_cache_dir: Path) -> None:
    base, runtime = tracker_base

    class Tracker(base):  # type: ignore[misc, valid-type]
        def start(self) -> None:
            raise RuntimeError("start exploded")

    measurement = _measure_with(Tracker, runtime, probe_cache_dir)
    _assert_failed(measurement, "CodeCarbon could not start", "RuntimeError: start exploded")
    _no_timer_left_behind()


def test_stop_raising(tracker_base: tuple[type[Any], Any], probe_cache_dir: Path) -> None:
    base, runtime = tracker_base

    class Tracker(base):  # type: ignore[misc, valid-type]
        def stop(self) -> None:
            raise RuntimeError("stop exploded")

    measurement = _measure_with(Tracker, runtime, probe_cache_dir)
    _assert_failed(measurement, "failed while stopping", "RuntimeError: stop exploded")
    _no_timer_left_behind()


def test_stop_returning_none(tracker_base: tuple[type[Any], Any], probe_cache_dir: Path) -> None:
    base, runtime = tracker_base

    class Tracker(base):  # type: ignore[misc, valid-type]
        def stop(self) -> None:
            super().stop()

    measurement = _measure_with(Tracker, runtime, probe_cache_dir)
    _assert_failed(measurement, "CodeCarbon returned no measurement")


def test_an_error_codecarbon_swallows_in_start_is_reported(
    tracker_base: tuple[type[Any], Any], probe_cache_dir: Path
) -> None:
    base, runtime = tracker_base

    class Tracker(base):  # type: ignore[misc, valid-type]
        def _ensure_hardware_ready(self) -> None:
            raise OSError("no hardware today")

    measurement = _measure_with(Tracker, runtime, probe_cache_dir)
    _assert_failed(measurement, "did not start", "OSError: no hardware today")


def test_an_error_codecarbon_swallows_in_its_constructor_is_reported(
    tracker_base: tuple[type[Any], Any], probe_cache_dir: Path
) -> None:
    base, runtime = tracker_base

    class Tracker(base):  # type: ignore[misc, valid-type]
        def _initialize_scheduler_state(self) -> None:
            raise ValueError("half-built")

    measurement = _measure_with(Tracker, runtime, probe_cache_dir)
    _assert_failed(measurement, "could not set up its tracker", "ValueError: half-built")


def test_a_constructor_raising(tracker_base: tuple[type[Any], Any], probe_cache_dir: Path) -> None:
    _, runtime = tracker_base

    class Tracker:
        def __init__(self, **kwargs: Any) -> None:
            raise TypeError("unexpected keyword argument 'output_methods'")

    measurement = _measure_with(Tracker, runtime, probe_cache_dir)
    _assert_failed(measurement, "could not start", "TypeError")


def test_codecarbon_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_codecarbon(cache: ProbeCache) -> Any:
        raise ModuleNotFoundError("No module named 'codecarbon'")

    monkeypatch.setattr(zc, "_runtime", no_codecarbon)
    measurement = CodeCarbonMeter(Settings(), cache_dir=tmp_path).begin().end()
    assert measurement.energy_kwh is None
    assert measurement.measurement_error is not None
    assert "could not be loaded" in measurement.measurement_error
    assert "install codecarbon" in measurement.measurement_error
    assert measurement.cpu_s is not None
    assert measurement.method is not None and measurement.method.cpu_method == CPU_METHOD_NONE


def test_end_never_raises(monkeypatch: pytest.MonkeyPatch, probe_cache_dir: Path) -> None:
    def broken(self: Any, data: Any) -> Any:
        raise KeyError("surprise")

    monkeypatch.setattr(zc._CodeCarbonWindow, "_method", broken)
    window = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir).begin()
    measurement = window.end()
    assert measurement.measurement_error is not None
    assert "could not assemble" in measurement.measurement_error
    assert window.end() is measurement  # closed once; later calls give the same record


def test_method_without_measuring_anything(probe_cache_dir: Path) -> None:
    method = CodeCarbonMeter(Settings(), cache_dir=probe_cache_dir).method()
    assert method.meter.startswith("codecarbon ")
    assert method.cpu_method != CPU_METHOD_NONE
    assert method.intensity_g_per_kwh == 267.622


# -- the probe cache ----------------------------------------------------------------------


def test_probe_cache_round_trip(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path / "cache")
    key = probe_key("3.3.2")
    assert cache.load(key) is None
    probe = HardwareProbe(cpu_physical_count=2, tdp_model="AMD EPYC", tdp_w=8.0, tdp_matched=False)
    cache.store(key, probe)
    assert cache.load(key) == probe
    assert cache.load(probe_key("9.9.9")) is None  # another CodeCarbon version: probe again
    other = dict(key, cpu_brand="Another CPU")
    cache.store(other, HardwareProbe(cpu_physical_count=1))
    assert cache.load(key) == probe  # one entry per machine in a shared home
    assert cache.load(other) == HardwareProbe(cpu_physical_count=1)
    assert not list(cache.path.parent.glob("*.tmp"))


def test_probe_cache_ignores_damage(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path)
    key = probe_key("3.3.2")
    cache.path.write_text("{not json")
    assert cache.load(key) is None
    cache.path.write_text(json.dumps({"format": 1, "entries": {"x": "y"}}))
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
    assert ProbeCache().path == tmp_path / "zuinig" / zc.PROBE_CACHE_FILE


# -- intensity ----------------------------------------------------------------------------


def test_intensity_from_codecarbons_offline_data() -> None:
    intensity = resolve_intensity(Settings(), "3.3.2")
    assert intensity.g_per_kwh == 267.622
    assert intensity.year == 2023
    assert intensity.country_name == "Netherlands"
    assert "Our World in Data" in intensity.source
    assert "global_energy_mix.json" in intensity.source


def test_intensity_from_settings_wins() -> None:
    settings = Settings(intensity_g_per_kwh=300.0, intensity_source="CBS 2024")
    intensity = resolve_intensity(settings, "3.3.2")
    assert (intensity.g_per_kwh, intensity.source, intensity.year) == (300.0, "CBS 2024", None)


def test_intensity_for_a_country_codecarbon_does_not_know() -> None:
    intensity = resolve_intensity(Settings(country_iso_code="XYZ"), "3.3.2")
    assert intensity.g_per_kwh > 0
    assert "world average" in intensity.source
    assert "XYZ" in intensity.source


# -- log and configuration ----------------------------------------------------------------


def test_quiet_log_drops_records_only_while_a_window_is_open() -> None:
    quiet = zc._QuietCodeCarbonLog()
    record = logging.LogRecord("codecarbon", logging.WARNING, __file__, 1, "hi", None, None)
    assert quiet.filter(record) is True
    quiet._open_windows = 1
    try:
        assert quiet.filter(record) is False
        sink: list[BaseException] = []
        error = RuntimeError("swallowed")
        failing = logging.LogRecord(
            "codecarbon", logging.WARNING, __file__, 1, "x", None, (RuntimeError, error, None)
        )
        with quiet.capture(sink):
            assert quiet.filter(failing) is False
        assert sink == [error]
        quiet.filter(failing)  # outside capture: dropped, not kept
        assert sink == [error]
    finally:
        quiet._open_windows = 0


def test_config_isolation_is_per_thread() -> None:
    reader = zc._IsolatingConfigReader(lambda: {"save_to_file": "true"})
    seen_elsewhere: list[dict[str, Any]] = []
    with zc._isolated():
        assert reader() == {}
        thread = threading.Thread(target=lambda: seen_elsewhere.append(reader()))
        thread.start()
        thread.join()
    assert seen_elsewhere == [{"save_to_file": "true"}]
    assert reader() == {"save_to_file": "true"}


def test_config_isolation_installs_once() -> None:
    import codecarbon.emissions_tracker as emissions_tracker

    assert zc._install_config_isolation(emissions_tracker) is True
    installed = emissions_tracker.get_hierarchical_config
    assert zc._install_config_isolation(emissions_tracker) is True
    assert emissions_tracker.get_hierarchical_config is installed
    assert not isinstance(installed.original, zc._IsolatingConfigReader)  # type: ignore[attr-defined]
