"""The monthly report's ranges and attribution rules (issue 11, items 4, 5 and 7), on
SQLite and PostgreSQL: totals carry the sum of the runs' ranges only where every run
has one, the page says so in words, and the method section states the rule."""

from __future__ import annotations

import dataclasses
import html
from datetime import UTC, datetime, timedelta

from zuinig.config import Settings
from zuinig.ledger import Ledger
from zuinig.ledger.model import Run
from zuinig.meter.coefficients import coefficients_for
from zuinig.report import appendix
from zuinig.report.aggregate import build_report
from zuinig.report.model import MonthlyReport
from zuinig.report.render import render_html
from zuinig.report.texts import Numbers

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
START = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
INTENSITY = 250.0  # g/kWh: co2_kg = energy_kwh / 4, exact in binary


def _run(
    run_id: str,
    energy_kwh: float,
    low: float | None,
    high: float | None,
    method_cpu: str = "cpu_load",
) -> Run:
    return Run(
        run_id=run_id,
        job="woningbouwmonitor",
        status="ok",
        started_at=START + timedelta(hours=len(run_id)),
        duration_s=60.0,
        energy_kwh=energy_kwh,
        energy_kwh_low=low,
        energy_kwh_high=high,
        co2_kg=energy_kwh / 4,
        co2_kg_low=None if low is None else low / 4,
        co2_kg_high=None if high is None else high / 4,
        intensity_g_per_kwh=INTENSITY,
        method_meter="codecarbon 3.3.2",
        method_cpu=method_cpu,
        tracking_mode="process",
        method_attribution="resource-share",
    )


ESTIMATE = _run("estimate", 0.25, 0.125, 0.5)
# A measured figure's range is its reading.
MEASURED = _run("measured-1", 0.5, 0.5, 0.5, method_cpu="rapl")
OLD = dataclasses.replace(
    _run("old-rule-run", 0.125, None, None), method_attribution="codecarbon-process"
)


def _report(ledger: Ledger, runs: list[Run]) -> MonthlyReport:
    for run in runs:
        ledger.finish_run(run)
    return build_report(ledger, Settings(), month="2026-11", now=NOW)


def _csv(report: MonthlyReport, metric: str) -> str:
    (row,) = [r for r in appendix.rows(report) if r[0] == "totals" and r[3] == metric]
    return row[4]


def test_totals_sum_the_runs_ranges(ledger: Ledger) -> None:
    report = _report(ledger, [ESTIMATE, MEASURED])
    totals = report.totals
    assert (totals.range_runs, totals.runs_without_range) == (2, 0)
    assert (totals.energy_kwh_low, totals.energy_kwh_high) == (0.625, 1.0)
    assert (totals.co2_kg_low, totals.co2_kg_high) == (0.625 / 4, 0.25)
    assert (_csv(report, "energy_kwh_low"), _csv(report, "energy_kwh_high")) == ("0.625", "1.0")
    assert _csv(report, "runs_without_range") == "0"
    for lang, words in (("nl", "tussen"), ("en", "between")):
        page = html.unescape(render_html(report, lang))
        # In the unit of the total beside it (0.75 kWh is shown as 750 Wh).
        wanted = Numbers(lang).energy_range(0.625, 1.0, like_kwh=0.75)
        assert wanted.startswith(words + " ") and wanted.endswith(" Wh") and wanted in page


def test_a_run_without_a_range_leaves_the_total_without_one(ledger: Ledger) -> None:
    report = _report(ledger, [ESTIMATE, MEASURED, OLD])
    totals = report.totals
    assert totals.runs_without_range == 1
    assert (totals.energy_kwh_low, totals.energy_kwh_high, totals.co2_kg_low) == (None,) * 3
    assert _csv(report, "energy_kwh_low") == ""  # never a partial sum posing as a bound
    assert _csv(report, "runs_without_range") == "1"
    assert "1 meting zonder bandbreedte" in html.unescape(render_html(report, "nl"))
    assert "1 run without a range" in html.unescape(render_html(report, "en"))


def test_the_method_section_states_the_rule_and_counts_runs_by_it(ledger: Ledger) -> None:
    report = _report(ledger, [ESTIMATE, MEASURED, OLD])
    assert report.method.attributions == {"resource-share": 2, "codecarbon-process": 1}
    nl = html.unescape(render_html(report, "nl"))
    assert "aandeel van de taak in alle processortijd" in nl
    assert "vastgehouden geheugen" in nl
    assert "codecarbon-process (eerdere regel): 1 meting" in nl
    en = html.unescape(render_html(report, "en"))
    assert "share of all the CPU time the machine spent" in en
    assert "tracking_mode = machine" in en
    assert "codecarbon-process (earlier rule): 1 run" in en
    rows = [r for r in appendix.rows(report) if r[3] == "attribution_runs"]
    assert {(r[2], r[4]) for r in rows} == {("resource-share", "2"), ("codecarbon-process", "1")}


def test_range_words() -> None:
    assert Numbers("en").energy_range(1.2e-3, 3.4e-3) == "between 1.20 and 3.40 Wh"
    assert Numbers("nl").energy_range(1.2e-3, 3.4e-3) == "tussen 1,20 en 3,40 Wh"
    assert Numbers("nl").co2_range(3e-4, 9e-4) == "tussen 300,0 en 900,0 mg CO₂e"
    assert Numbers("en").energy_range(0.625, 1.0, like_kwh=0.75) == "between 625.0 and 1,000.0 Wh"


def test_the_method_section_names_the_cpu_coefficients_in_both_languages(ledger: Ledger) -> None:
    ccf = coefficients_for("AMD EPYC 7B13").describe()
    with_ccf = dataclasses.replace(ESTIMATE, method_cpu_coefficients=ccf)
    report = _report(ledger, [with_ccf, MEASURED])
    assert report.method.cpu_coefficients == {ccf: 1}
    for lang, label, run_word, explain in (
        ("nl", "Vermogen processor volgens", "1 meting", "watts per vCPU van Cloud Carbon"),
        ("en", "CPU watts from", "1 run", "Cloud Carbon Footprint's published watts per vCPU"),
    ):
        page = html.unescape(render_html(report, lang))
        assert label in page and f"{ccf}: {run_word}" in page, lang
        assert explain in page and "TDP" in page, lang
