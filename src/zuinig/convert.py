"""Verified format conversion: what ``zuinig convert`` does.

:func:`convert_file` turns a CSV (also ``.csv.gz``, ``.csv.bz2``, ``.csv.zst``,
``.csv.lz4``, ``.tsv``), Parquet or Arrow IPC file into Parquet, Arrow IPC or CSV, so that a
format recommendation can be applied without risk to the data:

* **It streams.** The source is read in record batches (``pyarrow.csv.open_csv``,
  ``ParquetFile.iter_batches``, the IPC reader) and written batch by batch
  (``ParquetWriter``, ``ipc.new_file``, ``csv.CSVWriter``), so memory stays bounded by a
  few batches whatever the file's size (``benchmarks/convert_large.py`` measures it).
* **It never touches the source.** The source is only ever opened for reading.
* **It writes atomically**, with :mod:`zuinig.atomic`, the one writer. Everything goes to
  a hidden, locked temporary file beside the target (``.<target name>.zuinig-<random>.tmp``,
  same directory, so the final rename cannot cross file systems). Only after
  verification is it fsynced and renamed into place; without ``force`` the rename is a
  hard link that fails if the target appeared meanwhile, so a file is never replaced
  unasked. On any failure the temporary file is removed and no partial target is left;
  the files of a conversion that was killed (nothing can remove those at the time) are
  removed by the next conversion or export into that folder, once an hour old and
  unlocked. The target must be a regular file (or none): a device or named pipe is
  refused, as the written file is read back to verify it.
* **It keeps the data as private as the source.** The target gets the source's
  permission bits, limited to those a new file gets (the umask): a 600 source gives a
  600 target, a 644 source a 644 target under the usual umask 022.
* **It verifies before the rename**, by reading the written file back in full:

  1. the row count equals the number of rows read from the source;
  2. the schema read back equals the schema written (names, order, types and
     nullability; metadata is not compared);
  3. every column's checksum over the values read back equals its checksum over the
     values written, computed while the source streamed through. A checksum is SHA-256
     over a canonical form of the column that does not depend on how the values are
     chunked or encoded: the null mask (one byte per row), then the values with nulls
     zeroed (fixed-width types as their little-endian bytes, every float NaN as one bit
     pattern, -0.0 kept apart from 0.0; text and binary as their lengths and their bytes;
     lists as their lengths and their flattened values; structs field by field), with
     dictionaries decoded and views made plain first. Equal checksums mean equal values,
     bit for bit, not merely values that print alike.

  What is compared is the data *as zuinig read it from the source*: for a CSV source that
  is after pyarrow parsed and typed its text (see below), so text the parser changes
  (``007`` read as the integer 7, a 20-digit number read as a float) is not flagged.

* **Documented normalisations.** Where the target cannot store a type as it is, the
  values are first cast *safely* (Arrow refuses any cast that would change a value) to
  the nearest type it can store, and the checksums are taken after that cast:

  - Parquet: whatever Parquet itself would give back, found by writing and reading an
    empty table of the schema: ``timestamp[s]`` and ``time32[s]`` become milliseconds,
    ``date64`` becomes ``date32``, dictionaries of non-text values are decoded.
  - CSV: dictionaries are decoded, ``string_view`` becomes ``string``, ``float16``
    becomes ``float32``, ``decimal32``/``decimal64``/``decimal256`` (up to 38 digits)
    become ``decimal128``, and every column is nullable (CSV has no "required").
    Binary, nested and interval columns are refused: CSV text cannot hold them.
    A CSV target is written with pyarrow's writer (header row, strings always quoted,
    a null as an empty unquoted field, floats in shortest round-trip form) and read back
    with the written schema as explicit column types, ``""`` as the only null spelling
    and quoted empty strings kept as empty strings. Reading it back exactly so (as
    :func:`read_csv_as` does) reproduces every value; a reader that guesses types may
    not. A one-column CSV writes a null as an empty line, which readers skip by default.
  - Arrow IPC stores every Arrow type as it is.

* **Sources are read by** :mod:`zuinig.formats.read`, the reader ``zuinig bench`` uses
  too, so a benchmark's copy and a converted file hold the same values. CSV sources are
  read as :mod:`zuinig.formats.csv` says: UTF-8 (a byte-order mark is skipped),
  comma-separated (tab for ``.tsv``), with quoted values that may span lines. An empty
  unquoted field and the spellings in :data:`CSV_NULL_VALUES` are missing values, in text
  columns too (as pandas reads them); a quoted value is never missing, so ``""`` stays an
  empty string and ``"NA"`` stays text. ``NaN`` is not a null spelling: in a number column
  it is the float NaN. This is exactly how zuinig (and pyarrow) write CSV, so Parquet to
  CSV to Parquet keeps nulls, empty strings and NaN apart.

* **CSV typing.** pyarrow infers a CSV's column types from its first block
  (:data:`CSV_BLOCK_BYTES`). When a later block does not fit (an ``int64`` column that
  later holds ``2.5`` or ``n/a``), the conversion does not fail: it discards what it
  wrote, scans the whole file once reading every column as text to find, per column, the
  first type of pyarrow's inference order that holds *every* value
  (:data:`CSV_TYPE_ORDER`), and converts again with those types. A column the explicit
  types still cannot read becomes text. Measured on a 0.5 GB CSV (2 CPUs): the scan costs
  0.37 times the CPU time of the conversion, so scanning every file first would make
  every conversion 37 % dearer; this way a file whose first block tells the truth pays
  nothing, and the worst case, a misleading value in the very last row, costs 2.1 times
  a clean conversion.

* **It records its own energy** as a run of kind ``convert`` (job ``convert:<source
  name>``, tags ``from`` and ``to``, the source as its input). Requests refused before any
  work (a missing source, an unknown codec, an existing target without ``force``) record
  nothing; a conversion that fails once under way is recorded with status ``error``.

Errors are :class:`~zuinig.errors.ConversionError`. Those about the source or the request
(missing, a directory, empty, unknown format, ragged rows, not UTF-8, a truncated
compressed file, an existing target; the reader's :class:`~zuinig.errors.DataFileError`
is raised as a ConversionError with the same words) have ``bad_input`` set, so the CLI exits with code 2;
failures while writing or verifying exit with 1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from zuinig.atomic import (
    TargetNotWritableError,
    Temporary,
    sweep_stale_temporaries,
    target_kind,
)
from zuinig.errors import ConversionError, DataFileError
from zuinig.formats import (
    COMPRESSION_BY_SUFFIX,
    FORMAT_BY_SUFFIX,
    FORMATS,
    GZIP_LEVEL,
    READABLE_FORMATS,
    WRITABLE_KINDS,
    Format,
    FormatKind,
    SourceFile,
    TypeMismatch,
    inspect_source,
    open_source,
    retry_types,
)
from zuinig.formats import csv as csv_options
from zuinig.formats.csv import CSV_BLOCK_BYTES, CSV_NULL_VALUES, CSV_TYPE_ORDER
from zuinig.formats.read import arrow_reason, open_arrow, open_parquet, os_reason
from zuinig.ledger.model import KIND_CONVERT

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from zuinig.measure import Recorder

__all__ = [
    "CODECS",
    "CSV_BLOCK_BYTES",
    "CSV_NULL_VALUES",
    "CSV_TYPE_ORDER",
    "DEFAULT_CODECS",
    "TARGETS",
    "ColumnDigest",
    "ConversionProgress",
    "ConversionResult",
    "convert_file",
    "format_conversion",
    "read_csv_as",
    "target_path",
]

TargetKind = FormatKind

#: The formats ``convert`` writes.
TARGETS: tuple[TargetKind, ...] = WRITABLE_KINDS
#: Per target, the codecs it accepts; the first is the default.
CODECS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "parquet": ("zstd", "snappy", "gzip", "brotli", "lz4", "none"),
        "arrow": ("zstd", "lz4", "none"),
        "csv": ("none", "gzip"),
    }
)
#: Per target, the codec used when none is given: Zstandard for Parquet and Arrow (small
#: files that still read fast, as measured by ``zuinig bench``), plain text for CSV.
DEFAULT_CODECS: Mapping[str, str] = MappingProxyType(
    {kind: codecs[0] for kind, codecs in CODECS.items()}
)
_CODEC_ALIASES = {"uncompressed": "none", "gz": "gzip", "zst": "zstd", "lz4_frame": "lz4"}

#: Target in-memory size of one Parquet row group (bytes); rows per group follow from the
#: first batch's bytes per row, between :data:`_MIN_GROUP_ROWS` and :data:`_MAX_GROUP_ROWS`.
ROW_GROUP_BYTES = 64 << 20
_MIN_GROUP_ROWS = 1 << 14
#: pyarrow's default maximum row-group length.
_MAX_GROUP_ROWS = 1 << 20
# -- records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversionProgress:
    """How far a conversion is, for a progress bar.

    Attributes:
        phase: ``converting``, ``scanning types`` (a CSV whose first block misled) or
            ``verifying``.
        done_bytes: bytes of the file this phase reads that are done (bytes; estimated
            from rows for Parquet and Arrow files).
        total_bytes: that file's size (bytes).
    """

    phase: str
    done_bytes: int
    total_bytes: int


ProgressCallback = Callable[[ConversionProgress], None]


@dataclass(frozen=True)
class ConversionResult:
    """A finished, verified conversion.

    A result exists only when verification passed: the target has the source's row count
    and schema (after the listed normalisations) and equal per-column checksums.

    Attributes:
        source: the source file, absolute.
        target: the written file, absolute.
        source_format: the source's format as detected, e.g. ``csv.gz`` or ``parquet``.
        target_format: the target's format, named as in ``zuinig bench``
            (e.g. ``parquet-zstd``, ``arrow-lz4``, ``csv.gz``).
        compression: the target's codec, or ``None`` for none.
        rows: rows converted.
        columns: columns converted.
        source_bytes: size of the source (bytes).
        target_bytes: size of the target (bytes).
        checksums: per column, the SHA-256 (hex) of its canonical values, equal in the
            source as read and in the target as read back (see the module docstring).
        normalisations: how column types changed to fit the target, in words.
        csv_type_scan: whether the CSV source needed the whole-file type scan.
        replaced: whether an existing target was replaced (``force``).
        duration_s: wall time of the conversion, verification included (s).
        run_id: the ledger run holding the conversion's energy.
        energy_kwh: the conversion's energy (kWh), when it was measured.
        co2_kg: its CO2-equivalent (kg), when it was measured.
        energy_is_estimated: whether that energy is an estimate (not read from RAPL).
        verified: always ``True``: a failed verification raises instead.
    """

    source: Path
    target: Path
    source_format: str
    target_format: str
    compression: str | None
    rows: int
    columns: int
    source_bytes: int
    target_bytes: int
    checksums: Mapping[str, str]
    normalisations: tuple[str, ...] = ()
    csv_type_scan: bool = False
    replaced: bool = False
    duration_s: float = 0.0
    run_id: str | None = None
    energy_kwh: float | None = None
    co2_kg: float | None = None
    energy_is_estimated: bool | None = None
    verified: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping; paths as strings."""
        data = {item.name: getattr(self, item.name) for item in dataclasses.fields(self)}
        data["source"] = str(self.source)
        data["target"] = str(self.target)
        data["checksums"] = dict(self.checksums)
        data["normalisations"] = list(self.normalisations)
        return data


