"""Must-show of issue 12 (report side): a ledger with runs in December of one year and
January of the next, each month with its own year's factor. The January report splits
the change of CO2e into an energy effect and a factor effect that add up to the total
change, and ``zuinig report --format csv`` has ``energy_mwh``, ``co2_kg_location_based``,
``co2_kg_market_based`` and a row per factor naming its list, year and row.

Two ledgers, SQLite and PostgreSQL (the ``ledger``/``ledger_url`` fixtures):

1. Hand-worked, exact: the factors are test values (binary fractions, so every sum is
   exact in floating point) written on the runs as a measurement writes them, with a
   list name that says they are test values.
2. Through zuinig's own choice by date (:func:`zuinig.factors.location_factor_for` and
   :func:`~zuinig.factors.market_factor_for` on the shipped CO2emissiefactoren.nl table):
   each run takes the list that applies to its year, and the CSV names it as the table
   does. (The table shipped today holds the 2024 list only, so January 2025 uses it too,
   says so in its source, and the factor effect is 0; the test holds as lists are added.)

=========  ========================  ======  ==========  ==========  ============
month      run                        kWh     location    market      added later
=========  ========================  ======  ==========  ==========  ============
2024-12    dec-1, dec-2               1 + 1   375 g/kWh   500 g/kWh
2025-01    jan-1, jan-2 (+ a child)   ½ + ½   312.5       625         jan-2
2025-02    feb-1                      ¼       312.5       625
=========  ========================  ======  ==========  ==========  ============

January: E0 = 2, C0 = 0.75 (location) / 1.0 (market); E1 = 1, C1 = 0.3125 / 0.625.
Location: energy effect (1 - 2) x 0.375 = -0.375 kg; factor effect 1 x (0.3125 - 0.375)
= -0.0625 kg; together -0.4375 = C1 - C0. Market: (1 - 2) x 0.5 = -0.5 kg and
1 x (0.625 - 0.5) = +0.125 kg; together -0.375. The child run (0.25 kWh) is inside its
parent's window and not summed. February's year to date: January + February =
1.25 kWh = 0.00125 MWh, 0.390625 kg = 0.000390625 t location-based, 0.78125 kg market.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from zuinig.cli import AppState, cli
from zuinig.config import Settings
from zuinig.factors import CarbonFactor, location_factor_for, market_factor_for
from zuinig.ledger import Ledger
from zuinig.ledger.model import Run
from zuinig.report.aggregate import build_report
from zuinig.report.render import render_html

TEST_LIST = "zuinig test values (not a published list)"


def _factor(g_per_kwh: float, year: int, name: str) -> CarbonFactor:
    return CarbonFactor(g_per_kwh, TEST_LIST, year, name, "well-to-wheel")


LOCATION = {
    2024: _factor(375.0, 2024, "grid mix 2024"),
    2025: _factor(312.5, 2025, "grid mix 2025"),
}
MARKET = {2024: _factor(500.0, 2024, "grey 2024"), 2025: _factor(625.0, 2025, "grey 2025")}


def _run(
    run_id: str,
    started_at: datetime,
    energy_kwh: float,
    location: CarbonFactor,
    market: CarbonFactor,
    **values: Any,
) -> Run:
    """A finished run with both CO2e figures, as a measurement stores them."""
    return Run(
        run_id=run_id,
        job="woningbouwmonitor",
        status="ok",
        kind="function",
        started_at=started_at,
        ended_at=started_at + timedelta(seconds=10),
        duration_s=10.0,
        energy_kwh=energy_kwh,
        co2_kg=energy_kwh * location.g_per_kwh / 1000,
        intensity_g_per_kwh=location.g_per_kwh,
        intensity_source=location.source,
        intensity_year=location.year,
        intensity_name=location.name,
        intensity_boundary=location.boundary,
        country_iso_code="NLD",
        co2_kg_market_based=energy_kwh * market.g_per_kwh / 1000,
        market_intensity_g_per_kwh=market.g_per_kwh,
        market_intensity_source=market.source,
        market_intensity_year=market.year,
        market_intensity_name=market.name,
        market_intensity_boundary=market.boundary,
        method_cpu="cpu_load",
        host="esrs-host",
        **values,
    )


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 9, tzinfo=UTC)


def _runs(location: dict[int, CarbonFactor], market: dict[int, CarbonFactor]) -> list[Run]:
    def run(run_id: str, moment: datetime, kwh: float, **values: Any) -> Run:
        return _run(run_id, moment, kwh, location[moment.year], market[moment.year], **values)

    return [
        run("dec-1", _at(2024, 12, 2), 1.0),
        run("dec-2", _at(2024, 12, 30), 1.0),
        run("jan-1", _at(2025, 1, 2), 0.5),
        run("jan-2", _at(2025, 1, 20), 0.5, market_added_later=True),
        run("jan-2-child", _at(2025, 1, 20), 0.25, parent_run_id="jan-2"),
        run("feb-1", _at(2025, 2, 3), 0.25),
    ]


def _csv(url: str, month: str, out: Path) -> list[dict[str, str]]:
    result = CliRunner().invoke(
        cli,
        ["--ledger", url, "report", "--month", month, "--format", "csv", "--out", str(out)],
        obj=AppState(),
    )
    assert result.exit_code == 0, result.output
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _value(rows: list[dict[str, str]], section: str, name: str, metric: str) -> str:
    (row,) = [r for r in rows if (r["section"], r["name"], r["metric"]) == (section, name, metric)]
    return row["value"]


def test_january_splits_the_change_into_energy_and_factor_effect(
    ledger: Ledger, ledger_url: str, tmp_path: Path
) -> None:
    for run in _runs(LOCATION, MARKET):
        ledger.put_run(run)
    report = build_report(ledger, Settings(), month="2025-01", advice=False)

    assert (report.totals.energy_kwh, report.totals.co2_kg) == (1.0, 0.3125)
    assert report.totals.co2_kg_market_based == 0.625
    assert (report.totals.market_runs, report.totals.market_added_later_runs) == (2, 1)
    location, market = report.change_split
    assert (location.energy_effect_co2_kg, location.factor_effect_co2_kg) == (-0.375, -0.0625)
    assert location.change_co2_kg == -0.4375
    assert location.energy_effect_co2_kg + location.factor_effect_co2_kg == location.change_co2_kg
    assert (location.previous_year, location.year) == (2024, 2025)
    assert (market.energy_effect_co2_kg, market.factor_effect_co2_kg) == (-0.5, 0.125)
    assert market.energy_effect_co2_kg + market.factor_effect_co2_kg == market.change_co2_kg

    html = render_html(report, "nl")
    assert "62,5 g CO₂e minder door een lagere emissiefactor (factoreffect; lijst 2025 in " in html
    assert "375,0 g CO₂e minder door minder stroom (energie-effect)" in html
    assert "1 meting in het jaar tot en met januari 2025 heeft een marktgebonden cijfer" in html

    rows = _csv(ledger_url, "2025-01", tmp_path)
    assert _value(rows, "totals", "", "energy_mwh") == "0.001"
    assert _value(rows, "totals", "", "co2_kg_location_based") == "0.3125"
    assert _value(rows, "totals", "", "co2_kg_market_based") == "0.625"
    assert _value(rows, "change_split", "location_based", "energy_effect_co2_kg") == "-0.375"
    assert _value(rows, "change_split", "location_based", "factor_effect_co2_kg") == "-0.0625"
    assert _value(rows, "change_split", "location_based", "change_co2_kg") == "-0.4375"
    assert _value(rows, "change_split", "market_based", "factor_effect_co2_kg") == "0.125"
    factors = {
        (row["name"], row["metric"]): (row["value"], row["notes"])
        for row in rows
        if row["section"] == "factor"
    }
    assert factors == {
        ("grid mix 2025", "location_intensity_g_per_kwh"): (
            "312.5",
            f"list: {TEST_LIST}; year: 2025; row: grid mix 2025; boundary: well-to-wheel; "
            "country: NLD; runs: 2",
        ),
        ("grey 2025", "market_intensity_g_per_kwh"): (
            "625.0",
            f"list: {TEST_LIST}; year: 2025; row: grey 2025; boundary: well-to-wheel; runs: 2",
        ),
    }


def test_the_year_to_date_starts_on_the_first_of_january(ledger: Ledger) -> None:
    for run in _runs(LOCATION, MARKET):
        ledger.put_run(run)
    month, year = build_report(ledger, Settings(), month="2025-02", advice=False).annual
    assert (month.start, month.end, month.energy_kwh) == ("2025-02", "2025-02", 0.25)
    assert (year.start, year.end, year.runs) == ("2025-01", "2025-02", 3)
    assert year.energy_mwh == 0.00125
    assert year.co2_t_location_based == 0.000390625
    assert year.co2_kg_market_based == 0.78125
    assert year.market_added_later_runs == 1
    # December's runs are last year's: in the twelve-month trend, not in this year's figures.
    december = build_report(ledger, Settings(), month="2024-12", advice=False).annual
    assert december[1].energy_kwh == 2.0 and december[1].start == "2024-01"


def test_factors_chosen_by_date_from_the_shipped_list(
    ledger: Ledger, ledger_url: str, tmp_path: Path
) -> None:
    location = {
        year: factor
        for year in (2024, 2025)
        if (factor := location_factor_for("NLD", year)) is not None
    }
    assert set(location) == {2024, 2025}, "the shipped table has a grid-mix row for NLD"
    assert location[2024].year == 2024
    assert location[2025].year in (2024, 2025)  # its own list, or the newest before it
    market = {year: market_factor_for("NLD", year, location[year]) for year in (2024, 2025)}
    for run in _runs(location, market):
        ledger.put_run(run)
    report = build_report(ledger, Settings(), month="2025-01", advice=False)
    split = report.change_split[0]
    g0, g1 = location[2024].g_per_kwh, location[2025].g_per_kwh
    # Worked by hand from the table's values: E0 = 2 kWh, E1 = 1 kWh.
    assert split.energy_effect_co2_kg is not None and split.factor_effect_co2_kg is not None
    assert abs(split.energy_effect_co2_kg - (1.0 - 2.0) * g0 / 1000) < 1e-15
    assert abs(split.factor_effect_co2_kg - 1.0 * (g1 - g0) / 1000) < 1e-15
    assert (
        abs(split.energy_effect_co2_kg + split.factor_effect_co2_kg - split.change_co2_kg) < 1e-15
    )

    rows = _csv(ledger_url, "2025-01", tmp_path)
    (row,) = [r for r in rows if r["metric"] == "location_intensity_g_per_kwh"]
    factor = location[2025]
    assert row["name"] == factor.name and float(row["value"]) == factor.g_per_kwh
    assert "list: CO2emissiefactoren.nl, list" in row["notes"]
    assert f"year: {factor.year}; row: {factor.name}; boundary: {factor.boundary}" in row["notes"]
    assert _value(rows, "totals", "", "energy_mwh") == "0.001"
    assert (
        float(_value(rows, "totals", "", "co2_kg_market_based"))
        == 1.0 * market[2025].g_per_kwh / 1000
    )
