"""The report in Dutch accounting terms, on hand-built figures (no ledger): MWh and t CO2e,
the change of CO2e split into energy and factor effect, and their words in nl and en.

Every number is worked out by hand; energies and factors are binary fractions, so the
arithmetic is exact in floating point and the effects add up to the change exactly.
"""

from __future__ import annotations

import dataclasses
import re
from html import unescape

import pytest
from render_samples import make_report

from zuinig.report.appendix import rows
from zuinig.report.model import AnnualFigures, ChangeSplit, IntensityUsed, MonthlyReport
from zuinig.report.render import render_html
from zuinig.report.texts import Numbers, Texts

# E0 = 2 kWh at f0 = 0.375 kg/kWh (C0 = 0.75 kg); E1 = 1 kWh at f1 = 0.3125 (C1 = 0.3125).
LOCATION = ChangeSplit("location", 2.0, 1.0, 0.75, 0.3125, previous_year=2024, year=2025)
# The same energies under a contract whose factor rose: 0.5 -> 0.625 kg/kWh.
MARKET = ChangeSplit("market", 2.0, 1.0, 1.0, 0.625, previous_year=2024, year=2025)


def test_the_energy_and_factor_effect_add_up_to_the_change() -> None:
    # energy effect = (E1 - E0) x f0 = -1 x 0.375; factor effect = E1 x (f1 - f0) = 1 x -0.0625
    assert LOCATION.previous_co2_kg_per_kwh == 0.375
    assert LOCATION.co2_kg_per_kwh == 0.3125
    assert LOCATION.energy_effect_co2_kg == -0.375
    assert LOCATION.factor_effect_co2_kg == -0.0625
    assert LOCATION.change_co2_kg == -0.4375
    assert LOCATION.energy_effect_co2_kg + LOCATION.factor_effect_co2_kg == LOCATION.change_co2_kg
    # Market: energy effect -1 x 0.5 = -0.5; factor effect 1 x (0.625 - 0.5) = +0.125.
    assert (MARKET.energy_effect_co2_kg, MARKET.factor_effect_co2_kg) == (-0.5, 0.125)
    assert MARKET.change_co2_kg == -0.375


def test_a_month_without_energy_before_or_now() -> None:
    first = ChangeSplit("location", 0.0, 1.0, 0.0, 0.25)
    assert first.previous_co2_kg_per_kwh is None
    assert first.energy_effect_co2_kg is None and first.factor_effect_co2_kg is None
    assert first.change_co2_kg == 0.25
    stopped = ChangeSplit("location", 2.0, 0.0, 0.75, 0.0)
    # No energy this month: all of the change is the energy that went away.
    assert (stopped.energy_effect_co2_kg, stopped.factor_effect_co2_kg) == (-0.75, 0.0)


def test_annual_figures_in_esrs_units() -> None:
    figures = AnnualFigures("2025-01", "2025-03", 3, 2500.0, 750.0, 1250.0, market_runs=3)
    assert figures.energy_mwh == 2.5
    assert figures.co2_t_location_based == 0.75
    assert figures.co2_t_market_based == 1.25


def test_mwh_and_tonnes_are_written_for_people() -> None:
    nl, en = Numbers("nl"), Numbers("en")
    assert nl.mwh(2.875) == "0,00288 MWh"
    assert en.mwh(1234.5) == "1.23 MWh"
    assert nl.tonnes(0.71875) == "0,000719 t CO₂e"
    assert en.tonnes(2500.0) == "2.50 t CO₂e"
    assert nl.mwh(0.0) == "0 MWh"
    assert "e" not in nl.mwh(9e-9).split()[0]  # never in exponent notation
    assert nl.mwh(9e-9) == "0,00000000000900 MWh"


def _report() -> MonthlyReport:
    report = make_report(month="2025-01", previous_month="2024-12")
    return dataclasses.replace(
        report,
        change_split=(LOCATION, MARKET),
        method=dataclasses.replace(
            report.method,
            intensities=(
                IntensityUsed(312.5, "CO2emissiefactoren.nl", 2025, "NLD", 95, "Stroommix", "well-to-wheel"),
            ),
            market_intensities=(
                IntensityUsed(625.0, "CO2emissiefactoren.nl", 2025, None, 95, "Grijze stroom",
                              "tank-to-wheel", "market"),
            ),
        ),
    )  # fmt: skip


