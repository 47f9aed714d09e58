"""The HTML report in a real headless browser: Debian's chromium driven by Playwright.

Never a downloaded browser: see chromium.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import launch, needs_chromium
from PIL import Image
from render_samples import QUOTES_NAME, SCRIPT_NAME, empty_report, make_report

from zuinig.report.model import GroupFigures, MonthlyReport
from zuinig.report.render import chart_names, write_report

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch() as launched:
        yield launched


def _open(browser: Any, report: MonthlyReport, tmp_path: Path, lang: str) -> dict[str, Any]:
    """Load the report's HTML file; return what the page said and did."""
    [path] = write_report(report, tmp_path, lang=lang, formats=("html",))
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    seen: dict[str, Any] = {"console": [], "errors": [], "dialogs": [], "requests": []}
    page.on("console", lambda message: seen["console"].append((message.type, message.text)))
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on("request", lambda request: seen["requests"].append(request.url))

    def dialog(opened: Any) -> None:
        seen["dialogs"].append(opened.message)
        opened.dismiss()

    page.on("dialog", dialog)
    page.goto(path.as_uri(), wait_until="load")
    seen["charts"] = {
        name: page.eval_on_selector(
            f'svg.chart[data-chart="{name}"]',
            "node => { const box = node.getBoundingClientRect(); return [box.width, box.height]; }",
        )
        for name in page.eval_on_selector_all(
            "svg.chart", "nodes => nodes.map(node => node.dataset.chart)"
        )
    }
    seen["text"] = page.inner_text("body")
    seen["lang"] = page.eval_on_selector("html", "node => node.lang")
    screenshot = tmp_path / f"{lang}.png"
    page.screenshot(path=str(screenshot), full_page=True)
    seen["screenshot"] = screenshot
    seen["url"] = path.as_uri()
    page.close()
    return seen


def _ink_share(png: Path) -> float:
    with Image.open(png) as image:
        grey = image.convert("L")
        return sum(grey.histogram()[:240]) / (grey.width * grey.height)


def test_report_renders_with_every_chart_and_no_console_error(browser: Any, tmp_path: Path) -> None:
    report = make_report(
        teams=(
            GroupFigures(SCRIPT_NAME, make_report().teams[0].totals),
            *make_report().teams[1:],
        )
    )
    seen = _open(browser, report, tmp_path, "nl")
    assert seen["errors"] == []
    assert [m for m in seen["console"] if m[0] in ("error", "warning")] == []
    assert seen["dialogs"] == []  # the job and team named <script>alert(1)</script> never ran
    assert seen["requests"] == [seen["url"]]  # nothing but the file itself is loaded
    assert seen["lang"] == "nl"
    assert list(seen["charts"]) == chart_names(report) == ["trend", "jobs", "teams"]
    for name, (width, height) in seen["charts"].items():
        assert width > 300 and height > 100, name
    assert SCRIPT_NAME in seen["text"] and QUOTES_NAME in seen["text"]
    assert "1.234,5 kWh" in seen["text"]
    assert _ink_share(seen["screenshot"]) > 0.01


def test_empty_month_in_english_renders_without_charts(browser: Any, tmp_path: Path) -> None:
    seen = _open(browser, empty_report(), tmp_path, "en")
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert [m for m in seen["console"] if m[0] in ("error", "warning")] == []
    assert seen["charts"] == {}
    assert "No runs were recorded in November 2026." in seen["text"]
    assert _ink_share(seen["screenshot"]) > 0.01
