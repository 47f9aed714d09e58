"""End to end, on the real parts: the issue's must-show for ``zuinig advise``.

A decorated pandas-on-CSV job runs several times (real meter, real ledger); ``advise``
asks for a benchmark; ``zuinig bench --data FILE --job module:function`` measures the
job on its file; ``advise --json`` recommends a Parquet configuration with a positive
saving and a payback; after converting the file and switching the job, its next runs
show the realised saving.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

JOB_MODULE = "e2e_verkoop_job"
JOB_SOURCE = '''
"""An analyst's job: total sales per region, with the engine the caller names."""

import {engine}  # the engine the job uses, imported once at the top as scripts do

import zuinig


@zuinig.measure
def summarise(engine_name, path):
    if engine_name == "pandas":
        import pandas as pd

        frame = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
        totals = frame.groupby("regio", as_index=False)["bedrag"].sum()
        return totals.sort_values("regio").reset_index(drop=True)
    if engine_name == "duckdb":
        import duckdb

        reader = "read_parquet" if path.endswith(".parquet") else "read_csv_auto"
        return duckdb.sql(
            f"select regio, cast(sum(bedrag) as bigint) as bedrag from {reader}('{path}') "
            "group by regio order by regio"
        ).arrow()
    raise ValueError(f"unknown engine {engine_name}")
'''
#: Rows of the job's CSV: enough that parsing the CSV clearly costs more than reading
#: Parquet (about 4.4 MB), small enough for a quick test.
ROWS = 400_000
#: Runs of the job before and after the switch, each time in one long-lived process
#: (so the bench's repeated-call trials are the evidence; see zuinig.advise.profile._first_in_process).
RUNS = 5


def _zuinig(
    env: dict[str, str], cwd: Path, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zuinig", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def _run_job(env: dict[str, str], cwd: Path, engine: str, path: Path) -> None:
    """The job called RUNS times in one process, as a notebook or a service calls it."""
    code = (
        f"import {JOB_MODULE} as job\n"
        f"for _ in range({RUNS}):\n    job.summarise({engine!r}, {str(path)!r})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _advise(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    done = _zuinig(env, cwd, "advise", "--json")
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


@pytest.mark.slow
def test_advise_recommends_parquet_and_shows_the_realised_saving(
    sqlite_url: str, tmp_path: Path
) -> None:
    job_file = tmp_path / f"{JOB_MODULE}.py"
    job_file.write_text(textwrap.dedent(JOB_SOURCE).replace("{engine}", "pandas"))
    data = tmp_path / "verkopen.csv"
    with data.open("w") as handle:
        handle.write("regio,product,bedrag\n")
        for i in range(ROWS):
            handle.write(f"r{i % 12},p{i % 97},{(i * 7919) % 1000}\n")
    env = {
        **os.environ,
        "ZUINIG_LEDGER": sqlite_url,
        # The job module is rewritten within a second, same size: never run stale bytecode.
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }

    _run_job(env, tmp_path, "pandas", data)
    before = _advise(env, tmp_path)
    [ask] = before["recommendations"]
    assert ask["kind"] == "bench"
    assert ask["current"] == "csv + pandas"
    command = f"zuinig bench --data {data} --job {JOB_MODULE}:summarise"
    assert ask["command"] == command

    bench = _zuinig(
        env,
        tmp_path,
        *command.split()[1:],
        *("--formats", "csv,parquet-zstd", "--engines", "pandas:default,duckdb", "--repeat", "2"),
        *("--json", "--idle", "0"),
    )
    assert bench.returncode == 0, bench.stderr
    report = json.loads(bench.stdout)
    assert all(row["correct"] != "no" for row in report["results"]), report["results"]

    advice = _advise(env, tmp_path)
    [first, *_] = advice["recommendations"]
    print(json.dumps(first, indent=2))  # the report quotes it: pytest -s shows it
    assert first["kind"] == "configuration"
    assert first["job"] == f"{JOB_MODULE}.summarise"
    assert first["current"] == "csv + pandas"
    assert first["recommended"].startswith("parquet")
    assert first["saving_kwh_per_year"] > 0
    assert first["saving_kwh_per_run"] > 0
    assert first["conversion_kwh"] is not None and first["conversion_kwh"] > 0
    assert first["payback_runs"] is not None and first["payback_runs"] > 0
    assert first["payback_days"] is not None
    assert first["storage_saving_kwh_per_year"] > 0
    assert first["evidence"]["bench_session"] == report["session_id"]
    assert first["evidence"]["match"] == "same file"
    assert first["confidence"] in ("clear", "unclear", "indicative")
    # The ladder on real measurements: only clear savings, the job's own engine first.
    assert first["recommended"] not in first["tied_with"]
    efforts = [step["effort"] for step in first["steps"]]
    assert efforts == sorted(efforts, key=["one line", "rewrite"].index), efforts
    for step in first["steps"]:
        assert step["ratio_ci"][1] < 1.0 and step["saving_kwh_per_run"] > 0, step
        assert (step["effort"] == "one line") == ("+ pandas/" in step["configuration"]), step
    if first["steps"] and first["evidence"]["ratio_ci"][1] < 1.0:
        assert first["steps"][-1]["configuration"] == first["recommended"]

    # The analyst switches: the job now imports the recommended engine and reads Parquet.
    engine = first["recommended"].split(" + ")[1].split("/")[0]
    job_file.write_text(textwrap.dedent(JOB_SOURCE).replace("{engine}", engine))
    converted = _zuinig(env, tmp_path, "convert", str(data), "--to", "parquet")
    assert converted.returncode == 0, converted.stderr
    parquet = data.with_suffix(".parquet")
    assert parquet.is_file()
    _run_job(env, tmp_path, engine, parquet)

    after = _advise(env, tmp_path)
    print(json.dumps(after["realised"], indent=2))
    [realised] = after["realised"]
    assert realised["job"] == f"{JOB_MODULE}.summarise"
    assert realised["before"] == "csv + pandas"
    assert realised["after"] == f"parquet + {engine}"
    assert realised["method_match"] is True
    assert realised["runs_before"] == RUNS and realised["runs_after"] == RUNS
    assert realised["saving_kwh_per_run"] > 0
    assert realised["saving_kwh_per_year"] > 0
    assert realised["followed_recommendation"] is True
    # The switched job is judged against the benchmark of its old file: nothing to bench.
    assert all(r["kind"] != "bench" for r in after["recommendations"])
