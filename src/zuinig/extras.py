"""The optional parts of zuinig (pip "extras"), and the one check that they are installed.

``pip install zuinig`` is the light core: the decorator, ``zuinig run``, ``runs``,
``doctor``, ``advise``, ``ledger sync`` and ``import codecarbon`` on a SQLite ledger.
The heavy parts come with an extra (their packages are declared in ``pyproject.toml``):

- ``bench``: the engines and file formats of ``zuinig bench`` and ``zuinig convert``
  (DuckDB, Polars, PyArrow, ``tpchgen-cli``, matplotlib for the charts of ``--out``);
  also the Parquet export of ``runs export``;
- ``report``: the monthly report (matplotlib, Jinja2, Babel, WeasyPrint);
- ``dask``: ``zuinig.dask`` and the ``dask`` engine of ``zuinig bench``;
- ``postgres``: the PostgreSQL driver of a team ledger;
- ``all``: every extra.

:data:`COMMAND_EXTRAS` says which extras each command needs; the CLI group calls
:func:`require_for_command` once, before any command runs, so a command whose extra is
missing stops with one line that names the extra (exit code 2) instead of an
``ImportError`` half-way. Whether a package is there is asked of the import system
(:func:`importlib.util.find_spec`) without importing it: importing Polars or PyArrow
only to find out would cost the core commands the time the light install saves.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence

from zuinig.errors import MissingExtraError

__all__ = [
    "COMMAND_EXTRAS",
    "COMMAND_MODULES",
    "EXTRA_MODULES",
    "install_hint",
    "missing_modules",
    "require_extra",
    "require_for_command",
]

#: The top-level Python modules each extra brings, checked before a command that needs them.
#: ``tpchgen-cli`` (bench) is an executable, not a module: ``zuinig bench`` looks for it
#: only when the TPC-H workload is asked for, and says how to install it when it is missing.
EXTRA_MODULES: Mapping[str, tuple[str, ...]] = {
    "bench": ("duckdb", "polars", "pyarrow", "matplotlib", "xxhash"),
    "report": ("matplotlib", "jinja2", "babel", "weasyprint"),
    "dask": ("dask", "distributed"),
    "postgres": ("psycopg",),
}

#: The extras each top-level command needs; a command not named here is in the core.
#: ``demo`` benchmarks, converts and writes a report.
COMMAND_EXTRAS: Mapping[str, tuple[str, ...]] = {
    "bench": ("bench",),
    "convert": ("bench",),
    "report": ("report",),
    "demo": ("bench", "report"),
}

#: The packages a command imports where that is fewer than its extras bring: ``convert``
#: reads and writes with PyArrow and checks what it wrote with xxHash, so those two without
#: DuckDB or Polars are enough.
COMMAND_MODULES: Mapping[str, tuple[str, ...]] = {"convert": ("pyarrow", "xxhash")}


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here, in :data:`EXTRA_MODULES` order.

    Raises:
        KeyError: ``extra`` is not one of :data:`EXTRA_MODULES`.
    """
    return [name for name in EXTRA_MODULES[extra] if not _importable(name)]


def install_hint(extras: Sequence[str]) -> str:
    """The pip command that installs ``extras``, e.g. ``pip install 'zuinig[bench,report]'``."""
    return f"pip install 'zuinig[{','.join(extras)}]'"


def require_extra(
    extras: Sequence[str], what: str, *, modules: Sequence[str] | None = None
) -> None:
    """Stop with one line naming the extra when a package ``what`` needs is missing.

    Args:
        extras: names of :data:`EXTRA_MODULES` that ``what`` needs.
        what: what needs them, for people (``"zuinig bench"``, ``"Parquet export"``).
        modules: the packages ``what`` imports, when fewer than ``extras`` bring;
            ``None``: all of them.

    Raises:
        MissingExtraError: a needed module cannot be imported (bad input: the fix is an
            install, exit code 2).
    """
    needed = set(modules) if modules is not None else None
    missing: list[str] = []
    lacking: list[str] = []
    for extra in extras:
        wanted = [m for m in EXTRA_MODULES[extra] if needed is None or m in needed]
        absent = [m for m in wanted if not _importable(m)]
        if absent:
            lacking.append(extra)
            missing.extend(m for m in absent if m not in missing)  # matplotlib is in two
    if not lacking:
        return
    noun = "extra" if len(lacking) == 1 else "extras"
    raise MissingExtraError(
        f"{what} needs the {' and '.join(lacking)} {noun} ({', '.join(missing)} not "
        f"installed): {install_hint(lacking)}"
    )


def require_for_command(command: str | None) -> None:
    """:func:`require_extra` for a top-level CLI command (``None``: no command, nothing to check).

    Raises:
        MissingExtraError: the command needs an extra that is not installed.
    """
    name = command or ""
    extras = COMMAND_EXTRAS.get(name, ())
    if extras:
        require_extra(extras, f"zuinig {command}", modules=COMMAND_MODULES.get(name))


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        # ImportError: a finder refused the name (a blocked or broken package);
        # ValueError: a module already in sys.modules without a spec.
        return False
