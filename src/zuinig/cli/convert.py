"""``zuinig convert``: convert a data file, verified, leaving the source untouched."""

from __future__ import annotations

import json
from pathlib import Path

import click

from zuinig.cli.app import AppState, echo, echo_json, pass_state
from zuinig.cli.progress import progress_bar
from zuinig.formats import WRITABLE_KINDS

__all__ = ["convert_cmd"]


@click.command("convert")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Choice(WRITABLE_KINDS, case_sensitive=False),
    help="Format to write.",
)
@click.option(
    "--compression",
    metavar="CODEC",
    help="parquet: zstd (default), snappy, gzip, brotli, lz4, none; arrow: zstd (default), "
    "lz4, none; csv: none (default), gzip.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="File to write, or a directory to write it in. Default: beside SOURCE, same name, "
    "new suffix.",
)
@click.option("--force", is_flag=True, help="Replace the target if it exists.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="The verified result as one JSON object (checksums, sizes, energy with its range).",
)
@pass_state
def convert_cmd(
    state: AppState,
    source: Path,
    to: str,
    compression: str | None,
    out: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """Convert a CSV, Parquet or Arrow file, verified, leaving SOURCE untouched.

    \b
    Example:  zuinig convert metingen.csv.gz --to parquet

    Streams, so files larger than memory convert. Writes a hidden temporary file
    beside the target, checks its row count, schema and per-column checksums
    against the source, and only then renames it into place. The conversion's own
    energy is recorded as a run (kind convert).
    """
    from zuinig.convert import convert_file, format_conversion

    with progress_bar("converting", counts="bytes") as bar:
        result = convert_file(
            source,
            to,
            compression=compression,
            out=out,
            force=force,
            recorder=state.recorder(),
            progress=lambda step: bar(step.done_bytes, step.total_bytes, step.phase),
        )
    if as_json:
        echo_json(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        echo("\n".join(format_conversion(result)))
