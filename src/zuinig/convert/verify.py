"""Verification: read the written file back in full and compare it with what was written."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from zuinig.convert.digest import ColumnDigest, update_digests
from zuinig.convert.model import ConversionProgress, Plan, ProgressCallback, Written
from zuinig.convert.pipeline import ParallelMap
from zuinig.convert.read import (
    open_arrow_file,
    open_written_csv,
    open_written_parquet,
    safe_position,
)
from zuinig.convert.text import schema_text
from zuinig.errors import ConversionError
from zuinig.formats import Format
from zuinig.formats.read import arrow_reason

if TYPE_CHECKING:
    import pyarrow as pa


def verify(plan: Plan, temp: Path, written: Written, progress: ProgressCallback) -> None:
    """Read ``temp`` back in full; raise unless rows, schema and checksums all agree."""
    import pyarrow as pa

    digests = [ColumnDigest() for _ in written.schema]
    rows = 0
    try:
        with contextlib.ExitStack() as stack:
            parallel = stack.enter_context(ParallelMap())
            schema, batches = _open_written(temp, plan.format, written.schema, stack, progress)
            if not schema.equals(written.schema, check_metadata=False):
                raise ConversionError(
                    f"verification failed: the written file reads back with schema "
                    f"{schema_text(schema)}, not {schema_text(written.schema)}; "
                    "nothing was written"
                )
            for batch in batches:
                update_digests(digests, batch.columns, parallel)
                rows += batch.num_rows
    except ConversionError:
        raise
    except (pa.ArrowException, OSError) as error:
        raise ConversionError(
            f"verification failed: the written file cannot be read back "
            f"({arrow_reason(error)}); nothing was written"
        ) from error
    if rows != written.rows:
        raise ConversionError(
            f"verification failed: {rows:,} rows read back where {written.rows:,} were "
            "written; nothing was written"
        )
    for target_field, source_digest, target_digest in zip(
        written.schema, written.digests, digests, strict=True
    ):
        if source_digest.hexdigest() != target_digest.hexdigest():
            raise ConversionError(
                f"verification failed: column {target_field.name!r} reads back with other "
                "values than were written; nothing was written"
            )


def _open_written(
    path: Path,
    fmt: Format,
    schema: pa.Schema,
    stack: contextlib.ExitStack,
    progress: ProgressCallback,
) -> tuple[pa.Schema, Iterator[pa.RecordBatch] | Iterator[pa.Table]]:
    if fmt.kind == "parquet":
        return open_written_parquet(path, stack, progress, "verifying")
    if fmt.kind == "arrow":
        return open_arrow_file(path, stack, progress, "verifying")
    raw, reader = open_written_csv(path, schema)
    stack.callback(raw.close)
    size = path.stat().st_size

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            progress(ConversionProgress("verifying", safe_position(raw.tell), size))
            yield batch

    return reader.schema, batches()
