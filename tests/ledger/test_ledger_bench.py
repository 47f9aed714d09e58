"""Bench sessions and trials: every field survives, trials link to their runs, errors help."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ledger_helpers import full_run

from zuinig.errors import (
    AmbiguousBenchSessionIdError,
    BenchSessionNotFoundError,
    LedgerError,
    UsageError,
)
from zuinig.ledger import BenchSession, BenchTrial, Ledger
from zuinig.ledger.liveness import process_started_at, this_host
from zuinig.ledger.model import (
    BENCH_SESSION_FIELDS,
    BENCH_TRIAL_FIELDS,
    KIND_BENCH,
    TRIAL_PHASES,
    TRIAL_STATUSES,
)
from zuinig.ledger.schema import BENCH_SESSION_COLUMNS, BENCH_TRIAL_COLUMNS

START = datetime(2026, 11, 5, 13, 0, 0, 123456, tzinfo=UTC)


def full_session(session_id: str = "s-0001", **changes: Any) -> BenchSession:
    """A session with every field set to a distinctive value."""
    values: dict[str, Any] = {
        "session_id": session_id,
        "workload": "tpch",
        "started_at": START,
        "status": "ok",
        "scale": 0.01,
        "rows": 60_175,
        "label": "TPC-H derived; not comparable to official TPC-H results",
        "config": {
            "formats": ["csv", "parquet-zstd"],
            "engines": ["pandas", "polars", "duckdb"],
            "threads": [1, 2],
            "repeat": 2,
            "queries": ["q1", "q6"],
            "memory_limit_bytes": 4 * 1024**3,
            "timeout_s": 300.0,
            "data": "/home/analist/.cache/zuinig/tpch-0.01",
            "nested": {"ok": True, "none": None},
        },
        "machine": {"host": "laptop", "cpu_model": "Xeon ✓", "cpus": 16, "memory_bytes": 2**36},
        "method": {"meter": "codecarbon 3.0.0", "cpu_method": "cpu_load", "pue": 1.0},
        "page_cache": "warm: files were read before the measured repetitions",
        "baseline_run_id": "run-idle",
        "results": [
            {
                "format": "csv",
                "engine": "pandas",
                "energy_kwh_median": 1.5e-6,
                "energy_kwh_ci": [1.2e-6, 1.9e-6],
                "ratio_vs_baseline": 1.0,
                "correct": True,
            }
        ],
        "ended_at": START + timedelta(minutes=2),
        "host": "laptop",
        "pid": 1234,
        "pid_started_at": START - timedelta(seconds=3),
    }
    values.update(changes)
    return BenchSession(**values)


def full_trial(trial_id: str, session_id: str = "s-0001", **changes: Any) -> BenchTrial:
    """A trial with every field set."""
    values: dict[str, Any] = {
        "trial_id": trial_id,
        "session_id": session_id,
        "phase": "measured",
        "status": "ok",
        "format": "parquet-zstd",
        "engine": "polars",
        "mode": "lazy",
        "threads": 2,
        "query": "q1",
        "repetition": 1,
        "run_id": f"run-{trial_id}",
        "reason": None,
        "correct": True,
        "storage_bytes": 12_345_678_901,
        "started_at": START + timedelta(seconds=5),
    }
    values.update(changes)
    return BenchTrial(**values)


def test_fields_are_the_columns() -> None:
    assert sorted(BENCH_SESSION_FIELDS) == sorted(BENCH_SESSION_COLUMNS)
    assert sorted(BENCH_TRIAL_FIELDS) == sorted(BENCH_TRIAL_COLUMNS)


def test_a_session_round_trips_through_start_and_finish(ledger: Ledger) -> None:
    started = full_session(status="running", results=None, ended_at=None)
    assert ledger.start_bench_session(started) == started  # provenance given: kept as is
    # Another host's running session cannot be checked, so it stays running.
    assert ledger.get_bench_session("s-0001") == started

    finished = full_session()
    ledger.finish_bench_session(finished)
    stored = ledger.get_bench_session("s-0001")
    for name in BENCH_SESSION_FIELDS:  # name by name, so a failure says which field broke
        assert getattr(stored, name) == getattr(finished, name), name
    assert stored == finished
    assert stored.started_at.utcoffset() == timedelta(0)


def test_a_bare_session_round_trips(ledger: Ledger) -> None:
    bare = BenchSession(session_id="bare", workload="groupby", started_at=START, status="error")
    ledger.finish_bench_session(bare)  # finishing a session never started inserts it
    assert ledger.get_bench_session("bare") == bare


def test_start_fills_in_this_process_and_finish_keeps_it(ledger: Ledger) -> None:
    session = BenchSession(session_id="mine", workload="groupby", started_at=START, rows=1000)
    stored = ledger.start_bench_session(session)
    assert stored.host == this_host()
    assert stored.pid == os.getpid()
    assert stored.pid_started_at == process_started_at(os.getpid())
    assert ledger.get_bench_session("mine").status == "running"  # this process lives

    # The runner finishes with the object it started with (no provenance): kept.
    ledger.finish_bench_session(dataclasses.replace(session, status="interrupted"))
    again = ledger.get_bench_session("mine")
    assert again.status == "interrupted"
    assert (again.host, again.pid, again.pid_started_at) == (
        stored.host,
        stored.pid,
        stored.pid_started_at,
    )


def test_a_running_session_whose_process_is_gone_reads_interrupted(ledger: Ledger) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_started_at(child.pid)
    finally:
        child.kill()
        child.wait()
    session = BenchSession(
        session_id="gone",
        workload="tpch",
        started_at=START,
        host=this_host(),
        pid=child.pid,
        pid_started_at=started,
    )
    ledger.start_bench_session(session)
    assert ledger.get_bench_session("gone").status == "interrupted"
    assert [item.status for item in ledger.list_bench_sessions()] == ["interrupted"]


def test_trials_round_trip_and_link_to_their_runs(ledger: Ledger) -> None:
    ledger.start_bench_session(full_session(status="running"))
    trials = [
        full_trial("t-prepare", phase="prepare", engine=None, query=None, run_id="run-prep"),
        full_trial("t-1"),
        full_trial(
            "t-oom", status="oom", reason="over 4 GiB", correct=None, run_id=None, threads=None
        ),
        BenchTrial(trial_id="t-bare", session_id="s-0001", phase="idle", status="ok"),
    ]
    for trial in trials:
        if trial.run_id is not None:
            ledger.finish_run(full_run(trial.run_id, kind=KIND_BENCH, parent_run_id=None))
    ledger.add_bench_trials(trials)

    stored = ledger.list_bench_trials("s-0001")
    assert sorted(stored, key=lambda trial: trial.trial_id) == sorted(
        trials, key=lambda trial: trial.trial_id
    )
    for trial in stored:
        original = next(item for item in trials if item.trial_id == trial.trial_id)
        for name in BENCH_TRIAL_FIELDS:
            assert getattr(trial, name) == getattr(original, name), (trial.trial_id, name)
        if trial.run_id is not None:
            run = ledger.get_run(trial.run_id)
            assert run.kind == KIND_BENCH
    assert ledger.get_run("run-t-1").energy_kwh == pytest.approx(0.000123)


def test_trials_come_back_in_start_order(ledger: Ledger) -> None:
    ledger.start_bench_session(full_session())
    ledger.add_bench_trials(
        [
            full_trial("b-late", started_at=START + timedelta(seconds=9)),
            full_trial("a-early", started_at=START + timedelta(seconds=1)),
            full_trial("c-unknown", started_at=None),
            full_trial("d-middle", started_at=START + timedelta(seconds=4)),
        ]
    )
    ids = [trial.trial_id for trial in ledger.list_bench_trials("s-0001")]
    assert ids == ["c-unknown", "a-early", "d-middle", "b-late"]


def test_trials_are_stored_all_or_none(ledger: Ledger) -> None:
    ledger.start_bench_session(full_session())
    with pytest.raises(LedgerError, match="bench session started"):
        ledger.add_bench_trials([full_trial("ok-1"), full_trial("orphan", session_id="nope")])
    assert ledger.list_bench_trials("s-0001") == []
    ledger.add_bench_trials([])  # nothing to do, nothing fails


def test_writing_a_trial_again_replaces_it(ledger: Ledger) -> None:
    ledger.start_bench_session(full_session())
    ledger.add_bench_trials([full_trial("t"), full_trial("u")])
    ledger.add_bench_trials([full_trial("t", status="timeout", reason="over 300 s")])
    stored = {trial.trial_id: trial for trial in ledger.list_bench_trials("s-0001")}
    assert stored["t"].status == "timeout"
    assert stored["t"].reason == "over 300 s"
    assert set(stored) == {"t", "u"}


def test_many_trials_in_one_call(ledger: Ledger) -> None:
    ledger.start_bench_session(full_session())
    trials = [full_trial(f"t{index:05d}", repetition=index) for index in range(1203)]
    ledger.add_bench_trials(trials)
    ledger.add_bench_trials(trials)  # more ids than one IN (...) chunk to replace
    assert len(ledger.list_bench_trials("s-0001")) == 1203


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"phase": "warm-up"}, "phase 'warm-up'"), ({"status": "failed"}, "status 'failed'")],
)
def test_unknown_trial_phase_or_status_is_refused(
    ledger: Ledger, changes: dict[str, str], message: str
) -> None:
    ledger.start_bench_session(full_session())
    with pytest.raises(LedgerError, match=message) as caught:
        ledger.add_bench_trials([full_trial("t", **changes)])
    allowed = TRIAL_PHASES if "phase" in changes else TRIAL_STATUSES
    assert ", ".join(allowed) in str(caught.value)  # the message lists what is allowed
    assert ledger.list_bench_trials("s-0001") == []


def test_unknown_session_status_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="status 'done'"):
        ledger.start_bench_session(full_session(status="done"))


def test_a_session_id_is_used_once(ledger: Ledger) -> None:
    ledger.start_bench_session(full_session())
    with pytest.raises(LedgerError, match="session id already used"):
        ledger.start_bench_session(full_session())


def test_natural_runner_values_are_stored_as_json(ledger: Ledger, tmp_path: Path) -> None:
    numpy = pytest.importorskip("numpy")
    session = full_session(
        config={"data": tmp_path / "data.csv", "queries": ("q1", "q6"), "seen": {"b", "a"}},
        results=[{"energy_kwh_median": numpy.float64(1.5), "n": numpy.int64(3), "ok": numpy.True_}],
    )
    ledger.start_bench_session(session)
    stored = ledger.get_bench_session("s-0001")
    assert stored.config == {
        "data": str(tmp_path / "data.csv"),
        "queries": ["q1", "q6"],
        "seen": ["a", "b"],
    }
    assert stored.results == [{"energy_kwh_median": 1.5, "n": 3, "ok": True}]


def test_a_value_that_is_not_json_is_refused_with_its_place(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match=r"bench session s-0001: its machine.*object is not JSON"):
        ledger.start_bench_session(full_session(machine={"probe": object()}))
    assert ledger.list_bench_sessions() == []


def test_get_by_prefix_and_helpful_errors(ledger: Ledger) -> None:
    for session_id in ("abc-1", "abc-2", "abd-3"):
        ledger.finish_bench_session(full_session(session_id))
    assert ledger.get_bench_session("abd").session_id == "abd-3"
    assert ledger.get_bench_session(" abc-2 ").session_id == "abc-2"
    assert [trial.trial_id for trial in ledger.list_bench_trials("abd")] == []
    with pytest.raises(AmbiguousBenchSessionIdError, match="abc-1, abc-2") as ambiguous:
        ledger.get_bench_session("abc")
    assert ambiguous.value.bad_input
    with pytest.raises(BenchSessionNotFoundError, match="bench list") as missing:
        ledger.get_bench_session("zzz")
    assert missing.value.bad_input
    with pytest.raises(BenchSessionNotFoundError):
        ledger.list_bench_trials("zzz")
    with pytest.raises(BenchSessionNotFoundError):
        ledger.get_bench_session("  ")
    # A prefix is matched exactly: no LIKE wildcards, no case folding.
    with pytest.raises(BenchSessionNotFoundError):
        ledger.get_bench_session("a_c")
    with pytest.raises(BenchSessionNotFoundError):
        ledger.get_bench_session("ABC-1")


def test_list_sessions_newest_first_with_limit_and_workload(ledger: Ledger) -> None:
    for index, workload in enumerate(["tpch", "groupby", "tpch", "user"]):
        ledger.finish_bench_session(
            full_session(f"s{index}", workload=workload, started_at=START + timedelta(hours=index))
        )
    assert [item.session_id for item in ledger.list_bench_sessions()] == ["s3", "s2", "s1", "s0"]
    assert [item.session_id for item in ledger.list_bench_sessions(limit=2)] == ["s3", "s2"]
    assert [item.session_id for item in ledger.list_bench_sessions(workload="tpch")] == [
        "s2",
        "s0",
    ]
    assert ledger.list_bench_sessions(limit=0) == []
    assert ledger.list_bench_sessions(workload="none") == []
    with pytest.raises(UsageError):
        ledger.list_bench_sessions(limit=-1)


def test_to_dict_and_from_dict_round_trip_through_json() -> None:
    session = full_session()
    data = json.loads(json.dumps(session.to_dict()))
    assert data["started_at"] == "2026-11-05T13:00:00.123456+00:00"
    assert BenchSession.from_dict(data) == session
    trial = full_trial("t")
    assert BenchTrial.from_dict(json.loads(json.dumps(trial.to_dict()))) == trial
    bare = BenchTrial(trial_id="b", session_id="s", phase="idle", status="ok")
    assert BenchTrial.from_dict(bare.to_dict()) == bare


def test_from_dict_refuses_unknown_and_missing_fields() -> None:
    with pytest.raises(ValueError, match="not bench session fields: colour"):
        BenchSession.from_dict({**full_session().to_dict(), "colour": "green"})
    with pytest.raises(ValueError, match="incomplete bench trial"):
        BenchTrial.from_dict({"trial_id": "t", "session_id": "s", "phase": "idle"})
    naive = {**full_trial("t").to_dict(), "started_at": "2026-11-05T13:00:00"}
    assert BenchTrial.from_dict(naive).started_at == datetime(2026, 11, 5, 13, tzinfo=UTC)
