"""The ``zuinig`` command line: commands, output formats, and one line per error.

Fast tests drive the click group in-process with a replay meter injected through
:class:`zuinig.cli.AppState`; the end-to-end tests at the bottom start the real
``python -m zuinig`` (with the real meter) to check streams, exit codes and signals.
"""

from __future__ import annotations

import csv
import json
import os
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from zuinig.cli import AppState, cli, format_run, format_run_summary, format_runs_table
from zuinig.ledger import Ledger
from zuinig.ledger.model import RUN_FIELDS, Run
from zuinig.meter import ReplayMeter
from zuinig.meter.base import CPU_METHOD_CPU_LOAD, Meter, Method

#: The names the issue asks ``runs list --json`` to carry (DESIGN names and units).
DESIGN_KEYS = {
    "run_id",
    "job",
    "tags",
    "status",
    "started_at",
    "ended_at",
    "duration_s",
    "energy_kwh",
    "cpu_energy_kwh",
    "ram_energy_kwh",
    "co2_kg",
    "intensity_g_per_kwh",
    "method_cpu",
    "cpu_s",
    "peak_rss_bytes",
    "read_bytes",
    "written_bytes",
    "power_w",
    "inputs",
    "engines",
}

ESTIMATED_METHOD = Method(
    meter="codecarbon 3.3.2",
    cpu_method=CPU_METHOD_CPU_LOAD,
    cpu_model="AMD EPYC",
    cpu_tdp_w=8.0,
    cpu_tdp_is_generic=True,
    cpu_count=2,
    ram_model="constant from memory size",
    ram_power_w=3.0,
    tracking_mode="process",
    pue=1.0,
    intensity_g_per_kwh=268.0,
    intensity_source="CodeCarbon offline data (NLD)",
    intensity_year=2023,
    country_iso_code="NLD",
)


class EstimatingReplayMeter(ReplayMeter):
    """A replay meter whose method is a CodeCarbon-like estimate on an unknown CPU."""

    def method(self) -> Method:
        return ESTIMATED_METHOD


def make_replay_meter(energy_kwh: float = 2e-6) -> Meter:
    """Every window: the same energy, estimated as CodeCarbon would on this kind of VM."""
    return EstimatingReplayMeter(energy_kwh=energy_kwh, intensity_g_per_kwh=268.0)


# -- helpers --------------------------------------------------------------------------------


@pytest.fixture
def state(sqlite_url: str) -> AppState:
    return AppState(ledger=sqlite_url, meter=make_replay_meter())


def invoke(
    args: Sequence[str], state: AppState | None = None, env: dict[str, str] | None = None
) -> Result:
    return CliRunner().invoke(cli, list(args), obj=state or AppState(), env=env)


def stderr_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def make_run(number: int, **changes: Any) -> Run:
    started = datetime(2026, 11, 1, 8, 0, tzinfo=UTC) + timedelta(hours=number)
    values: dict[str, Any] = {
        "run_id": f"{number:08x}-0000-4000-8000-000000000000",
        "job": "woningbouwmonitor",
        "status": "ok",
        "started_at": started,
        "ended_at": started + timedelta(seconds=12),
        "duration_s": 12.0,
        "energy_kwh": 1e-4,
        "cpu_energy_kwh": 7e-5,
        "ram_energy_kwh": 3e-5,
        "co2_kg": 2.68e-5,
        "intensity_g_per_kwh": 268.0,
        "cpu_s": 10.5,
        "method_meter": "codecarbon 3.3.2",
        "method_cpu": "cpu_load",
        "method_cpu_tdp_w": 8.0,
        "method_cpu_tdp_is_generic": True,
        "method_ram": "constant from memory size",
        "method_ram_power_w": 3.0,
        "tracking_mode": "process",
        "pue": 1.0,
        "intensity_source": "CodeCarbon offline data (NLD)",
        "intensity_year": 2023,
        "tags": {"team": "ruimte"},
        "host": "test-host",
        "pid": 1,
    }
    values.update(changes)
    return Run(**values)


