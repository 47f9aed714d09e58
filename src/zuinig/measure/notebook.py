"""The IPython/Jupyter extension: ``%load_ext zuinig``, then ``%%zuinig`` and ``%zuinig``.

DESIGN puts the notebook magic in the ``measure/`` package; until ``measure`` becomes
a package (the "one house" issue, 14), it lives here, beside ``measure.py``.

::

    %load_ext zuinig

    %%zuinig --job woningbouwmonitor --tag team=ruimte
    df = pd.read_parquet("woningen.parquet")
    df.groupby("gemeente").size()

    %zuinig df = pd.read_parquet("woningen.parquet")

Each measured cell (or line) is one run, made exactly as ``with zuinig.measure(...)``
makes it. The promise is the one of :func:`zuinig.measure`: measuring never changes the
cell. The cell runs through IPython's own ``run_cell`` (as IPython's ``%%capture``
does), so its output, its last expression's ``Out[]`` value and its exception (type,
traceback, the cell's failure as seen by the notebook) are what they are without the
magic. ``%zuinig STATEMENT`` is part of a cell, so it runs in place instead (as
IPython's ``%time`` does): its exception stops the cell, and an expression's value is
the magic's value (``x = %zuinig f()``). After it, one summary: a line in terminal
IPython, a small table in a notebook (one display with ``text/html`` and a
``text/plain`` fallback; the front end picks).

``%zuinig_auto on`` measures every following cell as a run of its own, all under one
session run that ends at ``%zuinig_auto off`` (or at exit); see :class:`AutoMeasure`.

Without ``--job``, the job is the notebook's file name and the cell's number
(``analyse.ipynb:12``), or ``notebook:12`` when the notebook's name cannot be known:
VS Code gives it as ``__vsc_ipynb_file__``, Jupyter Server as ``JPY_SESSION_NAME``.

IPython is not a dependency of zuinig: this module is imported only by
:func:`zuinig.load_ipython_extension` (IPython calls it, so IPython is there), and
imports IPython inside its functions.

A known limit: a cell with top-level ``await`` cannot be run from
inside another cell in a kernel, whose event loop is running (IPython's ``%%capture``
fails it with "This event loop is already running"), so ``%%zuinig`` refuses it with a
UsageError before anything runs.
"""

from __future__ import annotations

import ast
import asyncio
import atexit
import contextlib
import logging
import os
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zuinig.measure.decorator import Measuring, measure
from zuinig.measure.recorder import ActiveRun, Recorder, default_recorder
from zuinig.summary import Summary, summary_html, summary_line
from zuinig.tags import tags_from_pairs

if TYPE_CHECKING:
    from IPython.core.interactiveshell import ExecutionResult, InteractiveShell

__all__ = [
    "AUTO_MAGIC_NAME",
    "DEFAULT_JOB",
    "MAGIC_NAME",
    "AutoMeasure",
    "NotebookMagic",
    "default_job",
    "load_ipython_extension",
    "notebook_name",
    "parse_magic_line",
    "show_summary",
    "unload_ipython_extension",
]

#: The job of a measured cell whose notebook has no name zuinig can find.
DEFAULT_JOB = "notebook"
#: ``%zuinig`` / ``%%zuinig``.
MAGIC_NAME = "zuinig"
#: ``%zuinig_auto on|off``.
AUTO_MAGIC_NAME = "zuinig_auto"

logger = logging.getLogger("zuinig")

_USAGE = "usage: %%zuinig [--job NAME] [--tag KEY=VALUE]...  or  %zuinig [options] STATEMENT"

# One leading option: ``--job NAME``, ``--job=NAME``, ``--tag K=V``; a value may be quoted.
_OPTION = re.compile(r"""\s*--(?P<name>[A-Za-z][\w-]*)(?:=|\s+)(?P<value>"[^"]*"|'[^']*'|\S+)""")


def parse_magic_line(line: str) -> tuple[str | None, dict[str, str], str]:
    """Split ``--job NAME --tag K=V ... REST`` into the job, the tags and the rest.

    The rest is the statement of the line magic (empty for the cell magic).

    Raises:
        IPython.core.error.UsageError: an unknown option, an option without a value,
            a tag that is not ``KEY=VALUE``; IPython shows it as one line.
    """
    from IPython.core.error import UsageError

    job: str | None = None
    pairs: list[str] = []
    rest = line
    while match := _OPTION.match(rest):
        name, value = match["name"], _unquoted(match["value"])
        if name == "job":
            if not value.strip():
                raise UsageError(f"--job needs a name, e.g. --job woningbouwmonitor; {_USAGE}")
            job = value
        elif name == "tag":
            pairs.append(value)
        else:
            raise UsageError(f"unknown option --{name}; {_USAGE}")
        rest = rest[match.end() :]
    rest = rest.strip()
    # "--job" with no value, or an unknown flag before the statement. Not "-x": that is
    # Python (a negation), and a statement may start with it.
    option = re.match(r"--[A-Za-z][\w-]*", rest)
    if option:
        raise UsageError(f"{option[0]} is not an option here or lacks its value; {_USAGE}")
    try:
        tags = tags_from_pairs(pairs)
    except ValueError as error:
        raise UsageError(f"{error}; {_USAGE}") from None
    return job, tags, rest


