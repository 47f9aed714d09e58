"""The bench table shows an estimate's model range per call beside its statistical
interval (issue 11, item 4); a measured session shows none (its range is its reading)."""

from __future__ import annotations

from typing import Any

from zuinig.bench.runner import BenchReport
from zuinig.bench.text import format_table, is_estimated, method_label

ESTIMATED = {"meter": "codecarbon 3.3.2", "cpu_method": "cpu_load", "in_words": "estimated"}
MEASURED = {"meter": "codecarbon 3.3.2", "cpu_method": "rapl", "in_words": "RAPL"}


def _row(label: str, low: float | None, high: float | None) -> dict[str, Any]:
    return {
        "format": "csv",
        "engine": "pandas",
        "mode": "default",
        "threads": 1,
        "query": "all",
        "label": label,
        "energy_kwh_median": 2.3e-3,
        "energy_kwh_ci": [2.1e-3, 2.5e-3],
        "energy_kwh_low_median": low,
        "energy_kwh_high_median": high,
        "ratio_vs_baseline": 1.0,
        "ratio_vs_baseline_ci": [0.9, 1.1],
        "duration_s_median": 1.5,
        "cpu_s_median": 1.2,
        "storage_bytes": 1000,
        "correct": True,
        "status": "ok",
    }


def _report(method: dict[str, Any], rows: list[dict[str, Any]]) -> BenchReport:
    # Built as the --json object, then read back as the renderers take it.
    return BenchReport.from_dict(
        {
            "session_id": "0123456789abcdef",
            "status": "ok",
            "started_at": "2026-12-01T09:00:00+00:00",
            "results": [],
            "workload": "groupby",
            "rows": 1000,
            "repeat": 3,
            "seed": 1,
            "wall_s": 12.0,
            "label": "groupby",
            "page_cache": "warm",
            "method": method,
            "totals": rows,
            "imports": [],
        }
    )


def test_an_estimated_session_shows_each_configurations_model_range() -> None:
    rows = [_row("csv + pandas", 1.2e-3, 3.4e-3), _row("parquet + duckdb", None, None)]
    lines = format_table(_report(ESTIMATED, rows))
    header = next(line for line in lines if line.startswith("configuration"))
    # One unit for the table, chosen by its largest energy (3.4e-3 kWh): Wh.
    assert "energy (Wh) [95% CI]" in header and "model range (Wh)" in header
    csv_line = next(line for line in lines if "csv + pandas" in line)
    assert "2.3 [2.1-2.5]" in csv_line
    assert "between 1.2 and 3.4" in csv_line
    parquet_line = next(line for line in lines if "parquet + duckdb" in line)
    assert "between" not in parquet_line


def test_a_measured_session_or_one_without_ranges_has_no_range_column() -> None:
    ranged = [_row("csv + pandas", 2.3e-3, 2.3e-3)]
    assert not any("model range" in line for line in format_table(_report(MEASURED, ranged)))
    bare = [_row("csv + pandas", None, None)]
    assert not any("model range" in line for line in format_table(_report(ESTIMATED, bare)))


def test_measured_or_estimated_follows_the_stored_cpu_method() -> None:
    assert is_estimated(ESTIMATED) and not is_estimated(MEASURED)
    assert is_estimated({"estimated": True}) and not is_estimated({"estimated": False})
    assert method_label(MEASURED).startswith("measured")
