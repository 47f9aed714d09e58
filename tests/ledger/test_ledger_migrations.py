"""Upgrades in place: a ledger written at schema 0001 opens at the newest schema with
nothing lost, and its runs labelled with the attribution rule they were measured under.

The SQLite tests start from ``fixtures/ledger-v1.sqlite``, a ledger file written by
zuinig's own code at schema 0001 (see ``fixtures/make_ledger_v1.py``). PostgreSQL
cannot be a committed file, so there the old ledger is built with the 0001
migration alone and filled with the store's own row mapping; the SQLite side runs
that path too.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ledger_helpers import child_env, full_run

from zuinig import factors
from zuinig.ledger import BenchSession, BenchTrial, Ledger, Run, RunFilter
from zuinig.ledger import migrate as migrate_module
from zuinig.ledger.model import KIND_BENCH
from zuinig.ledger.rows import run_to_row, tag_rows
from zuinig.ledger.schema import HEAD_REVISION, VERSION_TABLE, metadata, run_tags

FIXTURES = Path(__file__).with_name("fixtures")
FIXTURE = FIXTURES / "ledger-v1.sqlite"
OLD_REVISION = "0001"
#: The columns revision 0003 added to ``runs``: old runs have no value for them.
COLUMNS_0003 = (
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
#: The columns revision 0004 added to ``runs``: the factor's row and the market figure.
COLUMNS_0004 = (
    "intensity_name",
    "intensity_boundary",
    "co2_kg_market_based",
    "market_intensity_g_per_kwh",
    "market_intensity_source",
    "market_intensity_year",
    "market_intensity_name",
    "market_intensity_boundary",
    "market_added_later",
)
COLUMNS_SINCE_0001 = COLUMNS_0003 + COLUMNS_0004


def _fixture_module() -> Any:
    spec = importlib.util.spec_from_file_location("make_ledger_v1", FIXTURES / "make_ledger_v1.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _migration_0004() -> Any:
    path = Path(migrate_module.MIGRATIONS_DIR) / "versions" / "0004_market_based.py"
    spec = importlib.util.spec_from_file_location("migration_0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FALLBACK_SOURCE: str = _migration_0004().FALLBACK_SOURCE

EXPECTED_RUNS: dict[str, tuple[str, str, str | None, dict[str, str], float | None]] = (
    _fixture_module().EXPECTED_RUNS
)


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _revision(url: str) -> str | None:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = _engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _copy_fixture(tmp_path: Path) -> str:
    target = tmp_path / "old-ledger.sqlite"
    shutil.copyfile(FIXTURE, target)
    return f"sqlite:///{target.as_posix()}"


def _raw_dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of the 0001 tables, exactly as SQLite holds them."""
    connection = sqlite3.connect(path)
    try:
        return {
            "runs": connection.execute("SELECT * FROM runs ORDER BY run_id").fetchall(),
            "run_tags": connection.execute(
                "SELECT * FROM run_tags ORDER BY run_id, key"
            ).fetchall(),
        }
    finally:
        connection.close()


def _old_run(run_id: str, **changes: Any) -> Run:
    """A run with every field 0001 knew set, and none of the fields added since."""
    return full_run(run_id, **dict.fromkeys(COLUMNS_SINCE_0001), **changes)


def _old_runs() -> list[Run]:
    """Runs for a 0001 ledger built by migration: every field set, nesting, no tags,
    and each way a run was measured before the attribution rule."""
    return [
        _old_run("old-parent", parent_run_id=None),
        _old_run("old-child", parent_run_id="old-parent", tags={"team": "ruimte"}),
        _old_run("old-bare", tags={}, inputs=(), engines={}, status="error"),
        _old_run("old-other-host", status="running", host="elsewhere", ended_at=None),
        _old_run("old-machine", tracking_mode="machine"),
        _old_run(
            "old-imported",
            method_meter="codecarbon 2.8.0 (imported)",
            method_cpu="imported",
            tracking_mode="process",
        ),
        _old_run("old-imported-no-mode", method_meter="codecarbon (imported)", tracking_mode=None),
        _old_run("old-failed", method_cpu="none", energy_kwh=None),
        _old_run("old-no-method", method_meter=None, method_cpu=None, tracking_mode=None),
        _old_run("old-replay", method_meter="replay", method_cpu="replay"),
        _old_run("old-no-intensity", intensity_g_per_kwh=None, co2_kg=None),
        _old_run("old-german", country_iso_code="DEU", intensity_g_per_kwh=380.0),
    ]


