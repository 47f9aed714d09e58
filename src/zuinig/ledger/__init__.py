"""The ledger: where runs and bench sessions are kept (SQLAlchemy Core; SQLite or PostgreSQL).

The store is imported on first use, so ``import zuinig`` does not pay for SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zuinig.lazy import lazy_exports
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

#: Imported on first use: the store needs SQLAlchemy; the URL rule does not (measure's
#: spool-first path uses it).
_LAZY = {"Ledger": "store", "display_url": "store", "default_ledger_url": "urls"}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
