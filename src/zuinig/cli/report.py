"""``zuinig report``: the monthly energy report for management."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import click

from zuinig.cli.app import AppState, echo, pass_state
from zuinig.cli.options import parse_month, tag_option
from zuinig.cli.progress import progress_lines

__all__ = [
    "REPORT_FORMATS",
    "REPORT_LANGUAGES",
    "last_complete_month",
    "parse_report_formats",
    "report_cmd",
]

# The same as zuinig.report.render.FORMATS and zuinig.report.texts.LANGUAGES (a test
# checks); written here so that starting the CLI does not import Jinja2 and Babel.
REPORT_FORMATS = ("html", "pdf", "csv")
REPORT_LANGUAGES = ("nl", "en")


def last_complete_month(now: datetime | None = None) -> str:
    """The month before ``now`` (UTC), ``YYYY-MM``: the report a month-start job wants."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    year, month = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def parse_report_formats(
    ctx: click.Context | None, param: click.Parameter | None, value: str
) -> tuple[str, ...]:
    """``html,pdf`` to a tuple of known formats, in the order given; BadParameter otherwise."""
    formats = tuple(
        dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip())
    )
    unknown = [name for name in formats if name not in REPORT_FORMATS]
    if unknown or not formats:
        raise click.BadParameter(
            f"{value!r} is not a list of formats; choose from {','.join(REPORT_FORMATS)}",
            ctx,
            param,
        )
    return formats


@click.command("report")
@click.option(
    "--month",
    callback=parse_month,
    metavar="YYYY-MM",
    help="The month to report (UTC). Default: the last complete month.",
)
@click.option(
    "--lang", type=click.Choice(REPORT_LANGUAGES), default="nl", show_default=True, help="Language."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default="the current directory",
    help="Folder to write the files into (made if missing).",
)
@click.option(
    "--format",
    "formats",
    default=",".join(REPORT_FORMATS),
    show_default=True,
    callback=parse_report_formats,
    help="Comma-separated: html, pdf, csv.",
)
@tag_option("Only runs with this tag (repeatable: all must match), e.g. --tag team=ruimte.")
@click.option(
    "--team-tag",
    default="team",
    show_default=True,
    metavar="KEY",
    help="The tag whose values are the teams in the per-team section.",
)
@pass_state
def report_cmd(
    state: AppState,
    month: str | None,
    lang: str,
    out_dir: Path,
    formats: tuple[str, ...],
    tags: Mapping[str, str],
    team_tag: str,
) -> None:
    """Write the monthly energy report for management: HTML, PDF and a CSV appendix.

    \b
    Example:  zuinig report --month 2026-11 --lang nl --out verslagen/

    Totals and the change against the month before, a 12-month trend, top jobs,
    teams, SCI, open recommendations and realised savings, equivalents, and the
    method behind every figure. Prints the paths of the files written.
    """
    from zuinig.report.aggregate import build_report
    from zuinig.report.render import write_report

    month = month or last_complete_month()
    with state.open_ledger() as ledger:
        report = build_report(
            ledger, state.settings(), month=month, tags=dict(tags), team_tag=team_tag
        )
    for path in write_report(
        report, out_dir, lang=lang, formats=formats, progress=progress_lines()
    ):
        echo(str(path))