#: The label migration 0003 gives each of :func:`_old_runs`: CodeCarbon-measured runs
#: (imported ones too) by their tracking mode; unmeasured, unknown or other meters none.
OLD_RULES = {
    "old-parent": "codecarbon-process",
    "old-child": "codecarbon-process",
    "old-bare": "codecarbon-process",
    "old-other-host": "codecarbon-process",
    "old-machine": "codecarbon-machine",
    "old-imported": "codecarbon-process",
    "old-imported-no-mode": None,
    "old-failed": None,
    "old-no-method": None,
    "old-replay": None,
    "old-no-intensity": "codecarbon-process",
    "old-german": "codecarbon-process",
}


def _as_upgraded(run: Run) -> Run:
    """``run`` as the newest schema reads it back after migrations 0003 and 0004.

    0004 keeps the run's location-based figure and factor as they are; with the shipped
    factor table (no row for electricity of unknown origin) every run with a factor gets
    its location-based figure as its market-based one, labelled as added later.
    """
    upgraded = dataclasses.replace(run, method_attribution=OLD_RULES[run.run_id])
    if run.intensity_g_per_kwh is None:
        return upgraded
    return dataclasses.replace(
        upgraded,
        co2_kg_market_based=run.co2_kg,
        market_intensity_g_per_kwh=run.intensity_g_per_kwh,
        market_intensity_source=FALLBACK_SOURCE,
        market_intensity_year=run.intensity_year,
        market_added_later=True,
    )


def build_old_ledger(url: str) -> list[Run]:
    """Make a ledger at schema 0001 at ``url`` holding :func:`_old_runs`.

    Uses the 0001 migration alone (as zuinig at 0001 created a ledger) and the
    store's row mapping for ``runs``, less the columns added since 0001.
    """
    old = _old_runs()
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            migrate_module.upgrade(connection, OLD_REVISION)
            old_table = sa.Table("runs", sa.MetaData(), autoload_with=connection)
            rows = [
                {name: value for name, value in run_to_row(run).items() if name in old_table.c}
                for run in old
            ]
            assert all(name not in old_table.c for name in COLUMNS_SINCE_0001)
            connection.execute(old_table.insert(), rows)
            tags = [row for run in old for row in tag_rows(run)]
            connection.execute(run_tags.insert(), tags)
    finally:
        engine.dispose()
    assert _revision(url) == OLD_REVISION
    assert "bench_sessions" not in _tables(url)
    return old


