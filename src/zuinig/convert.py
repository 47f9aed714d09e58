"""Verified format conversion: what ``zuinig convert`` does.

:func:`convert_file` turns a CSV (also ``.csv.gz``, ``.csv.bz2``, ``.csv.zst``, ``.tsv``),
Parquet or Arrow IPC file into Parquet, Arrow IPC or CSV, so that a format recommendation
can be applied without risk to the data:

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

* **CSV sources** are read as UTF-8 (a byte-order mark is skipped), comma-separated
  (tab for ``.tsv``), with quoted values that may span lines. An empty unquoted field and
  the spellings in :data:`CSV_NULL_VALUES` are missing values, in text columns too (as
  pandas reads them); a quoted value is never missing, so ``""`` stays an empty string
  and ``"NA"`` stays text. ``NaN`` is not a null spelling: in a number column it is the
  float NaN. This is exactly how zuinig (and pyarrow) write CSV, so Parquet to CSV to
  Parquet keeps nulls, empty strings and NaN apart.

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
compressed file, an existing target) have ``bad_input`` set, so the CLI exits with code 2;
failures while writing or verifying exit with 1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import os
import re
import stat
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from zuinig.atomic import (
    TargetNotWritableError,
    Temporary,
    sweep_stale_temporaries,
    target_kind,
)
from zuinig.bench.formats import FORMATS, GZIP_LEVEL, Format
from zuinig.errors import ConversionError
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
    "read_source",
    "target_path",
]

TargetKind = Literal["parquet", "arrow", "csv"]
_T = TypeVar("_T")

#: The formats ``convert`` writes.
TARGETS: tuple[TargetKind, ...] = ("parquet", "arrow", "csv")
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

#: Bytes per CSV block. Types are inferred from the first block, so a larger block sees
#: more rows before deciding (a misleading one costs the whole-file scan). pyarrow's
#: streaming reader reads about 32 blocks ahead, so this also sets memory: measured with
#: pyarrow 26 on a 1 GB CSV, 16 MiB blocks held 550 MB of read-ahead, 4 MiB 146 MB and
#: 1 MiB 36 MB, at about the same speed.
CSV_BLOCK_BYTES = 4 << 20
#: Target in-memory size of one Parquet row group (bytes); rows per group follow from the
#: first batch's bytes per row, between :data:`_MIN_GROUP_ROWS` and :data:`_MAX_GROUP_ROWS`.
ROW_GROUP_BYTES = 64 << 20
_MIN_GROUP_ROWS = 1 << 14
#: pyarrow's default maximum row-group length.
_MAX_GROUP_ROWS = 1 << 20
#: Rows per batch when reading Parquet and CSV read-back: pyarrow's default.
_READ_BATCH_ROWS = 1 << 16

#: Compression of whole CSV files: Python name in the file name, pyarrow stream codec.
_TEXT_COMPRESSION = {"gz": "gzip", "bz2": "bz2", "zst": "zstd"}
_DATA_SUFFIXES = frozenset(
    {".csv", ".tsv", ".txt", ".parquet", ".pq", ".arrow", ".feather", ".ipc", ".arrows"}
    | {".gz", ".bz2", ".zst", ".xz"}
)
_SUFFIX_KIND = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}
#: Longest piece of a pyarrow message quoted in an error (a ragged row is quoted whole).
_QUOTE_CHARS = 160

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
class _Source:
    path: Path
    format: str  # as detect_format names it
    kind: Literal["csv", "parquet", "arrow"]
    compression: str | None  # pyarrow stream codec of a compressed CSV
    delimiter: str
    size_bytes: int
    mode: int = 0o644  # permission bits (rwx for user, group, others)


@dataclass(frozen=True)
class _Plan:
    source: _Source
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


class _TypeMismatch(Exception):
    """A CSV block held a value its column's type cannot hold (internal: triggers a rescan)."""

    def __init__(self, column: int | None, message: str) -> None:
        super().__init__(message)
        self.column = column


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
        source: a CSV (``.csv``, ``.tsv``, also ``.gz``/``.bz2``/``.zst``-compressed),
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
        raise _bad(f"cannot write {target}: {_os_reason(error)}") from None
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


