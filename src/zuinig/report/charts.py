"""The monthly report's charts as inline SVG: matplotlib figures, no display, no global state.

Each chart is a :class:`matplotlib.figure.Figure` made here and dropped after saving
(pyplot is never used, so no figure outlives its call and nothing leaks between charts).
Text stays text (``svg.fonttype = none``): it is searchable, selectable and read by
screen readers and ``pdftotext``. The SVG returned has no XML prolog and no metadata
date, so the same figures give byte-identical output; every ``id`` inside is prefixed
with the chart's name, so several charts can share one HTML page.

The root ``<svg>`` carries ``class="chart"``, ``data-chart="<name>"``, ``role="img"`` and
a ``<title>``/``<desc>`` pair for assistive technology; :func:`text_alternatives` reads
that pair back from a page, for the PDF's figure tags.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from html import unescape
from typing import TYPE_CHECKING, Any, Final

from markupsafe import escape

from zuinig.report.model import MonthPoint
from zuinig.report.texts import Numbers, Texts
from zuinig.safe_text import printable

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["bar_chart", "text_alternatives", "trend_chart"]

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common form of
# colour blindness; the two blues also differ in lightness, so they survive grey print.
DARK_BLUE: Final = "#0072B2"
SKY_BLUE: Final = "#56B4E9"
GREY: Final = "#9A9A9A"
INK: Final = "#1A1A1A"
MUTED: Final = "#5F6B7A"

#: The text width of an A4 page with the report's margins (inches).
WIDTH_IN: Final = 6.7
#: Longest label shown on a bar chart; the table beside it carries the full name.
LABEL_CHARS: Final = 38

# Text content never holds '<' or '>' (matplotlib escapes them), so these match tags only.
_TAG = re.compile(r"<[^<>]+>")
_ID = re.compile(r'\sid="([^"]+)"')
_REF = re.compile(r'(url\(#|xlink:href="#|href="#)([^")]+)')
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
#: The title and description _to_svg writes right after a chart's root tag.
_LABELS = re.compile(
    r'<title id="chart-(?P<name>[^"]+)-title">(?P<title>[^<]*)</title>'
    r'<desc id="chart-(?P=name)-desc">(?P<desc>[^<]*)</desc>'
)


#: The font charts are laid out with (matplotlib ships it, so every machine has it).
CHART_FONT: Final = "DejaVu Sans"
#: matplotlib's own fallback (3.10 and later): a glyph for every code point, so a job
#: named in Devanagari, Chinese or with an emoji is measured as a box rather than with a
#: "Glyph missing from font" warning per character. The text stays text in the SVG and
#: the browser or PDF renderer draws it with its own fonts; only the layout uses these.
FALLBACK_FONT: Final = "Last Resort High-Efficiency"


@functools.cache
def _font_family() -> tuple[str, ...]:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return (CHART_FONT, FALLBACK_FONT) if FALLBACK_FONT in installed else (CHART_FONT,)


@contextmanager
def _style(name: str) -> Iterator[None]:
    import matplotlib

    # Any-keyed: matplotlib types rc_context's keys as a Literal of every rcParam name.
    settings: dict[Any, object] = {
        "svg.fonttype": "none",  # text stays text
        "svg.hashsalt": name,  # stable clip-path ids
        "text.parse_math": False,  # a job named "$x$" is shown as typed, not as maths
        "font.family": _font_family(),
        "font.size": 8.5,
        "text.color": INK,
        "axes.labelcolor": INK,
        "axes.edgecolor": MUTED,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.color": MUTED,
        "ytick.color": MUTED,
        "xtick.labelcolor": INK,
        "ytick.labelcolor": INK,
        "axes.grid": False,
        "grid.color": "#E3E6EA",
        "grid.linewidth": 0.6,
        "svg.image_inline": True,
    }
    with matplotlib.rc_context(settings):
        yield


def _to_svg(figure: Figure, name: str, title: str, description: str) -> str:
    """The figure as inline SVG: no prolog, no metadata, ids prefixed, labelled."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = _METADATA.sub("", svg, count=1)
    svg = _TAG.sub(lambda tag: _prefix_ids(tag.group(0), name), svg)
    title_id, desc_id = f"chart-{name}-title", f"chart-{name}-desc"
    root_end = svg.index(">") + 1
    root = svg[: root_end - 1]
    labelled = (
        f'{root} class="chart" data-chart="{name}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}">'
        f'<title id="{title_id}">{escape(title)}</title>'
        f'<desc id="{desc_id}">{escape(description)}</desc>'
    )
    return labelled + svg[root_end:]


def text_alternatives(html: str) -> dict[str, str]:
    """Each chart's title mapped to its full text alternative, title and description.

    In the HTML a screen reader reads both (``aria-labelledby`` names the pair); a tagged
    PDF's ``Figure`` has one ``Alt`` text, which WeasyPrint fills with the ``<title>``
    alone. This gives the text that replaces it there, so the PDF's reader hears the
    chart's figures too.

    Args:
        html: a page holding charts made here.

    Returns:
        ``{title: "title. description"}``, titles and descriptions unescaped.
    """
    return {
        unescape(found["title"]): f"{unescape(found['title'])}. {unescape(found['desc'])}"
        for found in _LABELS.finditer(html)
    }


