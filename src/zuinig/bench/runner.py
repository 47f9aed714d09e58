"""The benchmark matrix: formats x engines x threads, each trial in a fresh process.

One *configuration* is (format, engine, mode, threads). The runner:

1. generates the workload's data (cached) and prepares every format once, measuring
   the energy of writing it (phase ``prepare``; files already there are reused, and
   then only their size is recorded);
2. measures an idle baseline: a child process that sleeps in a meter window;
3. runs ``repeat`` rounds; in each round every configuration runs once, in an order
   shuffled with a stored seed, so that drift of the machine (temperature, other
   load) spreads evenly over the configurations instead of favouring one;
4. compares every configuration's answer to each query (the first answer it gave) with
   the consensus and disqualifies those that disagree;
5. summarises (:mod:`zuinig.bench.results`) and stores the session and every trial,
   each linked to its run, in the ledger. Trials are stored as they finish; a failure
   after the session started ends it as ``error``, never leaving it ``running``, and a
   failure while comparing answers leaves them ``not checked`` and the results intact.

Each trial is one ``python -m zuinig.bench.trial`` process (see that module) that runs
all selected queries for one configuration. The parent watches it: the process tree's
resident memory every :data:`MEMORY_POLL_S` seconds against ``memory_limit_bytes``
(``oom``), its wall time against ``timeout_s`` (``timeout``); a failed trial is recorded
with its reason and the matrix goes on. Ctrl-C kills the running trial, keeps every
completed one and marks the session ``interrupted``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import psutil

from zuinig.bench.results import (
    Configuration,
    ImportRow,
    Observation,
    ResultRow,
    Summary,
    summarise,
)
from zuinig.bench.sizing import Need, check_fits, size_text
from zuinig.bench.trial import (
    EXIT_OOM,
    KIND_IDLE,
    KIND_QUERIES,
    KIND_USER,
    PHASE_IDLE,
    PHASE_IMPORT,
    PHASE_MEASURED,
    PHASE_PREPARE,
    STATUS_ERROR,
    STATUS_INTERRUPTED,
    STATUS_OK,
    STATUS_OOM,
    STATUS_TIMEOUT,
    STATUS_WRONG,
    TrialEvent,
    TrialSpec,
    find_job_file,
    job_function_name,
    one_line,
    read_events,
    safe_import_path,
)
from zuinig.config import CONFIG_FILE_ENV
from zuinig.errors import BenchError, UsageError, ZuinigError
from zuinig.ledger.model import KIND_BENCH, BenchSession, BenchTrial, Run

if TYPE_CHECKING:
    from zuinig.bench.formats import PreparedData
    from zuinig.bench.workloads import Workload
    from zuinig.measure import Recorder

#: Formats of the quick default matrix: the baseline, the usual columnar choice, and
#: Arrow; ``--formats all`` gives every format.
DEFAULT_FORMATS = ("csv", "parquet-zstd", "arrow-lz4")
#: Engines of the quick default matrix: one mode each; ``--engines all`` gives all.
DEFAULT_ENGINES = ("pandas:default", "polars:lazy", "duckdb:default")
#: Repetitions per configuration when none is given.
DEFAULT_REPEAT = 5
#: Seconds the idle baseline sleeps: long enough for CodeCarbon's samples, short enough
#: not to matter next to the matrix.
DEFAULT_IDLE_S = 3.0
#: Seconds between two looks at a trial's memory; 25 ms catches a fast-growing process
#: well before it takes the machine down, at about 1 % of one core for psutil.
MEMORY_POLL_S = 0.025
#: Seconds to wait for a killed trial to be reaped.
KILL_WAIT_S = 10.0
#: Stderr lines of a failed trial kept to explain it.
_STDERR_TAIL_LINES = 5
#: Most repetitions per configuration: bootstrap intervals settle long before, and each
#: repetition is a fresh process (about a second at least), so 1000 already take a
#: quarter of an hour per configuration.
MAX_REPEAT = 1000
#: Most threads per logical CPU: more measures the operating system's scheduling, not
#: the engine, and engines start a thread (with its stack) for each.
MAX_THREADS_PER_CPU = 4
#: Longest trial timeout (s): a week; a longer one is a typing error.
MAX_TIMEOUT_S = 7 * 24 * 3600.0
#: Most rows: Arrow and the ledger count rows in signed 64-bit integers.
MAX_ROWS = 2**63 - 1

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


# -- options ------------------------------------------------------------------------------


#: Tag keys the bench sets on its runs itself; a session's own tags may not use them.
BENCH_TAG_KEYS = frozenset(
    {"session", "format", "engine", "mode", "threads", "repetition", "phase"}
)


@dataclass(frozen=True)
class BenchOptions:
    """What to benchmark and how; every field has the CLI's default.

    Attributes:
        workload: ``tpch``, ``groupby`` or ``user`` (set by ``data``).
        scale: TPC-H scale factor.
        rows: group-by rows.
        data: the user's file (``user`` workload).
        job: the user's ``module:function`` (``user`` workload).
        formats: comma-separated formats, ``all``, or ``None`` for :data:`DEFAULT_FORMATS`.
        engines: comma-separated engines (``polars`` = all its modes, ``polars:lazy``
            one; ``module:Class`` loads a custom engine), ``all``, or ``None`` for
            :data:`DEFAULT_ENGINES`.
        queries: comma-separated queries, or ``None`` for all of the workload's.
        threads: thread counts; ``None`` for this machine's logical CPUs.
        repeat: measured repetitions per configuration.
        memory_limit_bytes: kill a trial whose process tree holds more (bytes).
        timeout_s: kill a trial that runs longer (s).
        seed: seed of the shuffled order; ``None`` draws one (it is stored).
        idle_s: seconds of the idle baseline; 0 skips it.
        cache_dir: where generated data is kept; the user cache when ``None``.
        prepared_dir: where prepared formats are kept; ``<cache>/prepared`` when ``None``.
        meter: ``default`` or ``null`` (no energy; for tests of the machinery).
        cwd: the working folder, where the job's module name or relative file path is
            looked up (see :func:`~zuinig.bench.trial.find_job_file`).
        tags: tags of every run the session stores (preparation, import, warm-up,
            measured and idle), e.g. ``{"team": "ruimte"}`` so that the benchmark's
            energy counts for that team in reports. The bench's own keys
            (:data:`BENCH_TAG_KEYS`) cannot be given.

    Raises:
        UsageError: a tag key is empty or one of the bench's own; a number is not finite
            or out of its range (see :meth:`check_numbers`); a list is empty.
    """

    workload: str = "tpch"
    scale: float | None = None
    rows: int | None = None
    data: Path | None = None
    job: str | None = None
    formats: str | None = None
    engines: str | None = None
    queries: str | None = None
    threads: tuple[int, ...] | None = None
    repeat: int = DEFAULT_REPEAT
    memory_limit_bytes: int | None = None
    timeout_s: float | None = None
    seed: int | None = None
    idle_s: float = DEFAULT_IDLE_S
    cache_dir: Path | None = None
    prepared_dir: Path | None = None
    meter: str = "default"
    cwd: Path | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.check_numbers()
        for option, value in (
            ("--formats", self.formats),
            ("--engines", self.engines),
            ("--queries", self.queries),
        ):
            if value is not None and not value.replace(",", "").strip():
                raise UsageError(
                    f"{option} is empty; give a comma-separated list, or leave the option out "
                    "for the default"
                )
        for key in self.tags:
            if not isinstance(key, str) or not key:
                raise UsageError(f"tag keys must be non-empty text, got {key!r}")
        taken = sorted(BENCH_TAG_KEYS.intersection(self.tags))
        if taken:
            raise UsageError(
                f"the bench sets the tag{'s' if len(taken) > 1 else ''} {', '.join(taken)} "
                f"itself; give other keys (e.g. team=...)"
            )
        # A read-only copy: the caller's dict may change after the session starts.
        frozen = MappingProxyType({key: str(value) for key, value in self.tags.items()})
        object.__setattr__(self, "tags", frozen)

    def check_numbers(self) -> None:
        """Refuse numbers no benchmark can use, before anything runs.

        Not a number (nan), infinite, negative or absurd: ``repeat`` in 1 to
        :data:`MAX_REPEAT`; ``threads`` in 1 to :data:`MAX_THREADS_PER_CPU` per logical
        CPU; ``timeout_s`` above 0 and at most :data:`MAX_TIMEOUT_S`; ``scale`` above 0
        and at most TPC-H's largest; ``rows`` in 1 to :data:`MAX_ROWS`;
        ``memory_limit_bytes`` above 0 and at most this machine's memory and swap.
        Whether the data fits is checked later, before it is generated
        (:mod:`zuinig.bench.sizing`).

        Raises:
            UsageError: the first number that is out of range, in one line.
        """
        from zuinig.bench.workloads import MAX_TPCH_SCALE

        if not 1 <= self.repeat <= MAX_REPEAT:
            raise UsageError(f"--repeat must be from 1 to {MAX_REPEAT}, got {self.repeat}")
        cpus = os.cpu_count() or 1
        most_threads = MAX_THREADS_PER_CPU * cpus
        for count in self.threads or ():
            if not 1 <= count <= most_threads:
                raise UsageError(
                    f"--threads {count} is out of range; this machine has {cpus} logical CPUs, "
                    f"give 1 to {most_threads}"
                )
        _check_float("--timeout", self.timeout_s, MAX_TIMEOUT_S, "seconds")
        _check_float("--scale", self.scale, MAX_TPCH_SCALE, "the TPC-H scale factor")
        if not math.isfinite(self.idle_s) or self.idle_s < 0:
            raise UsageError(f"the idle baseline must be 0 s or more, got {self.idle_s}")
        if self.rows is not None and not 1 <= self.rows <= MAX_ROWS:
            raise UsageError(f"--rows must be from 1 to {MAX_ROWS:,}, got {self.rows:,}")
        if self.memory_limit_bytes is not None:
            machine = psutil.virtual_memory().total + psutil.swap_memory().total
            if self.memory_limit_bytes <= 0:
                raise UsageError(f"--memory-limit must be above 0, got {self.memory_limit_bytes}")
            if self.memory_limit_bytes > machine:
                raise UsageError(
                    f"--memory-limit {size_text(self.memory_limit_bytes)} is more than this "
                    f"machine's memory and swap ({size_text(machine)}); give less, or leave "
                    "it out for no limit"
                )

    def to_config(self) -> dict[str, Any]:
        """The options as JSON values, for the session record."""
        return {
            "workload": self.workload,
            "scale": self.scale,
            "rows": self.rows,
            "data": str(self.data) if self.data else None,
            "job": self.job,
            "formats": self.formats,
            "engines": self.engines,
            "queries": self.queries,
            "threads": list(self.threads) if self.threads else None,
            "repeat": self.repeat,
            "memory_limit_bytes": self.memory_limit_bytes,
            "timeout_s": self.timeout_s,
            "seed": self.seed,
            "idle_s": self.idle_s,
            "meter": self.meter,
            "tags": dict(self.tags),
        }


def _check_float(option: str, value: float | None, most: float, what: str) -> None:
    if value is None:
        return
    if not math.isfinite(value) or not 0 < value <= most:  # nan fails every comparison
        raise UsageError(f"{option} must be above 0 and at most {most:g} ({what}), got {value}")


def parse_size(text: str) -> int:
    """Bytes from a size such as ``2GB``, ``500MB``, ``1.5GiB`` or ``1000000``.

    KB, MB, GB and TB are powers of 1000; KiB, MiB, GiB and TiB powers of 1024.

    Raises:
        UsageError: the text is not a positive size.
    """
    found = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = found.group(2).lower() if found else ""
    if found is None or unit not in _SIZE_UNITS:
        raise UsageError(f"{text!r} is not a size; write it as 2GB, 500MB or 1.5GiB")
    size = int(float(found.group(1)) * _SIZE_UNITS[unit])
    if size <= 0:
        raise UsageError(f"{text!r} is not a size above zero")
    return size


def parse_threads(text: str) -> tuple[int, ...]:
    """Thread counts from ``"1,2"``.

    Raises:
        UsageError: an item is not a whole number of 1 or more.
    """
    counts: list[int] = []
    for item in (part.strip() for part in text.split(",")):
        if not item.isdigit() or int(item) < 1:
            raise UsageError(f"{item!r} is not a thread count; give whole numbers such as 1,2")
        counts.append(int(item))
    if not counts:
        raise UsageError("give at least one thread count, such as --threads 1,2")
    return tuple(dict.fromkeys(counts))


# -- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Matrix:
    """What a session runs, resolved from :class:`BenchOptions`.

    Attributes:
        workload: the workload, its data generated.
        formats: the format names.
        engines: (engine, mode) pairs.
        engine_paths: per custom engine name, its ``module:Class`` for the child.
        threads: the thread counts.
        queries: the queries (for ``user``: the job's function name).
        job_file: the file of the user's job module, when found by path (see
            :func:`~zuinig.bench.trial.find_job_file`).
    """

    workload: Workload
    formats: tuple[str, ...]
    engines: tuple[tuple[str, str], ...]
    engine_paths: Mapping[str, str]
    threads: tuple[int, ...]
    queries: tuple[str, ...]
    job_file: Path | None = None

    def configurations(self) -> list[Configuration]:
        """Every format x engine x threads, except formats the engine cannot read."""
        unreadable = self.unreadable()
        return [
            Configuration(fmt, engine, mode, threads)
            for fmt in self.formats
            for engine, mode in self.engines
            if (fmt, engine, mode) not in unreadable
            for threads in self.threads
        ]

    def unreadable(self) -> dict[tuple[str, str, str], str]:
        """(format, engine, mode) left out because the engine cannot read the format: why."""
        from zuinig.bench.engines import get_engine
        from zuinig.bench.formats import get_format

        left_out = {}
        for fmt in map(get_format, self.formats):
            for name, mode in self.engines:
                if not get_engine(name, mode).reads(fmt):
                    left_out[fmt.name, name, mode] = (
                        f"{name}/{mode} cannot read {fmt.name} ({fmt.description}); "
                        "that combination is left out"
                    )
        return left_out


def resolve_matrix(options: BenchOptions) -> Matrix:
    """Check the options and generate (or find) the workload's data.

    Raises:
        UsageError: an option names an unknown format, engine, query, or a missing file.
        BenchError: the data cannot be generated.
    """
    from zuinig.bench.engines import engine_names, parse_engines
    from zuinig.bench.formats import FORMATS, parse_formats
    from zuinig.bench.queries import parse_queries
    from zuinig.bench.workloads import get_workload

    with _as_usage_error():
        formats = (
            tuple(FORMATS)
            if options.formats == "all"
            else tuple(f.name for f in parse_formats(options.formats or ",".join(DEFAULT_FORMATS)))
        )
        engine_paths = _load_custom_engines(options.engines)
        engines_text = options.engines or ",".join(DEFAULT_ENGINES)
        if engines_text == "all":
            engines_text = ",".join(engine_names())
        for name, path in engine_paths.items():
            engines_text = engines_text.replace(path, name)
        engines = tuple(parse_engines(engines_text))
        if options.workload == "user":
            if options.data is None or not options.job:
                raise UsageError("your own data needs both --data FILE and --job module:function")
            if not options.data.is_file():
                raise UsageError(f"{options.data} is not a file; give --data an existing file")
            queries: tuple[str, ...] = (job_function_name(options.job),)
            job_file = find_job_file(options.job, options.cwd or Path.cwd())
        else:
            if options.data is not None or options.job:
                raise UsageError("--data and --job go together, without --workload")
            queries = parse_queries(options.workload, options.queries)
            job_file = None
    workload = get_workload(
        options.workload,
        scale=options.scale,
        rows=options.rows,
        data=options.data,
        cache_dir=options.cache_dir,
        memory_limit_bytes=options.memory_limit_bytes,
    )
    matrix = Matrix(
        workload=workload,
        formats=formats,
        engines=engines,
        engine_paths=engine_paths,
        threads=options.threads or (os.cpu_count() or 1,),
        queries=queries,
        job_file=job_file,
    )
    if not matrix.configurations():
        raise UsageError(
            "no engine given reads any format given: " + "; ".join(matrix.unreadable().values())
        )
    return matrix


@contextlib.contextmanager
def _as_usage_error() -> Iterator[None]:
    """A BenchError while reading options is the user's input: exit code 2."""
    try:
        yield
    except BenchError as error:
        raise UsageError(str(error)) from error


