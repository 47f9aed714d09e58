"""Report tests: the ledger tests' ``ledger_url``/``ledger`` fixtures (SQLite and PostgreSQL)."""

from report_fixture import ledger, ledger_url

__all__ = ["ledger", "ledger_url"]
