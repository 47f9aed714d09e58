"""A fixed ledger for report tests, with its expected figures worked out by hand.

Use it from any report test (aggregate, HTML, PDF, CSV)::

    from report_fixture import build_fixture_ledger, EXPECTED

    expected = build_fixture_ledger(ledger)          # an open, empty Ledger
    report = build_report(ledger, Settings(), month=expected.month)
    assert report.totals.energy_kwh == expected.totals["energy_kwh"]

``ledger_url`` and ``ledger`` (below) are the ledger tests' fixtures, SQLite and, when
``TEST_ZUINIG_POSTGRES_URL`` is set, PostgreSQL; import them into a test module to use
them there (tests/report/conftest.py does so for this directory).

What the ledger holds (UTC; carbon intensity 250 g/kWh, so co2_kg = energy_kwh / 4;
every energy is a power of two fraction, so any sum is exact in binary floating point
and prints as a short exact decimal):

=====  ============================  ========  ========  ===========  ========  ======
month  job                           team tag  kind      status       method    kWh
=====  ============================  ========  ========  ===========  ========  ======
11     woningbouwmonitor             ruimte    function  ok           rapl      0.5
11     woningbouwmonitor (2 children ruimte    function  ok           cpu_load  0.25
       of 0.125 kWh: not summed)
11     ``<script>alert(1)</script>`` ``"'&``   command   error        cpu_load  0.125
11     ``"'&``                       ``"'&``   function  interrupted  (none)    --
11     verkeerstellingen             (none)    convert   ok           cpu_load  1.0
11     verkeerstellingen             (none)    function  ok           imported  0.75
11     ``=HYPERLINK("http://x")``    ruimte    function  ok           cpu_load  -- (failed)
11     afvalmonitor (x2, parquet)    ruimte    function  ok           cpu_load  0.125 each
10     woningbouwmonitor             ruimte    function  ok           cpu_load  2.0
10     ``<script>alert(1)</script>`` ``"'&``   function  ok           cpu_load  0.5
10     afvalmonitor (x2, csv)        ruimte    function  ok           cpu_load  0.5 each
=====  ============================  ========  ========  ===========  ========  ======

Months are of 2026 unless said; the trend adds one run of job ``oud`` in 2025-12
(0.0625 kWh) and 2026-06 (4.0 kWh), and two runs outside the 12 months that must not
show: 2025-11 (8.0 kWh) and 2026-12 (16.0 kWh). The interrupted run is stored
``running`` with this host's name, a pid and a process start time that cannot match
a live process, so every process reads it back as interrupted. ``afvalmonitor``
switched from CSV + pandas to Parquet + DuckDB between the months, so advice finds
a realised saving for it.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from zuinig.ledger import Ledger
from zuinig.ledger.liveness import this_host
from zuinig.ledger.model import Run
from zuinig.meter.base import InputFile

SCRIPT_JOB = "<script>alert(1)</script>"
QUOTES_NAME = "\"'&"
FORMULA_JOB = '=HYPERLINK("http://x")'
TEAM_TAG = "team"
INTENSITY_G_PER_KWH = 250.0
INTENSITY_SOURCE = "CodeCarbon offline data, NLD"
IMPORTED_INTENSITY_SOURCE = "CodeCarbon, NLD (imported: emissions / energy_consumed)"


def _load_ledger_conftest() -> Any:
    # The ledger tests' fixture, reused rather than copied: the same SQLite/PostgreSQL
    # parametrisation and per-test PostgreSQL schema. (conftest modules are not importable
    # by name from another directory.)
    path = Path(__file__).resolve().parents[1] / "ledger" / "conftest.py"
    spec = importlib.util.spec_from_file_location("zuinig_ledger_test_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_ledger_conftest = _load_ledger_conftest()
#: Fixture: the URL of a ledger that does not exist yet, SQLite and (marked postgres) PostgreSQL.
ledger_url = _ledger_conftest.ledger_url
#: Fixture: an open, empty ledger at ``ledger_url``.
ledger = _ledger_conftest.ledger


@dataclass(frozen=True)
class FixtureExpectations:
    """The figures a report of the fixture must show, worked out by hand.

    Attributes:
        month, previous_month: ``2026-11`` and ``2026-10``.
        team_tag: ``team``.
        totals: the month's :class:`zuinig.report.model.Totals` fields.
        previous: the previous month's totals (the fields that are not zero).
        change_kwh, change_ratio: this month's energy minus the previous, and over it.
        jobs, teams, kinds: name -> (energy_kwh this month, previous_energy_kwh), in
            the report's order (most energy first, then name).
        trend: the 12 months, oldest first: (month, runs, energy_kwh, co2_kg).
        ruimte: totals of the month with the filter ``team=ruimte``.
        method: the method section's values.
        names: the user-supplied texts a rendered report must escape.
        realised_job: the job that realised a saving by changing configuration.
        realised_saving_kwh_in_month, realised_runs_in_month: what it saved in the month.
        bench_advice_jobs: the jobs advised to run a benchmark first, in ranking order.
    """

    month: str = "2026-11"
    previous_month: str = "2026-10"
    team_tag: str = TEAM_TAG
    totals: Mapping[str, float] = field(
        default_factory=lambda: {
            "runs": 9,
            "energy_kwh": 2.875,
            "co2_kg": 0.71875,
            "duration_s": 286.0,
            "cpu_s": 45.0,
            "processed_bytes": 2_900_000_000,
            "ok": 7,
            "failed": 1,
            "interrupted": 1,
            "running": 0,
            "measured_runs": 1,
            "estimated_runs": 5,
            "imported_runs": 1,
            "unmeasured_runs": 2,
            "measured_energy_kwh": 0.5,
            "estimated_energy_kwh": 1.625,
            "imported_energy_kwh": 0.75,
            # No fixture run has a range (they model runs measured before ranges were
            # kept): see test_report_ranges.py for the month's range.
            "range_runs": 0,
            "ranged_energy_kwh_low": 0.0,
            "ranged_energy_kwh_high": 0.0,
            "ranged_co2_kg_low": 0.0,
            "ranged_co2_kg_high": 0.0,
            # No fixture run has a market-based figure (written as before ledger 0004):
            # see test_esrs_ledger.py for both figures.
            "co2_kg_market_based": 0.0,
            "market_runs": 0,
            "market_added_later_runs": 0,
        }
    )
    previous: Mapping[str, float] = field(
        default_factory=lambda: {
            "runs": 4,
            "energy_kwh": 3.5,
            "co2_kg": 0.875,
            "duration_s": 310.0,
            "processed_bytes": 1_200_000_000,
            "ok": 4,
            "estimated_runs": 4,
            "estimated_energy_kwh": 3.5,
        }
    )
    change_kwh: float = -0.625
    change_ratio: float = -0.625 / 3.5
    jobs: tuple[tuple[str, float, float], ...] = (
        ("verkeerstellingen", 1.75, 0.0),
        ("woningbouwmonitor", 0.75, 2.0),
        ("afvalmonitor", 0.25, 1.0),
        (SCRIPT_JOB, 0.125, 0.5),
        (QUOTES_NAME, 0.0, 0.0),
        (FORMULA_JOB, 0.0, 0.0),
    )
    teams: tuple[tuple[str, float, float], ...] = (
        ("", 1.75, 0.0),
        ("ruimte", 1.0, 3.0),
        (QUOTES_NAME, 0.125, 0.5),
    )
    kinds: tuple[tuple[str, float, float], ...] = (
        ("function", 1.75, 3.5),
        ("convert", 1.0, 0.0),
        ("command", 0.125, 0.0),
    )
    trend: tuple[tuple[str, int, float, float], ...] = (
        ("2025-12", 1, 0.0625, 0.015625),
        ("2026-01", 0, 0.0, 0.0),
        ("2026-02", 0, 0.0, 0.0),
        ("2026-03", 0, 0.0, 0.0),
        ("2026-04", 0, 0.0, 0.0),
        ("2026-05", 0, 0.0, 0.0),
        ("2026-06", 1, 4.0, 1.0),
        ("2026-07", 0, 0.0, 0.0),
        ("2026-08", 0, 0.0, 0.0),
        ("2026-09", 0, 0.0, 0.0),
        ("2026-10", 4, 3.5, 0.875),
        ("2026-11", 9, 2.875, 0.71875),
    )
    ruimte: Mapping[str, float] = field(
        default_factory=lambda: {"runs": 5, "energy_kwh": 1.0, "co2_kg": 0.25, "ok": 5}
    )
    ruimte_previous_energy_kwh: float = 3.0
    method: Mapping[str, Any] = field(
        default_factory=lambda: {
            "intensities": (
                (INTENSITY_G_PER_KWH, INTENSITY_SOURCE, 2023, "NLD", 7),
                (INTENSITY_G_PER_KWH, IMPORTED_INTENSITY_SOURCE, None, "NLD", 1),
            ),
            "pue_values": (1.0, 1.5),
            "cpu_methods": {"cpu_load": 6, "imported": 1, "rapl": 1},
            "tdp_generic_runs": 5,
            "tdp_values_w": (65.0, 95.0),
            "ram_power_values_w": (3.0,),
            "tracking_modes": {"process": 7, "machine": 1},
            "codecarbon_versions": ("2.8.0", "3.0.0"),
        }
    )
    names: tuple[str, ...] = (SCRIPT_JOB, QUOTES_NAME, FORMULA_JOB)
    realised_job: str = "afvalmonitor"
    #: afvalmonitor's two Parquet runs each saved 0.5 - 0.125 kWh against its CSV runs.
    realised_saving_kwh_in_month: float = 0.75
    realised_runs_in_month: int = 2
    #: Jobs with data files and no benchmark yet: advice to measure first (kind ``bench``).
    bench_advice_jobs: tuple[str, ...] = ("afvalmonitor", "woningbouwmonitor")


EXPECTED = FixtureExpectations()

# A process start time no live process has: the interrupted run's pid (whatever runs
# under it now, if anything) never matches it, so it always reads back as interrupted.
_NEVER_STARTED = datetime(2000, 1, 1, tzinfo=UTC)


def _at(month: str, day: int, hour: int = 9) -> datetime:
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, day, hour, tzinfo=UTC)


def _run(run_id: str, job: str, started_at: datetime, **values: Any) -> Run:
    """A finished, estimated run (cpu_load, generic 95 W TDP) unless ``values`` say otherwise."""
    energy = values.pop("energy_kwh", None)
    duration = values.pop("duration_s", None)
    fields: dict[str, Any] = {
        "status": "ok",
        "kind": "function",
        "ended_at": started_at + timedelta(seconds=duration or 0),
        "duration_s": duration,
        "energy_kwh": energy,
        "co2_kg": energy * INTENSITY_G_PER_KWH / 1000 if energy is not None else None,
        "intensity_g_per_kwh": INTENSITY_G_PER_KWH,
        "method_meter": "codecarbon 3.0.0",
        "method_cpu": "cpu_load",
        "method_cpu_tdp_w": 95.0,
        "method_cpu_tdp_is_generic": True,
        "method_ram_power_w": 3.0,
        "tracking_mode": "process",
        "pue": 1.0,
        "intensity_source": INTENSITY_SOURCE,
        "intensity_year": 2023,
        "country_iso_code": "NLD",
        "codecarbon_version": "3.0.0",
        "host": "fixture-host",
        "pid": 4242,
        "pid_started_at": started_at,
        **values,
    }
    return Run(run_id=run_id, job=job, started_at=started_at, **fields)


def _file(name: str, size_bytes: int, fmt: str) -> tuple[InputFile, ...]:
    return (InputFile(path=f"/data/fixture/{name}", size_bytes=size_bytes, format=fmt),)


RUIMTE = {TEAM_TAG: "ruimte"}
QUOTES_TEAM = {TEAM_TAG: QUOTES_NAME, "env": "prod"}
_A_CSV = _file("a.csv", 1_000_000_000, "csv")
_PANDAS = {"pandas": "2.2.3"}
_DUCKDB = {"duckdb": "1.1.3"}


def fixture_runs() -> list[Run]:
    """Every run of the fixture, in insertion order (parents before their children)."""
    nov, oct_ = "2026-11", "2026-10"
    runs = [
        _run(
            "nov-01-rapl",
            "woningbouwmonitor",
            _at(nov, 2),
            tags=RUIMTE,
            energy_kwh=0.5,
            duration_s=60.0,
            cpu_s=30.0,
            method_cpu="rapl",
            method_cpu_tdp_w=65.0,
            method_cpu_tdp_is_generic=False,
            inputs=_A_CSV,
            engines=_PANDAS,
        ),
        _run(
            "nov-02-parent",
            "woningbouwmonitor",
            _at(nov, 3),
            tags=RUIMTE,
            energy_kwh=0.25,
            duration_s=30.0,
            cpu_s=15.0,
            inputs=_A_CSV,
            engines=_PANDAS,
        ),
        *(
            _run(
                f"nov-02-child-{index}",
                "woningbouwmonitor",
                _at(nov, 3) + timedelta(seconds=index),
                parent_run_id="nov-02-parent",
                tags=RUIMTE,
                energy_kwh=0.125,
                duration_s=10.0,
                cpu_s=5.0,
                inputs=_A_CSV,
            )
            for index in (1, 2)
        ),
        _run(
            "nov-03-error",
            SCRIPT_JOB,
            _at(nov, 5),
            kind="command",
            status="error",
            tags=QUOTES_TEAM,
            energy_kwh=0.125,
            duration_s=10.0,
            error_type="ValueError",
            error_message="<b>bad</b> \"'& value",
            command="python job.py --name '<script>'",
            exit_code=1,
            inputs=_file("b.parquet", 250_000_000, "parquet"),
        ),
        Run(
            run_id="nov-04-interrupted",
            job=QUOTES_NAME,
            status="running",
            started_at=_at(nov, 6),
            tags=QUOTES_TEAM,
            host=this_host(),
            pid=os.getpid(),
            pid_started_at=_NEVER_STARTED,
        ),
        _run(
            "nov-05-convert",
            "verkeerstellingen",
            _at(nov, 7),
            kind="convert",
            energy_kwh=1.0,
            duration_s=120.0,
            pue=1.5,
            method_cpu_tdp_is_generic=False,
            inputs=_file("v.csv", 500_000_000, "csv"),
        ),
        _run(
            "nov-06-imported",
            "verkeerstellingen",
            _at(nov, 8),
            energy_kwh=0.75,
            duration_s=45.0,
            method_meter="codecarbon 2.8.0 (imported)",
            method_cpu="imported",
            method_cpu_tdp_w=None,
            method_cpu_tdp_is_generic=None,
            method_ram_power_w=None,
            tracking_mode="machine",
            intensity_source=IMPORTED_INTENSITY_SOURCE,
            intensity_year=None,
            codecarbon_version="2.8.0",
        ),
        _run(
            "nov-07-unmeasured",
            FORMULA_JOB,
            _at(nov, 9),
            tags=RUIMTE,
            duration_s=5.0,
            measurement_error="CodeCarbon returned no result",
            inputs=_file("c.csv", 100_000_000, "csv"),
        ),
        *(
            _run(
                f"nov-0{7 + index}-afval",
                "afvalmonitor",
                _at(nov, 10 + index),
                tags=RUIMTE,
                energy_kwh=0.125,
                duration_s=8.0,
                inputs=_file("afval.parquet", 25_000_000, "parquet"),
                engines=_DUCKDB,
            )
            for index in (1, 2)
        ),
        _run(
            "oct-01",
            "woningbouwmonitor",
            _at(oct_, 2),
            tags=RUIMTE,
            energy_kwh=2.0,
            duration_s=200.0,
            inputs=_A_CSV,
            engines=_PANDAS,
        ),
        _run("oct-02", SCRIPT_JOB, _at(oct_, 3), tags=QUOTES_TEAM, energy_kwh=0.5, duration_s=50.0),
        *(
            _run(
                f"oct-0{2 + index}-afval",
                "afvalmonitor",
                _at(oct_, 10 + index),
                tags=RUIMTE,
                energy_kwh=0.5,
                duration_s=30.0,
                inputs=_file("afval.csv", 100_000_000, "csv"),
                engines=_PANDAS,
            )
            for index in (1, 2)
        ),
        _run("trend-2025-12", "oud", _at("2025-12", 15), energy_kwh=0.0625, duration_s=1.0),
        _run("trend-2026-06", "oud", _at("2026-06", 15), energy_kwh=4.0, duration_s=1.0),
        _run("outside-2025-11", "oud", _at("2025-11", 30, 23), energy_kwh=8.0, duration_s=1.0),
        _run("outside-2026-12", "oud", _at("2026-12", 1, 0), energy_kwh=16.0, duration_s=1.0),
    ]
    return runs


def build_fixture_ledger(ledger: Ledger) -> FixtureExpectations:
    """Write the fixture's runs into ``ledger`` (open, empty) and return what a report
    of :attr:`FixtureExpectations.month` must show."""
    for run in fixture_runs():
        ledger.put_run(run)
    return EXPECTED
