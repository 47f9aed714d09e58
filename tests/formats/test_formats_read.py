"""Bench and convert read a user's file alike: one reader, identical Arrow tables.

The property test writes CSV text by hand (so quoting, null spellings, quoted line
breaks, a byte-order mark and Latin-1 bytes are all in play; comma- or tab-separated,
plain or gzip-compressed), then reads it the two
ways a user's file is read: ``zuinig bench``'s copy (:func:`user_workload`) and
``zuinig convert``'s Parquet output. Either both refuse the file in the same words, or
both give the same schema and, per column, the same values bit for bit (the XXH3-128 of
:class:`~zuinig.convert.ColumnDigest`, which also tells NaN, null and empty text apart).
"""

from __future__ import annotations

import gzip
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

import zuinig.formats.csv as csv_options
from zuinig.bench.workloads import UserDataError, user_workload
from zuinig.convert import ColumnDigest, convert_file
from zuinig.errors import ConversionError, DataFileError
from zuinig.formats import read_table
from zuinig.measure import Recorder
from zuinig.meter import ReplayMeter

# A quoted cell: anything, commas, quotes and line breaks included.
_QUOTED_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(',"\n\r\t ;')), st.characters(codec="utf-8", exclude_characters="\x00")
    ),
    max_size=10,
)
# An unquoted cell: no delimiter, quote or line break.
_PLAIN_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters='\x00,"\n\r'), max_size=8
)
# (text, quoted): what a cell holds and whether it is written in quotes.
_CELLS = st.one_of(
    st.just(("", False)),  # an empty field: null
    st.just(("", True)),  # "": the empty string
    st.sampled_from(["NA", "null", "N/A", "#N/A", "NaN", "nan", "-inf"]).map(lambda v: (v, False)),
    st.sampled_from(["NA", "null"]).map(lambda v: (v, True)),  # quoted: text, never null
    st.integers(-(10**12), 10**12).map(lambda v: (str(v), False)),
    st.floats(allow_nan=False, width=32).map(lambda v: (repr(v), False)),
    st.sampled_from(["true", "false", "2024-02-29", "23:59:59", "2024-02-29 12:00:00"]).map(
        lambda v: (v, False)
    ),
    _PLAIN_TEXT.map(lambda v: (v, False)),
    _QUOTED_TEXT.map(lambda v: (v, True)),
)
# How the file is encoded: UTF-8, UTF-8 with a byte-order mark, or Latin-1 (refused
# by both readers as soon as it holds a byte that is not ASCII).
_ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "latin-1"])


@st.composite
def csv_texts(draw: Callable[..., Any]) -> tuple[str, str, str]:
    """CSV text (header and 0 to 12 rows of 1 to 4 columns), the encoding to write it in
    and the file's name (``.csv``, ``.tsv`` or gzip-compressed ``.csv.gz``)."""
    name = draw(st.sampled_from(["data.csv", "data.tsv", "data.csv.gz"]))
    delimiter = "\t" if name.endswith(".tsv") else ","
    width = draw(st.integers(1, 4))
    header = [
        draw(st.sampled_from([f"c{index}", f"kolom_{index}", f"naïve_{index}"]))
        for index in range(width)
    ]
    rows = draw(st.lists(st.lists(_CELLS, min_size=width, max_size=width), max_size=12))
    if width == 1:
        # A one-column row with an empty unquoted field is an empty line, which CSV
        # readers skip: not a difference between the two readers, so leave it out.
        rows = [row for row in rows if row[0] != ("", False)]

    def field(text: str, quoted: bool) -> str:
        quoted = quoted or delimiter in text
        return '"' + text.replace('"', '""') + '"' if quoted else text

    lines = [delimiter.join(header)]
    lines += [delimiter.join(field(*cell) for cell in row) for row in rows]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines) + newline, draw(_ENCODINGS), name


def _digests(table: pa.Table) -> dict[str, str]:
    result = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        digest = ColumnDigest()
        for chunk in column.chunks:
            digest.update(chunk)
        result[name] = digest.hexdigest()
    return result


def _bench_reads(path: Path, cache: Path) -> pa.Table | str:
    try:
        workload = user_workload(path, cache_dir=cache)
    except UserDataError as error:
        return str(error)
    return pq.read_table(workload.tables["data"])


def _convert_reads(path: Path, out: Path, recorder: Recorder) -> pa.Table | str:
    try:
        result = convert_file(path, "parquet", out=out, recorder=recorder)
    except ConversionError as error:
        return str(error)
    return pq.read_table(result.target)


def _same_reading(benched: pa.Table | str, converted: pa.Table | str) -> None:
    if isinstance(benched, str) or isinstance(converted, str):
        assert benched == converted  # both refuse, in the same words
        return
    assert benched.schema.equals(converted.schema, check_metadata=False)
    assert benched.num_rows == converted.num_rows
    assert _digests(benched) == _digests(converted)


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    return Recorder(
        ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}", meter=ReplayMeter(energy_kwh=1e-7)
    )


