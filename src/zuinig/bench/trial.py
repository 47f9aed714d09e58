"""One benchmark trial, run in a fresh process: ``python -m zuinig.bench.trial``.

The parent (:mod:`zuinig.bench.runner`) writes a :class:`TrialSpec` as JSON on this
process's stdin. The trial measures, each in its own zuinig meter window and each
stored as a run of kind ``bench`` (kept in this process's spool journal, which the
parent delivers to the ledger when the trial has ended; see
:class:`zuinig.ledger.writer.RunWriter`'s ``hand_off``):

1. ``import``: importing the engine's library. A long-lived analyst process pays this
   once, a script pays it every time, so it is reported apart from the queries.
2. per query, ``warmup``: one execution whose figures are recorded but not ranked; it
   also brings the files into the page cache, so every measured read hits warm cache.
3. per query, ``measured``: one execution, reading the files plus the query.

The answer of the measured execution is converted to Arrow and written as an Arrow
IPC file, outside the window, for the parent's correctness check.

Each step appends one JSON line (a :class:`TrialEvent`) to the events file and flushes
it, so that when the parent kills this process (memory limit, timeout, Ctrl-C) it still
knows which steps completed. A ``MemoryError`` is reported as ``oom`` and exits with
:data:`EXIT_OOM`.

``kind="idle"`` measures one window of sleeping: the idle baseline. ``kind="user"``
calls the user's ``function(engine_name, path)`` instead of a catalogue query.

The working folder is never on this process's import path (the parent starts it with
``python -P`` and hands on its own import path without that folder), so a ``pandas.py`` or ``duckdb.py`` lying there
cannot stand in for the engine. The user's job module is the one exception, and it is
deliberate: :func:`find_job_file` finds it in the working folder by name (or takes the
file path given), and the trial loads that very file; its folder goes at the *end* of
the import path, so the job can import modules beside it while installed packages
still win over files of the same name.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from zuinig.ledger import model

#: Exit code of a trial that ran out of memory (MemoryError).
EXIT_OOM = 3
#: Exit code of a trial that failed otherwise (the events file says why).
EXIT_ERROR = 1

KIND_QUERIES = "queries"
KIND_IDLE = "idle"
KIND_USER = "user"

PHASE_PREPARE = model.PHASE_PREPARE
PHASE_IMPORT = model.PHASE_IMPORT
PHASE_WARMUP = model.PHASE_WARMUP
PHASE_MEASURED = model.PHASE_MEASURED
PHASE_IDLE = model.PHASE_IDLE

STATUS_OK = model.TRIAL_OK
STATUS_OOM = model.TRIAL_OOM
STATUS_TIMEOUT = model.TRIAL_TIMEOUT
STATUS_ERROR = model.TRIAL_ERROR
STATUS_WRONG = model.TRIAL_WRONG
#: Not stored as a trial status: the trial was stopped by Ctrl-C before it completed.
STATUS_INTERRUPTED = "interrupted"

#: Run kind of every benchmark run.
RUN_KIND = model.KIND_BENCH


@dataclass(frozen=True)
class TrialSpec:
    """What one trial process does.

    Attributes:
        kind: ``queries``, ``idle`` or ``user``.
        events_path: the JSON-lines file the trial appends its events to.
        job_prefix: prefix of the runs' job names, e.g. ``bench:tpch``.
        tags: tags of every run (format, engine, mode, threads, session).
        engine: engine name (``kind`` ``queries`` and ``user``).
        mode: engine mode.
        engine_path: ``module:Class`` of an engine the trial must load first (an engine
            registered in the parent is unknown to a fresh process).
        threads: threads the engine may use.
        data: the prepared data, as :meth:`PreparedData.to_json` wrote it.
        queries: the queries to run, in order.
        answers_dir: where to write each query's answer; ``None`` to write none.
        user_job: ``module:function`` (or ``file.py:function``) of the user's job
            (``kind`` ``user``).
        job_file: the file of the job's module, found by :func:`find_job_file`; ``None``
            when the module is imported by name from the installed packages.
        idle_s: seconds to sleep (``kind`` ``idle``).
        ledger_url: the ledger to store runs in; ``None`` for the settings' ledger.
        meter: ``default`` (the settings' meter) or ``null`` (no energy).
    """

    kind: str
    events_path: str
    job_prefix: str
    tags: Mapping[str, str] = field(default_factory=dict)
    engine: str = ""
    mode: str = ""
    engine_path: str | None = None
    threads: int = 1
    data: str | None = None
    queries: Sequence[str] = ()
    answers_dir: str | None = None
    user_job: str | None = None
    job_file: str | None = None
    idle_s: float = 0.0
    ledger_url: str | None = None
    meter: str = "default"

    def to_json(self) -> str:
        """The spec as one JSON object."""
        data = dataclasses.asdict(self)
        data["tags"] = dict(self.tags)
        data["queries"] = list(self.queries)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> TrialSpec:
        """The spec :meth:`to_json` wrote."""
        data = json.loads(text)
        data["queries"] = tuple(data.get("queries", ()))
        return cls(**data)


@dataclass(frozen=True)
class TrialEvent:
    """One completed (or failed) step of a trial, as written to the events file.

    Attributes:
        phase: ``import``, ``warmup``, ``measured`` or ``idle``.
        status: ``ok``, ``oom`` or ``error``.
        query: the query, or ``""`` for ``import`` and ``idle``.
        run: the stored run as :meth:`Run.to_dict` gives it; ``None`` when the step
            failed before a run was opened.
        answer: the Arrow IPC file of the answer, when written.
        reason: one line saying why a step failed, or a note (an answer not checked).
    """

    phase: str
    status: str
    query: str = ""
    run: Mapping[str, Any] | None = None
    answer: str | None = None
    reason: str = ""

    def to_json(self) -> str:
        """The event as one JSON line (without the newline)."""
        data = dataclasses.asdict(self)
        data["run"] = dict(self.run) if self.run is not None else None
        return json.dumps(data, default=str)

    @classmethod
    def from_json(cls, text: str) -> TrialEvent:
        """The event :meth:`to_json` wrote."""
        return cls(**json.loads(text))


def read_events(path: Path) -> list[TrialEvent]:
    """The events in ``path``; a last line cut short by a kill is ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            events.append(TrialEvent.from_json(line))
        except (ValueError, TypeError):
            continue  # half-written when the process was killed
    return events


def one_line(error: BaseException) -> str:
    """``Type: message`` of ``error`` on one line."""
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return " ".join(text.split())


# -- the trial process -------------------------------------------------------------------


class _Trial:
    """Runs one spec, appending events as it goes."""

    def __init__(self, spec: TrialSpec, events: IO[str]) -> None:
        from zuinig.config import load_settings
        from zuinig.ledger.urls import configured_ledger_url
        from zuinig.ledger.writer import RunWriter
        from zuinig.measure import Recorder
        from zuinig.meter.null import NullMeter

        self.spec = spec
        self._events = events
        meter = NullMeter() if spec.meter == "null" else None
        settings = load_settings()
        url = spec.ledger_url or configured_ledger_url(settings.ledger)
        # The runs stay in this process's spool journal and the runner, which holds the
        # ledger open, delivers them after the trial: opening the ledger here would cost
        # every trial a quarter second of CPU (SQLAlchemy), and left to the background
        # opener it would land in a measured phase.
        sink = RunWriter(lambda: url, lambda: settings, hand_off=True)
        self.recorder = Recorder(settings, ledger_url=url, meter=meter, sink=sink)
        self.phase = PHASE_IMPORT
        self.query = ""
        #: Whether a failure was already written as an event by the step it broke.
        self.failure_reported = False

    def emit(self, event: TrialEvent) -> None:
        self._events.write(event.to_json() + "\n")
        self._events.flush()

    def measured(self, phase: str, query: str, work: Callable[[], object]) -> object:
        """Run ``work`` inside a meter window stored as a run; emit its event."""
        self.phase, self.query = phase, query
        name = query or phase
        active = self.recorder.begin(
            f"{self.spec.job_prefix}:{name}",
            tags={**self.spec.tags, "phase": phase},
            kind=RUN_KIND,
        )
        try:
            result = work()
        except BaseException as error:
            run = active.finish(error)
            self.failure_reported = True
            self.emit(
                TrialEvent(phase, _status_of(error), query, run.to_dict(), reason=one_line(error))
            )
            raise
        run = active.finish()
        self.emit(TrialEvent(phase, STATUS_OK, query, run.to_dict()))
        return result

    def run(self) -> None:
        if self.spec.kind == KIND_IDLE:
            self.measured(PHASE_IDLE, "", lambda: time.sleep(self.spec.idle_s))
            return
        from zuinig.bench.engines import get_engine, load_engine

        if self.spec.engine_path:
            load_engine(self.spec.engine_path, replace=True)
        engine = get_engine(self.spec.engine, self.spec.mode)
        self.measured(PHASE_IMPORT, "", engine.import_engine)
        engine.set_threads(self.spec.threads)
        if self.spec.kind == KIND_USER:
            self._run_user_job(engine)
            return
        from zuinig.bench.formats import PreparedData

        assert self.spec.data is not None, "a queries trial needs prepared data"
        data = PreparedData.from_json(self.spec.data)
        for query in self.spec.queries:
            execute = functools.partial(engine.execute, query, data)
            self.measured(PHASE_WARMUP, query, execute)
            result = self.measured(PHASE_MEASURED, query, execute)
            self._write_answer(query, functools.partial(engine.to_arrow, result))
            del result  # the next query's memory should not carry this one's answer

    def _run_user_job(self, engine: Any) -> None:
        from zuinig.bench.formats import PreparedData

        assert self.spec.data is not None and self.spec.user_job, "a user trial needs data"
        function = load_user_job(self.spec.user_job, self.spec.job_file)
        data = PreparedData.from_json(self.spec.data)
        path = str(next(iter(data.paths.values())))
        query = job_function_name(self.spec.user_job)
        self.measured(PHASE_WARMUP, query, lambda: function(engine.name, path))
        result = self.measured(PHASE_MEASURED, query, lambda: function(engine.name, path))
        self._write_answer(query, lambda: user_answer_to_arrow(result))

    def _write_answer(self, query: str, convert: Callable[[], Any]) -> None:
        if self.spec.answers_dir is None:
            return
        table = convert()
        if table is None:
            self.emit(
                TrialEvent(
                    "answer",
                    STATUS_OK,
                    query,
                    reason="the job returned no DataFrame or Arrow table; its answer is not checked",
                )
            )
            return
        import pyarrow as pa

        path = Path(self.spec.answers_dir) / f"{query}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        self.emit(TrialEvent("answer", STATUS_OK, query, answer=str(path)))


def split_job(job: str) -> tuple[str, str]:
    """``(module or file, function)`` of ``module:function`` or ``path/file.py:function``.

    Raises:
        BenchError: either part is missing.
    """
    from zuinig.errors import BenchError

    module, _, function = job.rpartition(":")
    if not module or not function or not function.isidentifier():
        raise BenchError(
            f"a job looks like module:function or path/to/file.py:function, got {job!r}"
        )
    return module, function


def job_function_name(job: str) -> str:
    """The function's name in ``job``: the name its trials are stored under."""
    return split_job(job)[1]


def find_job_file(job: str, cwd: Path) -> Path | None:
    """The file of the job's module, looked up explicitly, never through ``sys.path[0]``.

    A part ending in ``.py`` or holding a ``/`` is a file path (relative to ``cwd``). A
    module name is looked for in ``cwd`` (``name.py`` or ``name/__init__.py``, dots as
    folders): the folder the user ran ``zuinig bench`` in. A module found nowhere there
    gives ``None``: the trial imports it by name, from the installed packages and
    ``PYTHONPATH``.

    Raises:
        BenchError: the job is malformed, or its file does not exist.
    """
    from zuinig.errors import BenchError

    module, _ = split_job(job)
    if module.endswith(".py") or "/" in module or os.sep in module:
        path = (cwd / module).expanduser()
        if not path.is_file():
            raise BenchError(f"the job's file {path} does not exist; check --job")
        return path.resolve()
    parts = module.split(".")
    if not all(part.isidentifier() for part in parts):
        raise BenchError(f"{module!r} is not a module name nor a .py file; check --job")
    base = cwd.joinpath(*parts)
    for candidate in (base.with_name(f"{parts[-1]}.py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    if importlib.machinery.PathFinder.find_spec(parts[0], safe_import_path(cwd)) is None:
        raise BenchError(
            f"cannot find the job's module {module!r} in {cwd} nor among the installed "
            "packages; give its file, e.g. --job path/to/jobs.py:function"
        )
    return None


def load_user_job(job: str, job_file: str | None = None) -> Callable[[str, str], object]:
    """The user's ``function(engine_name, path)`` from ``job`` (see :func:`find_job_file`).

    With ``job_file`` that file is loaded as the module, and the folder it is imported
    from goes at the end of ``sys.path`` (deliberately; see the module docstring).

    Raises:
        BenchError: the job is malformed, cannot be imported, or is not callable.
    """
    from zuinig.errors import BenchError

    module_name, name = split_job(job)
    try:
        if job_file is None:
            module = importlib.import_module(module_name)
        else:
            module = _load_file(module_name, Path(job_file))
        found = getattr(module, name)
    except (ImportError, AttributeError, SyntaxError, OSError) as error:
        raise BenchError(f"cannot load the job {job}: {one_line(error)}") from error
    if not callable(found):
        raise BenchError(f"{job} is not a function")
    function: Callable[[str, str], object] = found
    return function


def _load_file(module_name: str, path: Path) -> Any:
    """Import ``path`` as a module; its import root goes last on ``sys.path``."""
    if module_name.endswith(".py") or "/" in module_name or os.sep in module_name:
        name, root = path.stem, path.parent
    else:
        name = module_name
        depth = module_name.count(".") + (path.name == "__init__.py")
        root = path.parents[depth]
    if str(root) not in sys.path:
        sys.path.append(str(root))
    if "." in name:  # a module in a package: import the package the usual way, from root
        return importlib.import_module(name)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def safe_import_path(cwd: Path) -> list[str]:
    """``sys.path`` without the working folder (``''`` or ``cwd`` itself): the import path
    of a trial process, which sees what this process imports except the working folder."""
    here = str(cwd.resolve())
    return [entry for entry in sys.path if entry and _resolved(entry) != here]


def _resolved(entry: str) -> str:
    try:
        return str(Path(entry).resolve())
    except OSError:
        return entry


def user_answer_to_arrow(result: object) -> Any:
    """A user job's return value as a pyarrow table, or ``None`` when it is no table.

    pandas and Polars DataFrames, pyarrow tables and record-batch readers, and anything
    that offers an Arrow stream (a DuckDB relation, via the Arrow PyCapsule protocol)
    are converted; anything else (a number, ``None``, a path, a lazy frame never
    collected) cannot be compared and is skipped: its answer is ``not checked``.
    """
    import pyarrow as pa

    if isinstance(result, pa.Table):
        return result
    if isinstance(result, pa.RecordBatchReader):
        return result.read_all()
    module = type(result).__module__.split(".")[0]
    if module == "pandas" and type(result).__name__ == "DataFrame":
        return pa.Table.from_pandas(result, preserve_index=False)
    if module == "polars" and type(result).__name__ == "DataFrame":
        return result.to_arrow()  # type: ignore[attr-defined]
    if hasattr(result, "__arrow_c_stream__"):
        try:
            return pa.table(result)
        except (pa.ArrowException, TypeError, ValueError):
            return None  # a stream of something other than rows (e.g. a Series)
    return None


def _status_of(error: BaseException) -> str:
    return STATUS_OOM if isinstance(error, MemoryError) else STATUS_ERROR


def main(stdin: IO[str] | None = None) -> int:
    """Read a spec from stdin, run it, and return the exit code."""
    spec = TrialSpec.from_json((stdin or sys.stdin).read())
    with Path(spec.events_path).open("a", encoding="utf-8") as events:
        trial: _Trial | None = None
        try:
            trial = _Trial(spec, events)
            trial.run()
        except MemoryError:
            return EXIT_OOM
        except Exception as error:
            # A failure inside a measured step was reported by it; one outside any step
            # (a bad engine path, settings, writing an answer) is reported here.
            if trial is not None and trial.failure_reported:
                return EXIT_ERROR
            phase = trial.phase if trial else PHASE_IMPORT
            query = trial.query if trial else ""
            event = TrialEvent(phase, STATUS_ERROR, query, reason=one_line(error))
            events.write(event.to_json() + "\n")
            return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
