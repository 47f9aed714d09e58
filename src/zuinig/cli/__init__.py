"""The ``zuinig`` command line: a thin shell over the library.

Each command makes one library call and hands what it gets to a small, pure
``format_*`` function that returns text; only the command functions print.

One module per command group: :mod:`~zuinig.cli.run`, :mod:`~zuinig.cli.runs`,
:mod:`~zuinig.cli.bench`, :mod:`~zuinig.cli.convert`, :mod:`~zuinig.cli.advise`,
:mod:`~zuinig.cli.report`, :mod:`~zuinig.cli.demo`, :mod:`~zuinig.cli.doctor` and
:mod:`~zuinig.cli.ledger` (``ledger sync``, ``import codecarbon``); the group, its
options and the list of commands in :mod:`~zuinig.cli.main`; what they share in
:mod:`~zuinig.cli.app` (state, errors, printing), :mod:`~zuinig.cli.options` (option
parsers) and :mod:`~zuinig.cli.progress` (the progress bar). Renderers: those of
runs, ``doctor`` and ``demo`` in :mod:`~zuinig.cli.text`; the others live with their
library (``bench.text``, ``advise.text``, ``convert``, ``ledger``).

Errors become one line and an exit code (2 for bad input, 1 for failures); see
:mod:`zuinig.cli.app`.
"""

from zuinig.cli.app import AppState
from zuinig.cli.main import cli, main
from zuinig.cli.text import format_diagnosis, format_run, format_run_summary, format_runs_table

# The renderers stay importable from zuinig.cli, as they were before the package.
__all__ = [
    "AppState",
    "cli",
    "format_diagnosis",
    "format_run",
    "format_run_summary",
    "format_runs_table",
    "main",
]
