"""The ``zuinig`` command line: a thin shell over the library.

Each command makes one library call and hands what it gets to a small, pure
``format_*`` function that returns text; only the command functions print.
The renderers of runs and of ``doctor`` live in :mod:`zuinig.text` (the names
in ``__all__`` here stay importable from this module); the others live with
their library (``bench.report``, ``advise.text``, ``convert``, ``ledger``).

Errors: a :class:`~zuinig.errors.ZuinigError` becomes one line on stderr,
``zuinig: <message>``, with exit code 2 when it is the user's input and 1
otherwise; a usage error (unknown option, bad value) is one line and exit code
2; anything unexpected is one line and exit code 1. A traceback is shown only
with ``--debug`` (or ``ZUINIG_DEBUG=1``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from zuinig import __version__
from zuinig.config import CONFIG_FILE_ENV, Settings, check_ledger_url, load_settings
from zuinig.errors import BenchSessionNotFoundError, UsageError, ZuinigError
from zuinig.extras import require_for_command
from zuinig.formats import FORMAT_BY_SUFFIX, WRITABLE_KINDS
from zuinig.ledger.model import KIND_DASK, STATUSES, BenchSession, Run, RunFilter
from zuinig.safe_text import printable, printable_json
from zuinig.tags import tags_from_pairs
from zuinig.text import (
    format_breakdown,
    format_diagnosis,
    format_run,
    format_run_summary,
    format_runs_json,
    format_runs_table,
    one_line,
)

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger
    from zuinig.measure import Recorder
    from zuinig.meter.base import Meter

__all__ = [
    "AppState",
    "cli",
    "format_diagnosis",
    "format_run",
    "format_run_summary",
    "format_runs_table",
    "main",
]

#: Rows the table of ``runs list`` shows when no ``--limit`` is given.
DEFAULT_TABLE_LIMIT = 20
EXPORT_FORMATS = ("csv", "parquet", "json")
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


def _echo(text: str, *, err: bool = False) -> None:
    """Print text for people, every line with its control characters made visible.

    The one place where text from users (job names, tags, commands, error messages)
    reaches a terminal: an escape sequence in a job name is shown as ``\\x1b[2J``,
    never run (:func:`zuinig.safe_text.printable`).
    """
    click.echo("\n".join(printable(line) for line in text.split("\n")), err=err)


def _echo_json(document: str) -> None:
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
    _echo(one_line(line), err=True)
    return exit_code


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@click.group(cls=ZuinigGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--ledger",
    metavar="URL",
    help="Ledger to use: a SQLAlchemy URL such as sqlite:////path/ledger.sqlite or "
    "postgresql+psycopg://user@host/db. Default: ZUINIG_LEDGER, the settings file, or "
    "the SQLite file in your user data directory.",
)
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Settings file to read instead of looking for zuinig.toml or [tool.zuinig] in "
    "pyproject.toml.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.version_option(__version__, "--version", prog_name="zuinig")
@pass_state
def cli(state: AppState, ledger: str | None, config: Path | None, debug: bool) -> None:
    """Measure the energy and CO2e of data jobs, and keep every run in a ledger."""
    # Checked now, not when a command first reads the settings: every command refuses it.
    check_ledger_url(ledger, origin="argument")
    # A command whose pip extra is missing stops here with one line (exit 2), before it imports.
    require_for_command(click.get_current_context().invoked_subcommand)
    state.ledger = ledger if ledger is not None else state.ledger
    state.config = config if config is not None else state.config
    state.debug = state.debug or debug


def main() -> NoReturn:
    """Entry point of the ``zuinig`` console script."""
    cli.main(prog_name="zuinig")


# -- option parsing -------------------------------------------------------------------------


def parse_tags(
    ctx: click.Context | None, param: click.Parameter | None, values: Iterable[str]
) -> dict[str, str]:
    """``key=value`` strings to a mapping; click.BadParameter on a malformed one."""
    try:
        return tags_from_pairs(values)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None


def parse_month(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> str | None:
    """A ``YYYY-MM`` month in the range a report can be made for
    (:func:`zuinig.report.aggregate.checked_month_bounds`); click.BadParameter otherwise."""
    if value is None:
        return None
    from zuinig.ledger.store import month_bounds
    from zuinig.report.aggregate import checked_month_bounds

    month = value.strip()
    try:
        month_bounds(month)
    except UsageError:
        raise click.BadParameter(
            f"{value!r} is not a month; write it as YYYY-MM, such as 2026-11", ctx, param
        ) from None
    except ValueError:  # a month Python's dates cannot hold: checked below
        pass
    try:
        checked_month_bounds(month)
    except UsageError as error:
        raise click.BadParameter(str(error), ctx, param) from None
    return month


def parse_since(
    ctx: click.Context | None, param: click.Parameter | None, value: datetime | None
) -> datetime | None:
    """A ``--since`` date as UTC, from the first month a report can be made for up to now."""
    if value is None:
        return None
    from zuinig.report.aggregate import EARLIEST_MONTH

    since = value.replace(tzinfo=UTC)
    earliest = datetime.fromisoformat(f"{EARLIEST_MONTH}-01").replace(tzinfo=UTC)
    if not earliest <= since <= datetime.now(UTC):
        raise click.BadParameter(
            f"{since.date().isoformat()} is out of range; give a date from {EARLIEST_MONTH}-01 "
            "up to today (UTC)",
            ctx,
            param,
        )
    return since


def tag_option(help_text: str) -> Callable[[Any], Any]:
    """``--tag KEY=VALUE``, repeatable, parsed into a mapping (``tags``)."""
    return click.option(
        "--tag", "tags", multiple=True, callback=parse_tags, metavar="KEY=VALUE", help=help_text
    )


def filter_options(command: Any) -> Any:
    """The filters shared by ``runs list`` and ``runs export``."""
    options = [
        click.option("--job", help="Only runs of this job."),
        tag_option("Only runs with this tag (repeatable: all must match)."),
        click.option(
            "--month",
            callback=parse_month,
            metavar="YYYY-MM",
            help="Only runs started that month (UTC).",
        ),
        click.option("--status", type=click.Choice(STATUSES), help="Only runs with this status."),
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            metavar="N",
            help="At most N runs, newest first.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_filter(
    job: str | None,
    tags: Mapping[str, str],
    month: str | None,
    status: str | None,
    limit: int | None,
) -> RunFilter:
    return RunFilter(job=job, tags=dict(tags), month=month, status=status, limit=limit)


# -- zuinig run -----------------------------------------------------------------------------


@cli.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "--job",
    help="Job name of the run. Default: the scheduler's name for the task (dag.task in "
    "Airflow), else the command's base name.",
)
@tag_option("Label the run (repeatable), e.g. --tag team=ruimte.")
@click.option("-q", "--quiet", is_flag=True, help="No summary line after the command.")
@click.option(
    "--no-command",
    is_flag=True,
    help="Store no command line with the run (passwords, tokens and keys in it are "
    "masked by default; use this when a secret is a plain word).",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_state
def run_cmd(
    state: AppState,
    job: str | None,
    tags: dict[str, str],
    quiet: bool,
    no_command: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND and record its energy and CO2e as one run.

    \b
    Example:  zuinig run --job nachtrun --tag team=ruimte -- python job.py data.parquet

    The command's whole process tree is measured. Its input, output and error
    streams pass through untouched, and zuinig exits with its exit code (128+N
    when a signal N ended it; 127 when it is not found, 126 when it cannot be
    executed). Ctrl-C reaches the command as usual and the run is still recorded.
    When stderr is a terminal, one summary line follows the command's output.
    """
    from zuinig.measure.command import run_command

    extra_env = {CONFIG_FILE_ENV: str(state.config.resolve())} if state.config else None
    result = run_command(
        command,
        job=job,
        tags=tags,
        recorder=state.recorder(),
        env=extra_env,
        record_command=not no_command,
    )
    if result.problem:
        _echo(f"zuinig: {result.problem}", err=True)
    elif not quiet and _is_terminal(sys.stderr):
        _echo(format_run_summary(result.run), err=True)
    click.get_current_context().exit(result.exit_code)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# -- zuinig runs ----------------------------------------------------------------------------


@cli.group("runs")
def runs_group() -> None:
    """List, show and export the runs in the ledger."""


@runs_group.command("list")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="All matching runs as a JSON array.")
@pass_state
def runs_list(
    state: AppState,
    job: str | None,
    tags: dict[str, str],
    month: str | None,
    status: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List runs, newest first (the table shows 20 unless --limit is given)."""
    run_filter = _run_filter(job, tags, month, status, limit)
    with state.open_ledger() as ledger:
        if as_json:
            _echo_json(format_runs_json(ledger.list_runs(run_filter)))
            return
        table_filter = dataclasses.replace(run_filter, limit=limit or DEFAULT_TABLE_LIMIT)
        runs = ledger.list_runs(table_filter)
        full = len(runs) >= (table_filter.limit or 0)
        total = ledger.count_runs(run_filter) if full else len(runs)
    _echo("\n".join(format_runs_table(runs, total=total)))


@runs_group.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="The run as one JSON object.")
@pass_state
def runs_show(state: AppState, run_id: str, as_json: bool) -> None:
    """Show one run with every figure and how it was obtained (an id prefix will do)."""
    with state.open_ledger() as ledger:
        run = ledger.get_run(run_id)
        children = _dask_breakdown(ledger, run)
    if as_json:
        _echo_json(json.dumps(run.to_dict(), indent=2, ensure_ascii=False))
    else:
        _echo("\n".join([*format_run(run), *format_breakdown(children)]))


def _dask_breakdown(ledger: Any, run: Run) -> list[Run]:
    if run.kind != KIND_DASK:
        return []
    from zuinig.measure.dask import child_runs

    return child_runs(ledger, run)


@runs_group.command("export")
@filter_options
@click.option(
    "--format",
    "export_format",
    type=click.Choice(EXPORT_FORMATS),
    help="File format. Default: from the --out file's extension.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="File to write.",
)
@pass_state
def runs_export(
    state: AppState,
    job: str | None,
    tags: dict[str, str],
    month: str | None,
    status: str | None,
    limit: int | None,
    export_format: str | None,
    out: Path,
) -> None:
    """Write the matching runs to a CSV, Parquet or JSON file (columns: the DESIGN names).

    \b
    Example:  zuinig runs export --month 2026-11 --out runs-2026-11.csv
              zuinig runs export --format csv --out /dev/stdout | less

    A file is replaced only once the new one is complete (its permissions kept); a
    stream (/dev/stdout, a named pipe) is written into, and the count goes to stderr.
    """
    from zuinig.atomic import target_kind
    from zuinig.ledger.export import export_runs

    file_format = export_format or _format_from_suffix(out)
    # The count must not land in the data: stdout may be the stream, or the very file.
    count_to_stderr = target_kind(out) == "stream" or _is_stdout(out)
    with state.open_ledger() as ledger:
        runs = ledger.list_runs(_run_filter(job, tags, month, status, limit))
    try:
        export_runs(runs, out, file_format)
    except OSError as error:
        reason = error.strerror or str(error)
        raise click.ClickException(
            f"cannot write {out}: {reason}; check that its directory exists and is writable"
        ) from error
    count = f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
    _echo(f"wrote {count} to {out} ({file_format})", err=count_to_stderr)


def _is_stdout(path: Path) -> bool:
    """Whether ``path`` is the file this process's standard output goes to."""
    try:
        return os.path.samestat(os.fstat(sys.stdout.fileno()), path.stat())
    except (OSError, ValueError, AttributeError):  # no real stdout (tests), or no file yet
        return False


def _format_from_suffix(path: Path) -> str:
    fmt = FORMAT_BY_SUFFIX.get(path.suffix.lower(), "")
    if fmt in EXPORT_FORMATS:
        return fmt
    raise click.BadParameter(
        f"cannot tell the format from {path.name!r}; give --format csv, parquet or json",
        param_hint="'--format'",
    )


# -- zuinig bench ---------------------------------------------------------------------------


def _parse_size_option(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> int | None:
    from zuinig.bench.runner import parse_size

    if value is None:
        return None
    try:
        return parse_size(value)
    except UsageError as error:
        raise click.BadParameter(str(error), ctx, param) from None


def _parse_threads_option(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> tuple[int, ...] | None:
    from zuinig.bench.runner import parse_threads

    if value is None:
        return None
    try:
        return parse_threads(value)
    except UsageError as error:
        raise click.BadParameter(str(error), ctx, param) from None


def _parse_percent_option(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> float | None:
    from zuinig.bench.regression import parse_percent

    if value is None:
        return None
    try:
        return parse_percent(value)
    except UsageError as error:
        raise click.BadParameter(str(error), ctx, param) from None


@cli.command("bench")
@click.option(
    "--workload",
    type=click.Choice(["tpch", "groupby"]),
    default=None,
    help="Standard workload: tpch (TPC-H derived, default) or groupby (h2oai-style).",
)
@click.option(
    "--scale", type=click.FloatRange(min=0, min_open=True), help="TPC-H scale factor (default 0.1)."
)
@click.option(
    "--rows",
    type=click.IntRange(min=1),
    help="Group-by rows (default 1000000); refused when it would not fit memory or disk.",
)
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Your own CSV, Parquet or Arrow file; converted to each format first (with --job).",
)
@click.option(
    "--job",
    metavar="MODULE:FUNCTION",
    help="Your function(engine_name, path) to run on --data: MODULE.py is looked for in this "
    "folder, or give FILE.py:FUNCTION.",
)
@click.option(
    "--formats",
    metavar="LIST",
    help="Formats, comma-separated, or 'all'. Default: csv,parquet-zstd,arrow-lz4.",
)
@click.option(
    "--engines",
    metavar="LIST",
    help="Engines, comma-separated (polars = all its modes, polars:lazy one; module:Class "
    "loads your own), or 'all'. Default: pandas:default,polars:lazy,duckdb:default.",
)
@click.option(
    "--queries", metavar="LIST", help="Queries, comma-separated. Default: all of the workload's."
)
@click.option(
    "--threads",
    callback=_parse_threads_option,
    metavar="LIST",
    help="Thread counts, e.g. 1,2. Default: the CPU count.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Measured repetitions per configuration.",
)
@click.option(
    "--memory-limit",
    callback=_parse_size_option,
    metavar="SIZE",
    help="Kill a trial whose processes hold more memory, e.g. 2GB (status oom).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Kill a trial that runs longer (status timeout).",
)
@click.option(
    "--seed", type=int, help="Seed of the shuffled trial order (default: drawn, and stored)."
)
@click.option("--per-query", is_flag=True, help="One table row per query instead of totals.")
@tag_option("Label every run of the session (repeatable), e.g. --tag team=ruimte.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object and nothing else on stdout."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write results.json and SVG charts here.",
)
@click.option(
    "--compare",
    "compare_with",
    metavar="SESSION_ID",
    help="Also show each configuration's energy as a ratio to this earlier session's "
    "(id or unique prefix; same data), with its 95% interval.",
)
@click.option(
    "--fail-if-worse",
    "fail_if_worse",
    callback=_parse_percent_option,
    metavar="PCT",
    help="With --compare: exit 1 when a configuration is clearly worse by more than PCT "
    "percent (its interval's lower end above 1 + PCT/100). For CI.",
)
@pass_state
def bench_cmd(
    state: AppState,
    workload: str | None,
    scale: float | None,
    rows: int | None,
    data: Path | None,
    job: str | None,
    formats: str | None,
    engines: str | None,
    queries: str | None,
    threads: tuple[int, ...] | None,
    repeat: int,
    memory_limit: int | None,
    timeout: float | None,
    seed: int | None,
    per_query: bool,
    tags: Mapping[str, str],
    as_json: bool,
    out: Path | None,
    compare_with: str | None,
    fail_if_worse: float | None,
) -> None:
    """Compare storage formats and engines: energy, time and storage, with statistics.

    \b
    Example:  zuinig bench --workload tpch --scale 0.1 --repeat 3
    In CI:    zuinig bench --workload groupby --compare 3f2a9c1e --fail-if-worse 10

    Every configuration (format x engine x threads) runs in a fresh process per
    repetition, interleaved in a shuffled order; answers are checked against each
    other and a configuration with a wrong answer is disqualified. Ctrl-C stops
    cleanly, keeps the completed trials and exits with code 130.
    """
    from zuinig.bench import regression
    from zuinig.bench import report as bench_report
    from zuinig.bench.runner import BenchOptions, BenchRunner, resolve_matrix

    if fail_if_worse is not None and compare_with is None:
        raise UsageError("--fail-if-worse needs --compare SESSION_ID: the session to compare with")
    if (data is None) != (job is None):
        raise UsageError("your own data needs both --data FILE and --job module:function")
    if data is not None and workload is not None:
        raise UsageError("--data and --job replace --workload; give one or the other")
    if data is not None and not data.is_file():
        raise UsageError(f"{data} is not a file; give --data an existing file")
    options = BenchOptions(
        workload="user" if data is not None else workload or "tpch",
        scale=scale,
        rows=rows,
        data=data,
        job=job,
        formats=formats,
        engines=engines,
        queries=queries,
        threads=threads,
        repeat=repeat,
        memory_limit_bytes=memory_limit,
        timeout_s=timeout,
        seed=seed,
        cwd=Path.cwd(),
        tags=dict(tags),
    )
    with state.open_ledger() as ledger:
        earlier = _compared_session(ledger, compare_with) if compare_with else None
        matrix = None
        if earlier is not None:
            matrix = resolve_matrix(options)  # checked before anything runs
            regression.check_comparable(earlier, matrix, str(data) if data else None)
    with state.open_ledger() as ledger, _bench_progress() as progress:
        runner = BenchRunner(
            options,
            recorder=state.recorder(),
            store=ledger,
            ledger_url=state.ledger_url(),
            config_file=state.config,
            progress=progress,
        )
        result = runner.run(matrix)
        comparison = None
        refused: UsageError | None = None
        if earlier is not None and not result.interrupted:
            try:
                comparison = regression.compare_with_session(ledger, earlier, result, fail_if_worse)
            except UsageError as error:
                refused = error  # said after the results, which are stored and shown
    document = result.to_dict()  # JSON only for --json and results.json
    if comparison is not None:
        document["comparison"] = comparison.to_dict()
    for line in bench_report.disqualified_warnings(result):
        _echo(line, err=True)
    if out is not None:
        written = bench_report.write_outputs(result, out, document=document)
        _echo(f"zuinig: wrote {', '.join(str(path) for path in written)}", err=True)
    if as_json:
        _echo_json(bench_report.format_json(document))
    else:
        _echo("\n".join(bench_report.format_table(result, per_query=per_query)))
        if comparison is not None:
            _echo("\n".join(["", *regression.format_comparison(comparison)]))
    if result.interrupted:
        _echo(
            f"zuinig: interrupted; {result.completed_trials} of {result.planned_trials} trials "
            f"completed and stored (session {result.session.session_id[:8]})",
            err=True,
        )
        click.get_current_context().exit(130)
    if refused is not None:
        raise refused
    if comparison is not None and comparison.worse:
        for line in regression.regression_lines(comparison):
            _echo(line, err=True)
        click.get_current_context().exit(1)


def _compared_session(ledger: Ledger, session_id: str) -> BenchSession:
    """The session ``--compare`` names, or one line saying where its id is found."""
    try:
        return ledger.get_bench_session(session_id)
    except BenchSessionNotFoundError:
        raise UsageError(
            f"--compare {session_id!r}: no such bench session in this ledger; a session's id "
            "is the word after 'zuinig bench' in its table's first line, or its --json "
            "session_id"
        ) from None


@contextlib.contextmanager
def _bench_progress() -> Iterator[Callable[[Any], None]]:
    """A rich progress bar on stderr while the matrix runs; nothing when stderr is no terminal."""
    if not _is_terminal(sys.stderr):
        yield lambda update: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def update(step: Any) -> None:
            bar.update(
                task, completed=step.done, total=step.total or None, description=step.message
            )

        yield update


# -- zuinig convert -------------------------------------------------------------------------


@cli.command("convert")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Choice(WRITABLE_KINDS, case_sensitive=False),
    help="Format to write.",
)
@click.option(
    "--compression",
    metavar="CODEC",
    help="parquet: zstd (default), snappy, gzip, brotli, lz4, none; arrow: zstd (default), "
    "lz4, none; csv: none (default), gzip.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="File to write, or a directory to write it in. Default: beside SOURCE, same name, "
    "new suffix.",
)
@click.option("--force", is_flag=True, help="Replace the target if it exists.")
@pass_state
def convert_cmd(
    state: AppState,
    source: Path,
    to: str,
    compression: str | None,
    out: Path | None,
    force: bool,
) -> None:
    """Convert a CSV, Parquet or Arrow file, verified, leaving SOURCE untouched.

    \b
    Example:  zuinig convert metingen.csv.gz --to parquet

    Streams, so files larger than memory convert. Writes a hidden temporary file
    beside the target, checks its row count, schema and per-column checksums
    against the source, and only then renames it into place. The conversion's own
    energy is recorded as a run (kind convert).
    """
    from zuinig.convert import convert_file, format_conversion

    with _convert_progress() as progress:
        result = convert_file(
            source,
            to,
            compression=compression,
            out=out,
            force=force,
            recorder=state.recorder(),
            progress=progress,
        )
    _echo("\n".join(format_conversion(result)))


@contextlib.contextmanager
def _convert_progress() -> Iterator[Callable[[Any], None]]:
    """Bytes done as a rich progress bar on stderr; nothing when stderr is no terminal."""
    if not _is_terminal(sys.stderr):
        yield lambda update: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("converting", total=None)

        def update(step: Any) -> None:
            bar.update(
                task,
                completed=step.done_bytes,
                total=step.total_bytes or None,
                description=step.phase,
            )

        yield update


# -- zuinig advise --------------------------------------------------------------------------


@cli.command("advise")
@click.option("--job", help="Only this job.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    callback=parse_since,
    metavar="DATE",
    help="Only runs from this date (YYYY-MM-DD, UTC); runs per month are counted from it.",
)
@click.option("--json", "as_json", is_flag=True, help="The advice as one JSON object.")
@pass_state
def advise_cmd(state: AppState, job: str | None, since: datetime | None, as_json: bool) -> None:
    """Recommend lower-energy configurations per job, with savings, payback and evidence.

    \b
    Example:  zuinig advise --since 2026-09-01

    Compares each job's format and engine (as the meter saw them) with the best
    correct configuration a `zuinig bench` measured on the same file, and shows
    the savings jobs realised after changing configuration.
    """
    from zuinig.advise import advise
    from zuinig.advise.text import format_advice

    with state.open_ledger() as ledger:
        advice = advise(ledger, state.settings(), job=job, since=since)
    if as_json:
        _echo_json(json.dumps(advice.to_dict(), indent=2, ensure_ascii=False))
    else:
        _echo("\n".join(format_advice(advice)))


# -- zuinig report, zuinig demo --------------------------------------------------------------

# The same as zuinig.report.render.FORMATS and zuinig.report.texts.LANGUAGES (a test
# checks); written here so that starting the CLI does not import Jinja2 and Babel.
REPORT_FORMATS = ("html", "pdf", "csv")
REPORT_LANGUAGES = ("nl", "en")


def last_complete_month(now: datetime | None = None) -> str:
    """The month before ``now`` (UTC), ``YYYY-MM``: the report a month-start job wants."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    year, month = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def parse_report_formats(
    ctx: click.Context | None, param: click.Parameter | None, value: str
) -> tuple[str, ...]:
    """``html,pdf`` to a tuple of known formats, in the order given; BadParameter otherwise."""
    formats = tuple(
        dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip())
    )
    unknown = [name for name in formats if name not in REPORT_FORMATS]
    if unknown or not formats:
        raise click.BadParameter(
            f"{value!r} is not a list of formats; choose from {','.join(REPORT_FORMATS)}",
            ctx,
            param,
        )
    return formats


def _stderr_progress() -> Callable[[str], None] | None:
    """Progress lines on stderr when a person watches it; nothing in pipes and logs."""
    if not _is_terminal(sys.stderr):
        return None
    return lambda message: _echo(f"  {message}", err=True)


@cli.command("report")
@click.option(
    "--month",
    callback=parse_month,
    metavar="YYYY-MM",
    help="The month to report (UTC). Default: the last complete month.",
)
@click.option(
    "--lang", type=click.Choice(REPORT_LANGUAGES), default="nl", show_default=True, help="Language."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default="the current directory",
    help="Folder to write the files into (made if missing).",
)
@click.option(
    "--format",
    "formats",
    default=",".join(REPORT_FORMATS),
    show_default=True,
    callback=parse_report_formats,
    help="Comma-separated: html, pdf, csv.",
)
@tag_option("Only runs with this tag (repeatable: all must match), e.g. --tag team=ruimte.")
@click.option(
    "--team-tag",
    default="team",
    show_default=True,
    metavar="KEY",
    help="The tag whose values are the teams in the per-team section.",
)
@pass_state
def report_cmd(
    state: AppState,
    month: str | None,
    lang: str,
    out_dir: Path,
    formats: tuple[str, ...],
    tags: Mapping[str, str],
    team_tag: str,
) -> None:
    """Write the monthly energy report for management: HTML, PDF and a CSV appendix.

    \b
    Example:  zuinig report --month 2026-11 --lang nl --out verslagen/

    Totals and the change against the month before, a 12-month trend, top jobs,
    teams, SCI, open recommendations and realised savings, equivalents, and the
    method behind every figure. Prints the paths of the files written.
    """
    from zuinig.report.aggregate import build_report
    from zuinig.report.render import write_report

    month = month or last_complete_month()
    with state.open_ledger() as ledger:
        report = build_report(
            ledger, state.settings(), month=month, tags=dict(tags), team_tag=team_tag
        )
    for path in write_report(
        report, out_dir, lang=lang, formats=formats, progress=_stderr_progress()
    ):
        _echo(str(path))


@cli.command("demo")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the demo (new or empty). Default: zuinig-demo-<date>-<time> here.",
)
@pass_state
def demo_cmd(state: AppState, folder: Path | None) -> None:
    """Show zuinig end to end: data, measured jobs, a benchmark, advice and a report.

    Everything, the demo's own ledger included, goes into one new folder, so your
    own ledger stays untouched. Takes a few minutes; prints the paths at the end.
    """
    from zuinig.demo import format_demo_result, run_demo

    result = run_demo(
        folder,
        settings=state.settings(),
        progress=lambda message: _echo(message, err=True),
    )
    _echo("\n".join(format_demo_result(result)))


# -- zuinig doctor --------------------------------------------------------------------------


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="The diagnosis as one JSON object.")
@pass_state
def doctor_cmd(state: AppState, as_json: bool) -> None:
    """How energy will be measured on this machine, and how to calibrate it."""
    from zuinig.doctor import diagnose

    diagnosis = diagnose(state.settings(), ledger_url=state.ledger_url(), meter=state.meter)
    if as_json:
        _echo_json(json.dumps(diagnosis.to_dict(), indent=2, ensure_ascii=False))
    else:
        _echo("\n".join(format_diagnosis(diagnosis)))


# -- zuinig ledger sync, zuinig import codecarbon -------------------------------------------


@cli.group("ledger")
def ledger_group() -> None:
    """Share runs with another ledger, such as a team's on PostgreSQL."""


@ledger_group.command("sync")
@click.option(
    "--to",
    "to_url",
    required=True,
    metavar="URL",
    help="Ledger to copy to, e.g. postgresql+psycopg://analist@db.example/zuinig.",
)
@click.option(
    "--from",
    "from_url",
    metavar="URL",
    help="Ledger to copy from. Default: your ledger (--ledger, ZUINIG_LEDGER, settings, or "
    "the SQLite file in your user data directory).",
)
@click.option("--job", help="Only runs of this job.")
@click.option(
    "--month", callback=parse_month, metavar="YYYY-MM", help="Only runs started that month (UTC)."
)
@click.option("--dry-run", is_flag=True, help="Write nothing; say what would be copied.")
@pass_state
def ledger_sync(
    state: AppState,
    to_url: str,
    from_url: str | None,
    job: str | None,
    month: str | None,
    dry_run: bool,
) -> None:
    """Copy runs to the ledger at URL, and deliver runs kept in the local spool for it.

    \b
    Example:  zuinig ledger sync --to postgresql+psycopg://analist@db.example/zuinig

    Idempotent by run id: a second sync copies only what is new or changed, and a
    run still running here never overwrites one finished there. Runs that could
    not reach URL while their job ran (kept in the local spool) are delivered
    too. Passwords are never shown; prefer ~/.pgpass or PGPASSWORD to a password
    in the URL.
    """
    from zuinig.ledger.store import missing_sqlite_file
    from zuinig.ledger.sync import sync_to
    from zuinig.ledger_text import format_sync

    for option, url in (("--to", to_url), ("--from", from_url)):
        if url is not None and not url.strip():
            raise click.BadParameter(
                "is empty; give a ledger URL such as sqlite:////path/ledger.sqlite",
                param_hint=f"'{option}'",
            )
    if from_url is not None:
        missing = missing_sqlite_file(from_url)
        if missing is not None:
            # Opening it would create an empty ledger and copy nothing: a typo, surely.
            raise click.BadParameter(
                f"there is no SQLite ledger at {missing}; check the path "
                "(sqlite:////absolute/path or sqlite:///relative/path)",
                param_hint="'--from'",
            )
    with _sync_progress() as progress:
        report = sync_to(
            to_url,
            from_url=from_url if from_url is not None else state.ledger_url(),
            run_filter=RunFilter(job=job, month=month),
            dry_run=dry_run,
            progress=progress,
        )
    _echo("\n".join(format_sync(report)))


@contextlib.contextmanager
def _sync_progress() -> Iterator[Callable[[Any], None]]:
    """A rich progress bar on stderr while runs are synced; nothing when stderr is no terminal."""
    if not _is_terminal(sys.stderr):
        yield lambda step: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("syncing runs"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("sync", total=None)

        def update(step: Any) -> None:
            bar.update(task, completed=step.done, total=step.total)

        yield update


@cli.group("import")
def import_group() -> None:
    """Bring measurements made by other tools into the ledger."""


@import_group.command("codecarbon")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--job", help="Job name of every imported run. Default: CodeCarbon's project_name.")
@pass_state
def import_codecarbon(state: AppState, files: tuple[Path, ...], job: str | None) -> None:
    """Import CodeCarbon emissions.csv FILES as runs (method: imported).

    \b
    Example:  zuinig import codecarbon emissions.csv oud/emissions.csv --job nachtrun

    Idempotent by CodeCarbon's run_id: importing a file again adds nothing. Bad
    rows are listed on stderr with their line numbers; the good rows are kept.
    Exit code 0 when any row was imported (or was already there), 1 when every
    row was bad, 2 when a file is missing (then nothing is imported).
    """
    from zuinig.ledger.importers import import_codecarbon_csv
    from zuinig.ledger_text import format_import

    with state.open_ledger() as ledger:
        result = import_codecarbon_csv(files, ledger, job=job)
    summary, *bad_rows = format_import(result)
    _echo(summary)
    for line in bad_rows:
        _echo(line, err=True)
    if result.bad_rows and not result.good_rows:
        click.get_current_context().exit(1)
