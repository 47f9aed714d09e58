"""Unstorable text (lone surrogates, NUL) is escaped visibly; a spooled file the ledger
refuses is quarantined and never holds up the other runs (issue 10, item 1)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ledger_helpers import child_env, full_run

from zuinig.ledger import Ledger, Run, spool
from zuinig.ledger.model import BenchSession
from zuinig.ledger.storable import UnstorableRunError, storable, storable_text
from zuinig.ledger.sync import sync_to
from zuinig.ledger_text import format_sync
from zuinig.meter.base import InputFile

# What Linux hands Python for the file name b"no-such-\xff" (os.fsdecode).
SURROGATE_NAME = os.fsdecode(b"no-such-\xff")
POISON = f"{SURROGATE_NAME} \x00 \ud800"
ESCAPED = "no-such-\\xff \\x00 \\ud800"


def test_storable_text_escapes_visibly_and_keeps_clean_text_as_it_is() -> None:
    assert SURROGATE_NAME == "no-such-\udcff"
    assert storable_text(POISON) == ESCAPED
    clean = "woningbouwmonitor ünïcode ✓ \\x41"
    assert storable_text(clean) is clean
    assert storable_text(POISON).encode("utf-8")  # encodable, so SQLite takes it


def test_storable_reaches_into_structures_and_keeps_them_when_clean() -> None:
    clean = {"a": ["b", ("c", 1)], "n": None}
    assert storable(clean) is clean
    dirty = {POISON: [POISON, (POISON, 1)], "n": None}
    assert storable(dirty) == {ESCAPED: [ESCAPED, (ESCAPED, 1)], "n": None}
    item = InputFile(path=f"/data/{SURROGATE_NAME}", size_bytes=1, format="csv")
    assert storable(item) == InputFile(path="/data/no-such-\\xff", size_bytes=1, format="csv")


def poisoned_run(run_id: str, **changes: object) -> Run:
    return full_run(
        run_id,
        job=f"job {POISON}",
        tags={f"key {POISON}": f"value {POISON}"},
        command=f"ls {POISON}",
        error_message=f"[Errno 2] {POISON}",
        measurement_error=f"meter {POISON}",
        inputs=(InputFile(path=f"/data/{POISON}", size_bytes=1, format="csv"),),
        engines={f"engine {POISON}": f"1.0 {POISON}"},
        **changes,
    )


@pytest.mark.parametrize("how", ["start_and_finish", "finish_only", "put", "spool"])
def test_every_text_of_a_run_is_stored_escaped(ledger: Ledger, tmp_path: Path, how: str) -> None:
    run = poisoned_run(f"poison-{how}")
    if how == "start_and_finish":
        ledger.start_run(dataclasses.replace(run, status="running"))
        ledger.finish_run(run)
    elif how == "finish_only":
        ledger.finish_run(run)
    elif how == "put":
        assert ledger.put_run(run)
    else:
        spool.save(run, ledger.url, root=tmp_path)
        result = ledger.drain_spool(root=tmp_path)
        assert (result.delivered, result.bad) == (1, [])
    stored = ledger.get_run(run.run_id)
    assert stored.job == f"job {ESCAPED}"
    assert stored.tags == {f"key {ESCAPED}": f"value {ESCAPED}"}
    assert stored.command == f"ls {ESCAPED}"
    assert stored.error_message == f"[Errno 2] {ESCAPED}"
    assert stored.measurement_error == f"meter {ESCAPED}"
    assert stored.inputs == (InputFile(path=f"/data/{ESCAPED}", size_bytes=1, format="csv"),)
    assert stored.engines == {f"engine {ESCAPED}": f"1.0 {ESCAPED}"}
    assert [item.job for item in ledger.list_runs()] == [f"job {ESCAPED}"]


def test_a_bench_session_with_unstorable_text_is_stored(ledger: Ledger) -> None:
    from datetime import UTC, datetime

    session = BenchSession(
        session_id="s-poison",
        status="running",
        started_at=datetime(2026, 11, 3, tzinfo=UTC),
        workload=f"own file {POISON}",
        config={"path": f"/data/{POISON}"},
        machine={},
        method={},
    )
    ledger.start_bench_session(session)
    stored = ledger.get_bench_session("s-poison")
    assert stored.workload == f"own file {ESCAPED}"
    assert stored.config == {"path": f"/data/{ESCAPED}"}


def old_spool_file(directory: Path, run_id: str, run: dict[str, object]) -> Path:
    """A spool file as zuinig wrote it before text was made storable: raw content."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{run_id}.1000.1.json"
    document = {"format": "zuinig-spool", "version": 1, "ledger": "x", "saved_at_ns": 1000}
    document["run"] = run
    path.write_text(json.dumps(document), encoding="utf-8")  # \udcff, \u0000 as JSON escapes
    return path


def test_a_poisoned_spool_file_of_an_older_version_no_longer_blocks_the_drain(
    ledger: Ledger, tmp_path: Path
) -> None:
    directory = spool.spool_dir(ledger.url, tmp_path)
    poisoned = poisoned_run("old-poison").to_dict()
    old_spool_file(directory, "old-poison", poisoned)
    spool.save(full_run("after-it"), ledger.url, root=tmp_path)
    result = ledger.drain_spool(root=tmp_path)
    # Its text is escaped on the way in, so it is delivered, not lost.
    assert (result.delivered, result.bad) == (2, [])
    assert ledger.get_run("old-poison").command == f"ls {ESCAPED}"
    assert ledger.get_run("after-it").status == "ok"


