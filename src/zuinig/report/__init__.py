"""The monthly report for management: figures from the ledger, rendered as HTML, PDF
and a CSV appendix, in Dutch or English.

- :mod:`zuinig.report.model`: the figures (pure data).
- :mod:`zuinig.report.render`: the figures as HTML, PDF and CSV files
  (:func:`write_report`, :func:`render_html`); words and numbers per language in
  :mod:`zuinig.report.texts`, charts in :mod:`zuinig.report.charts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zuinig.lazy import lazy_exports
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

if TYPE_CHECKING:
    from zuinig.report.render import render_html, write_report

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
    "render_html",
    "write_report",
]

#: Imported on first use: the renderer needs the ``report`` extra (Jinja2, Babel,
#: matplotlib, WeasyPrint), while the figures (:mod:`~zuinig.report.aggregate`) and the
#: month rule that ``runs list --month`` uses are in the core install.
_LAZY = {"render_html": "render", "write_report": "render"}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
