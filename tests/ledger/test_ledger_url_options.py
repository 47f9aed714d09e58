"""An empty ledger URL and a mistyped ``ledger sync --from`` path are refused with one
line and exit code 2, instead of silently using the default or creating an empty
database (issue 10, item 10)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from zuinig import measure
from zuinig.cli import AppState, cli
from zuinig.errors import LedgerURLError
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
def test_an_empty_ledger_option_is_refused(empty: str) -> None:
    line = one_line(invoke("--ledger", empty, "runs", "list"))
    assert line.startswith("zuinig: Invalid value for '--ledger': is empty; give a ledger URL")


@pytest.mark.parametrize("command", [["runs", "list"], ["doctor"]])
def test_an_empty_zuinig_ledger_is_refused(command: list[str]) -> None:
    line = one_line(invoke(*command, env={"ZUINIG_LEDGER": ""}))
    assert line.startswith("zuinig: the ledger URL is empty (--ledger '' or ZUINIG_LEDGER='')")
    assert not Path(default_ledger_url().removeprefix("sqlite:///")).exists()


def test_configured_ledger_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert configured_ledger_url(None) == default_ledger_url()
    assert configured_ledger_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
    with pytest.raises(LedgerURLError, match="is empty"):
        configured_ledger_url(" ")
    monkeypatch.setenv("ZUINIG_LEDGER", "")
    with pytest.raises(LedgerURLError, match="is empty"):
        configured_ledger_url(None)


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
    assert messages == [
        "zuinig: runs are not recorded: the ledger URL is empty (--ledger '' or "
        "ZUINIG_LEDGER=''); give one such as sqlite:////path/ledger.sqlite, or leave it "
        "out for the default ledger"
    ]


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