def _load_custom_engines(spec: str | None) -> dict[str, str]:
    """Load every ``module:Class`` item of ``--engines``; name to path."""
    from zuinig.bench.engines import load_engine

    paths: dict[str, str] = {}
    for item in (spec or "").split(","):
        item = item.strip()
        # Engine modes are lower case (polars:lazy), class names capitalised.
        module, _, attribute = item.partition(":")
        if module and attribute[:1].isupper():
            paths[load_engine(item, replace=True).name] = item
    return paths


def plan_rounds(
    configs: Sequence[Configuration], repeat: int, seed: int
) -> list[list[Configuration]]:
    """The order of the trials: ``repeat`` rounds, each every configuration once, shuffled.

    Interleaving rounds (rather than running one configuration ``repeat`` times in a
    row) spreads slow drift of the machine evenly; shuffling each round keeps any one
    configuration from always following another. The same seed gives the same order.
    """
    generator = random.Random(seed)
    rounds = []
    for _ in range(repeat):
        order = list(configs)
        generator.shuffle(order)
        rounds.append(order)
    return rounds


# -- running one trial process ----------------------------------------------------------


@dataclass(frozen=True)
class TrialOutcome:
    """How a trial process ended.

    Attributes:
        status: ``ok``, ``oom``, ``timeout``, ``error`` or ``interrupted``.
        reason: one line saying why it failed; empty when it did not.
        events: the steps it completed or failed, in order.
        wall_s: wall-clock time of the process (s).
        peak_rss_bytes: the highest process-tree memory the parent saw (bytes).
    """

    status: str
    reason: str = ""
    events: tuple[TrialEvent, ...] = ()
    wall_s: float = 0.0
    peak_rss_bytes: int = 0