def _prefix_ids(tag: str, name: str) -> str:
    """Prefix the ids a tag defines and refers to, so two charts never share an id."""
    tag = _ID.sub(lambda m: f' id="{name}-{m.group(1)}"', tag)
    return _REF.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", tag)


def _tick_format(numbers: Numbers, axes: Axes, axis: str) -> None:
    """Localised tick labels with as many decimals as the tick step needs."""
    from matplotlib.ticker import Formatter

    class _Localised(Formatter):
        decimals = 0

        def set_locs(self, locs: Sequence[float]) -> None:
            # Called once with all ticks before they are labelled: the fewest decimals
            # that show every tick exactly (steps of 0.25 need two, not one).
            ticks = [t for t in locs if math.isfinite(t)]
            scale = max((abs(t) for t in ticks), default=1.0) or 1.0
            self.decimals = next(
                (
                    decimals
                    for decimals in range(7)
                    if all(abs(round(t, decimals) - t) <= 1e-9 * scale for t in ticks)
                ),
                6,
            )

        def __call__(self, value: float, position: int | None = None) -> str:
            return numbers.decimal(value, self.decimals)

    target = axes.yaxis if axis == "y" else axes.xaxis
    target.set_major_formatter(_Localised())


def trend_chart(points: Sequence[MonthPoint], month: str, texts: Texts) -> str | None:
    """Energy per month over the trend's months, the report's month highlighted.

    Args:
        points: the months, oldest first.
        month: the report's month (``YYYY-MM``), drawn darker.
        texts: the language.

    Returns:
        The SVG, or None when no month has any energy (the report says so in words).
    """
    if not points or max(p.energy_kwh for p in points) <= 0:
        return None
    from matplotlib.figure import Figure

    numbers = texts.numbers
    factor, unit = numbers.energy_unit(max(p.energy_kwh for p in points))
    with _style("trend"):
        figure = Figure(figsize=(WIDTH_IN, 2.6))
        axes = figure.add_subplot()
        positions = range(len(points))
        values = [p.energy_kwh * factor for p in points]
        colours = [DARK_BLUE if p.month == month else SKY_BLUE for p in points]
        axes.bar(positions, values, color=colours, width=0.7, zorder=2)
        axes.grid(axis="y", zorder=0)
        labels = []
        for index, point in enumerate(points):
            short = numbers.month_short(point.month)
            first_of_year = index == 0 or point.month.endswith("-01")
            labels.append(f"{short}\n{point.month[:4]}" if first_of_year else short)
        axes.set_xticks(list(positions), labels)
        axes.tick_params(axis="x", length=0)
        axes.set_ylabel(texts.word("axis_energy", unit=unit))
        axes.set_ylim(0, max(values) * 1.15)
        _tick_format(numbers, axes, "y")
        for index, point in enumerate(points):
            if point.month == month:
                axes.annotate(
                    numbers.energy(point.energy_kwh),
                    (index, values[index]),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    color=INK,
                )
        figure.tight_layout(pad=0.4)
        description = "; ".join(
            f"{numbers.month(p.month)}: {numbers.energy(p.energy_kwh)}" for p in points
        )
        return _to_svg(figure, "trend", texts.word("chart_trend"), description)


def bar_chart(
    name: str,
    labels: Sequence[str],
    energies_kwh: Sequence[float],
    title: str,
    texts: Texts,
    *,
    last_is_rest: bool = False,
) -> str | None:
    """Horizontal bars of energy, largest first, each labelled with its value.

    Args:
        name: the chart's stable name (``data-chart``), e.g. ``jobs``.
        labels: one per bar (long labels are shortened; the table has them whole).
        energies_kwh: one per bar (kWh).
        title: the chart's title for assistive technology.
        texts: the language.
        last_is_rest: the last bar sums the rest and is drawn grey.

    Returns:
        The SVG, or None when there is nothing above zero to draw.
    """
    if not energies_kwh or max(energies_kwh) <= 0:
        return None
    from matplotlib.figure import Figure

    numbers = texts.numbers
    factor, unit = numbers.energy_unit(max(energies_kwh))
    values = [e * factor for e in energies_kwh]
    # Control characters made visible: no font has a glyph for ESC, and XML forbids it.
    labels = [printable(label) for label in labels]
    shown = [_shorten(label) for label in labels]
    colours = [DARK_BLUE] * len(values)
    if last_is_rest:
        colours[-1] = GREY
    with _style(name):
        figure = Figure(figsize=(WIDTH_IN, 0.28 * len(values) + 0.75))
        axes = figure.add_subplot()
        positions = list(range(len(values)))
        axes.barh(positions, values, color=colours, height=0.65, zorder=2)
        axes.set_yticks(positions, shown)
        axes.invert_yaxis()
        axes.tick_params(axis="y", length=0)
        axes.grid(axis="x", zorder=0)
        axes.set_xlabel(texts.word("axis_energy", unit=unit))
        axes.set_xlim(0, max(values) * 1.18)  # room for the value labels
        _tick_format(numbers, axes, "x")
        for position, (value, energy) in enumerate(zip(values, energies_kwh, strict=True)):
            axes.annotate(
                numbers.energy(energy),
                (value, position),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=7.5,
                color=MUTED,
            )
        figure.tight_layout(pad=0.4)
        description = "; ".join(
            f"{label}: {numbers.energy(energy)}"
            for label, energy in zip(labels, energies_kwh, strict=True)
        )
        return _to_svg(figure, name, title, description)


def _shorten(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
