"""What a file is: the one table of data formats, their file name endings and magic bytes.

Every module that asks "what format is this file?" asks here: the meter names the formats
of a job's input files (:func:`detect_format`), ``zuinig bench`` and ``zuinig convert``
decide whether and how they can read a user's file (:func:`readable`), advice chooses the
files a format recommendation applies to (:data:`TABLE_FORMATS`), and the CLI tells an
export's format from its name (:data:`FORMAT_BY_SUFFIX`).

This module imports nothing beyond the standard library, so the meter can use it without
loading any data library.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

__all__ = [
    "COMPRESSIONS",
    "COMPRESSION_BY_SUFFIX",
    "DATA_FORMATS",
    "FORMAT_BY_SUFFIX",
    "READABLE_FORMATS",
    "READABLE_IN_WORDS",
    "TABLE_FORMATS",
    "TEXT_FORMATS",
    "Compression",
    "Readable",
    "ReaderKind",
    "detect_format",
    "readable",
]

#: How zuinig reads a file: delimited text, Parquet, or Arrow IPC (file or stream).
ReaderKind = Literal["csv", "parquet", "arrow"]


@dataclass(frozen=True)
class Compression:
    """A compression applied to a whole file (``data.csv.gz``).

    Attributes:
        suffix: the file name ending, e.g. ``.gz``.
        name: how a format name spells it after the content, e.g. ``csv.gz``'s ``gz``.
        format: the format a file of unknown content in it is named, e.g. ``gzip``.
        magic: the bytes such a file starts with.
        stream_codec: pyarrow's name for the codec that decompresses it as a stream, or
            ``None`` where pyarrow has none (zuinig cannot read such a file).
    """

    suffix: str
    name: str
    format: str
    magic: bytes
    stream_codec: str | None


#: Whole-file compressions, in the order their magic bytes are tried. pyarrow's
#: ``CompressedInputStream`` reads gzip, bzip2, Zstandard and LZ4 frames, not xz.
COMPRESSIONS: tuple[Compression, ...] = (
    Compression(".gz", "gz", "gzip", b"\x1f\x8b", "gzip"),
    Compression(".zst", "zst", "zstd", b"\x28\xb5\x2f\xfd", "zstd"),
    Compression(".bz2", "bz2", "bzip2", b"BZh", "bz2"),
    Compression(".xz", "xz", "xz", b"\xfd7zXZ\x00", None),
    Compression(".lz4", "lz4", "lz4", b"\x04\x22\x4d\x18", "lz4"),
)
#: Per lower-case suffix, its whole-file compression.
COMPRESSION_BY_SUFFIX: Mapping[str, Compression] = MappingProxyType(
    {compression.suffix: compression for compression in COMPRESSIONS}
)

#: Per lower-case file suffix, the data format it names. Formats are named by what the
#: file holds: ``.tsv`` is ``tsv`` and ``.txt`` is ``text``; Feather v2 and the Arrow IPC
#: file and stream endings are ``arrow``. A compression suffix names its compression here
#: (``.gz`` is ``gzip``): what it holds is named by the suffix before it (``data.csv.gz``).
FORMAT_BY_SUFFIX: Mapping[str, str] = MappingProxyType(
    {
        ".csv": "csv",
        ".tsv": "tsv",
        ".txt": "text",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".arrow": "arrow",
        ".feather": "arrow",
        ".ipc": "arrow",
        ".arrows": "arrow",
        ".json": "json",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".xlsx": "xlsx",
        ".xls": "xls",
        ".orc": "orc",
        ".avro": "avro",
        ".duckdb": "duckdb",
        ".sqlite": "sqlite",
        ".db": "sqlite",
        **{compression.suffix: compression.format for compression in COMPRESSIONS},
    }
)

#: Formats that have no magic bytes, so their name decides; compressed, they are named
#: by content and compression (``csv.gz``, ``json.zst``).
TEXT_FORMATS = frozenset({"csv", "tsv", "text", "json", "jsonl"})
#: Formats that say "data" on their own: a file the meter sees a job open counts as an
#: input only in one of these (or compressed text); code, configuration and libraries do not.
DATA_FORMATS = frozenset(
    {"csv", "tsv", "parquet", "arrow", "feather-v1", "json", "jsonl", "xlsx", "xls"}
    | {"orc", "avro", "duckdb", "sqlite"}
)
#: Formats of a file that holds one table of rows which another storage format could
#: hold instead: the files a format recommendation applies to (not databases, which hold
#: many tables, nor spreadsheets).
TABLE_FORMATS = frozenset({"csv", "tsv", "parquet", "arrow", "json", "jsonl", "orc", "avro"})

#: Per format (as :func:`detect_format` names it), how zuinig reads it, with the field
#: delimiter of delimited text. ``text`` (``.txt``) is not here: its delimiter cannot be
#: told from its name, so it is refused with the advice to rename it ``.csv`` or ``.tsv``.
READABLE_FORMATS: Mapping[str, tuple[ReaderKind, str]] = MappingProxyType(
    {
        "csv": ("csv", ","),
        "tsv": ("csv", "\t"),
        "parquet": ("parquet", ","),
        "arrow": ("arrow", ","),
    }
)
#: The files zuinig reads, in words, for error messages (bench and convert alike).
READABLE_IN_WORDS = (
    "zuinig reads CSV (.csv, .tsv, also compressed as a whole: "
    + ", ".join(c.suffix for c in COMPRESSIONS if c.stream_codec)
    + "), Parquet (.parquet, .pq) and Arrow IPC (.arrow, .feather, .ipc, .arrows) files"
)

# Magic bytes of binary formats. They win over the name: a ``.csv`` that is really
# Parquet is Parquet. Text formats have no magic, so there the name decides.
_MAGIC_FORMATS: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PAR1", "parquet"),
    (0, b"ARROW1", "arrow"),
    (0, b"FEA1", "feather-v1"),
    (0, b"ORC", "orc"),
    (0, b"Obj\x01", "avro"),
    (0, b"SQLite format 3\x00", "sqlite"),
    (8, b"DUCK", "duckdb"),
)


@dataclass(frozen=True)
class Readable:
    """How zuinig reads a file, or why it cannot.

    Attributes:
        format: the format as :func:`detect_format` names it, e.g. ``csv.gz``.
        kind: how it is read (``csv``, ``parquet``, ``arrow``), or ``None`` when it cannot be.
        delimiter: the field delimiter of delimited text (``,`` otherwise).
        stream_codec: pyarrow's codec of a file compressed as a whole, or ``None``.
        refusal: why the file cannot be read, in words (``None`` when it can).
    """

    format: str
    kind: ReaderKind | None
    delimiter: str = ","
    stream_codec: str | None = None
    refusal: str | None = None


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name the data format of a file from its magic bytes and its name.

    Binary formats are recognised by their magic bytes, which win over the name
    (a ``.csv`` that is really Parquet is Parquet). Text formats have no magic bytes,
    so there the name decides; compressed text is named by content and
    compression, e.g. ``csv.gz`` or ``json.zst``.

    Args:
        path: the file.

    Returns:
        ``csv``, ``csv.gz``, ``tsv``, ``parquet``, ``arrow`` (Arrow IPC, Feather v2),
        ``feather-v1``, ``json``, ``jsonl``, ``orc``, ``avro``, ``xlsx``, ``duckdb``,
        ``sqlite``, ``gzip`` ... or ``unknown``.
    """
    name = os.fspath(path)
    suffixes = [suffix.lower() for suffix in Path(name).suffixes[-2:]]
    last = suffixes[-1] if suffixes else ""
    head = _read_head(name)
    for offset, magic, fmt in _MAGIC_FORMATS:
        if head[offset : offset + len(magic)] == magic:
            return fmt
    compression = next((c for c in COMPRESSIONS if head.startswith(c.magic)), None)
    if compression is None:
        compression = COMPRESSION_BY_SUFFIX.get(last)
    if compression is not None:
        # data.csv.gz names its content before the compression; a gzipped data.csv
        # names it last.
        if last in COMPRESSION_BY_SUFFIX:
            inner_suffix = suffixes[-2] if len(suffixes) == 2 else ""
        else:
            inner_suffix = last
        inner = FORMAT_BY_SUFFIX.get(inner_suffix)
        if inner is None and compression.name == "gz":
            inner = _gzip_text_format(name)
        if inner in TEXT_FORMATS:
            return f"{inner}.{compression.name}"
        return compression.format
    if head.startswith(b"PK\x03\x04"):
        return "xlsx" if last == ".xlsx" else "zip"
    by_name = FORMAT_BY_SUFFIX.get(last)
    if by_name is not None:
        return by_name
    if head.lstrip()[:1] in (b"{", b"["):
        return "json"
    return "unknown"


