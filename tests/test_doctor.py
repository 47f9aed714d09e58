"""``zuinig doctor``'s library half: what it finds, without printing anything."""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import time
from pathlib import Path

import psutil
import pytest

from zuinig.atomic import STALE_AFTER_S
from zuinig.cli.text import format_diagnosis
from zuinig.config import Settings, load_settings
from zuinig.doctor import diagnose, ledger_status, rapl_status
from zuinig.errors import LedgerError, LedgerURLError
from zuinig.ledger import Ledger
from zuinig.meter import ReplayMeter
from zuinig.meter.base import (
    ATTRIBUTION_MACHINE,
    ATTRIBUTION_RESOURCE_SHARE,
    ATTRIBUTION_RULES,
    CPU_METHOD_RAPL,
    Method,
)
from zuinig.meter.coefficients import CCF_SOURCE, CCF_YEAR, coefficients_for


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


#: What the meter builds on a VM whose EPYC CodeCarbon's table does not list.
CCF_GUESS = Method(
    meter="codecarbon 3.3.2",
    cpu_method="cpu_load",
    cpu_model="AMD EPYC 7B13",
    cpu_tdp_w=8.0,
    cpu_tdp_is_generic=True,
    cpu_count=2,
    ram_model="CodeCarbon estimate for the machine's memory",
    ram_power_w=20.0,
    tracking_mode="process",
    intensity_g_per_kwh=268.0,
    attribution=ATTRIBUTION_RESOURCE_SHARE,
    cpu_coefficients=coefficients_for("AMD EPYC 7B13").describe(),
)


def test_doctor_text_states_the_rule_the_coefficients_the_ram_basis_and_the_range(
    sqlite_url: str,
) -> None:
    diagnosis = diagnose(Settings(), ledger_url=sqlite_url, meter=FixedMethodMeter(CCF_GUESS))
    lines = format_diagnosis(diagnosis)
    text = "\n".join(lines)

    def line(label: str) -> str:
        (found,) = [item for item in lines if item.startswith(f"{label}  ")]
        return found

    assert ATTRIBUTION_RULES[ATTRIBUTION_RESOURCE_SHARE] in line("attribution")
    watts = line("CPU watts from")
    assert CCF_SOURCE in watts and str(CCF_YEAR) in watts and "AMD EPYC 3rd Gen" in watts
    assert "not used" in line("TDP from")
    memory_gb = psutil.virtual_memory().total / 1e9
    assert f"20 W (CodeCarbon) for the machine's {memory_gb:.1f} GB of memory" in text
    # EPYC 3rd gen, 2 vCPUs: 0.45 and 2.02 W per vCPU idle and full, one row, no spread.
    span = line("range")
    assert "CPU between 0.9 and 0.9 W idle, between 4.04 and 4.04 W at full load" in span
    ram_low = f"{0.392 * memory_gb:.3g}"
    assert f"RAM between {ram_low} and 20 W" in span or f"RAM between 20 and {ram_low} W" in span
    assert "e-0" not in text


def test_doctor_text_states_the_machine_rule_when_chosen(sqlite_url: str) -> None:
    method = dataclasses.replace(CCF_GUESS, attribution=ATTRIBUTION_MACHINE)
    diagnosis = diagnose(Settings(), ledger_url=sqlite_url, meter=FixedMethodMeter(method))
    text = "\n".join(format_diagnosis(diagnosis))
    assert ATTRIBUTION_RULES[ATTRIBUTION_MACHINE] in text


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


# -- temporary files of interrupted writes ------------------------------------------------


def _leave_temporary(folder: Path, target: str, size_bytes: int, age_s: float) -> Path:
    """A temporary file as a killed atomic writer leaves it (zuinig.atomic's naming)."""
    path = folder / f".{target}.zuinig-{len(target):012x}.tmp"
    path.write_bytes(b"x" * size_bytes)
    moment = time.time() - age_s
    os.utime(path, (moment, moment))
    return path


