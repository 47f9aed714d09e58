"""The CSV appendix: every figure, machine readable, escaped, written atomically."""

from __future__ import annotations

import csv
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from report_fixture import FORMULA_JOB, QUOTES_NAME, SCRIPT_JOB, build_fixture_ledger

from zuinig.config import Settings
from zuinig.errors import ReportError
from zuinig.ledger import Ledger
from zuinig.report.aggregate import build_report
from zuinig.report.appendix import COLUMNS, write_csv
from zuinig.report.model import GroupFigures, MonthlyReport, Totals

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def report(ledger: Ledger) -> MonthlyReport:
    expected = build_fixture_ledger(ledger)
    return build_report(ledger, Settings(), month=expected.month, now=NOW)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _value(rows: list[dict[str, str]], section: str, metric: str, name: str = "") -> str:
    (row,) = [r for r in rows if (r["section"], r["name"], r["metric"]) == (section, name, metric)]
    return row["value"]


def test_every_figure_of_the_fixture_reads_back_exactly(
    report: MonthlyReport, tmp_path: Path
) -> None:
    path = write_csv(report, tmp_path / "appendix.csv")
    rows = _read(path)
    assert tuple(rows[0]) == COLUMNS
    for name, value in dataclasses.asdict(report.totals).items():
        assert float(_value(rows, "totals", name)) == value
    assert float(_value(rows, "totals", "change_kwh")) == -0.625
    assert float(_value(rows, "totals", "sci_kg_per_run")) == report.totals.sci_kg_per_run
    assert float(_value(rows, "totals", "sci_kg_per_gb")) == report.totals.sci_kg_per_gb
    assert float(_value(rows, "totals", "measured_share")) == report.totals.measured_share
    assert float(_value(rows, "previous", "energy_kwh", "2026-10")) == 3.5
    assert float(_value(rows, "trend", "energy_kwh", "2026-06")) == 4.0
    assert len([r for r in rows if r["section"] == "trend"]) == 12 * 4
    for section, groups in (("job", report.jobs), ("team", report.teams), ("kind", report.kinds)):
        for group in groups:
            name = "'" + group.name if group.name.startswith("=") else group.name
            assert float(_value(rows, section, "energy_kwh", name)) == group.totals.energy_kwh
            assert (
                float(_value(rows, section, "previous_energy_kwh", name))
                == group.previous_energy_kwh
            )
    (saving,) = report.realised
    assert float(_value(rows, "realised", "saving_kwh_in_month", saving.job)) == 0.75
    assert {r["name"] for r in rows if r["section"] == "recommendation"} == {
        rec.job for rec in report.recommendations
    }
    for equivalent in report.equivalents:
        assert float(_value(rows, "equivalent", "amount", equivalent.key)) == equivalent.amount
        (constant,) = [r for r in rows if r["name"] == equivalent.key and r["metric"] == "constant"]
        assert float(constant["value"]) == equivalent.constant
        assert equivalent.source_url and equivalent.source_url in constant["notes"]
    assert [r["value"] for r in rows if r["metric"] == "pue"] == ["1.0", "1.5"]
    assert _value(rows, "method", "cpu_method_runs", "rapl") == "1"
    assert {r["unit"] for r in rows if r["metric"].endswith("energy_kwh")} == {"kWh"}


def test_user_text_round_trips_and_formulas_are_defused(
    report: MonthlyReport, tmp_path: Path
) -> None:
    awkward = 'a, "b"\nc\'&<d>'
    extra = GroupFigures(name=awkward, totals=Totals(runs=1, energy_kwh=1e-06))
    report = dataclasses.replace(
        report, jobs=(*report.jobs, extra), tags={"team": "+cmd|' /C calc'!A0"}
    )
    rows = _read(write_csv(report, tmp_path / "appendix.csv"))
    names = {r["name"] for r in rows if r["section"] == "job"}
    assert {SCRIPT_JOB, QUOTES_NAME, awkward, "'" + FORMULA_JOB} <= names
    assert _value(rows, "job", "energy_kwh", awkward) == "1e-06"
    assert _value(rows, "report", "tag_filter", "team") == "'+cmd|' /C calc'!A0"
    cells = [cell for row in rows for cell in row.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "@")], "no cell starts a formula"
    negative = [c for c in cells if c.startswith("-")]
    assert negative and all(float(c) < 0 for c in negative), "only numbers start with '-'"


def test_written_atomically_and_refused_with_one_line(
    report: MonthlyReport, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "appendix.csv"
    target.write_text("old", encoding="utf-8")
    write_csv(report, target)
    assert target.read_text(encoding="utf-8").startswith("section,")
    assert [p.name for p in folder.iterdir()] == ["appendix.csv"], "no temporary file left"
    with pytest.raises(ReportError, match="cannot write the CSV appendix"):
        write_csv(report, tmp_path / "missing" / "appendix.csv")