def readable(path: str | os.PathLike[str]) -> Readable:
    """Whether and how zuinig reads ``path``: the one rule of ``zuinig bench`` and ``convert``.

    Delimited text (``.csv`` comma, ``.tsv`` tab) is read, also compressed as a whole with
    a codec pyarrow streams (gzip, bzip2, Zstandard, LZ4 frames); Parquet and Arrow IPC
    are read by their magic bytes whatever their name. Anything else is refused, with the
    reason in :attr:`Readable.refusal`.
    """
    detected = detect_format(path)
    base, _, compressed = detected.partition(".")
    if base in READABLE_FORMATS and compressed:
        kind, delimiter = READABLE_FORMATS[base]
        codec = next(c.stream_codec for c in COMPRESSIONS if c.name == compressed)
        if kind == "csv" and codec is not None:
            return Readable(detected, kind, delimiter, codec)
        return Readable(
            detected,
            None,
            refusal=f"{compressed} compression cannot be read; recompress it with gzip or zstd",
        )
    if detected in READABLE_FORMATS:
        kind, delimiter = READABLE_FORMATS[detected]
        return Readable(detected, kind, delimiter)
    return Readable(detected, None, refusal=_refusal(detected, Path(path)))


def _refusal(detected: str, path: Path) -> str:
    suffixes = [suffix.lower() for suffix in path.suffixes[-2:]]
    if detected == "feather-v1":
        return "it is a Feather version 1 file; rewrite it as Feather v2 (Arrow IPC) first"
    if detected == "text" or detected.startswith("text."):
        return (
            "a .txt file's field delimiter cannot be told from its name; "
            "rename it .csv (comma-separated) or .tsv (tab-separated)"
        )
    if detected == "unknown":
        return "its format cannot be told from its name or content"
    compression = next((c for c in COMPRESSIONS if c.format == detected), None)
    if compression is not None and len(suffixes) == 2:
        inner = READABLE_FORMATS.get(FORMAT_BY_SUFFIX.get(suffixes[0], ""))
        if inner is not None and inner[0] != "csv":
            return (
                f"it is a {detected}-compressed {inner[0]} file; only CSV files may be "
                "compressed as a whole (Parquet and Arrow compress inside the file)"
            )
    return f"it is a {detected} file"


def _read_head(path: str, size: int = 16) -> bytes:
    try:
        with Path(path).open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def _gzip_text_format(path: str) -> str | None:
    """Peek inside a gzip file with no telling name: JSON or delimited text."""
    try:
        with gzip.open(path, "rb") as handle:
            head = handle.read(256)
    except (OSError, EOFError):
        return None
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return "json"
    first_line = stripped.split(b"\n", 1)[0]
    if b"," in first_line:
        return "csv"
    if b"\t" in first_line:
        return "tsv"
    return None
