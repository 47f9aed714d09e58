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
magic. After it, one summary: a line in terminal IPython, a small table in a notebook
(one display with ``text/html`` and a ``text/plain`` fallback; the front end picks).

Without ``--job``, the job is the notebook's file name and the cell's number
(``analyse.ipynb:12``), or ``notebook:12`` when the notebook's name cannot be known:
VS Code gives it as ``__vsc_ipynb_file__``, Jupyter Server as ``JPY_SESSION_NAME``.

IPython is not a dependency of zuinig: this module is imported only by
:func:`zuinig.load_ipython_extension` (IPython calls it, so IPython is there), and
imports IPython inside its functions.

Known limits: the traceback of a failing measured cell names it as the next cell number
(``Cell In[13]`` for cell 12), because IPython numbers a cell run from inside another
by the count it has already advanced; a cell with top-level ``await`` cannot be measured
in a kernel whose event loop is running (the same holds for ``%%capture``).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zuinig.measure import Recorder, measure, tags_from_pairs
from zuinig.summary import Summary, summary_html, summary_line

if TYPE_CHECKING:
    from IPython.core.interactiveshell import ExecutionResult, InteractiveShell

__all__ = [
    "DEFAULT_JOB",
    "MAGIC_NAME",
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
                raise UsageError(f"--job needs a name, e.g. --job woningbouwmonitor\n{_USAGE}")
            job = value
        elif name == "tag":
            pairs.append(value)
        else:
            raise UsageError(f"unknown option --{name}; {_USAGE}")
        rest = rest[match.end() :]
    rest = rest.strip()
    option = re.match(r"--?[A-Za-z][\w-]*", rest)
    if option:  # "--job" with no value, or an unknown flag before the statement
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

    def __call__(self, line: str, cell: str | None = None) -> None:
        """Run ``cell`` (``%%zuinig``) or the statement on ``line`` (``%zuinig``), measured."""
        from IPython.core.error import UsageError

        job, tags, statement = parse_magic_line(line)
        if cell is None:
            if not statement:
                raise UsageError(f"%zuinig needs a statement to measure; {_USAGE}")
            code = statement
        else:
            if statement:
                raise UsageError(f"unexpected {statement!r} after the options; {_USAGE}")
            code = cell
        self.measure_code(code, job=job or default_job(self.shell), tags=tags)

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
        try:
            # Any: IPython leaves run_cell unannotated (mypy --strict refuses the call).
            run_cell: Any = self.shell.run_cell
            result = run_cell(code, store_history=False)
        finally:
            error = _error_of(result)
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
        if handle.run is not None:
            show_summary(handle.run.summary())


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


def default_job(shell: InteractiveShell) -> str:
    """``<notebook file name>:<cell number>``, or ``notebook:<n>``, or ``notebook``."""
    name = notebook_name(shell) or DEFAULT_JOB
    result = shell.displayhook.exec_result
    count = getattr(result, "execution_count", None)
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


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register ``%zuinig`` and ``%%zuinig`` (``%load_ext zuinig`` calls this)."""
    # Any: IPython's decorator on register_magic_function hides its real signature.
    register: Any = ipython.register_magic_function
    register(NotebookMagic(ipython), magic_kind="line_cell", magic_name=MAGIC_NAME)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Remove the magics again (``%unload_ext zuinig``)."""
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop(MAGIC_NAME, None)
