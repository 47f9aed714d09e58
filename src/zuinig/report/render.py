"""The monthly report as files: one self-contained HTML page, a PDF made from that same
HTML, and the CSV appendix; in Dutch or English.

Pure presentation: a :class:`~zuinig.report.model.MonthlyReport` in, text or files out;
the ledger is never read here. The HTML has no external resources (inline CSS, inline
SVG charts, no scripts, system fonts) and is made with Jinja2 with autoescaping on, so
every job name, tag, ledger address and recommendation is shown as text and never run.

Only the largest jobs and teams are drawn and tabled (the rest summed on one line), so
rendering costs the same for a month of ten runs as for a million; the CSV appendix
holds every job.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from zuinig.atomic import atomic_path
from zuinig.errors import ReportError, UsageError
from zuinig.report import charts
from zuinig.report.model import AnnualFigures, ChangeSplit, GroupFigures, MonthlyReport, Totals
from zuinig.report.texts import Numbers, Texts, check_language

__all__ = [
    "FORMATS",
    "PDF_VARIANT",
    "TOP_JOBS",
    "chart_names",
    "render_html",
    "render_pdf",
    "report_path",
    "write_report",
]

#: The files a report can be written as.
FORMATS: Final = ("html", "pdf", "csv")
#: Jobs drawn and tabled one by one; the rest share one line (all are in the CSV).
TOP_JOBS: Final = 10
#: Teams shown one by one.
TOP_TEAMS: Final = 10
#: Recommendations and realised savings listed one by one.
TOP_ADVICE: Final = 20

PANGO_MISSING: Final = (
    "the PDF needs the Pango library: on Debian `apt-get install libpango-1.0-0 "
    "libpangoft2-1.0-0`, or leave pdf out with --format html,csv"
)

#: The PDF is PDF/UA-1 (ISO 14289-1): published government documents must be accessible
#: (Digitoegankelijk: WCAG 2.1 AA, EN 301 549). With it WeasyPrint tags the structure
#: (headings, paragraphs, lists, tables with header cells, figures), sets the document's
#: language from ``<html lang>`` and its title from ``<title>``, shows that title in the
#: viewer and declares PDF/UA in the XMP metadata.
PDF_VARIANT: Final = "pdf/ua-1"

_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Row:
    """One line of a job, team or kind table, formatted."""

    name: str
    runs: str
    energy: str
    co2: str
    share: str
    change: str
    rest: bool = False


def report_path(out_dir: Path, report: MonthlyReport, lang: str, fmt: str) -> Path:
    """Where ``write_report`` puts one format: ``zuinig-report-2026-11-nl.html``."""
    return out_dir / f"zuinig-report-{report.month}-{lang}.{fmt}"


def chart_names(report: MonthlyReport) -> list[str]:
    """The ``data-chart`` names the HTML of ``report`` holds, in page order."""
    names = []
    if report.trend and max(p.energy_kwh for p in report.trend) > 0:
        names.append("trend")
    if any(job.totals.energy_kwh > 0 for job in report.jobs):
        names.append("jobs")
    if len(_named_teams(report)) > 1:
        names.append("teams")
    return names


def render_html(report: MonthlyReport, lang: str = "nl") -> str:
    """The report as one self-contained HTML page.

    Args:
        report: the month's figures.
        lang: ``nl`` or ``en``.

    Raises:
        UsageError: for an unknown language.
    """
    texts = Texts(check_language(lang))
    template = _environment().get_template("report.html.j2")
    return template.render(_context(report, texts))


def render_pdf(html: str) -> bytes:
    """The tagged PDF (:data:`PDF_VARIANT`) of an HTML page made by :func:`render_html`
    (WeasyPrint); each chart's figure tag carries its title and description as its
    alternative text.

    Raises:
        ReportError: when WeasyPrint's Pango library is missing.
    """
    weasyprint = _load_weasyprint()
    finisher = functools.partial(_describe_figures, charts.text_alternatives(html))
    with _quiet_svg_styles():
        pdf = weasyprint.HTML(string=html, base_url=None).write_pdf(
            pdf_variant=PDF_VARIANT, finisher=finisher
        )
    if not isinstance(pdf, bytes):  # write_pdf returns bytes when given no target
        raise ReportError("WeasyPrint returned no PDF")
    return pdf


def write_report(
    report: MonthlyReport,
    out_dir: Path,
    *,
    lang: str = "nl",
    formats: Sequence[str] = ("html", "pdf", "csv"),
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the report's files into ``out_dir`` (created if missing), each atomically.

    Files are named ``zuinig-report-YYYY-MM-<lang>.<format>``; a file is replaced only
    once its new version is complete.

    Args:
        report: the month's figures.
        out_dir: the folder to write into.
        lang: ``nl`` or ``en``.
        formats: any of ``html``, ``pdf``, ``csv``.
        progress: called with a short line before each step (the CLI shows it).

    Returns:
        The paths written, in the order of ``formats``.

    Raises:
        UsageError: for an unknown language or format.
        ReportError: when the folder cannot be written or the PDF cannot be made.
    """
    check_language(lang)
    wanted = list(dict.fromkeys(formats))
    unknown = [fmt for fmt in wanted if fmt not in FORMATS]
    if unknown or not wanted:
        raise UsageError(
            f"unknown report format {', '.join(unknown) or '(none)'}: choose from {', '.join(FORMATS)}"
        )
    say = progress or (lambda _line: None)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportError(f"cannot create the report folder {out_dir}: {error.strerror}") from error
    html: str | None = None
    written: list[Path] = []
    for fmt in wanted:
        path = report_path(out_dir, report, lang, fmt)
        say(f"writing {path}")
        if fmt == "csv":
            from zuinig.report.appendix import write_csv  # every figure; atomic itself

            write_csv(report, path)
        else:
            if html is None:
                html = render_html(report, lang)
            with _atomic(path) as temporary:
                if fmt == "html":
                    temporary.write_text(html, encoding="utf-8")
                else:
                    temporary.write_bytes(render_pdf(html))
        written.append(path)
    return written


