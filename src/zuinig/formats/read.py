"""The one reader of a user's data file, used by ``zuinig bench`` and ``zuinig convert``.

A CSV (also compressed as a whole), Parquet or Arrow IPC file is streamed in record
batches (``pyarrow.csv.open_csv``, ``ParquetFile.iter_batches``, the IPC reader), so
memory stays bounded by a few batches whatever the file's size. Which files are read is
decided by :func:`zuinig.formats.registry.readable`; how CSV text becomes values by
:mod:`zuinig.formats.csv`. Both commands read through here, so a benchmark's copy of a
user's file and a converted file hold the same values (a property test checks it).

Before any batch is handed out, the columns are checked: there is at least one, every
name is used once, and a CSV's header and text columns are UTF-8.

Errors are :class:`~zuinig.errors.DataFileError` (bad input), one line saying what is
wrong and what to do. :class:`TypeMismatch` is the one exception that is not an error: a
later CSV block does not fit the types inferred from the first, and the caller reads
again with :func:`retry_types`.

pyarrow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from zuinig.errors import DataFileError
from zuinig.formats import csv as csv_options
from zuinig.formats.registry import READABLE_IN_WORDS, ReaderKind, readable

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ReadProgress",
    "SourceFile",
    "TypeMismatch",
    "arrow_reason",
    "inspect_source",
    "open_arrow",
    "open_parquet",
    "open_source",
    "os_reason",
    "read_source",
    "read_table",
    "retry_types",
    "scan_csv_types",
]

_T = TypeVar("_T")

#: Called after each batch with the bytes of the file done so far and the file's size
#: (bytes; estimated from rows for Parquet and Arrow files).
ReadProgress = Callable[[int, int], None]

#: Rows per batch when reading Parquet: pyarrow's default.
READ_BATCH_ROWS = 1 << 16
#: Values tried first when the type scan tests a type (see :func:`_all_cast`).
_CAST_SAMPLE_ROWS = 256
#: Longest piece of a pyarrow message quoted in an error (a ragged row is quoted whole).
_QUOTE_CHARS = 160

_CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): CSV conversion error to ([^:]+)")


@dataclass(frozen=True)
class SourceFile:
    """A user's file that zuinig can read, and how.

    Attributes:
        path: the file, absolute.
        format: its format as :func:`~zuinig.formats.registry.detect_format` names it,
            e.g. ``csv.gz``.
        kind: how it is read: ``csv``, ``parquet`` or ``arrow``.
        compression: pyarrow's stream codec of a CSV compressed as a whole, or ``None``.
        delimiter: the field delimiter of a CSV.
        size_bytes: the file's size (bytes).
        mode: its permission bits (rwx for user, group, others).
    """

    path: Path
    format: str
    kind: ReaderKind
    compression: str | None
    delimiter: str
    size_bytes: int
    mode: int = 0o644


class TypeMismatch(Exception):
    """A CSV block held a value its column's type cannot hold: read again with
    :func:`retry_types`.

    Attributes:
        column: the column's index, when pyarrow said which.
    """

    def __init__(self, column: int | None, message: str) -> None:
        super().__init__(message)
        self.column = column


def inspect_source(path: str | os.PathLike[str]) -> SourceFile:
    """Check that ``path`` is a file zuinig reads, and say how to read it.

    Nothing but the file's first bytes is read.

    Raises:
        DataFileError: the file is missing, not a regular file, unreadable, empty, or of
            a format zuinig does not read.
    """
    path = Path(path).expanduser().absolute()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataFileError(f"{path} does not exist; check the path") from None
    except OSError as error:
        raise DataFileError(f"cannot read {path}: {os_reason(error)}") from None
    if path.is_dir():
        raise DataFileError(f"{path} is a directory; give the path of a CSV, Parquet or Arrow file")
    if not path.is_file():
        raise DataFileError(
            f"{path} is not a regular file; give the path of a CSV, Parquet or Arrow file"
        )
    if not os.access(path, os.R_OK):
        raise DataFileError(f"cannot read {path}: permission denied")
    if info.st_size == 0:
        raise DataFileError(f"{path} is empty (0 bytes); there is nothing to read")
    how = readable(path)
    if how.kind is None:
        raise DataFileError(f"cannot read {path.name}: {how.refusal}; {READABLE_IN_WORDS}")
    return SourceFile(
        path=path,
        format=how.format,
        kind=how.kind,
        compression=how.stream_codec,
        delimiter=how.delimiter,
        size_bytes=info.st_size,
        mode=stat.S_IMODE(info.st_mode) & 0o777,
    )


def read_source(
    path: str | os.PathLike[str] | SourceFile,
    consume: Callable[[pa.Schema, Iterator[pa.RecordBatch]], _T],
) -> _T:
    """Stream a CSV, Parquet or Arrow file to ``consume``, as bench and convert read it.

    ``consume(schema, batches)`` is called again, from the start, when a later CSV block
    does not fit the types inferred from the first (then with the types of a scan of the
    whole file), so it must start its work afresh on each call (overwrite its output).

    Raises:
        DataFileError: the file cannot be read.
    """
    source = path if isinstance(path, SourceFile) else inspect_source(path)
    column_types: dict[str, pa.DataType] | None = None
    while True:
        try:
            schema, batches, closer = open_source(source, column_types)
            with closer:
                return consume(schema, batches)
        except TypeMismatch as mismatch:
            # Terminates: each retry scans once, then turns one more column into text.
            column_types = retry_types(source, column_types, mismatch)


def read_table(path: str | os.PathLike[str]) -> pa.Table:
    """The whole file as one table, read as :func:`read_source` reads it (small files, tests).

    Raises:
        DataFileError: the file cannot be read.
    """
    import pyarrow as pa

    def collect(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> pa.Table:
        return pa.Table.from_batches(list(batches), schema=schema)

    return read_source(path, collect)


def open_source(
    source: SourceFile,
    column_types: Mapping[str, pa.DataType] | None = None,
    progress: ReadProgress | None = None,
) -> tuple[pa.Schema, Iterator[pa.RecordBatch], contextlib.ExitStack]:
    """The source's checked schema, its batches and a closer for the open file.

    Args:
        source: from :func:`inspect_source`.
        column_types: a CSV's column types (from :func:`retry_types`); inferred when ``None``.
        progress: called after each batch.

    Raises:
        DataFileError: the file cannot be read, or its columns are unnamed, named twice
            or (CSV) not UTF-8; also while iterating the batches.
        TypeMismatch: a CSV block does not fit the column types; also while iterating.
    """
    import pyarrow as pa

    report = progress or _no_progress
    stack = contextlib.ExitStack()
    try:
        if source.kind == "csv":
            if column_types is None:
                column_types = _first_block_types(source)
            raw = stack.enter_context(pa.OSFile(str(source.path), "rb"))
            reader = _open_csv(source, raw, column_types)
            batches = _csv_batches(source, reader, raw.tell, report)
            schema = reader.schema
        elif source.kind == "parquet":
            schema, plain = open_parquet(source.path, stack, report)
            batches = _guard(source, plain)
        else:
            schema, plain = open_arrow(source.path, stack, report)
            batches = _guard(source, plain)
        _check_columns(schema, source)
        return schema, batches, stack
    except (DataFileError, TypeMismatch):
        stack.close()
        raise
    except (pa.ArrowException, OSError) as error:
        stack.close()
        raise DataFileError(_read_reason(source, error)) from error


def open_parquet(
    path: Path, stack: contextlib.ExitStack, progress: ReadProgress | None = None
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """A Parquet file's schema and batches; the file is closed with ``stack``.

    pyarrow's errors pass through unchanged (convert's verification words them itself).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    report = progress or _no_progress
    handle = stack.enter_context(pa.OSFile(str(path), "rb"))
    # No pre-buffering: it fetches every row group's byte ranges ahead of a slower
    # consumer and keeps them, so memory grew with the file (578 MB of a 0.6 GB file, against
    # 31 MB without, which also read faster).
    parquet = pq.ParquetFile(handle, pre_buffer=False)
    stack.callback(parquet.close)
    total_rows = parquet.metadata.num_rows
    size = path.stat().st_size

    def batches() -> Iterator[pa.RecordBatch]:
        done = 0
        for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS):
            done += batch.num_rows
            report(_share(done, total_rows, size), size)
            yield batch

    return parquet.schema_arrow, batches()


