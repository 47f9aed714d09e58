"""The null meter, the replay meter, and the package's public names."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

import zuinig.meter
from zuinig.config import Settings
from zuinig.errors import MeasurementError
from zuinig.meter import CodeCarbonMeter, Measurement, Method, NullMeter, ReplayMeter, default_meter
from zuinig.meter.base import CPU_METHOD_NONE, CPU_METHOD_RAPL, CPU_METHOD_REPLAY


def test_null_meter_measures_time_and_process_but_no_energy(tmp_path: Path) -> None:
    data = tmp_path / "input.csv"
    data.write_text("a\n1\n")
    window = NullMeter().begin({"paths": [str(data)]})
    time.sleep(0.02)
    measurement = window.end()
    assert measurement.duration_s >= 0.02
    assert measurement.energy_kwh is None and measurement.co2_kg is None
    assert measurement.measurement_error is None
    assert measurement.cpu_s is not None and measurement.peak_rss_bytes is not None
    assert [item.path for item in measurement.inputs] == [str(data)]
    assert measurement.method == Method(meter="null", cpu_method=CPU_METHOD_NONE)
    assert NullMeter().method().cpu_method == CPU_METHOD_NONE
    assert window.end() is measurement


def test_replay_a_fixed_energy() -> None:
    meter = ReplayMeter(energy_kwh=0.002, intensity_g_per_kwh=250.0)
    first, second = meter.begin().end(), meter.begin({"paths": []}).end()
    for measurement in (first, second):
        assert measurement.energy_kwh == 0.002
        assert measurement.co2_kg == pytest.approx(0.002 * 250.0 / 1000)
        assert measurement.intensity_g_per_kwh == 250.0
        assert measurement.ok
        assert measurement.method is not None
        assert measurement.method.cpu_method == CPU_METHOD_REPLAY
        assert measurement.cpu_s is None  # not sampled unless asked
    assert meter.contexts == [None, {"paths": []}]


def test_replay_a_script_then_run_out() -> None:
    given = Measurement(
        started_at=datetime(2026, 11, 1, tzinfo=UTC),
        ended_at=datetime(2026, 11, 1, 0, 0, 2, tzinfo=UTC),
        duration_s=2.0,
        energy_kwh=0.5,
        co2_kg=0.1,
        method=Method(meter="codecarbon 3.3.2", cpu_method=CPU_METHOD_RAPL),
    )
    meter = ReplayMeter(
        [
            {"energy_kwh": 0.001, "cpu_s": 1.5, "method": {"meter": "x", "cpu_method": "rapl"}},
            {"measurement_error": "tracker died"},
            given,
        ],
        intensity_g_per_kwh=200.0,
    )
    first = meter.begin().end()
    assert first.energy_kwh == 0.001 and first.cpu_s == 1.5
    assert first.co2_kg == pytest.approx(0.001 * 200.0 / 1000)
    assert first.method == Method(meter="x", cpu_method="rapl")
    failed = meter.begin().end()
    assert failed.energy_kwh is None and failed.measurement_error == "tracker died"
    assert not failed.ok
    assert meter.begin().end() == given
    with pytest.raises(MeasurementError, match="used up"):
        meter.begin()


def test_replay_cycles_when_asked() -> None:
    meter = ReplayMeter([{"energy_kwh": 1.0}, {"energy_kwh": 2.0}], cycle=True)
    assert [meter.begin().end().energy_kwh for _ in range(5)] == [1.0, 2.0, 1.0, 2.0, 1.0]


def test_replay_told_to_fail() -> None:
    meter = ReplayMeter(energy_kwh=0.001, fail=True)
    failed = meter.begin().end()
    assert failed.energy_kwh is None and failed.co2_kg is None
    assert failed.measurement_error is not None and "fail" in failed.measurement_error
    meter.fail = "CodeCarbon returned None"
    assert meter.begin().end().measurement_error == "CodeCarbon returned None"
    meter.fail = False
    assert meter.begin().end().energy_kwh == 0.001


def test_replay_with_process_figures(tmp_path: Path) -> None:
    data = tmp_path / "x.parquet"
    data.write_bytes(b"PAR1" + b"\x00" * 8 + b"PAR1")
    measurement = ReplayMeter(energy_kwh=0.001, sample_process=True).begin({"paths": [data]}).end()
    assert measurement.cpu_s is not None and measurement.peak_rss_bytes is not None
    assert [(i.path, i.format) for i in measurement.inputs] == [(str(data), "parquet")]


def test_replay_rejects_bad_scripts() -> None:
    with pytest.raises(ValueError, match="energy_kwhh"):
        ReplayMeter([{"energy_kwhh": 1.0}])
    with pytest.raises(ValueError, match="either"):
        ReplayMeter()
    with pytest.raises(ValueError, match="either"):
        ReplayMeter([{"energy_kwh": 1.0}], energy_kwh=1.0)
    with pytest.raises(ValueError, match="empty"):
        ReplayMeter([])


def test_default_meter_is_codecarbon() -> None:
    meter = default_meter(Settings(pue=1.2))
    assert isinstance(meter, CodeCarbonMeter)
    assert meter.settings.pue == 1.2


def test_public_names_are_all_exported() -> None:
    public = {
        name
        for name, value in vars(zuinig.meter).items()
        if not name.startswith("_") and not isinstance(value, type(sys))
    }
    public -= {"annotations", "Settings"}
    assert set(zuinig.meter.__all__) == public


def test_importing_zuinig_does_not_import_codecarbon() -> None:
    code = "import sys, zuinig, zuinig.meter; print('codecarbon' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "False"
