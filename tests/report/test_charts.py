"""The report's charts: valid, labelled, deterministic SVG whose text stays text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from render_samples import SCRIPT_NAME, trend

from zuinig.report.charts import LABEL_CHARS, bar_chart, text_alternatives, trend_chart
from zuinig.report.texts import Texts

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def test_trend_chart_is_labelled_localised_svg() -> None:
    svg = trend_chart(trend([900.0, *([1000.0] * 10), 1234.5]), "2026-11", Texts("nl"))
    assert svg is not None
    assert svg.startswith("<svg")  # no XML prolog or DOCTYPE: it is inlined in HTML
    root = ET.fromstring(svg)
    assert root.get("class") == "chart"
    assert root.get("data-chart") == "trend"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Energieverbruik per maand"
    description = root.find(f"{SVG}desc")
    assert description is not None and "november 2026: 1.234,5 kWh" in (description.text or "")
    labels = _texts(svg)
    assert "energie (kWh)" in labels
    assert "1.200" in labels  # Dutch grouping on the ticks
    assert "dec\n2025" in labels or "dec2025" in labels or "dec" in labels
    assert "1.234,5 kWh" in labels  # the month's bar carries its value
    assert "<metadata" not in svg and "dc:date" not in svg


def test_trend_chart_in_english_uses_english_months_and_numbers() -> None:
    svg = trend_chart(trend([900.0, *([1000.0] * 10), 1234.5]), "2026-11", Texts("en"))
    assert svg is not None
    labels = _texts(svg)
    assert "1,200" in labels
    assert "Oct" in labels
    assert "energy (kWh)" in labels


def test_tiny_energies_are_drawn_in_a_unit_that_shows_them() -> None:
    svg = trend_chart(trend([0.0] * 11 + [3e-6]), "2026-11", Texts("en"))
    assert svg is not None
    assert "energy (mWh)" in _texts(svg)


def test_the_same_figures_give_the_same_svg() -> None:
    points = trend([1.0] * 12)
    assert trend_chart(points, "2026-11", Texts("nl")) == trend_chart(
        points, "2026-11", Texts("nl")
    )


def test_tick_labels_show_every_tick_exactly() -> None:
    # 1.75 kWh as the largest bar gives ticks in steps of 0.25: "0,25", never "0,2".
    svg = bar_chart("jobs", ["a", "b"], [1.75, 0.75], "t", Texts("nl"))
    assert svg is not None
    labels = _texts(svg)
    assert "0,25" in labels and "1,75" in labels
    assert "0,2" not in labels


def test_no_chart_without_energy() -> None:
    assert trend_chart(trend([0.0] * 12), "2026-11", Texts("nl")) is None
    assert trend_chart((), "2026-11", Texts("nl")) is None
    assert bar_chart("jobs", ["a"], [0.0], "t", Texts("nl")) is None
    assert bar_chart("jobs", [], [], "t", Texts("nl")) is None


def test_bar_labels_are_text_never_markup_or_maths() -> None:
    long_name = "x" * (LABEL_CHARS + 10)
    labels = [SCRIPT_NAME, "\"'&", "cost $x$ and $y$", 'id="evil"', long_name]
    svg = bar_chart(
        "jobs",
        labels,
        [5.0, 4.0, 3.0, 2.0, 1.0],
        f"title {SCRIPT_NAME}",
        Texts("en"),
        last_is_rest=True,
    )
    assert svg is not None
    shown = _texts(svg)
    assert SCRIPT_NAME in shown  # escaped in the SVG, read back as the literal name
    assert "\"'&" in shown
    assert "cost $x$ and $y$" in shown  # mathtext is off
    assert 'id="evil"' in shown  # the id prefixing touches tags only, never text
    assert long_name[: LABEL_CHARS - 1] + "…" in shown
    assert "<script>" not in svg
    root = ET.fromstring(svg)
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == f"title {SCRIPT_NAME}"
    assert "#9a9a9a" in svg.lower()  # the summed rest is grey


def test_text_alternatives_read_each_charts_title_and_description_back_unescaped() -> None:
    texts = Texts("nl")
    jobs = bar_chart("jobs", [SCRIPT_NAME, "b"], [2.0, 1.0], f"per taak {SCRIPT_NAME}", texts)
    points = trend([1000.0] * 11 + [1234.5])
    month = points[-1].month
    trend_svg = trend_chart(points, month, texts)
    assert jobs is not None and trend_svg is not None
    page = f"<p>{SCRIPT_NAME}</p><figure>{trend_svg}</figure><figure>{jobs}</figure>"
    found = text_alternatives(page)
    assert found[f"per taak {SCRIPT_NAME}"] == (
        f"per taak {SCRIPT_NAME}. {SCRIPT_NAME}: 2,00 kWh; b: 1,00 kWh"
    )
    assert found["Energieverbruik per maand"].endswith("; november 2026: 1.234,5 kWh")
    assert len(found) == 2


def test_two_charts_share_no_id_and_every_reference_resolves() -> None:
    texts = Texts("nl")
    first = trend_chart(trend([1.0] * 12), "2026-11", texts)
    second = bar_chart("jobs", ["a", "b"], [2.0, 1.0], "t", texts)
    assert first is not None and second is not None
    page = first + second
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert ids and len(ids) == len(set(ids))
    references = re.findall(r'(?:url\(#|href="#)([^")]+)', page)
    assert references and set(references) <= set(ids)


def test_labels_in_any_script_draw_without_glyph_warnings() -> None:
    # filterwarnings = error: a "Glyph ... missing from font(s)" UserWarning fails the test
    labels = [
        "हिन्दी",
        "東京データ",
        "woning🌱bouw",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "العربية",
        "CO₂ ≤ 5 µs",
        "\x1b[2Jjob",
    ]
    svg = bar_chart("jobs", labels, [7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], "t", Texts("en"))
    assert svg is not None
    ET.fromstring(svg)  # well-formed: no control character reached the XML
    shown = _texts(svg)
    for label in labels[:-1]:
        assert label in shown  # the text itself is kept: the renderer draws it
    assert "\\x1b[2Jjob" in shown  # a control character is shown, not sent