def _unquoted(value: str) -> str:
    if value[:1] in {'"', "'"}:
        return shlex.split(value)[0] if len(value) > 2 else ""
    return value


class NotebookMagic:
    """The ``%zuinig`` / ``%%zuinig`` magic of one IPython shell.

    Args:
        shell: the IPython shell the magic runs cells in.
        recorder: where runs are measured and stored; by default the process-wide one
            (settings, ``ZUINIG_LEDGER``), as for ``with zuinig.measure(...)``.
    """

    def __init__(self, shell: InteractiveShell, recorder: Recorder | None = None) -> None:
        self.shell = shell
        self.recorder = recorder

    def __call__(self, line: str, cell: str | None = None) -> Any:
        """Run ``cell`` (``%%zuinig``) or the statement on ``line`` (``%zuinig``), measured.

        Returns:
            For ``%zuinig EXPRESSION``, the expression's value (``x = %zuinig f()``).
        """
        __tracebackhide__ = True  # IPython leaves this frame out of the user's traceback
        from IPython.core.error import UsageError

        job, tags, statement = parse_magic_line(line)
        if cell is None:
            if not statement:
                raise UsageError(f"%zuinig needs a statement to measure; {_USAGE}")
            return self.measure_statement(statement, job=job or default_job(self.shell), tags=tags)
        if statement:
            raise UsageError(f"unexpected {statement!r} after the options; {_USAGE}")
        code = cell
        if _awaits_in_a_running_loop(self.shell, code):
            raise UsageError(
                "%%zuinig cannot measure a cell with top-level await in a running kernel "
                "(IPython cannot run it from inside another cell); put the awaits in an "
                "async function decorated with @zuinig.measure, or run the cell without %%zuinig"
            )
        self.measure_code(code, job=job or default_job(self.shell), tags=tags)

    def measure_statement(self, statement: str, *, job: str, tags: Mapping[str, str]) -> Any:
        """Run one line of code in the user's namespace, measured; return an expression's value.

        Not through ``run_cell`` as a cell is: a line is part of a cell, so its exception
        must stop the rest of that cell, and its value may be assigned. So it is compiled
        and run here, as IPython's ``%time`` does, and its exception propagates (IPython
        hides this module's frames from the traceback).
        """
        __tracebackhide__ = True
        transform_cell: Any = self.shell.transform_cell  # unannotated in IPython
        source = transform_cell(statement)  # a line may hold IPython syntax: !ls, %who
        count = getattr(self.shell.displayhook.exec_result, "execution_count", None)
        name = self.shell.compile.cache(source, count or 0, raw_code=statement)
        tree = ast.parse(source, filename=name)
        mode = "eval" if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr) else "exec"
        # The shell's __future__ flags, as for the cells around this line.
        code = compile(source, name, mode, flags=self.shell.compile.flags, dont_inherit=True)
        namespaces = (self.shell.user_global_ns, self.shell.user_ns)
        block = measure(job=job, tags=tags, recorder=self.recorder)
        handle: Measuring | None = None
        try:
            with block as handle:
                return eval(code, *namespaces) if mode == "eval" else exec(code, *namespaces)
        finally:
            if handle is not None and handle.run is not None:
                _show_quietly(handle.run.summary())

    def measure_code(self, code: str, *, job: str, tags: Mapping[str, str]) -> None:
        """Run ``code`` as this cell's code, measured as one run of ``job``; then show it.

        The code runs through ``shell.run_cell``, so it displays, prints and fails as it
        would on its own; its failure is made the failure of the cell this magic runs in.
        """
        outer = self.shell.displayhook.exec_result  # this cell's ExecutionResult (or None)
        block = measure(job=job, tags=tags, recorder=self.recorder)
        # What `with block as handle:` does, with the cell's own exception passed to
        # __exit__: run_cell reports it (it is shown already) rather than raising it.
        handle = block.__enter__()
        result: ExecutionResult | None = None
        error: BaseException | None = None
        # A silent request (a front end asking quietly) stays silent inside, and after.
        silent = bool(getattr(getattr(outer, "info", None), "silent", False))
        try:
            # Any: IPython leaves run_cell unannotated (mypy --strict refuses the call).
            run_cell: Any = self.shell.run_cell
            with _numbered_as(self.shell, getattr(outer, "execution_count", None)):
                result = run_cell(code, store_history=False, silent=silent)
            error = _error_of(result)
        except BaseException as raised:  # run_cell catches the cell's errors; not this one
            error = raised
            raise
        finally:
            block.__exit__(type(error) if error else None, error, _traceback(error))
            # The inner run_cell cleared the display hook's result; this cell's
            # display of later values, and its outcome, belong to the outer one.
            self.shell.displayhook.exec_result = outer
        if outer is not None and error is not None and outer.error_in_exec is None:
            # The kernel replies "error" (and nbclient raises) for this cell, as without
            # the magic; the traceback was shown once, by the inner run.
            outer.error_in_exec = error
        if outer is not None and result is not None and result.result is not None:
            outer.result = result.result
        if handle.run is not None and not silent:
            _show_quietly(handle.run.summary())


