"""A team ledger on PostgreSQL: the server going away mid-job, many writers at once, the
README's least-privilege role, and a password that never shows up anywhere.

These tests start a PostgreSQL server of their own (see ``pg_server.py``), because one
of them stops and restarts it; they are skipped where the server binaries are missing.
"""

from __future__ import annotations

import gc
import logging
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from ledger_helpers import child_env, full_run
from pg_server import PostgresServer, server_binaries

from zuinig import measure
from zuinig.cli import AppState, cli
from zuinig.config import Settings
from zuinig.ledger import Ledger, RunFilter, spool
from zuinig.ledger.importers import import_codecarbon_csv
from zuinig.ledger.model import BenchSession, BenchTrial
from zuinig.ledger.paths import user_data_dir
from zuinig.ledger.sync import sync_runs
from zuinig.measure import Recorder
from zuinig.meter import ReplayMeter

pytestmark = pytest.mark.postgres

#: A password that must appear in no output, log record, file or table.
SENTINEL = "Zk9-geheim-sentinel-4711"
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    bin_dir = server_binaries()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (scripts/install-system-deps.sh installs them)")
    own = PostgresServer(bin_dir)
    own.start()
    try:
        yield own
    finally:
        own.remove()


@pytest.fixture
def database(server: PostgresServer) -> Iterator[str]:
    """A fresh database on the server; its name."""
    name = f"zuinig_{uuid.uuid4().hex[:10]}"
    # No pool: a test may restart the server, which kills pooled connections.
    admin = sa.create_engine(server.url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table_text(url: str) -> str:
    """Every value of every zuinig table at ``url``, as one string to search."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            parts = []
            for table in ("runs", "run_tags", "bench_sessions", "bench_trials"):
                parts += [
                    repr(tuple(row))
                    for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
                ]
            return "\n".join(parts)
    finally:
        engine.dispose()


def files_text(folder: Path) -> str:
    """The bytes of every file under ``folder`` (the user data dir: ledger, spool), decoded."""
    return "\n".join(
        path.read_bytes().decode("utf-8", "replace") for path in folder.rglob("*") if path.is_file()
    )


# -- the server goes away while a job runs --------------------------------------------------


def test_a_job_outlives_the_server_and_sync_delivers_its_run_once(
    server: PostgresServer, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.url(password=SENTINEL, database=database) + "?connect_timeout=3"
    recorder = Recorder(
        Settings(ledger=url), meter=ReplayMeter(energy_kwh=2e-6, intensity_g_per_kwh=268.0)
    )

    @measure(job="nachtrun", tags={"team": "ruimte"}, recorder=recorder)
    def job(value: int) -> int:
        server.stop()  # mid-job: the start row is written, the end cannot be
        return value * 2

    try:
        recorder.ledger()  # opened up front (as `zuinig run` does): the start row is written
        with caplog.at_level(logging.INFO):
            assert job(21) == 42  # the job completes with its result
        run = job.last_run  # type: ignore[attr-defined]
        recorder.ledger().close()
        # The run's states went to this process's spool journal: its last state wins.
        kept = spool.pending(url)
        assert [(kept_run.run_id, kept_run.status) for kept_run in kept] == [(run.run_id, "ok")]
        files = spool.pending_files(url)
        assert len(files) == 1
        spooled_text = files[0].read_text(encoding="utf-8")
        # The job's process ends (here: its recorder is dropped), which closes the journal;
        # a drain removes a journal only once its writer is gone.
        del job, recorder
        gc.collect()
        assert "kept in" in caplog.text and run.run_id in caplog.text
    finally:
        server.restart()

    first = CliRunner().invoke(cli, ["ledger", "sync", "--to", url], obj=AppState(ledger=url))
    assert first.exit_code == 0, first.output
    assert "1 run kept in the local spool delivered" in first.stdout
    again = CliRunner().invoke(cli, ["ledger", "sync", "--to", url], obj=AppState(ledger=url))
    assert again.exit_code == 0, again.output
    assert "nothing was waiting in the local spool" in again.stdout

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT status, energy_kwh, job FROM runs WHERE run_id = :id"),
            {"id": run.run_id},
        ).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("ok", 2e-6, "nachtrun")]  # exactly one
    assert not spool.has_pending(url)

    # The password is nowhere: output, log records, the spool file, the ledger's tables.
    for text in (first.output, again.output, caplog.text, spooled_text, table_text(url)):
        assert SENTINEL not in text
    assert "postgres:***@127.0.0.1" in first.stdout
    assert "postgres:***@127.0.0.1" in spooled_text


def test_a_laptop_ledger_is_synced_into_postgresql(
    server: PostgresServer, database: str, tmp_path: Path
) -> None:
    laptop = f"sqlite:///{(tmp_path / 'laptop.sqlite').as_posix()}"
    team = server.url(password=SENTINEL, database=database)
    with Ledger.open(laptop) as source:
        for index in range(1203):  # three batches
            source.put_run(full_run(f"run-{index:05d}", tags={"n": str(index % 4)}))
    runner = CliRunner()
    first = runner.invoke(cli, ["ledger", "sync", "--to", team], obj=AppState(ledger=laptop))
    assert first.exit_code == 0, first.output
    assert "1203 copied, 0 updated, 0 already there" in first.stdout
    second = runner.invoke(cli, ["ledger", "sync", "--to", team], obj=AppState(ledger=laptop))
    assert "0 copied, 0 updated, 1203 already there" in second.stdout
    with Ledger.open(team) as ledger:
        assert ledger.count_runs() == 1203
        assert ledger.get_run("run-00042") == full_run("run-00042", tags={"n": "2"})
    assert SENTINEL not in first.output + second.output + table_text(team)


# -- many writers ---------------------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import sys, zuinig

    @zuinig.measure(job="concurrent", tags={"worker": sys.argv[1]})
    def job(i):
        return i

    for i in range(int(sys.argv[2])):
        assert job(i) == i
    """
)


