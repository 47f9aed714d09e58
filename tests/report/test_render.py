"""The report's HTML: content in order, both languages, escaping, no external resources,
an empty month, and the files ``write_report`` writes."""

from __future__ import annotations

import importlib.abc
import logging
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from render_samples import QUOTES_NAME, SCRIPT_NAME, empty_report, make_report, totals

from zuinig.errors import ReportError, UsageError
from zuinig.report.model import GroupFigures, MonthlyReport
from zuinig.report.render import (
    PANGO_MISSING,
    TOP_JOBS,
    chart_names,
    render_html,
    report_path,
    write_report,
)


class _Page(HTMLParser):
    """Every tag with its attributes, and the page's text as a reader sees it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.chunks).split())

    def charts(self) -> list[str | None]:
        return [attrs.get("data-chart") for tag, attrs in self.tags if tag == "svg"]


def test_html_in_dutch_opens_with_the_key_figures_and_keeps_the_section_order(
    sample_report: MonthlyReport,
) -> None:
    html = render_html(sample_report, "nl")
    page = _Page(html)
    assert html.startswith("<!DOCTYPE html>")
    assert ("html", {"lang": "nl"}) in page.tags
    text = page.text
    headings = [
        "Samenvatting",
        "Verloop over twaalf maanden",
        "Grootste taken",
        "Per team",
        "Per soort meting",
        "Gemeten of geschat",
        "Uitstoot per functionele eenheid (SCI)",
        "Mislukte en onderbroken metingen",
        "Openstaande aanbevelingen",
        "Gerealiseerde besparingen",
        "Ter vergelijking",
        "Methode",
        "Begrippen",
    ]
    positions = [text.index(heading) for heading in headings]
    assert positions == sorted(positions)
    first_section = text[: positions[0]]
    for figure in ("1.234,5 kWh", "370,3 kg CO₂e", "95", "+12%", "+134,5 kWh"):
        assert figure in first_section
    assert "Het energieverbruik steeg 12% (+134,5 kWh) ten opzichte van oktober" in text
    assert "M = 0" in text
    assert "belasting van de machine maal een vermogen" in text
    assert "€ 105,00" in text.replace("\xa0", " ")
    assert "2.315 km rijden met een nieuwe personenauto" in text
    assert "8,20 kWh/dag; bron: CBS, 2023" in text  # a javascript: address is shown as no link
    assert page.charts() == ["trend", "jobs", "teams"] == chart_names(sample_report)


def test_html_in_english(sample_report: MonthlyReport) -> None:
    page = _Page(render_html(sample_report, "en"))
    assert ("html", {"lang": "en"}) in page.tags
    text = page.text
    assert "1,234.5 kWh" in text
    assert "Energy use rose 12% (+134.5 kWh) compared with October" in text
    assert "Glossary" in text and "storage at rest" in text
    assert "embodied emissions" in text


def test_user_text_is_escaped_and_nothing_is_loaded_or_run(sample_report: MonthlyReport) -> None:
    report = make_report(
        tags={"team": SCRIPT_NAME},
        ledger=f"sqlite:///{QUOTES_NAME}<b>.sqlite",
        teams=(GroupFigures(SCRIPT_NAME, totals(1.0)), GroupFigures(QUOTES_NAME, totals(0.5))),
    )
    html = render_html(report, "nl")
    assert SCRIPT_NAME not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&#39;&amp;" in html
    page = _Page(html)
    # The names come back literally as text, and no tag came from them.
    assert SCRIPT_NAME in page.text and QUOTES_NAME in page.text
    assert f"{QUOTES_NAME}<b>.sqlite" in page.text
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "b", "link", "img", "iframe", "object", "embed", "base"}
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), tag
        if "href" in attrs:
            assert tag == "a" and (attrs["href"] or "").startswith("https://"), attrs
    assert "@import" not in html and "url(http" not in html


def test_only_the_top_jobs_are_listed_and_the_rest_summed() -> None:
    jobs = tuple(GroupFigures(f"job-{i:03d}", totals(1000.0 - i)) for i in range(300))
    report = make_report(jobs=jobs, totals=totals(sum(j.totals.energy_kwh for j in jobs)))
    text = _Page(render_html(report, "en")).text
    assert f"job-{TOP_JOBS - 1:03d}" in text
    assert f"job-{TOP_JOBS:03d}" not in text
    assert "other jobs (290)" in text


def test_an_empty_month_says_so_in_words_without_charts() -> None:
    report = empty_report()
    page = _Page(render_html(report, "nl"))
    assert page.charts() == [] == chart_names(report)
    assert "In november 2026 zijn geen metingen vastgelegd." in page.text
    assert "geen grafiek" in page.text
    assert "Begrippen" in page.text and "Methode" in page.text
    assert "No runs were recorded in November 2026." in _Page(render_html(report, "en")).text


def test_an_empty_month_after_a_busy_year_still_shows_the_trend() -> None:
    report = make_report(
        totals=totals(0.0, runs=0, ok=0, estimated_runs=0), jobs=(), teams=(), kinds=()
    )
    page = _Page(render_html(report, "en"))
    assert page.charts() == ["trend"]
    assert "No runs were recorded in November 2026." in page.text


def test_a_tag_filter_is_named(sample_report: MonthlyReport) -> None:
    report = make_report(tags={"team": "ruimte"})
    assert "(alleen metingen met team=ruimte)" in _Page(render_html(report, "nl")).text


def test_unknown_language_or_format_is_refused(
    tmp_path: Path, sample_report: MonthlyReport
) -> None:
    with pytest.raises(UsageError, match="unknown report language 'fr'"):
        render_html(sample_report, "fr")
    with pytest.raises(UsageError, match=r"unknown report format docx: choose from html, pdf, csv"):
        write_report(sample_report, tmp_path / "out", formats=("html", "docx"))
    assert not (tmp_path / "out").exists()


def test_write_report_writes_named_files_atomically(
    tmp_path: Path, sample_report: MonthlyReport
) -> None:
    out_dir = tmp_path / "a" / "b"
    said: list[str] = []
    paths = write_report(sample_report, out_dir, lang="en", formats=("html",), progress=said.append)
    assert paths == [out_dir / "zuinig-report-2026-11-en.html"]
    assert paths[0] == report_path(out_dir, sample_report, "en", "html")
    assert paths[0].read_text(encoding="utf-8") == render_html(sample_report, "en")
    assert said == [f"writing {paths[0]}"]
    assert sorted(p.name for p in out_dir.iterdir()) == ["zuinig-report-2026-11-en.html"]


def test_write_report_writes_the_csv_appendix_beside_the_html(
    tmp_path: Path, sample_report: MonthlyReport
) -> None:
    paths = write_report(sample_report, tmp_path, formats=("csv", "html", "csv"))
    assert [p.name for p in paths] == [
        "zuinig-report-2026-11-nl.csv",
        "zuinig-report-2026-11-nl.html",
    ]
    appendix = paths[0].read_text(encoding="utf-8")
    assert "woningbouwmonitor" in appendix and SCRIPT_NAME in appendix
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


class _NoPango(importlib.abc.MetaPathFinder):
    """Imports of weasyprint fail the way they do without libpango: cffi's OSError."""

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == "weasyprint" or fullname.startswith("weasyprint."):
            raise OSError(
                "cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file"
            )


