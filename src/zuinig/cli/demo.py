"""``zuinig demo``: zuinig end to end in a folder of its own."""

from __future__ import annotations

from pathlib import Path

import click

from zuinig.cli.app import AppState, echo, pass_state
from zuinig.cli.text import format_demo_result

__all__ = ["demo_cmd"]


@click.command("demo")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the demo (new or empty). Default: zuinig-demo-<date>-<time> here.",
)
@pass_state
def demo_cmd(state: AppState, folder: Path | None) -> None:
    """Show zuinig end to end: data, measured jobs, a benchmark, advice and a report.

    Everything, the demo's own ledger included, goes into one new folder, so your
    own ledger stays untouched. Takes a few minutes; prints the paths at the end.
    """
    from zuinig.demo import run_demo

    result = run_demo(
        folder,
        settings=state.settings(),
        progress=lambda message: echo(message, err=True),
    )
    echo("\n".join(format_demo_result(result)))
