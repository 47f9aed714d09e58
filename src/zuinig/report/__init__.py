"""The monthly report for management: figures from the ledger, rendered as HTML, PDF
and a CSV appendix, in Dutch or English.

- :mod:`zuinig.report.model`: the figures (pure data).
"""

from __future__ import annotations

from zuinig.report.model import (
    Equivalent,
    GroupFigures,
    IntensityUsed,
    MethodSummary,
    MonthlyReport,
    MonthPoint,
    OpenRecommendation,
    RealisedSaving,
    Totals,
)

__all__ = [
    "Equivalent",
    "GroupFigures",
    "IntensityUsed",
    "MethodSummary",
    "MonthPoint",
    "MonthlyReport",
    "OpenRecommendation",
    "RealisedSaving",
    "Totals",
]
