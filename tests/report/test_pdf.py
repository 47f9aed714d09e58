"""The real PDF: WeasyPrint makes it from the report's HTML; poppler reads it back.

pdftotext must find the totals exactly as the page formats them and the escaped names
literally; pdftoppm renders every page, and no page may be blank.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from render_samples import QUOTES_NAME, SCRIPT_NAME, empty_report, make_report

from zuinig.report.model import MonthlyReport
from zuinig.report.render import write_report

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) is not installed",
)

#: A page with less ink than this share of its pixels counts as blank.
MIN_INK_SHARE = 0.002


def _pdf(
    report: MonthlyReport, tmp_path: Path, lang: str, caplog: pytest.LogCaptureFixture
) -> Path:
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        [path] = write_report(report, tmp_path, lang=lang, formats=("pdf",))
    # WeasyPrint logs CSS it ignores and resources it cannot load: the page uses neither.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []
    assert path.read_bytes().startswith(b"%PDF-")
    return path


def _text(pdf: Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def _ink_per_page(pdf: Path, tmp_path: Path) -> list[float]:
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    shares = []
    for png in sorted(tmp_path.glob("page-*.png")):
        with Image.open(png) as image:
            grey = image.convert("L")
            histogram = grey.histogram()
            ink = sum(histogram[:240])  # anything visibly darker than white
            shares.append(ink / (grey.width * grey.height))
    return shares


def test_pdf_holds_the_totals_and_names_as_text_and_no_blank_page(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pdf = _pdf(make_report(), tmp_path, "nl", caplog)
    text = _text(pdf)
    for figure in ("1.234,5 kWh", "370,3 kg CO₂e", "+12%", "+134,5 kWh", "Begrippen"):
        assert figure in text
    # The escaped names come back as the literal names (a bar label, a table cell).
    assert SCRIPT_NAME in text
    assert QUOTES_NAME in text
    assert "&lt;" not in text and "&#34;" not in text
    # The charts' text is real text too: tick labels and axis titles.
    assert "energie (kWh)" in text
    assert "1.200" in text
    shares = _ink_per_page(pdf, tmp_path)
    assert len(shares) >= 4
    assert min(shares) > MIN_INK_SHARE, shares


def test_english_pdf(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = _text(_pdf(make_report(), tmp_path, "en", caplog))
    assert "1,234.5 kWh" in text
    assert "Energy use rose 12%" in text


def test_empty_month_pdf_says_so_and_has_no_blank_page(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pdf = _pdf(empty_report(), tmp_path, "nl", caplog)
    text = " ".join(_text(pdf).split())
    assert "In november 2026 zijn geen metingen vastgelegd." in text
    shares = _ink_per_page(pdf, tmp_path)
    assert shares and min(shares) > MIN_INK_SHARE, shares
