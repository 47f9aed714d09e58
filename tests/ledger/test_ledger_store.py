"""The store: every field survives, filters select the right runs, errors say what to do."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from ledger_helpers import full_run

from zuinig.errors import AmbiguousRunIdError, LedgerError, RunNotFoundError, UsageError
from zuinig.ledger import Ledger, Run, RunFilter
from zuinig.ledger.model import RUN_FIELDS
from zuinig.ledger.store import month_bounds


def _run(run_id: str, started_at: datetime, **changes: object) -> Run:
    values: dict[str, object] = {
        "run_id": run_id,
        "job": "job-a",
        "status": "ok",
        "started_at": started_at,
    }
    values.update(changes)
    return Run(**values)  # type: ignore[arg-type]


def test_every_field_round_trips_through_start_and_finish(ledger: Ledger) -> None:
    started = full_run("r-full", status="running", ended_at=None, energy_kwh=None)
    ledger.start_run(started)
    assert ledger.get_run("r-full") == started

    finished = full_run("r-full", status="error", tags={"team": "data", "new": "ja"})
    ledger.finish_run(finished)
    stored = ledger.get_run("r-full")
    assert stored == finished
    for name in RUN_FIELDS:  # name by name, so a failure says which field broke
        assert getattr(stored, name) == getattr(finished, name), name
    assert stored.started_at.tzinfo is not None
    assert stored.started_at.utcoffset() == timedelta(0)
    assert ledger.list_runs() == [finished]


def test_none_and_empty_values_round_trip(ledger: Ledger) -> None:
    bare = Run(run_id="bare", job="j", status="ok", started_at=datetime.now(UTC))
    ledger.finish_run(bare)
    assert ledger.get_run("bare") == bare


def test_finish_without_start_inserts(ledger: Ledger) -> None:
    run = full_run("late", status="ok")
    ledger.finish_run(run)
    assert ledger.get_run("late") == run


def test_finish_replaces_tags(ledger: Ledger) -> None:
    run = full_run("t", status="running", tags={"a": "1", "b": "2"})
    ledger.start_run(run)
    ledger.finish_run(dataclasses.replace(run, status="ok", tags={"b": "3"}))
    assert ledger.get_run("t").tags == {"b": "3"}
    ledger.finish_run(dataclasses.replace(run, status="ok", tags={}))
    assert ledger.get_run("t").tags == {}


def test_start_twice_is_an_error(ledger: Ledger) -> None:
    run = full_run("dup", status="running")
    ledger.start_run(run)
    with pytest.raises(LedgerError, match="dup"):
        ledger.start_run(run)


def test_interrupted_is_never_stored(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="interrupted"):
        ledger.finish_run(full_run("x", status="interrupted"))


def test_naive_times_are_taken_as_utc(ledger: Ledger) -> None:
    ledger.finish_run(_run("naive", datetime(2026, 11, 5, 12, 0)))
    assert ledger.get_run("naive").started_at == datetime(2026, 11, 5, 12, 0, tzinfo=UTC)


def test_other_time_zones_are_stored_as_the_same_instant(ledger: Ledger) -> None:
    amsterdam = datetime(2026, 11, 5, 14, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))  # UTC+1
    ledger.finish_run(_run("tz", amsterdam))
    stored = ledger.get_run("tz").started_at
    assert stored == datetime(2026, 11, 5, 13, 0, tzinfo=UTC)
    assert stored.tzinfo is UTC


# -- lookup ---------------------------------------------------------------------


def test_unknown_run_id(ledger: Ledger) -> None:
    ledger.finish_run(_run("abc123", datetime.now(UTC)))
    with pytest.raises(RunNotFoundError, match="no run 'zzz'") as caught:
        ledger.get_run("zzz")
    assert caught.value.bad_input
    assert "zuinig runs list" in str(caught.value)
    with pytest.raises(RunNotFoundError):
        ledger.get_run("  ")


def test_prefix_lookup(ledger: Ledger) -> None:
    now = datetime.now(UTC)
    for run_id in ("abc123", "abd456", "b_%x"):
        ledger.finish_run(_run(run_id, now))
    assert ledger.get_run("abc").run_id == "abc123"
    assert ledger.get_run("abc123").run_id == "abc123"
    assert ledger.get_run("b_").run_id == "b_%x"
    with pytest.raises(AmbiguousRunIdError, match="abc123, abd456") as caught:
        ledger.get_run("ab")
    assert caught.value.bad_input
    assert isinstance(caught.value, LedgerError)
    # LIKE wildcards in a prefix are literal, and case matters.
    for missing in ("%", "_", "a_c", "ABC"):
        with pytest.raises(RunNotFoundError):
            ledger.get_run(missing)


# -- filters --------------------------------------------------------------------


@pytest.fixture
def filled(ledger: Ledger) -> Ledger:
    t = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    runs = [
        _run("oct-last", datetime(2026, 10, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        _run("nov-first", datetime(2026, 11, 1, 0, 0, tzinfo=UTC), tags={"team": "ruimte"}),
        _run("nov-mid", t, job="job-b", tags={"team": "ruimte", "env": "prod"}),
        _run("nov-child", t + timedelta(seconds=1), parent_run_id="nov-mid"),
        _run("nov-error", t + timedelta(hours=1), status="error", tags={"team": "data"}),
        _run("nov-last", datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), tags={"env": "prod"}),
        _run("dec-first", datetime(2026, 12, 1, tzinfo=UTC)),
    ]
    for run in runs:
        ledger.finish_run(run)
    return ledger


def _ids(ledger: Ledger, **criteria: object) -> list[str]:
    return [run.run_id for run in ledger.list_runs(RunFilter(**criteria))]  # type: ignore[arg-type]


def test_newest_first(filled: Ledger) -> None:
    assert _ids(filled) == [
        "dec-first",
        "nov-last",
        "nov-error",
        "nov-child",
        "nov-mid",
        "nov-first",
        "oct-last",
    ]
    assert filled.count_runs() == 7


def test_filter_by_job(filled: Ledger) -> None:
    assert _ids(filled, job="job-b") == ["nov-mid"]
    assert _ids(filled, job="nope") == []


def test_filter_by_tags_all_must_match(filled: Ledger) -> None:
    assert _ids(filled, tags={"team": "ruimte"}) == ["nov-mid", "nov-first"]
    assert _ids(filled, tags={"team": "ruimte", "env": "prod"}) == ["nov-mid"]
    assert _ids(filled, tags={"env": "prod"}) == ["nov-last", "nov-mid"]
    assert _ids(filled, tags={"team": "ruimte", "env": "test"}) == []
    # A tagged run comes back with all its tags, not only the ones filtered on.
    (run,) = filled.list_runs(RunFilter(tags={"env": "prod", "team": "ruimte"}))
    assert run.tags == {"team": "ruimte", "env": "prod"}


def test_filter_by_month_uses_utc_bounds(filled: Ledger) -> None:
    assert _ids(filled, month="2026-11") == [
        "nov-last",
        "nov-error",
        "nov-child",
        "nov-mid",
        "nov-first",
    ]
    assert _ids(filled, month="2026-10") == ["oct-last"]
    assert _ids(filled, month="2026-12") == ["dec-first"]
    assert filled.count_runs(RunFilter(month="2026-11")) == 5


def test_month_bounds_roll_over_the_year() -> None:
    assert month_bounds("2026-12") == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "month", ["2026-13", "2026-00", "2026-1", "nov", "2026-11-01", "", "26-11"]
)
def test_bad_month_is_bad_input(filled: Ledger, month: str) -> None:
    with pytest.raises(UsageError, match="YYYY-MM") as caught:
        filled.list_runs(RunFilter(month=month))
    assert caught.value.bad_input


def test_filter_since_until(filled: Ledger) -> None:
    since = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    until = datetime(2026, 11, 10, 13, 0, tzinfo=UTC)
    assert _ids(filled, since=since, until=until) == ["nov-child", "nov-mid"]
    assert _ids(filled, since=datetime(2026, 11, 30, tzinfo=UTC)) == ["dec-first", "nov-last"]


def test_filter_by_status(filled: Ledger) -> None:
    assert _ids(filled, status="error") == ["nov-error"]
    assert len(_ids(filled, status="ok")) == 6
    assert _ids(filled, status="running") == []
    assert _ids(filled, status="interrupted") == []
    with pytest.raises(UsageError, match="status"):
        filled.list_runs(RunFilter(status="done"))


def test_children_of_one_parent(filled: Ledger) -> None:
    [child] = filled.list_runs(RunFilter(parent_run_id="nov-mid"))
    assert child.run_id == "nov-child"
    assert filled.count_runs(RunFilter(parent_run_id="nov-child")) == 0


def test_top_level_only(filled: Ledger) -> None:
    assert "nov-child" not in _ids(filled, top_level_only=True)
    assert len(_ids(filled, top_level_only=True)) == 6
    assert filled.count_runs(RunFilter(top_level_only=True)) == 6


def test_limit(filled: Ledger) -> None:
    assert _ids(filled, limit=2) == ["dec-first", "nov-last"]
    assert _ids(filled, limit=0) == []
    assert filled.count_runs(RunFilter(limit=2)) == 7  # a count ignores the limit
    with pytest.raises(UsageError):
        filled.list_runs(RunFilter(limit=-1))


def test_filters_combine(filled: Ledger) -> None:
    criteria = RunFilter(month="2026-11", tags={"team": "ruimte"}, job="job-a", limit=5)
    assert [run.run_id for run in filled.list_runs(criteria)] == ["nov-first"]


def test_jobs(filled: Ledger) -> None:
    assert filled.jobs() == ["job-a", "job-b"]


def test_put_run_never_lets_a_start_undo_an_end(ledger: Ledger) -> None:
    run = full_run("p", status="running")
    finished = dataclasses.replace(run, status="ok")
    assert ledger.put_run(finished)
    assert not ledger.put_run(run)
    assert ledger.get_run("p").status == "ok"
    assert ledger.put_run(finished)  # idempotent
    assert ledger.count_runs() == 1


def test_many_runs_load_their_tags(ledger: Ledger) -> None:
    # More runs than one IN (...) chunk, so tags are read in several queries.
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for index in range(1203):
        ledger.finish_run(
            _run(f"m{index:05d}", start + timedelta(seconds=index), tags={"i": str(index)})
        )
    runs = ledger.list_runs()
    assert len(runs) == 1203
    assert all(run.tags == {"i": str(int(run.run_id[1:]))} for run in runs)
