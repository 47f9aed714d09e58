"""The correctness guard: answers agree within tolerance, and a wrong engine is caught."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
from bench_helpers import ShortEngine, WrongEngine

from zuinig.bench.correctness import compare, find_consensus
from zuinig.bench.engines import get_engine, register_engine, unregister_engine
from zuinig.bench.formats import PreparedData
from zuinig.errors import BenchError


def _q1() -> pa.Table:
    return pa.table(
        {
            "l_returnflag": ["A", "N", "N", "R"],
            "l_linestatus": ["F", "F", "O", "F"],
            "sum_charge": [1.0e6, 2.5e4, 1.23, 3.0],
            "count_order": pa.array([10, 20, 30, 40], pa.int64()),
        }
    )


def test_identical_answers_agree() -> None:
    verdict = compare(_q1(), _q1(), label="q1")
    assert verdict.ok and verdict.reason == "" and bool(verdict)


def test_row_and_column_order_do_not_matter() -> None:
    shuffled = (
        _q1()
        .take([3, 1, 0, 2])
        .select(["count_order", "sum_charge", "l_linestatus", "l_returnflag"])
    )
    assert compare(_q1(), shuffled).ok


def test_a_missing_row_is_named() -> None:
    verdict = compare(_q1(), _q1().slice(0, 3), label="q3")
    assert not verdict.ok
    assert verdict.reason == "q3: 3 rows, the reference has 4"


def test_missing_and_extra_columns_are_named() -> None:
    result = _q1().drop_columns(["count_order"]).append_column("count", pa.array([1, 2, 3, 4]))
    assert compare(_q1(), result, label="q1").reason == (
        "q1: columns differ: missing count_order; unexpected count"
    )


def test_a_differing_value_is_located() -> None:
    result = _q1().set_column(2, "sum_charge", pa.array([1.0e6, 2.5e4, 1.25, 3.0]))
    verdict = compare(_q1(), result, label="q1")
    assert verdict.reason == (
        "q1: column sum_charge differs in 1 of 4 rows; first at row 2 "
        "(l_returnflag='N', l_linestatus='O', count_order=30): 1.25, expected 1.23"
    )


def test_floating_point_noise_is_within_tolerance_but_real_errors_are_not() -> None:
    noisy = _q1().set_column(2, "sum_charge", pa.array([1.0e6 * (1 + 1e-12), 2.5e4, 1.23, 3.0]))
    assert compare(_q1(), noisy).ok
    off = _q1().set_column(2, "sum_charge", pa.array([1.0e6 * (1 + 1e-5), 2.5e4, 1.23, 3.0]))
    assert not compare(_q1(), off).ok
    assert compare(_q1(), off, rel_tol=1e-4).ok


def test_engines_may_differ_in_types_of_the_same_kind() -> None:
    reference = pa.table(
        {
            "n_name": pa.array(["CHINA", "INDIA"], pa.string()),
            "count": pa.array([Decimal(64), Decimal(61)], pa.decimal128(38, 0)),
            "revenue": pa.array([1.5, 2.5], pa.float64()),
            "day": pa.array([date(1995, 3, 11), date(1995, 1, 29)], pa.date32()),
        }
    )
    result = pa.table(
        {
            "n_name": pa.array(["CHINA", "INDIA"], pa.string_view()),
            "count": pa.array([64, 61], pa.uint32()),
            "revenue": pa.array([1.5, 2.5], pa.float32()),
            "day": pa.array([datetime(1995, 3, 11), datetime(1995, 1, 29)], pa.timestamp("ms")),
        }
    )
    assert compare(reference, result).ok
    dictionary = result.set_column(0, "n_name", pa.array(["CHINA", "INDIA"]).dictionary_encode())
    assert compare(reference, dictionary).ok


def test_text_and_numbers_are_different_kinds() -> None:
    reference = pa.table({"id4": pa.array([1, 2])})
    result = pa.table({"id4": pa.array(["1", "2"])})
    assert compare(reference, result, label="q4").reason == (
        "q4: column id4 holds text, the reference holds numbers"
    )


def test_nan_and_null_both_mean_missing() -> None:
    # pandas' std of one value is NaN, SQL's is NULL.
    reference = pa.table({"id4": [1, 2], "sd_v3": pa.array([None, 1.5], pa.float64())})
    result = pa.table({"id4": [1, 2], "sd_v3": pa.array([float("nan"), 1.5])})
    assert compare(reference, result).ok
    assert not compare(reference, pa.table({"id4": [1, 2], "sd_v3": [0.0, 1.5]})).ok


def test_text_must_match_exactly() -> None:
    reference = pa.table({"k": [1, 2], "name": ["Customer#1", "Customer#2"]})
    result = pa.table({"k": [1, 2], "name": ["Customer#1", "customer#2"]})
    assert compare(reference, result, label="q10").reason == (
        "q10: column name differs in 1 of 2 rows; first at row 1 (k=2): 'customer#2', expected 'Customer#2'"
    )


def test_the_majority_is_the_reference_and_the_odd_one_out_is_named() -> None:
    wrong = _q1().slice(1)
    consensus = find_consensus({"wrong": wrong, "duckdb": _q1(), "polars": _q1()}, label="q1")
    # "wrong" comes first, yet the two that agree outvote it.
    assert consensus.reference == "duckdb"
    assert consensus.majority
    assert consensus.agreeing == ("duckdb", "polars")
    assert list(consensus.disagreeing) == ["wrong"]
    assert consensus.verdicts["wrong"].reason == "q1: 3 rows, the reference has 4"


def test_preference_breaks_ties_and_a_tie_is_no_majority() -> None:
    results = {"pandas": _q1(), "duckdb": _q1().slice(1)}
    consensus = find_consensus(results, prefer=["duckdb"])
    assert consensus.reference == "duckdb"
    assert not consensus.majority
    assert list(consensus.disagreeing) == ["pandas"]
    assert find_consensus(results).reference == "pandas"


def test_no_answers_is_an_error() -> None:
    with pytest.raises(BenchError, match="no answers to compare for q1"):
        find_consensus({}, label="q1")


@pytest.fixture
def bad_engines() -> Iterator[None]:
    register_engine(WrongEngine)
    register_engine(ShortEngine)
    yield
    unregister_engine(WrongEngine.name)
    unregister_engine(ShortEngine.name)


@pytest.mark.usefixtures("bad_engines")
@pytest.mark.parametrize(("workload", "query"), [("tpch", "q1"), ("tpch", "q6"), ("groupby", "q3")])
def test_a_wrong_engine_is_detected(
    prepared: dict[str, dict[str, PreparedData]], workload: str, query: str
) -> None:
    answers = {}
    for name, mode, fmt in [
        ("duckdb", "default", "csv"),
        ("polars", "lazy", "parquet-zstd"),
        ("pandas", "default", "arrow-lz4"),
        ("wrong", "default", "parquet-zstd"),
        ("short", "default", "parquet-zstd"),
    ]:
        engine = get_engine(name, mode)
        engine.import_engine()
        answers[name, mode, fmt] = engine.run(query, prepared[workload][fmt])
    consensus = find_consensus(answers, prefer=[("duckdb", "default", "csv")], label=query)
    assert consensus.reference == ("duckdb", "default", "csv")
    assert consensus.majority
    assert set(consensus.disagreeing) == {
        ("wrong", "default", "parquet-zstd"),
        ("short", "default", "parquet-zstd"),
    }
    wrong = consensus.verdicts["wrong", "default", "parquet-zstd"]
    assert wrong.reason.startswith(f"{query}: column ") and "differs" in wrong.reason
    short = consensus.verdicts["short", "default", "parquet-zstd"]
    assert short.reason.startswith(f"{query}: ") and "rows, the reference has" in short.reason


def test_answers_without_rows_compare_by_column_names_only() -> None:
    # A header-only CSV: one engine reads null columns, another text and integers.
    nulls = pa.table({"k": pa.array([], pa.null()), "v": pa.array([], pa.null())})
    typed = pa.table({"v": pa.array([], pa.int64()), "k": pa.array([], pa.string())})
    assert compare(nulls, typed).ok
    renamed = pa.table({"k": pa.array([], pa.string()), "w": pa.array([], pa.int64())})
    verdict = compare(nulls, renamed, label="job")
    assert not verdict.ok and verdict.reason == "job: columns differ: missing v; unexpected w"
    one_row = pa.table({"k": ["a"], "v": [1]})
    assert compare(nulls, one_row).reason == "1 rows, the reference has 0"


def test_whole_numbers_beyond_float_precision_compare_exactly() -> None:
    big = 2**53 + 1  # the nearest double is 2**53
    reference = pa.table({"k": ["x", "y"], "total": pa.array([big, 5], pa.int64())})
    # DuckDB sums integers as 128-bit decimals; Polars may count as unsigned.
    as_decimal = pa.table({"k": ["y", "x"], "total": pa.array([5, big], pa.decimal128(38, 0))})
    as_unsigned = pa.table({"k": ["x", "y"], "total": pa.array([big, 5], pa.uint64())})
    assert compare(reference, as_decimal).ok
    assert compare(reference, as_unsigned).ok
    off_by_one = pa.table({"k": ["x", "y"], "total": pa.array([big + 1, 5], pa.int64())})
    verdict = compare(reference, off_by_one, label="q")
    assert not verdict.ok
    assert verdict.reason == (
        f"q: column total differs in 1 of 2 rows; first at row 0 (k='x'): {big + 1}, expected {big}"
    )
    largest = pa.table({"k": ["x", "y"], "total": pa.array([2**64 - 1, 5], pa.uint64())})
    assert not compare(reference, largest).ok  # no overflow, no exception: a difference


def test_a_big_integer_against_a_float_compares_within_tolerance() -> None:
    reference = pa.table({"total": pa.array([2**60], pa.int64())})
    assert compare(reference, pa.table({"total": [float(2**60)]})).ok
    assert not compare(reference, pa.table({"total": [float(2**60) * 1.01]})).ok
