"""The range of an estimate in ``runs list`` and ``runs show`` (issue 11, item 4)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from zuinig.cli.text import format_run, format_runs_table
from zuinig.ledger.model import Run
from zuinig.units import format_energy_range

ESTIMATE = Run(
    run_id="range-0001",
    job="woningbouwmonitor",
    status="ok",
    started_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
    duration_s=10.0,
    energy_kwh=2.3e-3,
    energy_kwh_low=1.2e-3,
    energy_kwh_high=3.4e-3,
    co2_kg=6e-4,
    co2_kg_low=3e-4,
    co2_kg_high=9e-4,
    method_meter="codecarbon 3.3.2",
    method_cpu="cpu_load",
    method_attribution="resource-share",
    cpu_share=0.25,
    ram_gb_s=12.5,
)
MEASURED = dataclasses.replace(ESTIMATE, run_id="range-0002", method_cpu="rapl")
OLD_RULE = dataclasses.replace(
    ESTIMATE,
    run_id="range-0003",
    energy_kwh_low=None,
    energy_kwh_high=None,
    co2_kg_low=None,
    co2_kg_high=None,
    method_attribution="codecarbon-process",
)


def _line(lines: list[str], name: str) -> str:
    return next(line for line in lines if line.strip().startswith(name + " "))


def test_range_in_words_shares_one_unit() -> None:
    assert format_energy_range(1.2e-3, 3.4e-3) == "between 1.2 and 3.4 Wh"
    assert format_energy_range(4e-4, 1.5e-3) == "between 0.4 and 1.5 Wh"
    assert format_energy_range(2.0, 3.5) == "between 2 and 3.5 kWh"


def test_runs_list_shows_an_estimates_range_compactly() -> None:
    header, estimate, measured, old, *notes = format_runs_table([ESTIMATE, MEASURED, OLD_RULE])
    assert "energy" in header
    assert "2.3 Wh (1.2–3.4)" in estimate
    assert "2.3 Wh" in measured and "(" not in measured.split("Wh")[1].split("measured")[0]
    assert "estimated (codecarbon-process)" in old  # runs of the earlier rule say so
    assert any("range of an estimate" in note for note in notes)


def test_runs_show_states_the_range_and_the_rule() -> None:
    lines = format_run(ESTIMATE)
    assert "estimated, between 1.2 and 3.4 Wh" in _line(lines, "energy_kwh")
    assert "between 300 and 900 mg CO₂e" in _line(lines, "co2_kg")
    assert "25%" in _line(lines, "cpu_share")
    assert "share of memory held" in _line(lines, "attribution")


def test_a_measured_run_shows_no_range() -> None:
    lines = format_run(MEASURED)
    assert "between" not in _line(lines, "energy_kwh")
    assert "between" not in _line(lines, "co2_kg")


def test_an_old_run_has_no_range_and_its_label() -> None:
    lines = format_run(OLD_RULE)
    assert "no range recorded" in _line(lines, "energy_kwh")
    assert "codecarbon-process (earlier rule)" in _line(lines, "attribution")
