"""Words and numbers of the report: Babel formatting per language, sentences drawn from the figures."""

from __future__ import annotations

import pytest
from render_samples import SCRIPT_NAME, make_report, totals

from zuinig.errors import UsageError
from zuinig.report.model import GroupFigures, Totals
from zuinig.report.texts import Numbers, Texts, check_language, main_cause


@pytest.mark.parametrize(
    ("lang", "kwh", "expected"),
    [
        ("nl", 1234.5, "1.234,5 kWh"),
        ("en", 1234.5, "1,234.5 kWh"),
        ("nl", 123456.0, "123.456 kWh"),
        ("nl", 2.5, "2,50 kWh"),
        ("nl", 0.0123, "12,3 Wh"),
        # Measured jobs are about a millionth of a kWh: never "0,000 kWh".
        ("nl", 1.2e-6, "1,20 mWh"),
        ("en", 4.56e-6, "4.56 mWh"),
        ("nl", 3e-10, "0,30 µWh"),
        ("nl", 0.0, "0 kWh"),
    ],
)
def test_energy_keeps_its_digits_and_unit(lang: str, kwh: float, expected: str) -> None:
    assert Numbers(lang).energy(kwh) == expected


def test_signed_figures_and_percentages() -> None:
    nl, en = Numbers("nl"), Numbers("en")
    assert nl.energy(134.5, signed=True) == "+134,5 kWh"
    assert nl.energy(-0.0055, signed=True) == "-5,50 Wh"
    assert nl.energy(0.0, signed=True) == "0 kWh"
    assert nl.percent(0.12, signed=True) == "+12%"
    assert nl.percent(-0.045, signed=True) == "-4,5%"
    assert en.percent(0.081) == "8.1%"
    assert nl.percent(0.0) == "0%"


def test_co2_sizes_money_and_dates() -> None:
    nl, en = Numbers("nl"), Numbers("en")
    assert nl.co2(12.34) == "12,3 kg CO₂e"
    assert nl.co2(0.0042) == "4,20 g CO₂e"
    assert nl.co2(4e-9) == "4,00 µg CO₂e"
    assert en.co2(2500.0) == "2.50 t CO₂e"
    assert nl.size(3.2e9) == "3,20 GB"
    assert nl.euro(1234.5) == "€\xa01.234,50"
    assert en.euro(1234.5) == "€1,234.50"
    assert nl.month("2026-11") == "november 2026"
    assert en.month("2026-11") == "November 2026"
    assert nl.month_short("2026-03") == "mrt"
    assert nl.approx(2315.04) == "2.315"
    assert nl.approx(12.54) == "12,5"
    assert nl.approx(0.26) == "0,26"
    # A small month's equivalents keep two significant digits instead of reading 0,00.
    assert nl.approx(0.000123) == "0,00012"
    assert en.approx(0.0567) == "0.057"
    assert nl.approx(0.0) == "0"
    assert nl.approx(1e-12) == "0"


def test_an_unknown_language_is_refused_in_one_line() -> None:
    with pytest.raises(UsageError, match="unknown report language 'de': choose one of nl, en"):
        check_language("de")


def test_summary_names_the_rise_and_the_job_behind_it() -> None:
    report = make_report()
    assert Texts("nl").summary(report) == [
        "In november 2026 zijn 95 metingen vastgelegd; samen gebruikten ze 1.234,5 kWh, "
        "goed voor 370,3 kg CO₂e.",
        "Het energieverbruik steeg 12% (+134,5 kWh) ten opzichte van oktober, vooral door "
        "taak ‘woningbouwmonitor’ (+150,0 kWh).",
    ]
    assert Texts("en").change(report) == (
        "Energy use rose 12% (+134.5 kWh) compared with October, mainly because of job "
        "‘woningbouwmonitor’ (+150.0 kWh)."
    )


def test_the_opening_sentence_names_both_scope_2_figures_where_runs_carry_both() -> None:
    both = totals(1234.5, runs=95, co2_kg_market_based=12.5, market_runs=95)
    report = make_report(totals=both)
    assert Texts("nl").summary(report)[0] == (
        "In november 2026 zijn 95 metingen vastgelegd; samen gebruikten ze 1.234,5 kWh, "
        "goed voor 370,3 kg CO₂e volgens het net (locatiegebonden) en 12,5 kg CO₂e volgens "
        "het stroomcontract (marktgebonden)."
    )
    assert Texts("en").summary(report)[0] == (
        "In November 2026, 95 runs were recorded; together they used 1,234.5 kWh, "
        "accounting for 370.3 kg CO₂e by the grid (location-based) and 12.5 kg CO₂e by the "
        "electricity contract (market-based)."
    )


def test_a_fall_names_the_job_that_fell_most() -> None:
    report = make_report(previous=totals(1500.0))
    assert Texts("nl").change(report) == (
        "Het energieverbruik daalde 18% (-265,5 kWh) ten opzichte van oktober, vooral door "
        f"taak ‘{SCRIPT_NAME}’ (-10,0 kWh)."
    )


