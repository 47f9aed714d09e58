"""``zuinig report`` end to end: the fixed ledger in, HTML, PDF and CSV out.

The must-show of issue 5: the hand-worked totals of tests/report/report_fixture.py come
back exactly in the CSV and in the HTML's ``<data value>`` of the key figures, and as
the page rounds them in the HTML and in the PDF read back with pdftotext; user-supplied
names are escaped in the HTML and literal in the PDF. Bad input is one line, exit 2.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from report_fixture import EXPECTED, QUOTES_NAME, SCRIPT_JOB, build_fixture_ledger

from zuinig.cli import AppState, cli
from zuinig.cli.report import REPORT_FORMATS, REPORT_LANGUAGES, last_complete_month
from zuinig.ledger import Ledger
from zuinig.report.render import FORMATS
from zuinig.report.texts import LANGUAGES

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)


def _zuinig(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=AppState())


@pytest.fixture
def fixture_url(ledger_url: str) -> str:
    with Ledger.open(ledger_url) as ledger:
        build_fixture_ledger(ledger)
    return ledger_url


def _write(url: str, out: Path, *options: str) -> dict[str, Path]:
    result = _zuinig(
        "--ledger", url, "report", "--month", EXPECTED.month, "--out", str(out), *options
    )
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert all(path.parent == out and path.stat().st_size > 0 for path in paths)
    return {path.suffix.lstrip("."): path for path in paths}


def _csv_totals(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            row["metric"]: row["value"]
            for row in csv.DictReader(handle)
            if row["section"] == "totals" and not row["name"]
        }


@needs_poppler
def test_the_fixture_gives_exact_totals_in_html_pdf_and_csv(
    fixture_url: str, tmp_path: Path
) -> None:
    files = _write(fixture_url, tmp_path / "verslag")
    assert sorted(files) == ["csv", "html", "pdf"]
    assert files["html"].name == "zuinig-report-2026-11-nl.html"

    totals = _csv_totals(files["csv"])
    for metric in ("runs", "energy_kwh", "co2_kg", "failed", "interrupted", "ok"):
        assert float(totals[metric]) == EXPECTED.totals[metric], metric

    html = files["html"].read_text(encoding="utf-8")
    assert f'value="{EXPECTED.totals["energy_kwh"]!r}" data-unit="kWh">2,88 kWh</data>' in html
    assert f'value="{EXPECTED.totals["co2_kg"]!r}" data-unit="kg">718,8 g CO₂e</data>' in html
    assert 'value="9" data-unit="runs">9</data>' in html
    assert f'value="{EXPECTED.change_ratio!r}" data-unit="ratio">-18%</data>' in html
    # Escaped, never live: the names are user-supplied.
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&#39;&amp;" in html

    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(files["pdf"]), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for figure in ("2,88 kWh", "718,8 g CO₂e", "-18%", SCRIPT_JOB, QUOTES_NAME):
        assert figure in text, figure


def test_english_and_a_format_subset(fixture_url: str, tmp_path: Path) -> None:
    files = _write(fixture_url, tmp_path, "--lang", "en", "--format", "html,csv")
    assert sorted(files) == ["csv", "html"]
    html = files["html"].read_text(encoding="utf-8")
    assert '<html lang="en"' in html
    assert 'data-unit="kWh">2.88 kWh</data>' in html


def test_a_tag_filter_reports_only_that_team(fixture_url: str, tmp_path: Path) -> None:
    files = _write(fixture_url, tmp_path, "--format", "csv", "--tag", "team=ruimte")
    totals = _csv_totals(files["csv"])
    assert float(totals["energy_kwh"]) == EXPECTED.ruimte["energy_kwh"]
    assert float(totals["runs"]) == EXPECTED.ruimte["runs"]


def test_an_empty_month_is_a_valid_report_saying_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = _zuinig(
        "--ledger",
        url,
        "report",
        "--month",
        "2026-03",
        "--out",
        str(tmp_path),
        "--format",
        "html,csv",
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "zuinig-report-2026-03-nl.html").read_text(encoding="utf-8")
    assert "In maart 2026 zijn geen metingen vastgelegd." in " ".join(html.split())
    assert float(_csv_totals(tmp_path / "zuinig-report-2026-03-nl.csv")["runs"]) == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--month", "2026-13"), "is not a month; write it as YYYY-MM"),
        (("--month", "november"), "is not a month; write it as YYYY-MM"),
        (("--format", "html,docx"), "choose from html,pdf,csv"),
        (("--lang", "de"), "'de' is not one of 'nl', 'en'"),
        (("--tag", "team"), "is not key=value"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], says: str, tmp_path: Path) -> None:
    result = _zuinig(
        "--ledger", f"sqlite:///{tmp_path / 'l.db'}", "report", "--out", str(tmp_path), *args
    )
    assert result.exit_code == 2
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("zuinig-report-*"))


def test_a_bad_ledger_url_is_one_line(tmp_path: Path) -> None:
    result = _zuinig(
        "--ledger", "nosuchdb://x", "report", "--month", "2026-11", "--out", str(tmp_path)
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("zuinig: ") and len(result.stderr.strip().splitlines()) == 1


def test_an_unwritable_folder_is_one_line_and_exit_1(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    url = f"sqlite:///{tmp_path / 'l.db'}"
    result = _zuinig(
        "--ledger",
        url,
        "report",
        "--month",
        "2026-11",
        "--out",
        str(blocker / "sub"),
        "--format",
        "csv",
    )
    assert result.exit_code == 1
    assert "cannot create the report folder" in result.stderr
    assert result.stderr.startswith("zuinig: ") and len(result.stderr.strip().splitlines()) == 1


def test_the_cli_offers_every_format_and_language_the_renderer_has() -> None:
    assert REPORT_FORMATS == FORMATS
    assert REPORT_LANGUAGES == LANGUAGES


@pytest.mark.parametrize(
    ("now", "month"),
    [
        (datetime(2026, 12, 1, 0, 5, tzinfo=UTC), "2026-11"),
        (datetime(2027, 1, 15, tzinfo=UTC), "2026-12"),
        (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), "2026-10"),
    ],
)
def test_the_default_month_is_the_last_complete_one(now: datetime, month: str) -> None:
    assert last_complete_month(now) == month
