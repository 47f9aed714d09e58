"""``zuinig ledger sync``: runs copied to another ledger, idempotent by run id.

The target is every backend of the ``ledger_url`` fixture (SQLite, and PostgreSQL
when a server is given); the source is a local SQLite ledger, as on a laptop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ledger_helpers import full_run

from zuinig.cli import AppState, cli
from zuinig.errors import LedgerError, UsageError
from zuinig.ledger import Ledger, RunFilter, spool
from zuinig.ledger.model import BenchSession, BenchTrial
from zuinig.ledger.sync import (
    SyncProgress,
    SyncResult,
    same_database,
    sync_runs,
    sync_to,
)
from zuinig.ledger_text import format_sync

NOVEMBER = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def source_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'laptop.sqlite').as_posix()}"


@pytest.fixture
def source(source_url: str) -> Iterator[Ledger]:
    with Ledger.open(source_url) as opened:
        yield opened


@pytest.fixture
def target(ledger_url: str) -> Iterator[Ledger]:
    with Ledger.open(ledger_url) as opened:
        yield opened


def counts(result: SyncResult) -> tuple[int, int, int, int]:
    return result.copied, result.updated, result.unchanged, result.skipped_running


def test_copies_runs_with_their_tags_and_a_second_sync_copies_nothing(
    source: Ledger, target: Ledger
) -> None:
    runs = [full_run(f"run-{index}", tags={"n": str(index)}) for index in range(5)]
    runs.append(full_run("no-tags", tags={}))
    for run in runs:
        source.put_run(run)

    assert counts(sync_runs(source, target)) == (6, 0, 0, 0)
    for run in runs:
        assert target.get_run(run.run_id) == run  # every field, tags included
    assert counts(sync_runs(source, target)) == (0, 0, 6, 0)
    assert target.count_runs() == 6


def test_a_run_finished_since_the_last_sync_is_updated(source: Ledger, target: Ledger) -> None:
    started = full_run("later", status="running", tags={"phase": "start"})
    source.put_run(started)
    assert counts(sync_runs(source, target)) == (1, 0, 0, 0)
    assert target.get_run("later").status == "running"

    finished = dataclasses.replace(started, status="ok", tags={"phase": "end", "x": "y"})
    source.put_run(finished)
    assert counts(sync_runs(source, target)) == (0, 1, 0, 0)
    assert target.get_run("later") == finished  # tags replaced, not merged


def test_a_running_state_never_overwrites_a_finished_one(source: Ledger, target: Ledger) -> None:
    finished = full_run("done", status="ok")
    target.put_run(finished)
    source.put_run(dataclasses.replace(finished, status="running", energy_kwh=None))

    result = sync_runs(source, target)
    assert counts(result) == (0, 0, 0, 1)
    assert target.get_run("done") == finished


def test_a_running_run_is_pushed_when_the_target_has_it_running_or_not_at_all(
    source: Ledger, target: Ledger
) -> None:
    source.put_run(full_run("busy", status="running"))
    target.put_run(full_run("busy", status="running", energy_kwh=None))
    source.put_run(full_run("new-busy", status="running"))
    assert counts(sync_runs(source, target)) == (1, 1, 0, 0)
    assert target.get_run("busy").energy_kwh == full_run("x").energy_kwh


def test_a_run_whose_process_is_gone_is_copied_in_its_stored_state(
    source: Ledger, target: Ledger
) -> None:
    # A pid that cannot be alive: the source shows the run as interrupted.
    dead = full_run("dead", status="running", pid=2**22 + 7, pid_started_at=NOVEMBER)
    source.put_run(dead)
    assert source.get_run("dead").status == "interrupted"
    assert counts(sync_runs(source, target)) == (1, 0, 0, 0)
    assert target.get_run("dead").status == "interrupted"  # same host: shown so there too
    assert target.count_runs(RunFilter(status="running")) == 0


def test_filters_select_the_runs_to_copy(source: Ledger, target: Ledger) -> None:
    source.put_run(full_run("nov-a", job="a", started_at=NOVEMBER))
    source.put_run(full_run("nov-b", job="b", started_at=NOVEMBER))
    source.put_run(full_run("oct-a", job="a", started_at=NOVEMBER - timedelta(days=20)))

    assert sync_runs(source, target, run_filter=RunFilter(job="a", month="2026-11")).copied == 1
    assert [run.run_id for run in target.list_runs()] == ["nov-a"]
    assert sync_runs(source, target, run_filter=RunFilter(job="a")).copied == 1
    assert sync_runs(source, target, run_filter=RunFilter(tags={"team": "ruimte"})).copied == 1
    assert target.count_runs() == 3


def test_a_limit_or_bad_filter_is_refused(source: Ledger, target: Ledger) -> None:
    with pytest.raises(UsageError, match="limit"):
        sync_runs(source, target, run_filter=RunFilter(limit=3))
    with pytest.raises(UsageError, match="month"):
        sync_runs(source, target, run_filter=RunFilter(month="november"))
    with pytest.raises(UsageError, match="batch_size"):
        sync_runs(source, target, batch_size=0)


def test_batches_report_progress(source: Ledger, target: Ledger) -> None:
    for index in range(5):
        source.put_run(full_run(f"b{index}"))
    target.put_run(full_run("b3"))
    steps: list[SyncProgress] = []
    result = sync_runs(source, target, batch_size=2, progress=steps.append)
    assert counts(result) == (4, 0, 1, 0)
    assert steps == [SyncProgress(2, 5), SyncProgress(4, 5), SyncProgress(5, 5)]


def test_a_run_inserted_by_another_writer_meanwhile_is_looked_at_again(
    source: Ledger, target: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zuinig.ledger import sync

    source.put_run(full_run("raced"))
    source.put_run(full_run("calm"))
    target.put_run(full_run("raced"))
    real = sync._Target.stored_runs
    calls: list[int] = []

    def blind_once(self: Any, ids: Any) -> dict[str, Any]:
        calls.append(1)
        # The first look misses "raced", as if another sync inserted it just after.
        return {} if len(calls) == 1 else real(self, ids)

    monkeypatch.setattr(sync._Target, "stored_runs", blind_once)
    assert counts(sync_runs(source, target)) == (1, 0, 1, 0)
    assert len(calls) == 2
    assert target.count_runs() == 2


def _session(session_id: str, **changes: Any) -> BenchSession:
    values: dict[str, Any] = {
        "session_id": session_id,
        "workload": "groupby",
        "started_at": NOVEMBER,
        "status": "ok",
        "rows": 1000,
        "config": {"engines": ["polars:lazy"], "repeat": 3},
        "machine": {"cpus": 2},
        "method": {"meter": "codecarbon 3.3.2"},
        "results": [{"engine": "polars", "kwh": 1e-6}],
        "ended_at": NOVEMBER + timedelta(minutes=5),
        "host": "vm",
        "pid": 1,
        "pid_started_at": NOVEMBER,
    }
    values.update(changes)
    return BenchSession(**values)


def _trial(trial_id: str, session_id: str, **changes: Any) -> BenchTrial:
    values: dict[str, Any] = {
        "trial_id": trial_id,
        "session_id": session_id,
        "phase": "measured",
        "status": "ok",
        "engine": "polars",
        "run_id": f"run-{trial_id}",
        "correct": True,
        "started_at": NOVEMBER,
    }
    values.update(changes)
    return BenchTrial(**values)


def test_bench_sessions_and_their_trials_are_copied(source: Ledger, target: Ledger) -> None:
    source.finish_bench_session(_session("s1"))
    source.add_bench_trials([_trial("t1", "s1"), _trial("t2", "s1", status="oom")])
    source.put_run(full_run("run-t1", kind="bench"))

    result = sync_runs(source, target)
    assert (result.copied, result.sessions, result.trials) == (1, 1, 2)
    assert target.get_bench_session("s1") == source.get_bench_session("s1")
    assert target.list_bench_trials("s1") == source.list_bench_trials("s1")
    again = sync_runs(source, target)
    assert (again.sessions, again.trials) == (0, 0)

    source.add_bench_trials([_trial("t3", "s1")])
    assert (sync_runs(source, target).trials, len(target.list_bench_trials("s1"))) == (1, 3)
    # A job filter names runs, not sessions: sessions are left out.
    source.finish_bench_session(_session("s2"))
    assert sync_runs(source, target, run_filter=RunFilter(job="x")).sessions == 0


def test_a_running_session_does_not_overwrite_a_finished_one(
    source: Ledger, target: Ledger
) -> None:
    target.finish_bench_session(_session("s1", status="ok"))
    source.finish_bench_session(_session("s1", status="running", results=None))
    assert sync_runs(source, target).sessions == 0
    assert target.get_bench_session("s1").status == "ok"


def test_dry_run_counts_and_writes_nothing(source: Ledger, target: Ledger) -> None:
    source.put_run(full_run("a"))
    source.put_run(full_run("b"))
    target.put_run(full_run("b"))
    source.finish_bench_session(_session("s1"))
    result = sync_runs(source, target, dry_run=True)
    assert counts(result) == (1, 0, 1, 0)
    assert (result.sessions, result.dry_run) == (1, True)
    assert target.count_runs() == 1
    assert target.list_bench_sessions() == []


def test_dry_run_into_a_new_sqlite_file_does_not_create_it(
    source: Ledger, source_url: str, tmp_path: Path
) -> None:
    source.put_run(full_run("a"))
    new_file = tmp_path / "team.sqlite"
    report = sync_to(f"sqlite:///{new_file.as_posix()}", from_url=source_url, dry_run=True)
    assert counts(report.result) == (1, 0, 0, 0)
    assert not new_file.exists()
    assert format_sync(report)[0].startswith("dry run: 1 run from sqlite:///")


def test_sync_to_delivers_the_local_spool_for_the_target(
    source: Ledger, source_url: str, ledger_url: str
) -> None:
    source.put_run(full_run("measured-here"))
    spool.save(full_run("kept-in-spool"), ledger_url)
    spool.save(full_run("other-ledger"), "sqlite:////elsewhere/ledger.sqlite")

    dry = sync_to(ledger_url, from_url=source_url, dry_run=True)
    assert (dry.spooled, dry.delivered) == (1, 0)
    assert spool.has_pending(ledger_url)

    report = sync_to(ledger_url, from_url=source_url)
    assert (report.spooled, report.delivered, report.result.copied) == (1, 1, 1)
    assert not spool.has_pending(ledger_url)
    assert spool.has_pending("sqlite:////elsewhere/ledger.sqlite")
    with Ledger.open(ledger_url) as target:
        assert {run.run_id for run in target.list_runs()} == {"measured-here", "kept-in-spool"}
    lines = format_sync(report)
    assert "1 copied" in lines[0]
    assert lines[1] == "1 run kept in the local spool delivered"


def test_sync_to_its_own_ledger_only_delivers_the_spool(ledger_url: str) -> None:
    spool.save(full_run("kept"), ledger_url)
    report = sync_to(ledger_url, from_url=ledger_url)
    assert report.same_ledger and report.delivered == 1
    assert counts(report.result) == (0, 0, 0, 0)
    assert "your ledger itself" in format_sync(report)[0]


def test_same_database() -> None:
    assert same_database("sqlite:///ledger.sqlite", f"sqlite:///{Path.cwd()}/ledger.sqlite")
    assert not same_database("sqlite:////a/ledger.sqlite", "sqlite:////b/ledger.sqlite")
    assert same_database(
        "postgresql+psycopg://u:one@h/db", "postgresql+psycopg://u:two@h/db"
    )  # the password does not make another database
    assert not same_database("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/other")


def test_a_failure_keeps_earlier_batches_and_a_rerun_finishes(
    source: Ledger, target: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zuinig.ledger import runs

    for index in range(5):
        source.put_run(full_run(f"f{index}"))
    real = runs.write_runs
    writes: list[int] = []

    def fail_second(database: Any, new: Any, changed: Any) -> Any:
        writes.append(1)
        if len(writes) == 2:
            raise LedgerError("cannot copy 2 runs in the ledger: the network went away")
        return real(database, new, changed)

    monkeypatch.setattr(runs, "write_runs", fail_second)
    with pytest.raises(LedgerError, match="network went away"):
        sync_runs(source, target, batch_size=2)
    assert target.count_runs() == 2
    monkeypatch.setattr(runs, "write_runs", real)
    assert counts(sync_runs(source, target, batch_size=2)) == (3, 0, 2, 0)


def test_an_unreachable_target_is_a_ledger_error(source_url: str, tmp_path: Path) -> None:
    missing = f"sqlite:///{(tmp_path / 'no' / 'dir' / 'x.sqlite').as_posix()}"
    with pytest.raises(LedgerError, match="cannot open the ledger"):
        sync_to(missing, from_url=source_url)


# -- the command ----------------------------------------------------------------------------


def invoke(*args: str, ledger: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), obj=AppState(ledger=ledger))


def test_cli_sync_prints_what_it_did(source: Ledger, source_url: str, ledger_url: str) -> None:
    source.put_run(full_run("one", job="nachtrun"))
    source.put_run(full_run("two", job="dagrun"))

    dry = invoke("ledger", "sync", "--to", ledger_url, "--dry-run", ledger=source_url)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith("dry run: 2 runs from sqlite:///")
    assert "2 would be copied" in dry.stdout

    only = invoke("ledger", "sync", "--to", ledger_url, "--job", "nachtrun", ledger=source_url)
    assert only.exit_code == 0, only.output
    assert "1 copied, 0 updated, 0 already there" in only.stdout
    assert len(only.stdout.splitlines()) == 1

    rest = invoke("ledger", "sync", "--from", source_url, "--to", ledger_url, "--month", "2026-11")
    assert rest.exit_code == 0, rest.output
    assert "1 copied, 0 updated, 1 already there" in rest.stdout


def test_cli_sync_errors_are_one_line(source_url: str, tmp_path: Path) -> None:
    bad_month = invoke("ledger", "sync", "--to", source_url, "--month", "nov", ledger=source_url)
    assert bad_month.exit_code == 2
    assert len(bad_month.stderr.splitlines()) == 1
    unreachable = invoke(
        "ledger",
        "sync",
        "--to",
        f"sqlite:///{(tmp_path / 'no' / 'dir' / 'x.sqlite').as_posix()}",
        ledger=source_url,
    )
    assert unreachable.exit_code == 1
    assert unreachable.stderr.startswith("zuinig: cannot open the ledger")
    assert len(unreachable.stderr.splitlines()) == 1
    missing = invoke("ledger", "sync")
    assert missing.exit_code == 2 and "--to" in missing.stderr


def test_cli_sync_to_an_unreachable_server_never_shows_the_password(source_url: str) -> None:
    pytest.importorskip("psycopg")
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://analist:Geheim-7c1f@127.0.0.1:{port}/zuinig?connect_timeout=2"
    for args in (("--dry-run",), ()):
        result = invoke("ledger", "sync", "--to", url, *args, ledger=source_url)
        assert result.exit_code == 1
        assert "Geheim-7c1f" not in result.output
        assert "analist:***@127.0.0.1" in result.stderr
