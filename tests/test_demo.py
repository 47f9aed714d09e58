"""``zuinig demo`` (:func:`zuinig.demo.run_demo`) and its sample jobs (:mod:`zuinig.demo_jobs`).

The end-to-end test runs the real thing, small: real processes, the real meter, a real
benchmark and the report, all in a folder of its own with a ledger of its own.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from zuinig import demo
from zuinig.bench.correctness import compare
from zuinig.bench.trial import user_answer_to_arrow
from zuinig.cli.text import format_demo_result
from zuinig.config import CONFIG_FILE_ENV, Settings, load_settings
from zuinig.demo_jobs import ENGINES, SampleBatch, district_check, permits_summary, write_permits
from zuinig.errors import DemoError, UsageError
from zuinig.ledger import Ledger, default_ledger_url
from zuinig.ledger.model import KIND_CONVERT, STATUS_ERROR, STATUS_OK, RunFilter


@pytest.fixture(scope="module")
def permits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small permits CSV and its Parquet copy."""
    folder = tmp_path_factory.mktemp("permits")
    csv = write_permits(folder / "permits.csv", 20_000)
    parquet = folder / "permits.parquet"
    pq.write_table(pacsv.read_csv(csv), parquet)
    return csv, parquet


# -- the sample jobs -----------------------------------------------------------------------


def test_every_engine_gives_the_same_answer_on_csv_and_parquet(permits: tuple[Path, Path]) -> None:
    reference = user_answer_to_arrow(permits_summary("pandas", str(permits[0])))
    assert reference is not None
    assert reference.column_names == ["municipality", "year", "dwellings", "floor_area_m2"]
    assert reference.num_rows == 8 * 12  # every municipality in every year, at this size
    for engine in ENGINES:
        for path in permits:
            answer = user_answer_to_arrow(permits_summary(engine, str(path)))
            verdict = compare(reference, answer, label=f"{engine} {path.suffix}")
            assert verdict, verdict.reason


def test_the_data_is_the_same_every_time(tmp_path: Path) -> None:
    first = write_permits(tmp_path / "a.csv", 1_000).read_bytes()
    assert write_permits(tmp_path / "b.csv", 1_000).read_bytes() == first
    assert first.count(b"\n") == 1_001  # a header and one line per permit


def test_the_failing_job_fails_as_an_analyst_would_see_it(permits: tuple[Path, Path]) -> None:
    with pytest.raises(KeyError, match="district"):
        district_check("pandas", str(permits[0]))
    with pytest.raises(ValueError, match="not 'spark'"):
        permits_summary("spark", str(permits[0]))


# -- the folder and the settings -----------------------------------------------------------


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="is not empty") as caught:
        demo.run_demo(folder)
    assert "\n" not in str(caught.value)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "keep me"


