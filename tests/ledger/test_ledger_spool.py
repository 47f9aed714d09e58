"""The spool: runs that could not be written are kept as JSON and delivered exactly once."""

from __future__ import annotations

import dataclasses
import json
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import child_env, full_run

from zuinig.errors import LedgerError
from zuinig.ledger import Ledger, Run, display_url, spool
from zuinig.ledger.model import RUN_FIELDS
from zuinig.ledger.urls import mask_password


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


def test_a_spool_file_from_before_the_attribution_fields_still_loads(tmp_path: Path) -> None:
    """A run spooled by zuinig before schema 0003 has none of its fields; it loads
    with them unknown (``None``), not refused and not filled in."""
    added = (
        "energy_kwh_low",
        "energy_kwh_high",
        "co2_kg_low",
        "co2_kg_high",
        "cpu_share",
        "ram_gb_s",
        "method_gpu",
        "method_attribution",
        "method_cpu_coefficients",
    )
    url = "sqlite:///old.sqlite"
    path = spool.save(full_run("before-0003"), url, root=tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    for name in added:
        del document["run"][name]
    path.write_text(json.dumps(document), encoding="utf-8")
    loaded = spool.load(path)
    assert loaded == dataclasses.replace(full_run("before-0003"), **dict.fromkeys(added))


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


def test_a_spooled_file_is_for_its_owner_only(tmp_path: Path) -> None:
    path = spool.save(full_run("private"), "sqlite:///x.db", root=tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


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
    moved = bad.parent / "quarantine" / bad.name
    assert [path for path, _ in result.bad] == [moved]
    assert moved.read_text(encoding="utf-8") == "{ not json"  # kept as it was, for a person
    reason = moved.with_name(moved.name + ".reason").read_text(encoding="utf-8")
    assert reason.startswith("it cannot be read as a run: JSONDecodeError")
    assert not spool.has_pending(ledger.url, root=tmp_path)
    assert spool.quarantined(ledger.url, root=tmp_path) == [
        spool.QuarantinedFile(moved, reason.strip())
    ]


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


# -- the spool key: one light function, the same in every path ---------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql+psycopg://analist:geheim@db.example:5432/zuinig",
            "postgresql+psycopg://analist:***@db.example:5432/zuinig",
        ),
        (
            "postgresql+psycopg://analist@db.example/zuinig?password=geheim&sslmode=require",
            "postgresql+psycopg://analist@db.example/zuinig?password=***&sslmode=require",
        ),
        (
            "postgresql://analist@db.example/zuinig?sslmode=require&PWD=geheim&sslpassword=geheim",
            "postgresql://analist@db.example/zuinig?sslmode=require&PWD=***&sslpassword=***",
        ),
        # SQLAlchemy's grammar: '/', ':' and '?' may be part of the password...
        (
            "postgresql://analist:ge/he:im?@db.example/zuinig",
            "postgresql://analist:***@db.example/zuinig",
        ),
        # ...and an unescaped '@' is masked up to the last one (SQLAlchemy would stop
        # at the first and take "geheim@db.example" for the host).
        (
            "postgresql://analist:ge@heim@db.example/zuinig?pwd=geheim",
            "postgresql://analist:***@db.example/zuinig?pwd=***",
        ),
        ("postgresql://analist@db.example/zuinig", "postgresql://analist@db.example/zuinig"),
        ("postgresql://db.example/zuinig?x=a@b", "postgresql://db.example/zuinig?x=a@b"),
        ("sqlite:////tmp/ledger.sqlite", "sqlite:////tmp/ledger.sqlite"),
        ("sqlite:///rel/ledger.sqlite?timeout=30", "sqlite:///rel/ledger.sqlite?timeout=30"),
        ("sqlite:////data/a@b:c/ledger.sqlite", "sqlite:////data/a@b:c/ledger.sqlite"),
        ("not a url, user:geheim@host", "not a url, user:geheim@host"),
        ("weird://us:geheim@host/x?pwd=geheim", "weird://us:***@host/x?pwd=***"),
        ("://us:ge@heim@host", "://us:***@host"),
    ],
)
def test_mask_password_needs_no_sqlalchemy(url: str, masked: str) -> None:
    assert mask_password(url) == masked
    if url.startswith(("postgresql", "weird", "://")):
        assert "heim" not in mask_password(url)
        # Never less than display_url (with SQLAlchemy) hides.
        shown = display_url(url)
        assert ("***" in shown) == ("***" in masked)


