"""Advice on handmade ledgers: real SQLite store, runs and bench sessions from model objects."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from zuinig.advise import Range, StorageModel, advise, realised_savings, savings
from zuinig.advise.storage import HOURS_PER_YEAR, scaled_size_bytes
from zuinig.bench import stats
from zuinig.config import Settings, load_settings
from zuinig.errors import ConfigError
from zuinig.ledger import BenchSession, BenchTrial, Ledger, Run
from zuinig.meter.base import InputFile

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CSV = "/data/verkopen.csv"
PARQUET = "/data/verkopen.parquet"
MB = 1_000_000
#: The method every handmade run is measured with unless a test changes it.
METHOD: dict[str, Any] = {
    "method_meter": "codecarbon",
    "method_cpu": "cpu_load",
    "method_cpu_tdp_w": 65.0,
    "tracking_mode": "process",
}
BENCH_METHOD = {
    "cpu_method": "cpu_load",
    "cpu_tdp_w": 65.0,
    "tracking_mode": "process",
    "in_words": "CPU energy estimated (cpu_load, TDP 65 W)",
}


@pytest.fixture
def ledger(sqlite_url: str) -> Iterator[Ledger]:
    with Ledger.open(sqlite_url) as opened:
        yield opened


def job_run(
    ledger: Ledger,
    job: str,
    energy_kwh: float,
    at: datetime,
    *,
    path: str = CSV,
    fmt: str = "csv",
    size: int = 100 * MB,
    engine: str = "pandas",
    **changes: Any,
) -> Run:
    values: dict[str, Any] = {
        "run_id": str(uuid.uuid4()),
        "job": job,
        "status": "ok",
        "started_at": at,
        "ended_at": at + timedelta(seconds=10),
        "duration_s": 10.0,
        "energy_kwh": energy_kwh,
        "intensity_g_per_kwh": 400.0,
        "inputs": (InputFile(path, size, fmt),),
        "engines": {engine: "1.0"},
        **METHOD,
        **changes,
    }
    run = Run(**values)
    ledger.put_run(run)
    return run


def runs_over_days(
    ledger: Ledger, job: str, energies: Sequence[float], *, start: datetime, **kwargs: Any
) -> None:
    for day, energy in enumerate(energies):
        job_run(ledger, job, energy, start + timedelta(days=day), **kwargs)


def bench(
    ledger: Ledger,
    energies: Mapping[tuple[str, str, str, int], Sequence[float]],
    *,
    data: str | None = CSV,
    workload: str = "user",
    storage: Mapping[str, int] | None = None,
    prepare_kwh: Mapping[str, float] | None = None,
    wrong: Sequence[tuple[str, str, str, int]] = (),
    method: Mapping[str, Any] = BENCH_METHOD,
    started_at: datetime = NOW - timedelta(days=40),
    warmup: Mapping[tuple[str, str, str, int], Sequence[float]] | None = None,
    verdicts: Mapping[tuple[str, str, str, int], str] | None = None,
) -> str:
    """A finished bench session with trials, their runs and a results row per configuration.

    ``verdicts`` gives a configuration's results row the bench's words (``yes``, ``no``,
    ``not checked``) and leaves its trials unjudged (``correct=None``), so only the
    stored results say it; without it both hold the old booleans."""
    session_id = str(uuid.uuid4())
    storage = storage or {"csv": 100 * MB, "parquet-zstd": 25 * MB}
    trials: list[BenchTrial] = []
    for fmt, size in storage.items():
        run_id = None
        if prepare_kwh and fmt in prepare_kwh:
            run = job_run(
                ledger,
                f"bench:user:prepare:{fmt}",
                prepare_kwh[fmt],
                started_at,
                kind="bench",
                tags={"session": session_id, "phase": "prepare"},
                inputs=(),
            )
            run_id = run.run_id
        trials.append(
            BenchTrial(
                str(uuid.uuid4()),
                session_id,
                "prepare",
                "ok",
                format=fmt,
                run_id=run_id,
                storage_bytes=size,
            )
        )
    for config, values in (warmup or {}).items():
        fmt, engine, mode, threads = config
        for repetition, energy in enumerate(values):
            run = job_run(
                ledger,
                "bench:user:job",
                energy,
                started_at,
                kind="bench",
                tags={"session": session_id, "phase": "warmup"},
                inputs=(),
            )
            trials.append(
                BenchTrial(
                    str(uuid.uuid4()),
                    session_id,
                    "warmup",
                    "ok",
                    format=fmt,
                    engine=engine,
                    mode=mode,
                    threads=threads,
                    query="job",
                    repetition=repetition,
                    run_id=run.run_id,
                )
            )
    results = []
    for config, values in energies.items():
        fmt, engine, mode, threads = config
        is_wrong = config in wrong
        for repetition, energy in enumerate(values):
            run = job_run(
                ledger,
                "bench:user:job",
                energy,
                started_at + timedelta(minutes=repetition),
                kind="bench",
                tags={"session": session_id},
                inputs=(),
            )
            trials.append(
                BenchTrial(
                    str(uuid.uuid4()),
                    session_id,
                    "measured",
                    "wrong" if is_wrong else "ok",
                    format=fmt,
                    engine=engine,
                    mode=mode,
                    threads=threads,
                    query="job",
                    repetition=repetition,
                    run_id=run.run_id,
                    correct=None if verdicts and config in verdicts else not is_wrong,
                    storage_bytes=storage.get(fmt),
                )
            )
        results.append(
            {
                "format": fmt,
                "engine": engine,
                "mode": mode,
                "threads": threads,
                "query": "job",
                "status": "wrong" if is_wrong else "ok",
                "correct": verdicts[config] if verdicts and config in verdicts else not is_wrong,
                "storage_bytes": storage.get(fmt),
            }
        )
    ledger.finish_bench_session(
        BenchSession(
            session_id=session_id,
            workload=workload,
            started_at=started_at,
            status="ok",
            config={"data": data, "job": "etl.verkopen:summarise", "queries": ["job"]},
            machine={"memory_bytes": 16_000_000_000},
            method=dict(method),
            results=results,
            ended_at=started_at + timedelta(minutes=10),
        )
    )
    ledger.add_bench_trials(trials)
    return session_id


CSV_PANDAS = ("csv", "pandas", "default", 2)
PARQUET_DUCKDB = ("parquet-zstd", "duckdb", "default", 2)
PARQUET_PANDAS = ("parquet-zstd", "pandas", "default", 2)


def standard_bench(ledger: Ledger, **kwargs: Any) -> str:
    return bench(
        ledger,
        {
            CSV_PANDAS: [1.0e-3, 1.1e-3, 0.9e-3, 1.0e-3, 1.05e-3],
            PARQUET_PANDAS: [0.5e-3, 0.55e-3, 0.45e-3, 0.5e-3, 0.52e-3],
            PARQUET_DUCKDB: [0.2e-3, 0.21e-3, 0.19e-3, 0.2e-3, 0.2e-3],
        },
        prepare_kwh={"parquet-zstd": 2.0e-3},
        **kwargs,
    )


# -- the storage model and the arithmetic ----------------------------------------------------


def test_storage_model_is_size_times_coefficient_times_replication_times_pue() -> None:
    ssd = StorageModel(wh_per_tb_hour=1.2, replication=1, pue=1.0)
    assert ssd.kwh_per_year(1e12) == pytest.approx(1.2 * 8766 / 1000)
    assert HOURS_PER_YEAR == 8766
    replicated = StorageModel(wh_per_tb_hour=0.65, replication=3, pue=1.5)
    assert replicated.kwh_per_year(2e12) == pytest.approx(2 * 0.65 * 8766 * 3 * 1.5 / 1000)
    assert ssd.kwh_per_year(-1e12) < 0  # a format that grows the data costs storage
    assert "Cloud Carbon Footprint" in ssd.describe() and "1.2 Wh per TB-hour" in ssd.describe()
    assert scaled_size_bytes(1000, 400, 100) == 250
    with pytest.raises(ValueError):
        scaled_size_bytes(1000, 0, 100)


def test_saving_interval_spans_every_corner_of_both_intervals() -> None:
    energy = stats.Estimate(value=10.0, low=8.0, high=12.0, n=5)
    ratio = stats.Estimate(value=0.25, low=0.2, high=0.3, n=5)
    saving = savings.saving_per_run(energy, ratio)
    assert saving.value == pytest.approx(7.5)
    assert saving.low == pytest.approx(8.0 * 0.7)
    assert saving.high == pytest.approx(12.0 * 0.8)
    assert saving.excludes_zero
    single = savings.saving_per_run(stats.Estimate(10.0, 10.0, 10.0, 1), ratio)
    assert not single.has_interval
    assert savings.confidence_of(single, [])[0] == "indicative"
    unsure = savings.saving_per_run(energy, stats.Estimate(0.9, 0.7, 1.2, 5))
    assert unsure.low < 0 < unsure.high
    assert savings.confidence_of(unsure, [])[0] == "unclear"
    assert savings.confidence_of(saving, [])[0] == "clear"
    assert savings.confidence_of(saving, ["other data"]) == ("indicative", "indicative: other data")


def test_payback_in_runs_and_days() -> None:
    assert savings.payback(None, 1.0, 365.25) == (None, None)
    runs, days = savings.payback(10.0, 0.5, 365.25)
    assert runs == pytest.approx(20.0)
    assert days == pytest.approx(10.0)
    assert savings.payback(10.0, 0.0, 0.0) == (None, None)


def test_runs_per_month_has_a_one_day_floor() -> None:
    per_month, days = savings.runs_per_month(30, NOW - timedelta(days=30), NOW)
    assert days == pytest.approx(30)
    assert per_month == pytest.approx(30 / 30 * savings.DAYS_PER_MONTH)
    per_month, days = savings.runs_per_month(5, NOW - timedelta(minutes=5), NOW)
    assert days == 1.0 and per_month == pytest.approx(5 * savings.DAYS_PER_MONTH)


# -- recommendations ---------------------------------------------------------------------------


def test_recommends_the_best_correct_configuration_with_figures_and_payback(
    ledger: Ledger,
) -> None:
    runs_over_days(
        ledger,
        "etl.verkopen.summarise",
        [1.0e-3] * 15 + [1.2e-3] * 15,
        start=NOW - timedelta(days=30),
    )
    session_id = standard_bench(ledger)
    advice = advise(ledger, Settings(), now=NOW)
    assert len(advice.recommendations) == 1
    item = advice.recommendations[0]
    assert item.kind == "configuration"
    assert item.current == "csv + pandas"
    assert item.recommended == "parquet-zstd + duckdb/default x2"
    assert item.evidence is not None and item.evidence.session_id == session_id
    assert item.evidence.match == "same file"
    assert item.evidence.repeats == (5, 5)
    # ratio 0.2 (median 0.2e-3 / 1.0e-3); job median 1.1e-3 (30 runs, half 1.0, half 1.2)
    assert item.evidence.ratio is not None and item.evidence.ratio.value == pytest.approx(0.2)
    assert item.energy_kwh_per_run is not None
    energy = item.energy_kwh_per_run.value
    assert item.saving_kwh_per_run is not None
    assert item.saving_kwh_per_run.value == pytest.approx(energy * 0.8)
    assert item.runs_per_month is not None
    assert item.runs_per_month == pytest.approx(30 / 30 * savings.DAYS_PER_MONTH)
    assert item.saving_kwh_per_year is not None
    year = item.saving_kwh_per_year
    assert year.value == pytest.approx(item.saving_kwh_per_run.value * item.runs_per_month * 12)
    assert year.low == pytest.approx(item.saving_kwh_per_run.low * item.runs_per_month * 12)
    assert year.low > 0 and year.low <= year.value <= year.high
    assert item.saving_co2_kg_per_year is not None
    assert item.saving_co2_kg_per_year.value == pytest.approx(year.value * 0.4)
    assert item.saving_eur_per_year is None  # no price set
    # storage: 100 MB CSV becomes 25 MB Parquet (the bench's ratio): 75 MB saved
    assert item.storage_saved_bytes == pytest.approx(75 * MB)
    assert item.storage_saving_kwh_per_year == pytest.approx(75e6 / 1e12 * 1.2 * 8766 / 1000)
    # conversion: the bench's preparation, scaled by size (same size here: x1)
    assert item.conversion_kwh == pytest.approx(2.0e-3)
    assert item.conversion_method is not None and item.conversion_method.startswith("estimated")
    assert item.payback_runs == pytest.approx(2.0e-3 / item.saving_kwh_per_run.value)
    assert item.payback_days == pytest.approx(
        2.0e-3 / (year.value + (item.storage_saving_kwh_per_year or 0.0)) * 365.25
    )
    assert item.confidence == "clear", item.confidence_text
    as_json = advice.to_dict()["recommendations"][0]
    for key in (
        "job",
        "current",
        "recommended",
        "saving_kwh_per_year",
        "saving_kwh_per_year_ci",
        "saving_co2_kg_per_year",
        "storage_saving_kwh_per_year",
        "conversion_kwh",
        "payback_runs",
        "payback_days",
        "confidence",
        "evidence",
    ):
        assert key in as_json
    assert as_json["saving_kwh_per_year_ci"] == [year.low, year.high]
    assert as_json["evidence"]["bench_session"] == session_id


def test_the_advice_text_writes_every_figure_for_a_person(ledger: Ledger) -> None:
    from zuinig.advise.text import format_advice

    # Figures of micro- to milliwatt-hours, as a short job's: no 1e-05 anywhere.
    runs_over_days(ledger, "etl.verkopen.summarise", [2.0e-6] * 15, start=NOW - timedelta(days=30))
    standard_bench(ledger)
    text = "\n".join(format_advice(advise(ledger, Settings(price_eur_per_kwh=0.3), now=NOW)))
    assert "per year" in text and "converting:" in text and "storage at rest:" in text
    # Python's exponent always has a sign (1e-05); without it, a hex session id (9e9) matches.
    assert re.search(r"\d[eE][-+]\d", text) is None, text
    assert "CO₂e" in text


def test_euro_only_when_a_price_is_set(ledger: Ledger) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    standard_bench(ledger)
    without = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert without.saving_eur_per_year is None
    assert without.to_dict()["saving_eur_per_year"] is None
    priced = advise(ledger, Settings(price_eur_per_kwh=0.30), now=NOW).recommendations[0]
    assert priced.saving_eur_per_year is not None and priced.saving_kwh_per_year is not None
    assert priced.saving_eur_per_year.value == pytest.approx(priced.saving_kwh_per_year.value * 0.3)
    assert priced.saving_eur_per_year.high == pytest.approx(priced.saving_kwh_per_year.high * 0.3)


def test_ranks_largest_yearly_saving_first_and_bench_suggestions_last(ledger: Ledger) -> None:
    other_csv = "/data/klein.csv"
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    # A job that runs as often but uses ten times as much: larger saving, ranked first.
    runs_over_days(
        ledger, "etl.groot.run", [1.0e-2] * 10, start=NOW - timedelta(days=10), path=other_csv
    )
    runs_over_days(
        ledger, "nachtjob", [5.0e-2] * 3, start=NOW - timedelta(days=3), path="/data/geen.csv"
    )
    standard_bench(ledger)
    standard_bench(ledger, data=other_csv)
    advice = advise(ledger, Settings(), now=NOW)
    assert [r.job for r in advice.recommendations] == [
        "etl.groot.run",
        "etl.verkopen.summarise",
        "nachtjob",
    ]
    assert [r.kind for r in advice.recommendations] == ["configuration", "configuration", "bench"]
    only = advise(ledger, Settings(), job="etl.verkopen.summarise", now=NOW)
    assert [r.job for r in only.recommendations] == ["etl.verkopen.summarise"]


def test_without_a_benchmark_prints_the_bench_command(ledger: Ledger) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 3, start=NOW - timedelta(days=3))
    runs_over_days(
        ledger, "woningbouwmonitor", [1.0e-3] * 3, start=NOW - timedelta(days=3), path="/d/a b.csv"
    )
    advice = advise(ledger, Settings(), now=NOW)
    by_job = {r.job: r for r in advice.recommendations}
    known = by_job["etl.verkopen.summarise"]
    assert known.kind == "bench" and known.saving_kwh_per_year is None
    assert known.command == f"zuinig bench --data {CSV} --job etl.verkopen:summarise"
    assert known.command in known.text
    unknown = by_job["woningbouwmonitor"]
    assert unknown.command == "zuinig bench --data '/d/a b.csv' --job <module:function>"
    assert "(engine_name, path)" in unknown.text


def test_wrong_configurations_are_never_recommended(ledger: Ledger) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    bench(
        ledger,
        {
            CSV_PANDAS: [1.0e-3, 1.0e-3, 1.1e-3],
            PARQUET_PANDAS: [0.5e-3, 0.5e-3, 0.6e-3],
            PARQUET_DUCKDB: [0.1e-3, 0.1e-3, 0.1e-3],
        },
        wrong=[PARQUET_DUCKDB],
    )
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.recommended == "parquet-zstd + pandas/default x2"


def test_a_no_from_the_bench_disqualifies_and_not_checked_is_only_a_caveat(
    ledger: Ledger,
) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    energies = {
        CSV_PANDAS: [1.0e-3, 1.0e-3, 1.1e-3, 1.0e-3, 1.05e-3],
        PARQUET_PANDAS: [0.5e-3, 0.5e-3, 0.55e-3, 0.5e-3, 0.52e-3],
        PARQUET_DUCKDB: [0.1e-3, 0.1e-3, 0.11e-3, 0.1e-3, 0.1e-3],
    }
    # "no" in the stored results (trials unjudged): never recommended.
    bench(
        ledger, energies, verdicts={PARQUET_DUCKDB: "no", CSV_PANDAS: "yes", PARQUET_PANDAS: "yes"}
    )
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.recommended == "parquet-zstd + pandas/default x2"
    assert item.confidence_text is not None and "did not check" not in item.confidence_text


def test_an_unchecked_configuration_is_recommended_but_only_as_indicative(
    ledger: Ledger,
) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    standard_bench(
        ledger,
        verdicts={PARQUET_DUCKDB: "not checked", CSV_PANDAS: "yes", PARQUET_PANDAS: "yes"},
    )
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.recommended == "parquet-zstd + duckdb/default x2"
    assert item.confidence == "indicative"
    assert item.confidence_text is not None
    assert "did not check parquet-zstd + duckdb/default x2's answers" in item.confidence_text


def test_a_bench_measured_another_way_makes_the_advice_indicative(ledger: Ledger) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    standard_bench(ledger, method={**BENCH_METHOD, "cpu_method": "rapl", "cpu_tdp_w": None})
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.confidence == "indicative"
    assert item.confidence_text is not None and "another way" in item.confidence_text


def test_the_current_configuration_must_be_in_the_benchmark(ledger: Ledger) -> None:
    runs_over_days(
        ledger,
        "etl.verkopen.summarise",
        [1.0e-3] * 5,
        start=NOW - timedelta(days=5),
        engine="polars",
    )
    standard_bench(ledger)  # pandas and duckdb only
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.kind == "bench"
    assert item.command is not None and "--engines polars,duckdb" in item.command


def test_a_measured_conversion_beats_the_bench_estimate(ledger: Ledger) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    standard_bench(ledger)
    job_run(ledger, "convert:verkopen.csv", 5.0e-3, NOW - timedelta(days=1), kind="convert")
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.conversion_kwh == pytest.approx(5.0e-3)
    assert item.conversion_method is not None and item.conversion_method.startswith("measured")


def test_a_moved_file_matches_by_name_and_size_and_other_workloads_are_indicative(
    ledger: Ledger,
) -> None:
    runs_over_days(
        ledger,
        "etl.verkopen.summarise",
        [1.0e-3] * 10,
        start=NOW - timedelta(days=10),
        path="/elders/verkopen.csv",
        size=95 * MB,
    )
    standard_bench(ledger)
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.evidence is not None and item.evidence.match.startswith("same file name")
    assert item.storage_saved_bytes == pytest.approx(95 * MB * 0.75)
    assert item.conversion_kwh == pytest.approx(2.0e-3 * 0.95)


def test_other_workload_of_similar_size_is_indicative(ledger: Ledger) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    standard_bench(ledger, data=None, workload="tpch")
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.kind == "configuration"
    assert item.evidence is not None and item.evidence.match == "other data of similar size"
    assert item.confidence == "indicative"


def test_threads_and_codec_advice_from_the_bench(ledger: Ledger) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    bench(
        ledger,
        {
            ("csv", "pandas", "default", 4): [1.0e-3, 1.0e-3, 1.1e-3, 0.95e-3],
            ("csv", "pandas", "default", 1): [0.6e-3, 0.62e-3, 0.61e-3, 0.6e-3],
            ("parquet-snappy", "duckdb", "default", 4): [0.2e-3, 0.2e-3, 0.21e-3, 0.2e-3],
            ("parquet-zstd", "duckdb", "default", 4): [0.22e-3, 0.22e-3, 0.23e-3, 0.22e-3],
        },
        storage={"csv": 100 * MB, "parquet-snappy": 40 * MB, "parquet-zstd": 25 * MB},
    )
    kinds = {r.kind: r for r in advise(ledger, Settings(), now=NOW).recommendations}
    assert kinds["configuration"].recommended == "parquet-snappy + duckdb/default x4"
    threads = kinds["threads"]
    assert threads.recommended == "csv + pandas/default x1"
    assert "1 thread(s) instead of 4" in threads.text
    codec = kinds["codec"]
    assert codec.recommended == "parquet-zstd"
    assert codec.storage_saved_bytes == pytest.approx(40 * MB * (1 - 25 / 40))


def test_streaming_advice_when_peak_memory_is_high(ledger: Ledger) -> None:
    runs_over_days(
        ledger,
        "etl.verkopen.summarise",
        [1.0e-3] * 5,
        start=NOW - timedelta(days=5),
        peak_rss_bytes=12_000_000_000,
    )
    standard_bench(ledger)
    kinds = [r.kind for r in advise(ledger, Settings(), now=NOW).recommendations]
    assert "streaming" in kinds


# -- realised savings --------------------------------------------------------------------------


def switch(ledger: Ledger, **after: Any) -> None:
    """Ten days of csv + pandas, then ten days of parquet + duckdb (by default)."""
    runs_over_days(
        ledger,
        "etl.verkopen.summarise",
        [1.0e-3, 1.1e-3, 0.9e-3, 1.0e-3, 1.05e-3] * 2,
        start=NOW - timedelta(days=20),
    )
    changes = {"path": PARQUET, "fmt": "parquet", "size": 25 * MB, "engine": "duckdb", **after}
    runs_over_days(
        ledger,
        "etl.verkopen.summarise",
        [0.2e-3, 0.22e-3, 0.19e-3, 0.2e-3, 0.21e-3] * 2,
        start=NOW - timedelta(days=10),
        **changes,
    )


def test_realised_saving_before_against_after(ledger: Ledger) -> None:
    switch(ledger)
    standard_bench(ledger)
    advice = advise(ledger, Settings(), now=NOW)
    # the job now uses the best measured configuration: nothing more to switch to
    assert [r.kind for r in advice.recommendations if r.kind == "configuration"] == []
    [found] = advice.realised
    assert found.before == "csv + pandas" and found.after == "parquet + duckdb"
    assert found.runs_before == 10 and found.runs_after == 10
    assert found.method_match
    assert found.since == NOW - timedelta(days=10)
    assert found.before_kwh_per_run is not None and found.after_kwh_per_run is not None
    assert found.saving_kwh_per_run is not None
    assert found.saving_kwh_per_run.value == pytest.approx(
        found.before_kwh_per_run.value - found.after_kwh_per_run.value
    )
    assert found.saving_kwh_per_run.low == pytest.approx(
        found.before_kwh_per_run.low - found.after_kwh_per_run.high
    )
    assert found.saving_kwh_per_run.low > 0
    assert found.confidence == "clear"
    assert found.followed_recommendation is True
    as_json = advice.to_dict()["realised"][0]
    for key in (
        "job",
        "before_kwh_per_run",
        "after_kwh_per_run",
        "saving_kwh_per_run",
        "saving_kwh_per_year",
        "ci",
        "since",
        "runs_before",
        "runs_after",
        "method_match",
    ):
        assert key in as_json


def test_realised_savings_for_a_month(ledger: Ledger) -> None:
    switch(ledger)
    [found] = realised_savings(ledger, month="2026-11")
    assert found.runs_in_period == 10
    assert found.saving_kwh_in_period is not None and found.saving_kwh_per_run is not None
    assert found.saving_kwh_in_period.value == pytest.approx(found.saving_kwh_per_run.value * 10)
    assert found.followed_recommendation is None  # no benchmark in this ledger
    assert realised_savings(ledger, month="2026-10") == []


def test_realised_refuses_a_change_of_method(ledger: Ledger) -> None:
    switch(ledger, method_cpu="rapl", method_cpu_tdp_w=None)
    [found] = realised_savings(ledger)
    assert not found.method_match
    assert found.saving_kwh_per_run is None and found.saving_kwh_per_year is None
    assert "refused" in found.notes[0] and "identical method" in found.notes[0]


# -- settings ----------------------------------------------------------------------------------


def test_storage_settings_defaults_and_validation() -> None:
    settings = load_settings(environ={"ZUINIG_STORAGE_WH_PER_TB_HOUR": "0.65"})
    assert settings.storage_wh_per_tb_hour == 0.65
    assert Settings().storage_wh_per_tb_hour == 1.2
    assert Settings().storage_replication == 1.0
    assert load_settings({"storage_replication": 3}, environ={}).storage_replication == 3.0
    with pytest.raises(ConfigError, match="storage_replication"):
        Settings(storage_replication=0.5)
    with pytest.raises(ConfigError, match="storage_wh_per_tb_hour"):
        Settings(storage_wh_per_tb_hour=-1)


def test_range_scaling() -> None:
    item = Range(2.0, 1.0, 3.0)
    assert item.scaled(2).as_list() == [2.0, 6.0]
    assert item.plus(1).value == 3.0


# -- the command -------------------------------------------------------------------------------


def test_advise_command_text_and_json(ledger: Ledger, sqlite_url: str) -> None:
    import json

    from click.testing import CliRunner

    from zuinig.cli import AppState, cli

    switch(ledger)
    runs_over_days(
        ledger, "etl.groot.run", [1.0e-2] * 10, start=NOW - timedelta(days=10), path="/d/g.csv"
    )
    standard_bench(ledger)
    standard_bench(ledger, data="/d/g.csv")
    runner = CliRunner()
    text = runner.invoke(cli, ["--ledger", sqlite_url, "advise"], obj=AppState())
    assert text.exit_code == 0, text.output
    assert "1. etl.groot.run: csv + pandas -> parquet-zstd + duckdb/default x2" in text.output
    assert "payback:" in text.output and "how sure: clear" in text.output
    assert "Realised savings" in text.output and "etl.verkopen.summarise" in text.output
    result = runner.invoke(
        cli,
        [
            "--ledger",
            sqlite_url,
            "advise",
            "--json",
            "--job",
            "etl.groot.run",
            "--since",
            "2026-11-01",
        ],
        obj=AppState(),
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [r["job"] for r in document["recommendations"]] == ["etl.groot.run"]
    assert document["recommendations"][0]["saving_kwh_per_year"] > 0
    assert document["realised"] == []
    bad = runner.invoke(
        cli, ["--ledger", sqlite_url, "advise", "--since", "gisteren"], obj=AppState()
    )
    assert bad.exit_code == 2


def test_text_shows_refusals_and_the_package_exports_what_it_names(ledger: Ledger) -> None:
    import zuinig.advise
    from zuinig.advise.text import format_advice

    switch(ledger, method_cpu="rapl", method_cpu_tdp_w=None)
    lines = format_advice(advise(ledger, Settings(), now=NOW))
    text = "\n".join(lines)
    assert "csv + pandas -> parquet + duckdb" in text
    assert "refused" in text
    assert format_advice(advise(ledger, Settings(), job="nobody", now=NOW))[0].startswith(
        "No advice"
    )
    public = {
        name
        for name, value in vars(zuinig.advise).items()
        if not name.startswith("_")
        and type(value).__name__ != "module"
        and getattr(value, "__module__", "").startswith("zuinig.advise")
    }
    assert public <= set(zuinig.advise.__all__)


def test_dtype_trap_when_pandas_reads_decimal_columns(ledger: Ledger, tmp_path: Any) -> None:
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "bedragen.parquet"
    pq.write_table(
        pa.table(
            {
                "bedrag": pa.array([decimal.Decimal("1.25")], pa.decimal128(10, 2)),
                "regio": ["r1"],
            }
        ),
        path,
    )
    runs_over_days(
        ledger,
        "etl.bedragen.run",
        [1.0e-3] * 3,
        start=NOW - timedelta(days=3),
        path=str(path),
        fmt="parquet",
        size=path.stat().st_size,
    )
    [dtype] = [r for r in advise(ledger, Settings(), now=NOW).recommendations if r.kind == "dtype"]
    assert "bedrag" in dtype.text and "regio" not in dtype.text
    assert "dtype_backend='pyarrow'" in dtype.text
    assert dtype.confidence == "indicative"
    # the same file read by duckdb: no trap
    runs_over_days(
        ledger,
        "etl.bedragen.duck",
        [1.0e-3] * 3,
        start=NOW - timedelta(days=3),
        path=str(path),
        fmt="parquet",
        engine="duckdb",
    )
    kinds = [
        r.kind for r in advise(ledger, Settings(), job="etl.bedragen.duck", now=NOW).recommendations
    ]
    assert "dtype" not in kinds


def test_a_job_run_once_per_process_is_compared_on_first_calls(ledger: Ledger) -> None:
    """A script pays the engine's first-call costs every run: the bench's warm-up trials
    (first call in a fresh process) are the evidence, not its repeated calls."""
    warmup = {
        CSV_PANDAS: [1.0e-3, 1.0e-3, 1.1e-3],
        PARQUET_PANDAS: [0.6e-3, 0.6e-3, 0.65e-3],
        PARQUET_DUCKDB: [1.5e-3, 1.6e-3, 1.5e-3],  # opening the database dominates
    }
    standard_bench(ledger, warmup=warmup)
    for day in range(6):  # a script: every run its own process
        job_run(ledger, "etl.verkopen.summarise", 1.0e-3, NOW - timedelta(days=day), pid=1000 + day)
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.recommended == "parquet-zstd + pandas/default x2"
    assert item.evidence is not None and item.evidence.calls.startswith("first call")
    ledger_runs = [1.0e-3] * 6
    for day, energy in enumerate(ledger_runs):  # now also called often in one process
        job_run(ledger, "etl.verkopen.lus", energy, NOW - timedelta(hours=day + 1), pid=42)
    warm = advise(ledger, Settings(), job="etl.verkopen.lus", now=NOW).recommendations[0]
    assert warm.recommended == "parquet-zstd + duckdb/default x2"
    assert warm.evidence is not None and warm.evidence.calls.startswith("repeated")


# -- attribution rules and the model's range (issue 11) ----------------------------------------


def test_realised_refuses_a_change_of_attribution_rule(ledger: Ledger) -> None:
    """Runs of the earlier per-process rule are never compared with runs charged their
    share: the same CPU method and TDP, but another rule, is another method."""
    switch(ledger, method_attribution="resource-share")  # before: NULL, as migrated old runs
    [found] = realised_savings(ledger)
    assert not found.method_match
    assert found.saving_kwh_per_run is None
    assert "rule resource-share" in found.notes[0]


def test_a_bench_under_another_rule_makes_the_advice_indicative(ledger: Ledger) -> None:
    runs_over_days(
        ledger,
        "etl.verkopen.summarise",
        [1.0e-3] * 10,
        start=NOW - timedelta(days=10),
        method_attribution="codecarbon-process",
    )
    standard_bench(ledger, method={**BENCH_METHOD, "attribution": "resource-share"})
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.confidence == "indicative"
    assert item.confidence_text is not None and "another way" in item.confidence_text


def test_the_old_rules_runs_are_set_aside_from_the_jobs_energy(ledger: Ledger) -> None:
    old = {"method_attribution": "codecarbon-process"}
    runs_over_days(
        ledger, "etl.verkopen.summarise", [5.0e-3] * 5, start=NOW - timedelta(days=20), **old
    )
    runs_over_days(
        ledger,
        "etl.verkopen.summarise",
        [1.0e-3] * 5,
        start=NOW - timedelta(days=10),
        method_attribution="resource-share",
    )
    standard_bench(ledger, method={**BENCH_METHOD, "attribution": "resource-share"})
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.energy_kwh_per_run is not None
    assert item.energy_kwh_per_run.value == pytest.approx(1.0e-3)  # the 5e-3 runs not mixed in
    assert any("measured another way" in note for note in item.notes)


def test_the_model_range_widens_the_energy_and_the_saving(ledger: Ledger) -> None:
    """Energy per run 1 mWh, each run's model range 0.5 to 2 mWh: the job's interval
    becomes [0.5, 2] mWh and the saving (ratio 0.2) [0.4, 1.6] mWh per run."""
    runs_over_days(
        ledger,
        "etl.verkopen.summarise",
        [1.0e-3] * 10,
        start=NOW - timedelta(days=10),
        energy_kwh_low=0.5e-3,
        energy_kwh_high=2.0e-3,
    )
    standard_bench(ledger)
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    energy, saving = item.energy_kwh_per_run, item.saving_kwh_per_run
    assert energy is not None and saving is not None
    assert (energy.value, energy.low, energy.high) == pytest.approx((1.0e-3, 0.5e-3, 2.0e-3))
    ratio = item.evidence.ratio if item.evidence else None
    assert ratio is not None
    assert saving.low == pytest.approx(0.5e-3 * (1 - ratio.high))
    assert saving.high == pytest.approx(2.0e-3 * (1 - ratio.low))
    assert any("model's range" in note for note in item.notes)


def test_without_ranges_the_interval_is_the_statistical_one(ledger: Ledger) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    standard_bench(ledger)
    item = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert item.energy_kwh_per_run is not None
    assert (item.energy_kwh_per_run.low, item.energy_kwh_per_run.high) == (1.0e-3, 1.0e-3)


def test_with_model_range_keeps_the_wider_of_both() -> None:
    energy = stats.Estimate(1.0, 0.8, 1.3, 20)
    widened = savings.with_model_range(energy, [0.9] * 20, [1.2] * 20)
    assert (widened.value, widened.low, widened.high, widened.n) == (1.0, 0.8, 1.3, 20)
    widened = savings.with_model_range(energy, [0.5] * 20, [2.0] * 20)
    assert (widened.low, widened.high) == (0.5, 2.0)


# -- the ladder and ties (issue 13 item 4) ----------------------------------------------------

PARQUET_POLARS = ("parquet-zstd", "polars", "lazy", 2)


def test_the_ladder_keeps_pandas_and_changes_the_format_first(ledger: Ledger) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    standard_bench(ledger)
    [item] = advise(ledger, Settings(), now=NOW).recommendations
    assert item.recommended == "parquet-zstd + duckdb/default x2"
    assert [s.configuration for s in item.steps] == [
        "parquet-zstd + pandas/default x2",
        "parquet-zstd + duckdb/default x2",
    ]
    one_line, rewrite = item.steps
    assert one_line.effort == "one line" and one_line.effort_text.startswith("same code, one line")
    assert rewrite.effort == "rewrite" and rewrite.effort_text == "rewrite in DuckDB"
    # Each step's figures are the savings computation for its own configuration.
    assert one_line.ratio.value == pytest.approx(0.5)
    assert one_line.ratio.high < 1.0
    assert one_line.saving_kwh_per_run.value == pytest.approx(1.0e-3 * 0.5)
    assert one_line.conversion_kwh == pytest.approx(2.0e-3)
    assert one_line.payback_runs == pytest.approx(2.0e-3 / one_line.saving_kwh_per_run.value)
    assert rewrite.saving_kwh_per_year == item.saving_kwh_per_year
    assert rewrite.payback_days == item.payback_days
    assert item.tied_with == ()
    document = item.to_dict()
    assert [s["configuration"] for s in document["steps"]] == [s.configuration for s in item.steps]
    assert document["steps"][0]["saving_kwh_per_year_ci"] == one_line.saving_kwh_per_year.as_list()
    assert document["tied_with"] == []


def test_the_ladder_text_is_compact_and_written_for_a_person(ledger: Ledger) -> None:
    from zuinig.advise.text import format_advice

    runs_over_days(ledger, "etl.verkopen.summarise", [2.0e-6] * 15, start=NOW - timedelta(days=30))
    standard_bench(ledger)
    text = "\n".join(format_advice(advise(ledger, Settings(), now=NOW)))
    assert "ladder, cheapest change first:" in text
    assert "1. parquet-zstd + pandas/default x2 (same code, one line" in text
    assert "2. parquet-zstd + duckdb/default x2 (rewrite in DuckDB): 5x less energy" in text
    assert "2x less energy" in text and "payback" in text
    # Python's exponent always has a sign (1e-05); without it, a hex session id (9e9) matches.
    assert re.search(r"\d[eE][-+]\d", text) is None, text


def test_a_step_without_a_clear_saving_is_left_out(ledger: Ledger) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    bench(
        ledger,
        {
            CSV_PANDAS: [1.0e-3, 1.1e-3, 0.9e-3, 1.0e-3, 1.05e-3],
            # pandas on Parquet: its interval against CSV includes 1
            PARQUET_PANDAS: [0.8e-3, 1.2e-3, 0.95e-3, 1.1e-3, 0.85e-3],
            PARQUET_DUCKDB: [0.2e-3, 0.21e-3, 0.19e-3, 0.2e-3, 0.2e-3],
        },
    )
    [item] = advise(ledger, Settings(), now=NOW).recommendations
    assert [s.configuration for s in item.steps] == ["parquet-zstd + duckdb/default x2"]
    from zuinig.advise.text import format_advice

    text = "\n".join(format_advice(advise(ledger, Settings(), now=NOW)))
    assert "ladder" not in text  # one step: the recommendation itself says it all
    assert "   effort: rewrite in DuckDB" in text


TIED_A = [0.20e-3, 0.26e-3, 0.18e-3, 0.24e-3, 0.21e-3]
TIED_B = [0.22e-3, 0.19e-3, 0.25e-3, 0.20e-3, 0.23e-3]


def tie_bench(ledger: Ledger, polars: Sequence[float], duckdb: Sequence[float], **kw: Any) -> str:
    return bench(
        ledger,
        {
            CSV_PANDAS: [1.0e-3, 1.1e-3, 0.9e-3, 1.0e-3, 1.05e-3],
            PARQUET_POLARS: polars,
            PARQUET_DUCKDB: duckdb,
        },
        **kw,
    )


def test_tied_engines_are_named_together_and_the_advice_does_not_flip(
    ledger: Ledger, sqlite_url: str
) -> None:
    import json

    from click.testing import CliRunner

    from zuinig.cli import AppState, cli

    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=10))
    # First bench: Polars (lazy) has the lower median; the intervals overlap.
    tie_bench(ledger, TIED_A, TIED_B, started_at=NOW - timedelta(days=40))
    ratios = {
        name: stats.ratio_ci(values, [1.0e-3, 1.1e-3, 0.9e-3, 1.0e-3, 1.05e-3])
        for name, values in (("a", TIED_A), ("b", TIED_B))
    }
    assert stats.median_ci(TIED_A).value < stats.median_ci(TIED_B).value
    assert ratios["a"].low <= ratios["b"].high and ratios["b"].low <= ratios["a"].high
    first = advise(ledger, Settings(), now=NOW).recommendations[0]
    # Second, newer bench: the medians swap; a noisy "best" would flip to Polars.
    tie_bench(ledger, TIED_B, TIED_A, started_at=NOW - timedelta(days=20))
    second = advise(ledger, Settings(), now=NOW).recommendations[0]
    assert first.evidence is not None and second.evidence is not None
    assert first.evidence.session_id != second.evidence.session_id
    # The smallest change from pandas/default: DuckDB keeps the default mode.
    assert first.recommended == second.recommended == "parquet-zstd + duckdb/default x2"
    assert first.tied_with == second.tied_with == ("parquet-zstd + polars/lazy x2",)
    assert "no clear difference between them; pick the one your team knows" in second.text
    result = CliRunner().invoke(cli, ["--ledger", sqlite_url, "advise", "--json"], obj=AppState())
    assert result.exit_code == 0, result.output
    [found] = json.loads(result.output)["recommendations"]
    assert [found["recommended"], *found["tied_with"]] == [
        "parquet-zstd + duckdb/default x2",
        "parquet-zstd + polars/lazy x2",
    ]
    assert found["steps"][-1]["tied_with"] == found["tied_with"]
    text = CliRunner().invoke(cli, ["--ledger", sqlite_url, "advise"], obj=AppState())
    assert (
        "tied: parquet-zstd + duckdb/default x2 or parquet-zstd + polars/lazy x2: "
        "no clear difference" in text.output
    )


def test_the_job_already_using_a_tied_engine_keeps_it(ledger: Ledger) -> None:
    runs_over_days(
        ledger,
        "etl.verkopen.summarise",
        [1.0e-3] * 10,
        start=NOW - timedelta(days=10),
        engine="polars",
    )
    bench(
        ledger,
        {
            ("csv", "polars", "lazy", 2): [1.0e-3, 1.1e-3, 0.9e-3, 1.0e-3, 1.05e-3],
            PARQUET_POLARS: TIED_B,
            PARQUET_DUCKDB: TIED_A,
        },
    )
    [item] = advise(ledger, Settings(), now=NOW).recommendations
    assert item.current == "csv + polars"
    assert item.recommended == "parquet-zstd + polars/lazy x2"
    assert item.tied_with == ("parquet-zstd + duckdb/default x2",)
    assert [s.effort for s in item.steps] == ["one line"]


def test_switching_to_a_tied_engine_counts_as_following_the_advice(ledger: Ledger) -> None:
    runs_over_days(ledger, "etl.verkopen.summarise", [1.0e-3] * 10, start=NOW - timedelta(days=20))
    runs_over_days(
        ledger,
        "etl.verkopen.summarise",
        [0.2e-3] * 5,
        start=NOW - timedelta(days=9),
        path=PARQUET,
        fmt="parquet",
        size=25 * MB,
        engine="polars",
    )
    tie_bench(ledger, TIED_A, TIED_B)
    [found] = advise(ledger, Settings(), now=NOW).realised
    assert found.after == "parquet + polars"
    # The advice names DuckDB (the smaller change from pandas/default), tied with Polars.
    assert found.followed_recommendation is True


def test_a_tiny_conversion_estimate_is_written_for_a_person(ledger: Ledger) -> None:
    from zuinig.advise.text import format_advice

    # A real small job's figures: tens of nanowatt-hours (Python would write 2.92e-08).
    runs_over_days(ledger, "etl.verkopen.summarise", [3.0e-8] * 15, start=NOW - timedelta(days=30))
    bench(
        ledger,
        {
            CSV_PANDAS: [1.0e-8, 1.1e-8, 0.9e-8, 1.0e-8, 1.05e-8],
            PARQUET_DUCKDB: [0.2e-8, 0.21e-8, 0.19e-8, 0.2e-8, 0.2e-8],
        },
        prepare_kwh={"parquet-zstd": 2.92e-8},
    )
    advice = advise(ledger, Settings(), now=NOW)
    method = advice.recommendations[0].conversion_method or ""
    assert "preparation of parquet-zstd (" in method and "kWh)" not in method, method
    text = "\n".join(format_advice(advice))
    assert re.search(r"\d[eE][-+]\d", text) is None, text
