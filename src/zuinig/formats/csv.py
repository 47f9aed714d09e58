"""How zuinig reads a CSV: the one set of parse and conversion options.

``zuinig bench`` (a user's own file) and ``zuinig convert`` read CSV through
:mod:`zuinig.formats.read`, which takes its options from here, so both read the same
text as the same values:

* **Encoding.** UTF-8 (:data:`CSV_ENCODING`); a byte-order mark is skipped. Text in
  another encoding (Latin-1, Windows-1252) is refused with the advice to re-encode it,
  never guessed: a guess would change values silently.
* **Parsing.** Comma-separated (tab for ``.tsv``), a header row, quoted values may span
  lines (``newlines_in_values``): a quoted line break is part of the value.
* **Missing values.** An empty unquoted field and the spellings in
  :data:`CSV_NULL_VALUES` are missing values, in text columns too (as pandas reads them);
  a quoted value is never missing, so ``""`` stays an empty string and ``"NA"`` stays
  text. ``NaN`` is not a null spelling: in a number column it is the float NaN. This is
  exactly how zuinig (and pyarrow) write CSV, so Parquet to CSV to Parquet keeps nulls,
  empty strings and NaN apart.
* **Types** are inferred by pyarrow from the first block (:data:`CSV_BLOCK_BYTES`); a
  later block that does not fit makes the reader scan the whole file for types that hold
  every value (:data:`CSV_TYPE_ORDER`, see :func:`zuinig.formats.read.scan_csv_types`).

pyarrow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CSV_BLOCK_BYTES",
    "CSV_ENCODING",
    "CSV_NULL_VALUES",
    "CSV_TYPE_ORDER",
    "convert_options",
    "parse_options",
    "read_options",
    "type_from_name",
]

#: Bytes per CSV block. Types are inferred from the first block, so a larger block sees
#: more rows before deciding (a misleading one costs the whole-file scan). pyarrow's
#: streaming reader reads about 32 blocks ahead, so this also sets memory: measured with
#: pyarrow 26 on a 1 GB CSV, 16 MiB blocks held 550 MB of read-ahead, 4 MiB 146 MB and
#: 1 MiB 36 MB, at about the same speed.
CSV_BLOCK_BYTES = 4 << 20

#: The one encoding a CSV is read in (pyarrow's name); a UTF-8 byte-order mark is skipped.
CSV_ENCODING = "utf8"

#: Unquoted field values a CSV spells a missing value with: pyarrow's default list
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


def read_options() -> Any:
    """pyarrow ``ReadOptions``: blocks of :data:`CSV_BLOCK_BYTES`, UTF-8, a header row."""
    import pyarrow.csv as pa_csv

    return pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding=CSV_ENCODING)


def parse_options(delimiter: str) -> Any:
    """pyarrow ``ParseOptions``: ``delimiter``, quoted values that may span lines."""
    import pyarrow.csv as pa_csv

    return pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)


def convert_options(column_types: Mapping[str, pa.DataType] | None) -> Any:
    """pyarrow ``ConvertOptions``: the null spellings above, in text columns too, and
    ``column_types`` where given (the others inferred)."""
    import pyarrow.csv as pa_csv

    return pa_csv.ConvertOptions(
        column_types=dict(column_types or {}),
        null_values=list(CSV_NULL_VALUES),
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )


def type_from_name(name: str) -> pa.DataType:
    """The Arrow type a name of :data:`CSV_TYPE_ORDER` stands for.

    Raises:
        ValueError: the name is none of them.
    """
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
