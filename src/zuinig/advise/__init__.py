"""Advice: which configuration each job should use, what it saves, and what it saved.

- :func:`advise`: ranked recommendations (format, engine, threads, codec, streaming) with
  savings per run, month and year in kWh, kg CO2e and euro, storage at rest saved, the
  one-off conversion cost and its payback, each with how sure it is; and the savings
  realised by jobs that changed configuration.
- :func:`realised_savings`: the realised savings alone, for a month's report.
- :mod:`zuinig.advise.rules` (the rules), :mod:`zuinig.advise.savings` (the arithmetic
  and intervals), :mod:`zuinig.advise.storage` (the storage-at-rest model).

Everything here is pure over ledger records except :func:`advise` and
:func:`realised_savings`, which read them first (:func:`gather`).
"""

from __future__ import annotations

from zuinig.advise.rules import (
    Advice,
    BenchEvidence,
    Evidence,
    Realised,
    Recommendation,
    Records,
    Step,
    advise,
    gather,
    realised,
    realised_savings,
    recommend,
)
from zuinig.advise.savings import Range
from zuinig.advise.storage import StorageModel

__all__ = [
    "Advice",
    "BenchEvidence",
    "Evidence",
    "Range",
    "Realised",
    "Recommendation",
    "Records",
    "Step",
    "StorageModel",
    "advise",
    "gather",
    "realised",
    "realised_savings",
    "recommend",
]
