"""``zuinig convert``: verified, atomic, streamed conversion that never touches the source.

The library is driven with a recorder on a throwaway SQLite ledger and a replay meter;
the CLI tests drive the click group in-process with the same meter injected.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import gzip
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

import zuinig.convert.write as write_module
import zuinig.formats.csv as csv_options
from zuinig.cli import AppState, cli
from zuinig.convert import (
    ColumnDigest,
    ConversionProgress,
    ConversionResult,
    convert_file,
    format_conversion,
    read_csv_as,
    target_path,
)
from zuinig.errors import ConversionError
from zuinig.ledger import Ledger
from zuinig.ledger.model import KIND_CONVERT, STATUS_ERROR, STATUS_OK, RunFilter
from zuinig.measure import Recorder
from zuinig.meter import ReplayMeter

# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def recorder(sqlite_url: str) -> Recorder:
    return Recorder(
        ledger_url=sqlite_url, meter=ReplayMeter(energy_kwh=2e-6, intensity_g_per_kwh=268.0)
    )


def sample_table(rows: int = 5) -> pa.Table:
    """Every common column type, with a null, NaN, -0.0, an empty string and unicode."""
    base = dt.datetime(2026, 11, 1, 8, 30, 15, 250_000)
    return pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "value": pa.array(
                [[0.1, float("nan"), -0.0, None, 1e300][i % 5] for i in range(rows)], pa.float64()
            ),
            "name": pa.array(
                [["Zwolle", "", None, "NA", 'Ĳssel,\n"quoted"'][i % 5] for i in range(rows)]
            ),
            "day": pa.array([dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(rows)]),
            "at": pa.array(
                [base + dt.timedelta(seconds=i) for i in range(rows)], pa.timestamp("us")
            ),
            "amount": pa.array(
                [decimal.Decimal("1234.56") * i if i % 3 else None for i in range(rows)],
                pa.decimal128(12, 2),
            ),
            "ok": pa.array([[True, False, None][i % 3] for i in range(rows)]),
        }
    )


def fingerprint(path: Path) -> tuple[str, int, int]:
    """The bytes, size and modification time of a file: a source must keep all three."""
    info = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), info.st_size, info.st_mtime_ns


def listing(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


def no_temp_files(directory: Path) -> bool:
    return not [name for name in listing(directory) if ".zuinig-" in name]


def runs(sqlite_url: str) -> list[Any]:
    with Ledger.open(sqlite_url) as ledger:
        return ledger.list_runs(RunFilter())


def values_equal(left: pa.Table, right: pa.Table) -> bool:
    """Equal values, NaN equal to NaN (Table.equals holds NaN unequal to itself)."""
    if left.schema.names != right.schema.names or left.num_rows != right.num_rows:
        return False
    for name in left.schema.names:
        a, b = left[name].to_pylist(), right[name].to_pylist()
        for x, y in zip(a, b, strict=True):
            both_nan = isinstance(x, float) and isinstance(y, float) and x != x and y != y
            if not both_nan and (x != y or repr(x) != repr(y)):
                return False
    return True


def write_parquet(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


def write_csv(table: pa.Table, path: Path) -> Path:
    pa_csv.write_csv(table, path)
    return path


# -- conversions that succeed -----------------------------------------------------------------


def test_parquet_to_csv_to_parquet_keeps_the_data(tmp_path: Path, recorder: Recorder) -> None:
    table = sample_table(25)
    source = write_parquet(table, tmp_path / "metingen.parquet")

    (tmp_path / "csv").mkdir()
    as_csv = convert_file(source, "csv", out=tmp_path / "csv" / "metingen.csv", recorder=recorder)
    back = convert_file(as_csv.target, "parquet", recorder=recorder)

    assert back.target == tmp_path / "csv" / "metingen.parquet"
    result = pq.read_table(back.target)
    # CSV keeps no types: the text is typed again on the way back (decimals become floats,
    # microsecond timestamps come back as pyarrow infers them); every value is the same.
    assert result["id"].to_pylist() == table["id"].to_pylist()
    assert result["name"].to_pylist() == table["name"].to_pylist()  # null, "" and "NA" apart
    assert result["day"].to_pylist() == table["day"].to_pylist()
    assert result["ok"].to_pylist() == table["ok"].to_pylist()
    assert result["at"].cast(pa.timestamp("us")).to_pylist() == table["at"].to_pylist()
    assert result["amount"].to_pylist() == [
        None if v is None else float(v) for v in table["amount"].to_pylist()
    ]
    assert values_equal(result.select(["value"]), table.select(["value"]))  # NaN and -0.0 too
    assert as_csv.rows == back.rows == 25
    assert as_csv.checksums["name"] == back.checksums["name"]


@pytest.mark.parametrize(
    ("to", "compression", "suffix", "format_name"),
    [
        ("parquet", None, ".parquet", "parquet-zstd"),
        ("parquet", "snappy", ".parquet", "parquet-snappy"),
        ("parquet", "none", ".parquet", "parquet-none"),
        ("arrow", None, ".arrow", "arrow-zstd"),
        ("arrow", "lz4", ".arrow", "arrow-lz4"),
        ("csv", None, ".csv", "csv"),
        ("csv", "gzip", ".csv.gz", "csv.gz"),
    ],
)
def test_every_target_reads_back_equal(
    tmp_path: Path,
    recorder: Recorder,
    to: str,
    compression: str | None,
    suffix: str,
    format_name: str,
) -> None:
    table = sample_table(40)
    (tmp_path / "in").mkdir()
    source = write_parquet(table, tmp_path / "in" / "data.parquet")

    result = convert_file(source, to, compression=compression, out=tmp_path, recorder=recorder)

    assert result.target == tmp_path / f"data{suffix}"
    assert result.target_format == format_name
    assert result.verified and result.rows == 40 and result.columns == 7
    assert set(result.checksums) == set(table.column_names)
    assert result.target_bytes == result.target.stat().st_size
    if to == "parquet":
        back = pq.read_table(result.target)
    elif to == "arrow":
        back = ipc.open_file(result.target).read_all()
    else:
        back = read_csv_as(result.target, table.schema)
    assert values_equal(back, table)
    if compression == "gzip":
        assert result.target.read_bytes()[:2] == b"\x1f\x8b"


def test_defaults_beside_the_source_with_the_stem_kept(tmp_path: Path) -> None:
    assert target_path(tmp_path / "a.b.csv.gz", "parquet") == tmp_path / "a.b.parquet"
    assert target_path(tmp_path / "x.tsv", "csv", compression="gzip") == tmp_path / "x.csv.gz"
    assert target_path(tmp_path / "x.parquet", "arrow", out=tmp_path) == tmp_path / "x.arrow"
    assert (
        target_path(tmp_path / "x.parquet", "csv", out=tmp_path / "y.csv.gz")
        == tmp_path / "y.csv.gz"
    )


def test_out_ending_in_gz_asks_for_gzip(tmp_path: Path, recorder: Recorder) -> None:
    source = write_parquet(sample_table(), tmp_path / "data.parquet")
    result = convert_file(source, "csv", out=tmp_path / "out.csv.gz", recorder=recorder)
    assert result.compression == "gzip"
    assert gzip.decompress(result.target.read_bytes()).startswith(b'"id","value"')


def test_compressed_and_tab_separated_csv_sources(tmp_path: Path, recorder: Recorder) -> None:
    text = "a\tb\n1\tx\n2\ty\n"
    (tmp_path / "t.tsv").write_text(text)
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(text.replace("\t", ",").encode()))

    for name in ("t.tsv", "c.csv.gz"):
        result = convert_file(tmp_path / name, "parquet", recorder=recorder)
        assert pq.read_table(result.target).to_pydict() == {"a": [1, 2], "b": ["x", "y"]}
    assert (tmp_path / "c.parquet").exists() and (tmp_path / "t.parquet").exists()


def test_arrow_file_and_stream_sources(tmp_path: Path, recorder: Recorder) -> None:
    table = sample_table(10)
    with ipc.new_file(tmp_path / "f.arrow", table.schema) as writer:
        writer.write_table(table)
    with ipc.new_stream(tmp_path / "s.arrows", table.schema) as writer:
        writer.write_table(table)

    for name in ("f.arrow", "s.arrows"):
        result = convert_file(tmp_path / name, "parquet", recorder=recorder)
        assert values_equal(pq.read_table(result.target), table)


def test_parquet_normalisation_is_safe_and_said(tmp_path: Path, recorder: Recorder) -> None:
    """Parquet has no seconds unit: timestamp[s] is stored as [ms], values unchanged."""
    table = pa.table({"at": pa.array([0, 86_400, None], pa.timestamp("s"))})
    with ipc.new_file(tmp_path / "s.arrow", table.schema) as writer:
        writer.write_table(table)

    result = convert_file(tmp_path / "s.arrow", "parquet", recorder=recorder)

    assert pq.read_schema(result.target).field("at").type == pa.timestamp("ms")
    assert pq.read_table(result.target)["at"].to_pylist() == table["at"].to_pylist()
    assert result.normalisations == (
        "column 'at': timestamp[s] written as timestamp[ms] "
        "(the nearest type Parquet stores; values unchanged)",
    )
    assert any("note: column 'at'" in line for line in format_conversion(result))


def test_csv_whose_first_block_misleads_is_scanned_and_typed_by_every_row(
    tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_options, "CSV_BLOCK_BYTES", 1 << 10)
    lines = ["n,late_text,late_float,empty_early"] + [f"{i},{i},{i}," for i in range(2000)]
    lines.append("2000,n/b,2.5,7")
    source = tmp_path / "misleading.csv"
    source.write_text("\n".join(lines) + "\n")

    result = convert_file(source, "parquet", recorder=recorder)

    back = pq.read_table(result.target)
    assert back.schema.types == [pa.int64(), pa.string(), pa.float64(), pa.int64()]
    assert back["late_text"].to_pylist()[-2:] == ["1999", "n/b"]
    assert back["late_float"].to_pylist()[-1] == 2.5
    assert back["empty_early"].null_count == 2000
    assert result.csv_type_scan and result.rows == 2001
    assert no_temp_files(tmp_path)


def test_scanned_type_the_csv_reader_refuses_falls_back_to_text(
    tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Arrow's cast reads ``tRuE`` as a boolean, its CSV reader does not: the column is text."""
    monkeypatch.setattr(csv_options, "CSV_BLOCK_BYTES", 1 << 10)
    rows = [f"{i},{'tRuE' if i == 0 else 'false'}" for i in range(2000)] + ["n/b,true"]
    source = tmp_path / "flags.csv"
    source.write_text("\n".join(["a,b", *rows]) + "\n")

    result = convert_file(source, "parquet", recorder=recorder)

    back = pq.read_table(result.target)
    assert back.schema.types == [pa.string(), pa.string()]
    assert back["b"].to_pylist()[:2] == ["tRuE", "false"]
    assert result.csv_type_scan


