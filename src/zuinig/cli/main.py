"""The ``zuinig`` group: its options, its commands, and the console script's entry point.

Each command lives in the module of its group (``run``, ``runs``, ``bench``, ...) as a
plain click command; :data:`COMMANDS` lists them all, so a new command is one module and
one line here.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from zuinig import __version__
from zuinig.cli.advise import advise_cmd
from zuinig.cli.app import AppState, ZuinigGroup, pass_state
from zuinig.cli.bench import bench_cmd
from zuinig.cli.convert import convert_cmd
from zuinig.cli.demo import demo_cmd
from zuinig.cli.doctor import doctor_cmd
from zuinig.cli.ledger import import_group, ledger_group
from zuinig.cli.report import report_cmd
from zuinig.cli.run import run_cmd
from zuinig.cli.runs import runs_group
from zuinig.config import check_ledger_url
from zuinig.extras import require_for_command

__all__ = ["COMMANDS", "cli", "main"]


@click.group(cls=ZuinigGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--ledger",
    metavar="URL",
    help="Ledger to use: a SQLAlchemy URL such as sqlite:////path/ledger.sqlite or "
    "postgresql+psycopg://user@host/db. Default: ZUINIG_LEDGER, the settings file, or "
    "the SQLite file in your user data directory.",
)
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Settings file to read instead of looking for zuinig.toml or [tool.zuinig] in "
    "pyproject.toml.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.version_option(__version__, "--version", prog_name="zuinig")
@pass_state
def cli(state: AppState, ledger: str | None, config: Path | None, debug: bool) -> None:
    """Measure the energy and CO2e of data jobs, and keep every run in a ledger."""
    # Checked now, not when a command first reads the settings: every command refuses it.
    check_ledger_url(ledger, origin="argument")
    # A command whose pip extra is missing stops here with one line (exit 2), before it imports.
    require_for_command(click.get_current_context().invoked_subcommand)
    state.ledger = ledger if ledger is not None else state.ledger
    state.config = config if config is not None else state.config
    state.debug = state.debug or debug


#: Every command and command group of ``zuinig`` (``--help`` lists them by name).
COMMANDS: tuple[click.Command, ...] = (
    advise_cmd,
    bench_cmd,
    convert_cmd,
    demo_cmd,
    doctor_cmd,
    import_group,
    ledger_group,
    report_cmd,
    run_cmd,
    runs_group,
)
for _command in COMMANDS:
    cli.add_command(_command)


def main() -> NoReturn:
    """Entry point of the ``zuinig`` console script."""
    cli.main(prog_name="zuinig")
