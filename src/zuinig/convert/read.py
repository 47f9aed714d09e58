"""Convert's side of reading: the source through :mod:`zuinig.formats.read`, the one
reader ``zuinig bench`` uses too, and the read-back of a CSV convert wrote.

What is convert's own here: the reader's progress (bytes done, bytes in all) as a phase of
a conversion, its :class:`~zuinig.errors.DataFileError` as a ConversionError with the same
words (bad input), Parquet decoded a batch or two ahead in another thread
(:mod:`zuinig.convert.pipeline`), and the read-back of what convert wrote:
:func:`open_written_parquet` a row group at a time, :func:`open_written_csv` exactly with
the schema it was written with.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from zuinig.convert.model import ConversionProgress, ProgressCallback
from zuinig.convert.pipeline import read_ahead
from zuinig.convert.text import bad
from zuinig.errors import DataFileError
from zuinig.formats import SourceFile, open_source
from zuinig.formats import csv as csv_options
from zuinig.formats.read import ReadProgress, open_arrow

if TYPE_CHECKING:
    import pyarrow as pa

#: A record batch, or a table (a Parquet row group read whole).
_Piece = TypeVar("_Piece", "pa.RecordBatch", "pa.Table")


@contextlib.contextmanager
def read_errors() -> Iterator[None]:
    """The reader's DataFileError as a ConversionError with the same words (bad input)."""
    try:
        yield
    except DataFileError as error:
        raise bad(str(error)) from error


def reader_progress(progress: ProgressCallback, phase: str) -> ReadProgress:
    """The reader's progress (bytes done, bytes in all) as ``phase`` of a conversion."""

    def report(done_bytes: int, total_bytes: int) -> None:
        progress(ConversionProgress(phase, done_bytes, total_bytes))

    return report


def open_source_ahead(
    source: SourceFile,
    column_types: Mapping[str, pa.DataType] | None,
    progress: ProgressCallback,
) -> tuple[pa.Schema, Iterator[pa.RecordBatch], contextlib.ExitStack]:
    """:func:`zuinig.formats.read.open_source` for a conversion: progress as
    ``converting``; a Parquet source decoded ahead in another thread.

    A CSV is not: pyarrow's CSV reader parses ahead in threads of its own. The reader's
    errors (raised again, the same object, in the caller's thread) are DataFileError or
    TypeMismatch; wrap the use in :func:`read_errors`.
    """
    if source.kind != "parquet":
        return open_source(source, column_types, reader_progress(progress, "converting"))
    at = _LastReport(source.size_bytes)
    schema, batches, stack = open_source(source, column_types, at)
    try:
        ahead = stack.enter_context(read_ahead(at.tagged(batches)))
    except BaseException:
        stack.close()
        raise
    return schema, _reported(ahead, progress, "converting"), stack


def open_written_parquet(
    path: Path, stack: contextlib.ExitStack, progress: ProgressCallback, phase: str
) -> tuple[pa.Schema, Iterator[pa.Table]]:
    """A Parquet file convert wrote, one row group at a time, decoded ahead in another
    thread; the thread stops (entered after the file) before it closes.

    Whole row groups, not :func:`zuinig.formats.read.open_parquet`'s batches: pyarrow
    decodes a row group's columns in parallel, and so reads lineitem's 175 MB back in
    0.8 s (1.3 CPU-s) where batches of 65,536 rows take 1.1 s (1.8 CPU-s). That is safe
    only for a file convert wrote, whose row groups it sized to about
    :data:`zuinig.convert.write.ROW_GROUP_BYTES` in memory; a user's Parquet file may hold
    a row group of gigabytes, so sources are read in batches.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    handle = stack.enter_context(pa.OSFile(str(path), "rb"))
    parquet = pq.ParquetFile(handle, pre_buffer=False)
    stack.callback(parquet.close)
    count = parquet.metadata.num_row_groups
    size = path.stat().st_size

    def groups() -> Iterator[tuple[pa.Table, int, int]]:
        for index in range(count):
            yield parquet.read_row_group(index), (index + 1) * size // count, size

    ahead = stack.enter_context(read_ahead(groups()))
    return parquet.schema_arrow, _reported(ahead, progress, phase)


def open_arrow_file(
    path: Path, stack: contextlib.ExitStack, progress: ProgressCallback, phase: str
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """An Arrow IPC file's schema and batches, progress as ``phase``."""
    return open_arrow(path, stack, reader_progress(progress, phase))


class _LastReport:
    """The reader's latest progress report, handed on with each batch.

    The reader reports before it yields a batch, in the thread that takes the batch, so
    pairing each batch with the report before it keeps progress in step with the batches
    the caller has actually taken (and calls the caller's progress in its own thread).
    """

    def __init__(self, total_bytes: int) -> None:
        self.done_bytes = 0
        self.total_bytes = total_bytes

    def __call__(self, done_bytes: int, total_bytes: int) -> None:
        self.done_bytes = done_bytes
        self.total_bytes = total_bytes

    def tagged(
        self, batches: Iterator[pa.RecordBatch]
    ) -> Iterator[tuple[pa.RecordBatch, int, int]]:
        for batch in batches:
            yield batch, self.done_bytes, self.total_bytes


def _reported(
    tagged: Iterator[tuple[_Piece, int, int]], progress: ProgressCallback, phase: str
) -> Iterator[_Piece]:
    for batch, done_bytes, total_bytes in tagged:
        progress(ConversionProgress(phase, done_bytes, total_bytes))
        yield batch


def read_csv_as(path: str | os.PathLike[str], schema: pa.Schema) -> pa.Table:
    """Read a CSV that :func:`~zuinig.convert.convert_file` wrote back exactly, given the
    schema it wrote.

    This is how verification reads a CSV target, as one table (for tests and small
    files; verification itself streams).
    """
    raw, reader = open_written_csv(Path(path), schema)
    with raw:
        table: pa.Table = reader.read_all()
    return table


def open_written_csv(path: Path, schema: pa.Schema) -> tuple[pa.NativeFile, Any]:
    """Open a CSV convert wrote, reading it back exactly: the written schema as explicit
    column types, ``""`` as the only null spelling, quoted empty strings kept as text."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    raw = pa.OSFile(str(path), "rb")
    with path.open("rb") as peek:
        gzipped = peek.read(2) == b"\x1f\x8b"
    stream = pa.CompressedInputStream(raw, "gzip") if gzipped else raw
    try:
        reader = pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(block_size=csv_options.CSV_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={f.name: f.type for f in schema},
                null_values=[""],
                true_values=["true"],
                false_values=["false"],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except BaseException:
        raw.close()
        raise
    return raw, reader


def safe_position(position: Callable[[], int]) -> int:
    """``position()``, or 0 when the file can no longer tell (closed meanwhile)."""
    try:
        return int(position())
    except (OSError, ValueError):
        return 0