@dataclass(frozen=True)
class _Plan:
    source: SourceFile
    target: Path
    format: Format
    force: bool
    replaces: bool


@dataclass
class _Written:
    schema: pa.Schema
    rows: int
    digests: list[ColumnDigest]
    notes: tuple[str, ...]
    type_scan: bool = False


# -- the public entry point -----------------------------------------------------------------


def convert_file(
    source: str | os.PathLike[str],
    to: str,
    *,
    compression: str | None = None,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
    recorder: Recorder | None = None,
    progress: ProgressCallback | None = None,
) -> ConversionResult:
    """Convert ``source`` to another format, verified, atomically, without touching it.

    See the module docstring for what is verified and how.

    Args:
        source: a CSV (``.csv``, ``.tsv``, also ``.gz``/``.bz2``/``.zst``/``.lz4``-compressed),
            Parquet or Arrow IPC file.
        to: ``parquet``, ``arrow`` or ``csv``.
        compression: the codec (see :data:`CODECS`); :data:`DEFAULT_CODECS` when ``None``,
            except that an ``out`` ending in ``.gz`` asks for gzip.
        out: the file to write, or an existing directory to write it in; by default the
            source's directory, same name, new suffix (``.parquet``, ``.arrow``, ``.csv``,
            ``.csv.gz``).
        force: replace the target if it exists.
        recorder: where the conversion's energy is recorded; the process-wide default
            recorder (settings' meter and ledger) when ``None``.
        progress: called with a :class:`ConversionProgress` after each batch.

    Returns:
        The verified result, with the run that holds its energy.

    Raises:
        ConversionError: the request or the source is wrong (``bad_input``), or writing or
            verifying failed; the source is untouched and no target or temporary file is
            left.
    """
    plan = _plan(source, to, compression=compression, out=out, force=force)
    if recorder is None:
        from zuinig.measure import default_recorder

        recorder = default_recorder()
    active = recorder.begin(
        f"convert:{plan.source.path.name}",
        tags={"from": plan.source.format, "to": plan.format.name},
        kind=KIND_CONVERT,
        context={"paths": [str(plan.source.path)]},
    )
    started = time.perf_counter()
    try:
        written = _convert(plan, progress or _no_progress)
    except BaseException as error:
        active.finish(error)
        raise
    duration_s = time.perf_counter() - started
    run = active.finish()
    return ConversionResult(
        source=plan.source.path,
        target=plan.target,
        source_format=plan.source.format,
        target_format=plan.format.name,
        compression=plan.format.compression,
        rows=written.rows,
        columns=len(written.schema),
        source_bytes=plan.source.size_bytes,
        target_bytes=plan.target.stat().st_size,
        checksums=MappingProxyType(
            {f.name: d.hexdigest() for f, d in zip(written.schema, written.digests, strict=True)}
        ),
        normalisations=written.notes,
        csv_type_scan=written.type_scan,
        replaced=plan.replaces,
        duration_s=duration_s,
        run_id=run.run_id,
        energy_kwh=run.energy_kwh,
        co2_kg=run.co2_kg,
        energy_is_estimated=run.is_estimated,
    )