def test_a_file_the_ledger_refuses_is_quarantined_and_the_rest_delivered(
    ledger: Ledger, tmp_path: Path
) -> None:
    directory = spool.spool_dir(ledger.url, tmp_path)
    # An integer no database column holds: the ledger is fine, this one record is not.
    refused = old_spool_file(
        directory, "too-big", full_run("too-big", peak_rss_bytes=2**70).to_dict()
    )
    with pytest.raises(UnstorableRunError):
        ledger.put_run(full_run("too-big", peak_rss_bytes=2**70))
    spool.save(full_run("later"), ledger.url, root=tmp_path)
    result = ledger.drain_spool(root=tmp_path)
    assert result.delivered == 1
    moved = directory / "quarantine" / refused.name
    assert [path for path, _ in result.bad] == [moved]
    assert moved.exists() and not refused.exists()
    reason = moved.with_name(moved.name + ".reason").read_text(encoding="utf-8")
    assert reason.startswith("the ledger refuses it: cannot record run too-big")
    assert ledger.get_run("later").status == "ok"
    assert not spool.has_pending(ledger.url, root=tmp_path)
    # The next drain does not try it again.
    assert ledger.drain_spool(root=tmp_path).bad == []
    assert [item.path for item in spool.quarantined(root=tmp_path)] == [moved]


def test_sync_and_doctor_report_quarantined_files(ledger_url: str) -> None:
    # The default spool root (a private user data dir for the test session).
    with Ledger.open(ledger_url):
        pass
    directory = spool.spool_dir(ledger_url)
    old_spool_file(directory, "too-big", full_run("too-big", peak_rss_bytes=2**70).to_dict())
    spool.save(full_run("fine"), ledger_url)
    report = sync_to(ledger_url, from_url=ledger_url)
    lines = format_sync(report)
    assert lines[0].endswith("only the spool to deliver")
    assert lines[1] == (
        "1 run kept in the local spool delivered; 1 spool file could not be delivered "
        "and went to quarantine"
    )  # and not "1 still waiting": it is in quarantine
    assert lines[2].startswith(
        f"1 spooled run file could not be delivered and is set aside in {directory / 'quarantine'}"
        " (why: the ledger refuses it: cannot record run too-big"
    )
    assert "move it back one folder up to deliver it, or delete it" in lines[2]

    from zuinig.config import load_settings
    from zuinig.doctor import diagnose
    from zuinig.meter.null import NullMeter

    diagnosis = diagnose(load_settings(), ledger_url=ledger_url, meter=NullMeter())
    assert [item["path"] for item in diagnosis.to_dict()["ledger"]["quarantined"]] == [
        str(directory / "quarantine" / "too-big.1000.1.json")
    ]
    assert any(line.startswith("1 spooled run file could not") for line in diagnosis.warnings)
    spool.quarantined(ledger_url)[0].path.unlink()  # the user deletes it
    diagnosis = diagnose(load_settings(), ledger_url=ledger_url, meter=NullMeter())
    assert not any("spooled run file" in line for line in diagnosis.warnings)


def test_a_command_on_an_undecodable_file_name_and_a_decorated_call_both_list(
    tmp_path: Path,
) -> None:
    """The issue's reproduction: ``zuinig run -- ls $'no-such-\\xff'``, then a decorated call."""
    ledger_file = tmp_path / "ledger.sqlite"
    env = child_env()
    env["ZUINIG_LEDGER"] = f"sqlite:///{ledger_file}"
    zuinig = [sys.executable, "-m", "zuinig"]
    command = subprocess.run(
        [*zuinig, "run", "--", "ls", os.fsencode(f"{tmp_path}/no-such-") + b"\xff"],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert command.returncode == 2, command.stderr  # ls: no such file; its code passes through
    decorated = subprocess.run(
        [
            sys.executable,
            "-c",
            "import zuinig\n"
            "@zuinig.measure(job='after-the-bad-name')\n"
            "def job(): return 1\n"
            "assert job() == 1\n",
        ],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert decorated.returncode == 0, decorated.stderr
    listed = subprocess.run(
        [*zuinig, "runs", "list", "--json"], env=env, capture_output=True, timeout=120
    )
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert sorted(run["job"] for run in runs) == ["after-the-bad-name", "ls"]
    [ls_run] = [run for run in runs if run["job"] == "ls"]
    assert ls_run["command"].endswith("no-such-\\xff'")  # shell-quoted, escaped
    assert listed.stderr == b""


def test_a_run_with_unstorable_text_is_copied_once_then_unchanged(ledger: Ledger) -> None:
    """The batch writer under sync and the importers compares what the target will hold."""
    from zuinig.ledger.sync import put_batch

    first = put_batch(ledger, [poisoned_run("batched-poison")])
    again = put_batch(ledger, [poisoned_run("batched-poison")])
    assert (first.copied, first.unchanged) == (1, 0)
    assert (again.copied, again.updated, again.unchanged) == (0, 0, 1)
    assert ledger.get_run("batched-poison").job == f"job {ESCAPED}"
