"""Numbers a person reads in ``runs list``, ``runs show`` and after ``zuinig run`` are
written in a unit that keeps their digits, never as a raw float such as ``4.12e-08``
(issue 10, polish item 2); JSON keeps the exact numbers."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime

import pytest

from zuinig.cli.text import (
    format_breakdown,
    format_run,
    format_run_summary,
    format_runs_json,
    format_runs_table,
)
from zuinig.ledger.model import Run
from zuinig.units import format_co2

#: A short measured job: 1.5e-07 kWh, 4.12e-08 kg CO2e, 4.2e-05 s of CPU.
TINY = Run(
    run_id="tiny-0001-0000-4000-8000-000000000000",
    job="klein",
    status="ok",
    started_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
    duration_s=0.000031,
    energy_kwh=1.5e-7,
    cpu_energy_kwh=1.1e-7,
    ram_energy_kwh=4e-8,
    co2_kg=4.12e-8,
    cpu_s=4.2e-5,
    method_meter="codecarbon 3.3.2",
    method_cpu="rapl",
)
#: Python's way of writing a small or large float: what no person should have to read.
EXPONENT = re.compile(r"\d[eE][-+]?\d")


@pytest.mark.parametrize(
    ("kg", "text"),
    [
        (4.12e-8, "41.2 µg CO₂e"),
        (3.2e-3, "3.2 g CO₂e"),
        (2.5e-6, "2.5 mg CO₂e"),
        (12.0, "12 kg CO₂e"),
        (2_500.0, "2.5 t CO₂e"),
        (0.0, "0 kg CO₂e"),
    ],
)
def test_co2_is_written_in_the_unit_that_keeps_its_digits(kg: float, text: str) -> None:
    assert format_co2(kg) == text


def test_runs_list_shows_co2e_with_its_unit() -> None:
    header, row = format_runs_table([TINY])[:2]
    assert "CO2e" in header and "co2_kg" not in header
    assert "41.2 µg CO₂e" in row and "150 µWh" in row
    assert not EXPONENT.search(row), row


def test_runs_list_shows_an_estimates_co2e_range_in_one_unit() -> None:
    estimate = dataclasses.replace(
        TINY,
        method_cpu="cpu_load",
        energy_kwh_low=1e-7,
        energy_kwh_high=2e-7,
        co2_kg_low=2.1e-8,
        co2_kg_high=6.03e-8,
    )
    row = format_runs_table([estimate])[1]
    assert "41.2 µg CO₂e (21–60.3)" in row


def test_runs_show_and_the_run_summary_write_no_raw_floats() -> None:
    lines = format_run(TINY)
    shown = "\n".join(lines)
    assert not EXPONENT.search(shown), shown
    co2 = next(line for line in lines if line.strip().startswith("co2_kg "))
    assert "41.2 µg CO₂e" in co2
    energy = next(line for line in lines if line.strip().startswith("energy_kwh "))
    assert "150 µWh" in energy
    cpu = next(line for line in lines if line.strip().startswith("cpu_s "))
    assert "0.000042 s" in cpu
    summary = format_run_summary(TINY)
    assert "150 µWh" in summary and "41.2 µg CO₂e" in summary
    assert not EXPONENT.search(summary), summary
    child = format_breakdown([TINY])[-1]
    assert "150 µWh, 0.000042 s CPU" in child


def test_json_keeps_the_exact_numbers() -> None:
    (record,) = json.loads(format_runs_json([TINY]))
    assert record["co2_kg"] == 4.12e-8 and record["energy_kwh"] == 1.5e-7


def test_method_figures_and_shares_are_never_in_exponent_notation() -> None:
    odd = dataclasses.replace(
        TINY,
        method_cpu="cpu_load",
        method_cpu_tdp_w=0.00002,
        method_ram_power_w=0.00003,
        intensity_g_per_kwh=0.00001,
        cpu_share=1e-7,
        pue=1.0,
    )
    shown = "\n".join(format_run(odd))  # "in words" (Method.describe()) included
    assert not EXPONENT.search(shown), shown
    assert "0.00002 W" in shown and "0.00003 W" in shown and "0.00001 g/kWh" in shown
    assert "0.00001%" in shown
