"""The spool: runs that could not be written are kept as JSON and delivered exactly once."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ledger_helpers import full_run

from zuinig.errors import LedgerError
from zuinig.ledger import Ledger, Run, spool
from zuinig.ledger.model import RUN_FIELDS


def test_run_json_round_trip_keeps_every_field() -> None:
    run = full_run("json-1", status="error")
    again = Run.from_dict(json.loads(json.dumps(run.to_dict())))
    assert again == run
    for name in RUN_FIELDS:
        assert getattr(again, name) == getattr(run, name), name
    assert again.started_at.tzinfo is not None


def test_from_dict_refuses_unknown_fields_and_accepts_naive_times() -> None:
    data = full_run("j").to_dict()
    with pytest.raises(ValueError, match="surprise"):
        Run.from_dict({**data, "surprise": 1})
    with pytest.raises(ValueError, match="incomplete"):
        Run.from_dict({"run_id": "x"})
    naive = Run.from_dict({**data, "started_at": "2026-11-03T09:30:15"})
    assert naive.started_at == datetime(2026, 11, 3, 9, 30, 15, tzinfo=UTC)


def test_save_writes_one_json_file_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://analist:geheim@db.example/zuinig"
    path = spool.save(full_run("s1"), url, root=tmp_path)
    assert path.parent == spool.spool_dir(url, tmp_path)
    assert path.name.startswith("s1.") and path.suffix == ".json"
    text = path.read_text(encoding="utf-8")
    assert "geheim" not in text
    document = json.loads(text)
    assert document["ledger"] == "postgresql+psycopg://analist:***@db.example/zuinig"
    assert spool.load(path) == full_run("s1")
    assert [item.name for item in path.parent.iterdir()] == [path.name]  # no temp files left
    # the same database with another password shares the spool
    assert spool.spool_dir(url.replace("geheim", "nieuw"), tmp_path) == path.parent


def test_save_failure_is_a_ledger_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(LedgerError, match="cannot keep run s1"):
        spool.save(full_run("s1"), "sqlite:////x.sqlite", root=blocker)


def test_drain_delivers_once_and_is_idempotent(ledger_url: str, tmp_path: Path) -> None:
    root = tmp_path / "spool"
    started = full_run("d1", status="running")
    finished = dataclasses.replace(started, status="ok")
    spool.save(started, ledger_url, root=root)
    spool.save(finished, ledger_url, root=root)
    spool.save(full_run("d2", status="error"), ledger_url, root=root)
    assert spool.has_pending(ledger_url, root=root)
    assert [run.status for run in spool.pending(ledger_url, root=root)] == [
        "running",
        "ok",
        "error",
    ]
    with Ledger.open(ledger_url) as ledger:
        result = ledger.drain_spool(root=root)
        assert (result.delivered, result.superseded, result.bad) == (3, 0, [])
        assert not spool.has_pending(ledger_url, root=root)
        assert ledger.get_run("d1") == finished
        assert ledger.get_run("d2").status == "error"
        # Saved again (say a retry after a timeout that did commit): same rows, no duplicates.
        spool.save(finished, ledger_url, root=root)
        again = ledger.drain_spool(root=root)
        assert again.delivered == 1
        assert ledger.count_runs() == 2
        assert ledger.get_run("d1") == finished


def test_a_spooled_start_never_undoes_a_recorded_end(ledger: Ledger, tmp_path: Path) -> None:
    run = full_run("late-start", status="running")
    spool.save(run, ledger.url, root=tmp_path)  # the start could not be written...
    ledger.finish_run(dataclasses.replace(run, status="ok"))  # ...the end could
    result = ledger.drain_spool(root=tmp_path)
    assert (result.delivered, result.superseded) == (0, 1)
    assert ledger.get_run("late-start").status == "ok"
    assert not spool.pending_files(ledger.url, root=tmp_path)


def test_unreadable_files_are_set_aside(ledger: Ledger, tmp_path: Path) -> None:
    good = spool.save(full_run("good"), ledger.url, root=tmp_path)
    bad = good.with_name("broken.1.1.json")
    bad.write_text("{ not json", encoding="utf-8")
    result = ledger.drain_spool(root=tmp_path)
    assert result.delivered == 1
    assert [path for path, _ in result.bad] == [bad]
    assert bad.with_name(bad.name + ".bad").exists()
    assert not spool.has_pending(ledger.url, root=tmp_path)


def test_open_delivers_spooled_runs(ledger_url: str) -> None:
    # The default root: the user data dir, private to the test session (tests/conftest.py).
    spool.save(full_run("on-open"), ledger_url)
    with Ledger.open(ledger_url) as ledger:
        assert ledger.get_run("on-open").status == "ok"
    assert not spool.has_pending(ledger_url)


def test_open_keeps_the_spool_when_delivery_fails(
    ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool.save(full_run("kept"), ledger_url)

    def refuse(self: Ledger, run: Run) -> bool:
        raise LedgerError("disk full")

    monkeypatch.setattr(Ledger, "put_run", refuse)
    with Ledger.open(ledger_url):
        pass
    assert spool.has_pending(ledger_url)
    monkeypatch.undo()
    with Ledger.open(ledger_url) as ledger:
        assert ledger.get_run("kept").run_id == "kept"
