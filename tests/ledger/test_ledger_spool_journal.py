"""The spool journal: one file per process, one synced line per state, delivered by any drain."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ledger_helpers import full_run

from zuinig.ledger import Ledger, Run, RunFilter, spool


def journals(url: str, root: Path | None = None) -> list[Path]:
    return sorted(spool.spool_dir(url, root).glob("journal.*.jsonl"))


def test_each_state_is_one_line_and_the_last_state_of_a_run_wins(
    ledger: Ledger, tmp_path: Path
) -> None:
    journal = spool.Journal.create(ledger.url, root=tmp_path)
    started = full_run("j1", status="running")
    journal.append(started)
    journal.append(dataclasses.replace(started, status="ok"))
    journal.append(full_run("j2", status="error"))
    assert journal.records == 3
    written = journal.path.read_bytes().split(b"\0", 1)[0]  # zeros are written ahead
    assert len(written.splitlines()) == 3
    assert journal.path.name.endswith(f".{os.getpid()}.jsonl")
    assert [(run.run_id, run.status) for run in spool.pending(ledger.url, root=tmp_path)] == [
        ("j1", "ok"),
        ("j2", "error"),
    ]
    assert spool.pending_count(ledger.url, root=tmp_path) == 2
    journal.close()
    result = ledger.drain_spool(root=tmp_path)
    assert (result.delivered, result.bad) == (2, [])
    assert ledger.get_run("j1").status == "ok"
    assert not journal.path.exists()  # its writer closed it: delivered, removed
    assert not spool.has_pending(ledger.url, root=tmp_path)


def test_text_no_ledger_can_store_goes_through_the_journal_and_is_delivered_escaped(
    ledger: Ledger, tmp_path: Path
) -> None:
    journal = spool.Journal.create(ledger.url, root=tmp_path)
    poisoned = dataclasses.replace(full_run("poison"), job="ls no-such-\udcff", command="a\x00b")
    journal.append(poisoned)
    assert [run.job for run in spool.pending(ledger.url, root=tmp_path)] == ["ls no-such-\udcff"]
    journal.close()
    result = ledger.drain_spool(root=tmp_path)
    assert (result.delivered, result.bad) == (1, [])
    stored = ledger.get_run("poison")
    assert "\\x" in stored.job and "\udcff" not in stored.job  # escaped visibly, not dropped
    assert "\x00" not in (stored.command or "")


def test_a_live_writer_s_journal_is_delivered_but_kept_until_closed(
    ledger: Ledger, tmp_path: Path
) -> None:
    journal = spool.Journal.create(ledger.url, root=tmp_path)
    journal.append(full_run("live", status="running"))
    assert ledger.drain_spool(root=tmp_path).delivered == 1
    assert ledger.get_run("live").status == "running"
    assert journal.path.exists()  # the writer may append more: not removed under it
    journal.append(full_run("live", status="ok"))
    journal.close()
    ledger.drain_spool(root=tmp_path)
    assert ledger.get_run("live").status == "ok"
    assert not journal.path.exists()


def line_of(run: Run, url: str) -> bytes:
    """A journal line as the writer makes it: a spool document on one line."""
    document = {
        "format": spool.SPOOL_FORMAT,
        "version": spool.SPOOL_VERSION,
        "ledger": url,
        "saved_at_ns": time.time_ns(),
        "run": run.to_dict(),
    }
    return json.dumps(document).encode("utf-8") + b"\n"


def dead_writer_journal(url: str, root: Path, content: bytes) -> Path:
    """A journal whose writer is gone (nobody holds its lock), with zeros written ahead."""
    directory = spool.spool_dir(url, root)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"journal.{time.time_ns()}.999999.jsonl"
    path.write_bytes(content + bytes(4096))
    return path


def test_a_bad_line_is_quarantined_once_and_the_other_lines_are_delivered(
    ledger: Ledger, tmp_path: Path
) -> None:
    content = (
        line_of(full_run("before"), ledger.url)
        + b'{"not": "a run"}\n'
        + line_of(full_run("after"), ledger.url)
    )
    path = dead_writer_journal(ledger.url, tmp_path, content)
    result = ledger.drain_spool(root=tmp_path)
    assert result.delivered == 2
    [(moved, why)] = result.bad
    assert "line2" in moved.name and moved.parent.name == spool.QUARANTINE_DIR
    assert moved.read_text(encoding="utf-8") == '{"not": "a run"}\n'
    assert why.startswith("ValueError: not a zuinig spool file")
    assert [item.path for item in spool.quarantined(ledger.url, root=tmp_path)] == [moved]
    assert not path.exists()
    assert ledger.get_run("after").status == "ok"
    assert ledger.drain_spool(root=tmp_path).bad == []  # set aside once, not again


def test_a_torn_last_line_of_a_dead_writer_is_set_aside(ledger: Ledger, tmp_path: Path) -> None:
    # The writer died inside its write: half a line, then the zeros written ahead.
    content = line_of(full_run("whole"), ledger.url) + b'{"format": "zuinig-spo'
    path = dead_writer_journal(ledger.url, tmp_path, content)
    result = ledger.drain_spool(root=tmp_path)
    assert result.delivered == 1
    [(_, why)] = result.bad
    assert "incomplete last line" in why
    assert not path.exists()


def test_old_per_run_files_and_journals_drain_together(ledger: Ledger, tmp_path: Path) -> None:
    spool.save(full_run("old-file"), ledger.url, root=tmp_path)
    journal = spool.Journal.create(ledger.url, root=tmp_path)
    journal.append(full_run("new-line"))
    journal.close()
    assert spool.pending_count(ledger.url, root=tmp_path) == 2
    assert ledger.drain_spool(root=tmp_path).delivered == 2
    assert {run.run_id for run in ledger.list_runs(RunFilter())} >= {"old-file", "new-line"}
    assert not spool.has_pending(ledger.url, root=tmp_path)


_CALLS = textwrap.dedent(
    """
    import sys, time
    from zuinig.ledger.writer import RunWriter
    from zuinig.measure import Recorder, measure
    from zuinig.meter.null import NullMeter

    RunWriter._start_opener = lambda self, *, force=False: None  # stay on the journal
    recorder = Recorder(ledger_url=sys.argv[1], meter=NullMeter())

    @measure(job=sys.argv[2], recorder=recorder)
    def job(seconds):
        time.sleep(seconds)

    for _ in range(int(sys.argv[3])):
        job(0)
    if len(sys.argv) > 4:
        print("calls done", flush=True)
        job(60)
    """
)


def test_sigkill_mid_run_leaves_one_journal_whose_run_is_delivered_interrupted(
    sqlite_url: str,
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _CALLS, sqlite_url, "killed", "3", "then-hang"],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "calls done"
        # "calls done" is printed before the last run begins: wait for its start line.
        deadline = time.monotonic() + 30
        while spool.pending_count(sqlite_url) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    [journal] = journals(sqlite_url)
    assert not list(spool.spool_dir(sqlite_url).glob("*.json"))  # no file per state
    assert [run.status for run in spool.pending(sqlite_url)] == ["ok", "ok", "ok", "running"]
    with Ledger.open(sqlite_url) as ledger:
        runs = ledger.list_runs(RunFilter(job="killed"))
    assert sorted(run.status for run in runs) == ["interrupted", "ok", "ok", "ok"]
    assert not journal.exists()  # its writer is gone and its runs are delivered


def test_two_processes_at_once_each_write_their_own_journal(sqlite_url: str) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CALLS, sqlite_url, f"proc{index}", "40"],
            env=dict(os.environ),
        )
        for index in range(2)
    ]
    for child in children:
        assert child.wait(timeout=120) == 0
    assert len(journals(sqlite_url)) == 2
    assert spool.pending_count(sqlite_url) == 80
    with Ledger.open(sqlite_url) as ledger:
        for index in range(2):
            runs = ledger.list_runs(RunFilter(job=f"proc{index}"))
            assert [run.status for run in runs] == ["ok"] * 40
    assert journals(sqlite_url) == []


def test_a_forked_child_writes_its_own_journal_and_the_parent_s_stays_locked(
    sqlite_url: str,
) -> None:
    from zuinig.config import Settings
    from zuinig.measure import Recorder, measure
    from zuinig.meter.null import NullMeter

    recorder = Recorder(Settings(), ledger_url=sqlite_url, meter=NullMeter())
    recorder.sink._start_opener = lambda *, force=False: None  # type: ignore[method-assign]
    measure(job="parent", recorder=recorder)(lambda: None)()
    [parent_journal] = journals(sqlite_url)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            measure(job="child", recorder=recorder)(lambda: None)()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    found = journals(sqlite_url)
    assert len(found) == 2
    [child_journal] = [path for path in found if path != parent_journal]
    assert child_journal.name.endswith(f".{pid}.jsonl")
    with Ledger.open(sqlite_url) as ledger:  # delivers both
        assert [run.pid for run in ledger.list_runs(RunFilter(job="child"))] == [pid]
        assert ledger.list_runs(RunFilter(job="parent"))[0].status == "ok"
    assert not child_journal.exists()  # the child is gone
    assert parent_journal.exists()  # the parent lives and still holds it
    measure(job="parent", recorder=recorder)(lambda: None)()  # still appends to its own
    assert journals(sqlite_url) == [parent_journal]
    recorder.sink._journal.close()  # as at the end of the process
