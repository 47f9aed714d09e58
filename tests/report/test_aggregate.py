"""The monthly report's figures, on a fixed ledger whose answers were worked out by hand
(see report_fixture.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from report_fixture import EXPECTED, FixtureExpectations, build_fixture_ledger, fixture_runs

from zuinig.config import Settings
from zuinig.errors import UsageError
from zuinig.ledger import Ledger
from zuinig.ledger.store import RunGroup
from zuinig.report.aggregate import build_report
from zuinig.report.equivalents import (
    HOUSEHOLD_KWH_PER_YEAR,
    NEW_CAR_KG_CO2_PER_KM,
    PETROL_KG_CO2_PER_LITRE,
    equivalents,
)
from zuinig.report.model import MonthlyReport, Totals

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def expected(ledger: Ledger) -> FixtureExpectations:
    """The fixture written into ``ledger``, and what its report must show."""
    return build_fixture_ledger(ledger)


def _report(ledger: Ledger, month: str = EXPECTED.month, **options: object) -> MonthlyReport:
    return build_report(ledger, Settings(), month=month, now=NOW, **options)  # type: ignore[arg-type]


def _fields(totals: Totals, names: object) -> dict[str, object]:
    return {name: getattr(totals, name) for name in names}  # type: ignore[attr-defined]


def test_totals_of_the_month_and_the_month_before(
    ledger: Ledger,
    expected: FixtureExpectations,
) -> None:
    report = _report(ledger)
    assert report.month == expected.month and report.previous_month == expected.previous_month
    assert dataclasses.asdict(report.totals) == expected.totals
    previous = dataclasses.asdict(report.previous)
    assert {k: v for k, v in previous.items() if v} == expected.previous
    assert report.change_kwh == expected.change_kwh
    assert report.change_ratio == expected.change_ratio
    assert report.generated_at == NOW and report.ledger == ledger.display_url


def test_children_are_not_summed_but_their_parent_is(
    ledger: Ledger,
    expected: FixtureExpectations,
) -> None:
    children = [run for run in fixture_runs() if run.parent_run_id is not None]
    assert children, "the fixture has nested runs"
    report = _report(ledger)
    job = next(item for item in report.jobs if item.name == children[0].job)
    # 0.5 (RAPL run) + 0.25 (the parent); the children's 2 x 0.125 would make it 1.0.
    assert job.totals.energy_kwh == 0.75 and job.totals.runs == 2


def test_jobs_teams_and_kinds_with_the_previous_month(
    ledger: Ledger,
    expected: FixtureExpectations,
) -> None:
    report = _report(ledger)
    for figures, wanted in (
        (report.jobs, expected.jobs),
        (report.teams, expected.teams),
        (report.kinds, expected.kinds),
    ):
        got = tuple((g.name, g.totals.energy_kwh, g.previous_energy_kwh) for g in figures)
        assert got == wanted
    woningbouw = report.jobs[1]
    assert woningbouw.change_kwh == 0.75 - 2.0


def test_the_interrupted_run_and_the_failed_one_are_counted_by_status(
    ledger: Ledger,
    expected: FixtureExpectations,
) -> None:
    report = _report(ledger)
    team = next(item for item in report.teams if item.name == expected.names[1])
    assert (team.totals.failed, team.totals.interrupted, team.totals.running) == (1, 1, 0)
    assert team.totals.unmeasured_runs == 1


def test_twelve_month_trend_ends_with_the_month(
    ledger: Ledger,
    expected: FixtureExpectations,
) -> None:
    trend = _report(ledger).trend
    assert tuple((p.month, p.runs, p.energy_kwh, p.co2_kg) for p in trend) == expected.trend


def test_tag_filter_narrows_every_figure(
    ledger: Ledger,
    expected: FixtureExpectations,
) -> None:
    report = _report(ledger, tags={"team": "ruimte"})
    assert report.tags == {"team": "ruimte"}
    assert _fields(report.totals, expected.ruimte) == expected.ruimte
    assert report.previous.energy_kwh == expected.ruimte_previous_energy_kwh
    assert [team.name for team in report.teams] == ["ruimte"]
    assert {job.name for job in report.jobs} == {
        "woningbouwmonitor",
        "afvalmonitor",
        expected.names[2],
    }
    assert report.trend[-1].energy_kwh == expected.ruimte["energy_kwh"]
    assert {r.job for r in report.recommendations} <= {"woningbouwmonitor", "afvalmonitor"}


def test_method_section(
    ledger: Ledger,
    expected: FixtureExpectations,
) -> None:
    method = _report(ledger).method
    got = {
        "intensities": tuple(
            (i.intensity_g_per_kwh, i.source, i.year, i.country_iso_code, i.runs)
            for i in method.intensities
        ),
        **{name: getattr(method, name) for name in expected.method if name != "intensities"},
    }
    assert got == dict(expected.method)
    settings = Settings()
    assert method.storage_wh_per_tb_hour == settings.storage_wh_per_tb_hour
    assert method.storage_replication == settings.storage_replication


def test_advice_and_realised_saving(
    ledger: Ledger,
    expected: FixtureExpectations,
) -> None:
    report = _report(ledger)
    assert tuple(r.job for r in report.recommendations) == expected.bench_advice_jobs
    assert all(r.kind == "bench" and r.command for r in report.recommendations)
    (saving,) = report.realised
    assert saving.job == expected.realised_job
    assert saving.saving_kwh_in_month == expected.realised_saving_kwh_in_month
    assert saving.runs_in_month == expected.realised_runs_in_month
    assert (saving.before, saving.after) == ("csv + pandas", "parquet + duckdb")


def test_a_month_before_the_change_has_no_realised_saving(
    ledger: Ledger,
    expected: FixtureExpectations,
) -> None:
    report = _report(ledger, month="2026-10")
    assert report.realised == ()
    assert report.totals.energy_kwh == 3.5 and report.previous.runs == 0


def test_empty_month_gives_a_valid_report_of_zeros(ledger: Ledger) -> None:
    report = _report(ledger, month="2031-02")
    assert report.is_empty and report.totals == Totals() and report.previous == Totals()
    assert report.jobs == report.teams == report.kinds == ()
    assert [p.month for p in report.trend][:2] == ["2030-03", "2030-04"]
    assert all(p.runs == 0 and p.energy_kwh == 0.0 for p in report.trend)
    assert report.change_ratio is None and report.totals.sci_kg_per_run is None
    assert all(item.amount == 0.0 for item in report.equivalents)
    assert report.recommendations == report.realised == ()


@pytest.mark.parametrize("month", ["2026-13", "26-11", "november", "2026-1", ""])
def test_bad_month_is_one_clear_usage_error(ledger: Ledger, month: str) -> None:
    with pytest.raises(UsageError, match="YYYY-MM"):
        _report(ledger, month=month)


@pytest.mark.parametrize("month", ["0000-01", "0001-01", "1969-12", "9999-12"])
def test_a_month_out_of_range_is_the_clear_usage_error_the_cli_gives(
    ledger: Ledger, month: str
) -> None:
    # Built from the library (not the CLI): 0000-01 and 9999-12 used to raise a bare
    # ValueError from datetime ("year 0 is out of range").
    with pytest.raises(UsageError) as raised:
        _report(ledger, month=month)
    assert str(raised.value) == f"{month} is out of range; give a month from 1970-01 to 9998-12"
    assert raised.value.bad_input


@pytest.mark.parametrize("month", ["1970-01", "9998-12"])
def test_the_first_and_last_months_can_be_reported(ledger: Ledger, month: str) -> None:
    assert _report(ledger, month=month).month == month


def test_summarise_runs_groups_by_tag_and_refuses_unknown_keys(
    ledger: Ledger,
    expected: FixtureExpectations,
) -> None:
    from zuinig.ledger.model import RunFilter

    groups = ledger.summarise_runs(
        RunFilter(month=expected.month, top_level_only=True), by=("tag:team", "status")
    )
    by_key = {group.key: group for group in groups}
    assert by_key[(expected.names[1], "interrupted")].runs == 1
    assert by_key[(None, "ok")] == RunGroup((None, "ok"), 2, 2, 1.75, 0.4375, 165.0, 0.0)
    assert ledger.summarise_runs(RunFilter(month="2031-01")) == []
    interrupted = ledger.summarise_runs(RunFilter(status="interrupted"), by=("job",))
    assert [(g.key, g.runs) for g in interrupted] == [((expected.names[1],), 1)]
    with pytest.raises(UsageError, match="cannot group runs by 'colour'"):
        ledger.summarise_runs(by=("colour",))


def test_equivalents_divide_by_their_published_constants() -> None:
    car, petrol, household = equivalents(co2_kg=2.136, energy_kwh=85.3)
    assert car.key == "car_km" and car.amount == pytest.approx(20.0)  # 2.136 / 0.1068
    assert NEW_CAR_KG_CO2_PER_KM == 0.1068  # EEA, new cars registered in 2024
    assert petrol.amount == pytest.approx(2.136 / PETROL_KG_CO2_PER_LITRE)
    assert PETROL_KG_CO2_PER_LITRE == 2.74  # CO2emissiefactoren.nl, Benzine (E95) (NL)
    assert household.key == "household_days" and household.basis == "energy_kwh"
    assert HOUSEHOLD_KWH_PER_YEAR == 1706.0  # CBS / PBL, 2025
    assert household.amount == pytest.approx(85.3 * 365 / HOUSEHOLD_KWH_PER_YEAR)
    assert household.amount == pytest.approx(18.25)  # 85.3 kWh over 1,706 / 365 kWh a day
    assert all(item.source and item.source_url for item in (car, petrol, household))


def test_figures_without_advice(ledger: Ledger, expected: FixtureExpectations) -> None:
    report = build_report(ledger, Settings(), month=expected.month, now=NOW, advice=False)
    assert report.recommendations == report.realised == ()
    assert report.totals == _report(ledger).totals
