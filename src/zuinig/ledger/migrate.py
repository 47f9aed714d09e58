"""Create or upgrade the ledger schema with Alembic, run from inside zuinig.

This is the only ledger module that imports Alembic, and it is imported only when
a ledger is new or older than this zuinig: opening an up-to-date ledger never
pays for Alembic's import (about 0.2 s).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    # ConfigParser interpolates "%"; a path may contain one.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Bring the schema on ``connection`` to ``revision`` (the newest by default).

    Runs inside the caller's open transaction, which holds the lock that keeps
    other processes from migrating at the same time; the caller commits.

    Args:
        connection: an open connection, inside a transaction.
        revision: the revision to reach; tests pass an older one to build a
            ledger as an older zuinig made it.
    """
    command.upgrade(_config(connection), revision)


def script_heads() -> tuple[str, ...]:
    """The head revisions of the shipped migration scripts (one, unless broken)."""
    return tuple(ScriptDirectory.from_config(_config()).get_heads())
