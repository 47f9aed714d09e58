"""``zuinig ledger sync`` and ``zuinig import codecarbon``: runs into and out of the ledger."""

from __future__ import annotations

from pathlib import Path

import click

from zuinig.cli.app import AppState, echo, pass_state
from zuinig.cli.options import parse_month
from zuinig.cli.progress import progress_bar
from zuinig.ledger.model import RunFilter

__all__ = ["import_group", "ledger_group"]


@click.group("ledger")
def ledger_group() -> None:
    """Share runs with another ledger, such as a team's on PostgreSQL."""


@ledger_group.command("sync")
@click.option(
    "--to",
    "to_url",
    required=True,
    metavar="URL",
    help="Ledger to copy to, e.g. postgresql+psycopg://analist@db.example/zuinig.",
)
@click.option(
    "--from",
    "from_url",
    metavar="URL",
    help="Ledger to copy from. Default: your ledger (--ledger, ZUINIG_LEDGER, settings, or "
    "the SQLite file in your user data directory).",
)
@click.option("--job", help="Only runs of this job.")
@click.option(
    "--month", callback=parse_month, metavar="YYYY-MM", help="Only runs started that month (UTC)."
)
@click.option("--dry-run", is_flag=True, help="Write nothing; say what would be copied.")
@pass_state
def ledger_sync(
    state: AppState,
    to_url: str,
    from_url: str | None,
    job: str | None,
    month: str | None,
    dry_run: bool,
) -> None:
    """Copy runs to the ledger at URL, and deliver runs kept in the local spool for it.

    \b
    Example:  zuinig ledger sync --to postgresql+psycopg://analist@db.example/zuinig

    Idempotent by run id: a second sync copies only what is new or changed, and a
    run still running here never overwrites one finished there. Runs that could
    not reach URL while their job ran (kept in the local spool) are delivered
    too. Passwords are never shown; prefer ~/.pgpass or PGPASSWORD to a password
    in the URL.
    """
    from zuinig.ledger.store import missing_sqlite_file
    from zuinig.ledger.sync import sync_to
    from zuinig.ledger_text import format_sync

    for option, url in (("--to", to_url), ("--from", from_url)):
        if url is not None and not url.strip():
            raise click.BadParameter(
                "is empty; give a ledger URL such as sqlite:////path/ledger.sqlite",
                param_hint=f"'{option}'",
            )
    if from_url is not None:
        missing = missing_sqlite_file(from_url)
        if missing is not None:
            # Opening it would create an empty ledger and copy nothing: a typo, surely.
            raise click.BadParameter(
                f"there is no SQLite ledger at {missing}; check the path "
                "(sqlite:////absolute/path or sqlite:///relative/path)",
                param_hint="'--from'",
            )
    with progress_bar("syncing runs") as bar:
        report = sync_to(
            to_url,
            from_url=from_url if from_url is not None else state.ledger_url(),
            run_filter=RunFilter(job=job, month=month),
            dry_run=dry_run,
            progress=lambda step: bar(step.done, step.total),
        )
    echo("\n".join(format_sync(report)))


@click.group("import")
def import_group() -> None:
    """Bring measurements made by other tools into the ledger."""


@import_group.command("codecarbon")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--job", help="Job name of every imported run. Default: CodeCarbon's project_name.")
@pass_state
def import_codecarbon(state: AppState, files: tuple[Path, ...], job: str | None) -> None:
    """Import CodeCarbon emissions.csv FILES as runs (method: imported).

    \b
    Example:  zuinig import codecarbon emissions.csv oud/emissions.csv --job nachtrun

    Idempotent by CodeCarbon's run_id: importing a file again adds nothing. Bad
    rows are listed on stderr with their line numbers; the good rows are kept.
    Exit code 0 when any row was imported (or was already there), 1 when every
    row was bad, 2 when a file is missing (then nothing is imported).
    """
    from zuinig.ledger.importers import import_codecarbon_csv
    from zuinig.ledger_text import format_import

    with state.open_ledger() as ledger:
        result = import_codecarbon_csv(files, ledger, job=job)
    summary, *bad_rows = format_import(result)
    echo(summary)
    for line in bad_rows:
        echo(line, err=True)
    if result.bad_rows and not result.good_rows:
        click.get_current_context().exit(1)
