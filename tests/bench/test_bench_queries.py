"""Every engine, mode and format gives the reference answer to every query.

The reference is DuckDB on Parquet. The fast subset runs every query on Parquet and
every format on the first query, for every engine and mode; the full matrix (every
query on every format) is marked slow.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest
from bench_sizes import REFERENCE_FORMAT

from zuinig.bench.correctness import compare
from zuinig.bench.engines import Engine, get_engine
from zuinig.bench.formats import PreparedData, format_names
from zuinig.bench.queries import query_names

ENGINE_MODES = [
    ("pandas", "default"),
    ("pandas", "pyarrow"),
    ("polars", "eager"),
    ("polars", "lazy"),
    ("polars", "streaming"),
    ("duckdb", "default"),
]
_ENGINES: dict[tuple[str, str], Engine] = {}


def _engine(name: str, mode: str) -> Engine:
    if (name, mode) not in _ENGINES:
        engine = get_engine(name, mode)
        engine.import_engine()
        _ENGINES[name, mode] = engine
    return _ENGINES[name, mode]


def _cases(fast: bool) -> list[object]:
    cases: list[object] = []
    for workload in ("tpch", "groupby"):
        queries = query_names(workload)
        for name, mode in ENGINE_MODES:
            for fmt in format_names():
                for query in queries:
                    in_fast = fmt == REFERENCE_FORMAT or query == queries[0]
                    if in_fast == fast:
                        cases.append(
                            pytest.param(
                                workload,
                                query,
                                name,
                                mode,
                                fmt,
                                id=f"{workload}-{query}-{name}-{mode}-{fmt}",
                            )
                        )
    return cases


def _check(
    prepared: dict[str, dict[str, PreparedData]],
    reference_answer: Callable[[str, str], pa.Table],
    workload: str,
    query: str,
    name: str,
    mode: str,
    fmt: str,
) -> None:
    expected = reference_answer(workload, query)
    assert expected.num_rows > 0, "the reference answer is empty: the test data is too small"
    answer = _engine(name, mode).run(query, prepared[workload][fmt])
    verdict = compare(expected, answer, label=f"{workload} {query} {name}/{mode} {fmt}")
    assert verdict.ok, verdict.reason


@pytest.mark.parametrize(("workload", "query", "name", "mode", "fmt"), _cases(fast=True))
def test_answer_matches_the_reference(
    prepared: dict[str, dict[str, PreparedData]],
    reference_answer: Callable[[str, str], pa.Table],
    workload: str,
    query: str,
    name: str,
    mode: str,
    fmt: str,
) -> None:
    _check(prepared, reference_answer, workload, query, name, mode, fmt)


@pytest.mark.slow
@pytest.mark.parametrize(("workload", "query", "name", "mode", "fmt"), _cases(fast=False))
def test_answer_matches_the_reference_everywhere(
    prepared: dict[str, dict[str, PreparedData]],
    reference_answer: Callable[[str, str], pa.Table],
    workload: str,
    query: str,
    name: str,
    mode: str,
    fmt: str,
) -> None:
    _check(prepared, reference_answer, workload, query, name, mode, fmt)


def test_the_queries_give_the_tpch_answers_we_expect(
    reference_answer: Callable[[str, str], pa.Table],
) -> None:
    # Shapes fixed by the TPC-H queries themselves: four flag/status pairs, the 10 and 20
    # first rows, two ship modes, one sum.
    rows = {query: reference_answer("tpch", query).num_rows for query in query_names("tpch")}
    assert rows["q1"] == 4 and rows["q3"] == 10 and rows["q6"] == 1
    assert rows["q10"] == 20 and rows["q12"] == 2 and 0 < rows["q5"] <= 5