def test_streams_in_batches_and_bounded_row_groups(
    tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_options, "CSV_BLOCK_BYTES", 1 << 12)
    monkeypatch.setattr(write_module, "ROW_GROUP_BYTES", 1 << 14)
    monkeypatch.setattr(write_module, "_MIN_GROUP_ROWS", 100)
    source = tmp_path / "big.csv"
    source.write_text("a,b\n" + "".join(f"{i},{i * 0.5}\n" for i in range(20_000)))
    updates: list[ConversionProgress] = []

    result = convert_file(source, "parquet", recorder=recorder, progress=updates.append)

    assert pq.ParquetFile(result.target).metadata.num_row_groups > 1
    converting = [u for u in updates if u.phase == "converting"]
    verifying = [u for u in updates if u.phase == "verifying"]
    assert len(converting) > 10, "the source is read in many blocks, not at once"
    assert [u.done_bytes for u in converting] == sorted(u.done_bytes for u in converting)
    assert converting[-1].done_bytes == converting[-1].total_bytes == source.stat().st_size
    assert verifying and verifying[-1].done_bytes == verifying[-1].total_bytes


def test_force_replaces_and_refusal_names_the_flag(tmp_path: Path, recorder: Recorder) -> None:
    source = write_parquet(sample_table(), tmp_path / "data.parquet")
    target = tmp_path / "data.csv"
    target.write_text("old contents\n")
    before = fingerprint(target)

    with pytest.raises(ConversionError, match="already exists; use --force") as refused:
        convert_file(source, "csv", recorder=recorder)
    assert refused.value.bad_input
    assert fingerprint(target) == before

    result = convert_file(source, "csv", force=True, recorder=recorder)
    assert result.replaced
    assert target.read_text().startswith('"id","value"')
    assert "  replaced the existing file (--force)" in format_conversion(result)
    assert no_temp_files(tmp_path)