def seed(url: str, runs: Sequence[Run]) -> None:
    with Ledger.open(url) as ledger:
        for run in runs:
            ledger.finish_run(run)


def assert_one_line_error(result: Result, exit_code: int = 2) -> str:
    lines = stderr_lines(result)
    assert result.exit_code == exit_code, (result.exit_code, result.stderr, result.exception)
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("zuinig")
    return lines[0]


# -- zuinig run -----------------------------------------------------------------------------


def test_run_exits_with_the_commands_code_and_records_it(state: AppState) -> None:
    result = invoke(["run", "--", "sh", "-c", "exit 3"], state)
    assert result.exit_code == 3

    listed = json.loads(invoke(["runs", "list", "--json"], state).stdout)
    assert len(listed) == 1
    assert (listed[0]["status"], listed[0]["exit_code"], listed[0]["job"]) == ("error", 3, "sh")
    assert listed[0]["kind"] == "command"


def test_run_takes_job_and_tags(state: AppState) -> None:
    result = invoke(
        ["run", "--job", "nacht", "--tag", "team=ruimte", "--tag", "x=a=b", "--", "true"], state
    )
    assert result.exit_code == 0, result.output
    (run,) = json.loads(invoke(["runs", "list", "--json"], state).stdout)
    assert run["job"] == "nacht"
    assert run["tags"] == {"team": "ruimte", "x": "a=b"}
    assert run["status"] == "ok"


def test_run_of_a_missing_command_says_so_in_one_line(state: AppState) -> None:
    result = invoke(["run", "--", "zuinig-no-such-command-xyz"], state)
    line = assert_one_line_error(result, exit_code=127)
    assert "command not found" in line
    (run,) = json.loads(invoke(["runs", "list", "--json"], state).stdout)
    assert run["status"] == "error"


def test_run_without_a_command_is_a_usage_error(state: AppState) -> None:
    line = assert_one_line_error(invoke(["run"], state))
    assert "COMMAND" in line


# -- zuinig runs list -----------------------------------------------------------------------


def test_list_table_shows_the_columns_and_says_estimated(state: AppState, sqlite_url: str) -> None:
    seed(sqlite_url, [make_run(1), make_run(2, job="other")])
    result = invoke(["runs", "list"], state)
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    for column in (
        "run",
        "job",
        "status",
        "started",
        "duration_s",
        "energy",
        "CO2e",
        "method",
    ):
        assert column in header
    assert rows[0].startswith("00000002  other")  # newest first, short ids
    assert "estimated" in rows[0]
    assert any("estimated" in row and "doctor" in row for row in rows)


def test_list_table_shows_20_and_says_how_many_more(state: AppState, sqlite_url: str) -> None:
    seed(sqlite_url, [make_run(number) for number in range(25)])

    table = invoke(["runs", "list"], state).stdout.splitlines()
    assert sum(1 for line in table if line[:8].isalnum() and line[8:10] == "  ") == 20
    assert any("showing 20 of 25" in line for line in table)

    everything = json.loads(invoke(["runs", "list", "--json"], state).stdout)
    assert len(everything) == 25  # no default limit for JSON
    assert len(json.loads(invoke(["runs", "list", "--json", "--limit", "5"], state).stdout)) == 5
    long_table = invoke(["runs", "list", "--limit", "30"], state).stdout
    assert "showing" not in long_table


def test_list_json_keys_are_the_design_names(state: AppState, sqlite_url: str) -> None:
    seed(sqlite_url, [make_run(1)])
    (record,) = json.loads(invoke(["runs", "list", "--json"], state).stdout)
    assert set(record) >= DESIGN_KEYS
    assert set(record) == set(make_run(1).to_dict())
    assert record["energy_kwh"] == pytest.approx(1e-4)
    assert record["started_at"].startswith("2026-11-01T09:00:00")


