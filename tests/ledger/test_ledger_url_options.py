"""An empty ledger URL and a mistyped ``ledger sync --from`` path are refused with one
line and exit code 2, instead of silently using the default or creating an empty
database (issue 10, item 10)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from zuinig import measure
from zuinig.cli import AppState, cli
from zuinig.config import Settings, load_settings
from zuinig.errors import ConfigError
from zuinig.ledger.urls import configured_ledger_url, default_ledger_url


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=AppState(), env=env)


def one_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("empty", ["", "  "])
@pytest.mark.parametrize("command", [["runs", "list"], ["doctor"], ["convert", "--help"]])
def test_an_empty_ledger_option_is_refused(empty: str, command: list[str]) -> None:
    line = one_line(invoke("--ledger", empty, *command))
    assert line.startswith("zuinig: the ledger URL is empty (--ledger '' or ZUINIG_LEDGER='')")
    assert not Path(default_ledger_url().removeprefix("sqlite:///")).exists()


@pytest.mark.parametrize("command", [["runs", "list"], ["doctor"]])
def test_an_empty_zuinig_ledger_is_refused(command: list[str]) -> None:
    line = one_line(invoke(*command, env={"ZUINIG_LEDGER": ""}))
    assert line.startswith("zuinig: the ledger URL is empty (--ledger '' or ZUINIG_LEDGER='')")
    assert not Path(default_ledger_url().removeprefix("sqlite:///")).exists()


def test_configured_ledger_url() -> None:
    assert configured_ledger_url(None) == default_ledger_url()
    assert configured_ledger_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
    with pytest.raises(ConfigError, match="is empty"):
        configured_ledger_url(" ")


@pytest.mark.parametrize("empty", ["", " "])
def test_the_settings_refuse_an_empty_ledger_from_every_source(empty: str, tmp_path: Path) -> None:
    """One rule where settings are read: environment, arguments, the file, the object."""
    message = "the ledger URL is empty (--ledger '' or ZUINIG_LEDGER='')"
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(cwd=tmp_path, environ={"ZUINIG_LEDGER": empty})
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings({"ledger": empty}, cwd=tmp_path, environ={})
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings(ledger=empty)
    settings_file = tmp_path / "zuinig.toml"
    settings_file.write_text(f'ledger = "{empty}"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(cwd=tmp_path, environ={})
    assert str(raised.value).startswith(
        f"the ledger URL is empty (ledger = '' in {settings_file}); give one such as"
    )
    # Unset stays the default ledger, and other empty optional settings stay unset.
    settings_file.unlink()
    assert load_settings(cwd=tmp_path, environ={}).ledger is None
    assert load_settings(cwd=tmp_path, environ={"ZUINIG_PRICE_EUR_PER_KWH": ""}) == Settings()


def test_an_empty_ledger_in_the_settings_file_is_refused_by_the_cli(tmp_path: Path) -> None:
    settings_file = tmp_path / "zuinig.toml"
    settings_file.write_text('ledger = ""\n')
    line = one_line(invoke("--config", str(settings_file), "runs", "list"))
    assert line == (
        f"zuinig: the ledger URL is empty (ledger = '' in {settings_file}); give one such as "
        "sqlite:////path/ledger.sqlite, or leave it out for the default ledger"
    )


def test_a_measured_job_with_an_empty_zuinig_ledger_says_so_once_and_runs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ZUINIG_LEDGER", "")

    @measure(job="j")
    def job(value: int) -> int:
        return value * 2

    with caplog.at_level(logging.WARNING, logger="zuinig"):
        assert [job(1), job(2)] == [2, 4]
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0] == (
        "zuinig: runs are not recorded: the ledger URL is empty (--ledger '' or "
        "ZUINIG_LEDGER=''); give one such as sqlite:////path/ledger.sqlite, or leave it "
        "out for the default ledger"
    )
    # The settings are refused as a whole now (as for any wrong setting), so the meter
    # says so too, once; two calls, still no repeats.
    assert len(messages) == len(set(messages)) <= 2
    assert all("the ledger URL is empty" in message for message in messages)


def test_sync_from_a_sqlite_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    typo = tmp_path / "ledgr.sqlite"
    target = tmp_path / "target.sqlite"
    line = one_line(
        invoke("ledger", "sync", "--from", f"sqlite:///{typo}", "--to", f"sqlite:///{target}")
    )
    assert line.startswith(
        f"zuinig: Invalid value for '--from': there is no SQLite ledger at {typo}; check the path"
    )
    assert not typo.exists() and not target.exists()  # nothing created, on either side


@pytest.mark.parametrize("option", ["--from", "--to"])
def test_sync_with_an_empty_url_is_refused(option: str, tmp_path: Path) -> None:
    other = "--to" if option == "--from" else "--from"
    existing = tmp_path / "ledger.sqlite"
    existing.touch()
    line = one_line(invoke("ledger", "sync", option, "", other, f"sqlite:///{existing}"))
    assert line.startswith(f"zuinig: Invalid value for '{option}': is empty")
