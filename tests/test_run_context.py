"""Scheduler and CI context as tags: the rules, the Recorder, and ``zuinig run`` for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import zuinig
from zuinig.config import load_settings
from zuinig.ledger import Ledger
from zuinig.ledger.model import RunFilter
from zuinig.ledger.storable import storable_text
from zuinig.measure import Recorder
from zuinig.measure.command import run_command
from zuinig.meter import ReplayMeter
from zuinig.report.aggregate import build_report
from zuinig.run_context import ENVIRONMENT_VARIABLES, RULES, run_context

AIRFLOW = {
    "AIRFLOW_CTX_DAG_ID": "woningbouw",
    "AIRFLOW_CTX_TASK_ID": "laden",
    "AIRFLOW_CTX_DAG_RUN_ID": "scheduled__2026-11-30T00:00:00+00:00",
}


# -- the rules ------------------------------------------------------------------------------


def test_no_scheduler_no_tags_and_no_job() -> None:
    found = run_context({"PATH": "/usr/bin", "HOME": "/home/x"})
    assert (dict(found.tags), found.job) == ({}, None)


def test_airflow_gives_its_tags_and_dag_dot_task() -> None:
    found = run_context(AIRFLOW)
    assert dict(found.tags) == {
        "orchestrator": "airflow",
        "dag": "woningbouw",
        "task": "laden",
        "run_id": "scheduled__2026-11-30T00:00:00+00:00",
    }
    assert found.job == "woningbouw.laden"


@pytest.mark.parametrize(
    ("environ", "tags", "job"),
    [
        pytest.param(
            {"PREFECT__FLOW_RUN_ID": "0f3c"},
            {"orchestrator": "prefect", "run_id": "0f3c"},
            None,
            id="prefect",
        ),
        pytest.param(
            {
                "DAGSTER_RUN_JOB_NAME": "nightly",
                "DAGSTER_RUN_STEP_KEY": "load",
                "DAGSTER_RUN_ID": "r1",
            },
            {"orchestrator": "dagster", "dag": "nightly", "task": "load", "run_id": "r1"},
            "nightly.load",
            id="dagster-step",
        ),
        pytest.param(
            {"DAGSTER_RUN_JOB_NAME": "nightly"},
            {"orchestrator": "dagster", "dag": "nightly"},
            "nightly",
            id="dagster-run",
        ),
        pytest.param(
            {"SLURM_JOB_ID": "4711", "SLURM_JOB_NAME": "tellen"},
            {"orchestrator": "slurm", "run_id": "4711", "task": "tellen"},
            "tellen",
            id="slurm",
        ),
        pytest.param(
            {
                "GITLAB_CI": "true",
                "CI_PROJECT_PATH": "provincie/data",
                "CI_PIPELINE_ID": "991",
                "CI_JOB_NAME": "nachtrun",
                "CI_JOB_ID": "12345",
            },
            {
                "ci": "gitlab",
                "project": "provincie/data",
                "pipeline": "991",
                "ci_job": "nachtrun",
                "ci_job_id": "12345",
            },
            "nachtrun",
            id="gitlab",
        ),
        pytest.param(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_REPOSITORY": "provincie/data",
                "GITHUB_WORKFLOW": "nightly",
                "GITHUB_RUN_ID": "77",
                "GITHUB_JOB": "load",
            },
            {
                "ci": "github",
                "project": "provincie/data",
                "workflow": "nightly",
                "pipeline": "77",
                "ci_job": "load",
            },
            "nightly.load",
            id="github",
        ),
    ],
)
def test_each_scheduler(environ: dict[str, str], tags: dict[str, str], job: str | None) -> None:
    found = run_context(environ)
    assert (dict(found.tags), found.job) == (tags, job)


def test_a_variable_without_its_marker_is_not_a_context() -> None:
    # CI_JOB_ID alone (set by hand, or another tool's) does not say GitLab runs the job.
    assert dict(run_context({"CI_JOB_ID": "1", "AIRFLOW_CTX_TASK_ID": "t"}).tags) == {}


def test_empty_values_give_no_tag() -> None:
    found = run_context({"AIRFLOW_CTX_DAG_ID": "d", "AIRFLOW_CTX_TASK_ID": "  "})
    assert dict(found.tags) == {"orchestrator": "airflow", "dag": "d"}
    assert found.job is None  # dag.task needs both parts
    assert dict(run_context({"AIRFLOW_CTX_DAG_ID": " "}).tags) == {}


def test_a_scheduler_inside_ci_keeps_both_and_the_scheduler_names_the_job() -> None:
    found = run_context({"SLURM_JOB_ID": "9", "GITLAB_CI": "true", "CI_JOB_NAME": "hpc"})
    assert dict(found.tags) == {
        "orchestrator": "slurm",
        "run_id": "9",
        "ci": "gitlab",
        "ci_job": "hpc",
    }
    assert found.job == "hpc"  # Slurm's rule has no job name here (no SLURM_JOB_NAME)


def test_every_variable_read_is_listed_for_the_tests_to_clear() -> None:
    read = {rule.marker for rule in RULES} | {v for rule in RULES for _, v in rule.tags}
    assert read == ENVIRONMENT_VARIABLES
    assert not ENVIRONMENT_VARIABLES & set(os.environ)  # conftest cleared them


# -- applied by the Recorder ----------------------------------------------------------------


@pytest.fixture
def recorder(sqlite_url: str) -> Recorder:
    return Recorder(ledger_url=sqlite_url, meter=ReplayMeter(energy_kwh=1e-6))


def test_user_tags_win_over_context_tags(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in AIRFLOW.items():
        monkeypatch.setenv(name, value)

    @zuinig.measure(tags={"task": "mine", "team": "ruimte"}, recorder=recorder)
    def job() -> int:
        return 1

    assert job() == 1
    run = job.last_run  # type: ignore[attr-defined]
    assert run.job.endswith("test_user_tags_win_over_context_tags.<locals>.job")
    assert dict(run.tags) == {
        "orchestrator": "airflow",
        "dag": "woningbouw",
        "task": "mine",
        "run_id": AIRFLOW["AIRFLOW_CTX_DAG_RUN_ID"],
        "team": "ruimte",
    }


def test_a_with_block_without_job_is_named_after_the_task(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    with zuinig.measure(recorder=recorder) as unnamed:
        pass
    assert unnamed.run is not None and unnamed.run.job == "unnamed"
    for name, value in AIRFLOW.items():
        monkeypatch.setenv(name, value)
    with zuinig.measure(recorder=recorder) as in_airflow:
        pass
    with zuinig.measure(job="eigen", recorder=recorder) as named:
        pass
    assert in_airflow.run is not None and in_airflow.run.job == "woningbouw.laden"
    assert named.run is not None and named.run.job == "eigen"
    assert named.run.tags["dag"] == "woningbouw"


def test_run_command_job_given_wins_over_the_task(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in AIRFLOW.items():
        monkeypatch.setenv(name, value)
    assert run_command(["true"], recorder=recorder).run.job == "woningbouw.laden"
    assert run_command(["true"], job="eigen", recorder=recorder).run.job == "eigen"


# -- must show: the real CLI, a real SQLite ledger, then the report by dag ------------------


def _zuinig_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zuinig", "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_zuinig_run_in_an_airflow_task_records_dag_dot_task_and_tags(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "ZUINIG_LEDGER": sqlite_url}
    done = _zuinig_run({**env, "AIRFLOW_CTX_DAG_ID": "d", "AIRFLOW_CTX_TASK_ID": "t"}, "--", "true")
    assert done.returncode == 0, done.stderr
    other = _zuinig_run(
        {**env, "AIRFLOW_CTX_DAG_ID": "e", "AIRFLOW_CTX_TASK_ID": "u"},
        "--tag",
        "task=own",
        "--",
        "true",
    )
    assert other.returncode == 0, other.stderr

    listed = subprocess.run(
        [sys.executable, "-m", "zuinig", "runs", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    runs: list[dict[str, Any]] = json.loads(listed.stdout)
    by_job = {run["job"]: run for run in runs}
    assert set(by_job) == {"d.t", "e.u"}
    assert by_job["d.t"]["tags"] == {"orchestrator": "airflow", "dag": "d", "task": "t"}
    assert by_job["e.u"]["tags"] == {"orchestrator": "airflow", "dag": "e", "task": "own"}
    assert all(run["status"] == "ok" and run["kind"] == "command" for run in runs)

    # The monthly report groups by the dag tag (--team-tag dag), through the CLI and the library.
    month = datetime.now(UTC).strftime("%Y-%m")
    report = subprocess.run(
        [
            *(sys.executable, "-m", "zuinig", "report", "--month", month, "--format", "csv"),
            *("--team-tag", "dag", "--out", str(tmp_path / "out")),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr
    with Ledger.open(sqlite_url) as ledger:
        assert len(ledger.list_runs(RunFilter(tags={"dag": "d"}))) == 1
        built = build_report(ledger, load_settings(), month=month, team_tag="dag")
    assert {team.name for team in built.teams} == {"d", "e"}
    assert all(team.totals.runs == 1 for team in built.teams)
    (csv_path,) = (tmp_path / "out").glob("*.csv")
    team_lines = [
        line
        for line in csv_path.read_text(encoding="utf-8").splitlines()
        if line.startswith("team,")
    ]
    assert any(",d,runs,1," in line for line in team_lines), team_lines
    assert any(",e,runs,1," in line for line in team_lines), team_lines


def test_context_values_pass_the_ledgers_storable_rule(
    recorder: Recorder, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A byte that is not UTF-8 in a variable reaches Python as a lone surrogate, which
    # no database stores as it is: the ledger's one rule escapes it, nothing is lost.
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "dag\udcff")
    monkeypatch.setenv("AIRFLOW_CTX_TASK_ID", "t")
    with zuinig.measure(recorder=recorder):
        pass
    assert recorder.flush()
    with Ledger.open(sqlite_url) as ledger:
        (run,) = ledger.list_runs(RunFilter())
    assert run.tags["dag"] == storable_text("dag\udcff") != "dag\udcff"
    assert run.job == storable_text("dag\udcff.t")