def target_path(
    source: str | os.PathLike[str],
    to: str,
    *,
    compression: str | None = None,
    out: str | os.PathLike[str] | None = None,
) -> Path:
    """Where :func:`convert_file` would write, without checking whether it may.

    Raises:
        ConversionError: ``to`` or ``compression`` is not known (``bad_input``).
    """
    kind = _target_kind(to)
    out_path = Path(out).expanduser() if out is not None else None
    codec = _codec(kind, compression, out_path)
    return _target_for(Path(source).expanduser().absolute(), kind, codec, out_path)


def format_conversion(result: ConversionResult) -> list[str]:
    """The lines ``zuinig convert`` prints for a finished conversion."""
    ratio = (
        f", {result.target_bytes / result.source_bytes:.0%} of the source"
        if result.source_bytes
        else ""
    )
    lines = [
        f"converted {result.source.name} ({result.source_format}, "
        f"{_size_text(result.source_bytes)}) -> {result.target} ({result.target_format}, "
        f"{_size_text(result.target_bytes)}{ratio})",
        f"  verified: {result.rows:,} rows, schema of {result.columns} column"
        f"{'s' if result.columns != 1 else ''}, per-column SHA-256 checksums equal",
    ]
    energy = (
        "energy not measured"
        if result.energy_kwh is None
        else f"{result.energy_kwh:.3g} kWh"
        + (" (estimated)" if result.energy_is_estimated else "")
        + (f", {result.co2_kg * 1000:.3g} g CO2e" if result.co2_kg is not None else "")
    )
    run = f", run {result.run_id[:8]}" if result.run_id else ""
    lines.append(f"  took {result.duration_s:.1f} s, {energy}{run}")
    if result.replaced:
        lines.append("  replaced the existing file (--force)")
    if result.csv_type_scan:
        lines.append(
            "  the CSV's first block did not show every column's type; "
            "types came from a scan of the whole file"
        )
    lines.extend(f"  note: {note}" for note in result.normalisations)
    return lines


