"""Property tests: generated tables survive ``convert`` to every format, verified and equal.

Tables hold nulls, unicode (quotes, commas, newlines, ``NA``), dates, decimals, floats with
NaN, infinities and -0.0, timestamps with and without a zone, booleans, all-null columns,
and zero rows. Each is written as Parquet, converted to Parquet, Arrow IPC, CSV and gzipped
CSV, and read back independently of zuinig's own verification:

* Parquet and Arrow read back with the source's schema and values (bit for bit, NaN = NaN).
* CSV holds no types; read back as documented in :mod:`zuinig.convert` (the written schema
  as explicit column types, ``""`` as the only null spelling, quoted empty strings kept),
  every value is the same. Its documented type normalisation: every column nullable.

A second property feeds CSV text through tiny blocks, so the first block often misleads
type inference and forces the whole-file type scan: the result must equal what pyarrow
infers reading the whole file at once.
"""

from __future__ import annotations

import datetime as dt
import decimal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import zuinig.convert.read as read_module
from zuinig.convert import convert_file
from zuinig.measure import Recorder
from zuinig.meter import ReplayMeter

# Moderate example counts keep the suite fast; deadline None because a conversion opens
# files and writes a ledger row, whose time varies with the machine.
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    # The autouse fixture that resets zuinig's process state per test is harmless to
    # share between examples; each example makes its own directory.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(',"\n\r\t ;\\')),
        st.characters(codec="utf-8", exclude_characters="\x00"),
    ),
    max_size=12,
) | st.sampled_from(["", "NA", "null", "NaN", "#N/A", "true", "1", "  padded  "])

_DECIMAL_TYPE = pa.decimal128(18, 4)


def _decimals() -> st.SearchStrategy[decimal.Decimal]:
    return st.decimals(
        min_value=decimal.Decimal("-99999999999999.9999"),
        max_value=decimal.Decimal("99999999999999.9999"),
        places=4,
        allow_nan=False,
        allow_infinity=False,
    )


# name -> (arrow type, value strategy, whether CSV can hold it)
COLUMN_KINDS: dict[str, tuple[pa.DataType, st.SearchStrategy[Any], bool]] = {
    "int64": (pa.int64(), st.integers(-(2**63), 2**63 - 1), True),
    "int8": (pa.int8(), st.integers(-128, 127), True),
    "uint32": (pa.uint32(), st.integers(0, 2**32 - 1), True),
    "float64": (pa.float64(), st.floats(allow_nan=True, allow_infinity=True), True),
    "float32": (pa.float32(), st.floats(width=32, allow_nan=True), True),
    "bool": (pa.bool_(), st.booleans(), True),
    "string": (pa.string(), _TEXT, True),
    "large_string": (pa.large_string(), _TEXT, True),
    "date32": (pa.date32(), st.dates(), True),
    "timestamp_us": (
        pa.timestamp("us"),
        st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
        True,
    ),
    "timestamp_ms_utc": (
        pa.timestamp("ms", tz="UTC"),
        st.datetimes(
            min_value=dt.datetime(1900, 1, 1),
            max_value=dt.datetime(2200, 1, 1),
            timezones=st.just(dt.UTC),
        ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
        True,
    ),
    "time64_us": (pa.time64("us"), st.times(), True),
    "decimal": (_DECIMAL_TYPE, _decimals(), True),
    "null": (pa.null(), st.none(), True),
    "binary": (pa.binary(), st.binary(max_size=8), False),
    "list_int": (pa.list_(pa.int64()), st.lists(st.none() | st.integers(-5, 5), max_size=3), False),
}


@st.composite
def tables(draw: Callable[..., Any], *, csv_only: bool = False, max_rows: int = 25) -> pa.Table:
    """A table of 1 to 6 columns and 0 to ``max_rows`` rows, about half its values null."""
    kinds = [name for name, (_, _, in_csv) in COLUMN_KINDS.items() if in_csv or not csv_only]
    chosen = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=6))
    rows = draw(st.integers(0, max_rows))
    columns = {}
    for index, kind in enumerate(chosen):
        data_type, values, _ = COLUMN_KINDS[kind]
        column = draw(
            st.lists(
                st.none() | values if kind != "null" else st.none(), min_size=rows, max_size=rows
            )
        )
        columns[f"{kind}_{index}"] = pa.array(column, type=data_type)
    return pa.table(columns)


def values_equal(left: pa.Table, right: pa.Table) -> bool:
    """Equal values, with NaN equal to NaN and -0.0 apart from 0.0 (by repr)."""
    if left.column_names != right.column_names or left.num_rows != right.num_rows:
        return False
    return all(
        repr(left[name].to_pylist()) == repr(right[name].to_pylist()) for name in left.column_names
    )


