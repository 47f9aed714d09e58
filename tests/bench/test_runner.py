"""Fast tests of the benchmark runner: a fake trial executor and an in-memory store stand in
for the trial processes and the ledger; the data and the formats are real (tiny)."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from zuinig.bench import trial
from zuinig.bench.results import Configuration
from zuinig.bench.runner import (
    BenchOptions,
    BenchRunner,
    Matrix,
    StopFlag,
    TrialOutcome,
    parse_size,
    parse_threads,
    plan_rounds,
)
from zuinig.bench.text import (
    ENERGY_CHART,
    SCATTER_CHART,
    format_json,
    format_table,
    write_outputs,
)
from zuinig.bench.trial import TrialEvent, TrialSpec
from zuinig.bench.workloads import Workload
from zuinig.errors import UsageError
from zuinig.ledger import Ledger, RunFilter
from zuinig.ledger.model import BenchSession, BenchTrial, Run
from zuinig.measure import Recorder
from zuinig.meter import ReplayMeter

QUERIES = ("q1", "q6")
JSON_RESULT_KEYS = {
    "format",
    "engine",
    "mode",
    "threads",
    "query",
    "status",
    "correct",
    "energy_kwh_median",
    "energy_kwh_ci",
    "duration_s_median",
    "cpu_s_median",
    "peak_rss_bytes_median",
    "storage_bytes",
    "ratio_vs_baseline",
    "ratio_vs_baseline_ci",
}


class MemoryStore:
    """The ledger's bench methods, in memory; trials replaced by id as the ledger does."""

    def __init__(self) -> None:
        self.sessions: dict[str, BenchSession] = {}
        self.trials: dict[str, BenchTrial] = {}
        self.finished = False
        #: Deliveries of trials' spooled runs asked for (one per finished trial).
        self.drains = 0

    def start_bench_session(self, session: BenchSession) -> BenchSession:
        self.sessions[session.session_id] = session
        return session

    def finish_bench_session(self, session: BenchSession) -> None:
        self.sessions[session.session_id] = session
        self.finished = True

    def add_bench_trials(self, trials: Sequence[BenchTrial]) -> None:
        self.trials.update({trial.trial_id: trial for trial in trials})

    def drain_spool(self) -> None:
        self.drains += 1


#: Energy per measured query (kWh) by engine: the baseline uses most.
ENERGY = {"pandas": 4e-6, "duckdb": 1e-6, "polars": 2e-6}


class FakeExecutor:
    """Plays a trial process: events with runs, answers written as Arrow files.

    Args:
        wrong: the engine whose answers are off.
        fail: per engine, the status its trials end with (``oom``, ``timeout``, ...).
        stop_after: set the stop flag once this many query trials have run.
        tables: ``False`` plays a job that returns no table (nothing to compare).
    """

    def __init__(
        self,
        wrong: str | None = None,
        fail: Mapping[str, str] | None = None,
        stop_after: int | None = None,
        tables: bool = True,
    ) -> None:
        self.tables = tables
        self.wrong = wrong
        self.fail = dict(fail or {})
        self.stop_after = stop_after
        self.specs: list[TrialSpec] = []
        self.envs: list[Mapping[str, str]] = []

    def __call__(
        self,
        spec: TrialSpec,
        env: Mapping[str, str],
        memory_limit_bytes: int | None,
        timeout_s: float | None,
        stop: StopFlag,
    ) -> TrialOutcome:
        self.specs.append(spec)
        self.envs.append(env)
        if spec.kind == "idle":
            return TrialOutcome("ok", events=(TrialEvent("idle", "ok", "", _run(3e-6, 3.0)),))
        events = [TrialEvent("import", "ok", "", _run(1e-7, 0.2))]
        if spec.engine in self.fail:
            return TrialOutcome(self.fail[spec.engine], "injected failure", tuple(events))
        for query in spec.queries:
            energy = ENERGY[spec.engine] * (1 + 0.01 * len(self.specs))
            events.append(TrialEvent("warmup", "ok", query, _run(energy, 0.1)))
            events.append(TrialEvent("measured", "ok", query, _run(energy, energy * 1e5)))
            if spec.answers_dir and not self.tables:
                events.append(TrialEvent("answer", "ok", query, reason="no table; not checked"))
            elif spec.answers_dir:
                events.append(
                    TrialEvent("answer", "ok", query, answer=_answer(spec, query, self.wrong))
                )
        query_trials = sum(1 for s in self.specs if s.kind == "queries")
        if self.stop_after is not None and query_trials >= self.stop_after:
            stop.set()
        return TrialOutcome("ok", events=tuple(events))


