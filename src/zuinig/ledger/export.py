"""Write runs to a file: CSV, Parquet or JSON, with the DESIGN names as columns.

The columns are the :class:`~zuinig.ledger.model.Run` field names in order
(:data:`~zuinig.ledger.model.RUN_FIELDS`), followed by the derived ``power_w`` (W)
and ``is_estimated``, exactly the keys of :meth:`Run.to_dict` and ``runs list
--json``, so one name means one thing in every format. ``tags``, ``inputs`` and
``engines`` are JSON text in CSV and Parquet and native values in JSON. Times are
ISO 8601 UTC text in CSV and JSON, and UTC timestamps in Parquet.

**Formula injection.** In CSV, a text cell that a spreadsheet would run as a formula
(one starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: a job named
``=HYPERLINK(...)``) gets a leading apostrophe, as in the report's CSV appendix
(:func:`zuinig.safe_text.defuse_formula`); strip one leading apostrophe from such a
cell to get the original back. Numbers are never prefixed. Parquet and JSON keep
text as it is: they are typed, and no spreadsheet runs their cells.

Every file is written to a temporary name beside the target and renamed into
place, so a reader never sees half a file and a failed export leaves any earlier
file untouched; a stream (``/dev/stdout``, a named pipe, ``/dev/null``) is written
into, never replaced (:mod:`zuinig.atomic` has the rules).
"""

from __future__ import annotations

import csv
import json
import os
import typing
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zuinig.atomic import atomic_path
from zuinig.extras import require_extra
from zuinig.ledger.model import DERIVED_FIELDS, RUN_FIELDS, Run
from zuinig.safe_text import defuse_formula

if TYPE_CHECKING:
    import pyarrow  # type: ignore[import-untyped, unused-ignore]

FORMATS = ("csv", "parquet", "json")
#: Column names of every export, in order.
EXPORT_COLUMNS: tuple[str, ...] = RUN_FIELDS + DERIVED_FIELDS
_NESTED = frozenset({"tags", "inputs", "engines"})


def export_runs(runs: Iterable[Run], path: str | os.PathLike[str], format: str) -> Path:
    """Write ``runs`` to ``path`` in ``format``, atomically.

    Args:
        runs: the runs, in the order they should appear.
        path: the file to write; its directory must exist. An existing file is replaced
            (keeping its permissions); a character device or FIFO is written into.
        format: ``csv``, ``parquet`` or ``json``.

    Returns:
        The path written.

    Raises:
        ValueError: ``format`` is not one of :data:`FORMATS`.
        MissingExtraError: ``parquet`` without PyArrow (the ``bench`` extra).
        TargetNotWritableError: ``path`` is a directory, block device or socket.
        OSError: the file cannot be written (the target is left as it was).
    """
    writers: dict[str, Callable[[list[dict[str, Any]], Path], None]] = {
        "csv": _write_csv,
        "parquet": _write_parquet,
        "json": _write_json,
    }
    if format not in writers:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}, got {format!r}")
    if format == "parquet":  # PyArrow is not in the core install
        require_extra(("bench",), "Parquet export", modules=("pyarrow",))
    target = Path(path)
    records = [run.to_dict() for run in runs]
    with atomic_path(target) as temporary:
        writers[format](records, temporary)
    return target


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its nested values as JSON text (for CSV and Parquet)."""
    flat = dict(record)
    for name in _NESTED:
        flat[name] = json.dumps(record[name], ensure_ascii=False, sort_keys=name != "inputs")
    return flat


def _write_csv(records: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=EXPORT_COLUMNS, extrasaction="raise")
        writer.writeheader()
        for record in records:
            # csv writes None as an empty cell; booleans as True/False (pandas reads both).
            cells = {
                name: defuse_formula(value) if isinstance(value, str) else value
                for name, value in _flat(record).items()
            }
            writer.writerow(cells)


def _write_json(records: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as stream:
        json.dump(records, stream, ensure_ascii=False, indent=2)
        stream.write("\n")


def arrow_schema() -> pyarrow.Schema:
    """The Parquet schema of an export, one field per :data:`EXPORT_COLUMNS` entry."""
    import pyarrow as pa

    hints = typing.get_type_hints(Run)
    hints.update(power_w=float | None, is_estimated=bool | None)
    fields = []
    for name in EXPORT_COLUMNS:
        hint = hints[name]
        kinds = set(typing.get_args(hint)) - {type(None)} or {hint}
        if name in _NESTED or kinds == {str}:
            arrow_type: pa.DataType = pa.string()
        elif kinds == {datetime}:
            arrow_type = pa.timestamp("us", tz="UTC")
        elif kinds == {bool}:
            arrow_type = pa.bool_()
        elif kinds == {int}:
            arrow_type = pa.int64()
        elif kinds == {float}:
            arrow_type = pa.float64()
        else:  # pragma: no cover - a new Run field of a new type must be mapped here
            raise TypeError(f"no Parquet type for run field {name}: {hint}")
        fields.append(pa.field(name, arrow_type, nullable=name != "run_id"))
    return pa.schema(fields)


def _write_parquet(records: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    schema = arrow_schema()
    times = {field.name for field in schema if pa.types.is_timestamp(field.type)}
    columns: dict[str, list[Any]] = {name: [] for name in EXPORT_COLUMNS}
    for record in records:
        flat = _flat(record)
        for name in EXPORT_COLUMNS:
            value = flat[name]
            if name in times and value is not None:
                value = datetime.fromisoformat(value)
            columns[name].append(value)
    table = pa.table(columns, schema=schema)
    pq.write_table(table, path, compression="zstd")