def test_a_fall_with_no_job_falling_names_none() -> None:
    jobs = (GroupFigures("nieuw", totals(1234.5), previous_energy_kwh=0.0),)
    report = make_report(previous=totals(1500.0), jobs=jobs)
    assert Texts("en").change(report) == "Energy use fell 18% (-265.5 kWh) compared with October."


def test_no_change_and_no_previous_month() -> None:
    assert (
        Texts("nl").change(make_report(previous=totals(1234.5)))
        == "Het energieverbruik bleef gelijk aan dat van oktober."
    )
    assert (
        Texts("nl").change(make_report(previous=Totals()))
        == "Over oktober zijn geen energiecijfers om mee te vergelijken."
    )
    assert (
        Texts("en").change(make_report(previous=Totals()))
        == "There are no energy figures for October to compare with."
    )


def test_the_previous_month_carries_its_year_across_new_year() -> None:
    report = make_report(month="2027-01", previous_month="2026-12")
    assert "ten opzichte van december 2026," in Texts("nl").change(report)


def test_main_cause_follows_the_direction_of_the_change() -> None:
    up = GroupFigures("up", totals(5.0), previous_energy_kwh=1.0)
    down = GroupFigures("down", totals(1.0), previous_energy_kwh=9.0)
    assert main_cause((up, down), +1.0) is up
    assert main_cause((up, down), -1.0) is down
    assert main_cause((up,), -1.0) is None


def test_sentences_of_every_section_in_both_languages() -> None:
    report = make_report()
    nl, en = Texts("nl"), Texts("en")
    assert nl.jobs(report, top=2) == [
        "In november 2026 draaiden 3 taken. De grootste was ‘woningbouwmonitor’ met 800,0 kWh "
        "(65% van het totaal).",
        "De 2 grootste taken samen gebruikten 89% van de energie; de overige 1 staan samen op "
        "één regel en per taak in de CSV-bijlage.",
    ]
    assert en.teams(report)[1] == "100.0 kWh (8.1%) comes from runs without a ‘team’ tag."
    assert en.kinds(report) == ["Most energy went to Python functions (81% of the energy)."]
    assert nl.methods(report)[0] == (
        "2,8% van de energie is gemeten met de RAPL-tellers van de processor; 97% is geschat."
    )
    # The estimate as the resource-share meter makes it: the watts, the share, the range.
    assert "published watts per vCPU" in en.methods(report)[1]
    assert "low-to-high range" in en.methods(report)[1]
    assert "gepubliceerde watts per vCPU" in nl.methods(report)[1]
    assert en.sci(report)[0].endswith(
        "3.90 kg CO₂e per run and 1.95 kg CO₂e per GB of data processed."
    )
    assert "M = 0" in nl.sci(report)[1]
    assert nl.recommendations(report)[0] == (
        "Er staan 2 aanbevelingen open. Als ze alle worden opgevolgd, besparen ze naar "
        "verwachting 420,0 kWh per jaar (126,0 kg CO₂e, €\xa0105,00)."
    )
    assert nl.recommendations(report)[1] == (
        "1 aanbeveling vraagt eerst een meting met zuinig bench voordat er een besparing te noemen is."
    )
    both = make_report(recommendations=report.recommendations[1:] * 2)
    assert en.recommendations(both) == [
        "There are 2 recommendations open; none of them has a computed saving yet.",
        "2 recommendations first need a measurement with zuinig bench before a saving can be given.",
    ]
    assert en.reliability(report) == [
        "Of the 95 runs in November 2026, 90 completed, 3 failed and 2 were interrupted."
    ]
    assert en.trend(report).endswith(
        "November 2026 was the month with the highest use (1,234.5 kWh)."
    )


def test_teams_without_the_tag_say_how_to_add_it() -> None:
    report = make_report(teams=(GroupFigures("", totals(1234.5)),))
    assert Texts("en").teams(report) == [
        "No run has a ‘team’ tag, so there is no breakdown by team. Give jobs the tag, "
        'for example tags={"team": "planning"}.'
    ]


def test_glossary_gives_each_term_in_both_languages() -> None:
    nl = Texts("nl").glossary()
    en = Texts("en").glossary()
    assert len(nl) == len(en) == 17
    assert ("factoreffect", "factor effect") in [row[:2] for row in nl]
    assert ("market-based", "marktgebonden") in [row[:2] for row in en]
    assert ("toerekening", "attribution") in [row[:2] for row in nl]
    assert ("range", "bandbreedte") in [row[:2] for row in en]
    assert nl[2][:2] == ("logboek", "ledger")
    assert en[2][:2] == ("ledger", "logboek")
    assert all(meaning for _, _, meaning in nl + en)