def test_refuses_a_file_as_its_folder(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("")
    with pytest.raises(UsageError, match="is not a folder"):
        demo.run_demo(target)


def test_default_folder_is_new_each_time_and_named_by_the_time(tmp_path: Path) -> None:
    first = demo._make_folder(None)
    second = demo._make_folder(None)  # within the same second, most likely
    assert first != second
    for folder in (first, second):
        assert folder.parent == tmp_path  # the working directory (see conftest)
        assert re.fullmatch(r"zuinig-demo-\d{8}-\d{6}(-\d+)?", folder.name)


def test_settings_file_gives_child_processes_the_same_settings(tmp_path: Path) -> None:
    settings = Settings(
        ledger=f"sqlite:///{tmp_path / 'ledger.db'}",
        cpu_power_w=65.0,
        pue=1.4,
        intensity_g_per_kwh=328.0,
        intensity_source='CBS 2024, "grijze" mix \\ één',
        tracking_mode="machine",
    )
    path = demo._write_settings(settings, tmp_path / "zuinig.toml")
    assert load_settings(environ={CONFIG_FILE_ENV: str(path)}) == settings


def test_child_processes_ignore_the_users_zuinig_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZUINIG_LEDGER", "sqlite:////somewhere/real.db")
    monkeypatch.setenv("ZUINIG_PARENT_RUN_ID", "an-outer-run")
    env = demo._child_environment(tmp_path / "zuinig.toml")
    assert env[CONFIG_FILE_ENV] == str(tmp_path / "zuinig.toml")
    assert not {"ZUINIG_LEDGER", "ZUINIG_PARENT_RUN_ID"} & set(env)


# -- failures --------------------------------------------------------------------------------


def test_a_failing_step_is_one_line_naming_the_demo_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(path: Path, rows: int) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(demo, "write_permits", disk_full)
    with pytest.raises(DemoError) as caught:
        demo.run_demo(tmp_path / "demo", settings=Settings())
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("demo: could not generate the data: ")
    assert "No space left on device" in message
    assert f"sqlite:///{tmp_path / 'demo' / 'ledger.db'}" in message


def test_a_failing_sample_process_keeps_the_runs_it_measured(tmp_path: Path) -> None:
    csv = write_permits(tmp_path / "permits.csv", 5_000)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    config = demo._write_settings(Settings(ledger=url), tmp_path / "zuinig.toml")
    batches = [
        SampleBatch("goed", "ruimte", "permits_summary", "pandas", str(csv), 2),
        SampleBatch("stuk", "ruimte", "no_such_function", "pandas", str(csv), 1),
    ]
    with pytest.raises(DemoError, match=r"sample jobs goed, stuk failed: KeyError") as caught:
        demo._run_batches(batches, config, url)
    assert url in str(caught.value)
    with Ledger.open(url) as ledger:
        runs = ledger.list_runs(RunFilter(job="goed"))
    assert [run.status for run in runs] == [STATUS_OK, STATUS_OK]
    assert all(run.energy_kwh and run.energy_kwh > 0 for run in runs)


# -- end to end -----------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    result = demo.run_demo(tmp_path / "demo", progress=lines.append, rows=50_000, repeat=1)

    assert result.folder == (tmp_path / "demo").resolve()
    assert result.ledger_url == f"sqlite:///{result.folder / 'ledger.db'}"
    for step in ("1/5", "2/5", "3/5", "4/5", "5/5"):
        assert any(line.startswith(step) for line in lines), (step, lines)
    for path in (*result.data_paths, result.advice_path, *result.report_paths):
        assert path.is_file() and path.stat().st_size > 0, path
        assert result.folder in path.parents
    assert [p.suffix for p in result.data_paths] == [".csv", ".parquet"]
    assert {p.suffix for p in result.report_paths} == {".html", ".pdf", ".csv"}
    assert all(p.parent == result.folder / "report" for p in result.report_paths)
    assert len(result.report_paths) == len(demo.REPORT_LANGUAGES) * len(demo.REPORT_FORMATS)

    with Ledger.open(result.ledger_url) as ledger:
        assert ledger.count_runs() == result.runs_recorded

        def runs_of(job: str) -> list[tuple[str, str, tuple[str, ...]]]:
            return [
                (run.status, run.tags["team"], tuple(sorted(run.engines)))
                for run in ledger.list_runs(RunFilter(job=job))
            ]

        monitor = runs_of(demo.JOB_MONITOR)
        assert len(monitor) == 5
        # Each batch ran in a process of its own: only the engine it used was loaded.
        assert {status for status, *_ in monitor} == {STATUS_OK}
        assert {team for _, team, _ in monitor} == {demo.TEAM_SPACE}
        assert all("pandas" in engines and "polars" not in engines for *_, engines in monitor)
        quarterly = runs_of(demo.JOB_QUARTERLY)
        assert len(quarterly) == 6 and {s for s, *_ in quarterly} == {STATUS_OK}
        assert sum("duckdb" in engines for *_, engines in quarterly) == 3
        dashboard = runs_of(demo.JOB_DASHBOARD)
        assert len(dashboard) == 4 and all("polars" in engines for *_, engines in dashboard)
        [failed] = ledger.list_runs(RunFilter(job=demo.JOB_DISTRICTS))
        assert failed.status == STATUS_ERROR
        assert failed.error_type is not None and "KeyError" in failed.error_type
        assert result.failed_runs == 1
        assert [run.kind for run in ledger.list_runs()].count(KIND_CONVERT) == 1
        session = ledger.get_bench_session(result.bench_session_id)
        assert session.workload == "user"
        assert session.config["job"] == demo.BENCH_JOB
        trials = ledger.list_bench_trials(result.bench_session_id)
        assert trials and all(trial.status == "ok" for trial in trials)
        measured = sum(len(batch) for batch in (monitor, quarterly, dashboard)) + 1
        assert result.runs_recorded > measured + 1  # plus the conversion and the bench's runs

    advice = json.loads((result.folder / "advice.json").read_text())
    [monitor_advice, *_] = [r for r in advice["recommendations"] if r["job"] == demo.JOB_MONITOR]
    assert monitor_advice["current"] == "csv + pandas"
    text = result.advice_path.read_text()
    if monitor_advice["kind"] == "configuration":
        assert monitor_advice["evidence"]["bench_session"] == result.bench_session_id
        assert f"{demo.JOB_MONITOR}: csv + pandas -> " in text
    else:  # the benchmark found nothing better: then advise asks for one on the data
        assert "zuinig bench --data" in text
    assert any(r["job"] == demo.JOB_QUARTERLY for r in advice["realised"])
    # The month's report shows the same expected savings as `zuinig advise` (it counts a
    # job's runs per month from its first run, as advise does, up to today).
    from zuinig.report.aggregate import build_report

    with Ledger.open(result.ledger_url) as ledger:
        report = build_report(ledger, Settings(), month=result.month)
    in_report = {(r.job, r.kind, r.recommended): r for r in report.recommendations}
    for item in advice["recommendations"]:
        mine = in_report[(item["job"], item["kind"], item["recommended"])]
        if item["saving_kwh_per_year"] is None:
            assert mine.saving_kwh_per_year is None
        else:
            assert mine.saving_kwh_per_year == pytest.approx(item["saving_kwh_per_year"], rel=1e-3)

    # The user's own ledger got nothing from the demo.
    default = Path(default_ledger_url().removeprefix("sqlite:///"))
    if default.exists():
        with Ledger.open(default_ledger_url()) as ledger:
            assert ledger.count_runs(RunFilter(job=demo.JOB_MONITOR)) == 0
    summary = "\n".join(format_demo_result(result))
    assert f"zuinig --ledger {result.ledger_url} runs list" in summary
    assert str(result.advice_path) in summary
