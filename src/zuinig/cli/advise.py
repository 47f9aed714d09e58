"""``zuinig advise``: lower-energy configurations per job, with savings and evidence."""

from __future__ import annotations

import json
from datetime import datetime

import click

from zuinig.cli.app import AppState, echo, echo_json, pass_state
from zuinig.cli.options import parse_since

__all__ = ["advise_cmd"]


@click.command("advise")
@click.option("--job", help="Only this job.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    callback=parse_since,
    metavar="DATE",
    help="Only runs from this date (YYYY-MM-DD, UTC); runs per month are counted from it.",
)
@click.option("--json", "as_json", is_flag=True, help="The advice as one JSON object.")
@pass_state
def advise_cmd(state: AppState, job: str | None, since: datetime | None, as_json: bool) -> None:
    """Recommend lower-energy configurations per job, with savings, payback and evidence.

    \b
    Example:  zuinig advise --since 2026-09-01

    Compares each job's format and engine (as the meter saw them) with the best
    correct configuration a `zuinig bench` measured on the same file, and shows
    the savings jobs realised after changing configuration.
    """
    from zuinig.advise import advise
    from zuinig.advise.text import format_advice

    with state.open_ledger() as ledger:
        advice = advise(ledger, state.settings(), job=job, since=since)
    if as_json:
        echo_json(json.dumps(advice.to_dict(), indent=2, ensure_ascii=False))
    else:
        echo("\n".join(format_advice(advice)))