@settings(max_examples=60, deadline=None)
@given(password=st.text(alphabet=st.characters(blacklist_characters="@\n"), max_size=20))
def test_urls_that_differ_only_in_the_password_share_a_spool(password: str) -> None:
    url = f"postgresql+psycopg://analist:{password}@db.example/zuinig?sslmode=require"
    assert (
        mask_password(url) == "postgresql+psycopg://analist:***@db.example/zuinig?sslmode=require"
    )
    assert spool.spool_dir(url, Path("/r")) == spool.spool_dir(
        "postgresql+psycopg://analist:x@db.example/zuinig?sslmode=require", Path("/r")
    )


@pytest.mark.parametrize(
    "suffix",
    ["", "?timeout=30", "?timeout=30&check_same_thread=false"],
)
def test_the_drain_finds_what_a_save_wrote(tmp_path: Path, suffix: str) -> None:
    # A SQLite URL as a user writes it (query string included): saved without
    # SQLAlchemy, delivered by Ledger.open, which computes the key with SQLAlchemy loaded.
    url = f"sqlite:///{(tmp_path / 'ledger.sqlite').as_posix()}{suffix}"
    path = spool.save(full_run(f"key{len(suffix)}"), url)
    assert path.parent == spool.spool_dir(url)
    assert spool.pending_files(url) == [path]
    with Ledger.open(url) as ledger:
        assert ledger.get_run(f"key{len(suffix)}").status == "ok"
    assert not spool.has_pending(url)


def test_saving_to_the_spool_does_not_import_sqlalchemy(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from zuinig.ledger import spool, default_ledger_url\n"
        "from zuinig.ledger.model import Run\n"
        "from datetime import UTC, datetime\n"
        "run = Run(run_id='light', job='j', status='running', started_at=datetime.now(UTC))\n"
        "spool.save(run, default_ledger_url())\n"
        "spool.has_pending(default_ledger_url())\n"
        "assert 'sqlalchemy' not in sys.modules, 'the spool imported SQLAlchemy'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=child_env(), timeout=60)


# -- several drainers at once ---------------------------------------------------------------

_DRAINER = """
import sys, time
from pathlib import Path
from zuinig.ledger import Ledger, spool

url, root, index = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
ledger = Ledger.open(url)
(root.parent / f"ready-{index}").touch()
while not (root.parent / "go").exists():
    time.sleep(0.005)
delivered = superseded = 0
while spool.has_pending(url, root=root):
    result = ledger.drain_spool(root=root)
    delivered, superseded = delivered + result.delivered, superseded + result.superseded
    assert not result.bad, result.bad
ledger.close()
print(delivered, superseded)
"""


def test_concurrent_drains_deliver_every_run_once_and_keep_its_end(
    ledger_url: str, tmp_path: Path
) -> None:
    """Three processes and a thread drain one spool at once (the opener thread of a
    measuring process and ``zuinig runs list`` elsewhere, say): no error, no duplicate
    row, and no start state undoes an end."""
    root = tmp_path / "spool"
    with Ledger.open(ledger_url) as ledger:
        # Ends already written directly, with a stale start still in the spool.
        for index in range(0, 200, 10):
            ledger.finish_run(full_run(f"c{index}", status="ok"))
    expected: dict[str, str] = {}
    for index in range(200):
        run_id = f"c{index}"
        started = full_run(run_id, status="running")
        spool.save(started, ledger_url, root=root)
        if index % 10 == 0:
            expected[run_id] = "ok"
        elif index % 4 == 0:
            expected[run_id] = "running"  # only the start was saved (the job still runs)
        else:
            status = "error" if index % 3 == 0 else "ok"
            spool.save(dataclasses.replace(started, status=status), ledger_url, root=root)
            expected[run_id] = status
    drainers = [
        subprocess.Popen(
            [sys.executable, "-c", _DRAINER, ledger_url, str(root), str(index)],
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(3)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < len(drainers) and time.monotonic() < deadline:
        assert all(drainer.poll() is None for drainer in drainers)
        time.sleep(0.01)
    (tmp_path / "go").touch()
    with Ledger.open(ledger_url) as ledger:
        while spool.has_pending(ledger_url, root=root):
            assert not ledger.drain_spool(root=root).bad
        outputs = [drainer.communicate(timeout=120) for drainer in drainers]
        assert [drainer.returncode for drainer in drainers] == [0, 0, 0], outputs
        assert all(not err.strip() for _, err in outputs), outputs
        assert not spool.pending_files(ledger_url, root=root)
        assert not list(spool.spool_dir(ledger_url, root).glob("*.bad"))
        assert ledger.count_runs() == 200
        stored = {run.run_id: run.status for run in ledger.list_runs()}
        assert stored == expected
