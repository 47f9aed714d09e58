"""The one registry of data formats: what a file is, and how zuinig reads and writes it.

* :mod:`zuinig.formats.registry`: file name endings, whole-file compressions, magic bytes,
  :func:`detect_format` (the meter names a job's inputs with it), which formats hold data
  and tables, and :func:`readable`, the one rule of which files bench and convert read.
* :mod:`zuinig.formats.csv`: how CSV text is parsed (encoding, delimiter, quoted line
  breaks, null spellings, type inference).
* :mod:`zuinig.formats.read`: the one reader of a user's file, streaming Arrow batches,
  used by ``zuinig bench`` and ``zuinig convert``.
* :mod:`zuinig.formats.storage`: the storage formats bench compares and convert writes.

Importing this package loads no data library: pyarrow is imported when a file is read.
"""

from __future__ import annotations

from zuinig.formats.csv import CSV_ENCODING, CSV_NULL_VALUES, CSV_TYPE_ORDER
from zuinig.formats.read import (
    ReadProgress,
    SourceFile,
    TypeMismatch,
    inspect_source,
    open_source,
    read_source,
    read_table,
    retry_types,
)
from zuinig.formats.registry import (
    COMPRESSION_BY_SUFFIX,
    COMPRESSIONS,
    DATA_FORMATS,
    FORMAT_BY_SUFFIX,
    READABLE_FORMATS,
    READABLE_IN_WORDS,
    TABLE_FORMATS,
    TEXT_FORMATS,
    Compression,
    Readable,
    ReaderKind,
    detect_format,
    readable,
)
from zuinig.formats.storage import (
    FORMAT_FAMILIES,
    FORMATS,
    GZIP_LEVEL,
    WRITABLE_KINDS,
    Format,
    FormatKind,
)

__all__ = [
    "COMPRESSIONS",
    "COMPRESSION_BY_SUFFIX",
    "CSV_ENCODING",
    "CSV_NULL_VALUES",
    "CSV_TYPE_ORDER",
    "DATA_FORMATS",
    "FORMATS",
    "FORMAT_BY_SUFFIX",
    "FORMAT_FAMILIES",
    "GZIP_LEVEL",
    "READABLE_FORMATS",
    "READABLE_IN_WORDS",
    "TABLE_FORMATS",
    "TEXT_FORMATS",
    "WRITABLE_KINDS",
    "Compression",
    "Format",
    "FormatKind",
    "ReadProgress",
    "Readable",
    "ReaderKind",
    "SourceFile",
    "TypeMismatch",
    "detect_format",
    "inspect_source",
    "open_source",
    "read_source",
    "read_table",
    "readable",
    "retry_types",
]
