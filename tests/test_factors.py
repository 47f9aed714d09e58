"""The Dutch factor table: which list a run's date picks, and both scope 2 factors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from zuinig import factors
from zuinig.cli.text import format_run
from zuinig.config import Settings
from zuinig.ledger import Ledger, Run, RunFilter
from zuinig.measure import Recorder, measure
from zuinig.meter.replay import ReplayMeter

#: Two consecutive list years with made-up values (a test table, not the shipped one).
TWO_YEARS = """
schema = 1
[[list]]
year = 2024
published = 2024-01-12
url = "https://example.org/list-2024"
[[list]]
year = 2025
published = 2025-01-20
url = "https://example.org/list-2025"

[[factor]]
list_year = 2024
key = "grid-mix"
name = "Stroommix 2024 (test)"
well_to_wheel_g_per_kwh = 380.0
tank_to_wheel_g_per_kwh = 300.0
cited_from = "test"
[[factor]]
list_year = 2025
key = "grid-mix"
name = "Stroommix 2025 (test)"
well_to_wheel_g_per_kwh = 310.0
tank_to_wheel_g_per_kwh = 250.0
cited_from = "test"
[[factor]]
list_year = 2024
key = "unknown"
name = "Stroom onbekend 2024 (test)"
well_to_wheel_g_per_kwh = 450.0
tank_to_wheel_g_per_kwh = 360.0
cited_from = "test"
[[factor]]
list_year = 2025
key = "unknown"
name = "Stroom onbekend 2025 (test)"
well_to_wheel_g_per_kwh = 420.0
cited_from = "test"
[[factor]]
list_year = 2025
key = "green-nl-gvo"
name = "Groene stroom NL wind/zon met GvO (test)"
well_to_wheel_g_per_kwh = 20.0
tank_to_wheel_g_per_kwh = 0.0
cited_from = "test"
"""


@pytest.fixture
def table(tmp_path: Path) -> factors.FactorTable:
    path = tmp_path / "factors.toml"
    path.write_text(TWO_YEARS, encoding="utf-8")
    return factors.load_table(path)


def _year(moment: datetime) -> int:
    return moment.astimezone(UTC).year


def test_december_and_january_pick_their_own_years_list(table: factors.FactorTable) -> None:
    december = factors.location_factor_for(
        "NLD", _year(datetime(2024, 12, 31, 23, 59, tzinfo=UTC)), table=table
    )
    january = factors.location_factor_for(
        "NLD", _year(datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC)), table=table
    )
    assert december is not None and january is not None
    assert (december.g_per_kwh, december.year, december.name) == (
        380.0,
        2024,
        "Stroommix 2024 (test)",
    )
    assert (january.g_per_kwh, january.year, january.name) == (
        310.0,
        2025,
        "Stroommix 2025 (test)",
    )
    assert december.boundary == january.boundary == factors.WELL_TO_WHEEL
    assert "list 2024 (published 2024-01-12, https://example.org/list-2024)" in december.source
    assert "newest" not in january.source and "oldest" not in january.source


def test_a_year_past_the_newest_list_uses_it_and_says_so(table: factors.FactorTable) -> None:
    later = factors.location_factor_for("NLD", 2027, table=table)
    earlier = factors.location_factor_for("NLD", 2019, table=table)
    assert later is not None and earlier is not None
    assert (later.g_per_kwh, later.year) == (310.0, 2025)
    assert "the newest list zuinig has, used for 2027" in later.source
    assert (earlier.g_per_kwh, earlier.year) == (380.0, 2024)
    assert "the oldest list zuinig has, used for 2019" in earlier.source


def test_tank_to_wheel_is_production_only(table: factors.FactorTable) -> None:
    factor = factors.location_factor_for("NLD", 2025, "grid-mix:tank-to-wheel", table=table)
    assert factor is not None
    assert (factor.g_per_kwh, factor.boundary) == (250.0, factors.TANK_TO_WHEEL)


def test_other_countries_get_no_table_factor(table: factors.FactorTable) -> None:
    assert factors.location_factor_for("DEU", 2025, table=table) is None
    assert factors.location_factor_for("nld", 2025, table=table) is not None


LOCATION = factors.CarbonFactor(g_per_kwh=380.0, source="grid", year=2024, boundary="well-to-wheel")


def test_market_default_is_the_unknown_origin_row_of_the_year(table: factors.FactorTable) -> None:
    december = factors.market_factor_for("NLD", 2024, LOCATION, table=table)
    january = factors.market_factor_for("NLD", 2025, LOCATION, table=table)
    assert (december.g_per_kwh, december.name) == (450.0, "Stroom onbekend 2024 (test)")
    assert (january.g_per_kwh, january.name, january.year) == (
        420.0,
        "Stroom onbekend 2025 (test)",
        2025,
    )


def test_market_contract_as_a_row_or_a_number(table: factors.FactorTable) -> None:
    green = factors.market_factor_for(
        "NLD", 2025, LOCATION, "green-nl-gvo:tank-to-wheel", table=table
    )
    assert (green.g_per_kwh, green.boundary) == (0.0, factors.TANK_TO_WHEEL)
    number = factors.market_factor_for("NLD", 2025, LOCATION, 123.0, "supplier 2025", table=table)
    assert (number.g_per_kwh, number.source, number.year, number.boundary) == (
        123.0,
        "supplier 2025",
        None,
        None,
    )


def test_market_falls_back_to_location_where_no_residual_mix_is_known(
    table: factors.FactorTable,
) -> None:
    german = factors.market_factor_for("DEU", 2025, LOCATION, table=table)
    assert (german.g_per_kwh, german.year, german.boundary) == (380.0, 2024, "well-to-wheel")
    assert "no residual mix for DEU" in german.source and "GHG Protocol" in german.source
    # A Dutch run whose year has no unknown-origin row with the run's boundary.
    production = dataclass_location(boundary=factors.TANK_TO_WHEEL)
    dutch = factors.market_factor_for("NLD", 2025, production, table=table)
    assert dutch.g_per_kwh == production.g_per_kwh
    assert "no row for electricity of unknown origin" in dutch.source


def dataclass_location(**changes: object) -> factors.CarbonFactor:
    values = {"g_per_kwh": 250.0, "source": "grid", "year": 2025, "boundary": None}
    values.update(changes)
    return factors.CarbonFactor(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("grid-mix", ("grid-mix", factors.WELL_TO_WHEEL)),
        (" grey : tank-to-wheel ", ("grey", factors.TANK_TO_WHEEL)),
        ("unknown:well-to-wheel", ("unknown", factors.WELL_TO_WHEEL)),
    ],
)
def test_parse_factor_choice(text: str, expected: tuple[str, str]) -> None:
    assert factors.parse_factor_choice(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [("gray", "is not a row"), ("grey:both", "names boundary 'both'")],
)
def test_parse_factor_choice_refuses_with_the_choices(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        factors.parse_factor_choice(text)
    assert "grid-mix" in str(caught.value) or "well-to-wheel" in str(caught.value)


def test_a_table_file_with_an_unknown_row_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(TWO_YEARS.replace('key = "green-nl-gvo"', 'key = "purple"'), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown factor key 'purple'"):
        factors.load_table(path)


def test_the_shipped_table_cites_every_value() -> None:
    table = factors.default_table()
    assert table.rows, "the shipped table is empty"
    for row in table.rows:
        assert row.url.startswith("https://www.co2emissiefactoren.nl/")
        assert isinstance(row.published, date)
        assert "https://" in row.cited_from, row
        assert row.g_per_kwh and all(value >= 0 for value in row.g_per_kwh.values())
    grid = table.row(factors.KEY_GRID_MIX, 2024)
    assert grid is not None
    assert dict(grid.g_per_kwh) == {"well-to-wheel": 374.0, "tank-to-wheel": 300.0}
    assert grid.published == date(2024, 1, 12)


def test_both_co2e_figures_on_a_run_recorded_through_the_recorder(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'ledger.sqlite').as_posix()}"
    meter = ReplayMeter(
        energy_kwh=0.002, intensity_g_per_kwh=374.0, market_intensity_g_per_kwh=20.0
    )
    recorder = Recorder(Settings(), ledger_url=url, meter=meter)

    @measure(job="woningbouwmonitor", recorder=recorder)
    def job() -> int:
        return 42

    assert job() == 42
    with Ledger.open(url) as ledger:
        (run,) = ledger.list_runs(RunFilter())
    assert run.co2_kg == pytest.approx(0.002 * 374.0 / 1000)
    assert run.co2_kg_market_based == pytest.approx(0.002 * 20.0 / 1000)
    assert (run.market_intensity_g_per_kwh, run.market_intensity_source) == (20.0, "replayed")
    assert run.market_added_later is False


def test_runs_show_names_both_co2e_figures_in_words() -> None:
    run = Run(
        run_id="both",
        job="woningbouwmonitor",
        status="ok",
        started_at=datetime(2025, 1, 6, 9, 0, tzinfo=UTC),
        energy_kwh=0.002,
        co2_kg=0.002 * 374.0 / 1000,
        intensity_g_per_kwh=374.0,
        intensity_source="CO2emissiefactoren.nl, list 2024",
        intensity_year=2024,
        intensity_name="Stroommix (test)",
        intensity_boundary="well-to-wheel",
        country_iso_code="NLD",
        co2_kg_market_based=0.0,
        market_intensity_g_per_kwh=0.0,
        market_intensity_source="PPA wind 2025",
        market_added_later=True,
    )
    text = "\n".join(format_run(run))
    location = next(line for line in text.splitlines() if line.strip().startswith("co2_kg "))
    assert "748 mg CO₂e" in location and "location-based (the grid)" in location
    assert 'row "Stroommix (test)"' in location
    assert "well-to-wheel: production and supply chain" in location
    market = next(line for line in text.splitlines() if "co2_kg_market_based" in line)
    assert "market-based (the contract)" in market and "0 g/kWh (PPA wind 2025)" in market
    assert "added later" in market