def _inspect_source(path: Path) -> _Source:
    from zuinig.meter.process import detect_format

    path = path.absolute()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise _bad(f"{path} does not exist; check the path") from None
    except OSError as error:
        raise _bad(f"cannot read {path}: {_os_reason(error)}") from None
    if path.is_dir():
        raise _bad(f"{path} is a directory; give the path of a CSV, Parquet or Arrow file")
    if not path.is_file():
        raise _bad(f"{path} is not a regular file; give the path of a CSV, Parquet or Arrow file")
    if not os.access(path, os.R_OK):
        raise _bad(f"cannot read {path}: permission denied")
    if info.st_size == 0:
        raise _bad(f"{path} is empty (0 bytes); there is nothing to convert")
    detected = detect_format(path)
    base, _, compressed = detected.partition(".")
    if base in ("csv", "tsv") and compressed in ("", *_TEXT_COMPRESSION):
        return _Source(
            path=path,
            format=detected,
            kind="csv",
            compression=_TEXT_COMPRESSION.get(compressed),
            delimiter="\t" if base == "tsv" else ",",
            size_bytes=info.st_size,
            mode=stat.S_IMODE(info.st_mode) & 0o777,
        )
    mode = stat.S_IMODE(info.st_mode) & 0o777
    if detected == "parquet":
        return _Source(path, detected, "parquet", None, ",", info.st_size, mode)
    if detected == "arrow":
        return _Source(path, detected, "arrow", None, ",", info.st_size, mode)
    if detected == "feather-v1":
        reason = "it is a Feather version 1 file; rewrite it as Feather v2 (Arrow IPC) first"
    elif base in ("csv", "tsv"):
        reason = f"{compressed} compression cannot be read; recompress it with gzip or zstd"
    elif detected == "unknown":
        reason = "its format cannot be told from its name or content"
    else:
        reason = f"it is a {detected} file"
    raise _bad(
        f"cannot convert {path.name}: {reason}; zuinig converts CSV (.csv, .tsv, also .gz, "
        ".bz2, .zst), Parquet and Arrow IPC (.arrow, .feather) files"
    )


def _target_for(source: Path, kind: TargetKind, codec: str, out: Path | None) -> Path:
    suffix = {"parquet": ".parquet", "arrow": ".arrow", "csv": ".csv"}[kind]
    if kind == "csv" and codec == "gzip":
        suffix += ".gz"
    if out is not None and not out.is_dir():
        _check_out_suffix(out, kind, codec)
        return out.absolute()
    name = source.name
    while Path(name).suffix.lower() in _DATA_SUFFIXES and Path(name).stem:
        name = Path(name).stem
    directory = out if out is not None else source.parent
    return (directory / f"{name}{suffix}").absolute()


def _check_out_suffix(out: Path, kind: TargetKind, codec: str) -> None:
    """Refuse an ``out`` whose name promises another format than the one written."""
    suffixes = [suffix.lower() for suffix in out.suffixes[-2:]]
    if not suffixes:
        return
    gz = suffixes[-1] == ".gz"
    named = _SUFFIX_KIND.get(suffixes[-2] if gz and len(suffixes) == 2 else suffixes[-1])
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
            written = _write(plan, temp, column_types, progress)
            written.type_scan = scanned
            temporary.fsync()
            _verify(plan, temp, written, progress)
            _publish(temporary, plan)
            return written
        except _TypeMismatch as mismatch:
            temporary.discard()  # before the next attempt makes another
            scanned = True
            column_types = _retry_types(plan.source, column_types, mismatch, progress)
        finally:
            temporary.discard()  # published or not, the temporary name is gone
    raise ConversionError(f"cannot find column types that read {plan.source.path}")


