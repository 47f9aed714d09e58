"""Writing the target: its schema, the batches cast to it, the writer, the temporary file."""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zuinig.convert.digest import ColumnDigest, update_digests
from zuinig.convert.model import Plan, ProgressCallback, Written
from zuinig.convert.pipeline import ParallelMap, in_background
from zuinig.convert.read import open_source_ahead, read_errors
from zuinig.convert.text import bad
from zuinig.errors import ConversionError, DataFileError
from zuinig.formats import GZIP_LEVEL, Format, SourceFile, TypeMismatch
from zuinig.formats.read import arrow_reason

if TYPE_CHECKING:
    import pyarrow as pa


#: Target in-memory size of one Parquet row group (bytes); rows per group follow from the
#: first batch's bytes per row, between :data:`_MIN_GROUP_ROWS` and :data:`_MAX_GROUP_ROWS`.
ROW_GROUP_BYTES = 64 << 20
_MIN_GROUP_ROWS = 1 << 14
#: pyarrow's default maximum row-group length.
_MAX_GROUP_ROWS = 1 << 20
#: Largest dictionary page a Parquet column chunk keeps before it falls back to plain
#: encoding (pyarrow's default is 1 MiB). A column with many distinct values (comments,
#: keys, amounts) fills a 1 MiB dictionary before it gives up, and its dictionary-coded
#: start compresses worse than plain values under zstd. With 64 KiB, every TPC-H table
#: (SF 1) came out smaller: lineitem 175 -> 159 MB, orders 39.1 -> 38.7, partsupp
#: 30.4 -> 29.3, customer 9.1 -> 8.3, part 4.9 -> 4.4 MB, for the same or less writer CPU
#: (lineitem: 3.4 -> 3.1 CPU-s); benchmarks/convert_large.py's generated measurements
#: (5 GB) grew by 0.5% (940 -> 944 MB). A column with fewer distinct values than fit in
#: 64 KiB (codes, categories, dates) stays dictionary-coded.
DICTIONARY_PAGE_BYTES = 64 << 10


def write_target(
    plan: Plan,
    temp: Path,
    column_types: Mapping[str, pa.DataType] | None,
    progress: ProgressCallback,
) -> Written:
    import pyarrow as pa

    # The reader's errors, also those raised while its batches stream, in convert's words.
    with read_errors(), contextlib.ExitStack() as closer:
        source_schema, batches, opened = open_source_ahead(plan.source, column_types, progress)
        closer.enter_context(opened)
        schema, notes = _target_schema(source_schema, plan.format.kind, plan.source)
        digests = [ColumnDigest() for _ in schema]
        rows = nulls = 0
        try:
            # Three stages at once: pyarrow parses the next CSV blocks in its own threads,
            # the writer encodes and compresses this piece in another, and the columns
            # are hashed meanwhile, in parallel (see zuinig.convert.pipeline).
            with (
                open_writer(temp, plan.format, schema, plan.target.name) as write,
                in_background(write) as write_in_background,
                ParallelMap() as parallel,
            ):
                for batch in _conform_batches(batches, schema, plan.format.kind):
                    write_in_background(batch)
                    update_digests(digests, batch.columns, parallel)
                    rows += batch.num_rows
                    nulls += batch.column(0).null_count
        except (ConversionError, DataFileError, TypeMismatch):
            raise
        except (pa.ArrowException, OSError) as error:
            raise ConversionError(
                f"cannot write {plan.format.name} to {temp.parent}: {arrow_reason(error)}; "
                "check free space and permissions"
            ) from error
    if plan.format.kind == "csv" and len(schema) == 1 and nulls:
        notes += (
            f"a one-column CSV writes each of its {nulls:,} nulls as an empty line, which "
            "pyarrow and pandas skip when reading; zuinig read them back as nulls",
        )
    return Written(schema=schema, rows=rows, digests=digests, notes=notes)


def _conform_batches(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, kind: str
) -> Iterator[pa.RecordBatch | pa.Table]:
    """The source's batches cast to the written schema; for Parquet, regrouped into tables
    of about :data:`ROW_GROUP_BYTES`, one row group each (a writer makes one per write)."""
    import pyarrow as pa

    conformed = (_cast_batch(batch, schema) for batch in batches)
    if kind != "parquet":
        yield from conformed
        return
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    group_rows = 0
    for batch in conformed:
        if batch.num_rows == 0:
            continue
        if not group_rows:
            per_row = max(batch.nbytes / batch.num_rows, 1.0)
            group_rows = int(min(max(ROW_GROUP_BYTES / per_row, _MIN_GROUP_ROWS), _MAX_GROUP_ROWS))
        pending.append(batch)
        pending_rows += batch.num_rows
        if pending_rows >= group_rows:
            # Chunks as they came: the Parquet writer takes them as they are, and
            # combining them would copy a row group's worth of memory for nothing.
            yield pa.Table.from_batches(pending, schema=schema)
            pending, pending_rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending, schema=schema)