def test_missing_pango_is_one_clear_line_and_leaves_no_half_file(
    tmp_path: Path, sample_report: MonthlyReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in sys.modules if name.split(".")[0] == "weasyprint"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_NoPango(), *sys.meta_path])
    with pytest.raises(ReportError) as raised:
        write_report(sample_report, tmp_path, formats=("html", "pdf"))
    assert str(raised.value) == PANGO_MISSING
    assert "apt-get install libpango-1.0-0 libpangoft2-1.0-0" in PANGO_MISSING
    assert "--format html,csv" in PANGO_MISSING
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zuinig-report-2026-11-nl.html"]


def test_only_weasyprints_svg_style_noise_is_dropped() -> None:
    from zuinig.report.render import _SvgStyleFilter

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("weasyprint", logging.WARNING, __file__, 1, message, None, None)

    keep = _SvgStyleFilter()
    assert not keep.filter(record("Ignored `fill: #0072b2` at 1:1, unknown property."))
    assert not keep.filter(record("Ignored `text-anchor: middle` at 1:1, unknown property."))
    assert keep.filter(record("Ignored `clip: rect(0 0 0 0)` at 87:3, invalid value."))
    assert keep.filter(record("Ignored `colour: red` at 1:1, unknown property."))
    assert keep.filter(record("Failed to load image at 'https://example.org/x.png'"))
