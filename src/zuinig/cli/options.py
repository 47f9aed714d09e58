"""Option parsers and options that several commands share.

Each parser is a click callback: it returns the parsed value, or raises
``click.BadParameter`` with one line saying what is wrong and how to write it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from zuinig.errors import UsageError
from zuinig.ledger.model import STATUSES, RunFilter
from zuinig.tags import tags_from_pairs

__all__ = [
    "filter_options",
    "parse_month",
    "parse_since",
    "parse_tags",
    "parsed_with",
    "run_filter_of",
    "tag_option",
]

Parsed = TypeVar("Parsed")


def parsed_with(
    parse: Callable[[str], Parsed],
) -> Callable[[click.Context | None, click.Parameter | None, str | None], Parsed | None]:
    """A click callback for an option whose text ``parse`` reads: no value stays ``None``,
    and the library's :class:`~zuinig.errors.UsageError` becomes ``click.BadParameter``
    (one line naming the option)."""

    def callback(
        ctx: click.Context | None, param: click.Parameter | None, value: str | None
    ) -> Parsed | None:
        if value is None:
            return None
        try:
            return parse(value)
        except UsageError as error:
            raise click.BadParameter(str(error), ctx, param) from None

    return callback


def parse_tags(
    ctx: click.Context | None, param: click.Parameter | None, values: Iterable[str]
) -> dict[str, str]:
    """``key=value`` strings to a mapping; click.BadParameter on a malformed one."""
    try:
        return tags_from_pairs(values)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None


def parse_month(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> str | None:
    """A ``YYYY-MM`` month in the range a report can be made for
    (:func:`zuinig.report.aggregate.checked_month_bounds`); click.BadParameter otherwise."""
    if value is None:
        return None
    from zuinig.ledger.store import month_bounds
    from zuinig.report.aggregate import checked_month_bounds

    month = value.strip()
    try:
        month_bounds(month)
    except UsageError:
        raise click.BadParameter(
            f"{value!r} is not a month; write it as YYYY-MM, such as 2026-11", ctx, param
        ) from None
    except ValueError:  # a month Python's dates cannot hold: checked below
        pass
    try:
        checked_month_bounds(month)
    except UsageError as error:
        raise click.BadParameter(str(error), ctx, param) from None
    return month


def parse_since(
    ctx: click.Context | None, param: click.Parameter | None, value: datetime | None
) -> datetime | None:
    """A ``--since`` date as UTC, from the first month a report can be made for up to now."""
    if value is None:
        return None
    from zuinig.report.aggregate import EARLIEST_MONTH

    since = value.replace(tzinfo=UTC)
    earliest = datetime.fromisoformat(f"{EARLIEST_MONTH}-01").replace(tzinfo=UTC)
    if not earliest <= since <= datetime.now(UTC):
        raise click.BadParameter(
            f"{since.date().isoformat()} is out of range; give a date from {EARLIEST_MONTH}-01 "
            "up to today (UTC)",
            ctx,
            param,
        )
    return since


def tag_option(help_text: str) -> Callable[[Any], Any]:
    """``--tag KEY=VALUE``, repeatable, parsed into a mapping (``tags``)."""
    return click.option(
        "--tag", "tags", multiple=True, callback=parse_tags, metavar="KEY=VALUE", help=help_text
    )


def filter_options(command: Any) -> Any:
    """The filters shared by ``runs list`` and ``runs export``."""
    options = [
        click.option("--job", help="Only runs of this job."),
        tag_option("Only runs with this tag (repeatable: all must match)."),
        click.option(
            "--month",
            callback=parse_month,
            metavar="YYYY-MM",
            help="Only runs started that month (UTC).",
        ),
        click.option("--status", type=click.Choice(STATUSES), help="Only runs with this status."),
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            metavar="N",
            help="At most N runs, newest first.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_filter_of(
    job: str | None,
    tags: Mapping[str, str],
    month: str | None,
    status: str | None,
    limit: int | None,
) -> RunFilter:
    """The :class:`RunFilter` that :func:`filter_options` ask for."""
    return RunFilter(job=job, tags=dict(tags), month=month, status=status, limit=limit)