def _cast_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    if batch.schema.equals(schema, check_metadata=False):
        return batch
    columns = [
        _cast_array(column, target.type, target.name)
        for column, target in zip(batch.columns, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _cast_array(array: pa.Array, target: pa.DataType, name: str) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    if array.type == target:
        return array
    try:
        if pa.types.is_dictionary(array.type) and not pa.types.is_dictionary(target):
            array = array.dictionary_decode()
            if array.type == target:
                return array
        return pc.cast(array, target, safe=True)
    except pa.ArrowException as error:
        raise bad(
            f"column {name!r} cannot be stored as {target} without changing values "
            f"({arrow_reason(error)}); choose another --to format"
        ) from error


# -- the written schema -----------------------------------------------------------------------


def _target_schema(
    schema: pa.Schema, kind: str, source: SourceFile
) -> tuple[pa.Schema, tuple[str, ...]]:
    """The schema the target is written with, and the type changes in words."""
    import pyarrow as pa

    # The reader checked the columns: named, each once, and UTF-8 (zuinig.formats.read).
    if kind == "arrow":
        return schema, ()
    if kind == "parquet":
        written = _parquet_schema(schema, source)
        why = "the nearest type Parquet stores; values unchanged"
    else:
        written = pa.schema(
            [pa.field(f.name, _csv_type(f.name, f.type), nullable=True) for f in schema],
            metadata=None,
        )
        why = "CSV holds text; values unchanged"
    notes = tuple(
        f"column {old.name!r}: {old.type} written as {new.type} ({why})"
        for old, new in zip(schema, written, strict=True)
        if old.type != new.type
    )
    return written, notes


def _parquet_schema(schema: pa.Schema, source: SourceFile) -> pa.Schema:
    """What Parquet gives back for ``schema``: write and read an empty table of it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    try:
        # A writer with no rows, not write_table, which imports pandas (a second, for nothing).
        with pq.ParquetWriter(sink, schema):
            pass
        stored = pq.ParquetFile(pa.BufferReader(sink.getvalue())).schema_arrow
    except pa.ArrowException as error:
        raise bad(
            f"{source.path.name} cannot be stored as Parquet: {arrow_reason(error)}; "
            "choose --to arrow"
        ) from error
    fields = [
        pa.field(old.name, new.type, nullable=new.nullable, metadata=old.metadata)
        for old, new in zip(schema, stored, strict=True)
    ]
    return pa.schema(fields, metadata=schema.metadata)


def _csv_type(name: str, data_type: pa.DataType) -> pa.DataType:
    """The type a CSV column is written and read back as; refuses what text cannot hold."""
    import pyarrow as pa

    if pa.types.is_dictionary(data_type):
        return _csv_type(name, data_type.value_type)
    if pa.types.is_string_view(data_type):
        return pa.string()
    if pa.types.is_float16(data_type):
        return pa.float32()
    if pa.types.is_decimal(data_type) and not pa.types.is_decimal128(data_type):
        if data_type.precision > 38:
            raise bad(
                f"column {name!r} holds {data_type.precision}-digit decimals, which CSV "
                "cannot be read back as; choose --to parquet or arrow"
            )
        return pa.decimal128(data_type.precision, data_type.scale)
    readable = (
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_boolean(data_type)
        or pa.types.is_decimal128(data_type)
        or (pa.types.is_temporal(data_type) and not pa.types.is_interval(data_type))
        or pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_null(data_type)
    )
    if not readable:
        what = "bytes" if _is_binary_like(data_type) else f"{data_type} values"
        raise bad(
            f"column {name!r} holds {what}, which CSV text cannot store faithfully; "
            "choose --to parquet or arrow"
        )
    return data_type


def _is_binary_like(data_type: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_binary(data_type)
        or pa.types.is_large_binary(data_type)
        or pa.types.is_fixed_size_binary(data_type)
        or pa.types.is_binary_view(data_type)
    )


@contextlib.contextmanager
def open_writer(
    temp: Path, fmt: Format, schema: pa.Schema, final_name: str
) -> Iterator[Callable[[pa.RecordBatch], None]]:
    """A function that appends a batch to ``temp`` in ``fmt``; the file is closed on exit."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    with contextlib.ExitStack() as stack:
        if fmt.kind == "parquet":
            parquet = stack.enter_context(
                pq.ParquetWriter(
                    str(temp),
                    schema,
                    compression=fmt.compression or "none",
                    dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES,
                )
            )

            def write_parquet(piece: pa.RecordBatch | pa.Table) -> None:
                table = piece if isinstance(piece, pa.Table) else pa.Table.from_batches([piece])
                parquet.write_table(table, row_group_size=max(table.num_rows, 1))

            yield write_parquet
        elif fmt.kind == "arrow":
            options = pa.ipc.IpcWriteOptions(compression=fmt.compression)
            ipc_sink = stack.enter_context(pa.OSFile(str(temp), "wb"))
            ipc = stack.enter_context(pa.ipc.new_file(ipc_sink, schema, options=options))
            yield ipc.write_batch
        else:
            raw: Any = stack.enter_context(
                temp.open("wb") if fmt.compression == "gzip" else pa.OSFile(str(temp), "wb")
            )
            # Python's gzip, because pyarrow's compressed streams take no level; the
            # header names the final file (not the hidden temporary one) and mtime=0
            # keeps the bytes the same from run to run.
            sink: Any = (
                stack.enter_context(
                    gzip.GzipFile(
                        filename=final_name,
                        mode="wb",
                        compresslevel=GZIP_LEVEL,
                        fileobj=raw,
                        mtime=0,
                    )
                )
                if fmt.compression == "gzip"
                else raw
            )
            csv_writer = stack.enter_context(pa_csv.CSVWriter(sink, schema))
            yield csv_writer.write_batch
