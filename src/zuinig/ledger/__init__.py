"""The ledger: where runs are kept (SQLAlchemy Core; SQLite by default, PostgreSQL for teams)."""

from zuinig.ledger.model import Provenance, Run, RunFilter
from zuinig.ledger.store import Ledger, default_ledger_url, display_url

__all__ = ["Ledger", "Provenance", "Run", "RunFilter", "default_ledger_url", "display_url"]