def read_csv_as(path: str | os.PathLike[str], schema: pa.Schema) -> pa.Table:
    """Read a CSV that :func:`convert_file` wrote back exactly, given the schema it wrote.

    This is how verification reads a CSV target, as one table (for tests and small
    files; verification itself streams).
    """
    raw, reader = _open_written_csv(Path(path), schema)
    with raw:
        table: pa.Table = reader.read_all()
    return table


# -- planning: every check that needs no reading of the data --------------------------------


def _plan(
    source: str | os.PathLike[str],
    to: str,
    *,
    compression: str | None,
    out: str | os.PathLike[str] | None,
    force: bool,
) -> _Plan:
    kind = _target_kind(to)
    out_path = Path(out).expanduser() if out is not None else None
    codec = _codec(kind, compression, out_path)
    src = _inspect_source(Path(source).expanduser())
    target = _target_for(src.path, kind, codec, out_path)
    fmt = _target_format(kind, codec)
    if not target.parent.is_dir():
        raise _bad(f"cannot write {target}: directory {target.parent} does not exist")
    if _same_file(src.path, target):
        raise _bad(
            f"the target {target} is the source itself; give --out another file "
            "(a source is never overwritten)"
        )
    replaces = target.exists() or target.is_symlink()
    if replaces and target.is_dir():
        raise _bad(f"{target} is a directory; give --out a file name")
    try:
        kind_there = target_kind(target)
    except TargetNotWritableError as error:
        raise _bad(str(error).replace(" (or a stream such as /dev/stdout)", "")) from None
    except OSError as error:
        raise _bad(f"cannot write {target}: {os_reason(error)}") from None
    if kind_there == "stream":
        raise _bad(
            f"{target} is a device or named pipe, not a regular file; convert reads the "
            "file it wrote back in full to verify it before putting it in place, so give "
            "--out a file name"
        )
    if replaces and not force:
        raise _bad(f"{target} already exists; use --force to replace it")
    return _Plan(source=src, target=target, format=fmt, force=force, replaces=replaces)


