"""The ``dask`` engine: the same answers as pandas, its threads, and the formats it cannot read."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import test_runner
from test_runner import FakeExecutor, MemoryStore

from zuinig.bench.correctness import compare
from zuinig.bench.engines import DaskEngine, Engine, get_engine
from zuinig.bench.formats import PreparedData, get_format
from zuinig.bench.queries import query_names
from zuinig.bench.runner import BenchOptions, BenchRunner, Matrix, resolve_matrix
from zuinig.bench.workloads import Workload
from zuinig.errors import BenchError, UsageError
from zuinig.measure import Recorder
from zuinig.meter import ReplayMeter

#: Every query on these; the other Parquet codecs on each workload's first query.
FORMATS = ("csv", "csv.gz", "parquet-zstd")
OTHER_PARQUET = ("parquet-snappy", "parquet-none")


@contextlib.contextmanager
def _thread_settings_kept() -> Iterator[None]:
    """dask's scheduler settings and Arrow's pools as they were, afterwards: set_threads
    changes them for the whole process."""
    import dask

    before = pa.cpu_count(), pa.io_thread_count()
    kept = {key: dask.config.get(key, None) for key in ("scheduler", "num_workers")}
    try:
        with dask.config.set(kept):
            yield
    finally:
        pa.set_cpu_count(before[0])
        pa.set_io_thread_count(before[1])


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, Engine]]:
    """dask and pandas, imported once; dask on two threads."""
    found = {name: get_engine(name) for name in ("dask", "pandas")}
    for engine in found.values():
        engine.import_engine()
    with _thread_settings_kept():
        found["dask"].set_threads(2)
        yield found


def _cases() -> list[object]:
    return [
        pytest.param(workload, query, fmt, id=f"{workload}-{query}-{fmt}")
        for workload in ("tpch", "groupby")
        for index, query in enumerate(query_names(workload))
        for fmt in (*FORMATS, *(OTHER_PARQUET if index == 0 else ()))
    ]


@pytest.mark.parametrize(("workload", "query", "fmt"), _cases())
def test_dask_gives_the_pandas_answer(
    engines: dict[str, Engine],
    prepared: dict[str, dict[str, PreparedData]],
    workload: str,
    query: str,
    fmt: str,
) -> None:
    data = prepared[workload][fmt]
    expected = engines["pandas"].run(query, data)
    assert expected.num_rows > 0, "the pandas answer is empty: the test data is too small"
    answer = engines["dask"].run(query, data)
    verdict = compare(expected, answer, label=f"{workload} {query} dask {fmt}")
    assert verdict.ok, verdict.reason


def test_dask_computes_its_answer_as_a_pandas_frame(
    engines: dict[str, Engine], prepared: dict[str, dict[str, PreparedData]]
) -> None:
    import pandas as pd

    result = engines["dask"].execute("q3", prepared["tpch"]["parquet-zstd"])
    assert type(result) is pd.DataFrame
    assert list(result.columns) == ["l_orderkey", "revenue", "o_orderdate", "o_shippriority"]
    with pytest.raises(BenchError, match="dask returned a str, not a DataFrame"):
        engines["dask"].to_arrow("q3")


def test_dask_reads_csv_and_parquet_but_not_arrow(
    engines: dict[str, Engine], prepared: dict[str, dict[str, PreparedData]]
) -> None:
    dask_engine = engines["dask"]
    readable = {name for name in prepared["tpch"] if dask_engine.reads(get_format(name))}
    assert readable == {"csv", "csv.gz", "parquet-snappy", "parquet-zstd", "parquet-none"}
    assert all(engines["pandas"].reads(get_format(name)) for name in prepared["tpch"])
    with pytest.raises(BenchError, match=r"dask cannot read arrow-lz4 \(Arrow IPC file"):
        dask_engine.execute("q6", prepared["tpch"]["arrow-lz4"])
    with pytest.raises(BenchError, match="unknown query 'q2' for workload 'tpch'"):
        dask_engine.execute("q2", prepared["tpch"]["parquet-zstd"])


def test_threads_are_the_threaded_schedulers_workers() -> None:
    import dask
    import dask.threaded
    from dask.base import get_scheduler

    engine = get_engine("dask")
    assert isinstance(engine, DaskEngine) and engine.threads_meaning
    assert engine.env_for_threads(3)["OMP_NUM_THREADS"] == "3"
    engine.import_engine()
    with _thread_settings_kept():
        engine.set_threads(1)
        assert dask.config.get("num_workers") == 1
        assert get_scheduler() is dask.threaded.get
        assert (pa.cpu_count(), pa.io_thread_count()) == (1, 1)
    with pytest.raises(BenchError, match="threads must be a whole number"):
        engine.set_threads(0)


def test_naming_dask_imports_no_dask() -> None:
    code = (
        "import sys; from zuinig.bench.engines import get_engine; "
        "e = get_engine('dask'); print(e.label, e.versions()['dask'] != 'not installed', "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'pandas', 'pyarrow')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "dask/default True []"


# -- in the matrix ----------------------------------------------------------------------------


def _matrix(workload: Workload, formats: tuple[str, ...]) -> Matrix:
    return Matrix(
        workload=workload,
        formats=formats,
        engines=(("pandas", "default"), ("dask", "default")),
        engine_paths={},
        threads=(2,),
        queries=("q1", "q6"),
    )


def test_the_matrix_leaves_out_arrow_for_dask_and_says_so(
    tmp_path: Path, tpch_small: Workload, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(test_runner.ENERGY, "dask", 3e-6)
    matrix = _matrix(tpch_small, ("csv", "arrow-lz4"))
    assert [(c.format, c.engine) for c in matrix.configurations()] == [
        ("csv", "pandas"),
        ("csv", "dask"),
        ("arrow-lz4", "pandas"),
    ]
    executor = FakeExecutor()
    runner = BenchRunner(
        BenchOptions(repeat=2, seed=3, prepared_dir=tmp_path / "prepared"),
        recorder=Recorder(
            ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
            meter=ReplayMeter(energy_kwh=2e-7),
        ),
        store=MemoryStore(),
        executor=executor,
    )
    report = runner.run(matrix).to_dict()

    ran = {
        (json.loads(s.data or "{}")["format"], s.engine)
        for s in executor.specs
        if s.kind == "queries"
    }
    assert ran == {("csv", "pandas"), ("csv", "dask"), ("arrow-lz4", "pandas")}
    assert {(r["format"], r["engine"]) for r in report["results"]} == ran
    assert (
        "dask/default cannot read arrow-lz4 (Arrow IPC file, LZ4 frame buffers); "
        "that combination is left out"
    ) in report["notes"]


def test_only_unreadable_formats_is_a_usage_error(bench_cache: Path) -> None:
    options = BenchOptions(
        scale=0.01, formats="arrow-lz4,arrow-zstd", engines="dask", cache_dir=bench_cache
    )
    with pytest.raises(UsageError, match="no engine given reads any format given: dask/default"):
        resolve_matrix(options)


@pytest.mark.slow
def test_zuinig_bench_runs_dask_with_correct_answers_and_energy(sqlite_url: str) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "zuinig", "--ledger", sqlite_url, "bench"),
            *("--workload", "tpch", "--scale", "0.01", "--formats", "csv,parquet-zstd,arrow-lz4"),
            *("--engines", "pandas,dask", "--repeat", "1", "--threads", "2", "--json"),
            *("--idle", "0"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    dask_rows = [row for row in report["results"] if row["engine"] == "dask"]
    assert {row["format"] for row in dask_rows} == {"csv", "parquet-zstd"}
    assert len(dask_rows) == 2 * len(query_names("tpch"))
    for row in dask_rows:
        assert row["status"] == "ok" and row["correct"] == "yes", row
        assert row["energy_kwh_median"] > 0 and row["ratio_vs_baseline"] > 0
    assert any("dask/default cannot read arrow-lz4" in note for note in report["notes"])
    assert any(item["engine"] == "dask" for item in report["imports"])


def test_without_dask_installed_the_import_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m == "dask" or m.startswith("dask.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "dask", None)  # None: "import dask" raises ImportError
    with pytest.raises(BenchError, match=r"pip install 'zuinig\[dask\]'"):
        get_engine("dask").import_engine()
