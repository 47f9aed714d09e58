"""A PostgreSQL server a test owns, so it can stop and restart it mid-test.

Reuses ``scripts/with_postgres.py`` (loaded from its file: ``scripts`` is no
package) to initialise and start a throwaway server in a temporary directory on
a free loopback port. The directory is made with :func:`tempfile.mkdtemp`, not
pytest's ``tmp_path``: when the tests run as root the server runs as the
``postgres`` user, who cannot enter pytest's root-only directories.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "with_postgres.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zuinig_with_postgres", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


with_postgres = _load_script()


def server_binaries() -> Path | None:
    """The directory of initdb and pg_ctl, or ``None`` when PostgreSQL is not installed."""
    found: Path | None = with_postgres.find_bin_dir()
    return found


class PostgresServer:
    """One throwaway server: :meth:`start`, :meth:`stop`, :meth:`restart`, :meth:`remove`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="zuinig-pg-test-"))
        self.port: int = with_postgres.free_port()

    def url(self, password: str | None = None, database: str = "postgres") -> str:
        """A psycopg URL for the superuser ``postgres`` (the server trusts every login,
        so a password, if given, is carried but not checked)."""
        secret = f":{password}" if password else ""
        return f"postgresql+psycopg://postgres{secret}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        with_postgres.start(self.bin_dir, self.folder, self.port)

    def stop(self) -> None:
        """Stop at once, as a crash or a network cut would look to a client."""
        with_postgres.stop(self.bin_dir, self.folder)

    def restart(self) -> None:
        """Start again after :meth:`stop`, with the options of the first start.

        ``pg_ctl restart`` on a stopped server starts it with the command line it
        recorded (``postmaster.opts``), so the port and socket stay the same.
        """
        subprocess.run(
            with_postgres.as_server_user(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.folder / "data"),
                    "-l",
                    str(self.folder / "server.log"),
                    "-w",
                    "restart",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def fresh_schema(base_url: str) -> Iterator[str]:
    """A URL of an empty schema of its own on the server at ``base_url``, dropped afterwards.

    The schema is chosen through the driver's ``options=-csearch_path=...``, as in
    ``tests/ledger/conftest.py``.
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    schema = f"zuinig_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
