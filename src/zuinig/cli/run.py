"""``zuinig run``: run a command and record its energy and CO2e as one run."""

from __future__ import annotations

import sys

import click

from zuinig.cli.app import AppState, echo, is_terminal, pass_state
from zuinig.cli.options import tag_option
from zuinig.cli.text import format_run_summary
from zuinig.config import CONFIG_FILE_ENV

__all__ = ["run_cmd"]


@click.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "--job",
    help="Job name of the run. Default: the scheduler's name for the task (dag.task in "
    "Airflow), else the command's base name.",
)
@tag_option("Label the run (repeatable), e.g. --tag team=ruimte.")
@click.option("-q", "--quiet", is_flag=True, help="No summary line after the command.")
@click.option(
    "--no-command",
    is_flag=True,
    help="Store no command line with the run (passwords, tokens and keys in it are "
    "masked by default; use this when a secret is a plain word).",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_state
def run_cmd(
    state: AppState,
    job: str | None,
    tags: dict[str, str],
    quiet: bool,
    no_command: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND and record its energy and CO2e as one run.

    \b
    Example:  zuinig run --job nachtrun --tag team=ruimte -- python job.py data.parquet

    The command's whole process tree is measured. Its input, output and error
    streams pass through untouched, and zuinig exits with its exit code (128+N
    when a signal N ended it; 127 when it is not found, 126 when it cannot be
    executed). Ctrl-C reaches the command as usual and the run is still recorded.
    When stderr is a terminal, one summary line follows the command's output.
    """
    from zuinig.measure.command import run_command

    extra_env = {CONFIG_FILE_ENV: str(state.config.resolve())} if state.config else None
    result = run_command(
        command,
        job=job,
        tags=tags,
        recorder=state.recorder(),
        env=extra_env,
        record_command=not no_command,
    )
    if result.problem:
        echo(f"zuinig: {result.problem}", err=True)
    elif not quiet and is_terminal(sys.stderr):
        echo(format_run_summary(result.run), err=True)
    click.get_current_context().exit(result.exit_code)
