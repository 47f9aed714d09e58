"""``zuinig doctor``'s library half: what it finds, without printing anything."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from zuinig.config import Settings, load_settings
from zuinig.doctor import diagnose, ledger_status, rapl_status
from zuinig.errors import LedgerError, LedgerURLError
from zuinig.ledger import Ledger
from zuinig.meter import ReplayMeter
from zuinig.meter.base import CPU_METHOD_RAPL, Method


class FixedMethodMeter(ReplayMeter):
    def __init__(self, method: Method) -> None:
        super().__init__(energy_kwh=0.0)
        self._method = method

    def method(self) -> Method:
        return self._method


RAPL = Method(meter="codecarbon 3.3.2", cpu_method=CPU_METHOD_RAPL, intensity_g_per_kwh=268.0)
GUESS = Method(
    meter="codecarbon 3.3.2",
    cpu_method="cpu_load",
    cpu_tdp_w=8.0,
    cpu_tdp_is_generic=True,
    cpu_count=2,
    intensity_g_per_kwh=268.0,
)


def test_measured_figures_get_no_estimate_warning(sqlite_url: str) -> None:
    diagnosis = diagnose(Settings(), ledger_url=sqlite_url, meter=FixedMethodMeter(RAPL))
    assert diagnosis.estimated is False
    assert not any("ESTIMATE" in warning for warning in diagnosis.warnings)
    assert "RAPL" in diagnosis.tdp_source


def test_a_generic_tdp_is_called_a_guess_and_calibration_is_offered(sqlite_url: str) -> None:
    diagnosis = diagnose(Settings(), ledger_url=sqlite_url, meter=FixedMethodMeter(GUESS))
    assert diagnosis.estimated is True
    assert (
        "generic guess" in diagnosis.tdp_source and "4 W per CPU thread x 2" in diagnosis.tdp_source
    )
    assert any("ESTIMATES" in warning for warning in diagnosis.warnings)
    assert any("cpu_power_w" in warning for warning in diagnosis.warnings)
    calibration = "\n".join(diagnosis.calibration)
    for key in ("cpu_power_w", "ram_power_w", "pue", "intensity_g_per_kwh", "intensity_source"):
        assert f"{key} = " in calibration


def test_calibrated_settings_are_named_as_the_source(sqlite_url: str) -> None:
    settings = Settings(
        cpu_power_w=65.0,
        ram_power_w=10.0,
        intensity_g_per_kwh=300.0,
        intensity_source="supplier 2025",
        origins={"cpu_power_w": "/x/zuinig.toml", "ram_power_w": "env"},
    )
    diagnosis = diagnose(settings, ledger_url=sqlite_url, meter=FixedMethodMeter(GUESS))
    assert diagnosis.tdp_source == "your setting cpu_power_w (/x/zuinig.toml)"
    assert diagnosis.ram_source == "your setting ram_power_w (env)"
    assert diagnosis.intensity_origin.startswith("your setting intensity_g_per_kwh")
    assert not any("generic guess" in warning for warning in diagnosis.warnings)


def test_a_password_in_the_ledger_setting_is_masked(sqlite_url: str) -> None:
    settings = Settings(ledger="postgresql+psycopg://analyst:s3cret@db.example/zuinig")
    diagnosis = diagnose(settings, ledger_url=sqlite_url, meter=FixedMethodMeter(GUESS))
    shown = {item.name: item.value for item in diagnosis.settings}["ledger"]
    assert "s3cret" not in shown and "***" in shown
    assert "s3cret" not in repr(diagnosis.to_dict())


def test_an_unreachable_ledger_is_reported_not_raised(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = Ledger.open(sqlite_url)  # the file exists, so the doctor really opens it
    seed.close()

    def refuse(*args: object, **kwargs: object) -> Ledger:
        raise LedgerError("cannot open the ledger at x: connection refused")

    monkeypatch.setattr(Ledger, "open", refuse)
    diagnosis = diagnose(Settings(), ledger_url=sqlite_url, meter=FixedMethodMeter(GUESS))
    assert diagnosis.ledger.reachable is False
    assert "connection refused" in (diagnosis.ledger.problem or "")
    assert any("ledger cannot be used" in warning for warning in diagnosis.warnings)


def test_a_malformed_ledger_url_is_raised() -> None:
    with pytest.raises(LedgerURLError):
        ledger_status("nonsense://x")


def test_a_silent_database_does_not_hold_the_doctor_up(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    Ledger.open(sqlite_url).close()
    release = threading.Event()

    def hang(*args: object, **kwargs: object) -> Ledger:
        release.wait(10)
        raise LedgerError("gave up")

    monkeypatch.setattr(Ledger, "open", hang)
    started = time.perf_counter()
    try:
        status = ledger_status(sqlite_url, timeout_s=0.2)
    finally:
        release.set()
    assert time.perf_counter() - started < 1.0
    assert status.reachable is False
    assert "no answer" in (status.problem or "")


def test_rapl_status_reads_the_counters(tmp_path: Path) -> None:
    assert rapl_status(tmp_path).readable is False
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "energy_uj").write_text("123\n")
    status = rapl_status(tmp_path)
    assert status.readable is True
    assert str(zone / "energy_uj") in status.detail


@pytest.mark.slow
def test_the_real_meter_is_asked_quickly(sqlite_url: str) -> None:
    diagnose(load_settings(), ledger_url=sqlite_url)  # the first look may fill caches
    started = time.perf_counter()
    diagnosis = diagnose(load_settings(), ledger_url=sqlite_url)
    assert time.perf_counter() - started < 2.0
    assert diagnosis.method.meter.startswith("codecarbon")
    assert diagnosis.method.intensity_g_per_kwh is not None
    assert diagnosis.method.intensity_source
