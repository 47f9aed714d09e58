"""The engine registry and what each engine does with threads, imports and unknown queries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pyarrow as pa
import pytest
from bench_helpers import WrongEngine

from zuinig.bench.engines import (
    DuckDBEngine,
    Engine,
    engine_modes,
    engine_names,
    get_engine,
    load_engine,
    parse_engines,
    register_engine,
    unregister_engine,
)
from zuinig.bench.formats import PreparedData
from zuinig.errors import BenchError

BUILT_IN = [
    ("pandas", "default"),
    ("pandas", "pyarrow"),
    ("polars", "eager"),
    ("polars", "lazy"),
    ("polars", "streaming"),
    ("duckdb", "default"),
]


@pytest.fixture
def wrong_engine() -> Iterator[type[Engine]]:
    register_engine(WrongEngine)
    yield WrongEngine
    unregister_engine(WrongEngine.name)


def test_the_built_in_engines_and_modes() -> None:
    assert engine_names()[:3] == ("pandas", "polars", "duckdb")
    assert engine_modes(["pandas", "polars", "duckdb"]) == BUILT_IN
    engine = get_engine("polars", "lazy")
    assert (engine.name, engine.mode, engine.label) == ("polars", "lazy", "polars/lazy")
    assert get_engine("polars:streaming").mode == "streaming"
    assert get_engine("duckdb/default").mode == "default"
    assert get_engine("pandas").mode == "default"
    for name, _ in BUILT_IN:
        assert get_engine(name).threads_meaning


def test_unknown_engines_and_modes_are_one_clear_line() -> None:
    with pytest.raises(BenchError) as caught:
        get_engine("spark")
    assert str(caught.value) == (
        "unknown engine 'spark'; known engines: pandas (default/pyarrow), "
        "polars (eager/lazy/streaming), duckdb (default), dask (default)"
    )
    with pytest.raises(
        BenchError, match="engine polars has no mode 'fast'; its modes: eager, lazy, streaming"
    ):
        get_engine("polars", "fast")
    with pytest.raises(BenchError, match="two modes given"):
        get_engine("polars:lazy", "eager")


def test_parse_engines_expands_names_to_their_modes() -> None:
    assert parse_engines("pandas, polars:lazy,duckdb") == [
        ("pandas", "default"),
        ("pandas", "pyarrow"),
        ("polars", "lazy"),
        ("duckdb", "default"),
    ]
    assert parse_engines(None)[: len(BUILT_IN)] == BUILT_IN
    assert parse_engines("duckdb,duckdb:default") == [("duckdb", "default")]
    with pytest.raises(BenchError, match="unknown engine 'polar'"):
        parse_engines("polar")


def test_tests_can_register_an_engine(wrong_engine: type[Engine]) -> None:
    assert "wrong" in engine_names()
    assert isinstance(get_engine("wrong"), WrongEngine)
    with pytest.raises(BenchError, match="already registered"):
        register_engine(type("Other", (DuckDBEngine,), {"name": "wrong"}))
    unregister_engine("wrong")
    with pytest.raises(BenchError, match="unknown engine 'wrong'"):
        get_engine("wrong")
    assert load_engine("bench_helpers:WrongEngine") is WrongEngine


def test_load_engine_refuses_what_is_not_an_engine() -> None:
    with pytest.raises(BenchError, match=r"looks like package\.module:ClassName"):
        load_engine("bench_helpers.WrongEngine")
    with pytest.raises(BenchError, match="cannot load engine"):
        load_engine("no_such_module_here:Engine")
    with pytest.raises(BenchError, match="is not an Engine subclass"):
        load_engine("zuinig.errors:BenchError")


def test_naming_engines_imports_no_engine_library() -> None:
    code = (
        "import sys; from zuinig.bench.engines import get_engine, engine_modes; "
        "from zuinig.bench.formats import parse_formats; "
        "[get_engine(n, m) for n, m in engine_modes()]; parse_formats(None); "
        "print(sorted(m for m in ('pandas', 'polars', 'duckdb', 'pyarrow') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("threads", [0, -2, 1.5, True])
def test_threads_must_be_a_positive_whole_number(threads: object) -> None:
    for name, mode in BUILT_IN:
        with pytest.raises(BenchError, match="threads must be a whole number"):
            get_engine(name, mode).env_for_threads(threads)  # type: ignore[arg-type]


def test_env_for_threads_names_each_library_pool() -> None:
    assert get_engine("polars").env_for_threads(2)["POLARS_MAX_THREADS"] == "2"
    for name, mode in BUILT_IN:
        env = get_engine(name, mode).env_for_threads(3)
        assert env["OMP_NUM_THREADS"] == "3" and env["ARROW_IO_THREADS"] == "3"


def test_polars_threads_are_set_before_import_in_a_fresh_process() -> None:
    engine = get_engine("polars", "lazy")
    code = (
        "import json; from zuinig.bench.engines import get_engine; "
        "e = get_engine('polars', 'lazy'); e.import_engine(); e.set_threads(1); "
        "import polars, pyarrow; print(json.dumps([polars.thread_pool_size()]))"
    )
    env = {**os.environ, **engine.env_for_threads(1)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(done.stdout) == [1]


def test_polars_refuses_a_thread_count_it_cannot_have() -> None:
    import polars as pl

    engine = get_engine("polars")
    engine.import_engine()
    engine.set_threads(pl.thread_pool_size())
    with pytest.raises(BenchError, match="fixes its pool on import"):
        engine.set_threads(pl.thread_pool_size() + 1)


def test_duckdb_and_pandas_set_their_threads() -> None:
    duckdb_engine = get_engine("duckdb")
    duckdb_engine.import_engine()
    before = pa.cpu_count(), pa.io_thread_count()
    try:
        duckdb_engine.set_threads(1)
        assert isinstance(duckdb_engine, DuckDBEngine)
        setting = duckdb_engine._connect().execute("select current_setting('threads')").fetchone()
        assert setting == (1,)
        pandas_engine = get_engine("pandas", "pyarrow")
        pandas_engine.import_engine()
        pandas_engine.set_threads(2)
        assert (pa.cpu_count(), pa.io_thread_count()) == (2, 2)
    finally:
        pa.set_cpu_count(before[0])
        pa.set_io_thread_count(before[1])


def test_an_unknown_query_is_a_clear_error(prepared: dict[str, dict[str, PreparedData]]) -> None:
    for name, mode in BUILT_IN:
        engine = get_engine(name, mode)
        engine.import_engine()
        with pytest.raises(
            BenchError, match="unknown query 'q2' for workload 'tpch'; known queries: q1, q3"
        ):
            engine.execute("q2", prepared["tpch"]["parquet-zstd"])


def test_engines_report_their_versions() -> None:
    versions = get_engine("pandas").versions()
    assert set(versions) == {"pandas", "numpy", "pyarrow"}
    assert all(v and v != "not installed" for v in versions.values())
