"""``zuinig demo``: the whole tool on made-up data, in one folder, in a few minutes.

:func:`run_demo` makes a new folder and, inside it:

1. generates a CSV of made-up building permits (:mod:`zuinig.demo_jobs`; nothing is
   downloaded);
2. runs measured sample jobs of two teams, several runs each so the ledger shows how
   often they run: pandas on the CSV (the usual configuration before advice), one job
   that fails, then converts the CSV to Parquet with :func:`zuinig.convert.convert_file`
   (whose energy is recorded too) and runs jobs in Polars and DuckDB on the Parquet
   file, one of them a job that switched from pandas on CSV;
3. benchmarks the job on its own file (``zuinig bench --data permits.csv --job
   zuinig.demo_jobs:permits_summary``: CSV and Parquet, pandas, Polars and DuckDB);
4. writes the advice (``advice.txt``, ``advice.json``);
5. writes this month's report (UTC), in Dutch and English, as HTML, PDF and CSV, into
   ``report/``.

**The demo has a ledger of its own**, ``<folder>/ledger.db`` (SQLite), and a settings
file, ``<folder>/zuinig.toml``, that names it: demo runs never reach the ledger of
your real jobs. Look at them with ``zuinig --ledger sqlite:///<folder>/ledger.db runs
list`` (or ``zuinig --config <folder>/zuinig.toml ...``). The measurements are real:
the default meter (CodeCarbon) of your settings measures every run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zuinig.atomic import write_file
from zuinig.config import CONFIG_FILE_ENV, ENV_PREFIX, Settings, load_settings, replace
from zuinig.demo_jobs import SampleBatch, write_permits
from zuinig.errors import DemoError, UsageError, ZuinigError
from zuinig.report.render import FORMATS
from zuinig.report.texts import LANGUAGES

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger
    from zuinig.measure import Recorder

__all__ = [
    "DEFAULT_REPEAT",
    "DEFAULT_ROWS",
    "DemoError",
    "DemoResult",
    "run_demo",
]

#: Rows of the demo's CSV (about 45 MB): large enough that reading CSV clearly costs
#: more than reading Parquet, small enough for the whole demo to take a few minutes.
DEFAULT_ROWS = 1_000_000
#: Measured repetitions per configuration of the demo's benchmark.
DEFAULT_REPEAT = 3
#: The benchmark's matrix: the baseline format and the usual columnar one, three engines.
BENCH_FORMATS = "csv,parquet-zstd"
BENCH_ENGINES = "pandas:default,polars:lazy,duckdb:default"
BENCH_JOB = "zuinig.demo_jobs:permits_summary"
#: The report in every language and format it has.
REPORT_LANGUAGES = LANGUAGES
REPORT_FORMATS = FORMATS
#: Longest a batch of sample jobs may take (s); the runs take seconds.
SAMPLE_TIMEOUT_S = 600.0

#: The demo's teams and jobs (names as a provincial data team might use them).
TEAM_SPACE = "ruimte"
TEAM_ECONOMY = "economie"
JOB_MONITOR = "woningbouwmonitor"
JOB_DASHBOARD = "woningbouw-dashboard"
JOB_QUARTERLY = "vergunningen-kwartaal"
JOB_DISTRICTS = "vergunningen-per-wijk"
#: The team that owns the benchmark, so its energy counts for a team in the report, not
#: under "(no team)". BENCH_JOB's function runs in ruimte's JOB_MONITOR (CSV, pandas) and
#: JOB_DASHBOARD (Parquet, polars): the move the benchmark compares. economie's
#: JOB_QUARTERLY calls it too, but fewer times.
BENCH_TEAM = TEAM_SPACE


@dataclass(frozen=True)
class DemoResult:
    """What a demo made, and where.

    Attributes:
        folder: the demo's folder.
        ledger_url: the demo's own ledger (SQLite in the folder).
        config_path: the settings file naming that ledger.
        data_paths: the generated CSV and its Parquet copy.
        bench_session_id: the benchmark session in the demo's ledger.
        advice_path: the advice as text (``advice.json`` lies beside it).
        month: the report's month, ``YYYY-MM`` (UTC).
        report_paths: the report files, every language and format.
        runs_recorded: runs in the demo's ledger (sample jobs, the conversion, the
            benchmark's preparation and trials).
        failed_runs: those with status ``error``.
        duration_s: wall time of the whole demo (s).
    """

    folder: Path
    ledger_url: str
    config_path: Path
    data_paths: tuple[Path, ...]
    bench_session_id: str
    advice_path: Path
    month: str
    report_paths: tuple[Path, ...]
    runs_recorded: int
    failed_runs: int
    duration_s: float


Progress = Callable[[str], None]


def run_demo(
    folder: Path | None = None,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
    rows: int = DEFAULT_ROWS,
    repeat: int = DEFAULT_REPEAT,
) -> DemoResult:
    """Generate data, run measured sample jobs and a benchmark, advise and report.

    See the module docstring for the steps. Everything goes into ``folder``, with a
    ledger of its own, so the demo never adds runs to your real ledger.

    Args:
        folder: where to put everything; it must not exist or be empty. By default a
            new folder ``zuinig-demo-YYYYMMDD-HHMMSS`` (UTC) in the working directory.
        settings: the meter's settings (country, calibration, PUE); their ``ledger`` is
            replaced by the demo's own. Read as usual (file, environment) when ``None``.
        progress: told, in words, what each step does.
        rows: rows of the generated CSV.
        repeat: measured repetitions per configuration of the benchmark.

    Returns:
        The paths and counts (:class:`DemoResult`).

    Raises:
        UsageError: ``folder`` exists and is not an empty folder, or ``rows`` or
            ``repeat`` is below 1.
        DemoError: a step failed; the runs measured before it stay in the demo's ledger.
    """
    if rows < 1 or repeat < 1:
        raise UsageError(
            f"the demo needs at least one row and one repetition, got {rows}, {repeat}"
        )
    started = time.monotonic()
    say = progress or (lambda line: None)
    settings = settings or load_settings()  # a wrong setting fails before a folder is made
    folder = _make_folder(folder)
    ledger_url = f"sqlite:///{folder / 'ledger.db'}"
    settings = replace(settings, ledger=ledger_url)
    config_path = _write_settings(settings, folder / "zuinig.toml")
    say(f"Demo folder {folder}; its own ledger is {ledger_url}")

    from zuinig.ledger.store import Ledger
    from zuinig.measure import Recorder

    recorder = Recorder(settings, ledger_url=ledger_url)
    with _step("open the demo's ledger", ledger_url):
        # Opened up front: runs are written directly, never left in the user's spool.
        recorder.ledger()
        ledger = Ledger.open(ledger_url, settings=settings)
    with ledger:
        csv_path = folder / "data" / "permits.csv"
        say(f"1/5 Generating {rows:,} made-up building permits (no download): {csv_path}")
        with _step("generate the data", ledger_url):
            csv_path.parent.mkdir()
            write_permits(csv_path, rows)

        parquet_path = _sample_jobs(csv_path, recorder, config_path, ledger_url, say)
        session_id = _benchmark(csv_path, folder, recorder, ledger, config_path, repeat, say)
        recorder.flush()

        say("4/5 Advising: each job's configuration against the benchmark")
        advice_path = _advise(ledger, settings, folder, ledger_url)

        month = datetime.now(UTC).strftime("%Y-%m")
        say(f"5/5 Writing the report for {month} (Dutch and English; HTML, PDF, CSV)")
        report_paths = _report(ledger, settings, month, folder / "report", ledger_url, say)

        from zuinig.ledger.model import STATUS_ERROR, RunFilter

        runs_recorded = ledger.count_runs()
        failed_runs = ledger.count_runs(RunFilter(status=STATUS_ERROR))
    return DemoResult(
        folder=folder,
        ledger_url=ledger_url,
        config_path=config_path,
        data_paths=(csv_path, parquet_path),
        bench_session_id=session_id,
        advice_path=advice_path,
        month=month,
        report_paths=tuple(report_paths),
        runs_recorded=runs_recorded,
        failed_runs=failed_runs,
        duration_s=time.monotonic() - started,
    )


# -- the steps -----------------------------------------------------------------------------


@contextmanager
def _step(what: str, ledger_url: str) -> Iterator[None]:
    """Turn a failure inside a step into one :class:`DemoError` line."""
    try:
        yield
    except DemoError:
        raise
    except (ZuinigError, OSError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DemoError(
            f"demo: could not {what}: {reason} (runs measured before are in {ledger_url})"
        ) from error


def _make_folder(folder: Path | None) -> Path:
    if folder is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        base = Path.cwd() / f"zuinig-demo-{stamp}"
        for attempt in range(1, 100):
            candidate = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
            try:
                candidate.mkdir(parents=True)
            except FileExistsError:
                continue  # never reuse a folder: another demo started in the same second
            return candidate.resolve()
        raise UsageError(f"cannot find a new folder name beside {base}; give one")
    folder = folder.expanduser()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; give a new or empty folder for the demo")
    if folder.is_dir() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty; give a new or empty folder for the demo")
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()


def _write_settings(settings: Settings, path: Path) -> Path:
    """Write ``settings`` as a ``zuinig.toml``, for the demo's own processes and the user.

    The sample jobs and the benchmark's trials run in processes of their own; this
    file gives them the caller's settings with the demo's ledger.
    """
    lines = ["# Settings of this zuinig demo: its own ledger, and the meter's settings.\n"]
    for item in fields(Settings):
        value = getattr(settings, item.name)
        if item.name == "origins" or value is None:
            continue
        # JSON strings and numbers are valid TOML basic strings and floats.
        lines.append(f"{item.name} = {json.dumps(value)}\n")
    write_file(path, "".join(lines))
    load_settings(environ={CONFIG_FILE_ENV: str(path)})  # fails now if it would fail there
    return path


def _sample_jobs(
    csv_path: Path, recorder: Recorder, config_path: Path, ledger_url: str, say: Progress
) -> Path:
    """Measured sample jobs before and after converting the CSV to Parquet; the Parquet path."""
    csv = str(csv_path)
    say(
        f"2/5 Measured sample jobs, pandas on CSV: {JOB_MONITOR} (5 runs), {JOB_QUARTERLY} "
        f"(3 runs), {JOB_DISTRICTS} (fails on purpose; recorded as an error)"
    )
    _run_batches(
        [
            SampleBatch(JOB_MONITOR, TEAM_SPACE, "permits_summary", "pandas", csv, 5),
            SampleBatch(JOB_QUARTERLY, TEAM_ECONOMY, "permits_summary", "pandas", csv, 3),
            SampleBatch(JOB_DISTRICTS, TEAM_ECONOMY, "district_check", "pandas", csv, 1),
        ],
        config_path,
        ledger_url,
    )
    say(f"    Converting {csv_path.name} to Parquet (zstd), verified; its energy is a run too")
    from zuinig.convert import convert_file

    with _step("convert the CSV to Parquet", ledger_url):
        converted = convert_file(csv_path, "parquet", recorder=recorder)
    parquet = str(converted.target)
    say(
        f"    {JOB_QUARTERLY} switches to DuckDB on Parquet (3 runs); {JOB_DASHBOARD} "
        "runs in Polars on Parquet (4 runs)"
    )
    # One process per engine: the meter records the engines loaded in the process.
    for batch in (
        SampleBatch(JOB_QUARTERLY, TEAM_ECONOMY, "permits_summary", "duckdb", parquet, 3),
        SampleBatch(JOB_DASHBOARD, TEAM_SPACE, "permits_summary", "polars", parquet, 4),
    ):
        _run_batches([batch], config_path, ledger_url)
    return Path(converted.target)


def _run_batches(batches: Sequence[SampleBatch], config_path: Path, ledger_url: str) -> None:
    """Run ``batches`` in one fresh Python process, as an analyst's script runs."""
    spec = json.dumps([asdict(batch) for batch in batches])
    jobs = ", ".join(batch.job for batch in batches)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "zuinig.demo_jobs", spec],
            env=_child_environment(config_path),
            capture_output=True,
            text=True,
            timeout=SAMPLE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DemoError(f"demo: the sample jobs {jobs} did not finish: {error}") from error
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        raise DemoError(
            f"demo: the sample jobs {jobs} failed: {lines[-1]} "
            f"(runs measured before are in {ledger_url})"
        )