@settings(
    max_examples=40,
    deadline=None,  # each example writes files and a ledger row
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(csv=csv_texts(), block_bytes=st.sampled_from([1 << 10, 4 << 20]))
def test_bench_and_convert_read_the_same_csv_as_the_same_table(
    recorder: Recorder, csv: tuple[str, str, str], block_bytes: int
) -> None:
    text, encoding, name = csv
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")  # Latin-1 cannot hold every character drawn
    if name.endswith(".gz"):
        data = gzip.compress(data)
    with tempfile.TemporaryDirectory() as scratch, pytest.MonkeyPatch.context() as patch:
        # A small block makes a later block contradict the first one's types: both
        # readers then scan the whole file and must still agree.
        patch.setattr(csv_options, "CSV_BLOCK_BYTES", block_bytes)
        folder = Path(scratch)
        source = folder / name
        source.write_bytes(data)
        (folder / "out").mkdir()
        benched = _bench_reads(source, folder / "cache")
        converted = _convert_reads(source, folder / "out", recorder)
    event("refused" if isinstance(converted, str) else "read")
    _same_reading(benched, converted)


def test_latin1_text_is_refused_by_both_in_the_same_words(
    tmp_path: Path, recorder: Recorder
) -> None:
    # Before zuinig.formats, the bench kept such a column as bytes while convert refused it.
    source = tmp_path / "plaatsen.csv"
    source.write_bytes("plaats,inwoners\nDen Haag,1\nSüdwest,2\n".encode("latin-1"))
    benched = _bench_reads(source, tmp_path / "cache")
    converted = _convert_reads(source, tmp_path, recorder)
    assert isinstance(benched, str) and "is not UTF-8 text" in benched
    assert "iconv -f latin1 -t utf-8" in benched
    _same_reading(benched, converted)
    with pytest.raises(DataFileError, match="is not UTF-8 text"):
        read_table(source)


def test_a_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    source = tmp_path / "bom.csv"
    source.write_bytes("\ufeffa,b\n1,x\n".encode())
    assert read_table(source).column_names == ["a", "b"]


def test_lz4_compressed_csv_is_read_by_bench_and_convert_as_the_plain_file(
    tmp_path: Path, recorder: Recorder
) -> None:
    table = pa.table({"k": ["a", None, "b\nc"], "v": [1.5, None, float("nan")]})
    plain = tmp_path / "plain.csv"
    pa_csv.write_csv(table, plain)
    packed = tmp_path / "packed.csv.lz4"
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "lz4") as stream:
        stream.write(plain.read_bytes())
    packed.write_bytes(sink.getvalue().to_pybytes())

    expected = read_table(plain)
    assert _digests(read_table(packed)) == _digests(expected)
    _same_reading(
        _bench_reads(packed, tmp_path / "cache"), _convert_reads(packed, tmp_path, recorder)
    )
    arrow = convert_file(packed, "arrow", out=tmp_path / "x.arrow", recorder=recorder)
    assert _digests(ipc.open_file(arrow.target).read_all()) == _digests(expected)


@pytest.mark.parametrize(
    ("name", "reason"),
    [("a.csv.xz", "xz compression cannot be read"), ("a.txt", "field delimiter cannot be told")],
)
def test_bench_and_convert_refuse_the_same_files_alike(
    tmp_path: Path, recorder: Recorder, name: str, reason: str
) -> None:
    source = tmp_path / name
    source.write_bytes(b"a,b\n1,2\n")
    benched = _bench_reads(source, tmp_path / "cache")
    assert isinstance(benched, str) and reason in benched
    _same_reading(benched, _convert_reads(source, tmp_path, recorder))


def test_reading_with_the_first_blocks_types_is_reading_with_inference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader gives pyarrow the types it inferred from the first block (faster); the
    values must be those the inferring reader gives, a later misfit must fail the same."""
    monkeypatch.setattr(csv_options, "CSV_BLOCK_BYTES", 64)  # many blocks in a small file
    rows = [
        f'{i},,{i % 2 == 0},2024-01-0{i % 9 + 1}T10:00:00Z,{i / 4},"t {i}\nx",NA' for i in range(40)
    ]
    path = tmp_path / "typed.csv"
    path.write_text("n,empty,flag,at,x,text,na\n" + "\n".join(rows) + "\n", encoding="utf-8")

    def inferring(source: Path) -> pa.Table:
        return pa_csv.open_csv(
            source,
            read_options=csv_options.read_options(),
            parse_options=csv_options.parse_options(","),
            convert_options=csv_options.convert_options(None),
        ).read_all()

    expected = inferring(path)
    assert expected.schema.field("empty").type == pa.null()
    assert read_table(path).equals(expected)

    # A value in a later block that the first block's type does not hold: the inferring
    # reader fails on it, so the reader must too (and rescan the whole file for types).
    path.write_text(path.read_text() + "x,,true,2024-01-01T10:00:00Z,1.0,t,NA\n")
    with pytest.raises(pa.ArrowInvalid, match="conversion error to int64"):
        inferring(path)
    rescanned = read_table(path)
    assert rescanned.schema.field("n").type == pa.string()
    assert rescanned.num_rows == 41