def test_list_filters(state: AppState, sqlite_url: str) -> None:
    seed(
        sqlite_url,
        [
            make_run(1),
            make_run(2, job="other", tags={"team": "data"}),
            make_run(3, status="error", error_type="ValueError", error_message="bad"),
            make_run(4, started_at=datetime(2026, 10, 5, tzinfo=UTC)),
        ],
    )

    def ids(*args: str) -> list[str]:
        result = invoke(["runs", "list", "--json", *args], state)
        assert result.exit_code == 0, result.output
        return sorted(run["run_id"][:8] for run in json.loads(result.stdout))

    assert ids("--job", "other") == ["00000002"]
    assert ids("--tag", "team=data") == ["00000002"]
    assert ids("--tag", "team=ruimte", "--status", "error") == ["00000003"]
    assert ids("--month", "2026-10") == ["00000004"]
    assert ids("--month", "2026-11", "--job", "woningbouwmonitor") == ["00000001", "00000003"]


def test_list_of_an_empty_ledger_says_so(state: AppState) -> None:
    result = invoke(["runs", "list"], state)
    assert result.exit_code == 0
    assert "no runs" in result.stdout


# -- zuinig runs show -----------------------------------------------------------------------


def test_show_accepts_a_prefix_and_explains_every_figure(state: AppState, sqlite_url: str) -> None:
    seed(sqlite_url, [make_run(1, inputs=(), engines={"polars": "1.2.0"}, exit_code=None)])
    result = invoke(["runs", "show", "00000001"], state)
    assert result.exit_code == 0, result.output
    text = result.stdout
    for expected in (
        "energy_kwh",
        "estimated",
        "TDP",
        "8 W",
        "generic guess",
        "268 g/kWh",
        "CodeCarbon offline data (NLD)",
        "2023",
        "PUE",
        "WARNING",
        "inputs",
        "engines",
        "polars 1.2.0",
    ):
        assert expected in text, expected


def test_show_json_is_one_object_with_design_keys(state: AppState, sqlite_url: str) -> None:
    seed(sqlite_url, [make_run(1)])
    record = json.loads(invoke(["runs", "show", "00000001", "--json"], state).stdout)
    assert isinstance(record, dict)
    assert set(record) >= DESIGN_KEYS
    assert record["run_id"] == make_run(1).run_id


def test_show_of_a_measured_run_says_measured(sqlite_url: str) -> None:
    lines = format_run(make_run(1, method_cpu="rapl", method_cpu_tdp_w=None))
    assert any("energy_kwh" in line and "measured" in line for line in lines)
    assert not any("WARNING" in line for line in lines)


# -- zuinig runs export ---------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "json", "parquet"])
def test_export_writes_the_filtered_runs(
    state: AppState, sqlite_url: str, tmp_path: Path, file_format: str
) -> None:
    seed(sqlite_url, [make_run(1), make_run(2, job="other")])
    out = tmp_path / f"runs.{file_format}"
    result = invoke(
        ["runs", "export", "--format", file_format, "--out", str(out), "--job", "other"], state
    )
    assert result.exit_code == 0, result.output
    assert "1 run" in result.stdout
    if file_format == "json":
        (record,) = json.loads(out.read_text())
        assert set(record) >= DESIGN_KEYS
        assert record["job"] == "other"
    elif file_format == "csv":
        with out.open(newline="") as handle:
            (record,) = list(csv.DictReader(handle))
        assert set(RUN_FIELDS) <= set(record)
        assert record["job"] == "other"
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(out)
        assert table.num_rows == 1
        assert set(RUN_FIELDS) <= set(table.column_names)


