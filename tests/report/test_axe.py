"""The HTML report has no WCAG 2.1 A/AA violations by axe-core (issue 12).

axe-core comes from the npm registry, pinned in tests/report/axe/package.json and its
lock file; ``make test`` installs it with ``npm ci --prefix tests/report/axe``. It runs
inside Debian's chromium (chromium.py) on the Dutch and English report of the fixture
ledger made by ``zuinig report``, of the hand-built sample month (every section, hostile
names) and of an empty month.

When axe-core is not installed the test is skipped only where node is absent and this
is not CI; otherwise it fails, saying how to install it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import launch, needs_chromium
from click.testing import CliRunner
from render_samples import empty_report, make_report
from report_fixture import EXPECTED, build_fixture_ledger

from zuinig.cli import AppState, cli
from zuinig.ledger import Ledger
from zuinig.report.render import chart_names, write_report

pytestmark = needs_chromium

AXE_DIR = Path(__file__).parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.0 and 2.1, levels A and AA: what Digitoegankelijk (EN 301 549) asks.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: How to install it (from the repository root).
INSTALL = "npm ci --prefix tests/report/axe"


def _pinned_version() -> str:
    manifest = json.loads((AXE_DIR / "package.json").read_text(encoding="utf-8"))
    return str(manifest["dependencies"]["axe-core"])


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script, as pinned; skip or fail, saying why, when it is not installed."""
    pinned = _pinned_version()
    if not AXE_SCRIPT.exists():
        if shutil.which("node") is None and not os.environ.get("CI"):
            pytest.skip(f"node is not installed (apt-get install nodejs npm; then {INSTALL})")
        pytest.fail(f"axe-core is not installed: run `make axe` or `{INSTALL}`")
    installed = json.loads((AXE_SCRIPT.parent / "package.json").read_text(encoding="utf-8"))
    if installed["version"] != pinned:
        pytest.fail(f"axe-core {installed['version']} is installed, {pinned} is pinned: {INSTALL}")
    return AXE_SCRIPT.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch() as launched:
        yield launched


def _axe(browser: Any, source: str, page_path: Path) -> dict[str, Any]:
    """axe-core's results for one page, its WCAG 2.1 A/AA rules only."""
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    try:
        page.goto(page_path.as_uri(), wait_until="load")
        page.add_script_tag(content=source)
        results: dict[str, Any] = page.evaluate(
            """tags => axe.run(document, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations"],
            })""",
            WCAG_TAGS,
        )
    finally:
        page.close()
    return results


def _readable(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"  at {target}: {summary}")
            lines.append(f"    {node['html'][:200]}")
    return "\n".join(lines)


def _check(browser: Any, source: str, page_path: Path, charts: int) -> None:
    results = _axe(browser, source, page_path)
    assert results["testEngine"]["version"] == _pinned_version()
    violations = results["violations"]
    assert violations == [], f"{page_path.name}:\n{_readable(violations)}"
    # The run did check the page: its language, title, contrast and, with charts, the
    # charts' text alternatives.
    passed = {rule["id"] for rule in results["passes"]}
    assert {"html-has-lang", "html-lang-valid", "document-title", "color-contrast"} <= passed
    assert ("svg-img-alt" in passed) == (charts > 0)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_fixture_ledgers_report_has_no_wcag21_aa_violation(
    browser: Any, axe_source: str, tmp_path: Path, lang: str
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url) as ledger:
        build_fixture_ledger(ledger)
    arguments = ["--ledger", url, "report", "--month", EXPECTED.month, "--lang", lang]
    arguments += ["--format", "html", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, arguments, obj=AppState())
    assert result.exit_code == 0, result.output
    [page_path] = [Path(line) for line in result.stdout.splitlines()]
    charts = page_path.read_text(encoding="utf-8").count('role="img"')
    assert charts >= 2
    _check(browser, axe_source, page_path, charts)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_sample_month_and_an_empty_month_have_no_wcag21_aa_violation(
    browser: Any, axe_source: str, tmp_path: Path, lang: str
) -> None:
    for name, report in (("sample", make_report()), ("empty", empty_report())):
        [page_path] = write_report(report, tmp_path / name, lang=lang, formats=("html",))
        _check(browser, axe_source, page_path, len(chart_names(report)))