# -- internals ---------------------------------------------------------------------------


def _load_weasyprint() -> Any:
    """Import WeasyPrint on first use: it is slow to import and needs Pango."""
    try:
        import weasyprint  # type: ignore[import-untyped]  # no stubs, no py.typed
    except OSError as error:  # cffi cannot load libpango / libgobject
        raise ReportError(PANGO_MISSING) from error
    return weasyprint


def _describe_figures(alternatives: dict[str, str], _document: Any, pdf: Any) -> None:
    """WeasyPrint finisher: give each chart's ``Figure`` tag its full alternative text.

    WeasyPrint sets a figure's ``Alt`` to the SVG's ``<title>``; the chart's data is in
    its ``<desc>``, which a PDF reader would otherwise never hear.
    """
    for element in pdf.objects:
        if isinstance(element, dict) and element.get("S") == "/Figure":
            alt = element.get("Alt")
            if alt is not None and alt.string in alternatives:
                alt.string = alternatives[alt.string]


#: SVG presentation properties in the charts' ``style`` attributes. WeasyPrint's CSS
#: parser sees every element's style attribute, inline SVG included, and logs each of
#: these as an unknown (HTML) property; its SVG renderer then reads and draws them (the
#: PDF test renders the pages and finds the charts). Hundreds of such lines per report
#: would bury a real warning, so only these are dropped.
_SVG_STYLE_PROPERTIES: Final = frozenset(
    {
        "fill",
        "fill-opacity",
        "stroke",
        "stroke-width",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-opacity",
        "stroke-miterlimit",
        "text-anchor",
    }
)
_IGNORED_PROPERTY = re.compile(r"^Ignored `([a-z-]+):.*unknown property\.$", re.DOTALL)