def read_csv_documented(path: Path, schema: pa.Schema) -> pa.Table:
    """A CSV target read back as the module docstring says, straight with pyarrow."""
    return pa_csv.read_csv(
        path,
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


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    return Recorder(
        ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        meter=ReplayMeter(energy_kwh=1e-7),
    )


@PROPERTY_SETTINGS
@given(table=tables())
def test_parquet_source_round_trips_through_every_format(
    recorder: Recorder, table: pa.Table
) -> None:
    csv_ok = all(COLUMN_KINDS[name.rsplit("_", 1)[0]][2] for name in table.column_names)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        source = directory / "source.parquet"
        pq.write_table(table, source)
        expected = pq.read_table(source)  # the source as any reader sees it

        parquet = convert_file(source, "parquet", out=directory / "t.parquet", recorder=recorder)
        back = pq.read_table(parquet.target)
        assert back.schema.equals(expected.schema, check_metadata=False)
        assert values_equal(back, expected)

        arrow = convert_file(source, "arrow", compression="lz4", recorder=recorder)
        back = ipc.open_file(arrow.target).read_all()
        assert back.schema.equals(expected.schema, check_metadata=False)
        assert values_equal(back, expected)
        assert arrow.checksums == parquet.checksums  # one canonical form, whatever the format

        event(f"csv target: {csv_ok}; rows: {'none' if not table.num_rows else 'some'}")
        if not csv_ok:
            return
        nullable = pa.schema([f.with_nullable(True) for f in expected.schema])
        for compression, suffix in ((None, ".csv"), ("gzip", ".csv.gz")):
            result = convert_file(source, "csv", compression=compression, recorder=recorder)
            assert result.target.name == f"source{suffix}"
            assert result.rows == table.num_rows and result.verified
            back = read_csv_documented(result.target, nullable)
            assert back.schema.equals(nullable)
            assert values_equal(back, expected)
            assert result.checksums == parquet.checksums


@PROPERTY_SETTINGS
@given(table=tables(csv_only=True, max_rows=80), block_bytes=st.sampled_from([1024, 4096]))
def test_csv_source_in_small_blocks_types_like_a_whole_file_read(
    recorder: Recorder, table: pa.Table, block_bytes: int
) -> None:
    with tempfile.TemporaryDirectory() as scratch, pytest.MonkeyPatch.context() as patch:
        patch.setattr(read_module, "CSV_BLOCK_BYTES", block_bytes)
        source = Path(scratch) / "source.csv"
        pa_csv.write_csv(table, source)
        whole = pa_csv.read_csv(
            source,
            read_options=pa_csv.ReadOptions(block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=read_module.source_convert_options(None),
        )

        result = convert_file(source, "parquet", recorder=recorder)

        event(f"whole-file type scan: {result.csv_type_scan}")
        back = pq.read_table(result.target)
        # Not always table.num_rows: pyarrow writes a null in a one-column table as an empty
        # line, and pyarrow's reader (like pandas') skips empty lines; zuinig reads as they do.
        assert result.rows == whole.num_rows
        assert back.schema.equals(_as_parquet_stores(whole.schema), check_metadata=False)
        assert values_equal(back, whole.cast(back.schema))


def _as_parquet_stores(schema: pa.Schema) -> pa.Schema:
    """Parquet's own normalisation (the documented one): no seconds unit."""
    fields = []
    for f in schema:
        data_type = f.type
        if pa.types.is_timestamp(data_type) and data_type.unit == "s":
            data_type = pa.timestamp("ms", tz=data_type.tz)
        elif pa.types.is_time32(data_type) and data_type.unit == "s":
            data_type = pa.time32("ms")
        fields.append(f.with_type(data_type))
    return pa.schema(fields)


# Cell spellings of a CSV written by hand: a column changes kind half-way, as real files
# do (an id column that later holds "n/b", a measure that is empty for the first months).
_CELLS: dict[str, st.SearchStrategy[str]] = {
    "empty": st.just(""),
    "int": st.integers(-(10**12), 10**12).map(str),
    "float": st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    "bool": st.sampled_from(["true", "false", "True", "FALSE", "1", "0"]),
    "date": st.dates(min_value=dt.date(1900, 1, 1)).map(dt.date.isoformat),
    "timestamp": st.datetimes(min_value=dt.datetime(1900, 1, 1)).map(
        lambda d: d.isoformat(sep=" ", timespec="seconds")
    ),
    "text": st.text(alphabet="abcé xyz-/", max_size=6),
}


@st.composite
def shifting_csv(draw: Callable[..., Any]) -> str:
    """CSV text whose columns change kind after a number of rows (header included)."""
    columns = draw(st.integers(1, 4))
    rows = draw(st.integers(1, 120))
    shift = draw(st.integers(0, rows))
    kinds = [
        (draw(st.sampled_from(sorted(_CELLS))), draw(st.sampled_from(sorted(_CELLS))))
        for _ in range(columns)
    ]
    lines = [",".join(f"c{i}" for i in range(columns))]
    for row in range(rows):
        cells = [draw(_CELLS[early if row < shift else late]) for early, late in kinds]
        if columns == 1 and not cells[0]:
            cells = ["0"]  # an empty line would be skipped, not read as a row
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


@PROPERTY_SETTINGS
@given(text=shifting_csv())
def test_csv_whose_columns_shift_type_reads_like_a_whole_file_read(
    recorder: Recorder, text: str
) -> None:
    with tempfile.TemporaryDirectory() as scratch, pytest.MonkeyPatch.context() as patch:
        patch.setattr(read_module, "CSV_BLOCK_BYTES", 256)
        source = Path(scratch) / "source.csv"
        source.write_text(text)
        whole = pa_csv.read_csv(
            source,
            read_options=pa_csv.ReadOptions(block_size=1 << 24),
            convert_options=read_module.source_convert_options(None),
        )

        result = convert_file(source, "parquet", recorder=recorder)

        event(f"whole-file type scan: {result.csv_type_scan}")
        back = pq.read_table(result.target)
        assert back.schema.equals(_as_parquet_stores(whole.schema), check_metadata=False)
        assert values_equal(back, whole.cast(back.schema))
