"""``zuinig doctor``: how energy will be measured on this machine."""

from __future__ import annotations

import json

import click

from zuinig.cli.app import AppState, echo, echo_json, pass_state
from zuinig.cli.text import format_diagnosis

__all__ = ["doctor_cmd"]


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="The diagnosis as one JSON object.")
@pass_state
def doctor_cmd(state: AppState, as_json: bool) -> None:
    """How energy will be measured on this machine, and how to calibrate it."""
    from zuinig.doctor import diagnose

    diagnosis = diagnose(state.settings(), ledger_url=state.ledger_url(), meter=state.meter)
    if as_json:
        echo_json(json.dumps(diagnosis.to_dict(), indent=2, ensure_ascii=False))
    else:
        echo("\n".join(format_diagnosis(diagnosis)))
