"""Where a run's method is shown, it names what was really used (issue 11 follow-up).

The resource-share meter estimates CPU power from published coefficients (CCF's per-vCPU
watts) where CodeCarbon only guesses a TDP; ``runs show``, the run summary and
:meth:`Method.describe` must say so, with the attribution rule, and never write a
figure as ``2e-05``.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

from zuinig.cli.text import format_run, format_run_summary
from zuinig.ledger.model import Run
from zuinig.meter.base import ATTRIBUTION_MACHINE, ATTRIBUTION_RESOURCE_SHARE, Method
from zuinig.meter.coefficients import CCF_SOURCE, CCF_YEAR, coefficients_for

EXPONENT = re.compile(r"\d[eE][-+]?\d")
CCF_EPYC = coefficients_for("AMD EPYC 7B13").describe()

CCF_RUN = Run(
    run_id="method-0001",
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
    method_cpu_model="AMD EPYC 7B13",
    method_cpu_tdp_w=8.0,
    method_cpu_tdp_is_generic=True,
    method_cpu_count=2,
    method_ram="CodeCarbon estimate for the machine's 25.3 GB",
    method_ram_power_w=20.0,
    method_attribution=ATTRIBUTION_RESOURCE_SHARE,
    method_cpu_coefficients=CCF_EPYC,
    pue=1.0,
    cpu_share=0.25,
    ram_gb_s=12.5,
)


def _line(lines: list[str], name: str) -> str:
    (found,) = [line for line in lines if line.strip().startswith(name + "  ")]
    return found


def test_runs_show_names_the_coefficients_not_the_unused_tdp_guess() -> None:
    lines = format_run(CCF_RUN)
    cpu = _line(lines, "cpu_energy_kwh")
    assert CCF_SOURCE in cpu and str(CCF_YEAR) in cpu and "AMD EPYC 3rd Gen" in cpu
    assert "TDP" not in cpu and "generic guess" not in cpu
    assert "x TDP" not in _line(lines, "CPU method")
    assert "not used" in _line(lines, "TDP")
    assert _line(lines, "CPU watts from").endswith(CCF_EPYC)
    assert "resource share" in _line(lines, "attribution")
    words = _line(lines, "in words")
    assert CCF_SOURCE in words and "share of the CPU time" in words and "20 W" in words


def test_a_run_without_coefficients_keeps_its_tdp_wording() -> None:
    older = dataclasses.replace(CCF_RUN, method_cpu_coefficients=None, method_attribution=None)
    cpu = _line(format_run(older), "cpu_energy_kwh")
    assert "TDP 8 W, a generic guess" in cpu


def test_the_run_summary_gives_the_range_and_the_rule() -> None:
    summary = format_run_summary(CCF_RUN)
    assert "2.3 Wh (between 1.2 and 3.4 Wh)" in summary
    assert "estimated, shared by CPU time and memory held" in summary
    machine = format_run_summary(
        dataclasses.replace(CCF_RUN, method_attribution=ATTRIBUTION_MACHINE)
    )
    assert "the whole machine charged" in machine


def test_describe_writes_no_exponent_notation() -> None:
    method = Method(
        meter="replay",
        cpu_method="cpu_load",
        cpu_tdp_w=0.00002,
        ram_model="from settings",
        ram_power_w=0.00003,
        pue=1.00001,
        intensity_g_per_kwh=0.00001,
    )
    words = method.describe()
    assert not EXPONENT.search(words), words
    assert "TDP 0.00002 W" in words and "0.00003 W" in words and "0.00001 g/kWh" in words
    generic = dataclasses.replace(
        method, cpu_tdp_is_generic=True, cpu_coefficients=CCF_EPYC
    ).describe()
    assert not EXPONENT.search(generic) and "0.00002 W, not used" in generic


def test_describe_names_the_market_based_factor_beside_the_location_based_one() -> None:
    method = Method(
        meter="replay",
        cpu_method="cpu_load",
        intensity_g_per_kwh=374.0,
        intensity_source="CO2emissiefactoren.nl 2024, grid mix",
        market_intensity_g_per_kwh=0.0,
        market_intensity_source="contract: wind NL with GvO",
    )
    words = method.describe()
    assert "374 g/kWh (CO2emissiefactoren.nl 2024, grid mix)" in words
    assert "market-based 0 g/kWh (contract: wind NL with GvO)" in words
    assert (
        "market-based"
        not in dataclasses.replace(method, market_intensity_g_per_kwh=None).describe()
    )