def _run(energy_kwh: float, duration_s: float) -> dict[str, Any]:
    run = Run(
        run_id=str(uuid.uuid4()),
        job="bench:tpch:q",
        status="ok",
        started_at=datetime.now(UTC),
        kind="bench",
        energy_kwh=energy_kwh,
        duration_s=duration_s,
        cpu_s=duration_s / 2,
        peak_rss_bytes=100_000_000,
    )
    return run.to_dict()


def _answer(spec: TrialSpec, query: str, wrong: str | None) -> str:
    values = [1.0, 2.0, 3.5 if spec.engine == wrong else 3.0]
    path = Path(str(spec.answers_dir)) / f"{query}.arrow"
    table = pa.table({"key": ["a", "b", "c"], "value": values})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return str(path)


@pytest.fixture
def matrix(tpch_small: Workload) -> Matrix:
    return Matrix(
        workload=tpch_small,
        formats=("csv", "parquet-zstd"),
        engines=(("pandas", "default"), ("duckdb", "default"), ("polars", "lazy")),
        engine_paths={},
        threads=(2,),
        queries=QUERIES,
    )


def _runner(
    tmp_path: Path, executor: FakeExecutor, store: MemoryStore, repeat: int = 3
) -> BenchRunner:
    options = BenchOptions(repeat=repeat, seed=7, prepared_dir=tmp_path / "prepared")
    recorder = Recorder(
        ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        meter=ReplayMeter(energy_kwh=2e-7),
    )
    return BenchRunner(options, recorder=recorder, store=store, executor=executor)


# -- plan and options -----------------------------------------------------------------------


def test_rounds_hold_every_configuration_once_in_a_seeded_shuffled_order() -> None:
    configs = [Configuration(f, e, "default", 1) for f in ("csv", "parquet") for e in "abcde"]
    rounds = plan_rounds(configs, 4, seed=11)
    assert len(rounds) == 4
    assert all(sorted(order) == sorted(configs) for order in rounds)
    assert len({tuple(order) for order in rounds}) > 1, "rounds should not share one order"
    assert plan_rounds(configs, 4, seed=11) == rounds
    assert plan_rounds(configs, 4, seed=12) != rounds


@pytest.mark.parametrize(
    ("text", "size"),
    [("2GB", 2_000_000_000), ("500MB", 500_000_000), ("1.5GiB", 1_610_612_736), ("1000", 1000)],
)
def test_sizes_parse(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "2XB", "0MB", "-1GB"])
def test_bad_sizes_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="size"):
        parse_size(text)


def test_threads_parse_and_refuse_nonsense() -> None:
    assert parse_threads("1, 2,2") == (1, 2)
    with pytest.raises(UsageError):
        parse_threads("0")
    with pytest.raises(UsageError):
        parse_threads("two")


# -- a whole session on fakes ------------------------------------------------------------


def test_session_gives_every_configuration_and_query_a_row_with_intervals_and_ratios(
    tmp_path: Path, matrix: Matrix
) -> None:
    store, executor = MemoryStore(), FakeExecutor()
    report = _runner(tmp_path, executor, store).run(matrix).to_dict()

    assert {"session_id", "workload", "scale", "machine", "method", "results"} <= set(report)
    assert len(report["results"]) == 6 * len(QUERIES)
    for row in report["results"]:
        assert set(row) >= JSON_RESULT_KEYS
        assert row["status"] == "ok" and row["correct"] == "yes"
        low, high = row["energy_kwh_ci"]
        assert low <= row["energy_kwh_median"] <= high
        assert row["ratio_vs_baseline"] > 0
    baseline = [r for r in report["results"] if (r["format"], r["engine"]) == ("csv", "pandas")]
    assert all(0.9 < r["ratio_vs_baseline"] < 1.1 for r in baseline)
    duckdb = next(r for r in report["results"] if r["engine"] == "duckdb")
    assert "less energy than csv + pandas" in duckdb["significance"]
    assert json.loads(format_json(report))["session_id"] == report["session_id"]
    assert report["idle_baseline"]["energy_kwh_per_s"] == pytest.approx(1e-6)