def _retry_types(
    source: _Source,
    column_types: dict[str, pa.DataType] | None,
    mismatch: _TypeMismatch,
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
    raise _bad(_csv_reason(source, str(mismatch))) from None


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
    source = _inspect_source(Path(path))
    column_types: dict[str, pa.DataType] | None = None
    while True:
        try:
            schema, batches, closer = _open_source(source, column_types, _no_progress)
            with closer:
                return consume(schema, batches)
        except _TypeMismatch as mismatch:
            # Terminates: each retry scans once, then turns one more column into text.
            column_types = _retry_types(source, column_types, mismatch, _no_progress)


def _write(
    plan: _Plan,
    temp: Path,
    column_types: Mapping[str, pa.DataType] | None,
    progress: ProgressCallback,
) -> _Written:
    import pyarrow as pa

    source_schema, batches, closer = _open_source(plan.source, column_types, progress)
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
        except (ConversionError, _TypeMismatch):
            raise
        except (pa.ArrowException, OSError) as error:
            raise ConversionError(
                f"cannot write {plan.format.name} to {temp.parent}: {_arrow_reason(error)}; "
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
            f"({_arrow_reason(error)}); choose another --to format"
        ) from error


# -- the written schema -----------------------------------------------------------------------


def _target_schema(
    schema: pa.Schema, kind: str, source: _Source
) -> tuple[pa.Schema, tuple[str, ...]]:
    """The schema the target is written with, and the type changes in words."""
    import pyarrow as pa

    try:
        names = schema.names
    except UnicodeDecodeError:  # pyarrow keeps a CSV header's bytes and decodes them here
        raise _bad(_encoding_reason(source, "the header row")) from None
    if not names:
        raise _bad(f"{source.path.name} has no columns; there is nothing to convert")
    twice = sorted(name for name, count in Counter(names).items() if count > 1)
    if twice:
        raise _bad(
            f"{source.path.name} has more than one column named {', '.join(map(repr, twice))}; "
            "give every column its own name"
        )
    if source.kind == "csv":
        undecoded = [f.name for f in schema if pa.types.is_binary(f.type)]
        if undecoded:
            raise _bad(_encoding_reason(source, f"column {undecoded[0]!r}"))
        if any("\ufffd" in name for name in names):
            raise _bad(_encoding_reason(source, "the header row"))
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


def _parquet_schema(schema: pa.Schema, source: _Source) -> pa.Schema:
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
            f"{source.path.name} cannot be stored as Parquet: {_arrow_reason(error)}; "
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


# -- reading the source -----------------------------------------------------------------------


def _open_source(
    source: _Source,
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
            schema, batches = _open_parquet(source.path, stack, progress, "converting")
            return schema, _guard(source, batches), stack
        schema, batches = _open_arrow(source.path, stack, progress, "converting")
        return schema, _guard(source, batches), stack
    except ConversionError:
        stack.close()
        raise
    except (pa.ArrowException, OSError) as error:
        stack.close()
        raise _bad(_read_reason(source, error)) from error


def _open_source_csv(
    source: _Source, raw: pa.NativeFile, column_types: Mapping[str, pa.DataType] | None
) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    stream = pa.CompressedInputStream(raw, source.compression) if source.compression else raw
    try:
        return pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(delimiter=source.delimiter, newlines_in_values=True),
            convert_options=_source_convert_options(column_types),
        )
    except pa.ArrowInvalid as error:
        # The first block is parsed while opening: its errors are the same as later ones,
        # and with explicit types its values may not fit them either.
        text = str(error)
        match = _CONVERSION_ERROR.search(text)
        if column_types and match and "invalid UTF8" not in text:
            raise _TypeMismatch(int(match.group(1)), text) from None
        raise _bad(_csv_reason(source, text)) from error


def _source_convert_options(column_types: Mapping[str, pa.DataType] | None) -> Any:
    """How a CSV source's text becomes values (see the module docstring)."""
    import pyarrow.csv as pa_csv

    return pa_csv.ConvertOptions(
        column_types=dict(column_types or {}),
        null_values=list(CSV_NULL_VALUES),
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )


def _csv_batches(
    source: _Source,
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
                raise _TypeMismatch(int(match.group(1)), text) from None
            raise _bad(_csv_reason(source, text, rows, _names(reader))) from error
        except (pa.ArrowException, OSError) as error:
            raise _bad(_read_reason(source, error)) from error
        rows += batch.num_rows
        progress(ConversionProgress(phase, _safe_position(position), source.size_bytes))
        yield batch


def _names(reader: Any) -> list[str] | None:
    try:
        return list(reader.schema.names)
    except UnicodeDecodeError:
        return None


def _guard(source: _Source, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Turn a read error in the middle of a Parquet or Arrow file into a ConversionError."""
    import pyarrow as pa

    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as error:
            raise _bad(_read_reason(source, error)) from error
        yield batch


def _open_parquet(
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

    def batches() -> Iterator[pa.RecordBatch]:
        done = 0
        for batch in parquet.iter_batches(batch_size=_READ_BATCH_ROWS):
            done += batch.num_rows
            progress(ConversionProgress(phase, _share(done, total_rows, size), size))
            yield batch

    return parquet.schema_arrow, batches()


def _open_arrow(
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
                progress(ConversionProgress(phase, _safe_position(handle.tell), size))
                yield batch

        return stream_reader.schema, streamed()
    count = file_reader.num_record_batches

    def batches() -> Iterator[pa.RecordBatch]:
        for index in range(count):
            yield file_reader.get_batch(index)
            progress(ConversionProgress(phase, _share(index + 1, count, size), size))

    return file_reader.schema, batches()


def _scan_csv_types(source: _Source, progress: ProgressCallback) -> dict[str, pa.DataType]:
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
                convert_options=_source_convert_options(dict.fromkeys(names, pa.string())),
            )
        except pa.ArrowInvalid as error:
            raise _bad(_csv_reason(source, str(error))) from error
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
            f"cannot create a file in {target.parent}: {_os_reason(error)}; "
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
            f"cannot move the converted file to {target}: {_os_reason(error)}"
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
            f"({_arrow_reason(error)}); nothing was written"
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
        return _open_parquet(path, stack, progress, "verifying")
    if fmt.kind == "arrow":
        return _open_arrow(path, stack, progress, "verifying")
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


def _csv_reason(
    source: _Source,
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
        size = f"{CSV_BLOCK_BYTES / (1 << 20):g} MiB"
        return (
            f'{source.path} has a row longer than {size}{where}, most likely a quote (") '
            "that is never closed; fix the quoting"
        )
    if "Empty CSV file" in text:
        return (
            f"{source.path} holds no CSV data, not even a header row; there is nothing to convert"
        )
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


def _encoding_reason(source: _Source, where: str) -> str:
    return (
        f"{source.path} is not UTF-8 text ({where} holds other bytes); re-encode it, for "
        f"example: iconv -f latin1 -t utf-8 {source.path.name} > utf8-{source.path.name}"
    )


def _read_reason(source: _Source, error: BaseException) -> str:
    text = _arrow_reason(error)
    if source.compression and (
        "compressed" in text.lower()
        or "inflate" in text
        or "zstd" in text.lower()
        or "bz2" in text.lower()
    ):
        return (
            f"{source.path} is not a complete {source.compression} file ({text}); "
            "it may be truncated: copy or download it again"
        )
    kind = {"csv": "CSV", "parquet": "Parquet", "arrow": "Arrow IPC"}[source.kind]
    return f"cannot read {source.path} as {kind}: {text}; the file may be damaged or truncated"


def _arrow_reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return _os_reason(error)
    text = str(error).strip()
    return _shorten(text.splitlines()[0] if text else type(error).__name__)


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error)


def _shorten(text: str) -> str:
    return text if len(text) <= 2 * _QUOTE_CHARS else text[: 2 * _QUOTE_CHARS - 1] + "…"


def _schema_text(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop returns


def _share(done: int, total: int, size: int) -> int:
    return size if not total else min(size, size * done // total)


def _safe_position(position: Callable[[], int]) -> int:
    try:
        return int(position())
    except (OSError, ValueError):
        return 0


def _no_progress(update: ConversionProgress) -> None:
    return None
