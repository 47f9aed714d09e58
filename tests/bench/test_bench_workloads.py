"""Workloads: generated once, normalised alike for every engine, cached completely or not at all."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from bench_sizes import TEST_GROUPBY_ROWS, TEST_TPCH_SCALE

from zuinig.bench import sizing, workloads
from zuinig.bench._cache import MANIFEST_NAME
from zuinig.bench.queries import catalog
from zuinig.bench.sizing import DataTooLargeError
from zuinig.bench.workloads import (
    TPCH_LABEL,
    Workload,
    canonical_schema,
    get_workload,
    groupby,
    tpch,
    tpch_tables,
    user_workload,
)
from zuinig.errors import BenchError


def test_tpch_tables_are_the_ones_the_queries_read(tpch_small: Workload) -> None:
    needed = {
        table
        for name in catalog.query_names("tpch")
        for table in catalog.get_query("tpch", name).tables
    }
    assert set(tpch_small.tables) == needed == set(tpch_tables())
    assert "part" not in tpch_small.tables and "partsupp" not in tpch_small.tables
    assert tpch_small.queries == ("q1", "q3", "q5", "q6", "q10", "q12")
    assert tpch_small.label == TPCH_LABEL
    assert tpch_small.scale == TEST_TPCH_SCALE
    assert any("float64" in note for note in tpch_small.notes)
    assert any("tpchgen-cli" in note for note in tpch_small.notes)


def test_tpch_canonical_types_are_the_same_for_every_engine(tpch_small: Workload) -> None:
    for table, path in tpch_small.tables.items():
        schema = pq.read_schema(path)
        for field in schema:
            assert not pa.types.is_decimal(field.type), (table, field)
            assert not pa.types.is_string_view(field.type), (table, field)
            assert not pa.types.is_large_string(field.type), (table, field)
        assert pq.read_metadata(path).num_rows == tpch_small.table_rows[table] > 0
    lineitem = pq.read_schema(tpch_small.tables["lineitem"])
    assert lineitem.field("l_extendedprice").type == pa.float64()
    assert lineitem.field("l_shipdate").type == pa.date32()
    assert lineitem.field("l_returnflag").type == pa.string()


def test_tpch_decimals_become_the_nearest_double(tpch_small: Workload) -> None:
    # Arrow's own decimal cast gives 24386.670000000002 for 24386.67; ours must not.
    prices = pq.read_table(tpch_small.tables["lineitem"], columns=["l_extendedprice"])
    values = prices.column(0).to_numpy()
    assert np.array_equal(values, np.round(values, 2))
    assert all(len(repr(float(v)).split(".")[1]) <= 2 for v in values[:1000])


def test_decimal_conversion_is_exact_for_every_route() -> None:
    from decimal import Decimal

    texts = ["24386.67", "-0.07", "0.05", "99999999999.99", "0.00"]
    small = pa.array([Decimal(t) for t in texts] + [None], pa.decimal128(15, 2))
    wide = pa.array([Decimal(t) for t in texts] + [None], pa.decimal128(30, 2))
    expected = [float(t) for t in texts] + [None]
    for array in (small, wide, small.slice(1)):
        converted = workloads._decimal_to_float64(array)
        assert converted.type == pa.float64()
        assert converted.to_pylist() == expected[len(expected) - len(array) :]


def test_tpch_cache_is_reused_without_running_the_generator(
    tpch_small: Workload, bench_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_generator() -> Path:
        raise AssertionError("the cached data was generated again")

    monkeypatch.setattr(workloads, "find_tpchgen", no_generator)
    mtimes = {name: path.stat().st_mtime_ns for name, path in tpch_small.tables.items()}
    started = time.perf_counter()
    again = tpch(TEST_TPCH_SCALE, cache_dir=bench_cache)
    assert time.perf_counter() - started < 1.0
    assert again == tpch_small
    assert {name: path.stat().st_mtime_ns for name, path in again.tables.items()} == mtimes


def test_a_cache_missing_a_table_is_generated_again(
    tpch_small: Workload, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand-in generator: canonical tables are already normal, so copying them as the
    # generator's output gives the same data in no time.
    calls = []

    def copy_canonical(executable: Path, scale_text: str, tables: object, out: Path) -> str:
        calls.append(scale_text)
        shutil.copytree(tpch_small.tables["lineitem"].parent, out)
        return "stand-in generator"

    monkeypatch.setattr(workloads, "find_tpchgen", lambda: Path("tpchgen-cli"))
    monkeypatch.setattr(workloads, "_run_tpchgen", copy_canonical)
    first = tpch(TEST_TPCH_SCALE, cache_dir=tmp_path)
    manifest_path = first.tables["lineitem"].parent / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    del manifest["table_rows"]["region"]  # as if written when no query read region
    manifest_path.write_text(json.dumps(manifest))
    again = tpch(TEST_TPCH_SCALE, cache_dir=tmp_path)
    assert calls == ["0.01", "0.01"]
    assert again.table_rows == first.table_rows
    assert "region" in json.loads(manifest_path.read_text())["table_rows"]


def test_an_interrupted_generation_leaves_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(executable: Path, scale_text: str, tables: object, out: Path) -> str:
        out.mkdir()
        (out / "lineitem.parquet").write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(workloads, "_run_tpchgen", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tpch(0.5, cache_dir=tmp_path)
    parent = tmp_path / "tpch"
    assert list(parent.iterdir()) == []


def test_an_abandoned_temporary_directory_is_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A killed run leaves its temporary directory; its process is gone, so the next run
    # removes it. The pid below is above Linux's pid_max default, so no process has it.
    leftover = tmp_path / "groupby" / ".groupby-n100-k100-seed108.tmp-99999999-abc"
    leftover.mkdir(parents=True)
    groupby(100, cache_dir=tmp_path)
    assert not leftover.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in for the tool")
def test_a_failing_generator_is_reported_with_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "tpchgen-cli"
    fake.write_text("#!/bin/sh\necho 'disk full, says the fake' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(workloads, "find_tpchgen", lambda: fake)
    with pytest.raises(BenchError, match="disk full, says the fake"):
        tpch(0.5, cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache" / "tpch").iterdir()) == []


def test_a_missing_generator_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BenchError, match="pip install tpchgen-cli"):
        workloads.find_tpchgen()


@pytest.mark.parametrize("scale", [0, -1.0, float("nan"), float("inf"), 1e9])
def test_the_scale_must_be_positive_and_within_tpch(scale: float, tmp_path: Path) -> None:
    with pytest.raises(DataTooLargeError, match="above 0 and at most 100000") as caught:
        tpch(scale, cache_dir=tmp_path)
    assert caught.value.bad_input
    assert not any(tmp_path.iterdir())


def test_groupby_need_bounds_what_generation_writes(groupby_small: Workload) -> None:
    need = workloads.groupby_need(TEST_GROUPBY_ROWS)
    # An upper bound for the compressed canonical file, yet not absurdly above it.
    written = groupby_small.tables["x"].stat().st_size
    assert written <= need.disk_bytes <= 20 * written
    # id3 is 12 characters: 6 integer and one float column at 8 bytes, three text columns
    # with their 4-byte offsets.
    assert need.disk_bytes == TEST_GROUPBY_ROWS * (6 * 8 + (4 + 5) * 2 + (4 + 12))


def test_too_much_group_by_data_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(DataTooLargeError, match="1,000,000,000,000 rows needs"):
        groupby(10**12, cache_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_the_memory_limit_covers_generation(tmp_path: Path) -> None:
    need = workloads.groupby_need(10_000_000)
    with pytest.raises(DataTooLargeError, match="over the memory limit of") as caught:
        groupby(10_000_000, cache_dir=tmp_path, memory_limit_bytes=need.memory_bytes - 1)
    assert "--memory-limit" in str(caught.value)
    assert not any(tmp_path.iterdir())
    with pytest.raises(DataTooLargeError, match="over the memory limit"):
        get_workload("tpch", scale=1, cache_dir=tmp_path, memory_limit_bytes=1_000_000)


def test_data_larger_than_the_free_disk_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need = sizing.Need("some data", memory_bytes=1, disk_bytes=10**6, advice="give less")
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sizing.shutil, "disk_usage", lambda path: usage._replace(free=10**5))
    with pytest.raises(DataTooLargeError, match=r"up to 1\.0 MB of disk, but .* has 100\.0 KB"):
        sizing.check_fits(need, tmp_path / "not" / "yet")
    sizing.check_fits(sizing.Need("some data", 1, 10**4, "give less"), tmp_path / "not" / "yet")


def test_bytes_per_row_come_from_the_schema() -> None:
    schema = pa.schema(
        [
            pa.field("a", pa.int32(), nullable=False),
            pa.field("b", pa.string(), nullable=False),
            pa.field("c", pa.float64()),
            pa.field("d", pa.bool_(), nullable=False),
        ]
    )
    assert sizing.arrow_bytes_per_row(schema, {"b": 10}) == 4 + (4 + 10) + (8 + 1) + 1
    with pytest.raises(ValueError, match="no size known for column b"):
        sizing.arrow_bytes_per_row(schema, {})


def test_groupby_data_has_h2oai_columns_and_ranges(groupby_small: Workload) -> None:
    table = pq.read_table(groupby_small.tables["x"])
    assert table.column_names == ["id1", "id2", "id3", "id4", "id5", "id6", "v1", "v2", "v3"]
    assert table.num_rows == groupby_small.rows == TEST_GROUPBY_ROWS
    groups = workloads.DEFAULT_GROUPBY_GROUPS
    small_groups = TEST_GROUPBY_ROWS // groups
    assert set(table.column("id1").to_pylist()) <= {f"id{i:03d}" for i in range(1, groups + 1)}
    assert len(set(table.column("id1").to_pylist())) == groups
    assert pc.min(table.column("id3")).as_py() >= "id0000000001"
    for name, high in [
        ("id4", groups),
        ("id5", groups),
        ("id6", small_groups),
        ("v1", 5),
        ("v2", 15),
    ]:
        assert pc.min(table.column(name)).as_py() == 1
        assert pc.max(table.column(name)).as_py() == high
    v3 = table.column("v3").to_numpy()
    assert v3.min() >= 0 and v3.max() <= 100
    assert np.array_equal(v3, np.round(v3, 6))
    assert groupby_small.queries == ("q1", "q2", "q3", "q4", "q5", "q6", "q7")


def test_groupby_data_is_deterministic(tmp_path: Path, groupby_small: Workload) -> None:
    again = groupby(TEST_GROUPBY_ROWS, cache_dir=tmp_path)
    assert pq.read_table(again.tables["x"]).equals(pq.read_table(groupby_small.tables["x"]))
    other = groupby(TEST_GROUPBY_ROWS, seed=1, cache_dir=tmp_path)
    assert not pq.read_table(other.tables["x"]).equals(pq.read_table(again.tables["x"]))
    assert other.key != again.key and other.fingerprint != again.fingerprint


def test_groupby_rows_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="rows >= 1"):
        groupby(0, cache_dir=tmp_path)


def _sample_table() -> pa.Table:
    from decimal import Decimal

    return pa.table(
        {
            "name": pa.array(["a", "b", None], pa.string_view()),
            "amount": pa.array([Decimal("1.10"), Decimal("2.25"), None], pa.decimal128(10, 2)),
            "day": pa.array([0, 1, 2], pa.date32()),
            "kind": pa.array(["x", "y", "x"]).dictionary_encode(),
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet", ".arrow"])
def test_user_files_become_a_canonical_table(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / f"my data{suffix}"
    table = _sample_table()
    if suffix == ".parquet":
        pq.write_table(table, source)
    elif suffix == ".arrow":
        with pa.ipc.new_file(str(source), table.schema) as writer:
            writer.write_table(table)
    else:
        plain = table.cast(canonical_schema(table.schema))
        stream = pa.CompressedOutputStream(str(source), "gzip") if suffix.endswith(".gz") else None
        with stream or pa.OSFile(str(source), "wb") as sink:
            pa_csv.write_csv(plain, sink)
    workload = user_workload(source, cache_dir=tmp_path / "cache")
    assert workload.name == "user" and workload.queries == ()
    assert workload.key.startswith("user-my_data-")
    canonical = pq.read_table(workload.tables["data"])
    assert canonical.num_rows == 3
    assert canonical.column("amount").to_pylist() == [1.1, 2.25, None]
    assert canonical.schema.field("amount").type == pa.float64()
    assert canonical.schema.field("name").type == pa.string()
    assert canonical.schema.field("kind").type == pa.string()


def test_an_edited_user_file_is_read_again(tmp_path: Path) -> None:
    source = tmp_path / "data.csv"
    source.write_text("a,b\n1,2\n")
    first = user_workload(source, cache_dir=tmp_path / "cache")
    source.write_text("a,b\n1,2\n3,4\n")
    os.utime(source, ns=(time.time_ns(), time.time_ns() + 10**9))
    second = user_workload(source, cache_dir=tmp_path / "cache")
    assert first.key != second.key
    assert (first.rows, second.rows) == (1, 2)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("notes.docx", "cannot read notes.docx: its format cannot be told"),
        ("data.parquet.gz", "only CSV files may be compressed"),
    ],
)
def test_user_files_of_unknown_kinds_are_refused(tmp_path: Path, name: str, message: str) -> None:
    source = tmp_path / name
    source.write_bytes(b"something")
    with pytest.raises(BenchError, match=message):
        user_workload(source, cache_dir=tmp_path / "cache")


def test_a_missing_or_unreadable_user_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="is not a file"):
        user_workload(tmp_path / "absent.csv", cache_dir=tmp_path)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(BenchError, match=r"cannot read .*broken.parquet as Parquet") as caught:
        user_workload(broken, cache_dir=tmp_path / "cache")
    assert caught.value.bad_input
    assert list((tmp_path / "cache" / "user").iterdir()) == []


def test_get_workload_checks_names_and_options(tmp_path: Path) -> None:
    with pytest.raises(
        BenchError, match="unknown workload 'tpcds'; known workloads: tpch, groupby, user"
    ):
        get_workload("tpcds")
    with pytest.raises(BenchError, match="takes no --rows"):
        get_workload("tpch", rows=10)
    with pytest.raises(BenchError, match="needs a data file"):
        get_workload("user")
    assert get_workload("groupby", rows=100, cache_dir=tmp_path).rows == 100


@pytest.mark.parametrize("small_blocks", [False, True])
def test_the_bench_reads_a_user_csv_exactly_as_zuinig_convert(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, small_blocks: bool
) -> None:
    from zuinig import convert as convert_module
    from zuinig.formats import csv as csv_options
    from zuinig.measure import Recorder
    from zuinig.meter import ReplayMeter

    lines = ["k,v", "a,1", ",2", "a,", "b,4"]
    if small_blocks:
        # A first block that misleads type inference: both readers scan and agree.
        monkeypatch.setattr(csv_options, "CSV_BLOCK_BYTES", 1 << 10)
        lines += [f"c{i},{i}" for i in range(2000)] + ["d,2.5", "NA,n/b"]
    source = tmp_path / "kv.csv"
    source.write_text("\n".join(lines) + "\n")
    recorder = Recorder(ledger_url=sqlite_url, meter=ReplayMeter(energy_kwh=1e-6))

    converted = convert_module.convert_file(source, "parquet", out=tmp_path, recorder=recorder)
    benched = user_workload(source, cache_dir=tmp_path / "cache")

    ours = pq.read_table(benched.tables["data"])
    theirs = pq.read_table(converted.target)
    assert ours.column_names == theirs.column_names == ["k", "v"]
    for name in ours.column_names:
        assert ours[name].to_pylist() == theirs[name].to_pylist(), name
    # An empty field is a missing value, in the text column too; never ''.
    assert ours["k"].to_pylist()[1] is None and "" not in ours["k"].to_pylist()
    assert ours["v"].to_pylist()[2] is None
