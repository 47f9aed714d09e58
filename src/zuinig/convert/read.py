"""Reading a conversion's source (and a CSV it wrote) exactly as ``zuinig convert`` reads it."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from zuinig.convert.model import ConversionProgress, ProgressCallback, Source, no_progress
from zuinig.convert.pipeline import read_ahead
from zuinig.convert.plan import inspect_source
from zuinig.convert.text import bad, csv_reason, read_reason
from zuinig.errors import ConversionError

if TYPE_CHECKING:
    import pyarrow as pa


_T = TypeVar("_T")

#: Bytes per CSV block. Types are inferred from the first block, so a larger block sees
#: more rows before deciding (a misleading one costs the whole-file scan). pyarrow's
#: streaming reader reads about 32 blocks ahead, so this also sets memory: measured with
#: pyarrow 26 on a 1 GB CSV, 16 MiB blocks held 550 MB of read-ahead, 4 MiB 146 MB and
#: 1 MiB 36 MB, at about the same speed.
CSV_BLOCK_BYTES = 4 << 20
#: Rows per batch when reading Parquet and CSV read-back: pyarrow's default.
_READ_BATCH_ROWS = 1 << 16


#: Unquoted field values a CSV source spells a missing value with: pyarrow's default list
#: without its NaN spellings (``NaN``, ``nan``, ``-nan``, ``1.#QNAN``, ...), so that a NaN
#: written to CSV reads back as NaN, not as a null.
CSV_NULL_VALUES: tuple[str, ...] = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "N/A",
    "NA",
    "NULL",
    "n/a",
    "null",
)

#: The CSV column types tried, in order, by the whole-file type scan: the order of
#: pyarrow's own inference (null, then these), so a scanned column gets the type pyarrow
#: would have inferred had it seen every row in its first block.
CSV_TYPE_ORDER: tuple[str, ...] = (
    "int64",
    "bool",
    "date32",
    "time32[s]",
    "time64[ns]",
    "timestamp[s]",
    "timestamp[s, tz=UTC]",
    "timestamp[ns]",
    "timestamp[ns, tz=UTC]",
    "double",
    "string",
)

#: Values tried first when the type scan tests a type (see :func:`_all_cast`).
_CAST_SAMPLE_ROWS = 256

_CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): CSV conversion error to ([^:]+)")


class TypeMismatch(Exception):
    """A CSV block held a value its column's type cannot hold (internal: triggers a rescan)."""

    def __init__(self, column: int | None, message: str) -> None:
        super().__init__(message)
        self.column = column


def retry_types(
    source: Source,
    column_types: dict[str, pa.DataType] | None,
    mismatch: TypeMismatch,
    progress: ProgressCallback,
) -> dict[str, pa.DataType]:
    """The column types to read a CSV with after ``mismatch``: first those a scan of the
    whole file finds; then, per column the scanned types still cannot read, text.

    Raises:
        ConversionError: the column is text already, so no type reads it.
    """
    if column_types is None:
        return _scan_csv_types(source, progress)
    if mismatch.column is not None and mismatch.column < len(column_types):
        import pyarrow as pa

        name = list(column_types)[mismatch.column]
        if column_types[name] != pa.string():
            return {**column_types, name: pa.string()}
    raise bad(csv_reason(source, str(mismatch), block_bytes=CSV_BLOCK_BYTES)) from None


def read_source(
    path: str | os.PathLike[str],
    consume: Callable[[pa.Schema, Iterator[pa.RecordBatch]], _T],
) -> _T:
    """Stream a CSV, Parquet or Arrow file to ``consume`` exactly as :func:`convert_file`
    reads it: the same null spellings (an empty CSV field is null, in text columns too),
    the same types, the same refusals. ``zuinig bench`` reads a user's file with it, so
    that the benchmark's copy and a converted file hold the same values.

    ``consume(schema, batches)`` is called again, from the start, when a later CSV block
    does not fit the types inferred from the first (then with the types of a scan of the
    whole file), so it must start its work afresh on each call (overwrite its output).

    Raises:
        ConversionError: the file cannot be read; ``bad_input`` set when it is the file's fault.
    """
    source = inspect_source(Path(path))
    column_types: dict[str, pa.DataType] | None = None
    while True:
        try:
            schema, batches, closer = open_source(source, column_types, no_progress)
            with closer:
                return consume(schema, batches)
        except TypeMismatch as mismatch:
            # Terminates: each retry scans once, then turns one more column into text.
            column_types = retry_types(source, column_types, mismatch, no_progress)