def test_refuses_to_write_over_the_source(tmp_path: Path, recorder: Recorder) -> None:
    source = write_parquet(sample_table(), tmp_path / "data.parquet")
    link = tmp_path / "same.parquet"
    os.link(source, link)
    before = fingerprint(source)

    for out in (None, source, link):
        with pytest.raises(ConversionError, match="is the source itself") as refused:
            convert_file(source, "parquet", out=out, force=True, recorder=recorder)
        assert refused.value.bad_input
    assert fingerprint(source) == before


def test_target_gets_the_permissions_of_a_new_file(tmp_path: Path, recorder: Recorder) -> None:
    source = write_parquet(sample_table(), tmp_path / "data.parquet")
    plain = tmp_path / "plain"
    plain.write_text("")
    result = convert_file(source, "arrow", recorder=recorder)
    assert stat.S_IMODE(result.target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


@pytest.mark.parametrize(
    ("to", "compression", "message"),
    [
        ("json", None, "cannot convert to 'json'; choose one of parquet, arrow, csv"),
        (
            "csv",
            "zstd",
            "csv files cannot be compressed with 'zstd'; choose --compression none, gzip",
        ),
        ("arrow", "snappy", "choose --compression zstd, lz4, none"),
    ],
)
def test_bad_targets_and_codecs_are_refused(
    tmp_path: Path, recorder: Recorder, to: str, compression: str | None, message: str
) -> None:
    source = write_parquet(sample_table(), tmp_path / "data.parquet")
    with pytest.raises(ConversionError, match=message) as refused:
        convert_file(source, to, compression=compression, recorder=recorder)
    assert refused.value.bad_input


def test_out_that_names_another_format_is_refused(tmp_path: Path, recorder: Recorder) -> None:
    source = write_parquet(sample_table(), tmp_path / "data.parquet")
    with pytest.raises(ConversionError, match="names a csv file but --to is parquet"):
        convert_file(source, "parquet", out=tmp_path / "x.csv", recorder=recorder)
    with pytest.raises(
        ConversionError, match=r"does not match the gzip compression; name it x\.csv\.gz"
    ):
        convert_file(source, "csv", compression="gzip", out=tmp_path / "x.csv", recorder=recorder)


def test_one_column_csv_with_nulls_says_readers_skip_them(
    tmp_path: Path, recorder: Recorder
) -> None:
    source = write_parquet(pa.table({"n": [1, None, 3]}), tmp_path / "data.parquet")
    result = convert_file(source, "csv", recorder=recorder)
    assert result.target.read_text() == '"n"\n1\n\n3\n'
    assert result.normalisations == (
        "a one-column CSV writes each of its 1 nulls as an empty line, which pyarrow and "
        "pandas skip when reading; zuinig read them back as nulls",
    )


def test_csv_target_refuses_what_text_cannot_hold(tmp_path: Path, recorder: Recorder) -> None:
    for column in (pa.array([b"\xff\x00"]), pa.array([[1, 2]])):
        source = write_parquet(pa.table({"c": column}), tmp_path / "data.parquet")
        with pytest.raises(ConversionError, match="choose --to parquet or arrow") as refused:
            convert_file(source, "csv", recorder=recorder)
        assert refused.value.bad_input
        assert not (tmp_path / "data.csv").exists() and no_temp_files(tmp_path)


# -- corrupt input: a clear error, the source untouched, nothing left behind ------------------


def _ragged_late(path: Path) -> None:
    path.write_text("a,b\n" + "".join(f"{i},x\n" for i in range(5000)) + "1,2,3\n")


def _truncated_gzip(path: Path) -> None:
    data = gzip.compress(("a,b\n" + "".join(f"{i},{i * 7}\n" for i in range(50_000))).encode())
    path.write_bytes(data[: len(data) // 2])


CORRUPT: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "ragged row": (
        "ragged.csv",
        lambda p: p.write_text("a,b\n1,2\n3,4,5\n"),
        r"has a row with 3 fields where the header has 2: '3,4,5'; fix or remove that row",
    ),
    "ragged row in a later block": (
        "ragged-late.csv",
        _ragged_late,
        r"has a row with 3 fields where the header has 2 \(after data row [\d,]+\): '1,2,3'",
    ),
    "short row": (
        "short.csv",
        lambda p: p.write_text("a,b,c\n1,2,3\n4,5\n"),
        r"has a row with 2 fields where the header has 3",
    ),
    "latin-1 text": (
        "latin1.csv",
        lambda p: p.write_bytes("plaats,n\nZaandam,1\nCuraçao,2\n".encode("latin-1")),
        r"is not UTF-8 text \(column 'plaats' holds other bytes\); re-encode it, for example: iconv",
    ),
    "latin-1 text in a later block": (
        "latin1-late.csv",
        lambda p: p.write_bytes(
            ("plaats,n\n" + "Zaandam,1\n" * 5000 + "Curaçao,2\n").encode("latin-1")
        ),
        r"is not UTF-8 text \(column 'plaats', after data row [\d,]+, holds other bytes\)",
    ),
    "latin-1 header": (
        "latin1-header.csv",
        lambda p: p.write_bytes("année,n\n2026,1\n".encode("latin-1")),
        r"is not UTF-8 text \(the header row holds other bytes\)",
    ),
    "truncated gzip": (
        "cut.csv.gz",
        _truncated_gzip,
        r"is not a complete gzip file \(.*\); it may be truncated: copy or download it again",
    ),
    "gzip in name only": (
        "plain.csv.gz",
        lambda p: p.write_text("a,b\n1,2\n"),
        r"is not a complete gzip file",
    ),
    "empty file": ("empty.csv", lambda p: p.write_bytes(b""), r"is empty \(0 bytes\)"),
    "empty gzip": (
        "empty.csv.gz",
        lambda p: p.write_bytes(gzip.compress(b"")),
        r"holds no CSV data, not even a header row",
    ),
    "truncated parquet": (
        "cut.parquet",
        lambda p: p.write_bytes(b"PAR1" + b"\x00" * 100),
        r"cannot read .*cut.parquet as Parquet: .*; the file may be damaged or truncated",
    ),
    "unknown format": (
        "notes.docx",
        lambda p: p.write_bytes(b"PK\x03\x04 not a table"),
        r"cannot read notes.docx: it is a zip file; zuinig reads CSV",
    ),
    "unknown extension": (
        "data.bin",
        lambda p: p.write_text("a,b\n1,2\n"),
        r"its format cannot be told from its name or content",
    ),
    "duplicate column names": (
        "dupes.csv",
        lambda p: p.write_text("a,b,a\n1,2,3\n"),
        r"has more than one column named 'a'; give every column its own name",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_input_gets_a_clear_error_and_leaves_nothing(
    tmp_path: Path, recorder: Recorder, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_options, "CSV_BLOCK_BYTES", 1 << 12)
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    out.mkdir()
    name, make, message = CORRUPT[case]
    source = data / name
    make(source)
    before, files = fingerprint(source), listing(data)

    for to in ("parquet", "arrow", "csv"):
        with pytest.raises(ConversionError, match=message) as failed:
            convert_file(source, to, out=out, recorder=recorder)
        assert failed.value.bad_input
        assert "\n" not in str(failed.value)

    assert fingerprint(source) == before
    assert listing(data) == files
    assert listing(out) == []


def test_missing_file_and_directory(tmp_path: Path, recorder: Recorder) -> None:
    with pytest.raises(ConversionError, match=r"nope.csv does not exist; check the path"):
        convert_file(tmp_path / "nope.csv", "parquet", recorder=recorder)
    with pytest.raises(ConversionError, match=r"is a directory; give the path of a CSV"):
        convert_file(tmp_path, "parquet", recorder=recorder)
    assert [name for name in listing(tmp_path) if not name.startswith("ledger")] == []


# -- verification catches what it should; failures leave nothing ------------------------------


@contextlib.contextmanager
def tampering_writer(change: Callable[[pa.RecordBatch], pa.RecordBatch]) -> Iterator[None]:
    """Make the writer write ``change(batch)`` while the checksums see the batch itself."""
    original = write_module.open_writer

    @contextlib.contextmanager
    def writer(*args: Any, **kwargs: Any) -> Iterator[Callable[[pa.RecordBatch], None]]:
        with original(*args, **kwargs) as write:
            yield lambda batch: write(change(batch))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(write_module, "open_writer", writer)
        yield


def _flip_first_id(batch: pa.RecordBatch) -> pa.RecordBatch:
    ids = batch.column(0).to_pylist()
    ids[0] = ids[0] + 1
    return batch.set_column(0, batch.schema.field(0), pa.array(ids, pa.int64()))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_flip_first_id, "column 'id' reads back with other values than were written"),
        (lambda b: b.slice(0, b.num_rows - 1), "rows read back where 40 were written"),
    ],
)
@pytest.mark.parametrize("to", ["parquet", "arrow", "csv"])
def test_a_write_that_differs_fails_verification_and_is_removed(
    tmp_path: Path,
    sqlite_url: str,
    recorder: Recorder,
    change: Callable[[pa.RecordBatch], pa.RecordBatch],
    message: str,
    to: str,
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    source = write_parquet(sample_table(40), tmp_path / "in" / "data.parquet")
    before = fingerprint(source)

    with tampering_writer(change), pytest.raises(ConversionError, match=message) as failed:
        convert_file(source, to, out=tmp_path / "out", recorder=recorder)

    assert not failed.value.bad_input  # a failure of ours, not the user's input: exit code 1
    assert fingerprint(source) == before
    assert listing(tmp_path / "in") == ["data.parquet"]
    assert listing(tmp_path / "out") == []
    (run,) = runs(sqlite_url)
    assert run.status == STATUS_ERROR and run.kind == KIND_CONVERT
    assert "verification failed" in (run.error_message or "")


def test_interrupt_while_writing_leaves_no_temporary_file(
    tmp_path: Path, recorder: Recorder
) -> None:
    source = write_parquet(sample_table(40), tmp_path / "data.parquet")

    def interrupt(update: ConversionProgress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert_file(source, "csv", recorder=recorder, progress=interrupt)
    assert not (tmp_path / "data.csv").exists() and no_temp_files(tmp_path)


def test_a_target_that_appears_meanwhile_is_not_replaced(
    tmp_path: Path, recorder: Recorder
) -> None:
    source = write_parquet(sample_table(40), tmp_path / "data.parquet")
    target = tmp_path / "data.arrow"

    def someone_else_writes(update: ConversionProgress) -> None:
        if update.phase == "verifying" and not target.exists():
            target.write_text("theirs")

    with pytest.raises(ConversionError, match="appeared while converting; use --force"):
        convert_file(source, "arrow", recorder=recorder, progress=someone_else_writes)
    assert target.read_text() == "theirs" and no_temp_files(tmp_path)


# -- the run in the ledger ----------------------------------------------------------------------


def test_conversion_is_recorded_as_a_run(
    tmp_path: Path, sqlite_url: str, recorder: Recorder
) -> None:
    source = write_parquet(sample_table(), tmp_path / "metingen.parquet")

    result = convert_file(source, "csv", compression="gzip", recorder=recorder)

    (run,) = runs(sqlite_url)
    assert run.run_id == result.run_id
    assert (run.kind, run.job, run.status) == (KIND_CONVERT, "convert:metingen.parquet", STATUS_OK)
    assert dict(run.tags) == {"from": "parquet", "to": "csv.gz"}
    assert result.energy_kwh == pytest.approx(2e-6) and result.co2_kg == pytest.approx(2e-6 * 0.268)


def test_failure_under_way_is_recorded_but_a_refused_request_is_not(
    tmp_path: Path, sqlite_url: str, recorder: Recorder
) -> None:
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(ConversionError):
        convert_file(tmp_path / "nope.csv", "parquet", recorder=recorder)
    assert runs(sqlite_url) == []

    with pytest.raises(ConversionError):
        convert_file(tmp_path / "ragged.csv", "parquet", recorder=recorder)
    (run,) = runs(sqlite_url)
    assert run.status == STATUS_ERROR and run.error_type == "zuinig.errors.ConversionError"


def test_result_to_dict_is_json_ready(tmp_path: Path, recorder: Recorder) -> None:
    import json

    source = write_parquet(sample_table(), tmp_path / "data.parquet")
    result = convert_file(source, "arrow", recorder=recorder)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["rows"] == 5 and data["target"] == str(result.target)
    assert isinstance(result, ConversionResult)


# -- checksums ------------------------------------------------------------------------------------


def digest(*chunks: pa.Array) -> str:
    column = ColumnDigest()
    for chunk in chunks:
        column.update(chunk)
    return column.hexdigest()


@pytest.mark.parametrize(
    "values",
    [
        pa.array([1, None, 3, 4, None], pa.int64()),
        pa.array([0.5, float("nan"), None, -0.0, 2.0]),
        pa.array(["a", None, "", "ü", "a,b"]),
        pa.array([True, None, False, True, True]),
        pa.array(
            [decimal.Decimal("1.5"), None, decimal.Decimal("-2.25"), None, decimal.Decimal(0)]
        ),
        pa.array([[1], None, [], [2, None], [3]]),
        pa.array([{"x": 1}, None, {"x": None}, {"x": 4}, {"x": 5}]),
        pa.array([b"\x00", None, b"", b"ab", b"c"], pa.large_binary()),
    ],
)
def test_digest_does_not_depend_on_chunking_or_encoding(values: pa.Array) -> None:
    whole = digest(values)
    assert digest(values.slice(0, 2), values.slice(2)) == whole
    assert digest(*(values.slice(i, 1) for i in range(len(values)))) == whole
    assert digest(pa.chunked_array([values.slice(0, 3), values.slice(3)])) == whole
    if pa.types.is_string(values.type):
        assert digest(values.dictionary_encode()) == whole
        assert digest(values.cast(pa.large_string())) == whole
        assert digest(values.cast(pa.string_view())) == whole


def test_digest_tells_values_apart() -> None:
    assert digest(pa.array([0.0])) != digest(pa.array([-0.0]))
    assert digest(pa.array([1, None])) != digest(pa.array([1, 0]))
    assert digest(pa.array(["ab", "c"])) != digest(pa.array(["a", "bc"]))
    assert digest(pa.array([[1, 2], [3]])) != digest(pa.array([[1], [2, 3]]))
    assert digest(pa.array([None, None], pa.null())) != digest(pa.array([None], pa.null()))


def test_digest_ignores_bytes_under_nulls_and_nan_payloads() -> None:
    import numpy as np

    payload = np.array([np.nan, 1.0]).view(np.uint64)
    payload[0] |= 1  # another NaN bit pattern
    other_nan = pa.array(payload.view(np.float64))
    assert digest(other_nan) == digest(pa.array([float("nan"), 1.0]))
    # The same validity bitmap over different values: nulls are nulls whatever lies under them.
    validity = pa.array([True, False]).buffers()[1]
    one = pa.Array.from_buffers(pa.int64(), 2, [validity, pa.array([7, 8]).buffers()[1]], 1)
    two = pa.Array.from_buffers(pa.int64(), 2, [validity, pa.array([7, 9]).buffers()[1]], 1)
    assert digest(one) == digest(two)


# -- the command line -------------------------------------------------------------------------------


def invoke(args: list[str], sqlite_url: str) -> Result:
    state = AppState(
        ledger=sqlite_url, meter=ReplayMeter(energy_kwh=2e-6, intensity_g_per_kwh=268.0)
    )
    return CliRunner().invoke(cli, args, obj=state)


def test_cli_converts_and_says_what_was_verified(tmp_path: Path, sqlite_url: str) -> None:
    source = write_parquet(sample_table(), tmp_path / "data.parquet")

    result = invoke(["convert", str(source), "--to", "csv", "--compression", "gzip"], sqlite_url)

    assert result.exit_code == 0, result.output
    assert f"-> {tmp_path / 'data.csv.gz'} (csv.gz" in result.stdout
    assert (
        "verified: 5 rows, schema of 7 columns, per-column XXH3-128 checksums equal"
        in result.stdout
    )
    assert result.stderr == ""


def test_cli_refuses_to_overwrite_without_force(tmp_path: Path, sqlite_url: str) -> None:
    source = write_parquet(sample_table(), tmp_path / "data.parquet")
    (tmp_path / "data.arrow").write_text("keep me")

    refused = invoke(["convert", str(source), "--to", "arrow"], sqlite_url)
    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines() == [
        f"zuinig: {tmp_path / 'data.arrow'} already exists; use --force to replace it"
    ]
    assert (tmp_path / "data.arrow").read_text() == "keep me"

    forced = invoke(["convert", str(source), "--to", "arrow", "--force"], sqlite_url)
    assert forced.exit_code == 0, forced.output
    assert ipc.open_file(tmp_path / "data.arrow").read_all().num_rows == 5


@pytest.mark.parametrize("case", ["ragged row", "latin-1 text", "truncated gzip", "empty file"])
def test_cli_corrupt_input_is_one_line_and_exit_2(
    tmp_path: Path, sqlite_url: str, case: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    name, make, _ = CORRUPT[case]
    make(data / name)
    before, files = fingerprint(data / name), listing(data)

    result = invoke(["convert", str(data / name), "--to", "parquet"], sqlite_url)

    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zuinig: ")
    assert "Traceback" not in result.output
    assert fingerprint(data / name) == before and listing(data) == files


def test_cli_missing_file_and_bad_codec(tmp_path: Path, sqlite_url: str) -> None:
    missing = invoke(["convert", str(tmp_path / "nope.csv"), "--to", "parquet"], sqlite_url)
    assert missing.exit_code == 2
    assert (
        missing.stderr.strip() == f"zuinig: {tmp_path / 'nope.csv'} does not exist; check the path"
    )

    (tmp_path / "a.csv").write_text("a\n1\n")
    codec = invoke(
        ["convert", str(tmp_path / "a.csv"), "--to", "csv", "--compression", "xz"], sqlite_url
    )
    assert codec.exit_code == 2
    assert "choose --compression none, gzip" in codec.stderr
    unknown = invoke(["convert", str(tmp_path / "a.csv"), "--to", "json"], sqlite_url)
    assert unknown.exit_code == 2 and len(unknown.stderr.strip().splitlines()) == 1


def test_the_summary_line_writes_energy_for_a_person_with_its_range() -> None:
    def result(**energy: Any) -> ConversionResult:
        return ConversionResult(
            source=Path("/data/in.csv"),
            target=Path("/data/in.parquet"),
            source_format="csv",
            target_format="parquet-zstd",
            compression="zstd",
            rows=6_001_215,
            columns=16,
            source_bytes=765_864_690,
            target_bytes=175_300_000,
            checksums={},
            duration_s=5.8,
            run_id="30cfaa9d0000",
            **energy,
        )

    estimated = format_conversion(
        result(
            energy_kwh=6.55e-6,
            energy_kwh_low=5.2e-6,
            energy_kwh_high=8.1e-6,
            co2_kg=2.45e-6,
            energy_is_estimated=True,
        )
    )
    measured = format_conversion(
        result(energy_kwh=2.5e-3, co2_kg=0.9e-3, energy_is_estimated=False)
    )
    unmeasured = format_conversion(result())

    assert estimated[2] == (
        "  took 5.8 s, 6.55 mWh (estimated, between 5.2 and 8.1 mWh), 2.45 mg CO₂e, run 30cfaa9d"
    )
    assert measured[2] == "  took 5.8 s, 2.5 Wh (measured), 900 mg CO₂e, run 30cfaa9d"
    assert unmeasured[2] == "  took 5.8 s, energy not measured, run 30cfaa9d"


def test_cli_json_is_one_object_with_the_checksums_and_the_energy_range(
    tmp_path: Path, sqlite_url: str
) -> None:
    source = write_parquet(sample_table(), tmp_path / "data.parquet")

    result = invoke(["convert", str(source), "--to", "arrow", "--json"], sqlite_url)

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # nothing else on stdout
    assert document["target"] == str(tmp_path / "data.arrow") and document["verified"] is True
    assert document["rows"] == 5 and set(document["checksums"]) == set(sample_table().schema.names)
    assert all(len(value) == 32 for value in document["checksums"].values())  # XXH3-128, hex
    assert document["energy_kwh"] == pytest.approx(2e-6)
    assert {"energy_kwh_low", "energy_kwh_high", "co2_kg_low", "co2_kg_high"} <= set(document)