def test_the_split_in_words_dutch_and_english() -> None:
    report = _report()
    assert Texts("nl").change_split(report) == [
        "Locatiegebonden gerekend daalde de uitstoot met 437,5 g CO₂e ten opzichte van "
        "december 2024: 375,0 g CO₂e minder door minder stroom (energie-effect) en "
        "62,5 g CO₂e minder door een lagere emissiefactor (factoreffect; lijst 2025 in plaats "
        "van 2024; gemiddeld 375,0 g CO₂e/kWh → 312,5 g CO₂e/kWh).",
        "Marktgebonden gerekend daalde de uitstoot met 375,0 g CO₂e ten opzichte van "
        "december 2024: 500,0 g CO₂e minder door minder stroom (energie-effect) en "
        "125,0 g CO₂e meer door een hogere emissiefactor (factoreffect; lijst 2025 in plaats "
        "van 2024; gemiddeld 500,0 g CO₂e/kWh → 625,0 g CO₂e/kWh).",
        "Het energie-effect is het verschil in stroom maal de emissiefactor van december 2024; "
        "het factoreffect is de stroom van deze maand maal het verschil in emissiefactor. "
        "Samen zijn ze precies het verschil in uitstoot.",
    ]
    english = Texts("en").change_split(report)
    assert english[0] == (
        "Location-based, emissions fell by 437.5 g CO₂e from December 2024: 375.0 g CO₂e less "
        "from using less electricity (energy effect) and 62.5 g CO₂e less from a lower emission "
        "factor (factor effect; the 2025 list instead of 2024; on average 375.0 g CO₂e/kWh → "
        "312.5 g CO₂e/kWh)."
    )
    no_previous = dataclasses.replace(
        report, change_split=(ChangeSplit("location", 0.0, 1.0, 0.0, 0.3125),)
    )
    assert Texts("en").change_split(no_previous) == [
        "The change in emissions from December 2024 cannot be split into an energy effect and "
        "a factor effect: no energy use was recorded in December 2024."
    ]


def test_rounding_noise_is_no_factor_effect() -> None:
    # 0.3 kg/kWh both months (330 kg of 1100 kWh, 370.35 of 1234.5): in floating point
    # f1 - f0 is about 5e-17, so the factor effect is about 7e-14 kg instead of 0.
    split = ChangeSplit("location", 1100.0, 1234.5, 330.0, 370.35)
    assert split.factor_effect_co2_kg != 0.0  # the raw figure carries the noise...
    report = dataclasses.replace(_report(), change_split=(split,))
    (sentence, _) = Texts("en").change_split(report)
    assert "nothing from the emission factor (factor effect)." in sentence  # ...the words not


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_html_has_both_co2e_figures_the_annual_section_and_the_factors(lang: str) -> None:
    report = _report()
    report = dataclasses.replace(
        report,
        totals=dataclasses.replace(report.totals, co2_kg_market_based=0.625, market_runs=95),
        annual=(
            AnnualFigures("2025-01", "2025-01", 95, 1.0, 0.3125, 0.625, 0, 95),
            AnnualFigures("2025-01", "2025-01", 95, 1.0, 0.3125, 0.625, 0, 95),
        ),
    )
    html = render_html(report, lang)
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    words = {
        "nl": ("CO₂e marktgebonden", "Voor het jaarverslag", "Energieverbruik (E1-5)",
               "0,00100 MWh", "0,000625 t CO₂e", "rij ‘Grijze stroom’", "Factoreffect"),
        "en": ("CO₂e market-based", "For the annual report", "Energy consumption (E1-5)",
               "0.00100 MWh", "0.000625 t CO₂e", "row ‘Grijze stroom’", "Factor effect"),
    }[lang]  # fmt: skip
    for word in words:
        assert word in text, word
    assert 'value="0.625" data-unit="kg"' in html  # the market-based key figure, exact
    assert "<h2>" + words[1] + "</h2>" in html
    annual = html[html.index('id="annual"') :]
    annual = annual[: annual.index("</section>")]
    assert annual.count("<table") == 2 and annual.count('<th scope="row"') == 6


def test_csv_rows_of_the_annual_section_the_split_and_each_factor() -> None:
    report = dataclasses.replace(
        _report(),
        annual=(AnnualFigures("2025-01", "2025-01", 95, 1.0, 0.3125, 0.625, 0, 95),),
    )
    table = {(row[0], row[2], row[3]): row for row in rows(report)}
    assert table[("totals", "", "energy_mwh")][4:6] == ["1.2345", "MWh"]
    assert table[("totals", "", "co2_kg_location_based")][5] == "kg CO2e"
    assert table[("totals", "", "co2_kg_market_based")][5] == "kg CO2e"
    assert table[("annual", "month", "energy_mwh")][4] == "0.001"
    assert table[("annual", "month", "co2_t_market_based")][4:6] == ["0.000625", "t CO2e"]
    split = {(row[2], row[3]): row[4] for row in rows(report) if row[0] == "change_split"}
    assert split[("location_based", "energy_effect_co2_kg")] == "-0.375"
    assert split[("location_based", "factor_effect_co2_kg")] == "-0.0625"
    assert split[("location_based", "change_co2_kg")] == "-0.4375"
    assert split[("market_based", "factor_effect_co2_kg")] == "0.125"
    factors = [row for row in rows(report) if row[0] == "factor"]
    assert factors == [
        ["factor", "1", "Stroommix", "location_intensity_g_per_kwh", "312.5", "g CO2e/kWh",
         "list: CO2emissiefactoren.nl; year: 2025; row: Stroommix; boundary: well-to-wheel; "
         "country: NLD; runs: 95"],
        ["factor", "2", "Grijze stroom", "market_intensity_g_per_kwh", "625.0", "g CO2e/kWh",
         "list: CO2emissiefactoren.nl; year: 2025; row: Grijze stroom; boundary: tank-to-wheel; "
         "runs: 95"],
    ]  # fmt: skip