def test_trials_are_interleaved_and_get_their_thread_environment(
    tmp_path: Path, matrix: Matrix
) -> None:
    executor = FakeExecutor()
    _runner(tmp_path, executor, MemoryStore(), repeat=2).run(matrix)
    trials = [s for s in executor.specs if s.kind == "queries"]
    configs = [(json.loads(s.data or "{}")["format"], s.engine, s.mode) for s in trials]
    assert sorted(configs[:6]) == sorted(configs[6:]), "each round runs every configuration once"
    polars_env = next(
        e for s, e in zip(executor.specs, executor.envs, strict=True) if s.engine == "polars"
    )
    assert polars_env["POLARS_MAX_THREADS"] == "2"
    # Answers are asked for until each configuration has given one.
    assert all(s.answers_dir for s in trials[:6]) and not any(s.answers_dir for s in trials[6:])


def test_the_runs_each_trial_kept_in_the_spool_are_delivered_when_it_ends(
    tmp_path: Path, matrix: Matrix
) -> None:
    store, executor = MemoryStore(), FakeExecutor()
    _runner(tmp_path, executor, store, repeat=2).run(matrix)
    # One delivery per trial process, the idle baseline's included.
    assert store.drains == len(executor.specs) > 1


def test_a_wrong_answer_disqualifies_its_configuration_everywhere(
    tmp_path: Path, matrix: Matrix
) -> None:
    store = MemoryStore()
    result = _runner(tmp_path, FakeExecutor(wrong="polars"), store).run(matrix)
    report = result.to_dict()

    polars_rows = [r for r in report["results"] if r["engine"] == "polars"]
    assert polars_rows and all(r["status"] == "wrong" and r["correct"] == "no" for r in polars_rows)
    assert all(r["ratio_vs_baseline"] is None and not r["pareto"] for r in polars_rows)
    assert any("polars" in label for label in report["disqualified"])
    stored = [t for t in store.trials.values() if t.engine == "polars" and t.phase == "measured"]
    assert stored and all(t.status == "wrong" and t.correct is False for t in stored)
    others = [t for t in store.trials.values() if t.engine == "duckdb" and t.phase == "measured"]
    assert all(t.correct is True for t in others)
    table = "\n".join(format_table(result))
    assert "WARNING: DISQUALIFIED csv + polars/lazy x2" in table


def test_a_failed_trial_is_recorded_and_the_matrix_goes_on(tmp_path: Path, matrix: Matrix) -> None:
    store = MemoryStore()
    report = _runner(tmp_path, FakeExecutor(fail={"duckdb": "oom"}), store).run(matrix).to_dict()

    duckdb = [r for r in report["results"] if r["engine"] == "duckdb"]
    assert all(r["status"] == "oom" and r["reason"] == "injected failure" for r in duckdb)
    assert all(r["status"] == "ok" for r in report["results"] if r["engine"] != "duckdb")
    failed = [t for t in store.trials.values() if t.status == "oom"]
    # One per trial process: the step it died in (the first warm-up); 2 formats x 3 rounds.
    assert len(failed) == 6 and {t.phase for t in failed} == {"warmup"}
    assert store.sessions[report["session_id"]].status == "ok"


def test_a_stop_keeps_completed_trials_and_marks_the_session_interrupted(
    tmp_path: Path, matrix: Matrix
) -> None:
    store = MemoryStore()
    result = _runner(tmp_path, FakeExecutor(stop_after=4), store).run(matrix)

    assert result.interrupted and result.completed_trials == 4 and result.planned_trials == 18
    assert store.sessions[result.session.session_id].status == "interrupted"
    measured = [t for t in store.trials.values() if t.phase == "measured"]
    assert len(measured) == 4 * len(QUERIES)
    assert "INTERRUPTED: 4 of 18 trials completed" in "\n".join(format_table(result))


