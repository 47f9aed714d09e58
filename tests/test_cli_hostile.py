"""Issue 10, through the real command line: hostile names, secrets, odd targets, bad months.

The click group runs in-process with a replay meter and a real SQLite ledger; what is
checked is what the ledger holds and what the files and terminal get.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import stat
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from zuinig.cli import AppState, cli
from zuinig.ledger import Ledger
from zuinig.ledger.model import Run
from zuinig.meter import ReplayMeter

SECRET = "hunter2-Secret"
FORMULA_JOB = '=HYPERLINK("http://x","c")'


@pytest.fixture
def state(sqlite_url: str) -> AppState:
    return AppState(ledger=sqlite_url, meter=ReplayMeter(energy_kwh=2e-6))


def invoke(args: Sequence[str], state: AppState) -> Result:
    return CliRunner().invoke(cli, list(args), obj=state)


def one_error_line(result: Result, exit_code: int = 2) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == exit_code, (result.exit_code, result.stderr, result.exception)
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def seed(url: str, *jobs: str, **changes: object) -> None:
    started = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    with Ledger.open(url) as ledger:
        for number, job in enumerate(jobs):
            ledger.finish_run(
                Run(
                    run_id=f"{number:08x}-0000-4000-8000-000000000000",
                    job=job,
                    status="ok",
                    started_at=started + timedelta(minutes=number),
                    ended_at=started + timedelta(minutes=number, seconds=3),
                    duration_s=3.0,
                    energy_kwh=1e-4,
                    **changes,  # type: ignore[arg-type]
                )
            )


def stored_runs(url: str) -> list[Run]:
    with Ledger.open(url) as ledger:
        return list(ledger.list_runs())


# -- secrets in `zuinig run` ------------------------------------------------------------------


def test_five_secret_forms_in_a_run_command_are_not_stored_in_clear(
    state: AppState, sqlite_url: str
) -> None:
    command = [
        "env",
        f"AWS_SECRET_ACCESS_KEY={SECRET}",
        f"PGPASSWORD={SECRET}",
        "true",
        "--password",
        SECRET,
        f"--token={SECRET}",
        f"Authorization: Bearer {SECRET}",
    ]
    result = invoke(["run", "--", *command], state)
    assert result.exit_code == 0, result.output

    (run,) = stored_runs(sqlite_url)
    assert run.command == (
        "env 'AWS_SECRET_ACCESS_KEY=***' 'PGPASSWORD=***' true --password '***' "
        "'--token=***' 'Authorization: Bearer ***'"
    )
    shown = invoke(["runs", "show", run.run_id], state).stdout
    listed = invoke(["runs", "list", "--json"], state).stdout
    for text in (repr(run), shown, listed, result.output):
        assert SECRET not in text


def test_run_no_command_stores_no_command_line(state: AppState, sqlite_url: str) -> None:
    result = invoke(["run", "--no-command", "--", "true", "plain-word-secret"], state)
    assert result.exit_code == 0, result.output
    (run,) = stored_runs(sqlite_url)
    assert run.command is None
    assert run.job == "true"
    assert "plain-word-secret" not in invoke(["runs", "show", run.run_id], state).stdout


# -- runs export --format csv: formula cells ----------------------------------------------------


def test_export_csv_neutralises_a_formula_job_name(
    state: AppState, sqlite_url: str, tmp_path: Path
) -> None:
    seed(sqlite_url, FORMULA_JOB, "-2+3", "plain", tags={"team": "@team"})
    out = tmp_path / "runs.csv"
    result = invoke(["runs", "export", "--format", "csv", "--out", str(out)], state)
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    assert sorted(record["job"] for record in records) == sorted(
        ["'" + FORMULA_JOB, "'-2+3", "plain"]
    )
    # numbers written by zuinig stay numbers; JSON text cells start with "{" and stay JSON
    assert {record["energy_kwh"] for record in records} == {"0.0001"}
    assert json.loads(records[0]["tags"]) == {"team": "@team"}
    # the JSON export is typed: names kept exactly
    json_out = tmp_path / "runs.json"
    assert invoke(["runs", "export", "--out", str(json_out)], state).exit_code == 0
    assert FORMULA_JOB in {record["job"] for record in json.loads(json_out.read_text())}


# -- terminal escape sequences in runs list / show ----------------------------------------------

ESCAPE_JOB = "\x1b[2J\x1b]0;pwned\x07job"
CONTROL_CHARACTERS = [chr(code) for code in (*range(0x20), *range(0x7F, 0xA0))] + ["\u202e"]


def test_runs_list_and_show_make_control_characters_visible(
    state: AppState, sqlite_url: str
) -> None:
    seed(
        sqlite_url,
        ESCAPE_JOB,
        tags={"team": "\x9b31mred"},
        command="echo \x1b[8mhidden\rover\u202eevil",
        error_type="ValueError",
        error_message="bad\x1b[41m value",
    )
    listed = invoke(["runs", "list"], state)
    shown = invoke(["runs", "show", "00000000"], state)
    for result in (listed, shown):
        assert result.exit_code == 0, result.output
        printed = result.stdout.replace("\n", "")
        assert not [c for c in CONTROL_CHARACTERS if c in printed], repr(printed)
    assert "\\x1b[2J\\x1b]0;pwned\\x07job" in listed.stdout
    assert "team=\\x9b31mred" in shown.stdout
    assert "echo \\x1b[8mhidden\\rover\\u202eevil" in shown.stdout
    assert "bad\\x1b[41m value" in shown.stdout


def test_runs_json_stays_valid_json_with_the_exact_text(state: AppState, sqlite_url: str) -> None:
    seed(sqlite_url, ESCAPE_JOB, tags={"team": "\x9b31mred\u202e"})
    for args in (["runs", "list", "--json"], ["runs", "show", "00000000", "--json"]):
        result = invoke(args, state)
        assert result.exit_code == 0, result.output
        assert not [c for c in CONTROL_CHARACTERS if c in result.stdout.replace("\n", "")]
        document = json.loads(result.stdout)
        record = document[0] if isinstance(document, list) else document
        assert record["job"] == ESCAPE_JOB
        assert record["tags"] == {"team": "\x9b31mred\u202e"}


# -- months and dates out of range ----------------------------------------------------------


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "1969-12", "0001-01"])
@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["runs", "list"], id="runs-list"),
        pytest.param(["runs", "export", "--out", "runs.csv"], id="runs-export"),
        pytest.param(["report", "--format", "csv"], id="report"),
        pytest.param(["ledger", "sync", "--to", "sqlite:///other.sqlite"], id="ledger-sync"),
    ],
)
def test_every_month_option_refuses_months_out_of_range_in_one_line(
    state: AppState, command: list[str], month: str
) -> None:
    line = one_error_line(invoke([*command, "--month", month], state))
    assert f"{month} is out of range; give a month from 1970-01 to 9998-12" in line
    assert not Path("runs.csv").exists() and not Path("other.sqlite").exists()


@pytest.mark.parametrize("month", ["1970-01", "9998-12"])
def test_the_first_and_last_months_give_a_report(
    state: AppState, month: str, tmp_path: Path
) -> None:
    result = invoke(["report", "--month", month, "--format", "csv", "--out", str(tmp_path)], state)
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"zuinig-report-{month}-nl.csv").is_file()


@pytest.mark.parametrize("since", ["0001-01-01", "1969-12-31", "9999-12-31"])
def test_advise_since_out_of_range_is_one_line(state: AppState, since: str) -> None:
    line = one_error_line(invoke(["advise", "--since", since], state))
    assert f"{since} is out of range" in line


# -- settings: non-finite and absurd numbers ----------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "1e308"])
def test_a_non_finite_pue_is_one_line_and_exit_2(sqlite_url: str, value: str) -> None:
    result = CliRunner().invoke(
        cli, ["--ledger", sqlite_url, "runs", "list"], obj=AppState(), env={"ZUINIG_PUE": value}
    )
    line = one_error_line(result)
    assert f"setting pue (from env) must be a number from 1 to 3, got {float(value)!r}" in line


# -- runs export --out a device node or a pipe ----------------------------------------------------

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod of a device node needs root"
)


@needs_root
@pytest.mark.parametrize("file_format", ["csv", "json", "parquet"])
def test_export_to_a_character_device_leaves_it_a_device(
    state: AppState, sqlite_url: str, tmp_path: Path, file_format: str
) -> None:
    seed(sqlite_url, "job")
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # /dev/null's numbers
    result = invoke(["runs", "export", "--format", file_format, "--out", str(node)], state)
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(node.lstat().st_mode)
    assert node.lstat().st_rdev == os.makedev(1, 3)
    assert result.stdout == ""  # the count goes to stderr: stdout may be the stream itself
    assert f"wrote 1 run to {node} ({file_format})" in result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name != "ledger.sqlite"] == ["null"]


def test_export_to_a_fifo_streams_into_it(state: AppState, sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, "through-a-pipe")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    result = invoke(["runs", "export", "--format", "csv", "--out", str(fifo)], state)
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert "through-a-pipe" in received[0]


def test_export_to_a_socket_is_one_line(state: AppState, tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        line = one_error_line(invoke(["runs", "export", "--format", "csv", "--out", "sock"], state))
    assert "is a socket" in line


def test_export_over_a_private_file_keeps_it_private(
    state: AppState, sqlite_url: str, tmp_path: Path
) -> None:
    seed(sqlite_url, "job")
    out = tmp_path / "runs.csv"
    out.write_text("old")
    out.chmod(0o600)
    assert invoke(["runs", "export", "--out", str(out)], state).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "job" in out.read_text()


# -- report: names in any script, no glyph warnings on stderr ----------------------------------


def test_report_with_names_in_any_script_writes_nothing_to_stderr(
    state: AppState, sqlite_url: str, tmp_path: Path
) -> None:
    seed(sqlite_url, "हिन्दी", "東京データ", "woning🌱bouw", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "CO₂ ≤ µs", ESCAPE_JOB)
    result = invoke(
        ["report", "--month", "2026-11", "--format", "html", "--out", str(tmp_path)], state
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    html = (tmp_path / "zuinig-report-2026-11-nl.html").read_text(encoding="utf-8")
    assert "東京データ" in html


def test_a_secret_in_the_program_name_is_not_stored_or_shown(
    state: AppState, sqlite_url: str
) -> None:
    # Not a shell: `zuinig run -- PGPASSWORD=x psql` looks for a program named PGPASSWORD=x.
    result = invoke(["run", "--", f"PGPASSWORD={SECRET}", "psql"], state)
    assert result.exit_code == 127
    assert "command not found: PGPASSWORD=***" in result.stderr
    (run,) = stored_runs(sqlite_url)
    assert run.job == "PGPASSWORD=***"
    assert SECRET not in repr(run) and SECRET not in result.output