@contextlib.contextmanager
def _numbered_as(shell: InteractiveShell, count: int | None) -> Iterator[None]:
    """Name the code compiled meanwhile as cell ``count``, this cell's number.

    IPython names a cell's code (``Cell In[12]`` in tracebacks, also of functions it
    defines) by the count at the time of compiling, which the running cell has
    already advanced: without this, a cell run from inside cell 12 is "In[13]". So
    the shell's compiler caches it under ``count``, for the inner run only.
    """
    compiler: Any = shell.compile
    if count is None or not callable(getattr(compiler, "cache", None)):
        yield
        return
    own = vars(compiler).get("cache")  # an instance attribute, set by someone else
    original = compiler.cache

    def cache(transformed_code: str, number: int = 0, raw_code: str | None = None) -> Any:
        return original(transformed_code, count, raw_code)

    compiler.cache = cache
    try:
        yield
    finally:
        if own is not None:
            compiler.cache = own
        else:
            del compiler.cache  # the class's method again


def _show_quietly(summary: Summary) -> None:
    try:
        show_summary(summary)
    except Exception as error:  # showing the figures never breaks the cell
        logger.warning("zuinig: could not show the run's summary (%s)", error)


def _awaits_in_a_running_loop(shell: InteractiveShell, code: str) -> bool:
    """Whether ``code`` needs ``await`` at top level while an event loop runs (ipykernel's):
    IPython would then fail it with "This event loop is already running", unrun."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False  # terminal IPython: run_cell runs the loop itself
    # Any: IPython leaves both unannotated (mypy --strict refuses the calls).
    transform_cell: Any = shell.transform_cell
    should_run_async: Any = shell.should_run_async
    try:
        transformed = transform_cell(code)
    except Exception:
        return False  # run_cell shows the error, as it would without the magic
    return bool(should_run_async(code, transformed_cell=transformed))


def _error_of(result: ExecutionResult | None) -> BaseException | None:
    if result is None:
        return None
    error = result.error_before_exec or result.error_in_exec
    return error if isinstance(error, BaseException) else None


def _traceback(error: BaseException | None) -> Any:
    return None if error is None else error.__traceback__


def show_summary(summary: Summary) -> None:
    """Display the summary once: an HTML table where the front end shows HTML, else a line."""
    from IPython import display as ipython_display

    display: Any = ipython_display.display  # unannotated in IPython
    bundle = {"text/plain": summary_line(summary), "text/html": summary_html(summary)}
    display(bundle, raw=True)


def default_job(shell: InteractiveShell, count: int | None = None) -> str:
    """``<notebook file name>:<cell number>``, or ``notebook:<n>``, or ``notebook``.

    Args:
        shell: the shell running the cell.
        count: the cell's number; by default that of the cell running now.
    """
    name = notebook_name(shell) or DEFAULT_JOB
    if count is None:
        count = getattr(shell.displayhook.exec_result, "execution_count", None)
    return f"{name}:{count}" if isinstance(count, int) else name


def notebook_name(shell: InteractiveShell) -> str | None:
    """The running notebook's file name, where the front end tells it; else ``None``.

    VS Code puts the path in the user namespace as ``__vsc_ipynb_file__``; Jupyter
    Server (JupyterLab, Notebook 7) sets ``JPY_SESSION_NAME`` in the kernel's
    environment. Nothing is asked of a server: no extra dependency, no network.
    """
    for candidate in (shell.user_ns.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")):
        if isinstance(candidate, str) and candidate.strip():
            return Path(candidate.strip()).name
    return None


class AutoMeasure:
    """``%zuinig_auto on|off``: every cell from now on is a run, under one session run.

    The session run opens at ``on`` and ends at ``off`` (or when the process exits);
    each cell run names it as its parent, so totals count the session once (the
    nesting rule of :mod:`zuinig.measure.recorder`). Cells are followed through IPython's
    ``pre_run_cell`` and ``post_run_cell`` events. A cell that runs another cell
    (``%%zuinig``, ``%%capture``) fires them again inside; only the outer pair is a run.

    Args:
        shell: the IPython shell whose cells are measured.
        recorder: where runs are measured and stored; by default the process-wide one.
    """

    def __init__(self, shell: InteractiveShell, recorder: Recorder | None = None) -> None:
        self.shell = shell
        self.recorder = recorder
        self.session: ActiveRun | None = None
        self._tags: dict[str, str] = {}
        self._cell: ActiveRun | None = None
        self._depth = 0

    def __call__(self, line: str) -> None:
        """``%zuinig_auto [--job NAME] [--tag KEY=VALUE]... on|off``."""
        from IPython.core.error import UsageError

        words = line.split(maxsplit=1)
        if words and words[0] in {"on", "off"}:  # "on --job x" as well as "--job x on"
            switch = words[0]
            job, tags, rest = parse_magic_line(words[1] if len(words) > 1 else "")
        else:
            job, tags, switch = parse_magic_line(line)
            rest = ""
        if switch not in {"on", "off"} or rest:
            raise UsageError("usage: %zuinig_auto on|off [--job NAME] [--tag KEY=VALUE]...")
        if switch == "on":
            self.start(job or f"{notebook_name(self.shell) or DEFAULT_JOB}:session", tags)
        else:
            self.stop()

    def start(self, job: str, tags: Mapping[str, str]) -> None:
        """Open the session run and measure every following cell (again: a new session)."""
        self.stop()
        recorder = self.recorder or default_recorder()
        self._tags = dict(tags)
        # Not current: cells may run in contexts of their own; each names it explicitly.
        self.session = recorder.begin(job, tags=self._tags, current=False)
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        atexit.register(self.stop)

    def stop(self) -> None:
        """Stop measuring cells; end the session run and show its summary."""
        atexit.unregister(self.stop)
        for name, callback in (
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
        ):
            with contextlib.suppress(ValueError):  # not registered
                self.shell.events.unregister(name, callback)
        if self._cell is not None:  # the cell saying "off" is measured up to here
            self._cell.finish()
            self._cell = None
        self._depth = 0
        if self.session is not None:
            session, self.session = self.session, None
            _show_quietly(session.finish().summary())

    def pre_run_cell(self, info: Any) -> None:
        """IPython event: a cell begins; open its run (only for the outermost cell)."""
        self._depth += 1
        if self._depth > 1 or self._cell is not None or self.session is None:
            return
        try:
            store_history = bool(getattr(info, "store_history", False))
            # run_cell has advanced the count already when the cell goes into history.
            count = self.shell.execution_count - 1 if store_history else None
            job = default_job(self.shell, count)
            recorder = self.recorder or default_recorder()
            self._cell = recorder.begin(job, tags=self._tags, parent_run_id=self.session.run.run_id)
        except Exception as error:  # measuring never breaks the cell
            logger.warning("zuinig: not measuring this cell (%s)", error)

    def post_run_cell(self, result: ExecutionResult | None) -> None:
        """IPython event: a cell ended; finish its run and show the summary."""
        # post_run_cell also fires for a cell that never fired pre_run_cell (an empty
        # one): the depth never goes below zero, and there is no run to finish.
        self._depth = max(0, self._depth - 1)
        if self._depth > 0 or self._cell is None:
            return
        cell, self._cell = self._cell, None
        try:
            run = cell.finish(_error_of(result))
        except Exception as error:  # measuring never breaks the cell
            logger.warning("zuinig: could not finish this cell's run (%s)", error)
        else:
            _show_quietly(run.summary())


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register ``%zuinig``, ``%%zuinig`` and ``%zuinig_auto`` (``%load_ext zuinig`` calls this)."""
    # Any: IPython's decorator on register_magic_function hides its real signature.
    register: Any = ipython.register_magic_function
    register(NotebookMagic(ipython), magic_kind="line_cell", magic_name=MAGIC_NAME)
    register(AutoMeasure(ipython), magic_kind="line", magic_name=AUTO_MAGIC_NAME)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Remove the magics again (``%unload_ext zuinig``), ending an automatic session."""
    auto = ipython.magics_manager.magics["line"].pop(AUTO_MAGIC_NAME, None)
    if isinstance(auto, AutoMeasure):
        auto.stop()
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop(MAGIC_NAME, None)
