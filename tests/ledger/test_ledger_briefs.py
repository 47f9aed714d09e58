"""Ledger.list_run_briefs: the fields advice reads, equal to list_runs' runs, oldest first."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from ledger_helpers import full_run

from zuinig.ledger import Ledger, Run, RunFilter
from zuinig.ledger.liveness import process_started_at
from zuinig.ledger.model import RunBrief
from zuinig.meter.base import InputFile

T = datetime(2026, 11, 3, 9, 30, 15, 123456, tzinfo=UTC)
FILE = InputFile(path="/data/a.parquet", size_bytes=1000, format="parquet")


def _fill(ledger: Ledger) -> None:
    runs = [
        full_run("r-1", started_at=T, inputs=(FILE,)),
        full_run("r-3", started_at=T, inputs=(FILE,)),  # a tie with r-1
        full_run("r-2", started_at=T - timedelta(days=3), kind="function", parent_run_id=None),
        full_run("r-4", started_at=T + timedelta(hours=1), kind="convert", engines={}, inputs=()),
        full_run("r-5", started_at=T + timedelta(days=1), status="error", energy_kwh=None),
        full_run("r-6", started_at=T + timedelta(days=2), pid=None, pid_started_at=None),
    ]
    for run in runs:
        ledger.finish_run(run)


def _oldest_first(ledger: Ledger, run_filter: RunFilter | None = None) -> list[Run]:
    """list_runs' order, stably sorted by start: how advice has always ordered runs."""
    return sorted(ledger.list_runs(run_filter), key=lambda run: run.started_at)


def test_briefs_hold_the_runs_fields_oldest_first(ledger: Ledger) -> None:
    _fill(ledger)
    runs = _oldest_first(ledger)
    briefs = ledger.list_run_briefs()
    assert [b.run_id for b in briefs] == [r.run_id for r in runs]
    assert [b.run_id for b in briefs][:3] == ["r-2", "r-3", "r-1"]  # the tie: larger id first
    for brief, run in zip(briefs, runs, strict=True):
        assert brief == RunBrief(*(getattr(run, name) for name in RunBrief._fields))
        assert brief.started_at.tzinfo is not None and brief.started_at.utcoffset() == timedelta(0)


def test_runs_that_read_the_same_files_share_one_inputs_tuple(ledger: Ledger) -> None:
    _fill(ledger)
    by_id = {b.run_id: b for b in ledger.list_run_briefs()}
    assert by_id["r-1"].inputs == (FILE,)
    assert by_id["r-1"].inputs is by_id["r-3"].inputs


def test_filters_apply_as_in_list_runs(ledger: Ledger) -> None:
    _fill(ledger)
    criteria: list[RunFilter] = [
        RunFilter(kind="convert"),
        RunFilter(kind=("function", "convert")),
        RunFilter(status="ok", top_level_only=True),
        RunFilter(since=T, until=T + timedelta(days=1, seconds=1)),
        RunFilter(tags={"team": "ruimte"}, job="woningbouwmonitor"),
        RunFilter(limit=2),
    ]
    for run_filter in criteria:
        expected = [r.run_id for r in _oldest_first(ledger, run_filter)]
        assert [b.run_id for b in ledger.list_run_briefs(run_filter)] == expected, run_filter
    assert [b.run_id for b in ledger.list_run_briefs(RunFilter(kind="convert"))] == ["r-4"]


def test_a_running_row_of_a_gone_process_comes_back_interrupted(ledger: Ledger) -> None:
    ours = process_started_at(os.getpid())
    assert ours is not None
    ledger.start_run(full_run("gone", status="running", pid_started_at=ours - timedelta(hours=1)))
    ledger.start_run(full_run("alive", status="running", started_at=T + timedelta(seconds=1)))
    statuses = {b.run_id: b.status for b in ledger.list_run_briefs()}
    assert statuses == {"gone": "interrupted", "alive": "running"}
    assert [b.run_id for b in ledger.list_run_briefs(RunFilter(status="interrupted"))] == ["gone"]
    assert [b.run_id for b in ledger.list_run_briefs(RunFilter(status="running"))] == ["alive"]