def read_csv_as(path: str | os.PathLike[str], schema: pa.Schema) -> pa.Table:
    """Read a CSV that :func:`convert_file` wrote back exactly, given the schema it wrote.

    This is how verification reads a CSV target, as one table (for tests and small
    files; verification itself streams).
    """
    raw, reader = open_written_csv(Path(path), schema)
    with raw:
        table: pa.Table = reader.read_all()
    return table


def open_source(
    source: Source,
    column_types: Mapping[str, pa.DataType] | None,
    progress: ProgressCallback,
) -> tuple[pa.Schema, Iterator[pa.RecordBatch], contextlib.ExitStack]:
    """The source's schema, its batches (errors turned into ConversionError) and a closer."""
    import pyarrow as pa

    stack = contextlib.ExitStack()
    try:
        if source.kind == "csv":
            raw = stack.enter_context(pa.OSFile(str(source.path), "rb"))
            reader = _open_source_csv(source, raw, column_types)
            batches = _csv_batches(source, reader, lambda: raw.tell(), progress, "converting")
            return reader.schema, batches, stack
        if source.kind == "parquet":
            schema, batches = open_parquet(source.path, stack, progress, "converting")
            return schema, _guard(source, batches), stack
        schema, batches = open_arrow(source.path, stack, progress, "converting")
        return schema, _guard(source, batches), stack
    except ConversionError:
        stack.close()
        raise
    except (pa.ArrowException, OSError) as error:
        stack.close()
        raise bad(read_reason(source, error)) from error


def _open_source_csv(
    source: Source, raw: pa.NativeFile, column_types: Mapping[str, pa.DataType] | None
) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    stream = pa.CompressedInputStream(raw, source.compression) if source.compression else raw
    try:
        return pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(delimiter=source.delimiter, newlines_in_values=True),
            convert_options=source_convert_options(column_types),
        )
    except pa.ArrowInvalid as error:
        # The first block is parsed while opening: its errors are the same as later ones,
        # and with explicit types its values may not fit them either.
        text = str(error)
        match = _CONVERSION_ERROR.search(text)
        if column_types and match and "invalid UTF8" not in text:
            raise TypeMismatch(int(match.group(1)), text) from None
        raise bad(csv_reason(source, text, block_bytes=CSV_BLOCK_BYTES)) from error


def source_convert_options(column_types: Mapping[str, pa.DataType] | None) -> Any:
    """How a CSV source's text becomes values (see the module docstring)."""
    import pyarrow.csv as pa_csv

    return pa_csv.ConvertOptions(
        column_types=dict(column_types or {}),
        null_values=list(CSV_NULL_VALUES),
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )


def _csv_batches(
    source: Source,
    reader: Any,
    position: Callable[[], int],
    progress: ProgressCallback,
    phase: str,
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    rows = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowInvalid as error:
            text = str(error)
            match = _CONVERSION_ERROR.search(text)
            if match and "invalid UTF8" not in text:
                raise TypeMismatch(int(match.group(1)), text) from None
            raise bad(
                csv_reason(source, text, rows, _names(reader), block_bytes=CSV_BLOCK_BYTES)
            ) from error
        except (pa.ArrowException, OSError) as error:
            raise bad(read_reason(source, error)) from error
        rows += batch.num_rows
        progress(ConversionProgress(phase, safe_position(position), source.size_bytes))
        yield batch


def _names(reader: Any) -> list[str] | None:
    try:
        return list(reader.schema.names)
    except UnicodeDecodeError:
        return None


def _guard(source: Source, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Turn a read error in the middle of a Parquet or Arrow file into a ConversionError."""
    import pyarrow as pa

    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as error:
            raise bad(read_reason(source, error)) from error
        yield batch


def open_parquet(
    path: Path, stack: contextlib.ExitStack, progress: ProgressCallback, phase: str
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    handle = stack.enter_context(pa.OSFile(str(path), "rb"))
    # No pre-buffering: it fetches every row group's byte ranges ahead of a slower
    # consumer and keeps them, so memory grew with the file (578 MB of a 0.6 GB file, against
    # 31 MB without, which also read faster).
    parquet = pq.ParquetFile(handle, pre_buffer=False)
    stack.callback(parquet.close)
    total_rows = parquet.metadata.num_rows
    size = path.stat().st_size
    # Decoded in another thread, a batch or two ahead of the caller's hashing; stopped
    # (entered after) before the file closes.
    decoded = stack.enter_context(read_ahead(parquet.iter_batches(batch_size=_READ_BATCH_ROWS)))

    def batches() -> Iterator[pa.RecordBatch]:
        done = 0
        for batch in decoded:
            done += batch.num_rows
            progress(ConversionProgress(phase, share(done, total_rows, size), size))
            yield batch

    return parquet.schema_arrow, batches()


def open_arrow(
    path: Path, stack: contextlib.ExitStack, progress: ProgressCallback, phase: str
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    import pyarrow as pa

    # A plain file, not a memory map: mapped pages would count as the process's memory.
    handle = stack.enter_context(pa.OSFile(str(path), "rb"))
    size = path.stat().st_size
    try:
        file_reader = pa.ipc.open_file(handle)
    except pa.ArrowInvalid:
        handle.seek(0)
        stream_reader = pa.ipc.open_stream(handle)  # the IPC stream format (.arrows)

        def streamed() -> Iterator[pa.RecordBatch]:
            for batch in stream_reader:
                progress(ConversionProgress(phase, safe_position(handle.tell), size))
                yield batch

        return stream_reader.schema, streamed()
    count = file_reader.num_record_batches

    def batches() -> Iterator[pa.RecordBatch]:
        for index in range(count):
            yield file_reader.get_batch(index)
            progress(ConversionProgress(phase, share(index + 1, count, size), size))

    return file_reader.schema, batches()


def _scan_csv_types(source: Source, progress: ProgressCallback) -> dict[str, pa.DataType]:
    """Per column, the first type of :data:`CSV_TYPE_ORDER` that holds every value in the file.

    Reads every column as text (null spellings as null), so no block can fail to convert;
    a column with no value at all stays ``null``, as pyarrow infers it. The order is not a
    chain of ever wider types (``0``/``1`` are integers, ``true`` is no integer but all
    three are booleans), so each block strikes out the types its values do not fit, and
    the first type left wins.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    order = [_type_from_name(name) for name in CSV_TYPE_ORDER]
    with pa.OSFile(str(source.path), "rb") as raw:
        first = _open_source_csv(source, raw, None)
        names = first.schema.names
    # Text holds anything, so only the types before it are ever struck out.
    possible = {name: list(order[:-1]) for name in names}
    seen = dict.fromkeys(names, False)
    with pa.OSFile(str(source.path), "rb") as raw:
        stream = pa.CompressedInputStream(raw, source.compression) if source.compression else raw
        try:
            reader = pa_csv.open_csv(
                stream,
                read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                parse_options=pa_csv.ParseOptions(
                    delimiter=source.delimiter, newlines_in_values=True
                ),
                convert_options=source_convert_options(dict.fromkeys(names, pa.string())),
            )
        except pa.ArrowInvalid as error:
            raise bad(csv_reason(source, str(error), block_bytes=CSV_BLOCK_BYTES)) from error
        for batch in _csv_batches(source, reader, raw.tell, progress, "scanning types"):
            for name, column in zip(names, batch.columns, strict=True):
                if column.null_count == len(column):
                    continue
                seen[name] = True
                if possible[name]:
                    values = pc.drop_null(column)
                    possible[name] = [t for t in possible[name] if _all_cast(values, t)]
    text = order[-1]
    return {
        name: (possible[name][0] if possible[name] else text) if seen[name] else pa.null()
        for name in names
    }


def _all_cast(values: pa.Array, data_type: pa.DataType) -> bool:
    """Whether every value casts to ``data_type``.

    A failing cast costs about as much as a whole successful one (0.7 s per million
    strings), so a small sample is tried first: most wrong types fail there, at once.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for sample in (values.slice(0, _CAST_SAMPLE_ROWS), values):
        try:
            pc.cast(sample, data_type, safe=True)
        except pa.ArrowException:
            return False
        if len(sample) == len(values):
            break
    return True


def _type_from_name(name: str) -> pa.DataType:
    import pyarrow as pa

    simple = {"int64": pa.int64(), "bool": pa.bool_(), "date32": pa.date32()}
    simple |= {"double": pa.float64(), "string": pa.string()}
    simple |= {"time32[s]": pa.time32("s"), "time64[ns]": pa.time64("ns")}
    if name in simple:
        return simple[name]
    match = re.fullmatch(r"timestamp\[(\w+)(?:, tz=(\w+))?\]", name)
    if match is None:
        raise ValueError(f"not a CSV type name: {name}")
    return pa.timestamp(match.group(1), tz=match.group(2))


def open_written_csv(path: Path, schema: pa.Schema) -> tuple[pa.NativeFile, Any]:
    """Open a CSV this module wrote, reading it back exactly (see the module docstring)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    raw = pa.OSFile(str(path), "rb")
    with path.open("rb") as peek:
        gzipped = peek.read(2) == b"\x1f\x8b"
    stream = pa.CompressedInputStream(raw, "gzip") if gzipped else raw
    try:
        reader = pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
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


def share(done: int, total: int, size: int) -> int:
    return size if not total else min(size, size * done // total)


def safe_position(position: Callable[[], int]) -> int:
    try:
        return int(position())
    except (OSError, ValueError):
        return 0
