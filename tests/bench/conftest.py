"""Benchmark test set-up: tiny workloads generated once per session, in a session directory.

TPC-H is generated at scale 0.01 (about 60 000 lineitem rows) and group-by data at
10 000 rows, into a session temporary directory passed as ``cache_dir``, never the
real user cache. Every format is prepared once per session, and the reference answer
to each query (DuckDB on Parquet) is computed once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from bench_sizes import REFERENCE_ENGINE, REFERENCE_FORMAT, TEST_GROUPBY_ROWS, TEST_TPCH_SCALE

from zuinig.bench.engines import get_engine
from zuinig.bench.formats import PreparedData, prepare
from zuinig.bench.workloads import Workload, groupby, tpch


@pytest.fixture(scope="session")
def bench_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cache root for generated test data, shared by the session."""
    return tmp_path_factory.mktemp("bench-cache")


@pytest.fixture(scope="session")
def tpch_small(bench_cache: Path) -> Workload:
    return tpch(TEST_TPCH_SCALE, cache_dir=bench_cache)


@pytest.fixture(scope="session")
def groupby_small(bench_cache: Path) -> Workload:
    return groupby(TEST_GROUPBY_ROWS, cache_dir=bench_cache)


@pytest.fixture(scope="session")
def workloads(tpch_small: Workload, groupby_small: Workload) -> dict[str, Workload]:
    return {"tpch": tpch_small, "groupby": groupby_small}


@pytest.fixture(scope="session")
def prepared(
    workloads: dict[str, Workload], bench_cache: Path
) -> dict[str, dict[str, PreparedData]]:
    """Per workload name, every format prepared."""
    return {name: prepare(w, None, bench_cache / "prepared") for name, w in workloads.items()}


@pytest.fixture(scope="session")
def reference_answer(
    prepared: dict[str, dict[str, PreparedData]],
) -> Callable[[str, str], pa.Table]:
    """The answer of DuckDB on Parquet to a (workload, query), computed once each."""
    engine = get_engine(REFERENCE_ENGINE)
    engine.import_engine()
    answers: dict[tuple[str, str], pa.Table] = {}

    def answer(workload: str, query: str) -> pa.Table:
        if (workload, query) not in answers:
            answers[workload, query] = engine.run(query, prepared[workload][REFERENCE_FORMAT])
        return answers[workload, query]

    return answer