def _assert_schema_is_schema_py(url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = _engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def _use_bench_tables(ledger: Ledger, old_run_id: str) -> None:
    """Write and read a session whose trials link to an old run and a new one."""
    session = BenchSession(
        session_id="after-upgrade",
        workload="groupby",
        started_at=datetime.now(UTC),
        rows=1000,
        config={"formats": ["csv"], "engines": ["pandas"]},
    )
    ledger.start_bench_session(session)
    new_run = Run(
        run_id="bench-run-new",
        job="bench:groupby",
        status="ok",
        started_at=datetime.now(UTC),
        kind=KIND_BENCH,
        energy_kwh=1e-6,
    )
    ledger.finish_run(new_run)
    trials = [
        BenchTrial("t-old", "after-upgrade", "measured", "ok", run_id=old_run_id, correct=True),
        BenchTrial("t-new", "after-upgrade", "measured", "ok", run_id=new_run.run_id),
    ]
    ledger.add_bench_trials(trials)
    ledger.finish_bench_session(
        dataclasses.replace(session, status="ok", results=[{"engine": "pandas"}])
    )
    assert ledger.get_bench_session("after").status == "ok"
    stored = ledger.list_bench_trials("after-upgrade")
    assert {trial.trial_id: trial.run_id for trial in stored} == {
        "t-old": old_run_id,
        "t-new": "bench-run-new",
    }
    assert {ledger.get_run(trial.run_id).run_id for trial in stored if trial.run_id} == {
        old_run_id,
        "bench-run-new",
    }


def test_the_fixture_is_a_ledger_written_at_schema_0001(tmp_path: Path) -> None:
    url = _copy_fixture(tmp_path)  # a copy: SQLite would leave -wal/-shm files beside it
    assert _revision(url) == OLD_REVISION
    assert _tables(url) == {VERSION_TABLE, "runs", "run_tags"}
    dump = _raw_dump(tmp_path / "old-ledger.sqlite")
    assert sorted(row[0] for row in dump["runs"]) == sorted(EXPECTED_RUNS)
    assert len(dump["run_tags"]) == sum(len(item[3]) for item in EXPECTED_RUNS.values())


def test_an_old_ledger_file_upgrades_in_place_with_nothing_lost(tmp_path: Path) -> None:
    url = _copy_fixture(tmp_path)
    before = _raw_dump(tmp_path / "old-ledger.sqlite")

    with Ledger.open(url) as ledger:
        assert _revision(url) == HEAD_REVISION
        assert ledger.count_runs() == len(EXPECTED_RUNS)
        for run_id, (job, status, parent, tags, energy) in EXPECTED_RUNS.items():
            run = ledger.get_run(run_id)
            assert (run.job, run.status, run.parent_run_id, dict(run.tags)) == (
                job,
                status,  # the "running" run is another host's, so it stays running
                parent,
                tags,
            ), run_id
            assert run.energy_kwh == energy, run_id
            assert run.started_at.tzinfo is not None, run_id
        error = ledger.get_run("v1-0003-error")
        assert error.error_message == "bad value: ünïcode ✓"
        assert error.ended_at == error.started_at + timedelta(seconds=12.5)
        assert error.started_at == datetime(2026, 10, 14, 8, 2, 0, 250000, tzinfo=UTC)
        assert error.inputs[0].size_bytes == 42
        assert dict(error.engines) == {"polars": "1.9.0"}
        assert error.method_cpu_tdp_is_generic is True
        assert [run.run_id for run in ledger.list_runs(RunFilter(top_level_only=True))] == [
            "v1-0005-running",
            "v1-0004-command",
            "v1-0003-error",
            "v1-0001-parent",
        ]
        _use_bench_tables(ledger, "v1-0001-parent")

    after = _raw_dump(tmp_path / "old-ledger.sqlite")
    assert after["run_tags"] == before["run_tags"]  # byte for byte
    width = len(before["runs"][0])  # 0003's and 0004's columns come after the old ones
    old_rows = [row for row in after["runs"] if row[0] in EXPECTED_RUNS]
    assert [row[:width] for row in old_rows] == before["runs"]
    # The fixture's runs have no meter, tracking mode or intensity: no rule is known,
    # and no range, share or market-based figure is invented for them.
    assert [row[width:] for row in old_rows] == [(None,) * len(COLUMNS_SINCE_0001)] * len(old_rows)
    _assert_schema_is_schema_py(url)


def test_an_upgraded_file_opens_again_without_alembic(tmp_path: Path) -> None:
    url = _copy_fixture(tmp_path)
    Ledger.open(url).close()  # upgrades
    code = (
        "import sys\n"
        "from zuinig.ledger import Ledger\n"
        f"ledger = Ledger.open({url!r})\n"
        "print(len(ledger.list_runs()), ledger.list_bench_sessions(), 'alembic' in sys.modules)\n"
        "ledger.close()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), check=True
    )
    assert result.stdout.strip() == f"{len(EXPECTED_RUNS)} [] False", result.stderr


def test_a_0001_ledger_upgrades_on_every_backend(ledger_url: str) -> None:
    old = build_old_ledger(ledger_url)
    with Ledger.open(ledger_url) as ledger:
        assert _revision(ledger_url) == HEAD_REVISION
        upgraded = [_as_upgraded(run) for run in old]
        assert ledger.list_runs() == sorted(
            upgraded, key=lambda run: (run.started_at, run.run_id), reverse=True
        )
        for run in upgraded:
            assert ledger.get_run(run.run_id) == run
            # Ranges stay unknown: an old estimate is shown without one, never a made-up one.
            assert (run.energy_kwh_low, run.energy_kwh_high, run.co2_kg_low) == (None,) * 3
        briefs = {brief.run_id: brief for brief in ledger.list_run_briefs()}
        assert {key: brief.method_attribution for key, brief in briefs.items()} == OLD_RULES
        _use_bench_tables(ledger, "old-child")
    _assert_schema_is_schema_py(ledger_url)
    with Ledger.open(ledger_url) as again:  # and it opens again, as it is
        assert again.count_runs() == len(old) + 1
        assert [item.session_id for item in again.list_bench_sessions()] == ["after-upgrade"]


UNKNOWN_ROW_TABLE = """
schema = 1
[[list]]
year = 2026
published = 2026-01-15
url = "https://example.org/list-2026"
[[factor]]
list_year = 2026
key = "unknown"
name = "Stroom onbekend (test row)"
well_to_wheel_g_per_kwh = 400.0
tank_to_wheel_g_per_kwh = 320.0
cited_from = "a test table"
"""


def test_0004_fills_dutch_runs_from_the_unknown_origin_row_of_their_year(
    ledger_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the table has a row for electricity of unknown origin, a Dutch old run's
    market-based figure is that row's (with the supply chain) x its own energy; another
    country's run keeps the fallback; the location-based figure is never touched."""
    path = tmp_path / "factors.toml"
    path.write_text(UNKNOWN_ROW_TABLE, encoding="utf-8")
    table = factors.load_table(path)
    monkeypatch.setattr(factors, "default_table", lambda: table)
    old = {run.run_id: run for run in build_old_ledger(ledger_url)}
    with Ledger.open(ledger_url) as ledger:
        dutch = ledger.get_run("old-parent")
        german = ledger.get_run("old-german")
        bare = ledger.get_run("old-no-intensity")
    assert (dutch.co2_kg, dutch.intensity_g_per_kwh) == (
        old["old-parent"].co2_kg,
        old["old-parent"].intensity_g_per_kwh,
    )
    assert dutch.energy_kwh is not None
    assert dutch.market_intensity_g_per_kwh == 400.0
    assert dutch.co2_kg_market_based == pytest.approx(dutch.energy_kwh * 400.0 / 1000.0)
    assert dutch.market_intensity_name == "Stroom onbekend (test row)"
    assert (dutch.market_intensity_year, dutch.market_intensity_boundary) == (
        2026,
        "well-to-wheel",
    )
    assert dutch.market_intensity_source is not None
    assert "list 2026" in dutch.market_intensity_source
    assert dutch.market_added_later is True
    assert german.market_intensity_g_per_kwh == 380.0
    assert german.market_intensity_source == FALLBACK_SOURCE
    assert german.co2_kg_market_based == german.co2_kg
    assert (bare.co2_kg_market_based, bare.market_added_later) == (None, None)


OPENER = """
import logging, os, sys, time
from datetime import UTC, datetime
from pathlib import Path
from zuinig.ledger import BenchSession, Ledger, Run
import alembic.command, sqlalchemy.dialects.sqlite  # loaded before the go signal

url, go = sys.argv[1], Path(sys.argv[2])
logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)
(go.parent / f"ready-{os.getpid()}").touch()
while not go.exists():
    time.sleep(0.001)
with Ledger.open(url) as ledger:
    now = datetime.now(UTC)
    ledger.start_bench_session(BenchSession(f"s-{os.getpid()}", "groupby", now))
    ledger.finish_run(Run(f"r-{os.getpid()}", "after-upgrade", "ok", now))
"""


def _open_at_once(url: str, processes: int) -> list[str]:
    """Start ``processes`` that open ``url`` at the same moment; their stderr texts."""
    with tempfile.TemporaryDirectory() as scratch:
        go = Path(scratch) / "go"
        children = [
            subprocess.Popen(
                [sys.executable, "-c", OPENER, url, str(go)],
                env=child_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        deadline = time.monotonic() + 120
        while len(list(Path(scratch).glob("ready-*"))) < processes:
            if time.monotonic() > deadline or any(c.poll() is not None for c in children):
                break  # a child died early: its stderr says why, below
            time.sleep(0.01)
        go.touch()
        results = [child.communicate(timeout=300) for child in children]
    failures = [err for child, (_, err) in zip(children, results, strict=True) if child.returncode]
    assert not failures, "\n---\n".join(failures)
    return [err for _, err in results]


def test_processes_opening_an_old_ledger_at_once_upgrade_it_once(
    ledger_url: str, tmp_path: Path
) -> None:
    processes = 8
    if ledger_url.startswith("sqlite"):
        url = _copy_fixture(tmp_path)
        old_ids = set(EXPECTED_RUNS)
    else:
        url = ledger_url
        old_ids = {run.run_id for run in build_old_ledger(url)}
    logs = _open_at_once(url, processes)
    upgrades = [
        line
        for text in logs
        for line in text.splitlines()
        if re.search(rf"Running upgrade \S+ -> {HEAD_REVISION}", line)  # the last step
    ]
    assert len(upgrades) == 1, logs
    assert _revision(url) == HEAD_REVISION
    with Ledger.open(url) as ledger:
        ids = {run.run_id for run in ledger.list_runs()}
        assert old_ids <= ids
        assert len(ids - old_ids) == processes
        assert len(ledger.list_bench_sessions()) == processes
