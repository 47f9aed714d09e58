"""Run a command beside a throwaway PostgreSQL server: ``python scripts/with_postgres.py -- CMD...``.

`make test` uses it so the whole ledger suite runs on PostgreSQL as well as SQLite.
The server lives in a temporary directory, listens on a free loopback port, and is
stopped and removed when the command ends, whatever its outcome. The command sees
``TEST_ZUINIG_POSTGRES_URL``. PostgreSQL refuses to run as root, so when we are root
the server runs as the ``postgres`` user.

Without PostgreSQL server binaries the command runs anyway, without the variable, and
the PostgreSQL tests are skipped with a reason (``scripts/install-system-deps.sh``
installs them on Debian).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = "TEST_ZUINIG_POSTGRES_URL"


def find_bin_dir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return candidates[0].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def start(bin_dir: Path, folder: Path, port: int) -> None:
    data = folder / "data"
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    subprocess.run(
        as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    subprocess.run(
        as_server_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(folder / "server.log"),
                "-o",
                options,
                "-w",
                "start",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def stop(bin_dir: Path, folder: Path) -> None:
    subprocess.run(
        as_server_user(
            [str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"]
        ),
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print("usage: with_postgres.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1 :]
    bin_dir = find_bin_dir()
    if bin_dir is None:
        print(
            "with_postgres: no PostgreSQL server binaries; PostgreSQL tests will be skipped",
            file=sys.stderr,
        )
        return subprocess.call(command)
    folder = Path(tempfile.mkdtemp(prefix="zuinig-pg-"))
    port = free_port()
    started = time.monotonic()
    try:
        start(bin_dir, folder, port)
        print(
            f"with_postgres: PostgreSQL on 127.0.0.1:{port} ({time.monotonic() - started:.1f} s)",
            file=sys.stderr,
        )
        env = {**os.environ, ENV: f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"}
        return subprocess.call(command, env=env)
    finally:
        stop(bin_dir, folder)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