def test_doctor_lists_leftover_temporaries_in_the_folders_zuinig_writes_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger_folder, work, elsewhere = tmp_path / "ledger", tmp_path / "work", tmp_path / "other"
    for folder in (ledger_folder, work, elsewhere):
        folder.mkdir()
    monkeypatch.chdir(work)
    _leave_temporary(ledger_folder, "report.pdf", 1_500_000, age_s=2 * STALE_AFTER_S)
    _leave_temporary(work, "big.parquet", 2_000, age_s=2 * STALE_AFTER_S)
    _leave_temporary(work, "runs.csv", 500, age_s=10.0)  # maybe a live write: not stale
    _leave_temporary(elsewhere, "x.csv", 100, age_s=2 * STALE_AFTER_S)  # not looked at
    (work / ".keep.zuinig-0123456789ab.tmp").mkdir()  # the name, but not a file
    (work / "notes.tmp").write_text("not zuinig's")

    url = f"sqlite:///{ledger_folder / 'ledger.sqlite'}"
    diagnosis = diagnose(Settings(), ledger_url=url, meter=FixedMethodMeter(RAPL))

    files = diagnosis.temporary_files
    assert str(ledger_folder) in files.looked_in and str(work) in files.looked_in
    assert str(elsewhere) not in files.looked_in
    found = {item.folder: item for item in files.found}
    assert set(found) == {str(ledger_folder), str(work)}
    assert (found[str(work)].count, found[str(work)].size_bytes) == (2, 2_500)
    assert found[str(work)].stale_count == 1
    assert (found[str(ledger_folder)].count, found[str(ledger_folder)].stale_count) == (1, 1)
    assert "when no zuinig is running" in found[str(work)].what_to_do

    text = "\n".join(format_diagnosis(diagnosis))
    assert "temporary files of interrupted writes" in text
    assert f"{work}: 2 files, 2.5 KB (2500 B), 1 older than 60 minutes" in text
    assert f"{ledger_folder}: 1 file, 1.5 MB (1500000 B), 1 older than 60 minutes" in text
    assert f"rm {work}/.*.zuinig-*.tmp" in text
    assert diagnosis.to_dict()["temporary_files"]["found"][0]["count"] in (1, 2)
    # Looking removes nothing: the sweep is the next write's job.
    assert len(list(work.glob(".*.zuinig-*.tmp"))) == 3


def test_doctor_says_where_it_looked_when_there_are_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    diagnosis = diagnose(
        Settings(), ledger_url=f"sqlite:///{tmp_path / 'l.sqlite'}", meter=FixedMethodMeter(RAPL)
    )
    assert diagnosis.temporary_files.found == ()
    lines = format_diagnosis(diagnosis)
    at = lines.index("temporary files of interrupted writes")
    assert lines[at + 1].startswith("  none in ") and str(tmp_path) in lines[at + 1]


def test_doctor_text_writes_no_exponent_notation(sqlite_url: str) -> None:
    tiny = dataclasses.replace(
        GUESS, cpu_tdp_w=0.00002, ram_power_w=0.00003, intensity_g_per_kwh=0.00001
    )
    diagnosis = diagnose(Settings(), ledger_url=sqlite_url, meter=FixedMethodMeter(tiny))
    lines = format_diagnosis(diagnosis)
    # The method part and the warnings: paths and hashes further down may hold "3e4".
    text = "\n".join(lines[: lines.index("ledger")] + list(diagnosis.warnings))
    assert "0.00002 W" in text and "0.00003 W" in text
    assert not re.search(r"\d[eE][-+]?\d", text), text


def test_doctor_shows_both_factors_with_source_year_row_and_boundary(sqlite_url: str) -> None:
    """The real meter, no contract: the Dutch table's grid mix of the newest list, and
    the market-based factor falling back to it with the reason (text and JSON)."""
    diagnosis = diagnose(Settings(), ledger_url=sqlite_url)
    text = "\n".join(format_diagnosis(diagnosis))
    location = next(line for line in text.splitlines() if "location-based factor" in line)
    assert "374 g/kWh (CO2emissiefactoren.nl, list 2024 (published 2024-01-12" in location
    assert 'row "Elektriciteit, Nederlandse productiemix 2021' in location
    assert "well-to-wheel: production and supply chain" in location
    market = next(line for line in text.splitlines() if "market-based factor" in line)
    assert "374 g/kWh" in market and "no row for electricity of unknown origin" in market
    assert "no contract set (market_factor)" in text
    factors = diagnosis.to_dict()["factors"]
    assert factors["location_based"]["year"] == 2024
    assert factors["location_based"]["boundary"] == "well-to-wheel"
    assert factors["market_based"]["g_per_kwh"] == 374.0


def test_doctor_shows_a_contract_as_the_market_factor(sqlite_url: str) -> None:
    settings = Settings(market_factor=15.0, market_factor_source="supplier label 2026")
    diagnosis = diagnose(settings, ledger_url=sqlite_url)
    text = "\n".join(format_diagnosis(diagnosis))
    assert "15 g/kWh (supplier label 2026)" in text
    assert "your setting market_factor = 15.0" in text
    market = diagnosis.to_dict()["factors"]["market_based"]
    assert (market["g_per_kwh"], market["source"], market["boundary"]) == (
        15.0,
        "supplier label 2026",
        None,
    )
