"""``zuinig bench``: compare storage formats and engines on energy, time and storage."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zuinig.cli.app import AppState, echo, echo_json, pass_state
from zuinig.cli.options import parsed_with, tag_option
from zuinig.cli.progress import progress_bar
from zuinig.errors import BenchSessionNotFoundError, UsageError
from zuinig.ledger.model import BenchSession

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger

__all__ = ["bench_cmd"]


# The parsers are imported when an option is given, not when the CLI starts.
def _size(text: str) -> int:
    from zuinig.bench.runner import parse_size

    return parse_size(text)


def _threads(text: str) -> tuple[int, ...]:
    from zuinig.bench.runner import parse_threads

    return parse_threads(text)


def _percent(text: str) -> float:
    from zuinig.bench.regression import parse_percent

    return parse_percent(text)


@click.command("bench")
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
    callback=parsed_with(_threads),
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
    callback=parsed_with(_size),
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
    "--idle",
    "idle_s",
    type=click.FloatRange(min=0, max=3600),
    metavar="SECONDS",
    help="Measure the idle machine this long before the trials (its power is shown beside "
    "the figures); 0 skips it. Default: 3.",
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
    callback=parsed_with(_percent),
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
    idle_s: float | None,
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
    from zuinig.bench import text as bench_text
    from zuinig.bench.runner import DEFAULT_IDLE_S, BenchOptions, BenchRunner, resolve_matrix

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
        idle_s=DEFAULT_IDLE_S if idle_s is None else idle_s,
    )
    with state.open_ledger() as ledger:
        earlier = _compared_session(ledger, compare_with) if compare_with else None
        matrix = None
        if earlier is not None:
            matrix = resolve_matrix(options)  # checked before anything runs
            regression.check_comparable(earlier, matrix, str(data) if data else None)
    with state.open_ledger() as ledger, progress_bar("starting") as bar:
        runner = BenchRunner(
            options,
            recorder=state.recorder(),
            store=ledger,
            ledger_url=state.ledger_url(),
            config_file=state.config,
            progress=lambda step: bar(step.done, step.total, step.message),
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
    for line in bench_text.disqualified_warnings(result):
        echo(line, err=True)
    if out is not None:
        written = bench_text.write_outputs(result, out, document=document)
        echo(f"zuinig: wrote {', '.join(str(path) for path in written)}", err=True)
    if as_json:
        echo_json(bench_text.format_json(document))
    else:
        echo("\n".join(bench_text.format_table(result, per_query=per_query)))
        if comparison is not None:
            echo("\n".join(["", *regression.format_comparison(comparison)]))
    if result.interrupted:
        echo(
            f"zuinig: interrupted; {result.completed_trials} of {result.planned_trials} trials "
            f"completed and stored (session {result.session.session_id[:8]})",
            err=True,
        )
        click.get_current_context().exit(130)
    if refused is not None:
        raise refused
    if comparison is not None and comparison.worse:
        for line in regression.regression_lines(comparison):
            echo(line, err=True)
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
