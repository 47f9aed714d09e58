"""Names of a package loaded on first use (PEP 562), written once for every package that does it.

A package that re-exports names from heavy modules (SQLAlchemy behind the ledger, the
engines behind the bench, the ``report`` extra behind the renderer) keeps ``import
zuinig`` and the core commands light by importing those modules only when a name is
first asked for. A loaded name is then stored in the package, so later look-ups are
plain attribute reads.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of a package with lazy names.

    Use as ``__getattr__, __dir__ = lazy_exports(__name__, {"name": "module"}, __all__)``.

    Args:
        package: the package's ``__name__``.
        exports: per lazy name, the submodule (relative to ``package``) that defines it.
        public: the package's ``__all__``, listed by ``dir()`` before they are loaded.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *public})

    return __getattr__, __dir__