class _SvgStyleFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        found = _IGNORED_PROPERTY.match(record.getMessage())
        return not (found and found.group(1) in _SVG_STYLE_PROPERTIES)


@contextmanager
def _quiet_svg_styles() -> Iterator[None]:
    logger = logging.getLogger("weasyprint")
    quiet = _SvgStyleFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it only when the block succeeds."""
    try:
        with atomic_path(path) as temporary:
            yield temporary
    except OSError as error:
        raise ReportError(f"cannot write {path}: {error.strerror or error}") from error


@functools.cache
def _environment() -> Environment:
    # One per process: Jinja2 compiles the template once and keeps it.
    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=True,  # every text from the ledger is user-supplied
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _named_teams(report: MonthlyReport) -> list[GroupFigures]:
    return [team for team in report.teams if team.name and team.totals.runs]


def _context(report: MonthlyReport, texts: Texts) -> dict[str, Any]:
    n = texts.numbers
    jobs_shown, jobs_rest = _top(report.jobs, TOP_JOBS)
    teams_shown, teams_rest = _top(report.teams, TOP_TEAMS)
    names = chart_names(report)
    month = n.month(report.month)
    return {
        "lang": texts.lang,
        "t": texts,
        "n": n,
        "report": report,
        "month": month,
        "previous": n.month(report.previous_month),
        "key_figures": _key_figures(report, texts),
        "meta": _meta(report, texts),
        "summary": texts.summary(report),
        "trend_text": texts.trend(report),
        "trend_chart": _markup(charts.trend_chart(report.trend, report.month, texts))
        if "trend" in names
        else None,
        "jobs_text": texts.jobs(report, TOP_JOBS),
        "jobs_rows": _rows(
            jobs_shown,
            jobs_rest,
            report.totals,
            n,
            texts.word("other_jobs", count=n.count(len(jobs_rest))),
            str,
        ),
        "jobs_chart": _bars(report, "jobs", jobs_shown, jobs_rest, texts, str)
        if "jobs" in names
        else None,
        "teams_text": texts.teams(report) if not report.is_empty else [],
        "teams_rows": _rows(
            teams_shown,
            teams_rest,
            report.totals,
            n,
            texts.word("other_teams", count=n.count(len(teams_rest))),
            texts.team,
        ),
        "teams_chart": _bars(report, "teams", teams_shown, teams_rest, texts, texts.team)
        if "teams" in names
        else None,
        "kinds_text": texts.kinds(report),
        "kinds_rows": _rows(list(report.kinds), [], report.totals, n, "", texts.kind),
        "scope2_text": texts.sentence("scope2_explain"),
        "annual_text": texts.annual(report),
        "annual_rows": _annual_rows(report, texts),
        "year_to_date": texts.word(
            "year_to_date",
            year=report.month[:4],
            month=texts.numbers.month(report.month, year=False),
        ),
        "split_title": texts.word("split", month=texts.previous_month(report)),
        "split_text": texts.change_split(report),
        "split_rows": _split_rows(report, texts),
        "methods_text": texts.methods(report),
        "methods_rows": _method_rows(report.totals, texts),
        "sci_text": texts.sci(report),
        "sci_rows": _sci_rows(report, texts),
        "recs_text": texts.recommendations(report),
        "recs": [_recommendation(r, texts) for r in report.recommendations[:TOP_ADVICE]],
        "recs_more": max(0, len(report.recommendations) - TOP_ADVICE),
        "show_eur": any(r.saving_eur_per_year is not None for r in report.recommendations),
        "realised_text": texts.realised(report),
        "realised": [_realised(r, texts) for r in report.realised[:TOP_ADVICE]],
        "realised_more": max(0, len(report.realised) - TOP_ADVICE),
        "reliability_text": texts.reliability(report),
        "reliability_rows": _reliability_rows(report.totals, texts),
        "equivalents": [_equivalent(e, texts) for e in report.equivalents],
        "method_items": _method_items(report, texts),
        "excluded": [
            texts.sentence(key)
            for key in (
                "excluded_embodied",
                "excluded_network",
                "excluded_idle",
                "excluded_gpu",
                "excluded_storage",
            )
        ],
        "glossary": texts.glossary(),
    }


def _markup(svg: str | None) -> Markup | None:
    # The SVG is matplotlib's, with every label escaped by its writer and the title and
    # description escaped in charts._to_svg.
    return Markup(svg) if svg is not None else None


def _top(groups: Sequence[GroupFigures], top: int) -> tuple[list[GroupFigures], list[GroupFigures]]:
    return list(groups[:top]), list(groups[top:])


def _rows(
    shown: Sequence[GroupFigures],
    rest: Sequence[GroupFigures],
    total: Totals,
    n: Numbers,
    rest_name: str,
    namer: Callable[[str], str],
) -> list[Row]:
    rows = [
        _row(
            namer(g.name),
            g.totals.runs,
            g.totals.energy_kwh,
            g.totals.co2_kg,
            g.change_kwh,
            total,
            n,
        )
        for g in shown
    ]
    if rest:
        rows.append(
            _row(
                rest_name,
                sum(g.totals.runs for g in rest),
                sum(g.totals.energy_kwh for g in rest),
                sum(g.totals.co2_kg for g in rest),
                sum(g.change_kwh for g in rest),
                total,
                n,
                rest=True,
            )
        )
    return rows


def _row(
    name: str,
    runs: int,
    energy_kwh: float,
    co2_kg: float,
    change_kwh: float,
    total: Totals,
    n: Numbers,
    *,
    rest: bool = False,
) -> Row:
    share = energy_kwh / total.energy_kwh if total.energy_kwh > 0 else 0.0
    return Row(
        name=name,
        runs=n.count(runs),
        energy=n.energy(energy_kwh),
        co2=n.co2(co2_kg),
        share=n.percent(share),
        change=n.energy(change_kwh, signed=True),
        rest=rest,
    )


def _bars(
    report: MonthlyReport,
    name: str,
    shown: Sequence[GroupFigures],
    rest: Sequence[GroupFigures],
    texts: Texts,
    namer: Callable[[str], str],
) -> Markup | None:
    labels = [namer(g.name) for g in shown]
    energies = [g.totals.energy_kwh for g in shown]
    if rest:
        other = "other_jobs" if name == "jobs" else "other_teams"
        labels.append(texts.word(other, count=texts.numbers.count(len(rest))))
        energies.append(sum(g.totals.energy_kwh for g in rest))
    title = texts.word(f"chart_{name}", month=texts.numbers.month(report.month))
    return _markup(charts.bar_chart(name, labels, energies, title, texts, last_is_rest=bool(rest)))


def _key_figures(report: MonthlyReport, texts: Texts) -> list[tuple[str, str, str, str, str]]:
    """(label, big figure, small line under it, exact value, its unit) for the top of the
    first page. The big figure is rounded for reading; the exact value goes into the
    page as ``<data value=...>``, so a machine (or a test) reads the unrounded sum."""
    n = texts.numbers
    totals = report.totals
    previous = texts.previous_month(report)
    ratio = report.change_ratio
    if ratio is None:
        change, note, exact_change = "–", texts.word("no_previous", month=previous), ""
    else:
        change, exact_change = n.percent(ratio, signed=True), repr(ratio)
        note = n.energy(report.change_kwh, signed=True)
    month = n.month(report.month)
    energy_note, co2_note = f"{month} · {n.mwh(totals.energy_kwh)}", month
    if totals.energy_kwh_low is not None and totals.energy_kwh_high is not None:
        energy_note += " · " + n.energy_range(
            totals.energy_kwh_low, totals.energy_kwh_high, like_kwh=totals.energy_kwh
        )
    elif totals.runs_without_range:
        energy_note += " · " + texts.word(
            "without_range", runs=texts.counted(totals.runs_without_range, "run")
        )
    if totals.co2_kg_low is not None and totals.co2_kg_high is not None:
        co2_note += " · " + n.co2_range(
            totals.co2_kg_low, totals.co2_kg_high, like_kg=totals.co2_kg
        )
    if totals.market_runs:
        market = (n.co2(totals.co2_kg_market_based), month, repr(totals.co2_kg_market_based))
    else:
        market = ("–", texts.word("no_market"), "")
    return [
        (
            texts.word("energy"),
            n.energy(totals.energy_kwh),
            energy_note,
            repr(totals.energy_kwh),
            "kWh",
        ),
        (texts.word("runs"), n.count(totals.runs), "", str(totals.runs), "runs"),
        # Location- and market-based side by side (the second row of the grid).
        (texts.word("co2_location"), n.co2(totals.co2_kg), co2_note, repr(totals.co2_kg), "kg"),
        (texts.word("co2_market"), *market, "kg"),
        (texts.word("change", month=previous), change, note, exact_change, "ratio"),
    ]


def _annual_rows(report: MonthlyReport, texts: Texts) -> list[tuple[str, str, str]]:
    """(disclosure, the month, the year to date) in ESRS units: MWh and t CO2e."""
    n = texts.numbers
    if len(report.annual) != 2:
        return []
    month, year = report.annual

    def market(figures: AnnualFigures) -> str:
        if not figures.market_runs and figures.runs:
            return texts.word("not_available")  # no market figure, rather than zero
        return n.tonnes(figures.co2_kg_market_based)

    return [
        (texts.word("esrs_energy"), n.mwh(month.energy_kwh), n.mwh(year.energy_kwh)),
        (
            texts.word("esrs_location"),
            n.tonnes(month.co2_kg_location_based),
            n.tonnes(year.co2_kg_location_based),
        ),
        (texts.word("esrs_market"), market(month), market(year)),
    ]


def _split_rows(report: MonthlyReport, texts: Texts) -> list[tuple[str, str, str]]:
    """(part, location-based, market-based) of the change in CO2e; empty when the change
    cannot be split (no energy in the previous month)."""
    n = texts.numbers
    splits = {split.basis: split for split in report.change_split}
    location, market = splits.get("location"), splits.get("market")
    if location is None or location.energy_effect_co2_kg is None:
        return []

    def co2(split: ChangeSplit | None, attribute: str) -> str:
        value = split.shown(getattr(split, attribute)) if split is not None else None
        return n.co2(value, signed=True) if value is not None else texts.word("not_available")

    return [
        (texts.word(key), co2(location, attribute), co2(market, attribute))
        for key, attribute in (
            ("energy_effect", "energy_effect_co2_kg"),
            ("factor_effect", "factor_effect_co2_kg"),
            ("split_total", "change_co2_kg"),
        )
    ]


def _meta(report: MonthlyReport, texts: Texts) -> list[tuple[str, str]]:
    tags = ", ".join(f"{k}={v}" for k, v in sorted(report.tags.items()))
    return [
        (texts.word("filter"), tags or texts.word("all_runs")),
        (texts.word("ledger"), report.ledger),
        (texts.word("generated"), texts.numbers.moment(report.generated_at)),
    ]


def _method_rows(totals: Totals, texts: Texts) -> list[tuple[str, str, str, str]]:
    n = texts.numbers
    rows = []
    for key, runs, energy_kwh in (
        ("measured", totals.measured_runs, totals.measured_energy_kwh),
        ("estimated", totals.estimated_runs, totals.estimated_energy_kwh),
        ("imported", totals.imported_runs, totals.imported_energy_kwh),
    ):
        share = energy_kwh / totals.energy_kwh if totals.energy_kwh > 0 else 0.0
        rows.append((texts.word(key), n.count(runs), n.energy(energy_kwh), n.percent(share)))
    if totals.unmeasured_runs:
        rows.append((texts.word("unmeasured"), n.count(totals.unmeasured_runs), "–", "–"))
    return rows


def _sci_rows(report: MonthlyReport, texts: Texts) -> list[tuple[str, str, str]]:
    n = texts.numbers
    missing = texts.word("not_available")

    def co2(value: float | None) -> str:
        return n.co2(value) if value is not None else missing

    return [
        (
            texts.word("per_run"),
            co2(report.totals.sci_kg_per_run),
            co2(report.previous.sci_kg_per_run),
        ),
        (
            texts.word("per_gb"),
            co2(report.totals.sci_kg_per_gb),
            co2(report.previous.sci_kg_per_gb),
        ),
    ]


def _interval(
    value: float | None, low: float | None, high: float | None, fmt: Callable[[float], str]
) -> tuple[str, str]:
    """(the figure, its 95% interval or empty)."""
    if value is None:
        return "–", ""
    if low is None or high is None or low == high:
        return fmt(value), ""
    return fmt(value), f"95%: {fmt(low)} … {fmt(high)}"


def _recommendation(item: Any, texts: Texts) -> dict[str, Any]:
    n = texts.numbers
    change = f"{item.current} → {item.recommended}" if item.recommended else item.current
    saving, interval = _interval(
        item.saving_kwh_per_year,
        item.saving_kwh_per_year_low,
        item.saving_kwh_per_year_high,
        n.energy,
    )
    return {
        "job": item.job,
        "kind": texts.advice_kind(item.kind),
        "change": change,
        "command": item.command,
        "evidence": item.evidence,
        "saving": saving,
        "interval": interval,
        "co2": n.co2(item.saving_co2_kg_per_year)
        if item.saving_co2_kg_per_year is not None
        else "–",
        "eur": n.euro(item.saving_eur_per_year) if item.saving_eur_per_year is not None else "–",
        "storage": texts.word("storage_saved", size=n.size(item.storage_saved_bytes))
        if item.storage_saved_bytes
        else "",
        "payback": texts.word("days", count=n.approx(item.payback_days))
        if item.payback_days is not None
        else "–",
        "confidence": texts.confidence(item.confidence),
    }


def _realised(item: Any, texts: Texts) -> dict[str, Any]:
    n = texts.numbers
    saving, interval = _interval(
        item.saving_kwh_in_month,
        item.saving_kwh_in_month_low,
        item.saving_kwh_in_month_high,
        n.energy,
    )
    notes = []
    if item.followed_recommendation:
        notes.append(texts.word("followed"))
    if not item.method_match:
        notes.append(texts.word("method_differs"))
    return {
        "job": item.job,
        "change": f"{item.before} → {item.after}",
        "since": n.day(item.since),
        "runs": n.count(item.runs_in_month) if item.runs_in_month is not None else "–",
        "saving": saving,
        "interval": interval,
        "year": n.energy(item.saving_kwh_per_year) if item.saving_kwh_per_year is not None else "–",
        "confidence": texts.confidence(item.confidence),
        "notes": "; ".join(notes),
    }


def _reliability_rows(totals: Totals, texts: Texts) -> list[tuple[str, str]]:
    n = texts.numbers
    rows = [
        (texts.word("ok"), n.count(totals.ok)),
        (texts.word("failed"), n.count(totals.failed)),
        (texts.word("interrupted"), n.count(totals.interrupted)),
    ]
    if totals.running:
        rows.append((texts.word("running"), n.count(totals.running)))
    return rows


def _equivalent(item: Any, texts: Texts) -> dict[str, Any]:
    n = texts.numbers
    url = (
        item.source_url
        if item.source_url and item.source_url.startswith(("https://", "http://"))
        else None
    )
    return {
        "text": texts.equivalent(item.key, n.approx(item.amount)),
        "basis": texts.sentence(f"equivalent_basis_{item.basis}")
        if item.basis in ("co2_kg", "energy_kwh")
        else item.basis,
        "constant": f"{n.scaled(item.constant)} {texts.unit(item.constant_unit)}",
        "source": item.source,
        "url": url,
    }


def _range_lines(totals: Totals, texts: Texts) -> list[str]:
    """The month's range in words, or how many runs have none."""
    n = texts.numbers
    lines = []
    if totals.energy_kwh_low is not None and totals.energy_kwh_high is not None:
        lines.append(
            texts.sentence(
                "range_total",
                range=n.energy_range(
                    totals.energy_kwh_low, totals.energy_kwh_high, like_kwh=totals.energy_kwh
                ),
            )
        )
    if totals.runs_without_range:
        lines.append(
            texts.sentence("range_missing", runs=texts.counted(totals.runs_without_range, "run"))
        )
    return lines


