"""Hand-built monthly reports for the renderer's tests (no ledger: the renderer never reads one)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from zuinig.report.model import (
    Equivalent,
    GroupFigures,
    IntensityUsed,
    MethodSummary,
    MonthlyReport,
    MonthPoint,
    OpenRecommendation,
    RealisedSaving,
    Totals,
)

#: Names a user could give a job or team, which must be shown and never run.
SCRIPT_NAME = "<script>alert(1)</script>"
QUOTES_NAME = "\"'&"


def totals(energy_kwh: float, runs: int = 10, **fields: float) -> Totals:
    """Totals for ``runs`` estimated runs of ``energy_kwh`` (intensity 300 g/kWh)."""
    values: dict[str, float] = {
        "runs": runs,
        "energy_kwh": energy_kwh,
        "co2_kg": energy_kwh * 0.3,
        "duration_s": runs * 60.0,
        "cpu_s": runs * 50.0,
        "processed_bytes": runs * 2_000_000_000,
        "ok": runs,
        "estimated_runs": runs,
        "estimated_energy_kwh": energy_kwh,
    }
    values.update(fields)
    return Totals(**values)  # type: ignore[arg-type]


def trend(month_energies: list[float]) -> tuple[MonthPoint, ...]:
    """Twelve months ending November 2026."""
    months = [f"2025-{m:02d}" for m in range(12, 13)] + [f"2026-{m:02d}" for m in range(1, 12)]
    return tuple(
        MonthPoint(month, 10, kwh, kwh * 0.3)
        for month, kwh in zip(months, month_energies, strict=True)
    )


def make_report(**changes: object) -> MonthlyReport:
    """November 2026: 1,234.5 kWh, up from 1,100 kWh in October, mostly by one job."""
    jobs = (
        GroupFigures("woningbouwmonitor", totals(800.0, runs=40), previous_energy_kwh=650.0),
        GroupFigures(SCRIPT_NAME, totals(300.0, runs=30), previous_energy_kwh=310.0),
        GroupFigures(QUOTES_NAME, totals(134.5, runs=20), previous_energy_kwh=140.0),
    )
    report = MonthlyReport(
        month="2026-11",
        previous_month="2026-10",
        generated_at=datetime(2026, 12, 1, 7, 30, tzinfo=UTC),
        tags={},
        team_tag="team",
        ledger="postgresql+psycopg://zuinig:***@db.example/zuinig",
        totals=totals(
            1234.5,
            runs=95,
            ok=90,
            failed=3,
            interrupted=2,
            measured_runs=5,
            estimated_runs=90,
            measured_energy_kwh=34.5,
            estimated_energy_kwh=1200.0,
        ),
        previous=totals(1100.0, runs=80),
        trend=trend([900, 950, 1000, 980, 1020, 1010, 990, 700, 1050, 1080, 1100, 1234.5]),
        jobs=jobs,
        teams=(
            GroupFigures("ruimte", totals(900.0, runs=60), previous_energy_kwh=800.0),
            GroupFigures(QUOTES_NAME, totals(234.5, runs=25), previous_energy_kwh=200.0),
            GroupFigures("", totals(100.0, runs=10), previous_energy_kwh=100.0),
        ),
        kinds=(
            GroupFigures("function", totals(1000.0, runs=80), previous_energy_kwh=900.0),
            GroupFigures("command", totals(234.5, runs=15), previous_energy_kwh=200.0),
        ),
        recommendations=(
            OpenRecommendation(
                job="woningbouwmonitor",
                kind="configuration",
                current="csv + pandas",
                recommended="parquet-zstd + duckdb",
                saving_kwh_per_year=420.0,
                saving_kwh_per_year_low=300.0,
                saving_kwh_per_year_high=510.0,
                saving_co2_kg_per_year=126.0,
                saving_eur_per_year=105.0,
                storage_saved_bytes=3.2e9,
                payback_days=2.5,
                confidence="clear",
                evidence="bench session 3f2a on permits.csv (1.2 GB)",
            ),
            OpenRecommendation(
                job=SCRIPT_NAME,
                kind="bench",
                current="csv + pandas",
                recommended=None,
                saving_kwh_per_year=None,
                saving_kwh_per_year_low=None,
                saving_kwh_per_year_high=None,
                saving_co2_kg_per_year=None,
                saving_eur_per_year=None,
                storage_saved_bytes=None,
                payback_days=None,
                confidence=None,
                evidence=None,
                command="zuinig bench --data 'x.csv' --job <script>",
            ),
        ),
        realised=(
            RealisedSaving(
                job="laden",
                before="csv + pandas",
                after="parquet + polars",
                since=datetime(2026, 11, 10, tzinfo=UTC),
                runs_in_month=20,
                saving_kwh_in_month=12.5,
                saving_kwh_in_month_low=10.0,
                saving_kwh_in_month_high=15.0,
                saving_kwh_per_year=150.0,
                method_match=True,
                followed_recommendation=True,
                confidence="clear",
            ),
        ),
        equivalents=(
            Equivalent(
                key="car_km",
                amount=2315.0,
                basis="co2_kg",
                constant=0.16,
                constant_unit="kg CO2e/km",
                source="CO2emissiefactoren.nl, personenauto benzine, 2024",
                source_url="https://www.co2emissiefactoren.nl/",
            ),
            Equivalent(
                key="household_days",
                amount=150.0,
                basis="energy_kwh",
                constant=8.2,
                constant_unit="kWh/day",
                source="CBS, 2023",
                source_url="javascript:alert(1)",
            ),
        ),
        method=MethodSummary(
            intensities=(IntensityUsed(300.0, "Our World in Data", 2023, "NLD", 95),),
            pue_values=(1.0,),
            cpu_methods={"cpu_load": 90, "rapl": 5},
            tdp_generic_runs=10,
            tdp_values_w=(65.0,),
            ram_power_values_w=(5.0,),
            tracking_modes={"process": 95},
            storage_wh_per_tb_hour=1.2,
            storage_replication=2.0,
            codecarbon_versions=("3.0.4",),
        ),
        price_eur_per_kwh=0.25,
    )
    return dataclasses.replace(report, **changes)  # type: ignore[arg-type]


def empty_report() -> MonthlyReport:
    """A month without any run, and nothing in the eleven months before it."""
    return make_report(
        totals=Totals(),
        previous=Totals(),
        trend=trend([0.0] * 12),
        jobs=(),
        teams=(),
        kinds=(),
        recommendations=(),
        realised=(),
        equivalents=(),
        method=MethodSummary(),
    )
