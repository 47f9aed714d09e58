"""The ``zuinig.cli`` package's shared parts: the list of commands, the one progress bar,
and the option callback for library parsers."""

from __future__ import annotations

import importlib
import io
import pkgutil

import click
import pytest

import zuinig.cli
from zuinig.cli.main import COMMANDS, cli
from zuinig.cli.options import parsed_with
from zuinig.cli.progress import progress_bar, progress_lines
from zuinig.errors import UsageError


def _commands_defined_in_the_package() -> set[click.Command]:
    """Every click command at the top of a module of zuinig.cli, except the subcommands of
    a group and the ``zuinig`` group itself."""
    found: set[click.Command] = set()
    for module_info in pkgutil.iter_modules(zuinig.cli.__path__):
        module = importlib.import_module(f"zuinig.cli.{module_info.name}")
        found.update(value for value in vars(module).values() if isinstance(value, click.Command))
    found.discard(cli)
    subcommands = {
        sub
        for command in found
        if isinstance(command, click.Group)
        for sub in command.commands.values()
    }
    return found - subcommands


def test_every_command_module_is_registered_once_in_commands() -> None:
    defined = _commands_defined_in_the_package()
    assert len(COMMANDS) == len(set(COMMANDS))
    assert set(COMMANDS) == defined
    assert set(cli.commands.values()) == defined
    assert sorted(cli.commands) == [
        "advise",
        "bench",
        "convert",
        "demo",
        "doctor",
        "import",
        "ledger",
        "report",
        "run",
        "runs",
    ]


def test_without_a_terminal_the_bar_and_the_lines_show_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with progress_bar("syncing runs") as bar:
        bar(1, 3)
        bar(3, 3, "done")
    assert progress_lines() is None
    assert capsys.readouterr() == ("", "")


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, and keeps what was written to it."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("counts", "done", "total", "shown"),
    [("items", 3, 10, "3/10"), ("bytes", 2_000_000, 4_000_000, "2.0/4.0 MB")],
)
def test_on_a_terminal_the_bar_shows_the_description_and_the_amounts(
    monkeypatch: pytest.MonkeyPatch, counts: str, done: int, total: int, shown: str
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("TERM", "xterm")
    with progress_bar("starting", counts=counts) as bar:  # type: ignore[arg-type]
        bar(done, total, "converting")
    written = terminal.getvalue()
    assert "converting" in written
    assert shown in written


def test_on_a_terminal_progress_lines_are_indented_on_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    say = progress_lines()
    assert say is not None
    say("writing the PDF")
    assert terminal.getvalue() == "  writing the PDF\n"


def _parse_even(text: str) -> int:
    number = int(text)
    if number % 2:
        raise UsageError(f"{text} is odd; give an even number")
    return number


def test_parsed_with_parses_leaves_none_and_turns_usage_errors_into_bad_parameter() -> None:
    callback = parsed_with(_parse_even)
    assert callback(None, None, None) is None
    assert callback(None, None, "4") == 4
    with pytest.raises(click.BadParameter, match="3 is odd; give an even number"):
        callback(None, None, "3")