def open_arrow(
    path: Path, stack: contextlib.ExitStack, progress: ReadProgress | None = None
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """An Arrow IPC file's (or stream's) schema and batches; closed with ``stack``.

    pyarrow's errors pass through unchanged (convert's verification words them itself).
    """
    import pyarrow as pa

    report = progress or _no_progress
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
                report(_safe_position(handle.tell), size)
                yield batch

        return stream_reader.schema, streamed()
    count = file_reader.num_record_batches

    def batches() -> Iterator[pa.RecordBatch]:
        for index in range(count):
            yield file_reader.get_batch(index)
            report(_share(index + 1, count, size), size)

    return file_reader.schema, batches()


def retry_types(
    source: SourceFile,
    column_types: dict[str, pa.DataType] | None,
    mismatch: TypeMismatch,
    progress: ReadProgress | None = None,
) -> dict[str, pa.DataType]:
    """The column types to read a CSV with after ``mismatch``: first those a scan of the
    whole file finds; then, per column the scanned types still cannot read, text.

    Raises:
        DataFileError: the column is text already, so no type reads it.
    """
    if column_types is None:
        return scan_csv_types(source, progress)
    if mismatch.column is not None and mismatch.column < len(column_types):
        import pyarrow as pa

        name = list(column_types)[mismatch.column]
        if column_types[name] != pa.string():
            return {**column_types, name: pa.string()}
    raise DataFileError(_csv_reason(source, str(mismatch))) from None


def scan_csv_types(
    source: SourceFile, progress: ReadProgress | None = None
) -> dict[str, pa.DataType]:
    """Per column, the first type of :data:`~zuinig.formats.csv.CSV_TYPE_ORDER` that
    holds every value in the file.

    Reads every column as text (null spellings as null), so no block can fail to convert;
    a column with no value at all stays ``null``, as pyarrow infers it. The order is not a
    chain of ever wider types (``0``/``1`` are integers, ``true`` is no integer but all
    three are booleans), so each block strikes out the types its values do not fit, and
    the first type left wins.

    Raises:
        DataFileError: the file cannot be read as CSV.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    order = [csv_options.type_from_name(name) for name in csv_options.CSV_TYPE_ORDER]
    with pa.OSFile(str(source.path), "rb") as raw:
        names = _open_csv(source, raw, None).schema.names
    # Text holds anything, so only the types before it are ever struck out.
    possible = {name: list(order[:-1]) for name in names}
    seen = dict.fromkeys(names, False)
    with pa.OSFile(str(source.path), "rb") as raw:
        reader = _open_csv(source, raw, dict.fromkeys(names, pa.string()))
        for batch in _csv_batches(source, reader, raw.tell, progress or _no_progress):
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


def arrow_reason(error: BaseException) -> str:
    """An error of pyarrow or the OS in a few words (its first line, shortened)."""
    if isinstance(error, OSError) and error.strerror:
        return os_reason(error)
    text = str(error).strip()
    return _shorten(text.splitlines()[0] if text else type(error).__name__)


def os_reason(error: OSError) -> str:
    """An OS error in words: its ``strerror`` where it has one."""
    return error.strerror or str(error)


# -- CSV ------------------------------------------------------------------------------------


def _open_csv(
    source: SourceFile, raw: pa.NativeFile, column_types: Mapping[str, pa.DataType] | None
) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    stream = pa.CompressedInputStream(raw, source.compression) if source.compression else raw
    try:
        return pa_csv.open_csv(
            stream,
            read_options=csv_options.read_options(),
            parse_options=csv_options.parse_options(source.delimiter),
            convert_options=csv_options.convert_options(column_types),
        )
    except pa.ArrowInvalid as error:
        # The first block is parsed while opening: its errors are the same as later ones,
        # and with explicit types its values may not fit them either.
        text = str(error)
        match = _CONVERSION_ERROR.search(text)
        if column_types and match and "invalid UTF8" not in text:
            raise TypeMismatch(int(match.group(1)), text) from None
        raise DataFileError(_csv_reason(source, text)) from error


def _first_block_types(source: SourceFile) -> dict[str, pa.DataType] | None:
    """The column types pyarrow infers from the CSV's first block, to read the file with.

    Reading with these types given is the same reading as letting the reader infer them
    (it fixes its types after the first block too: a later block that does not fit fails
    in the same words), but faster: measured with pyarrow 26 on TPC-H lineitem (766 MB),
    2.1 s instead of 3.5 s, because the inferring reader keeps trying its types on every
    block. The first block (:data:`~zuinig.formats.csv.CSV_BLOCK_BYTES`) is parsed twice.
    ``None`` where the header cannot be decoded or names a column twice: the inferring
    reader, whose schema the column check refuses in its own words.
    """
    import pyarrow as pa

    with pa.OSFile(str(source.path), "rb") as raw:
        schema = _open_csv(source, raw, None).schema
    try:
        names = schema.names
    except UnicodeDecodeError:
        return None
    if len(set(names)) != len(names):
        return None
    return {field.name: field.type for field in schema}


def _csv_batches(
    source: SourceFile, reader: Any, position: Callable[[], int], progress: ReadProgress
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
            raise DataFileError(_csv_reason(source, text, rows, _names(reader))) from error
        except (pa.ArrowException, OSError) as error:
            raise DataFileError(_read_reason(source, error)) from error
        rows += batch.num_rows
        progress(_safe_position(position), source.size_bytes)
        yield batch


def _check_columns(schema: pa.Schema, source: SourceFile) -> None:
    """Refuse a file without columns, with a name used twice, or (CSV) not UTF-8."""
    import pyarrow as pa

    try:
        names = schema.names
    except UnicodeDecodeError:  # pyarrow keeps a CSV header's bytes and decodes them here
        raise DataFileError(_encoding_reason(source, "the header row")) from None
    if not names:
        raise DataFileError(f"{source.path.name} has no columns; there is nothing to read")
    twice = sorted(name for name, count in Counter(names).items() if count > 1)
    if twice:
        raise DataFileError(
            f"{source.path.name} has more than one column named {', '.join(map(repr, twice))}; "
            "give every column its own name"
        )
    if source.kind == "csv":
        # pyarrow infers a column of text that is not UTF-8 as binary.
        undecoded = [f.name for f in schema if pa.types.is_binary(f.type)]
        if undecoded:
            raise DataFileError(_encoding_reason(source, f"column {undecoded[0]!r}"))
        if any("\ufffd" in name for name in names):
            raise DataFileError(_encoding_reason(source, "the header row"))


def _names(reader: Any) -> list[str] | None:
    try:
        return list(reader.schema.names)
    except UnicodeDecodeError:
        return None


def _guard(source: SourceFile, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Turn a read error in the middle of a Parquet or Arrow file into a DataFileError."""
    import pyarrow as pa

    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as error:
            raise DataFileError(_read_reason(source, error)) from error
        yield batch


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


# -- messages ---------------------------------------------------------------------------------


def _csv_reason(
    source: SourceFile,
    text: str,
    rows_before: int | None = None,
    names: list[str] | None = None,
) -> str:
    first = text.strip().splitlines()[0] if text.strip() else text
    where = f" (after data row {rows_before:,})" if rows_before else ""
    if "invalid UTF8" in text:
        match = re.search(r"column #(\d+)", text)
        index = int(match.group(1)) if match else None
        if index is not None and names is not None and index < len(names):
            column = f"column {names[index]!r}"
        else:
            column = f"column #{index + 1}" if index is not None else "a column"
        after = f", after data row {rows_before:,}," if rows_before else ""
        return _encoding_reason(source, column + after)
    if "straddling object" in text or "Empty CSV file or block" in text:
        size = f"{csv_options.CSV_BLOCK_BYTES / (1 << 20):g} MiB"
        return (
            f'{source.path} has a row longer than {size}{where}, most likely a quote (") '
            "that is never closed; fix the quoting"
        )
    if "Empty CSV file" in text:
        return f"{source.path} holds no CSV data, not even a header row; there is nothing to read"
    parse = re.search(r"Expected (\d+) columns, got (\d+): ?(.*)", first)
    if parse:
        row = parse.group(3)
        quoted = row if len(row) <= _QUOTE_CHARS else row[: _QUOTE_CHARS - 1] + "…"
        return (
            f"{source.path} has a row with {parse.group(2)} fields where the header has "
            f"{parse.group(1)}{where}: {quoted!r}; fix or remove that row"
        )
    if "CSV conversion error" in text:
        return f"cannot read {source.path}: {_shorten(first)}{where}"
    return f"cannot read {source.path} as CSV: {_shorten(first)}{where}"


def _encoding_reason(source: SourceFile, where: str) -> str:
    return (
        f"{source.path} is not UTF-8 text ({where} holds other bytes); re-encode it, for "
        f"example: iconv -f latin1 -t utf-8 {source.path.name} > utf8-{source.path.name}"
    )


def _read_reason(source: SourceFile, error: BaseException) -> str:
    text = arrow_reason(error)
    if source.compression and (
        "compressed" in text.lower()
        or "inflate" in text
        or "zstd" in text.lower()
        or "bz2" in text.lower()
        or "lz4" in text.lower()
    ):
        return (
            f"{source.path} is not a complete {source.compression} file ({text}); "
            "it may be truncated: copy or download it again"
        )
    kind = {"csv": "CSV", "parquet": "Parquet", "arrow": "Arrow IPC"}[source.kind]
    return f"cannot read {source.path} as {kind}: {text}; the file may be damaged or truncated"


def _shorten(text: str) -> str:
    return text if len(text) <= 2 * _QUOTE_CHARS else text[: 2 * _QUOTE_CHARS - 1] + "…"


def _share(done: int, total: int, size: int) -> int:
    return size if not total else min(size, size * done // total)


def _safe_position(position: Callable[[], int]) -> int:
    try:
        return int(position())
    except (OSError, ValueError):
        return 0


def _no_progress(done_bytes: int, total_bytes: int) -> None:
    return None
