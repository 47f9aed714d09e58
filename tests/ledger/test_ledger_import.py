"""``zuinig import codecarbon``: CodeCarbon's emissions.csv files as runs, on every backend."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from zuinig.cli import AppState, cli
from zuinig.errors import UsageError
from zuinig.ledger import Ledger, RunFilter
from zuinig.ledger.importers import (
    SOURCE_TAG,
    BadRow,
    import_codecarbon_csv,
    run_id_for,
)
from zuinig.ledger_text import format_import

# Column sets of older CodeCarbon versions, as they wrote them.
HEADER_2_1 = (
    "timestamp,project_name,run_id,duration,emissions,emissions_rate,cpu_power,gpu_power,"
    "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,country_name,country_iso_code,"
    "region,cloud_provider,cloud_region,os,python_version,cpu_count,cpu_model,gpu_count,"
    "gpu_model,longitude,latitude,ram_total_size,tracking_mode,on_cloud"
)
ROW_2_1 = (
    "2022-11-26T10:32:27+00:00,vertaler,cc2e23fa-52a8-4ea3-a4dc-f039451bcdc4,0.871192216873169,"
    "4.1067831054495705e-07,4.71e-07,42.5,0.0,5.9,1.0285e-05,0,1.4245e-06,1.17095e-05,"
    "Netherlands,NLD,north holland,,,Linux-5.15,3.8.10,8,Intel(R) Core(TM) i7-8665U,,,4.9,52.4,"
    "15.6,machine,N"
)
# 1.x: no CPU/RAM/GPU split, no version column.
HEADER_1_X = (
    "timestamp,project_name,run_id,duration,emissions,emissions_rate,energy_consumed,"
    "country_name,country_iso_code,region,on_cloud,cloud_provider,cloud_region"
)
ROW_1_X = (
    "2021-06-01T08:00:00+00:00,oud,0e1d2c3b-0000-4000-8000-000000000001,120.5,0.0021,1.7e-05,"
    "0.0078,Netherlands,NLD,,N,,"
)


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger.open(ledger_url) as opened:
        yield opened


def write(path: Path, *lines: str | bytes) -> Path:
    path.write_bytes(
        b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
    )
    return path


# The real CodeCarbon writes the file in a process of its own: a tracker built here would
# leave CodeCarbon's process-wide state (its hardware cache, its logger) changed for the
# meter tests that run later in this process.
_WRITE_EMISSIONS_CSV = """
import sys, time, warnings
warnings.simplefilter("ignore", DeprecationWarning)  # save_to_file is deprecated in 3.x
import codecarbon
tracker = codecarbon.OfflineEmissionsTracker(
    project_name="echte-meting", country_iso_code="NLD", save_to_file=True,
    output_dir=sys.argv[1], log_level="error",
)
tracker.start()
deadline = time.perf_counter() + 0.3
while time.perf_counter() < deadline:
    sum(i * i for i in range(2_000))
