"""Typed bench results (issue 14, item 4): ``summarise`` gives frozen :class:`ResultRow`
and :class:`ImportRow` records; JSON is made only at the ledger and ``--json``, with the
keys and their order of before, and read back from both."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime

import pytest

from zuinig.bench.results import (
    ALL_QUERIES,
    Configuration,
    ImportRow,
    Observation,
    ResultRow,
    stored_rows,
    summarise,
)
from zuinig.bench.runner import BenchReport
from zuinig.bench.text import format_json, format_table
from zuinig.bench.trial import PHASE_IMPORT, PHASE_MEASURED, STATUS_OK
from zuinig.ledger.model import BenchSession

BASELINE = Configuration("csv", "pandas", "default", 2)
DUCKDB = Configuration("parquet-zstd", "duckdb", "default", 2)
POLARS = Configuration("parquet-zstd", "polars", "lazy", 2)
FAILING = Configuration("arrow-lz4", "pandas", "default", 2)
CONFIGS = (BASELINE, DUCKDB, POLARS, FAILING)
QUERIES = ("q1", "q6")

#: The keys of a per-query row in the order ``--json`` and the ledger have always had:
#: ``significance`` before the duration ratio when there is a ratio, after it otherwise.
FIGURES = (
    "energy_kwh_median",
    "energy_kwh_ci",
    "duration_s_median",
    "duration_s_ci",
    "cpu_s_median",
    "cpu_s_ci",
    "peak_rss_bytes_median",
    "peak_rss_bytes_ci",
    "energy_kwh_low_median",
    "energy_kwh_high_median",
)
HEAD = ("format", "engine", "mode", "threads", "query", "label", *FIGURES, "repetitions")
RATIO = ("ratio_vs_baseline", "ratio_vs_baseline_ci")
DURATION = ("duration_ratio_vs_baseline", "duration_ratio_vs_baseline_ci")
PER_QUERY = (*HEAD, "failed_trials", "status", "reason", "correct", "storage_bytes")
TOTAL = (*HEAD, "storage_bytes", "status", "correct", "reason")


def _observations() -> list[Observation]:
    rng = random.Random(7)
    found = []
    for config in CONFIGS:
        found.append(Observation(config, "", 0, PHASE_IMPORT, STATUS_OK, 2e-6, 0.3))
        for repetition in range(4):
            for query in QUERIES:
                if config == FAILING:
                    found.append(
                        Observation(config, query, repetition, PHASE_MEASURED, "oom", reason="oom")
                    )
                    continue
                energy = 1e-4 * (1 + rng.random()) / (3 if config.engine != "pandas" else 1)
                found.append(
                    Observation(
                        config,
                        query,
                        repetition,
                        PHASE_MEASURED,
                        STATUS_OK,
                        energy,
                        0.5 + rng.random(),
                        0.4,
                        1e8,
                        energy_kwh_low=0.8 * energy,
                        energy_kwh_high=1.3 * energy,
                    )
                )
    return found


@pytest.fixture(scope="module")
def summary_report() -> BenchReport:
    summary = summarise(
        CONFIGS,
        QUERIES,
        _observations(),
        {"csv": 1000, "parquet-zstd": 300, "arrow-lz4": 800},
        {POLARS: "q1 differs from the consensus"},
        {(c, q): True for c in CONFIGS for q in QUERIES},
    )
    session = BenchSession(
        session_id="5e55104d-0000-4000-8000-000000000000",
        workload="groupby",
        started_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
        status="ok",
        rows=1000,
        label="groupby, 1,000 rows",
        method={"cpu_method": "cpu_load", "meter": "codecarbon", "in_words": "estimated"},
        page_cache="warm",
        ended_at=datetime(2026, 12, 1, 9, 5, tzinfo=UTC),
    )
    return BenchReport(
        session=session,
        summary=summary,
        seed=1,
        repeat=4,
        idle={"energy_kwh_per_s": 1e-8, "power_w": 0.036, "duration_s": 3.0},
        prepare=[{"format": "csv", "storage_bytes": 1000, "reused": True}],
        completed_trials=16,
        planned_trials=16,
        wall_s=12.5,
        notes=["a note of the runner"],
    )


def test_summarise_gives_typed_frozen_rows(summary_report: BenchReport) -> None:
    summary = summary_report.summary
    assert all(isinstance(row, ResultRow) for row in [*summary.results, *summary.totals])
    assert all(isinstance(row, ImportRow) for row in summary.imports)
    duckdb_q1 = next(r for r in summary.results if r.config == DUCKDB and r.query == "q1")
    assert duckdb_q1.energy_kwh_ci is not None and duckdb_q1.ratio_vs_baseline is not None
    low, high = duckdb_q1.energy_kwh_ci
    assert duckdb_q1.energy_kwh_median is not None
    assert low <= duckdb_q1.energy_kwh_median <= high
    with pytest.raises(dataclasses.FrozenInstanceError):
        duckdb_q1.status = "wrong"  # type: ignore[misc]
    assert {r.query for r in summary.totals} == {ALL_QUERIES}
    assert all(r.is_total and r.failed_trials is None for r in summary.totals)


def test_the_json_keys_keep_their_order(summary_report: BenchReport) -> None:
    document = summary_report.to_dict()
    for row in document["results"]:
        tail = (
            (*RATIO, "significance", *DURATION)
            if row["ratio_vs_baseline"] is not None
            else (
                *RATIO,
                *DURATION,
                "significance",
            )
        )
        assert tuple(row) == (*PER_QUERY, *tail, "pareto"), row["label"]
    for row in document["totals"]:
        tail = (
            (*RATIO, "significance", *DURATION)
            if row["ratio_vs_baseline"] is not None
            else (
                *RATIO,
                *DURATION,
                "significance",
            )
        )
        assert tuple(row) == (*TOTAL, *tail, "pareto"), row["label"]
    # both shapes occur: ranked rows and rows without a ratio (wrong, failed)
    assert {row["ratio_vs_baseline"] is None for row in document["results"]} == {True, False}
    assert tuple(document["imports"][0]) == (
        "engine",
        "mode",
        "threads",
        "energy_kwh_median",
        "energy_kwh_ci",
        "duration_s_median",
        "duration_s_ci",
        "trials",
    )
    assert isinstance(document["results"][0]["energy_kwh_ci"], list)  # JSON: a list


def test_rows_and_the_report_survive_a_json_round_trip(summary_report: BenchReport) -> None:
    document = json.loads(format_json(summary_report.to_dict()))
    again = BenchReport.from_dict(document)
    assert again.to_dict() == document
    assert again.summary.results == summary_report.summary.results
    assert again.summary.totals == summary_report.summary.totals
    assert again.summary.imports == summary_report.summary.imports
    # what the renderers show does not depend on where the report came from
    for per_query in (False, True):
        assert format_table(again, per_query=per_query) == format_table(
            summary_report, per_query=per_query
        )


def test_a_row_stored_by_an_older_zuinig_reads_as_a_typed_row() -> None:
    old = {"format": "csv", "engine": "pandas", "mode": "default", "threads": 2, "correct": True}
    row = ResultRow.from_dict(old)
    assert (row.label, row.query, row.correct, row.energy_kwh_median) == (
        "csv + pandas/default x2",
        "",
        "yes",
        None,
    )
    assert ResultRow.from_dict({**old, "correct": False}).correct == "no"
    assert ResultRow.from_dict({**old, "correct": None}).correct == "not checked"
    assert ResultRow.from_dict({**old, "energy_kwh_ci": [1.0, 2.0]}).energy_kwh_ci == (1.0, 2.0)


def test_stored_rows_leave_out_a_row_without_a_configuration() -> None:
    with pytest.raises(ValueError, match="no configuration"):
        ResultRow.from_dict({"engine": "pandas"})
    session = BenchSession(
        session_id="s",
        workload="groupby",
        started_at=datetime(2026, 12, 1, tzinfo=UTC),
        results=[
            {"engine": "pandas"},
            {"format": "csv", "engine": "duckdb", "mode": "default", "threads": 1},
        ],
    )
    assert [row.config for row in stored_rows(session)] == [
        Configuration("csv", "duckdb", "default", 1)
    ]
    assert stored_rows(dataclasses.replace(session, results=None)) == []