def test_without_the_baseline_ratios_are_null_and_the_output_says_why(
    tmp_path: Path, matrix: Matrix
) -> None:
    no_csv = Matrix(**{**matrix.__dict__, "formats": ("parquet-zstd",)})
    report = _runner(tmp_path, FakeExecutor(), MemoryStore(), repeat=2).run(no_csv).to_dict()
    assert all(r["ratio_vs_baseline"] is None for r in report["results"])
    assert any("baseline" in note and "not in the matrix" in note for note in report["notes"])


def test_table_names_the_method_and_marks_the_pareto_front(tmp_path: Path, matrix: Matrix) -> None:
    report = _runner(tmp_path, FakeExecutor(), MemoryStore(), repeat=2).run(matrix)
    lines = format_table(report)
    assert lines[0].startswith("zuinig bench ")
    assert any(line.startswith("page cache: page caches were not dropped") for line in lines)
    assert any(line.startswith("* parquet-zstd + duckdb/default x2") for line in lines)
    per_query = "\n".join(format_table(report, per_query=True))
    assert " q6 " in per_query


def test_outputs_are_json_and_two_svg_charts(tmp_path: Path, matrix: Matrix) -> None:
    result = _runner(tmp_path, FakeExecutor(), MemoryStore(), repeat=2).run(matrix)
    written = write_outputs(result, tmp_path / "out")
    report = result.to_dict()
    assert [p.name for p in written] == ["results.json", ENERGY_CHART, SCATTER_CHART]
    assert (
        json.loads(written[0].read_text())["results"] == json.loads(format_json(report))["results"]
    )
    svg = (tmp_path / "out" / ENERGY_CHART).read_text()
    assert "<svg" in svg and "not RAPL" in svg


# -- the session's own tags -----------------------------------------------------------------


def test_the_sessions_tags_reach_every_run_it_stores(tmp_path: Path, matrix: Matrix) -> None:
    """Preparation runs are stored by the runner; import, warm-up, measured and idle runs
    by the trial process, run here in-process on specs the runner made."""
    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    team = {"team": "ruimte"}
    options = BenchOptions(repeat=1, seed=7, prepared_dir=tmp_path / "prepared", tags=team)
    recorder = Recorder(ledger_url=ledger_url, meter=ReplayMeter(energy_kwh=2e-7))
    executor, store = FakeExecutor(), MemoryStore()
    BenchRunner(
        options, recorder=recorder, store=store, ledger_url=ledger_url, executor=executor
    ).run(matrix)
    assert recorder.flush()
    [session] = store.sessions.values()
    assert session.config["tags"] == team

    idle = next(spec for spec in executor.specs if spec.kind == "idle")
    duckdb = next(spec for spec in executor.specs if spec.engine == "duckdb")
    for spec in (replace(idle, idle_s=0.01), replace(duckdb, queries=("q6",), answers_dir=None)):
        events = tmp_path / f"{spec.kind}.jsonl"
        trial_spec = replace(spec, events_path=str(events), ledger_url=ledger_url, meter="null")
        assert trial.main(io.StringIO(trial_spec.to_json())) == 0, events.read_text()

    with Ledger.open(ledger_url) as ledger:
        runs = ledger.list_runs(RunFilter())
    assert {run.tags["phase"] for run in runs} == {
        "prepare",
        "idle",
        "import",
        "warmup",
        "measured",
    }
    assert all(run.tags["team"] == "ruimte" for run in runs)
    assert all(run.tags["session"] == session.session_id for run in runs)


def test_without_tags_the_runs_carry_only_the_bench_tags(tmp_path: Path, matrix: Matrix) -> None:
    executor = FakeExecutor()
    _runner(tmp_path, executor, MemoryStore(), repeat=1).run(matrix)
    assert all("team" not in spec.tags for spec in executor.specs)
    assert {"session", "format", "engine", "mode", "threads", "repetition"} == set(
        next(spec for spec in executor.specs if spec.kind == "queries").tags
    )


@pytest.mark.parametrize("key", ["phase", "session", "format", ""])
def test_tags_may_not_take_the_bench_keys(key: str) -> None:
    with pytest.raises(UsageError, match="tag"):
        BenchOptions(tags={key: "x"})