@pytest.mark.slow
def test_eight_processes_write_1600_runs_into_postgresql(
    server: PostgresServer, database: str
) -> None:
    url = server.url(database=database)
    env = {**child_env(), "ZUINIG_LEDGER": url}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(index), "200"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(8)
    ]
    errors = [worker.communicate(timeout=600)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 8, errors
    assert not any("kept in" in error for error in errors), errors  # nothing was spooled

    with Ledger.open(url) as ledger:
        runs = ledger.list_runs(RunFilter(job="concurrent"))
    assert len(runs) == 1600
    assert len({run.run_id for run in runs}) == 1600
    assert {run.status for run in runs} == {"ok"}
    assert sum(1 for run in runs if run.energy_kwh) == 1600
    assert {run.tags["worker"] for run in runs} == {str(index) for index in range(8)}


# -- the README's roles ---------------------------------------------------------------------


def readme_sql(names: dict[str, str]) -> list[list[str]]:
    """The SQL blocks of the README's PostgreSQL section, as statements, with ``names``
    put in for the roles, the database and the schema."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Team ledger on PostgreSQL", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 3, "the README's PostgreSQL section should hold three SQL blocks"
    result = []
    for block in blocks:
        for old, new in names.items():
            block = re.sub(rf"\b{old}\b", new, block)
        result.append([part.strip() for part in block.split(";") if part.strip()])
    return result


@pytest.fixture
def readme_roles(server: PostgresServer) -> Iterator[dict[str, str]]:
    prefix = f"zuinig_{uuid.uuid4().hex[:8]}"
    names = {
        "zuinig_owner": f"{prefix}_owner",
        "zuinig_writer": f"{prefix}_writer",
        "zuinig": prefix,
        "change-me-too": SENTINEL,
    }
    on_cluster, in_database, existing = readme_sql(names)
    admin = sa.create_engine(server.url(), isolation_level="AUTOCOMMIT")
    outsider = f"{prefix}_outsider"
    try:
        with admin.connect() as connection:
            for statement in on_cluster:
                connection.execute(sa.text(statement))
            connection.execute(sa.text(f"CREATE ROLE {outsider} LOGIN"))
        in_db = sa.create_engine(server.url(database=prefix), isolation_level="AUTOCOMMIT")
        with in_db.connect() as connection:
            for statement in in_database:
                connection.execute(sa.text(statement))
        in_db.dispose()
        yield {
            "owner": _role_url(server, names["zuinig_owner"], prefix),
            "writer": _role_url(server, names["zuinig_writer"], prefix, SENTINEL),
            "outsider": _role_url(server, outsider, prefix),
            "admin_in_db": server.url(database=prefix),
            "existing": ";".join(existing),
        }
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{prefix}" WITH (FORCE)'))
            for role in (names["zuinig_owner"], names["zuinig_writer"], outsider):
                connection.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def _role_url(server: PostgresServer, role: str, database: str, password: str = "") -> str:
    secret = f":{password}" if password else ""
    return f"postgresql+psycopg://{role}{secret}@127.0.0.1:{server.port}/{database}"


def _session(session_id: str) -> BenchSession:
    return BenchSession(
        session_id=session_id, workload="groupby", started_at=full_run("x").started_at
    )


def test_the_readme_writer_role_writes_runs_and_nothing_more(
    readme_roles: dict[str, str], tmp_path: Path
) -> None:
    writer_url = readme_roles["writer"]
    # Before the owner made the tables, the writer cannot make them itself.
    with pytest.raises(Exception, match="cannot create or upgrade") as refused:
        Ledger.open(writer_url)
    assert SENTINEL not in str(refused.value)

    with Ledger.open(readme_roles["owner"]):
        pass  # the owner creates the schema
    admin = sa.create_engine(readme_roles["admin_in_db"], isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(readme_roles["existing"]))  # the third block is valid SQL too
    admin.dispose()

    with Ledger.open(writer_url) as ledger:
        ledger.start_run(full_run("w1", status="running"))
        ledger.finish_run(full_run("w1", tags={"changed": "yes"}))
        ledger.put_run(full_run("w2"))
        ledger.start_bench_session(_session("s1"))
        ledger.add_bench_trials([BenchTrial("t1", "s1", "measured", "ok")])
        ledger.add_bench_trials([BenchTrial("t1", "s1", "measured", "oom")])  # replaces: DELETE
        spool.save(full_run("spooled"), writer_url)
        assert ledger.drain_spool().delivered == 1
        csv_path = tmp_path / "emissions.csv"
        csv_path.write_text(
            "timestamp,project_name,run_id,duration,emissions,energy_consumed\n"
            "2026-11-01T10:00:00+00:00,p,cc-1,1.5,0.001,0.004\n"
        )
        assert import_codecarbon_csv([csv_path], ledger).imported == 1
        with Ledger.open(f"sqlite:///{(tmp_path / 'laptop.sqlite').as_posix()}") as laptop:
            laptop.put_run(full_run("from-laptop"))
            laptop.finish_bench_session(_session("s2"))
            assert sync_runs(laptop, ledger).copied == 1
        assert ledger.count_runs() == 5
        assert ledger.get_run("w1").tags == {"changed": "yes"}
        assert [trial.status for trial in ledger.list_bench_trials("s1")] == ["oom"]

    engine = sa.create_engine(writer_url)
    forbidden = [
        "CREATE TABLE sneaky (a integer)",
        "CREATE TABLE public.sneaky (a integer)",
        "CREATE TEMP TABLE sneaky (a integer)",
        "CREATE SCHEMA sneaky",
        "DROP TABLE runs",
        "ALTER TABLE runs ADD COLUMN sneaky integer",
        "TRUNCATE runs",
        "CREATE INDEX sneaky ON runs (job)",
    ]
    for statement in forbidden:
        with engine.connect() as connection, pytest.raises(sa.exc.ProgrammingError) as caught:
            connection.execute(sa.text(statement))
        assert "permission denied" in str(caught.value) or "must be owner" in str(caught.value), (
            statement
        )
    engine.dispose()

    outsider = sa.create_engine(readme_roles["outsider"])
    with pytest.raises(sa.exc.OperationalError, match="permission denied for database"):
        outsider.connect()
    outsider.dispose()


# -- the password, nowhere -----------------------------------------------------------------


def test_the_password_is_in_no_output_log_or_file(
    server: PostgresServer,
    database: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = server.url(password=SENTINEL, database=database)
    runner = CliRunner()
    # `zuinig run` leaves its recorder's ledger open (the process ends right after);
    # here the process goes on, so keep the recorders to close their connections.
    recorders: list[Recorder] = []
    make_recorder = AppState.recorder

    def kept_recorder(self: AppState) -> Recorder:
        recorders.append(make_recorder(self))
        return recorders[-1]

    monkeypatch.setattr(AppState, "recorder", kept_recorder)
    state = AppState(ledger=url, meter=ReplayMeter(energy_kwh=1e-6, intensity_g_per_kwh=268.0))
    csv_path = tmp_path / "emissions.csv"
    csv_path.write_text(
        "timestamp,project_name,run_id,duration,emissions,energy_consumed\n"
        "2026-11-01T10:00:00+00:00,p,cc-2,1.5,0.001,0.004\nbad\n"
    )
    outputs: list[Any] = []
    with caplog.at_level(logging.DEBUG):
        for args in (
            ["run", "--", sys.executable, "-c", "pass"],
            ["runs", "list"],
            ["runs", "list", "--json"],
            ["doctor"],
            ["doctor", "--json"],
            ["import", "codecarbon", str(csv_path)],
            ["ledger", "sync", "--to", url, "--dry-run"],
            ["ledger", "sync", "--to", url],
            ["--debug", "runs", "show", "no-such-run"],
        ):
            outputs.append(runner.invoke(cli, args, obj=state))
    assert [result.exit_code for result in outputs] == [0, 0, 0, 0, 0, 0, 0, 0, 2]
    for result in outputs:
        assert SENTINEL not in result.output
    assert "***" in outputs[3].stdout  # doctor shows the ledger, masked
    assert SENTINEL not in caplog.text
    assert SENTINEL not in table_text(url)
    assert SENTINEL not in files_text(user_data_dir())

    for recorder in recorders:
        recorder.ledger().close()

    # Unreachable: errors and the spool.
    server.stop()
    try:
        failing = [runner.invoke(cli, args, obj=state) for args in (["runs", "list"], ["doctor"])]
        recorder = Recorder(Settings(ledger=url + "?connect_timeout=2"), meter=state.meter)
        with caplog.at_level(logging.DEBUG):
            assert measure(job="offline", recorder=recorder)(lambda: 7)() == 7
            # Spooled first; the background open fails while the server is down.
            assert not recorder.flush(timeout_s=30)
    finally:
        server.restart()
    assert failing[0].exit_code == 1
    for result in failing:
        assert SENTINEL not in result.output
        assert "postgres:***@" in result.output
    assert SENTINEL not in caplog.text
    assert SENTINEL not in files_text(user_data_dir())
    assert spool.has_pending(url + "?connect_timeout=2")
    with Ledger.open(url + "?connect_timeout=2") as ledger:  # delivers it
        assert ledger.count_runs(RunFilter(job="offline")) == 1


KILLED_CHILD = """
import sys, time
from zuinig import measure
from zuinig.config import Settings
from zuinig.measure import Recorder
from zuinig.meter import ReplayMeter

recorder = Recorder(Settings(ledger=sys.argv[1]), meter=ReplayMeter(energy_kwh=1e-6))
recorder.ledger()  # opened: from now on runs are written to it directly
print("open", flush=True)
sys.stdin.readline()  # the test stops the server meanwhile
with measure(job="killed-mid-outage", recorder=recorder):
    print("started", flush=True)
    time.sleep(600)
"""


def test_a_job_killed_while_the_open_ledger_is_down_is_synced_as_interrupted(
    server: PostgresServer, database: str, tmp_path: Path
) -> None:
    """Issue 10, item 2: the start state was only in memory when the open ledger failed."""
    url = server.url(database=database) + "?connect_timeout=3"
    script = tmp_path / "child.py"
    script.write_text(KILLED_CHILD, encoding="utf-8")
    with subprocess.Popen(
        [sys.executable, str(script), url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=child_env(),
    ) as child:
        try:
            assert child.stdout is not None and child.stdin is not None
            assert child.stdout.readline().strip() == "open"
            server.stop()
            child.stdin.write("go\n")
            child.stdin.flush()
            # "started" is printed inside the block: the start state is on disk by then.
            assert child.stdout.readline().strip() == "started"
        finally:
            child.kill()  # SIGKILL: no exit hook, no end state
            child.wait(30)
            server.restart()
    assert len(spool.pending_files(url)) == 1
    synced = CliRunner().invoke(cli, ["ledger", "sync", "--to", url], obj=AppState(ledger=url))
    assert synced.exit_code == 0, synced.output
    assert "1 run kept in the local spool delivered" in synced.stdout
    with Ledger.open(url) as ledger:
        [run] = ledger.list_runs(RunFilter(job="killed-mid-outage"))
    assert run.status == "interrupted"
    assert run.pid == child.pid