def _target_kind(to: str) -> TargetKind:
    kind = to.strip().lower()
    if kind == "feather":
        kind = "arrow"
    for known in TARGETS:
        if kind == known:
            return known
    raise _bad(f"cannot convert to {to!r}; choose one of {', '.join(TARGETS)}")


def _codec(kind: TargetKind, compression: str | None, out: Path | None) -> str:
    if compression is None:
        if kind == "csv" and out is not None and out.suffix.lower() == ".gz":
            return "gzip"
        return DEFAULT_CODECS[kind]
    codec = compression.strip().lower()
    codec = _CODEC_ALIASES.get(codec, codec)
    if codec not in CODECS[kind]:
        raise _bad(
            f"{kind} files cannot be compressed with {compression!r}; "
            f"choose --compression {', '.join(CODECS[kind])}"
        )
    if codec != "none" and kind != "csv":
        import pyarrow as pa

        if not pa.Codec.is_available(codec):
            raise _bad(f"this pyarrow has no {codec} codec; choose another --compression")
    return codec


def _target_format(kind: TargetKind, codec: str) -> Format:
    """The format in ``zuinig bench``'s registry, or one named the same way."""
    compression = None if codec == "none" else codec
    if kind == "csv":
        return FORMATS["csv.gz" if compression == "gzip" else "csv"]
    name = f"{kind}-{codec}"
    if name in FORMATS:
        return FORMATS[name]
    words = "Parquet" if kind == "parquet" else "Arrow IPC file"
    return Format(name, kind, compression, f".{kind}", f"{words}, {codec} compression")


def _inspect_source(path: Path) -> SourceFile:
    with _read_errors():
        return inspect_source(path)


@contextlib.contextmanager
def _read_errors() -> Iterator[None]:
    """The reader's DataFileError as a ConversionError with the same words (bad input)."""
    try:
        yield
    except DataFileError as error:
        raise _bad(str(error)) from error


def _target_for(source: Path, kind: TargetKind, codec: str, out: Path | None) -> Path:
    suffix = _target_format(kind, codec).suffix
    if out is not None and not out.is_dir():
        _check_out_suffix(out, kind, codec)
        return out.absolute()
    name = source.name
    while _names_data(Path(name).suffix) and Path(name).stem:
        name = Path(name).stem
    directory = out if out is not None else source.parent
    return (directory / f"{name}{suffix}").absolute()


def _names_data(suffix: str) -> bool:
    """Whether a file name ending names a format zuinig reads, text or a compression."""
    fmt = FORMAT_BY_SUFFIX.get(suffix.lower())
    return fmt is not None and (
        fmt in READABLE_FORMATS or fmt == "text" or suffix.lower() in COMPRESSION_BY_SUFFIX
    )