class StopFlag:
    """Set by Ctrl-C: the running trial is killed and no further trial starts."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()


#: Runs one trial: spec, extra environment, memory limit (bytes), timeout (s), stop flag.
TrialExecutor = Callable[
    [TrialSpec, Mapping[str, str], int | None, float | None, StopFlag], TrialOutcome
]


def run_trial_process(
    spec: TrialSpec,
    env: Mapping[str, str],
    memory_limit_bytes: int | None,
    timeout_s: float | None,
    stop: StopFlag,
) -> TrialOutcome:
    """Run ``spec`` in a fresh ``python -m zuinig.bench.trial`` and watch it.

    The child starts in its own session, so a Ctrl-C in the terminal reaches only the
    runner, which then kills the child: an engine never sees a half-delivered
    interrupt. Killing takes the whole process group (engines may start helpers).
    """
    started = time.monotonic()
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        child = subprocess.Popen(
            # -P: the working folder is not put on the import path (see zuinig.bench.trial).
            [sys.executable, "-P", "-m", "zuinig.bench.trial"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, **env},
            start_new_session=True,
            text=True,
        )
        assert child.stdin is not None
        try:
            child.stdin.write(spec.to_json())
            child.stdin.close()
        except BrokenPipeError:
            pass  # the child died at once; its exit code says why
        killed, reason, peak = _watch(child, memory_limit_bytes, timeout_s, stop, started)
        stderr.seek(0)
        tail = stderr.read().strip().splitlines()[-_STDERR_TAIL_LINES:]
    events = tuple(read_events(Path(spec.events_path)))
    wall_s = time.monotonic() - started
    status, reason = _classify(child.returncode, killed, reason, events, tail)
    return TrialOutcome(status, reason, events, wall_s, peak)


def _watch(
    child: subprocess.Popen[str],
    memory_limit_bytes: int | None,
    timeout_s: float | None,
    stop: StopFlag,
    started: float,
) -> tuple[str | None, str, int]:
    """Wait for ``child``; kill it when over a limit or stopped. Returns
    (why it was killed or None, reason, peak tree RSS in bytes)."""
    peak = 0
    while child.poll() is None:
        rss = tree_rss_bytes(child.pid)
        peak = max(peak, rss)
        why: str | None = None
        reason = ""
        if stop.is_set:
            why, reason = STATUS_INTERRUPTED, "stopped by Ctrl-C"
        elif memory_limit_bytes is not None and rss > memory_limit_bytes:
            why = STATUS_OOM
            limit = size_text(memory_limit_bytes)
            reason = f"used {size_text(rss)}, over the memory limit of {limit}; killed"
        elif timeout_s is not None and time.monotonic() - started > timeout_s:
            why, reason = STATUS_TIMEOUT, f"still running after {timeout_s:g} s (--timeout); killed"
        if why is not None:
            _kill_group(child)
            return why, reason, peak
        time.sleep(MEMORY_POLL_S)
    return None, "", peak


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (bytes); 0 when it is gone."""
    try:
        process = psutil.Process(pid)
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def _kill_group(child: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        child.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(KILL_WAIT_S)


def _classify(
    returncode: int | None,
    killed: str | None,
    reason: str,
    events: Sequence[TrialEvent],
    stderr_tail: Sequence[str],
) -> tuple[str, str]:
    if killed is not None:
        return killed, reason
    failed = next((e for e in events if e.status != STATUS_OK), None)
    if returncode == 0 and failed is None:
        return STATUS_OK, ""
    if returncode == EXIT_OOM or (failed is not None and failed.status == STATUS_OOM):
        return STATUS_OOM, failed.reason if failed else "MemoryError"
    if returncode == -signal.SIGKILL:
        return STATUS_OOM, "killed by SIGKILL, most likely by the kernel's out-of-memory killer"
    if failed is not None:
        return STATUS_ERROR, failed.reason
    last = stderr_tail[-1] if stderr_tail else "no message"
    return STATUS_ERROR, f"exited with code {returncode}: {last}"


# -- the store ----------------------------------------------------------------------------


class BenchStore(Protocol):
    """Where sessions and trials go: :class:`zuinig.ledger.Ledger` or a test double."""

    def start_bench_session(self, session: BenchSession) -> BenchSession: ...

    def finish_bench_session(self, session: BenchSession) -> None: ...

    def add_bench_trials(self, trials: Sequence[BenchTrial]) -> None: ...

    def drain_spool(self) -> object:
        """Deliver the runs a finished trial left in the spool (see ``hand_off`` of
        :class:`zuinig.ledger.writer.RunWriter`)."""
        ...


# -- progress -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressUpdate:
    """What the runner is doing, for a progress bar.

    Attributes:
        done: trials finished.
        total: trials planned.
        message: what runs now, in words.
    """

    done: int
    total: int
    message: str


ProgressCallback = Callable[[ProgressUpdate], None]


# -- the report ---------------------------------------------------------------------------


@dataclass
class BenchReport:
    """Everything a finished (or interrupted) session says: the input of every renderer.

    Attributes:
        session: the session as stored at its end.
        summary: the figures (see :mod:`zuinig.bench.results`).
        seed: the seed of the trial order.
        repeat: repetitions asked for.
        prepare: per format: storage_bytes, reused, energy_kwh, duration_s.
        idle: the idle baseline: energy_kwh, duration_s, power_w; empty when not measured.
        completed_trials: trial processes that completed.
        planned_trials: trial processes planned.
        wall_s: wall-clock time of the whole session (s).
        notes: sentences to show with the figures.
        observations: every step of every trial, as summarised (for ``--compare``;
            not part of the JSON).
    """

    session: BenchSession
    summary: Summary
    seed: int
    repeat: int
    prepare: list[dict[str, Any]] = field(default_factory=list)
    idle: dict[str, Any] = field(default_factory=dict)
    completed_trials: int = 0
    planned_trials: int = 0
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        """Whether the session was stopped before every trial ran."""
        return self.session.status == STATUS_INTERRUPTED

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object."""
        session = self.session
        return {
            "session_id": session.session_id,
            "status": session.status,
            "workload": session.workload,
            "scale": session.scale,
            "rows": session.rows,
            "label": session.label,
            "machine": dict(session.machine),
            "method": dict(session.method),
            "page_cache": session.page_cache,
            "seed": self.seed,
            "repeat": self.repeat,
            "baseline": "csv + pandas/default at the same thread count and query",
            "idle_baseline": self.idle or None,
            "prepare": self.prepare,
            "imports": [row.to_dict() for row in self.summary.imports],
            "results": [row.to_dict() for row in self.summary.results],
            "totals": [row.to_dict() for row in self.summary.totals],
            "disqualified": self.summary.disqualified,
            "notes": [*self.notes, *self.summary.notes],
            "completed_trials": self.completed_trials,
            "planned_trials": self.planned_trials,
            "wall_s": self.wall_s,
            "started_at": session.started_at.isoformat(),
            "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        }

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> BenchReport:
        """Rebuild a report from its ``--json`` object (or ``results.json``), to render it
        again. What the JSON does not carry stays empty: the session's config and stored
        results, and the observations; the notes are kept as one list.

        Raises:
            KeyError: a key :meth:`to_dict` writes is missing.
            ValueError: a row is not a bench result row.
        """
        ended_at = document.get("ended_at")
        session = BenchSession(
            session_id=str(document["session_id"]),
            workload=str(document["workload"]),
            started_at=datetime.fromisoformat(str(document["started_at"])),
            status=str(document["status"]),
            scale=document.get("scale"),
            rows=document.get("rows"),
            label=document.get("label"),
            machine=dict(document.get("machine") or {}),
            method=dict(document.get("method") or {}),
            page_cache=document.get("page_cache"),
            ended_at=datetime.fromisoformat(str(ended_at)) if ended_at else None,
        )
        summary = Summary(
            results=[ResultRow.from_dict(row) for row in document["results"]],
            totals=[ResultRow.from_dict(row) for row in document["totals"]],
            imports=[ImportRow.from_dict(row) for row in document["imports"]],
            notes=[],
            disqualified=dict(document.get("disqualified") or {}),
        )
        return cls(
            session=session,
            summary=summary,
            seed=int(document["seed"]),
            repeat=int(document["repeat"]),
            prepare=list(document.get("prepare") or []),
            idle=dict(document.get("idle_baseline") or {}),
            completed_trials=int(document.get("completed_trials") or 0),
            planned_trials=int(document.get("planned_trials") or 0),
            wall_s=float(document.get("wall_s") or 0.0),
            notes=[str(note) for note in document.get("notes") or []],
        )


# -- the runner ---------------------------------------------------------------------------


class BenchRunner:
    """Runs one session of the benchmark matrix.

    Args:
        options: what to run.
        recorder: measures the preparation of formats (in this process) and stores its runs.
        store: where the session and its trials go (the ledger).
        ledger_url: the ledger trial processes store their runs in.
        config_file: the settings file, handed to trial processes.
        executor: runs one trial; :func:`run_trial_process` unless a test replaces it.
        progress: told about each step, for a progress bar.
    """

    def __init__(
        self,
        options: BenchOptions,
        *,
        recorder: Recorder,
        store: BenchStore,
        ledger_url: str | None = None,
        config_file: Path | None = None,
        executor: TrialExecutor = run_trial_process,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.options = options
        self.recorder = recorder
        self.store = store
        self.ledger_url = ledger_url
        self.config_file = config_file
        self.executor = executor
        self.progress = progress or (lambda update: None)
        self.stop = StopFlag()
        self.seed = (
            options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
        )
        self._observations: list[Observation] = []
        self._measured_trials: dict[tuple[Configuration, str], list[BenchTrial]] = {}
        self._answers: dict[tuple[Configuration, str], Path] = {}
        self._notes: list[str] = []
        self._page_cache: str | None = None
        self._baseline_run_id: str | None = None

    def run(self, matrix: Matrix | None = None) -> BenchReport:
        """Run the session; Ctrl-C ends it early as ``interrupted`` (see the module docstring).

        Raises:
            UsageError: the options are wrong.
            BenchError: the data cannot be generated or no format can be prepared.
        """
        started = time.monotonic()
        matrix = matrix or resolve_matrix(self.options)
        self._check_prepared_fit(matrix)
        session = self._start_session(matrix)
        try:
            return self._run_session(session, matrix, started)
        except BaseException as error:
            # Its trials are stored as they finish; the session must not stay "running".
            status = STATUS_INTERRUPTED if isinstance(error, KeyboardInterrupt) else STATUS_ERROR
            with contextlib.suppress(Exception):  # the original error is the one to report
                self.store.finish_bench_session(
                    replace(session, status=status, ended_at=datetime.now(UTC))
                )
            raise

    def _run_session(self, session: BenchSession, matrix: Matrix, started: float) -> BenchReport:
        # Open the recorder's ledger before the preparation runs: left to zuinig.measure's
        # background opener (spool first), its CPU time would land in their windows.
        with contextlib.suppress(Exception):  # unreachable: runs are spooled instead
            self.recorder.ledger()
        with (
            tempfile.TemporaryDirectory(prefix="zuinig-bench-") as work,
            _stopping_on_sigint(self.stop),
        ):
            work_dir = Path(work)
            prepared, prepare_rows = self._prepare_all(session, matrix)
            configs = [c for c in matrix.configurations() if c.format in prepared]
            self._notes += matrix.unreadable().values()
            rounds = plan_rounds(configs, self.options.repeat, self.seed)
            total = len(configs) * self.options.repeat
            idle = self._measure_idle(session, work_dir)
            done = self._run_rounds(session, matrix, rounds, prepared, work_dir, total)
            wrong, checked = self._check_answers(matrix.queries)
        self._store_verdicts(session, wrong, checked)
        summary = summarise(
            configs,
            matrix.queries,
            self._observations,
            {name: data.storage_bytes for name, data in prepared.items()},
            wrong,
            checked,
        )
        status = STATUS_INTERRUPTED if self.stop.is_set else STATUS_OK
        report = BenchReport(
            session=session,
            summary=summary,
            seed=self.seed,
            repeat=self.options.repeat,
            prepare=prepare_rows,
            idle=idle,
            completed_trials=done,
            planned_trials=total,
            wall_s=time.monotonic() - started,
            notes=[*matrix.workload.notes, *self._notes],
            observations=list(self._observations),
        )
        report.session = replace(
            session,
            status=status,
            ended_at=datetime.now(UTC),
            results=[row.to_dict() for row in summary.results],  # JSON in the ledger
            page_cache=self._page_cache,
            baseline_run_id=self._baseline_run_id,
        )
        self.store.finish_bench_session(report.session)
        return report

    # -- steps ----------------------------------------------------------------------------

    def _start_session(self, matrix: Matrix) -> BenchSession:
        method = self.recorder.meter.method()
        session = BenchSession(
            session_id=str(uuid.uuid4()),
            workload=matrix.workload.name,
            started_at=datetime.now(UTC),
            scale=matrix.workload.scale,
            rows=matrix.workload.rows if matrix.workload.name != "tpch" else None,
            label=matrix.workload.label,
            config={
                **self.options.to_config(),
                "seed": self.seed,
                "formats": list(matrix.formats),
                "engines": [f"{e}:{m}" for e, m in matrix.engines],
                "threads": list(matrix.threads),
                "queries": list(matrix.queries),
            },
            machine=machine_facts(),
            method={
                **dataclasses.asdict(method),
                "estimated": not method.is_measured,
                "in_words": method.describe(),
            },
            page_cache=None,
        )
        return self.store.start_bench_session(session)

    def _prepared_dir(self) -> Path:
        from zuinig.bench.workloads import default_cache_dir

        return self.options.prepared_dir or (
            (self.options.cache_dir or default_cache_dir()) / "prepared"
        )

    def _check_prepared_fit(self, matrix: Matrix) -> None:
        """Refuse, before the session starts, formats whose files would not fit the disk."""
        from zuinig.bench.formats import estimate_prepared_bytes, find_prepared, get_format

        directory = self._prepared_dir()
        missing = [
            fmt
            for fmt in map(get_format, matrix.formats)
            if find_prepared(matrix.workload, fmt, directory) is None
        ]
        if not missing:
            return
        need = sum(estimate_prepared_bytes(matrix.workload, fmt) for fmt in missing)
        names = ", ".join(fmt.name for fmt in missing)
        check_fits(
            Need(
                what=f"{matrix.workload.key} as {names}",
                memory_bytes=0,  # written in batches
                disk_bytes=need,
                advice="give fewer --formats or free disk space",
                disk_is_bound=False,
            ),
            directory,
        )

    def _prepare_all(
        self, session: BenchSession, matrix: Matrix
    ) -> tuple[dict[str, PreparedData], list[dict[str, Any]]]:
        directory = self._prepared_dir()
        prepared: dict[str, PreparedData] = {}
        rows: list[dict[str, Any]] = []
        for fmt in matrix.formats:
            self.progress(ProgressUpdate(0, 0, f"preparing {fmt}"))
            data, row = self._prepare_one(session, matrix.workload, fmt, directory)
            rows.append(row)
            if data is not None:
                prepared[fmt] = data
        if not prepared:
            raise BenchError(
                "no format could be prepared: "
                + "; ".join(f"{r['format']}: {r['reason']}" for r in rows)
            )
        self._page_cache = page_cache_statement(sum(d.storage_bytes for d in prepared.values()))
        return prepared, rows

    def _prepare_one(
        self, session: BenchSession, workload: Workload, fmt: str, directory: Path
    ) -> tuple[PreparedData | None, dict[str, Any]]:
        from zuinig.bench.formats import prepare_one

        active = self.recorder.begin(
            f"bench:{workload.name}:prepare:{fmt}",
            tags={
                **self.options.tags,
                "session": session.session_id,
                "format": fmt,
                "phase": PHASE_PREPARE,
            },
            kind=KIND_BENCH,
        )
        data: PreparedData | None = None
        reason = ""
        try:
            data = prepare_one(workload, fmt, directory)
            run = active.finish()
        except BenchError as error:
            run = active.finish(error)
            reason = str(error)
        reused = bool(data and data.reused)
        if reused:
            reason = "reused files prepared earlier; the energy shown is of finding them, not of writing them"
        self.store.add_bench_trials(
            [
                BenchTrial(
                    trial_id=str(uuid.uuid4()),
                    session_id=session.session_id,
                    phase=PHASE_PREPARE,
                    status=STATUS_OK if data else STATUS_ERROR,
                    format=fmt,
                    run_id=run.run_id,
                    reason=reason or None,
                    storage_bytes=data.storage_bytes if data else None,
                    started_at=run.started_at,
                )
            ]
        )
        row = {
            "format": fmt,
            "status": STATUS_OK if data else STATUS_ERROR,
            "storage_bytes": data.storage_bytes if data else None,
            "reused": reused,
            "energy_kwh": None if reused else run.energy_kwh,
            "duration_s": None if reused else run.duration_s,
            "run_id": run.run_id,
            "reason": reason,
        }
        return data, row

    def _measure_idle(self, session: BenchSession, work_dir: Path) -> dict[str, Any]:
        if self.options.idle_s <= 0 or self.stop.is_set:
            return {}
        self.progress(
            ProgressUpdate(0, 0, f"measuring the idle machine for {self.options.idle_s:g} s")
        )
        events_path = work_dir / "idle.jsonl"
        spec = TrialSpec(
            kind=KIND_IDLE,
            events_path=str(events_path),
            job_prefix=f"bench:{session.workload}",
            tags={**self.options.tags, "session": session.session_id},
            idle_s=self.options.idle_s,
            ledger_url=self.ledger_url,
            meter=self.options.meter,
        )
        outcome = self.executor(spec, self._base_env(), None, self.options.idle_s + 60, self.stop)
        event = next((e for e in outcome.events if e.phase == PHASE_IDLE), None)
        run = Run.from_dict(event.run) if event and event.run else None
        self._deliver_trial_runs()
        self.store.add_bench_trials(
            [
                BenchTrial(
                    trial_id=str(uuid.uuid4()),
                    session_id=session.session_id,
                    phase=PHASE_IDLE,
                    status=_stored_status(outcome.status),
                    run_id=run.run_id if run else None,
                    reason=outcome.reason or None,
                    started_at=run.started_at if run else None,
                )
            ]
        )
        if run is None or outcome.status != STATUS_OK:
            self._notes.append(f"the idle baseline was not measured: {outcome.reason}")
            return {}
        self._baseline_run_id = run.run_id
        per_s = run.energy_kwh / run.duration_s if run.energy_kwh and run.duration_s else None
        return {
            "run_id": run.run_id,
            "energy_kwh": run.energy_kwh,
            "duration_s": run.duration_s,
            "power_w": run.power_w,
            "energy_kwh_per_s": per_s,
        }

    def _run_rounds(
        self,
        session: BenchSession,
        matrix: Matrix,
        rounds: Sequence[Sequence[Configuration]],
        prepared: Mapping[str, PreparedData],
        work_dir: Path,
        total: int,
    ) -> int:
        done = 0
        for repetition, order in enumerate(rounds):
            for config in order:
                if self.stop.is_set:
                    return done
                self.progress(
                    ProgressUpdate(
                        done, total, f"round {repetition + 1}/{len(rounds)}: {config.label}"
                    )
                )
                outcome = self._run_configuration(
                    session, matrix, config, repetition, prepared[config.format], work_dir
                )
                if outcome.status != STATUS_INTERRUPTED:
                    done += 1
                self.progress(ProgressUpdate(done, total, f"finished {config.label}"))
        return done

    def _run_configuration(
        self,
        session: BenchSession,
        matrix: Matrix,
        config: Configuration,
        repetition: int,
        data: PreparedData,
        work_dir: Path,
    ) -> TrialOutcome:
        trial_dir = work_dir / f"{config.slug}-r{repetition}"
        trial_dir.mkdir()
        wants_answers = any((config, q) not in self._answers for q in matrix.queries)
        answers_dir = trial_dir / "answers"
        if wants_answers:
            answers_dir.mkdir()
        spec = TrialSpec(
            kind=KIND_USER if matrix.workload.name == "user" else KIND_QUERIES,
            events_path=str(trial_dir / "events.jsonl"),
            job_prefix=f"bench:{matrix.workload.name}",
            tags={
                **self.options.tags,
                "session": session.session_id,
                "format": config.format,
                "engine": config.engine,
                "mode": config.mode,
                "threads": str(config.threads),
                "repetition": str(repetition),
            },
            engine=config.engine,
            mode=config.mode,
            engine_path=matrix.engine_paths.get(config.engine),
            threads=config.threads,
            data=data.to_json(),
            queries=matrix.queries,
            answers_dir=str(answers_dir) if wants_answers else None,
            user_job=self.options.job,
            job_file=str(matrix.job_file) if matrix.job_file else None,
            ledger_url=self.ledger_url,
            meter=self.options.meter,
        )
        env = {**self._base_env(), **_thread_env(config)}
        outcome = self.executor(
            spec, env, self.options.memory_limit_bytes, self.options.timeout_s, self.stop
        )
        self._record(session, matrix, config, repetition, data, outcome)
        if outcome.status != STATUS_OK:
            shutil.rmtree(answers_dir, ignore_errors=True)
        return outcome

    def _base_env(self) -> dict[str, str]:
        # This process's import path, so a trial imports what the runner imports (a custom
        # engine's module), except the working folder (see zuinig.bench.trial). Not
        # PYTHONSAFEPATH: it would reach scripts the user's job starts, and take their own
        # folder off their import path.
        env = {"PYTHONPATH": os.pathsep.join(safe_import_path(Path.cwd()))}
        if self.config_file is not None:
            env[CONFIG_FILE_ENV] = str(self.config_file.resolve())
        return env

    def _record(
        self,
        session: BenchSession,
        matrix: Matrix,
        config: Configuration,
        repetition: int,
        data: PreparedData,
        outcome: TrialOutcome,
    ) -> None:
        """Turn a trial's events into observations and ledger trials; the steps it never
        reached get the trial's failure (a killed trial reports nothing itself)."""
        trials: list[BenchTrial] = []
        reached: set[tuple[str, str]] = set()
        for event in outcome.events:
            if event.phase == "answer":
                self._take_answer(config, event)
                continue
            reached.add((event.phase, event.query))
            trials.append(
                self._trial(
                    session,
                    config,
                    repetition,
                    data,
                    event.phase,
                    event.query,
                    event.status,
                    event.reason,
                    event.run,
                )
            )
        if outcome.status not in (STATUS_OK, STATUS_INTERRUPTED):
            unreached = [step for step in _steps(matrix.queries) if step not in reached]
            if unreached:
                # The step it died in is stored; later steps never started, but their
                # rows must still say why they have no figures.
                phase, query = unreached[0]
                trials.append(
                    self._trial(
                        session,
                        config,
                        repetition,
                        data,
                        phase,
                        query,
                        outcome.status,
                        outcome.reason,
                        None,
                    )
                )
                self._observations += [
                    Observation(config, q, repetition, p, outcome.status, reason=outcome.reason)
                    for p, q in unreached[1:]
                    if p == PHASE_MEASURED
                ]
        self._deliver_trial_runs()
        if trials:
            self.store.add_bench_trials(trials)

    def _deliver_trial_runs(self) -> None:
        """Put the runs the trial kept in the spool into the ledger, now that it has ended.

        A ledger that cannot take them now leaves them in the spool, delivered by its next
        open (any later zuinig command); storing the trial itself then fails in words.
        """
        try:
            self.store.drain_spool()
        except ZuinigError as error:
            note = (
                f"runs of trials stay in the spool for now ({error}); the next open of the "
                "ledger delivers them"
            )
            if note not in self._notes:
                self._notes.append(note)

    def _trial(
        self,
        session: BenchSession,
        config: Configuration,
        repetition: int,
        data: PreparedData,
        phase: str,
        query: str,
        status: str,
        reason: str,
        run_dict: Mapping[str, Any] | None,
    ) -> BenchTrial:
        run = Run.from_dict(run_dict) if run_dict else None
        trial = BenchTrial(
            trial_id=str(uuid.uuid4()),
            session_id=session.session_id,
            phase=phase,
            status=_stored_status(status),
            format=config.format,
            engine=config.engine,
            mode=config.mode,
            threads=config.threads,
            query=query or None,
            repetition=repetition,
            run_id=run.run_id if run else None,
            reason=reason or None,
            storage_bytes=data.storage_bytes,
            started_at=run.started_at if run else datetime.now(UTC),
        )
        self._observations.append(
            Observation(
                config=config,
                query=query,
                repetition=repetition,
                phase=phase,
                status=status,
                energy_kwh=run.energy_kwh if run else None,
                duration_s=run.duration_s if run else None,
                cpu_s=run.cpu_s if run else None,
                peak_rss_bytes=run.peak_rss_bytes if run else None,
                run_id=run.run_id if run else None,
                reason=reason,
                # The trial's ledger run keeps the range too (columns of revision 0003);
                # the observation carries it into the results.
                energy_kwh_low=run.energy_kwh_low if run else None,
                energy_kwh_high=run.energy_kwh_high if run else None,
                co2_kg_low=run.co2_kg_low if run else None,
                co2_kg_high=run.co2_kg_high if run else None,
            )
        )
        if phase == PHASE_MEASURED:
            self._measured_trials.setdefault((config, query), []).append(trial)
        return trial

    def _take_answer(self, config: Configuration, event: TrialEvent) -> None:
        key = (config, event.query)
        if event.answer and key not in self._answers:
            self._answers[key] = Path(event.answer)
        elif not event.answer and event.reason and event.reason not in self._notes:
            self._notes.append(f"{config.label}: {event.reason}")

    def _check_answers(
        self, queries: Sequence[str]
    ) -> tuple[dict[Configuration, str], dict[tuple[Configuration, str], bool]]:
        """Compare every configuration's answer with the consensus, query by query."""
        import pyarrow as pa

        from zuinig.bench.correctness import find_consensus

        wrong: dict[Configuration, str] = {}
        checked: dict[tuple[Configuration, str], bool] = {}
        for query in queries:
            try:
                answers = {
                    config: pa.ipc.open_file(pa.memory_map(str(path))).read_all()
                    for (config, name), path in self._answers.items()
                    if name == query and path.is_file()
                }
                if len(answers) < 2:
                    continue
                consensus = find_consensus(
                    answers, prefer=_preferred_references(answers), label=query
                )
            except Exception as error:  # a failed check must not lose the trials
                # The trials are stored and their figures stand; only this query's
                # answers go unchecked, and the table says so.
                self._notes.append(
                    f"{query}: the answers could not be compared ({one_line(error)}); "
                    "they are not checked"
                )
                continue
            if not consensus.majority:
                self._notes.append(
                    f"{query}: no majority of engines agree; the reference is a guess"
                )
            for config, verdict in consensus.verdicts.items():
                checked[config, query] = verdict.ok
                if not verdict.ok and config not in wrong:
                    wrong[config] = verdict.reason
        return wrong, checked

    def _store_verdicts(
        self,
        session: BenchSession,
        wrong: Mapping[Configuration, str],
        checked: Mapping[tuple[Configuration, str], bool],
    ) -> None:
        """Write the correctness verdict into every measured trial (same ids: replaced)."""
        updated = []
        for (config, query), trials in self._measured_trials.items():
            verdict = checked.get((config, query))
            for trial in trials:
                if config in wrong and trial.status == STATUS_OK:
                    updated.append(
                        replace(trial, status=STATUS_WRONG, correct=False, reason=wrong[config])
                    )
                elif verdict is not None:
                    updated.append(replace(trial, correct=verdict))
        if updated:
            self.store.add_bench_trials(updated)


def _steps(queries: Sequence[str]) -> Iterator[tuple[str, str]]:
    yield PHASE_IMPORT, ""
    for query in queries:
        yield "warmup", query
        yield PHASE_MEASURED, query


def _stored_status(status: str) -> str:
    # An interrupted step is not a result of the configuration; the ledger knows the
    # five trial statuses only, and "error" with its reason says what happened.
    return STATUS_ERROR if status == STATUS_INTERRUPTED else status


def _preferred_references(answers: Mapping[Configuration, Any]) -> list[Configuration]:
    """DuckDB on Parquet first (see :func:`find_consensus`), then the other Parquet ones."""
    return sorted(
        answers,
        key=lambda c: (c.engine != "duckdb", not c.format.startswith("parquet"), c),
    )


def _thread_env(config: Configuration) -> dict[str, str]:
    from zuinig.bench.engines import get_engine

    return get_engine(config.engine, config.mode).env_for_threads(config.threads)


@contextlib.contextmanager
def _stopping_on_sigint(stop: StopFlag) -> Iterator[None]:
    """While the matrix runs, Ctrl-C sets ``stop`` instead of raising; a second Ctrl-C
    raises KeyboardInterrupt as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set:
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def machine_facts() -> dict[str, Any]:
    """The machine a session ran on: host, CPU, memory, OS, Python."""
    memory = psutil.virtual_memory()
    return {
        "host": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": memory.total,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def page_cache_statement(data_bytes: int) -> str:
    """The page-cache state of the measured reads, said plainly."""
    available = psutil.virtual_memory().available
    fits = (
        f"the prepared data ({size_text(data_bytes)} over all formats) fits in free memory "
        f"({size_text(available)} available)"
        if data_bytes < available
        else f"the prepared data ({size_text(data_bytes)}) does NOT fit in free memory "
        f"({size_text(available)} available), so measured reads may partly come from disk"
    )
    return (
        "page caches were not dropped (that needs root); each query's warm-up read runs "
        f"just before its measured read, so measured reads hit a warm page cache; {fits}"
    )
