"""How zuinig writes tables: the storage formats ``zuinig bench`` compares and
``zuinig convert`` writes, named alike in both (``parquet-zstd``, ``csv.gz``, ...).

=================  ====================================================================
``csv``            text with a header row, comma-separated, strings quoted
``csv.gz``         the same, gzip-compressed as a whole at level 6
``parquet-snappy`` Parquet, Snappy pages (pyarrow's default)
``parquet-zstd``   Parquet, Zstandard pages (pyarrow's default level)
``parquet-none``   Parquet, uncompressed pages
``arrow-lz4``      Arrow IPC file (Feather v2), LZ4 frame-compressed buffers
``arrow-zstd``     Arrow IPC file (Feather v2), Zstandard-compressed buffers
=================  ====================================================================

Gzip level 6 is the default of zlib and of the ``gzip`` tool; pyarrow's default, 9,
takes about twice the time for files under 2 % smaller. Zstandard and LZ4 use
pyarrow's default levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from zuinig.formats.registry import ReaderKind

__all__ = ["FORMATS", "FORMAT_FAMILIES", "GZIP_LEVEL", "WRITABLE_KINDS", "Format", "FormatKind"]

#: The file family of a storage format: the same families zuinig reads.
FormatKind = ReaderKind

#: The families zuinig writes (``zuinig convert --to``), in the order they are offered.
WRITABLE_KINDS: tuple[FormatKind, ...] = ("parquet", "arrow", "csv")


@dataclass(frozen=True)
class Format:
    """A storage format: how tables are written to and read from files.

    Attributes:
        name: the name users give, e.g. ``parquet-zstd``.
        kind: the file family: ``csv``, ``parquet`` or ``arrow`` (Arrow IPC file).
        compression: the codec, or ``None`` for none.
        suffix: the file name ending, e.g. ``.csv.gz``.
        description: the format in words.
        level: the compression level, or ``None`` for the library's default.
    """

    name: str
    kind: FormatKind
    compression: str | None
    suffix: str
    description: str
    level: int | None = None


#: zlib's and the gzip tool's default level (see the module docstring).
GZIP_LEVEL = 6

#: Every storage format, by name, in the order results are shown.
FORMATS: Mapping[str, Format] = MappingProxyType(
    {
        f.name: f
        for f in (
            Format("csv", "csv", None, ".csv", "CSV text, uncompressed"),
            Format("csv.gz", "csv", "gzip", ".csv.gz", "CSV text, gzip-compressed", GZIP_LEVEL),
            Format("parquet-snappy", "parquet", "snappy", ".parquet", "Parquet, Snappy pages"),
            Format("parquet-zstd", "parquet", "zstd", ".parquet", "Parquet, Zstandard pages"),
            Format("parquet-none", "parquet", None, ".parquet", "Parquet, uncompressed pages"),
            Format("arrow-lz4", "arrow", "lz4", ".arrow", "Arrow IPC file, LZ4 frame buffers"),
            Format("arrow-zstd", "arrow", "zstd", ".arrow", "Arrow IPC file, Zstandard buffers"),
        )
    }
)


def _detected_name(fmt: Format) -> str:
    """How :func:`~zuinig.formats.registry.detect_format` names a file in ``fmt``."""
    if fmt.kind == "csv" and fmt.compression == "gzip":
        return "csv.gz"  # compressed as a whole: content, then compression
    return fmt.kind  # Parquet and Arrow compress inside the file, so the file says only that


#: Per format a file is detected as (``csv``, ``csv.gz``, ``parquet``, ``arrow``), the
#: storage formats it may be in, in :data:`FORMATS` order: the first is the one assumed
#: when the codec inside is not known (Snappy, pandas' and pyarrow's default for Parquet).
FORMAT_FAMILIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        detected: tuple(f.name for f in FORMATS.values() if _detected_name(f) == detected)
        for detected in dict.fromkeys(map(_detected_name, FORMATS.values()))
    }
)