def test_tags_are_copied_when_the_options_are_made() -> None:
    tags = {"team": "ruimte"}
    options = BenchOptions(tags=tags)
    tags["team"] = "economie"
    assert options.tags == {"team": "ruimte"}


def test_answers_never_checked_say_not_checked_everywhere(tmp_path: Path, matrix: Matrix) -> None:
    store = MemoryStore()
    result = _runner(tmp_path, FakeExecutor(tables=False), store).run(matrix)
    report = result.to_dict()

    rows = report["results"] + report["totals"]
    assert rows and all(r["status"] == "ok" and r["correct"] == "not checked" for r in rows)
    stored = [t for t in store.trials.values() if t.phase == "measured"]
    assert stored and all(t.correct is None for t in stored)
    session = store.sessions[report["session_id"]]
    assert all(r["correct"] == "not checked" for r in session.results or [])
    lines = format_table(result)
    assert sum(line.rstrip().endswith("not checked  ok") for line in lines) == 6


def test_a_total_is_correct_only_when_every_query_was_checked(
    tmp_path: Path, matrix: Matrix
) -> None:
    from zuinig.bench.results import summarise

    configs = matrix.configurations()
    checked = {(c, q): True for c in configs for q in QUERIES}
    del checked[configs[0], QUERIES[1]]
    totals = summarise(configs, QUERIES, [], {}, {}, checked).totals
    by_config = {(r.format, r.engine, r.mode): r for r in totals}
    first = configs[0]
    assert by_config[first.format, first.engine, first.mode].correct == "not checked"


def test_a_failing_correctness_check_keeps_the_results_and_finishes_the_session(
    tmp_path: Path, matrix: Matrix, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zuinig.bench import correctness

    def broken(*args: object, **kwargs: object) -> None:
        raise pa.ArrowInvalid("Integer value 9007199254740993 not in range")

    monkeypatch.setattr(correctness, "find_consensus", broken)
    store = MemoryStore()
    report = _runner(tmp_path, FakeExecutor(), store).run(matrix).to_dict()

    assert report["status"] == "ok" and store.finished
    assert store.sessions[report["session_id"]].status == "ok"
    assert len(report["results"]) == 6 * len(QUERIES)
    assert all(r["status"] == "ok" and r["correct"] == "not checked" for r in report["results"])
    assert all(r["energy_kwh_median"] > 0 for r in report["results"])
    assert any(
        "could not be compared" in note and "ArrowInvalid" in note for note in report["notes"]
    )


def test_a_failure_after_the_trials_never_leaves_the_session_running(
    tmp_path: Path, matrix: Matrix, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zuinig.bench import runner as runner_module

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the summary")

    monkeypatch.setattr(runner_module, "summarise", broken)
    store = MemoryStore()
    with pytest.raises(RuntimeError, match="a bug in the summary"):
        _runner(tmp_path, FakeExecutor(), store).run(matrix)
    (session,) = store.sessions.values()
    assert session.status == "error" and session.ended_at is not None
    assert any(t.phase == "measured" and t.status == "ok" for t in store.trials.values())


def test_numbers_out_of_range_are_refused_before_anything_runs() -> None:
    for options in (
        {"timeout_s": float("nan")},
        {"timeout_s": float("inf")},
        {"threads": (100_000,)},
        {"repeat": 10**6},
        {"scale": 1e9},
        {"rows": 2**64},
        {"idle_s": float("nan")},
        {"formats": ""},
        {"memory_limit_bytes": 10**18},
    ):
        with pytest.raises(UsageError):
            BenchOptions(**options)  # type: ignore[arg-type]


def test_formats_that_would_not_fit_the_disk_are_refused_before_the_session(
    tmp_path: Path, matrix: Matrix, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from zuinig.bench import sizing

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sizing.shutil, "disk_usage", lambda path: usage._replace(free=1000))
    store, executor = MemoryStore(), FakeExecutor()
    with pytest.raises(
        sizing.DataTooLargeError, match=r"as csv, parquet-zstd needs about"
    ) as caught:
        _runner(tmp_path, executor, store).run(matrix)
    assert caught.value.bad_input and "give fewer --formats" in str(caught.value)
    assert not store.sessions and not executor.specs
    assert not (tmp_path / "prepared").exists()
