"""``zuinig runs list|show|export``: the runs in the ledger."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from zuinig.cli.app import AppState, echo, echo_json, pass_state
from zuinig.cli.options import filter_options, run_filter_of
from zuinig.cli.text import format_breakdown, format_run, format_runs_json, format_runs_table
from zuinig.ledger.model import KIND_DASK, Run

__all__ = ["DEFAULT_TABLE_LIMIT", "EXPORT_FORMATS", "runs_group"]

#: Rows the table of ``runs list`` shows when no ``--limit`` is given.
DEFAULT_TABLE_LIMIT = 20
EXPORT_FORMATS = ("csv", "parquet", "json")


@click.group("runs")
def runs_group() -> None:
    """List, show and export the runs in the ledger."""


@runs_group.command("list")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="All matching runs as a JSON array.")
@pass_state
def runs_list(
    state: AppState,
    job: str | None,
    tags: dict[str, str],
    month: str | None,
    status: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List runs, newest first (the table shows 20 unless --limit is given)."""
    run_filter = run_filter_of(job, tags, month, status, limit)
    with state.open_ledger() as ledger:
        if as_json:
            echo_json(format_runs_json(ledger.list_runs(run_filter)))
            return
        table_filter = dataclasses.replace(run_filter, limit=limit or DEFAULT_TABLE_LIMIT)
        runs = ledger.list_runs(table_filter)
        full = len(runs) >= (table_filter.limit or 0)
        total = ledger.count_runs(run_filter) if full else len(runs)
    echo("\n".join(format_runs_table(runs, total=total)))


@runs_group.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="The run as one JSON object.")
@pass_state
def runs_show(state: AppState, run_id: str, as_json: bool) -> None:
    """Show one run with every figure and how it was obtained (an id prefix will do)."""
    with state.open_ledger() as ledger:
        run = ledger.get_run(run_id)
        children = _dask_breakdown(ledger, run)
    if as_json:
        echo_json(json.dumps(run.to_dict(), indent=2, ensure_ascii=False))
    else:
        echo("\n".join([*format_run(run), *format_breakdown(children)]))


def _dask_breakdown(ledger: Any, run: Run) -> list[Run]:
    if run.kind != KIND_DASK:
        return []
    from zuinig.measure.dask import child_runs

    return child_runs(ledger, run)


@runs_group.command("export")
@filter_options
@click.option(
    "--format",
    "export_format",
    type=click.Choice(EXPORT_FORMATS),
    help="File format. Default: from the --out file's extension.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="File to write.",
)
@pass_state
def runs_export(
    state: AppState,
    job: str | None,
    tags: dict[str, str],
    month: str | None,
    status: str | None,
    limit: int | None,
    export_format: str | None,
    out: Path,
) -> None:
    """Write the matching runs to a CSV, Parquet or JSON file (columns: the DESIGN names).

    \b
    Example:  zuinig runs export --month 2026-11 --out runs-2026-11.csv
              zuinig runs export --format csv --out /dev/stdout | less

    A file is replaced only once the new one is complete (its permissions kept); a
    stream (/dev/stdout, a named pipe) is written into, and the count goes to stderr.
    """
    from zuinig.atomic import target_kind
    from zuinig.ledger.export import export_runs

    file_format = export_format or _format_from_suffix(out)
    # The count must not land in the data: stdout may be the stream, or the very file.
    count_to_stderr = target_kind(out) == "stream" or _is_stdout(out)
    with state.open_ledger() as ledger:
        runs = ledger.list_runs(run_filter_of(job, tags, month, status, limit))
    try:
        export_runs(runs, out, file_format)
    except OSError as error:
        reason = error.strerror or str(error)
        raise click.ClickException(
            f"cannot write {out}: {reason}; check that its directory exists and is writable"
        ) from error
    count = f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
    echo(f"wrote {count} to {out} ({file_format})", err=count_to_stderr)


def _is_stdout(path: Path) -> bool:
    """Whether ``path`` is the file this process's standard output goes to."""
    try:
        return os.path.samestat(os.fstat(sys.stdout.fileno()), path.stat())
    except (OSError, ValueError, AttributeError):  # no real stdout (tests), or no file yet
        return False


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in EXPORT_FORMATS:
        return suffix
    raise click.BadParameter(
        f"cannot tell the format from {path.name!r}; give --format csv, parquet or json",
        param_hint="'--format'",
    )
