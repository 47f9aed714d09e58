"""Schema and migrations: made from nothing, matched to schema.py, refused when too new."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from ledger_helpers import child_env, full_run

from zuinig.errors import LedgerError
from zuinig.ledger import Ledger, Run
from zuinig.ledger import migrate as migrate_module
from zuinig.ledger.schema import (
    HEAD_REVISION,
    RUN_COLUMNS,
    SCHEMA_REVISIONS,
    VERSION_TABLE,
    metadata,
)


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _stored_revision(url: str) -> str | None:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    finally:
        engine.dispose()


def test_run_fields_are_the_columns() -> None:
    fields = [item.name for item in dataclasses.fields(Run)]
    assert sorted(name for name in fields if name != "tags") == sorted(RUN_COLUMNS)


def test_shipped_migrations_end_at_the_head_this_code_knows() -> None:
    assert migrate_module.script_heads() == (HEAD_REVISION,)
    versions = Path(migrate_module.MIGRATIONS_DIR, "versions")
    shipped = sorted(path.name.split("_")[0] for path in versions.glob("[0-9]*.py"))
    assert tuple(shipped) == SCHEMA_REVISIONS
    assert list(SCHEMA_REVISIONS) == sorted(SCHEMA_REVISIONS)


def test_migration_from_an_empty_database(ledger_url: str, tmp_path: Path) -> None:
    if ledger_url.startswith("sqlite"):
        Path(tmp_path / "ledger.sqlite").write_bytes(b"")  # an existing, empty file
    with Ledger.open(ledger_url) as ledger:
        ledger.finish_run(full_run("after-create"))
    assert _stored_revision(ledger_url) == HEAD_REVISION
    with Ledger.open(ledger_url) as ledger:  # and it opens again, as it is
        assert ledger.get_run("after-create").job == "woningbouwmonitor"


def test_migrated_schema_equals_schema_py(ledger_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    Ledger.open(ledger_url).close()
    engine = _engine(ledger_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_sqlite_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'ledger.sqlite').as_posix()}"
    with Ledger.open(url) as ledger, ledger.database.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() >= 30_000


def test_a_newer_schema_is_refused_with_advice(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    engine = _engine(ledger_url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(LedgerError, match=r"schema version 9999.*upgrade zuinig") as caught:
        Ledger.open(ledger_url)
    assert "\n" not in str(caught.value)


def test_someone_elses_runs_table_is_not_touched(ledger_url: str) -> None:
    engine = _engine(ledger_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE runs (id INTEGER PRIMARY KEY, other TEXT)"))
    engine.dispose()
    with pytest.raises(LedgerError, match="did not make"):
        Ledger.open(ledger_url)


def test_opening_an_up_to_date_ledger_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'ledger.sqlite').as_posix()}"
    Ledger.open(url).close()
    code = (
        "import sys\n"
        "from zuinig.ledger import Ledger\n"
        f"Ledger.open({url!r}).close()\n"
        "print('alembic' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), check=True
    )
    assert result.stdout.strip() == "False", result.stderr