def _child_environment(config_path: Path) -> dict[str, str]:
    """This environment without zuinig's settings, plus the demo's settings file.

    ``ZUINIG_*`` variables would beat the file (the user's ``ZUINIG_LEDGER`` among them)
    and the parent-run variable would nest the demo's runs under another run.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(ENV_PREFIX)}
    env[CONFIG_FILE_ENV] = str(config_path)
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return env


def _benchmark(
    csv_path: Path,
    folder: Path,
    recorder: Recorder,
    ledger: Ledger,
    config_path: Path,
    repeat: int,
    say: Progress,
) -> str:
    """The benchmark on the demo's file and job; the session id."""
    from zuinig.bench import text as bench_text
    from zuinig.bench.runner import BenchOptions, BenchRunner, ProgressUpdate

    command = (
        f"zuinig bench --data {csv_path} --job {BENCH_JOB} --formats {BENCH_FORMATS} "
        f"--engines {BENCH_ENGINES} --repeat {repeat}"
    )
    say(f"3/5 Benchmark on the demo's own file and job (each trial a fresh process): {command}")

    def update(step: ProgressUpdate) -> None:
        if step.message.startswith("finished"):
            return  # the next line says what runs now
        counted = f"{step.done + 1}/{step.total} " if step.total else ""
        say(f"    {counted}{step.message}")

    options = BenchOptions(
        workload="user",
        data=csv_path,
        job=BENCH_JOB,
        formats=BENCH_FORMATS,
        engines=BENCH_ENGINES,
        repeat=repeat,
        cache_dir=folder / "bench" / "cache",
        cwd=folder,
        tags={"team": BENCH_TEAM},
    )
    ledger_url = recorder.ledger_url()
    with _step("run the benchmark", ledger_url):
        runner = BenchRunner(
            options,
            recorder=recorder,
            store=ledger,
            ledger_url=ledger_url,
            config_file=config_path,
            progress=update,
        )
        result = runner.run()
        out = folder / "bench"
        bench_text.write_outputs(result, out)
        table = bench_text.format_table(result)
        warnings = bench_text.disqualified_warnings(result)
        write_file(out / "table.txt", "\n".join([*warnings, *table]) + "\n")
    for line in warnings:
        say(f"    {line}")
    if result.interrupted:
        raise DemoError(
            f"demo: interrupted during the benchmark; {result.completed_trials} of "
            f"{result.planned_trials} trials are stored in {ledger_url}"
        )
    return result.session.session_id


def _advise(ledger: Ledger, settings: Settings, folder: Path, ledger_url: str) -> Path:
    from zuinig.advise import advise
    from zuinig.advise.text import format_advice

    with _step("advise", ledger_url):
        advice = advise(ledger, settings)
        text_path = folder / "advice.txt"
        write_file(text_path, "\n".join(format_advice(advice)) + "\n")
        write_file(
            folder / "advice.json",
            json.dumps(advice.to_dict(), indent=2, ensure_ascii=False) + "\n",
        )
    return text_path


def _report(
    ledger: Ledger,
    settings: Settings,
    month: str,
    out_dir: Path,
    ledger_url: str,
    say: Progress,
) -> list[Path]:
    """The month's report in every language; the files written."""
    from zuinig.report.aggregate import build_report
    from zuinig.report.render import write_report

    written: list[Path] = []
    with _step(f"write the report for {month}", ledger_url):
        report = build_report(ledger, settings, month=month)
        for lang in REPORT_LANGUAGES:
            written += write_report(
                report, out_dir, lang=lang, formats=REPORT_FORMATS, progress=_indent(say)
            )
    return written


def _indent(say: Progress) -> Callable[[Any], None]:
    def forward(message: Any) -> None:
        say(f"    {message}")

    return forward
