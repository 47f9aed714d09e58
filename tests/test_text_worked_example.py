"""A worked example a person can follow, from hand-made figures to the text they read.

The machine: a VM with 2 vCPUs of an AMD EPYC 7B13 (Milan, 3rd gen), which CodeCarbon's
TDP table does not list, and 25 GB of memory that CodeCarbon puts at 20 W.

The hour: the machine was busy half the time (3,600 of its 7,200 CPU-seconds). With
Cloud Carbon Footprint's EPYC 3rd gen figures, 0.45 W per vCPU idle and 2.02 W at full
load, the CPU drew 2 x (0.45 + 0.5 x (2.02 - 0.45)) = 2.47 W: 2.47 Wh in the hour.
RAM: 20 W (CodeCarbon), or 25 GB x 0.392 W per GB = 9.8 W (CCF): 9.8 to 20 Wh.

The job: 1,440 CPU-seconds (40% of the machine's busy CPU time) and 2.5 GB held for the
hour (9,000 GB-seconds, 10% of the memory). Its share: 0.4 x 2.47 = 0.988 Wh of CPU and
0.1 x 20 = 2 Wh of RAM, 2.988 Wh in all; at CCF's RAM figure 0.988 + 0.98 = 1.968 Wh.
At 268 g CO2e per kWh: about 0.8 g CO2e, between 0.53 and 0.8 g.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from zuinig.cli.text import format_run, format_run_summary
from zuinig.ledger.model import Run
from zuinig.meter.attribution import JobUse, MachineEnergy, Span, attribute
from zuinig.meter.base import ATTRIBUTION_RESOURCE_SHARE, ATTRIBUTION_RULES, Measurement, Method
from zuinig.meter.coefficients import CCF_MEMORY_W_PER_GB, CCF_VCPU_WATTS, coefficients_for

HOUR_S = 3600.0
VCPUS = 2
MEMORY_GB = 25.0
INTENSITY = 268.0
EPYC_3 = CCF_VCPU_WATTS["AMD EPYC 3rd Gen"]

# The figures worked out by hand in the module's docstring (kWh).
CPU_KWH = 0.4 * VCPUS * (0.45 + 0.5 * (2.02 - 0.45)) / 1000
RAM_KWH = 0.1 * 20.0 / 1000
RAM_KWH_LOW = 0.1 * MEMORY_GB * 0.392 / 1000

METHOD = Method(
    meter="codecarbon 3.3.2",
    cpu_method="cpu_load",
    cpu_model="AMD EPYC 7B13",
    cpu_tdp_w=8.0,
    cpu_tdp_is_generic=True,
    cpu_count=VCPUS,
    ram_model=f"CodeCarbon estimate for the machine's {MEMORY_GB:.1f} GB",
    ram_power_w=20.0,
    tracking_mode="process",
    intensity_g_per_kwh=INTENSITY,
    intensity_source="test grid",
    attribution=ATTRIBUTION_RESOURCE_SHARE,
    cpu_coefficients=coefficients_for("AMD EPYC 7B13").describe(),
)
START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
MEASUREMENT = Measurement(
    started_at=START,
    ended_at=START + timedelta(seconds=HOUR_S),
    duration_s=HOUR_S,
    energy_kwh=CPU_KWH + RAM_KWH,
    cpu_energy_kwh=CPU_KWH,
    ram_energy_kwh=RAM_KWH,
    energy_kwh_low=CPU_KWH + RAM_KWH_LOW,
    energy_kwh_high=CPU_KWH + RAM_KWH,
    co2_kg=(CPU_KWH + RAM_KWH) * INTENSITY / 1000,
    co2_kg_low=(CPU_KWH + RAM_KWH_LOW) * INTENSITY / 1000,
    co2_kg_high=(CPU_KWH + RAM_KWH) * INTENSITY / 1000,
    intensity_g_per_kwh=INTENSITY,
    cpu_s=1440.0,
    cpu_share=0.4,
    ram_gb_s=9000.0,
    method=METHOD,
)
RUN = Run(run_id="worked-0001", job="woningbouwmonitor", status="ok", started_at=START)


def test_the_hand_figures_are_what_the_rule_gives() -> None:
    """The example is the meter's own arithmetic, not a story beside it."""
    machine_cpu_w = EPYC_3.power_w(VCPUS, 0.5)
    machine = MachineEnergy(
        cpu_kwh=Span.exact(machine_cpu_w * HOUR_S / 3.6e6),
        ram_kwh=Span(20.0 / 1000, CCF_MEMORY_W_PER_GB * MEMORY_GB / 1000, 20.0 / 1000),
        gpu_kwh=None,
        busy_cpu_s=0.5 * VCPUS * HOUR_S,
        memory_total_gb=MEMORY_GB,
        duration_s=HOUR_S,
    )
    job = JobUse(duration_s=HOUR_S, cpu_s=MEASUREMENT.cpu_s, ram_gb_s=MEASUREMENT.ram_gb_s)
    shared = attribute(machine, job, rule=ATTRIBUTION_RESOURCE_SHARE, pue=1.0)
    assert shared.cpu_share == pytest.approx(0.4)
    assert shared.energy_kwh.value == pytest.approx(MEASUREMENT.energy_kwh)
    assert shared.energy_kwh.low == pytest.approx(MEASUREMENT.energy_kwh_low)
    assert shared.energy_kwh.high == pytest.approx(MEASUREMENT.energy_kwh_high)


def test_runs_show_states_the_figure_its_range_and_the_rule_in_human_units() -> None:
    text = "\n".join(format_run(RUN.with_measurement(MEASUREMENT)))
    assert re.search(r"\n  energy_kwh +2\.99 Wh", text)
    assert "estimated, between 1.97 and 2.99 Wh" in text
    assert "between 527 and 801 mg CO₂e" in text
    assert "988 mWh" in text and "2 Wh" in text  # CPU and RAM parts
    assert "40%" in text and "9,000" in text  # the shares that charged them
    assert "AMD EPYC 3rd Gen, 0.45-2.02 W per vCPU idle-full" in text
    assert ATTRIBUTION_RULES[ATTRIBUTION_RESOURCE_SHARE] in text
    assert "e-0" not in text


def test_the_run_summary_states_the_figure_its_range_and_the_rule() -> None:
    summary = format_run_summary(RUN.with_measurement(MEASUREMENT))
    assert "2.99 Wh (between 1.97 and 2.99 Wh)" in summary
    assert "801 mg CO₂e" in summary
    assert "estimated, shared by CPU time and memory held" in summary