def test_export_takes_the_format_from_the_file_name(
    state: AppState, sqlite_url: str, tmp_path: Path
) -> None:
    seed(sqlite_url, [make_run(1)])
    out = tmp_path / "runs.json"
    assert invoke(["runs", "export", "--out", str(out)], state).exit_code == 0
    assert len(json.loads(out.read_text())) == 1
    line = assert_one_line_error(
        invoke(["runs", "export", "--out", str(tmp_path / "runs.xlsx")], state)
    )
    assert "--format" in line


def test_export_to_a_missing_directory_is_one_line(state: AppState, tmp_path: Path) -> None:
    result = invoke(["runs", "export", "--out", str(tmp_path / "nowhere" / "runs.csv")], state)
    line = assert_one_line_error(result, exit_code=1)
    assert "cannot write" in line


# -- bad input: one line on stderr, exit code 2, no traceback -------------------------------


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--ledger", "nonsense://x", "runs", "list"], id="unknown-backend"),
        pytest.param(["--ledger", "not a url", "runs", "list"], id="not-a-url"),
        pytest.param(["--ledger", "nonsense://x", "run", "--", "true"], id="run-bad-ledger"),
        pytest.param(["--ledger", "nonsense://x", "doctor"], id="doctor-bad-ledger"),
        pytest.param(["runs", "show", "ffffffff"], id="unknown-run-id"),
        pytest.param(["runs", "list", "--month", "2026-13"], id="month-13"),
        pytest.param(["runs", "list", "--month", "nov"], id="month-word"),
        pytest.param(["runs", "export", "--month", "nov", "--out", "x.csv"], id="export-month"),
        pytest.param(["runs", "list", "--status", "fine"], id="status"),
        pytest.param(["runs", "list", "--tag", "team"], id="tag-without-value"),
        pytest.param(["runs", "list", "--limit", "0"], id="limit-0"),
        pytest.param(["run", "--tag", "=x", "--", "true"], id="run-tag-empty-key"),
        pytest.param(["runs", "list", "--no-such-option"], id="unknown-option"),
        pytest.param(["no-such-command"], id="unknown-command"),
        pytest.param(["--config", "missing.toml", "runs", "list"], id="missing-config"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], sqlite_url: str) -> None:
    state = AppState(ledger=None if "--ledger" in args else sqlite_url, meter=make_replay_meter())
    assert_one_line_error(invoke(args, state))


def test_an_unknown_setting_in_zuinig_toml_is_one_line(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "zuinig.toml").write_text("peu = 1.2\n")
    line = assert_one_line_error(invoke(["runs", "list"], AppState(ledger=sqlite_url)))
    assert "peu" in line and "pue" in line  # names the typo and the likely meaning


def test_an_unreadable_zuinig_toml_is_one_line(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "zuinig.toml").write_text("pue = = 1\n")
    line = assert_one_line_error(invoke(["doctor"], AppState(ledger=sqlite_url)))
    assert "zuinig.toml" in line


def test_a_bad_setting_in_the_environment_is_one_line(sqlite_url: str) -> None:
    result = invoke(["runs", "list"], AppState(ledger=sqlite_url), env={"ZUINIG_PUE": "abc"})
    line = assert_one_line_error(result)
    assert "pue" in line and "abc" in line


