"""Verified format conversion: what ``zuinig convert`` does.

:func:`convert_file` turns a CSV (also ``.csv.gz``, ``.csv.bz2``, ``.csv.zst``,
``.csv.lz4``, ``.tsv``), Parquet or Arrow IPC file into Parquet, Arrow IPC or CSV, so that a
format recommendation can be applied without risk to the data:

* **It streams.** The source is read in record batches (``pyarrow.csv.open_csv``,
  ``ParquetFile.iter_batches``, the IPC reader) and written batch by batch
  (``ParquetWriter``, ``ipc.new_file``, ``csv.CSVWriter``), so memory stays bounded by a
  few batches whatever the file's size (``benchmarks/convert_large.py`` measures it).
  Its stages overlap on all CPUs (:mod:`zuinig.convert.pipeline`): pyarrow parses the
  next CSV blocks while a writer thread encodes the current row group and the columns
  are hashed in parallel; verification decodes the next batch while hashing this one.
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
  refused, as the written file is read back to verify it. A symbolic link as the target
  (with ``force``) is kept and the file it names replaced, as for every file zuinig
  writes.
* **It keeps the data as private as the source.** The target gets the source's
  permission bits, limited to those a new file gets (the umask): a 600 source gives a
  600 target, a 644 source a 644 target under the usual umask 022.
* **It verifies before the rename**, by reading the written file back in full:

  1. the row count equals the number of rows read from the source;
  2. the schema read back equals the schema written (names, order, types and
     nullability; metadata is not compared);
  3. every column's checksum over the values read back equals its checksum over the
     values written, computed while the source streamed through. A checksum is XXH3-128
     over a canonical form of the column that does not depend on how the values are
     chunked or encoded: the null mask (one byte per row), then the values with nulls
     zeroed (fixed-width types as their little-endian bytes, every float NaN as one bit
     pattern, -0.0 kept apart from 0.0; text and binary as their lengths and their bytes;
     lists as their lengths and their flattened values; structs field by field), with
     dictionaries decoded and views made plain first. Equal checksums mean equal values,
     bit for bit, not merely values that print alike (two different columns match by
     accident about once in 10^38; :class:`ColumnDigest` says why XXH3 and not SHA-256).

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
is raised as a ConversionError with the same words) have ``bad_input`` set, so the CLI
exits with code 2;
failures while writing or verifying exit with 1.
"""

from zuinig.convert.digest import ColumnDigest
from zuinig.convert.model import ConversionProgress, ConversionResult
from zuinig.convert.plan import CODECS, DEFAULT_CODECS, TARGETS, target_path
from zuinig.convert.read import read_csv_as
from zuinig.convert.run import convert_file
from zuinig.convert.text import format_conversion
from zuinig.formats.csv import CSV_BLOCK_BYTES, CSV_NULL_VALUES, CSV_TYPE_ORDER

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
