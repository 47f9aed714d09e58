"""The attribution rule and the published coefficients: exact arithmetic on made-up figures."""

from __future__ import annotations

from collections import namedtuple

import pytest

from zuinig.meter.attribution import (
    JobUse,
    MachineEnergy,
    Span,
    attribute,
    busy_and_total_s,
    busy_fraction,
    cpu_share,
    ram_share,
)
from zuinig.meter.base import ATTRIBUTION_MACHINE, ATTRIBUTION_RESOURCE_SHARE
from zuinig.meter.coefficients import CCF_VCPU_WATTS, VcpuWatts, coefficients_for

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def _machine(cpu: Span, ram: Span, gpu: Span | None = None) -> MachineEnergy:
    return MachineEnergy(
        cpu_kwh=cpu,
        ram_kwh=ram,
        gpu_kwh=gpu,
        busy_cpu_s=8.0,
        memory_total_gb=24.0,
        duration_s=10.0,
    )


def test_busy_and_total_leave_idle_and_iowait_out_and_do_not_count_guest_twice() -> None:
    before = Times(10, 0, 5, 100, 2, 0, 0, 0, 0, 0)
    after = Times(16, 1, 6, 110, 3, 1, 0, 0, 4, 0)  # 4 s guest inside user
    busy, total = busy_and_total_s(before, after)
    assert total == pytest.approx(6 + 1 + 1 + 10 + 1 + 1)
    assert busy == pytest.approx(6 + 1 + 1 + 1)
    assert busy_fraction(busy, total) == pytest.approx(9 / 20)
    assert busy_fraction(0.0, 0.0) == 0.0


def test_cpu_share_is_the_trees_part_of_the_machines_busy_time_capped_at_one() -> None:
    assert cpu_share(2.0, 8.0) == 0.25
    assert cpu_share(9.0, 8.0) == 1.0  # tick rounding: never more than the machine
    assert cpu_share(0.01, 0.0) == 1.0  # the machine's counter has not shown it yet
    assert cpu_share(0.0, 8.0) == 0.0
    assert cpu_share(None, 8.0) == 0.0


def test_ram_share_is_memory_held_over_total_memory_and_time() -> None:
    # 2 GB held for 10 s on a 20 GB machine: a tenth of its memory over the window.
    assert ram_share(20.0, 20.0, 10.0) == pytest.approx(0.1)
    assert ram_share(None, 20.0, 10.0) == 0.0
    assert ram_share(5.0, 20.0, 0.0) == 0.0


def test_resource_share_charges_cpu_by_cpu_time_and_ram_by_memory_held() -> None:
    machine = _machine(cpu=Span(4.0, 2.0, 6.0), ram=Span(2.0, 1.0, 2.0), gpu=Span.exact(1.0))
    job = JobUse(duration_s=10.0, cpu_s=2.0, ram_gb_s=24.0)  # 2.4 GB held on average
    shared = attribute(machine, job, rule=ATTRIBUTION_RESOURCE_SHARE, pue=1.5)
    assert shared.cpu_share == 0.25
    assert shared.ram_share == pytest.approx(0.1)
    assert shared.cpu_kwh == Span(4.0 * 0.25 * 1.5, 2.0 * 0.25 * 1.5, 6.0 * 0.25 * 1.5)
    assert shared.ram_kwh.value == pytest.approx(2.0 * 0.1 * 1.5)
    assert shared.gpu_kwh == Span.exact(1.5)  # machine-wide
    assert shared.energy_kwh.value == pytest.approx(1.5 + 0.3 + 1.5)
    assert shared.energy_kwh.low == pytest.approx(0.75 + 0.15 + 1.5)
    assert shared.energy_kwh.high == pytest.approx(2.25 + 0.3 + 1.5)


def test_machine_rule_charges_everything() -> None:
    machine = _machine(cpu=Span.exact(4.0), ram=Span.exact(2.0))
    job = JobUse(duration_s=10.0, cpu_s=0.0, ram_gb_s=0.0)
    shared = attribute(machine, job, rule=ATTRIBUTION_MACHINE, pue=1.0)
    assert (shared.cpu_share, shared.ram_share) == (1.0, 1.0)
    assert shared.energy_kwh == Span.exact(6.0)
    assert shared.gpu_kwh is None


def test_side_by_side_jobs_add_up_to_no_more_than_the_machine() -> None:
    machine = _machine(cpu=Span(4.0, 3.0, 5.0), ram=Span.exact(2.0))
    jobs = [JobUse(10.0, cpu_s=2.0, ram_gb_s=60.0) for _ in range(4)]  # 4 x 2 s = busy 8 s
    parts = [attribute(machine, job, rule=ATTRIBUTION_RESOURCE_SHARE, pue=1.0) for job in jobs]
    assert sum(p.cpu_kwh.value for p in parts) == pytest.approx(4.0)
    assert sum(p.ram_kwh.value for p in parts) <= 2.0
    outer = attribute(machine, JobUse(10.0, 8.0, 240.0), rule=ATTRIBUTION_RESOURCE_SHARE, pue=1.0)
    assert sum(p.energy_kwh.value for p in parts) == pytest.approx(outer.energy_kwh.value)


def test_ccf_coefficients_are_the_published_rows() -> None:
    assert CCF_VCPU_WATTS["AMD EPYC 2nd Gen"] == VcpuWatts(0.47, 1.69)
    assert CCF_VCPU_WATTS["AMD EPYC 3rd Gen"] == VcpuWatts(0.45, 2.02)
    rome = coefficients_for("AMD EPYC 7B12")
    assert rome.central == rome.low == rome.high == VcpuWatts(0.47, 1.69)
    unknown_generation = coefficients_for("AMD EPYC")
    assert unknown_generation.central.min_w == pytest.approx((0.82 + 0.47 + 0.45) / 3)
    assert unknown_generation.central.max_w == pytest.approx((2.55 + 1.69 + 2.02) / 3)
    assert unknown_generation.low == VcpuWatts(0.45, 1.69)
    assert unknown_generation.high == VcpuWatts(0.82, 2.55)
    assert "Cloud Carbon Footprint" in unknown_generation.describe()
    assert "2022" in unknown_generation.describe()
    anything = coefficients_for("Some Future CPU")
    assert anything.low.min_w == 0.45 and anything.high.max_w == 8.58


def test_the_ccf_curve_is_linear_in_the_busy_fraction() -> None:
    watts = VcpuWatts(0.5, 2.5)
    assert watts.power_w(2, 0.0) == 1.0
    assert watts.power_w(2, 0.5) == 3.0
    assert watts.power_w(2, 1.0) == 5.0
    assert watts.power_w(2, 1.7) == 5.0  # clamped