def test_config_option_names_the_settings_file(sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text("tracking_mode = 'everything'\n")
    line = assert_one_line_error(
        invoke(["--config", str(config), "runs", "list"], AppState(ledger=sqlite_url))
    )
    assert "tracking_mode" in line


def test_a_password_in_a_ledger_url_is_never_shown(tmp_path: Path) -> None:
    url = "postgresql+nosuchdriver://analyst:s3cret-pw@localhost:1/zuinig"
    result = invoke(["--ledger", url, "runs", "list"])
    assert "s3cret-pw" not in result.output
    assert_one_line_error(result)


def test_an_unknown_run_id_names_the_way_out(state: AppState) -> None:
    line = assert_one_line_error(invoke(["runs", "show", "abc123"], state))
    assert "abc123" in line and "runs list" in line


# -- failures: one line, exit 1; a traceback only with --debug ------------------------------


def test_an_unexpected_error_is_one_line_and_exit_1(
    state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: Ledger, *args: object) -> list[Run]:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(Ledger, "list_runs", explode)
    line = assert_one_line_error(invoke(["runs", "list", "--json"], state), exit_code=1)
    assert "kaboom" in line and "--debug" in line

    debug = invoke(["--debug", "runs", "list", "--json"], state)
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr and "kaboom" in debug.stderr


def test_a_ledger_failure_is_one_line_and_exit_1(
    state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zuinig.errors import LedgerError

    def unreachable(self: Ledger, *args: object) -> list[Run]:
        raise LedgerError("the ledger at x cannot be read: disk I/O error")

    monkeypatch.setattr(Ledger, "list_runs", unreachable)
    line = assert_one_line_error(invoke(["runs", "list", "--json"], state), exit_code=1)
    assert line == "zuinig: the ledger at x cannot be read: disk I/O error"


def test_no_command_shows_the_help(state: AppState) -> None:
    result = invoke([], state)
    assert result.exit_code == 2
    assert "Commands:" in result.stderr and "doctor" in result.stderr
    assert "Commands:" in invoke(["runs"], state).stderr


def test_help_and_version(state: AppState) -> None:
    assert invoke(["--help"], state).exit_code == 0
    assert "zuinig" in invoke(["--version"], state).stdout
    assert "--tag" in invoke(["run", "--help"], state).stdout


# -- zuinig doctor ----------------------------------------------------------------------------


def test_doctor_says_estimated_and_how_to_calibrate(state: AppState, sqlite_url: str) -> None:
    seed(sqlite_url, [make_run(1), make_run(2)])
    result = invoke(["doctor"], state)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "WARNING" in text and "ESTIMATE" in text
    for key in ("cpu_power_w", "ram_power_w", "pue", "intensity_g_per_kwh", "intensity_source"):
        assert f"{key} =" in text, key  # in the example file
    for expected in ("cpu_load", "AMD EPYC", "8 W", "generic guess", "268 g/kWh", "2023", "RAPL"):
        assert expected in text, expected
    assert sqlite_url.removeprefix("sqlite:///") in text
    assert "2 runs" in text
    assert "ledger" in text and "argument" in text  # where the ledger setting came from


def test_doctor_json(state: AppState) -> None:
    result = invoke(["doctor", "--json"], state)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["estimated"] is True
    assert data["method"]["cpu_method"] == "cpu_load"
    assert data["ledger"]["reachable"] is True
    assert set(data["calibration_keys"]) == {
        "cpu_power_w",
        "ram_power_w",
        "pue",
        "intensity_g_per_kwh",
        "intensity_source",
        "market_factor",
        "market_factor_source",
    }
    # Both factors, from the (replay) meter's method; doctor's tests check the real one.
    assert data["factors"]["location_based"]["g_per_kwh"] == 268.0
    assert set(data["factors"]["market_based"]) == {
        "g_per_kwh",
        "source",
        "year",
        "name",
        "boundary",
        "from",
    }
    assert data["settings"]["pue"] == {"value": 1.0, "origin": "default"}


def test_doctor_shows_where_settings_came_from(sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "zuinig.toml").write_text(
        "cpu_power_w = 65.0\nintensity_g_per_kwh = 300.0\nintensity_source = 'supplier 2025'\n"
    )
    state = AppState(ledger=sqlite_url, meter=make_replay_meter())
    data = json.loads(invoke(["doctor", "--json"], state, env={"ZUINIG_PUE": "1.4"}).stdout)
    assert data["settings"]["cpu_power_w"]["origin"].endswith("zuinig.toml")
    assert data["settings"]["pue"] == {"value": 1.4, "origin": "env"}
    assert "cpu_power_w" in data["tdp_source"]
    assert "intensity_g_per_kwh" in data["intensity_origin"]


def test_doctor_does_not_create_a_missing_sqlite_ledger(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'ledger.sqlite'}"
    (tmp_path / "new").mkdir()
    result = invoke(["doctor"], AppState(ledger=url, meter=make_replay_meter()))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "new" / "ledger.sqlite").exists()


@pytest.mark.slow
def test_e2e_doctor_with_the_real_meter(e2e_env: dict[str, str]) -> None:
    # The first run on a machine also probes the hardware (CodeCarbon); later ones
    # read the probe from the cache, as a user's second `zuinig doctor` does.
    first = subprocess.run(zuinig_cmd("doctor"), env=e2e_env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    started = time.perf_counter()
    done = subprocess.run(zuinig_cmd("doctor"), env=e2e_env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert "codecarbon" in done.stdout and "how to calibrate" in done.stdout
    assert elapsed < 4.0, elapsed  # about 0.6 s on an idle 2-vCPU VM; slack for a busy CI


# -- formatting is pure ---------------------------------------------------------------------


def test_format_runs_table_of_nothing() -> None:
    assert format_runs_table([], total=0) == ["no runs match"]


# -- end to end: the real command, the real meter -------------------------------------------


def zuinig_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "zuinig", *args]


@pytest.fixture
def e2e_env(sqlite_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["ZUINIG_LEDGER"] = sqlite_url
    return env


def listed_runs(env: dict[str, str]) -> list[dict[str, Any]]:
    done = subprocess.run(
        zuinig_cmd("runs", "list", "--json"), env=env, capture_output=True, text=True, check=True
    )
    runs: list[dict[str, Any]] = json.loads(done.stdout)
    return runs


def test_e2e_exit_code_and_record(e2e_env: dict[str, str]) -> None:
    done = subprocess.run(
        zuinig_cmd("run", "--", "sh", "-c", "exit 3"), env=e2e_env, capture_output=True, text=True
    )
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    (run,) = listed_runs(e2e_env)
    assert (run["status"], run["exit_code"]) == ("error", 3)


def test_e2e_streams_pass_through(e2e_env: dict[str, str]) -> None:
    script = (
        "import sys; data = sys.stdin.read(); print(data.upper()); print('err', file=sys.stderr)"
    )
    done = subprocess.run(
        zuinig_cmd("run", "--", sys.executable, "-c", script),
        env=e2e_env,
        input="hallo provincie\n",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "HALLO PROVINCIE\n\n"
    assert done.stderr == "err\n"  # not a terminal: no summary line, nothing added


def test_e2e_bad_input_is_one_line(e2e_env: dict[str, str]) -> None:
    for args in (["--ledger", "nonsense://x", "runs", "list"], ["runs", "list", "--month", "nov"]):
        done = subprocess.run(zuinig_cmd(*args), env=e2e_env, capture_output=True, text=True)
        assert done.returncode == 2
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr


TRAPPING_CHILD = """
import signal, sys, time
received = []
signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
print("ready", flush=True)
deadline = time.monotonic() + 30
while not received and time.monotonic() < deadline:
    time.sleep(0.01)
time.sleep(0.5)  # a duplicate would arrive in this time
print(f"got {len(received)}", flush=True)
sys.exit(42)
"""


def read_until(stream: Any, text: str, timeout_s: float = 30.0) -> str:
    seen = ""
    deadline = time.monotonic() + timeout_s
    while text not in seen:
        assert time.monotonic() < deadline, f"no {text!r} in {seen!r}"
        ready, _, _ = select.select([stream], [], [], 0.5)
        if ready:
            chunk = os.read(stream if isinstance(stream, int) else stream.fileno(), 1024)
            if not chunk:
                break
            seen += chunk.decode(errors="replace")
    return seen


@pytest.mark.parametrize("new_session", [True, False], ids=["other-group", "same-group"])
def test_e2e_sigint_sent_to_zuinig_reaches_the_command_once(
    e2e_env: dict[str, str], new_session: bool
) -> None:
    with subprocess.Popen(
        zuinig_cmd("--debug", "run", "--", sys.executable, "-c", TRAPPING_CHILD),
        env=e2e_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=new_session,
    ) as process:
        assert process.stdout is not None
        read_until(process.stdout, "ready")
        process.send_signal(signal.SIGINT)
        out = read_until(process.stdout, "got")
        out += process.stdout.read().decode()
        returncode = process.wait(timeout=30)
        assert process.stderr is not None
        stderr = process.stderr.read().decode()
    assert "got 1" in out, (out, stderr)
    assert "forwarding SIGINT" in stderr
    assert returncode == 42, stderr
    (run,) = listed_runs(e2e_env)
    assert (run["status"], run["exit_code"]) == ("error", 42)


def test_e2e_ctrl_c_in_a_terminal_reaches_the_command_once(e2e_env: dict[str, str]) -> None:
    """A real terminal's Ctrl-C goes to the whole group; zuinig must not send a second one."""
    master, slave = os.openpty()
    command = shlex.join(zuinig_cmd("--debug", "run", "--", sys.executable, "-c", TRAPPING_CHILD))
    # sh leads a new session; opening the pty makes it the session's controlling
    # terminal, so the terminal, not the test, turns Ctrl-C into SIGINT.
    with subprocess.Popen(
        ["sh", "-c", f'exec {command} <>"$0" >&0 2>&0', os.ttyname(slave)],
        env=e2e_env,
        start_new_session=True,
    ) as process:
        try:  # the slave stays open here too, or reading the master fails until sh opens it
            read_until(master, "ready")
            os.write(master, b"\x03")  # Ctrl-C
            out = read_until(master, "got")
            returncode = process.wait(timeout=30)
        finally:
            os.close(master)
            os.close(slave)
    assert "got 1" in out, out
    # Two SIGINTs close together merge into one, so the command's count cannot show a
    # second; zuinig's debug log says whether it sent one.
    assert "not sent again" in out and "forwarding" not in out, out
    assert returncode == 42
    (run,) = listed_runs(e2e_env)
    assert run["exit_code"] == 42


def test_e2e_sigterm_ends_the_command_and_the_run_is_recorded(e2e_env: dict[str, str]) -> None:
    child = "import time; print('ready', flush=True); time.sleep(60)"
    with subprocess.Popen(
        zuinig_cmd("run", "--", sys.executable, "-c", child),
        env=e2e_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as process:
        assert process.stdout is not None
        read_until(process.stdout, "ready")
        process.terminate()
        returncode = process.wait(timeout=30)
    assert returncode == 128 + signal.SIGTERM
    (run,) = listed_runs(e2e_env)
    assert run["status"] == "error"
    assert run["exit_code"] == 128 + signal.SIGTERM
    assert "SIGTERM" in run["error_message"]


def test_e2e_nested_measured_function_records_the_command_as_parent(
    e2e_env: dict[str, str], tmp_path: Path
) -> None:
    job = tmp_path / "job.py"
    job.write_text(
        "import zuinig\n\n@zuinig.measure(job='inner')\ndef work():\n    return 1\n\nwork()\n"
    )
    done = subprocess.run(
        zuinig_cmd("run", "--job", "outer", "--", sys.executable, str(job)),
        env=e2e_env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    runs = {run["job"]: run for run in listed_runs(e2e_env)}
    assert runs["inner"]["parent_run_id"] == runs["outer"]["run_id"]


def test_format_run_summary_is_one_line() -> None:
    line = format_run_summary(make_run(1, status="error", exit_code=2))
    assert line == (
        "zuinig: run 00000001 (woningbouwmonitor): error, exit 2, 12 s, 100 mWh, "
        "26.8 mg CO₂e, estimated"
    )
