"""Advice: which configuration each job should use, what it saves, and what it saved.

- :func:`advise`: ranked recommendations (format, engine, threads, codec, streaming) with
  savings per run, month and year in kWh, kg CO2e and euro, storage at rest saved, the
  one-off conversion cost and its payback, each with how sure it is; and the savings
  realised by jobs that changed configuration.
- :func:`realised_savings`: the realised savings alone, for a month's report.
- :mod:`zuinig.advise.gather` (reads the ledger once), :mod:`zuinig.advise.profile` (a
  job's configuration, frequency and energy), :mod:`zuinig.advise.bench_view` (the
  benchmark found for a job's data), :mod:`zuinig.advise.rules` (the rules: one
  protocol, a file each, one list), :mod:`zuinig.advise.ranking` (asks every rule),
  :mod:`zuinig.advise.realised` (savings made), :mod:`zuinig.advise.model` (what advice
  says), :mod:`zuinig.advise.savings` (the arithmetic and intervals),
  :mod:`zuinig.advise.storage` (the storage-at-rest model).

Everything here is pure over ledger records except :func:`advise` and
:func:`realised_savings`, which read them first (:func:`gather`).
"""

from __future__ import annotations

from zuinig.advise.gather import BenchEvidence, Records, gather
from zuinig.advise.model import Advice, Evidence, Realised, Recommendation, Step
from zuinig.advise.ranking import advise, recommend
from zuinig.advise.realised import realised, realised_savings
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