print(repr(tracker.stop()))
"""


def test_a_file_written_by_the_real_codecarbon(ledger: Ledger, tmp_path: Path) -> None:
    codecarbon_version = metadata.version("codecarbon")
    written = subprocess.run(
        [sys.executable, "-c", _WRITE_EMISSIONS_CSV, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    emissions = float(written.stdout.strip().splitlines()[-1])
    csv_path = tmp_path / "emissions.csv"
    with csv_path.open(newline="") as stream:
        (row,) = list(csv.DictReader(stream))

    result = import_codecarbon_csv([csv_path], ledger)
    assert (result.imported, result.duplicates, result.bad_rows) == (1, 0, [])

    run = ledger.get_run(run_id_for(row["run_id"]))
    assert run.job == "echte-meting"
    assert run.status == "ok"
    assert run.energy_kwh == float(row["energy_consumed"]) and run.energy_kwh > 0
    assert run.co2_kg == float(row["emissions"]) == pytest.approx(emissions)
    assert run.cpu_energy_kwh == float(row["cpu_energy"])
    assert run.ram_energy_kwh == float(row["ram_energy"])
    assert run.duration_s == float(row["duration"]) >= 0.3
    assert run.country_iso_code == "NLD"
    assert run.method_meter == f"codecarbon {codecarbon_version} (imported)"
    assert run.method_cpu == "imported" and run.is_estimated
    # The rule CodeCarbon's tracker applied, from the mode it wrote (its default: machine).
    assert (run.tracking_mode, run.method_attribution) == ("machine", "codecarbon-machine")
    assert (run.energy_kwh_low, run.energy_kwh_high) == (None, None)  # CodeCarbon gives none
    assert run.codecarbon_version == codecarbon_version
    assert run.intensity_g_per_kwh == pytest.approx(run.co2_kg / run.energy_kwh * 1000)
    # No market-based figure in CodeCarbon's file: the default market factor is filled in
    # on import, labelled added later (no Dutch unknown-origin row shipped: the
    # location-based figure, saying why).
    assert run.market_added_later is True
    assert run.market_intensity_g_per_kwh == run.intensity_g_per_kwh
    assert run.co2_kg_market_based == pytest.approx(run.co2_kg)
    assert run.market_intensity_source is not None
    assert "no row for electricity of unknown origin" in run.market_intensity_source
    assert run.tags["source"] == SOURCE_TAG
    assert run.tags["file"] == "emissions.csv"
    assert run.tags["codecarbon_run_id"] == row["run_id"]
    # CodeCarbon wrote its local time without an offset: it must come back as now.
    assert run.ended_at is not None
    assert abs(run.ended_at - datetime.now(UTC)) < timedelta(minutes=2)
    assert run.ended_at - run.started_at == timedelta(seconds=run.duration_s)

    again = import_codecarbon_csv([csv_path], ledger)
    assert (again.imported, again.duplicates) == (0, 1)
    assert ledger.count_runs() == 1


def test_older_column_sets(ledger: Ledger, tmp_path: Path) -> None:
    v2 = write(tmp_path / "v2.csv", HEADER_2_1, ROW_2_1)
    v1 = write(tmp_path / "v1.csv", HEADER_1_X, ROW_1_X)
    result = import_codecarbon_csv([v2, v1], ledger)
    assert (result.imported, result.bad_rows, result.files) == (2, [], 2)

    new = ledger.get_run(run_id_for("cc2e23fa-52a8-4ea3-a4dc-f039451bcdc4"))
    assert new.job == "vertaler"
    assert new.method_meter == "codecarbon (imported)"  # 2.1 wrote no version
    assert new.cpu_energy_kwh == 1.0285e-05 and new.gpu_energy_kwh == 0
    assert new.method_cpu_model == "Intel(R) Core(TM) i7-8665U"
    assert new.method_cpu_count == 8 and new.tracking_mode == "machine"
    assert new.method_attribution == "codecarbon-machine"
    assert new.python_version == "3.8.10"
    assert new.ended_at == datetime(2022, 11, 26, 10, 32, 27, tzinfo=UTC)

    old = ledger.get_run(run_id_for("0e1d2c3b-0000-4000-8000-000000000001"))
    assert old.energy_kwh == 0.0078 and old.co2_kg == 0.0021
    assert (old.cpu_energy_kwh, old.ram_energy_kwh, old.gpu_energy_kwh) == (None, None, None)
    assert (old.tracking_mode, old.method_attribution) == (None, None)  # 1.x: rule unknown
    assert old.started_at == datetime(2021, 6, 1, 7, 57, 59, 500000, tzinfo=UTC)


def test_a_file_without_run_ids_gets_ids_from_its_content(ledger: Ledger, tmp_path: Path) -> None:
    # The oldest files: no run_id column at all.
    path = write(
        tmp_path / "oudste.csv",
        "timestamp,project_name,duration,emissions,energy_consumed",
        "2021-01-05T12:00:00+01:00,p,10,0.001,0.004",
        "2021-01-05T13:00:00+01:00,p,10,0.001,0.004",
    )
    assert import_codecarbon_csv([path], ledger).imported == 2
    assert import_codecarbon_csv([path], ledger).duplicates == 2
    assert ledger.count_runs() == 2


def test_flushed_rows_of_one_run_keep_its_last_state(ledger: Ledger, tmp_path: Path) -> None:
    # A tracker that flushed writes the totals so far, several rows with one run_id.
    header = "timestamp,project_name,run_id,duration,emissions,energy_consumed"
    first = write(
        tmp_path / "a.csv",
        header,
        "2026-11-01T10:00:06+00:00,p,aaaa,6.1,0.001,0.004",
        "2026-11-01T10:00:12+00:00,p,aaaa,12.1,0.002,0.008",
        "2026-11-01T10:00:09+00:00,p,aaaa,9.1,0.0015,0.006",
    )
    older = write(tmp_path / "b.csv", header, "2026-11-01T10:00:03+00:00,p,aaaa,3.0,0.0005,0.002")
    for batch_size in (500, 1):
        result = import_codecarbon_csv([first, older], ledger, batch_size=batch_size)
        assert result.good_rows == 4
        run = ledger.get_run(run_id_for("aaaa"))
        assert (run.duration_s, run.energy_kwh) == (12.1, 0.008)
    assert ledger.count_runs() == 1


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_kept(
    ledger: Ledger, tmp_path: Path
) -> None:
    header = "timestamp,project_name,run_id,duration,emissions,energy_consumed,cpu_model"
    path = write(
        tmp_path / "kapot.csv",
        header,  # 1
        "2026-11-01T10:00:00+00:00,p,r1,1.5,0.001,0.004,x",  # 2 good
        "2026-11-01T10:00:00+00:00,p,r2,abc,0.001,0.004,x",  # 3 duration
        "2026-11-01T10:00:00+00:00,p,r3,1.5,0.001,,x",  # 4 energy empty
        "gisteren,p,r4,1.5,0.001,0.004,x",  # 5 timestamp
        "2026-11-01T10:00:00+00:00,p,r5,1.5",  # 6 too few fields
        '2026-11-01T10:00:00+00:00,p,r6,1.5,0.001,0.004,"a model',  # 7 quoted field over
        'on two lines"',  # 8 ... two lines: good
        "",  # 9 blank
        "2026-11-01T10:00:00+00:00,p,r7,1.5,0.001,-0.004,x",  # 10 negative
        b"2026-11-01T10:00:00+00:00,p,r8,1.5,0.001,0.004,caf\xe9",  # 11 not UTF-8
        "2026-11-01T10:00:00+00:00,p,r9,inf,0.001,0.004,x",  # 12 infinite
        "2026-11-01T10:00:00+00:00,p,r10,2.5,,0.004,",  # 13 good (no emissions)
    )
    result = import_codecarbon_csv([path], ledger)
    assert result.imported == 3
    assert [(bad.line, bad.reason.split(" ")[0]) for bad in result.bad_rows] == [
        (3, "duration"),
        (4, "energy_consumed"),
        (5, "timestamp"),
        (6, "has"),
        (10, "energy_consumed"),
        (11, "cpu_model"),
        (12, "duration"),
    ]
    assert all(bad.path == path for bad in result.bad_rows)
    assert ledger.get_run(run_id_for("r6")).method_cpu_model == "a model\non two lines"
    assert ledger.get_run(run_id_for("r10")).co2_kg is None
    assert ledger.get_run(run_id_for("r10")).intensity_g_per_kwh is None
    lines = format_import(result)
    assert lines[0] == "imported 3 runs from 1 file; 0 duplicates skipped; 7 bad rows"
    assert lines[1] == f"{path}:3: duration is not a number: 'abc'"


def test_a_file_that_is_not_codecarbon_output(ledger: Ledger, tmp_path: Path) -> None:
    other = write(tmp_path / "other.csv", "name,value", "a,1", "b,2")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = import_codecarbon_csv([other, empty], ledger)
    assert result.bad_rows == [
        BadRow(
            other,
            1,
            "no column timestamp, duration, energy_consumed: not a CodeCarbon emissions.csv header",
        )
    ]
    assert result.good_rows == 0 and ledger.count_runs() == 0


def test_a_missing_file_imports_nothing(ledger: Ledger, tmp_path: Path) -> None:
    good = write(tmp_path / "v2.csv", HEADER_2_1, ROW_2_1)
    with pytest.raises(UsageError, match="no such file"):
        import_codecarbon_csv([good, tmp_path / "nope.csv"], ledger)
    with pytest.raises(UsageError, match="is a directory"):
        import_codecarbon_csv([tmp_path], ledger)
    assert ledger.count_runs() == 0


def test_job_option_and_tags(ledger: Ledger, tmp_path: Path) -> None:
    path = write(tmp_path / "v2.csv", HEADER_2_1, ROW_2_1)
    import_codecarbon_csv([path], ledger, job="nachtrun")
    run = ledger.get_run(run_id_for("cc2e23fa-52a8-4ea3-a4dc-f039451bcdc4"))
    assert run.job == "nachtrun"
    assert run.tags == {
        "source": SOURCE_TAG,
        "file": "v2.csv",
        "codecarbon_run_id": "cc2e23fa-52a8-4ea3-a4dc-f039451bcdc4",
        "codecarbon_project": "vertaler",
    }
    assert ledger.count_runs(RunFilter(tags={"source": SOURCE_TAG})) == 1


@pytest.fixture
def amsterdam_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Amsterdam")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("amsterdam_time")
def test_a_timestamp_without_offset_is_local_time(ledger: Ledger, tmp_path: Path) -> None:
    path = write(
        tmp_path / "lokaal.csv",
        "timestamp,project_name,run_id,duration,emissions,energy_consumed",
        "2026-11-01T10:00:00,p,winter,60,0.001,0.004",
        "2026-07-01T10:00:00,p,zomer,60,0.001,0.004",
    )
    import_codecarbon_csv([path], ledger)
    assert ledger.get_run(run_id_for("winter")).ended_at == datetime(2026, 11, 1, 9, tzinfo=UTC)
    assert ledger.get_run(run_id_for("zomer")).ended_at == datetime(2026, 7, 1, 8, tzinfo=UTC)


def test_many_rows_stream_in_batches(ledger: Ledger, tmp_path: Path) -> None:
    lines = ["timestamp,project_name,run_id,duration,emissions,energy_consumed"]
    lines += [f"2026-11-01T10:00:00+00:00,p,run-{n},1,0.001,0.004" for n in range(53)]
    path = write(tmp_path / "veel.csv", *lines)
    assert import_codecarbon_csv([path], ledger, batch_size=7).imported == 53
    assert ledger.count_runs() == 53


# -- the command ----------------------------------------------------------------------------


def invoke(ledger_url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["import", "codecarbon", *args], obj=AppState(ledger=ledger_url))


def test_cli_counts_bad_rows_and_exit_codes(ledger_url: str, tmp_path: Path) -> None:
    good = write(tmp_path / "v2.csv", HEADER_2_1, ROW_2_1)
    mixed = write(
        tmp_path / "mixed.csv",
        HEADER_1_X,
        ROW_1_X,
        "2021-06-01T08:00:00+00:00,oud,x,abc,0.0021,1.7e-05,0.0078,NL,NLD,,N,,",
    )
    bad = write(tmp_path / "bad.csv", HEADER_1_X, "not,a,row")

    first = invoke(ledger_url, str(good), str(mixed), "--job", "historie")
    assert first.exit_code == 0, first.output
    assert first.stdout == "imported 2 runs from 2 files; 0 duplicates skipped; 1 bad row\n"
    assert first.stderr == f"{mixed}:3: duration is not a number: 'abc'\n"

    again = invoke(ledger_url, str(good), "--job", "historie")
    assert again.exit_code == 0
    assert again.stdout.startswith("imported 0 runs from 1 file; 1 duplicate skipped")

    all_bad = invoke(ledger_url, str(bad))
    assert all_bad.exit_code == 1
    assert f"{bad}:2: has 3 fields where the header has 13" in all_bad.stderr

    missing = invoke(ledger_url, str(good), str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
    assert (
        missing.stderr == f"zuinig: {tmp_path / 'nope.csv'}: no such file; nothing was imported\n"
    )

    no_files = invoke(ledger_url)
    assert no_files.exit_code == 2

    with Ledger.open(ledger_url) as ledger:
        assert {run.job for run in ledger.list_runs()} == {"historie"}
