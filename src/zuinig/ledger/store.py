"""INTERFACE STUB — to be implemented by the ledger work. Signatures are the contract."""

from __future__ import annotations

from zuinig.config import Settings
from zuinig.ledger.model import Run, RunFilter


def default_ledger_url() -> str:
    """``sqlite:///<user data dir>/ledger.sqlite`` (platformdirs, app name ``zuinig``)."""
    raise NotImplementedError


def display_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: safe to print and log."""
    raise NotImplementedError


class Ledger:
    """A store of runs behind a SQLAlchemy URL."""

    url: str

    @classmethod
    def open(cls, url: str | None = None, *, settings: Settings | None = None) -> Ledger:
        """Open (creating and migrating as needed) the ledger at ``url``.

        ``url`` wins over ``settings.ledger``, which wins over :func:`default_ledger_url`.
        Raises LedgerURLError for a malformed URL or unknown backend, LedgerError when
        the database cannot be reached.
        """
        raise NotImplementedError

    def start_run(self, run: Run) -> None:
        """Insert ``run`` (status ``running``). Raises LedgerError."""
        raise NotImplementedError

    def finish_run(self, run: Run) -> None:
        """Write the final state of ``run`` (status ``ok`` or ``error``), inserting it if
        its start was never written. Raises LedgerError."""
        raise NotImplementedError

    def get_run(self, run_id: str) -> Run:
        """The run with this id (or unique id prefix). Raises RunNotFoundError."""
        raise NotImplementedError

    def list_runs(self, run_filter: RunFilter | None = None) -> list[Run]:
        """Runs matching the filter, newest first; ``running`` rows whose process is
        gone come back with status ``interrupted``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""
        raise NotImplementedError