def _method_items(report: MonthlyReport, texts: Texts) -> list[tuple[str, list[str]]]:
    """(label, values) pairs of the method section; empty values are left out."""
    n = texts.numbers
    method = report.method
    intensities = [texts.factor(used) for used in method.intensities]
    market = [texts.factor(used) for used in method.market_intensities]
    later = report.totals.market_added_later_runs
    added_later = (
        [
            texts.sentence(
                "added_later_item", runs=texts.counted(later, "run"), verb=texts.have(later)
            )
        ]
        if later
        else []
    )
    cpu = [
        f"{texts.cpu_method(name)}: {texts.counted(runs, 'run')}"
        for name, runs in sorted(method.cpu_methods.items(), key=lambda item: -item[1])
    ]
    tdp = []
    if method.tdp_values_w:
        values = ", ".join(f"{n.scaled(w)} W" for w in method.tdp_values_w)
        tdp.append(
            texts.sentence(
                "tdp_item", values=values, generic=texts.counted(method.tdp_generic_runs, "run")
            )
        )
    storage = [texts.sentence("storage_none")]
    if method.storage_wh_per_tb_hour is not None:
        storage = [
            texts.sentence(
                "storage_item",
                wh=n.scaled(method.storage_wh_per_tb_hour),
                replication=n.scaled(method.storage_replication or 1.0),
            )
        ]
    items = [
        (texts.word("intensity"), intensities),
        (texts.word("market_factor"), market),
        (texts.word("added_later"), added_later),
        (
            texts.word("pue"),
            [", ".join(n.scaled(p) for p in method.pue_values)] if method.pue_values else [],
        ),
        (texts.word("cpu_method"), cpu),
        (texts.word("tdp"), tdp),
        (
            texts.word("cpu_coefficients"),
            [
                texts.sentence("coefficients_item", words=words, runs=texts.counted(runs, "run"))
                for words, runs in sorted(
                    method.cpu_coefficients.items(), key=lambda item: (-item[1], item[0])
                )
            ],
        ),
        (
            texts.word("ram_power"),
            [", ".join(f"{n.scaled(w)} W" for w in method.ram_power_values_w)]
            if method.ram_power_values_w
            else [],
        ),
        (
            texts.word("tracking_mode"),
            [
                f"{mode}: {texts.counted(runs, 'run')}"
                for mode, runs in sorted(method.tracking_modes.items())
            ],
        ),
        (
            texts.word("attribution"),
            [texts.sentence("attribution_rule")]
            + [
                texts.sentence(
                    "attribution_item",
                    rule=texts.attribution(rule),
                    runs=texts.counted(runs, "run"),
                )
                for rule, runs in sorted(method.attributions.items(), key=lambda item: -item[1])
            ],
        ),
        (texts.word("range"), _range_lines(report.totals, texts)),
        (texts.word("storage_model"), storage),
        (
            texts.word("codecarbon"),
            [", ".join(method.codecarbon_versions)] if method.codecarbon_versions else [],
        ),
        (texts.word("uncertainty"), [texts.sentence("uncertainty_text")]),
    ]
    return [(label, values) for label, values in items if values]
