"""``zuinig bench``: bad input in one line; real sessions with real trial processes (slow)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from zuinig.bench.runner import BenchReport
from zuinig.bench.text import format_table, is_estimated
from zuinig.cli import AppState, cli
from zuinig.ledger import Ledger
from zuinig.ledger.model import KIND_BENCH, RunFilter
from zuinig.units import energy_unit, format_number

#: Where the test engines live; the runner hands its import path to its trial processes.
HELPERS = Path(__file__).parent / "bench"


def _invoke(args: list[str], sqlite_url: str) -> Any:
    return CliRunner().invoke(cli, ["--ledger", sqlite_url, "bench", *args], obj=AppState())


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--engines", "nosuch"], "unknown engine 'nosuch'"),
        (["--formats", "csv,xlsx"], "xlsx"),
        (["--memory-limit", "lots"], "is not a size"),
        (["--threads", "0"], "thread count"),
        (["--data", "missing.csv", "--job", "m:f"], "is not a file"),
        (["--data", "x.csv"], "--job"),
        (["--tag", "team"], "is not key=value"),
        (["--tag", "phase=x"], "the bench sets the tag phase itself"),
        (["--timeout", "nan"], "--timeout must be above 0"),
        (["--timeout", "inf"], "--timeout must be above 0"),
        (["--timeout", "1e400"], "--timeout must be above 0"),
        (["--threads", "100000"], "--threads 100000 is out of range"),
        (["--formats", ""], "--formats is empty"),
        (["--formats", " , "], "--formats is empty"),
        (["--engines", ""], "--engines is empty"),
        (["--queries", ""], "--queries is empty"),
        (["--repeat", "1000000"], "--repeat must be from 1 to 1000"),
        (["--repeat", "0"], "--repeat"),
        (["--scale", "1e9"], "--scale must be above 0 and at most 100000"),
        (["--scale", "nan"], "--scale must be above 0"),
        (["--workload", "groupby", "--rows", "-1"], "--rows"),
        (["--workload", "groupby", "--rows", str(2**70)], "--rows must be from 1 to"),
        (["--memory-limit", "1000000TB"], "more than this machine's memory"),
        (["--memory-limit", "0"], "not a size above zero"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    args: list[str], says: str, sqlite_url: str, tmp_path: Path
) -> None:
    (tmp_path / "x.csv").write_text("a\n1\n")
    result = _invoke(args, sqlite_url)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and says in lines[0]


def test_huge_group_by_data_is_refused_in_one_line_before_anything_is_allocated(
    sqlite_url: str, tmp_path: Path
) -> None:
    # A wrapper process reports the peak memory of its only child, the real CLI.
    wrapper = (
        "import resource, subprocess, sys; "
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "sys.stdout.write(done.stderr); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "sys.exit(done.returncode)"
    )
    command = [sys.executable, "-m", "zuinig", "--ledger", sqlite_url, "bench"]
    command += ["--workload", "groupby", "--rows", "1000000000000"]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *command],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    *lines, peak_kib = done.stdout.strip().splitlines()
    assert done.returncode == 2, done.stdout
    assert len(lines) == 1 and "1,000,000,000,000 rows needs" in lines[0], lines
    assert "give a smaller --rows" in lines[0]
    # Importing zuinig, pyarrow and numpy takes about 150 MB; the ids alone would take 850 GB.
    assert int(peak_kib) * 1024 < 500 * 10**6
    assert not list((tmp_path / "cache").rglob("*.parquet"))


def _bench(
    sqlite_url: str, *args: str, timeout: float = 600, idle: bool = False
) -> subprocess.CompletedProcess[str]:
    """``zuinig bench ARGS`` in a process of its own; without the idle baseline (3 s of
    waiting) unless ``idle``: only the tests that read the baseline measure it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HELPERS), *sys.path])}
    return subprocess.run(
        [
            *(sys.executable, "-m", "zuinig", "--ledger", sqlite_url, "bench", *args),
            *(() if idle else ("--idle", "0")),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


@dataclass(frozen=True)
class Session:
    """One real ``zuinig bench`` process, done, and the ledger it wrote to."""

    done: subprocess.CompletedProcess[str]
    ledger_url: str


@pytest.fixture(scope="module")
def issue_matrix(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """The issue's matrix, run once for the module: the slowest real session of the suite.

    Several tests read it, each for its own part (the figures and the ledger, the model
    range, the table's units), instead of each running a smaller session of its own.
    Its ledger is only read by them.
    """
    url = f"sqlite:///{tmp_path_factory.mktemp('issue-matrix') / 'ledger.sqlite'}"
    done = _bench(
        url,
        *("--workload", "tpch", "--scale", "0.01", "--formats", "csv,parquet-zstd"),
        *("--engines", "pandas,polars,duckdb", "--repeat", "2", "--json"),
        idle=True,
    )
    return Session(done, url)


@pytest.mark.slow
def test_the_issue_matrix_completes_with_figures_intervals_ratios_and_correct_answers(
    issue_matrix: Session,
) -> None:
    done, sqlite_url = issue_matrix.done, issue_matrix.ledger_url
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # exactly one JSON object on stdout
    assert {"session_id", "workload", "scale", "machine", "method", "results"} <= set(report)
    assert len(report["results"]) == 2 * 6 * 6  # formats x engine modes x queries
    for row in report["results"]:
        assert row["status"] == "ok" and row["correct"] == "yes", row
        assert row["energy_kwh_median"] > 0
        low, high = row["energy_kwh_ci"]
        assert low <= row["energy_kwh_median"] <= high
        assert row["ratio_vs_baseline"] > 0 and len(row["ratio_vs_baseline_ci"]) == 2
    with Ledger.open(sqlite_url) as ledger:
        session = ledger.get_bench_session(report["session_id"])
        trials = ledger.list_bench_trials(session.session_id)
        runs = {run.run_id: run for run in ledger.list_runs()}
    assert session.status == "ok" and session.results
    phases = {trial.phase for trial in trials}
    assert phases == {"prepare", "idle", "import", "warmup", "measured"}
    measured = [t for t in trials if t.phase == "measured"]
    assert len(measured) == 2 * 6 * 6 * 2 and all(t.correct is True for t in measured)
    assert all(runs[t.run_id].kind == "bench" for t in measured if t.run_id)
    assert runs[measured[0].run_id or ""].tags["session"] == session.session_id


@pytest.mark.slow
def test_a_wrong_engine_is_disqualified_loudly(sqlite_url: str) -> None:
    done = _bench(
        sqlite_url,
        *("--scale", "0.01", "--formats", "parquet-zstd", "--queries", "q1,q6"),
        *("--engines", "bench_helpers:WrongEngine,duckdb,polars:lazy", "--repeat", "1"),
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING: DISQUALIFIED parquet-zstd + wrong/default" in done.stderr
    assert "WARNING: DISQUALIFIED parquet-zstd + wrong/default" in done.stdout
    assert "DISQUALIFIED parquet-zstd + duckdb" not in done.stdout


@pytest.fixture(scope="module")
def over_the_limits(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """One session with an engine over the memory limit, one over the timeout and one
    within both, run once for the two tests that read it (one per limit)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('over-the-limits') / 'ledger.sqlite'}"
    done = _bench(
        url,
        *("--scale", "0.01", "--formats", "parquet-zstd", "--queries", "q6", "--repeat", "1"),
        *("--engines", "runner_helpers:HogEngine,runner_helpers:SleepyEngine,duckdb"),
        *("--memory-limit", "700MB", "--timeout", "8", "--json"),
    )
    return Session(done, url)


@pytest.mark.slow
def test_over_the_memory_limit_is_oom_and_the_matrix_completes(over_the_limits: Session) -> None:
    done = over_the_limits.done
    assert done.returncode == 0, done.stderr
    rows = {row["engine"]: row for row in json.loads(done.stdout)["results"]}
    assert rows["hog"]["status"] == "oom" and "memory limit" in rows["hog"]["reason"]
    assert rows["duckdb"]["status"] == "ok" and rows["duckdb"]["energy_kwh_median"] > 0


@pytest.mark.slow
def test_over_the_timeout_is_timeout(over_the_limits: Session) -> None:
    done, sqlite_url = over_the_limits.done, over_the_limits.ledger_url
    assert done.returncode == 0, done.stderr
    rows = {row["engine"]: row for row in json.loads(done.stdout)["results"]}
    assert rows["sleepy"]["status"] == "timeout"
    assert rows["duckdb"]["status"] == "ok"
    with Ledger.open(sqlite_url) as ledger:
        session = ledger.list_bench_sessions(limit=1)[0]
        statuses = {t.status for t in ledger.list_bench_trials(session.session_id)}
    assert "timeout" in statuses


@pytest.mark.slow
def test_ctrl_c_keeps_completed_trials_and_marks_the_session_interrupted(sqlite_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HELPERS), *sys.path])}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "zuinig", "--ledger", sqlite_url, "bench"),
            *("--scale", "0.01", "--formats", "parquet-zstd", "--queries", "q6"),
            *("--engines", "duckdb,polars:lazy", "--repeat", "30", "--json", "--idle", "0"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        measured = _wait_for_measured_trials(sqlite_url, at_least=2, deadline_s=240)
        assert measured >= 2, "no trial completed in time"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    report = json.loads(stdout)
    assert report["status"] == "interrupted"
    assert 2 <= report["completed_trials"] < report["planned_trials"]
    with Ledger.open(sqlite_url) as ledger:
        session = ledger.get_bench_session(report["session_id"])
        trials = ledger.list_bench_trials(session.session_id)
    assert session.status == "interrupted"
    assert sum(1 for t in trials if t.phase == "measured" and t.status == "ok") >= 2


def _wait_for_measured_trials(sqlite_url: str, at_least: int, deadline_s: float) -> int:
    deadline = time.monotonic() + deadline_s
    count = 0
    while time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            with Ledger.open(sqlite_url) as ledger:
                sessions = ledger.list_bench_sessions(limit=1)
                if sessions:
                    trials = ledger.list_bench_trials(sessions[0].session_id)
                    count = sum(1 for t in trials if t.phase == "measured")
        except Exception:  # the ledger is being created by the bench process
            continue
        if count >= at_least:
            break
    return count


@pytest.mark.slow
def test_your_own_file_and_job_run_in_every_format(sqlite_url: str, tmp_path: Path) -> None:
    data = tmp_path / "sales.csv"
    data.write_text("region,amount\n" + "".join(f"r{i % 7},{i * 1.5}\n" for i in range(2000)))
    done = _bench(
        sqlite_url,
        *("--data", str(data), "--job", "runner_helpers:count_rows"),
        *("--engines", "duckdb,polars:lazy", "--repeat", "1", "--json"),
        *("--tag", "team=ruimte"),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["workload"] == "user"
    assert report["idle_baseline"] is None  # --idle 0 skips it
    # Every run of the session belongs to the team that asked for it (for the report).
    with Ledger.open(sqlite_url) as ledger:
        bench_runs = ledger.list_runs(RunFilter(kind=KIND_BENCH))
    assert bench_runs and all(run.tags.get("team") == "ruimte" for run in bench_runs)
    rows = report["results"]
    assert {row["format"] for row in rows} == {"csv", "parquet-zstd", "arrow-lz4"}
    assert all(row["query"] == "count_rows" and row["status"] == "ok" for row in rows)
    assert all(row["correct"] == "yes" for row in rows)  # the returned tables were compared


def _zuinig_command() -> list[str]:
    """The installed ``zuinig`` script, as users run it; else ``python -P -m zuinig``
    (``-P`` because ``python -m`` itself puts the working folder on the import path)."""
    script = Path(sys.executable).with_name("zuinig")
    return [str(script)] if script.is_file() else [sys.executable, "-P", "-m", "zuinig"]


@pytest.mark.slow
def test_modules_in_the_working_folder_never_stand_in_for_an_engine(
    sqlite_url: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for name in ("pandas", "duckdb", "polars", "pyarrow", "numpy", "zuinig"):
        (work / f"{name}.py").write_text(f"open({f'MARKER-{name}'!r}, 'w').write('ran')\n")
    (work / "data.csv").write_text("k,v\na,1\nb,2\na,3\n")
    # The job's own module and the helper beside it are found: deliberately, by path.
    (work / "myjob.py").write_text(
        "from helper import count\n\n\ndef job(engine, path):\n    return count(path)\n"
    )
    (work / "helper.py").write_text("def count(path):\n    return 3\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and Path(p) != work),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    common = ["--engines", "duckdb", "--repeat", "1", "--json", "--idle", "0"]
    for args in (
        ["--data", "data.csv", "--job", "myjob:job", "--formats", "csv", *common],
        ["--workload", "groupby", "--rows", "1000", "--queries", "q1", *common],
        ["--data", "data.csv", "--job", "./myjob.py:job", "--formats", "csv", *common],
    ):
        done = subprocess.run(
            [*_zuinig_command(), "--ledger", sqlite_url, "bench", *args],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=work,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        rows = json.loads(done.stdout)["results"]
        assert rows and all(row["status"] == "ok" for row in rows), rows
        assert not list(work.glob("MARKER-*")), args


def test_a_job_module_that_is_nowhere_is_one_line(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a\n1\n")
    result = _invoke(["--data", str(tmp_path / "x.csv"), "--job", "no_such_module:f"], sqlite_url)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "cannot find the job's module 'no_such_module'" in lines[0]
    result = _invoke(["--data", str(tmp_path / "x.csv"), "--job", "nowhere/j.py:f"], sqlite_url)
    assert result.exit_code == 2 and "does not exist" in result.output


#: The user's job of the issue: group by k and sum v, in each engine's own words; and one
#: that returns the file as the engine reads it (for a file without rows).
USER_JOBS = """
def _frame(engine, path):
    if engine == "pandas":
        import pandas as pd
        if path.endswith(".parquet"):
            return pd.read_parquet(path)
        return pd.read_feather(path) if path.endswith(".arrow") else pd.read_csv(path)
    if engine == "polars":
        import polars as pl
        if path.endswith(".parquet"):
            return pl.read_parquet(path)
        return pl.read_ipc(path) if path.endswith(".arrow") else pl.read_csv(path)
    import duckdb
    import pyarrow.feather
    if path.endswith(".arrow"):
        return duckdb.arrow(pyarrow.feather.read_table(path))
    reader = "read_parquet" if path.endswith(".parquet") else "read_csv"
    return duckdb.sql(f"select * from {reader}('{path}')")


def sum_by_k(engine, path):
    frame = _frame(engine, path)
    if engine == "pandas":
        return frame.groupby("k", dropna=False, as_index=False)["v"].sum()
    if engine == "polars":
        import polars as pl
        return frame.group_by("k").agg(pl.col("v").sum())
    return frame.aggregate("k, sum(v) as v").arrow()


def as_read(engine, path):
    frame = _frame(engine, path)
    return frame if engine != "duckdb" else frame.arrow()
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lines", "job"),
    [(["k,v", "a,1", ",2", "a,", "b,4"], "sum_by_k"), (["k,v"], "as_read")],
)
def test_correct_engines_are_never_disqualified_on_your_own_file(
    sqlite_url: str, tmp_path: Path, lines: list[str], job: str
) -> None:
    data = tmp_path / "kv.csv"
    data.write_text("\n".join(lines) + "\n")
    (tmp_path / "jobs.py").write_text(USER_JOBS)
    done = _bench(
        sqlite_url,
        *("--data", str(data), "--job", f"{tmp_path / 'jobs.py'}:{job}"),
        *("--engines", "pandas,polars,duckdb", "--repeat", "1", "--json"),
        *("--formats", "csv,parquet-zstd,arrow-lz4"),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "DISQUALIFIED" not in done.stderr and not report["disqualified"]
    rows = report["results"]
    assert len(rows) == 3 * 6  # formats x engine modes
    assert all(row["status"] == "ok" and row["correct"] == "yes" for row in rows), rows


@pytest.mark.slow
def test_a_real_session_carries_the_model_range_into_json_table_and_ledger(
    issue_matrix: Session,
) -> None:
    """Issue 11, item 4: each configuration's median low and high of the meter's range
    reach the ``--json`` output, the stored results and the table when estimated; a
    session measured with RAPL shows no range."""
    done, sqlite_url = issue_matrix.done, issue_matrix.ledger_url
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    table = "\n".join(format_table(BenchReport.from_dict(report)))
    if not is_estimated(report["method"]):
        assert "model range" not in table
        return
    for row in [*report["results"], *report["totals"]]:
        low, high = row["energy_kwh_low_median"], row["energy_kwh_high_median"]
        assert low is not None and high is not None, row
        # the median is monotone, so each end stays on its side of the median energy
        assert 0 < low <= row["energy_kwh_median"] <= high, row
        assert low < high, row
    # The table's one energy unit is that of its largest figure: a median, interval or range end.
    largest = max(
        max(row["energy_kwh_median"], row["energy_kwh_ci"][1], row["energy_kwh_high_median"])
        for row in report["totals"]
    )
    factor, unit = energy_unit(largest)
    assert f"model range ({unit})" in table
    for row in report["totals"]:
        line = next(line for line in table.splitlines() if row["label"] in line)
        low, high = row["energy_kwh_low_median"], row["energy_kwh_high_median"]
        assert f"between {format_number(low * factor)} and {format_number(high * factor)}" in line
    with Ledger.open(sqlite_url) as ledger:
        session = ledger.get_bench_session(report["session_id"])
    assert [r["energy_kwh_low_median"] for r in session.results or ()] == [
        r["energy_kwh_low_median"] for r in report["results"]
    ]


#: A figure in exponent notation, as Python writes a small float: ``8.2e-10``, ``1e+03``.
# Python writes an exponent with its sign (1e-06, 1.5e+20); a hex session id such as
# b87417e1 has none, and matched by chance when the sign was optional.
EXPONENT = re.compile(r"\d(?:\.\d+)?e[-+]\d", re.IGNORECASE)


@pytest.mark.slow
def test_a_real_tiny_session_table_has_no_figure_in_exponent_notation(
    issue_matrix: Session,
) -> None:
    """A tiny job uses a millionth of a kWh or less: the table shows it in a unit a
    person reads (µWh, mWh), never as ``8.2e-10``, in its cells and its sentences."""
    done = issue_matrix.done
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert all(row["energy_kwh_median"] is not None for row in report["totals"]), report
    for per_query in (False, True):
        lines = format_table(BenchReport.from_dict(report), per_query=per_query)
        header = next(line for line in lines if line.startswith("configuration"))
        assert re.search(r"energy \((µWh|mWh|Wh|kWh)\) \[95% CI\]", header), header
        offending = [line for line in lines if EXPONENT.search(line)]
        assert not offending, "\n".join(lines)


def test_the_idle_options_help_names_the_default_the_runner_uses() -> None:
    from zuinig.bench.runner import DEFAULT_IDLE_S

    shown = CliRunner().invoke(cli, ["bench", "--help"], obj=AppState(), terminal_width=200)
    assert shown.exit_code == 0
    assert f"0 skips it. Default: {DEFAULT_IDLE_S:g}." in " ".join(shown.stdout.split())
