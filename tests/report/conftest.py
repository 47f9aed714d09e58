"""Report tests: the ledger tests' ``ledger_url``/``ledger`` fixtures (SQLite and PostgreSQL),
and a hand-built report for the renderer's tests."""

import pytest
from render_samples import make_report
from report_fixture import ledger, ledger_url

from zuinig.report.model import MonthlyReport

__all__ = ["ledger", "ledger_url", "sample_report"]


@pytest.fixture
def sample_report() -> MonthlyReport:
    """The hand-built November 2026 report of ``render_samples``."""
    return make_report()
