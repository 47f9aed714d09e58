"""Exports: the same columns in CSV, Parquet and JSON, read back intact, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ledger_helpers import full_run

from zuinig.ledger import Run, export
from zuinig.ledger.export import EXPORT_COLUMNS, export_runs
from zuinig.ledger.model import RUN_FIELDS

RUNS = [
    full_run("e1"),
    Run(run_id="e2", job="bare", status="running", started_at=full_run("x").started_at),
]


def test_columns_are_the_run_fields_then_derived() -> None:
    assert (*RUN_FIELDS, "power_w", "is_estimated") == EXPORT_COLUMNS
    assert set(EXPORT_COLUMNS) == set(RUNS[0].to_dict())


def test_json(tmp_path: Path) -> None:
    path = export_runs(RUNS, tmp_path / "runs.json", "json")
    records = json.loads(path.read_text(encoding="utf-8"))
    assert [list(record) for record in records] == [list(EXPORT_COLUMNS)] * 2
    assert [Run.from_dict(record) for record in records] == RUNS
    assert records[0]["tags"] == {"team": "ruimte", "env": "prod"}  # native, not text


def test_csv(tmp_path: Path) -> None:
    path = export_runs(RUNS, tmp_path / "runs.csv", "csv")
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    assert tuple(frame.columns) == EXPORT_COLUMNS
    first = frame.iloc[0]
    assert json.loads(first["tags"]) == {"team": "ruimte", "env": "prod"}
    assert json.loads(first["engines"]) == {"duckdb": "1.1.0", "polars": "1.9.0"}
    assert json.loads(first["inputs"])[0]["path"] == "/data/a.parquet"
    assert first["started_at"] == "2026-11-03T09:30:15.123456+00:00"
    assert float(first["energy_kwh"]) == RUNS[0].energy_kwh
    assert int(first["peak_rss_bytes"]) == 5_000_000_000
    assert first["error_message"] == RUNS[0].error_message  # non-ASCII survives
    assert frame.iloc[1]["energy_kwh"] == ""  # None is an empty cell


def test_parquet(tmp_path: Path) -> None:
    path = export_runs(RUNS, tmp_path / "runs.parquet", "parquet")
    table = pq.read_table(path)
    assert tuple(table.column_names) == EXPORT_COLUMNS
    assert table.schema.field("started_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("peak_rss_bytes").type == pa.int64()
    assert table.schema.field("method_cpu_tdp_is_generic").type == pa.bool_()
    rows = table.to_pylist()
    assert rows[0]["started_at"] == RUNS[0].started_at
    assert rows[0]["energy_kwh"] == RUNS[0].energy_kwh
    assert json.loads(rows[0]["tags"]) == dict(RUNS[0].tags)
    assert rows[1]["energy_kwh"] is None
    # Every value comes back: rebuild the runs from the table.
    for row, run in zip(rows, RUNS, strict=True):
        for name in ("tags", "inputs", "engines"):
            row[name] = json.loads(row[name])
        assert Run.from_dict(row) == run


@pytest.mark.parametrize("format", export.FORMATS)
def test_no_runs_still_gives_a_readable_file(tmp_path: Path, format: str) -> None:
    path = export_runs([], tmp_path / f"empty.{format}", format)
    if format == "parquet":
        assert pq.read_table(path).num_rows == 0
    elif format == "csv":
        assert path.read_text(encoding="utf-8").strip() == ",".join(EXPORT_COLUMNS)
    else:
        assert json.loads(path.read_text(encoding="utf-8")) == []


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="csv, parquet, json"):
        export_runs(RUNS, tmp_path / "x.xlsx", "xlsx")


def test_a_failed_export_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "runs.csv"
    target.write_text("old", encoding="utf-8")

    def explode(records: object, path: Path) -> None:
        path.write_text("half", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(export, "_write_csv", explode)
    with pytest.raises(OSError, match="disk full"):
        export_runs(RUNS, target, "csv")
    assert target.read_text(encoding="utf-8") == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["runs.csv"]
