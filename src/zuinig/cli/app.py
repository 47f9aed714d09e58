"""What every command shares: the state the group options decide, the group that turns
errors into one line and an exit code, and the one way text reaches the terminal.

Errors: a :class:`~zuinig.errors.ZuinigError` becomes one line on stderr,
``zuinig: <message>``, with exit code 2 when it is the user's input and 1
otherwise; a usage error (unknown option, bad value) is one line and exit code
2; anything unexpected is one line and exit code 1. A traceback is shown only
with ``--debug`` (or ``ZUINIG_DEBUG=1``).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from zuinig.cli.text import one_line
from zuinig.config import CONFIG_FILE_ENV, Settings, load_settings
from zuinig.errors import ZuinigError
from zuinig.safe_text import printable, printable_json

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger
    from zuinig.measure import Recorder
    from zuinig.meter.base import Meter

__all__ = [
    "AppState",
    "ZuinigGroup",
    "echo",
    "echo_json",
    "is_terminal",
    "pass_state",
]

DEBUG_ENV = "ZUINIG_DEBUG"


class _NeverRaised(click.UsageError):
    """Stands in for an exception this click version does not have."""


#: Raised for a group called without a command (click 8.2 and later; earlier it exits 0).
_NO_ARGS_IS_HELP: type[click.UsageError] = getattr(
    click.exceptions, "NoArgsIsHelpError", _NeverRaised
)

logger = logging.getLogger("zuinig")


# -- state shared by the commands ---------------------------------------------------------


@dataclass
class AppState:
    """What the group options decide, and what tests may inject.

    Attributes:
        ledger: ``--ledger`` URL, or ``None`` for the settings' ledger.
        config: ``--config`` file, or ``None`` to look for one as usual.
        debug: show tracebacks.
        meter: the meter to measure with; the settings' default meter when ``None``
            (tests inject a replay meter here).
    """

    ledger: str | None = None
    config: Path | None = None
    debug: bool = False
    meter: Meter | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def environ(self) -> dict[str, str]:
        environ = dict(os.environ)
        if self.config is not None:
            environ[CONFIG_FILE_ENV] = str(self.config)
        return environ

    def settings(self) -> Settings:
        """The settings, read once (raises ConfigError)."""
        if self._settings is None:
            self._settings = load_settings({"ledger": self.ledger}, environ=self.environ())
        return self._settings

    def ledger_url(self) -> str:
        from zuinig.ledger.urls import configured_ledger_url

        return configured_ledger_url(self.settings().ledger)

    def open_ledger(self) -> Ledger:
        from zuinig.ledger import Ledger

        return Ledger.open(self.ledger_url(), settings=self.settings())

    def recorder(self) -> Recorder:
        from zuinig.measure import Recorder

        return Recorder(self.settings(), ledger_url=self.ledger_url(), meter=self.meter)


pass_state = click.make_pass_decorator(AppState, ensure=True)


# -- the group and its error handling -------------------------------------------------------


class ZuinigGroup(click.Group):
    """A group whose ``main`` turns every error into one line and an exit code."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> NoReturn:
        state = extra.setdefault("obj", AppState())
        if not isinstance(state, AppState):
            raise TypeError("obj must be an AppState")
        state.debug = state.debug or _debug_requested(args)
        restore_logging = _log_to_stderr(state.debug)
        try:
            code = self._main(args, prog_name, complete_var, state, extra)
        finally:
            restore_logging()
        sys.exit(code)

    def _main(
        self,
        args: Sequence[str] | None,
        prog_name: str | None,
        complete_var: str | None,
        state: AppState,
        extra: dict[str, Any],
    ) -> int:
        try:
            result = super().main(
                args=args,
                prog_name=prog_name or "zuinig",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
            return result if isinstance(result, int) else 0
        except _NO_ARGS_IS_HELP as error:
            click.echo(error.ctx.get_help() if error.ctx else error.format_message(), err=True)
            return 2  # no command given: the help is the most useful answer
        except click.UsageError as error:
            return _fail(_usage_line(error), error, state, exit_code=2)
        except click.ClickException as error:
            return _fail(f"zuinig: {error.format_message()}", error, state, error.exit_code)
        except click.Abort:
            return _fail("zuinig: interrupted", None, state, exit_code=130)
        except ZuinigError as error:
            return _fail(f"zuinig: {error}", error, state, exit_code=2 if error.bad_input else 1)
        except BrokenPipeError:
            # The reader went away (``zuinig runs list | head``): stop quietly, as cat does.
            _silence_stdout()
            return 141
        except Exception as error:
            reason = "".join(traceback.format_exception_only(error)).strip()
            hint = "" if state.debug else " (run with --debug to see where)"
            return _fail(f"zuinig: unexpected error: {reason}{hint}", error, state, 1)


def echo(text: str, *, err: bool = False) -> None:
    """Print text for people, every line with its control characters made visible.

    The one place where text from users (job names, tags, commands, error messages)
    reaches a terminal: an escape sequence in a job name is shown as ``\\x1b[2J``,
    never run (:func:`zuinig.safe_text.printable`).
    """
    click.echo("\n".join(printable(line) for line in text.split("\n")), err=err)


def echo_json(document: str) -> None:
    """Print JSON text; characters a terminal acts on are written as ``\\u`` escapes."""
    click.echo(printable_json(document))


def _debug_requested(args: Sequence[str] | None) -> bool:
    if os.environ.get(DEBUG_ENV, "").lower() in ("1", "true", "yes"):
        return True
    words = list(sys.argv[1:] if args is None else args)
    if "--" in words:
        words = words[: words.index("--")]
    return "--debug" in words


def _log_to_stderr(debug: bool) -> Callable[[], None]:
    """Send zuinig's warnings (a run kept locally, a meter that failed) to stderr, one line
    each, while a command runs; the returned function undoes it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    before = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger.propagate = False

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(before[0])
        logger.propagate = before[1]

    return restore


def _usage_line(error: click.UsageError) -> str:
    where = error.ctx.command_path if error.ctx is not None else "zuinig"
    return f"zuinig: {one_line(error.format_message())} (see '{where} --help')"


def _fail(line: str, error: BaseException | None, state: AppState, exit_code: int) -> int:
    if state.debug and error is not None:
        traceback.print_exception(error, file=sys.stderr)
    echo(one_line(line), err=True)
    return exit_code


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (a person watches it); ``False`` for anything that
    cannot tell."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
