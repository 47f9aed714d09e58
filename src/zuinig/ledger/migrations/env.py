"""Alembic environment for the ledger, driven by :func:`zuinig.ledger.migrate.upgrade`.

zuinig runs migrations itself, on a connection it has already opened and locked
(``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so that many
processes opening a new ledger at once create it exactly once. There is no
``alembic.ini``: the connection comes in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from zuinig.ledger.schema import VERSION_TABLE, metadata


def run_migrations_online() -> None:
    """Migrate on the caller's connection, inside the caller's transaction."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "zuinig's migrations run from zuinig.ledger.migrate.upgrade(), not the alembic CLI"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("zuinig's migrations run online only")
run_migrations_online()
