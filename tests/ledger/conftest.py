"""Ledger test set-up: the same store tests run on SQLite and, when a server is given, PostgreSQL.

Set ``TEST_ZUINIG_POSTGRES_URL`` (for example
``postgresql+psycopg://postgres@127.0.0.1:5433/postgres``) to run every test that
uses ``ledger_url`` on PostgreSQL as well. Each test gets its own PostgreSQL schema
(through the driver's ``options=-csearch_path=...``), dropped afterwards, so tests
never see each other's runs and may create and migrate ledgers from nothing.
The variable deliberately does not start with ``ZUINIG_``: those are settings, an
unknown one is an error for zuinig, and the root conftest clears them all.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from zuinig.ledger import Ledger

POSTGRES_ENV = "TEST_ZUINIG_POSTGRES_URL"
_POSTGRES_URL = os.environ.get(POSTGRES_ENV)


def _postgres_schema_url(base: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not _POSTGRES_URL, reason=f"{POSTGRES_ENV} is not set"),
            ],
        ),
    ]
)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a ledger that does not exist yet (SQLite file, or an empty PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'ledger.sqlite').as_posix()}"
        return
    import sqlalchemy as sa

    assert _POSTGRES_URL is not None
    schema = f"zuinig_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(_POSTGRES_URL, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    """An open, empty ledger."""
    opened = Ledger.open(ledger_url)
    try:
        yield opened
    finally:
        opened.close()