def _check_out_suffix(out: Path, kind: TargetKind, codec: str) -> None:
    """Refuse an ``out`` whose name promises another format than the one written."""
    suffixes = [suffix.lower() for suffix in out.suffixes[-2:]]
    if not suffixes:
        return
    gz = suffixes[-1] == ".gz"
    readable = READABLE_FORMATS.get(
        FORMAT_BY_SUFFIX.get(suffixes[-2] if gz and len(suffixes) == 2 else suffixes[-1], "")
    )
    named = readable[0] if readable else None
    if named is not None and named != kind:
        raise _bad(f"--out {out.name} names a {named} file but --to is {kind}; make them agree")
    if kind == "csv" and named == "csv" and gz != (codec == "gzip"):
        wanted = f"{out.name}.gz" if codec == "gzip" else out.name.removesuffix(out.suffix)
        raise _bad(f"--out {out.name} does not match the {codec} compression; name it {wanted}")


def _same_file(source: Path, target: Path) -> bool:
    if source.resolve() == target.resolve():
        return True
    try:
        return source.samefile(target)
    except OSError:
        return False


# -- the conversion -------------------------------------------------------------------------


def _convert(plan: _Plan, progress: ProgressCallback) -> _Written:
    """Write, verify and publish; on a misleading CSV first block, scan and write again."""
    column_types: dict[str, pa.DataType] | None = None
    scanned = False
    # One attempt with inferred types, one with scanned types, then at most one more per
    # column the scanned types still cannot read (that column becomes text each time).
    attempts = 0
    while column_types is None or attempts <= len(column_types) + 1:
        attempts += 1
        temporary = _create_temp(plan.target)
        temp = temporary.path
        try:
            with _read_errors():
                written = _write(plan, temp, column_types, progress)
            written.type_scan = scanned
            temporary.fsync()
            _verify(plan, temp, written, progress)
            _publish(temporary, plan)
            return written
        except TypeMismatch as mismatch:
            temporary.discard()  # before the next attempt makes another
            scanned = True
            with _read_errors():
                column_types = retry_types(
                    plan.source, column_types, mismatch, _progress(progress, "scanning types")
                )
        finally:
            temporary.discard()  # published or not, the temporary name is gone
    raise ConversionError(f"cannot find column types that read {plan.source.path}")


