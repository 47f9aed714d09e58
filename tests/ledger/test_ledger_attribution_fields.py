"""A measurement's attribution figures reach the run and the ledger (issue 11, item 7)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from zuinig.ledger import Ledger, Run
from zuinig.meter.base import ATTRIBUTION_RESOURCE_SHARE, GPU_METHOD_NONE, Measurement, Method

STARTED = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
METHOD = Method(
    meter="codecarbon 3.3.2",
    cpu_method="cpu_load",
    cpu_tdp_w=8.0,
    cpu_tdp_is_generic=True,
    tracking_mode="process",
    intensity_g_per_kwh=268.0,
    gpu_method=GPU_METHOD_NONE,
    attribution=ATTRIBUTION_RESOURCE_SHARE,
    cpu_coefficients="Cloud Carbon Footprint (2021), 0.74 to 3.5 W per vCPU",
)
MEASUREMENT = Measurement(
    started_at=STARTED,
    ended_at=STARTED + timedelta(seconds=10),
    duration_s=10.0,
    energy_kwh=2.3e-6,
    energy_kwh_low=1.2e-6,
    energy_kwh_high=3.4e-6,
    co2_kg=2.3e-6 * 0.268,
    co2_kg_low=1.2e-6 * 0.268,
    co2_kg_high=3.4e-6 * 0.268,
    intensity_g_per_kwh=268.0,
    cpu_s=4.0,
    cpu_share=0.2,
    ram_gb_s=1.5,
    method=METHOD,
)


def test_with_measurement_carries_the_range_shares_and_rule() -> None:
    run = Run("attr-1", "job", "running", STARTED).with_measurement(MEASUREMENT)
    for name in ("energy_kwh_low", "energy_kwh_high", "co2_kg_low", "co2_kg_high"):
        assert getattr(run, name) == getattr(MEASUREMENT, name), name
    assert (run.cpu_share, run.ram_gb_s) == (0.2, 1.5)
    assert (run.method_attribution, run.method_gpu) == ("resource-share", "none")
    assert run.method_cpu_coefficients == METHOD.cpu_coefficients
    assert run.method() == METHOD  # the flattened method rebuilds exactly


def test_the_fields_round_trip_through_the_ledger(ledger: Ledger) -> None:
    run = dataclasses.replace(
        Run("attr-2", "job", "running", STARTED).with_measurement(MEASUREMENT), status="ok"
    )
    ledger.finish_run(run)
    assert ledger.get_run("attr-2") == run
    (brief,) = ledger.list_run_briefs()
    assert (brief.method_attribution, brief.energy_kwh_low, brief.energy_kwh_high) == (
        "resource-share",
        1.2e-6,
        3.4e-6,
    )
