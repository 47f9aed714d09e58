"""The ledger: where runs and bench sessions are kept (SQLAlchemy Core; SQLite or PostgreSQL).

The store is imported on first use, so ``import zuinig`` does not pay for SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zuinig.ledger.model import BenchSession, BenchTrial, Provenance, Run, RunFilter

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger, display_url
    from zuinig.ledger.urls import default_ledger_url

__all__ = [
    "BenchSession",
    "BenchTrial",
    "Ledger",
    "Provenance",
    "Run",
    "RunFilter",
    "default_ledger_url",
    "display_url",
]

_LAZY = {"Ledger", "display_url"}


def __getattr__(name: str) -> Any:
    if name == "default_ledger_url":  # no SQLAlchemy needed: measure's spool-first path uses it
        from zuinig.ledger.urls import default_ledger_url

        return default_ledger_url
    if name in _LAZY:
        from zuinig.ledger import store

        return getattr(store, name)
    raise AttributeError(f"module 'zuinig.ledger' has no attribute {name!r}")