def _write(
    plan: _Plan,
    temp: Path,
    column_types: Mapping[str, pa.DataType] | None,
    progress: ProgressCallback,
) -> _Written:
    import pyarrow as pa

    source_schema, batches, closer = open_source(
        plan.source, column_types, _progress(progress, "converting")
    )
    with closer:
        schema, notes = _target_schema(source_schema, plan.format.kind, plan.source)
        digests = [ColumnDigest() for _ in schema]
        rows = nulls = 0
        try:
            with _writer(temp, plan.format, schema, plan.target.name) as write:
                for batch in _conform_batches(batches, schema, plan.format.kind):
                    write(batch)
                    for digest, column in zip(digests, batch.columns, strict=True):
                        digest.update(column)
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
    return _Written(schema=schema, rows=rows, digests=digests, notes=notes)


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
        raise _bad(
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
        raise _bad(
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
            raise _bad(
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
        raise _bad(
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


# -- writing ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _writer(
    temp: Path, fmt: Format, schema: pa.Schema, final_name: str
) -> Iterator[Callable[[pa.RecordBatch], None]]:
    """A function that appends a batch to ``temp`` in ``fmt``; the file is closed on exit."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    with contextlib.ExitStack() as stack:
        if fmt.kind == "parquet":
            parquet = stack.enter_context(
                pq.ParquetWriter(str(temp), schema, compression=fmt.compression or "none")
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


def _create_temp(target: Path) -> Temporary:
    """A new, hidden, locked file beside ``target`` (:class:`zuinig.atomic.Temporary`),
    after removing the ones killed conversions left there."""
    sweep_stale_temporaries(target.parent)
    try:
        return Temporary.beside(target)
    except OSError as error:
        raise _bad(
            f"cannot create a file in {target.parent}: {os_reason(error)}; "
            "give --out a place you can write"
        ) from error


def _publish(temporary: Temporary, plan: _Plan) -> None:
    """Move the verified file to the target; without ``force``, never over a file.

    The target gets the source's permission bits, limited to those a new file gets
    (the umask): a 600 source gives a 600 target, so converting never opens data up.
    """
    target = plan.target
    mode = plan.source.mode & stat.S_IMODE(temporary.path.stat().st_mode)
    try:
        temporary.publish(target, replace=plan.force, mode=mode)
    except FileExistsError:
        raise _bad(f"{target} appeared while converting; use --force to replace it") from None
    except OSError as error:
        raise ConversionError(
            f"cannot move the converted file to {target}: {os_reason(error)}"
        ) from error


# -- verification -----------------------------------------------------------------------------


def _verify(plan: _Plan, temp: Path, written: _Written, progress: ProgressCallback) -> None:
    """Read ``temp`` back in full; raise unless rows, schema and checksums all agree."""
    import pyarrow as pa

    digests = [ColumnDigest() for _ in written.schema]
    rows = 0
    try:
        with contextlib.ExitStack() as stack:
            schema, batches = _open_written(temp, plan.format, written.schema, stack, progress)
            if not schema.equals(written.schema, check_metadata=False):
                raise ConversionError(
                    f"verification failed: the written file reads back with schema "
                    f"{_schema_text(schema)}, not {_schema_text(written.schema)}; "
                    "nothing was written"
                )
            for batch in batches:
                for digest, column in zip(digests, batch.columns, strict=True):
                    digest.update(column)
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
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    if fmt.kind == "parquet":
        return open_parquet(path, stack, _progress(progress, "verifying"))
    if fmt.kind == "arrow":
        return open_arrow(path, stack, _progress(progress, "verifying"))
    raw, reader = _open_written_csv(path, schema)
    stack.callback(raw.close)
    size = path.stat().st_size

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            progress(ConversionProgress("verifying", _safe_position(raw.tell), size))
            yield batch

    return reader.schema, batches()


def _open_written_csv(path: Path, schema: pa.Schema) -> tuple[pa.NativeFile, Any]:
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


# -- checksums --------------------------------------------------------------------------------


class ColumnDigest:
    """SHA-256 over one column's values in a canonical form, fed chunk by chunk.

    The canonical form (see the module docstring) does not depend on where the chunks
    begin and end, nor on encodings such as dictionaries and views, so the same values
    give the same digest whether they come from a CSV block, a Parquet row group or an
    Arrow record batch. Separate streams (null mask, values, bytes) are hashed apart and
    combined at the end for the same reason.
    """

    def __init__(self) -> None:
        self.rows = 0
        self._validity = hashlib.sha256()
        self._values = hashlib.sha256()
        self._data = hashlib.sha256()
        self._children: list[ColumnDigest] = []

    def update(self, values: pa.Array | pa.ChunkedArray) -> None:
        """Add the next values of the column."""
        import numpy as np
        import pyarrow as pa

        if isinstance(values, pa.ChunkedArray):
            for chunk in values.chunks:
                self.update(chunk)
            return
        array = _plain(values)
        count = len(array)
        if count == 0:
            return
        self.rows += count
        data_type = array.type
        if array.null_count:
            valid = array.is_valid().to_numpy(zero_copy_only=False)
        else:
            valid = np.ones(count, dtype=np.bool_)
        self._validity.update(valid.view(np.uint8).data)
        if pa.types.is_null(data_type):
            return
        if pa.types.is_boolean(data_type):
            filled = array.fill_null(False) if array.null_count else array
            self._values.update(filled.to_numpy(zero_copy_only=False).view(np.uint8).data)
        elif _is_fixed_width(data_type):
            self._values.update(_fixed_width_bytes(array, valid).data)
        elif _is_var_width(data_type):
            self._update_var_width(array, valid)
        elif _is_list_like(data_type):
            self._update_list(array, valid)
        elif pa.types.is_struct(data_type):
            import pyarrow.compute as pc

            if not self._children:
                self._children = [ColumnDigest() for _ in range(data_type.num_fields)]
            for index, child in enumerate(self._children):
                child.update(pc.struct_field(array, [index]))
        else:  # unions and other rare types: each value's repr, framed by its length
            for item in array.to_pylist():
                text = repr(item).encode()
                self._data.update(len(text).to_bytes(8, "little") + text)

    def _update_var_width(self, array: pa.Array, valid: np.ndarray) -> None:
        import numpy as np
        import pyarrow as pa

        if array.null_count:
            empty = (
                ""
                if pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
                else b""
            )
            array = array.fill_null(pa.scalar(empty, array.type))
        large = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int64 if large else np.int32)[
            array.offset : array.offset + len(array) + 1
        ]
        lengths = np.diff(offsets).astype(np.int64)
        lengths[~valid] = -1
        self._values.update(lengths.view(np.uint8).data)
        data = array.buffers()[2]
        if data is not None and offsets[-1] > offsets[0]:
            self._data.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])

    def _update_list(self, array: pa.Array, valid: np.ndarray) -> None:
        import numpy as np
        import pyarrow.compute as pc

        lengths = pc.list_value_length(array).fill_null(-1).to_numpy(zero_copy_only=False)
        lengths = lengths.astype(np.int64)
        self._values.update(lengths.view(np.uint8).data)
        if not self._children:
            self._children = [ColumnDigest()]
        self._children[0].update(pc.list_flatten(array))

    def hexdigest(self) -> str:
        """The column's checksum: SHA-256 (hex) over its rows and its parts' digests."""
        combined = hashlib.sha256(self.rows.to_bytes(8, "little"))
        for part in (self._validity, self._values, self._data):
            combined.update(part.digest())
        for child in self._children:
            combined.update(bytes.fromhex(child.hexdigest()))
        return combined.hexdigest()


def _plain(array: pa.Array) -> pa.Array:
    """``array`` without encodings that do not change its values."""
    import pyarrow as pa

    if isinstance(array.type, pa.ExtensionType):
        array = array.storage
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_string_view(array.type):
        array = array.cast(pa.string())
    elif pa.types.is_binary_view(array.type):
        array = array.cast(pa.binary())
    elif pa.types.is_run_end_encoded(array.type):
        import pyarrow.compute as pc

        array = pc.run_end_decode(array)
    return array


def _is_fixed_width(data_type: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_nested(data_type) or _is_var_width(data_type) or pa.types.is_boolean(data_type):
        return False
    try:
        return bool(data_type.bit_width % 8 == 0 and data_type.bit_width > 0)
    except ValueError:  # bit_width of a type without a fixed width
        return False


def _is_var_width(data_type: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_binary(data_type)
        or pa.types.is_large_binary(data_type)
    )


def _is_list_like(data_type: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_list(data_type)
        or pa.types.is_large_list(data_type)
        or pa.types.is_fixed_size_list(data_type)
        or pa.types.is_map(data_type)
        or pa.types.is_list_view(data_type)
        or pa.types.is_large_list_view(data_type)
    )


def _fixed_width_bytes(array: pa.Array, valid: np.ndarray) -> np.ndarray:
    """The values' little-endian bytes, nulls zeroed, NaN in one bit pattern."""
    import numpy as np
    import pyarrow as pa

    width = array.type.bit_width // 8
    count = len(array)
    buffer = array.buffers()[1]
    if buffer is None:
        return np.zeros(count * width, dtype=np.uint8)
    raw = np.frombuffer(buffer, dtype=np.uint8)
    raw = raw[array.offset * width : (array.offset + count) * width]
    floating = pa.types.is_floating(array.type)
    if not array.null_count and not floating:
        return raw
    rows = raw.reshape(count, width).copy()
    if floating:
        floats = rows.reshape(-1).view({2: np.float16, 4: np.float32, 8: np.float64}[width])
        floats[np.isnan(floats)] = np.nan
    if array.null_count:
        rows[~valid] = 0
    return rows.reshape(-1)


# -- messages ---------------------------------------------------------------------------------


def _bad(message: str) -> ConversionError:
    """A ConversionError that is the user's input (the CLI exits with code 2)."""
    error = ConversionError(message)
    error.bad_input = True
    return error


def _schema_text(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop returns


def _safe_position(position: Callable[[], int]) -> int:
    try:
        return int(position())
    except (OSError, ValueError):
        return 0


def _no_progress(update: ConversionProgress) -> None:
    return None


def _progress(progress: ProgressCallback, phase: str) -> Callable[[int, int], None]:
    """The reader's progress (bytes done, bytes in all) as ``phase`` of a conversion."""

    def report(done_bytes: int, total_bytes: int) -> None:
        progress(ConversionProgress(phase, done_bytes, total_bytes))

    return report
