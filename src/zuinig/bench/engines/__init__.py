"""The engine registry: which engines and modes a benchmark can run.

Built in: ``pandas`` (``default``, ``pyarrow``), ``polars`` (``eager``, ``lazy``,
``streaming``), ``duckdb`` (``default``) and ``dask`` (``default``; CSV and Parquet
only). Others can be registered, for example
in tests::

    @register_engine
    class WrongEngine(DuckDBEngine):
        name = "wrong"
        ...

A benchmark trial runs in a fresh subprocess, which does not see registrations
made in its parent: hand it the engine's import path instead and let the child
call :func:`load_engine` (``"tests.bench.fakes:WrongEngine"``).

Naming engines imports none of the engine libraries; :meth:`Engine.import_engine` does.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from zuinig.bench.engines.base import Engine
from zuinig.bench.engines.dask_engine import DaskEngine
from zuinig.bench.engines.duckdb_engine import DuckDBEngine
from zuinig.bench.engines.pandas_engine import PandasEngine
from zuinig.bench.engines.polars_engine import PolarsEngine
from zuinig.errors import BenchError

__all__ = [
    "DaskEngine",
    "DuckDBEngine",
    "Engine",
    "PandasEngine",
    "PolarsEngine",
    "engine_modes",
    "engine_names",
    "get_engine",
    "load_engine",
    "parse_engines",
    "register_engine",
    "unregister_engine",
]

_BUILT_IN: tuple[type[Engine], ...] = (PandasEngine, PolarsEngine, DuckDBEngine, DaskEngine)
_REGISTRY: dict[str, type[Engine]] = {engine.name: engine for engine in _BUILT_IN}

#: Separators accepted between an engine and its mode: ``polars:lazy`` or ``polars/lazy``.
_MODE_SEPARATORS = (":", "/")


def register_engine(engine: type[Engine], *, replace: bool = False) -> type[Engine]:
    """Make ``engine`` available under its ``name``; usable as a class decorator.

    Raises:
        BenchError: another engine has that name and ``replace`` is false, or the class
            lacks a name or modes.
    """
    name = getattr(engine, "name", None)
    modes = getattr(engine, "modes", None)
    if not isinstance(name, str) or not name or not modes:
        raise BenchError(f"{engine.__name__} needs a class attribute name and at least one mode")
    if any(separator in name for separator in (*_MODE_SEPARATORS, ",")):
        raise BenchError(f"engine name {name!r} must not contain ':', '/' or ','")
    if name in _REGISTRY and _REGISTRY[name] is not engine and not replace:
        raise BenchError(
            f"an engine named {name!r} is already registered; pass replace=True to replace it"
        )
    _REGISTRY[name] = engine
    return engine


def unregister_engine(name: str) -> None:
    """Remove the engine ``name``; built-in engines come back on :func:`register_engine`.

    Raises:
        BenchError: no engine has that name.
    """
    if _REGISTRY.pop(name, None) is None:
        raise BenchError(f"no engine named {name!r} is registered")


def engine_names() -> tuple[str, ...]:
    """The names of the registered engines."""
    return tuple(_REGISTRY)


def engine_modes(names: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """Every (engine, mode) pair of the given engines (all registered ones when ``None``).

    Raises:
        BenchError: a name is unknown.
    """
    chosen = engine_names() if names is None else tuple(names)
    return [(name, mode) for name in chosen for mode in _engine_class(name).modes]


def get_engine(name: str, mode: str | None = None) -> Engine:
    """A new instance of the engine ``name`` in ``mode`` (its default mode when ``None``).

    ``name`` may also carry the mode: ``polars:lazy`` or ``polars/lazy``.

    Raises:
        BenchError: the engine or mode is unknown; the message lists the known ones.
    """
    name, mode_in_name = _split(name)
    if mode is not None and mode_in_name is not None and mode != mode_in_name:
        raise BenchError(f"two modes given for {name}: {mode_in_name!r} and {mode!r}")
    return _engine_class(name)(mode or mode_in_name)


def parse_engines(spec: str | Iterable[str] | None) -> list[tuple[str, str]]:
    """(engine, mode) pairs from a list such as ``"pandas,polars:lazy,duckdb"``.

    An engine without a mode stands for all its modes; ``None`` or empty means every
    registered engine in every mode. Duplicates are dropped, order is kept.

    Raises:
        BenchError: an engine or mode is unknown.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec or ())
    items = [item.strip() for item in items if item.strip()]
    if not items:
        return engine_modes()
    pairs: list[tuple[str, str]] = []
    for item in items:
        name, mode = _split(item)
        if mode is None:
            pairs.extend(engine_modes([name]))
        else:
            get_engine(name, mode)  # validates the mode
            pairs.append((name, mode))
    return list(dict.fromkeys(pairs))


def load_engine(path: str, *, replace: bool = False) -> type[Engine]:
    """Import an engine class from ``"package.module:ClassName"`` and register it.

    Raises:
        BenchError: the path is malformed, cannot be imported, or is not an Engine.
    """
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise BenchError(f"an engine path looks like package.module:ClassName, got {path!r}")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise BenchError(f"cannot load engine {path}: {error}") from error
    if not (isinstance(found, type) and issubclass(found, Engine)):
        raise BenchError(f"{path} is not an Engine subclass")
    return register_engine(found, replace=replace)


def _split(item: str) -> tuple[str, str | None]:
    for separator in _MODE_SEPARATORS:
        if separator in item:
            name, _, mode = item.partition(separator)
            return name.strip(), mode.strip()
    return item.strip(), None


def _engine_class(name: str) -> type[Engine]:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(f"{n} ({'/'.join(e.modes)})" for n, e in _REGISTRY.items())
        raise BenchError(f"unknown engine {name!r}; known engines: {known}") from None
