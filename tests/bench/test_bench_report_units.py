"""The bench table is written for a person: one energy unit per table, chosen by its
largest figure, three significant digits, never exponent notation; ratios stay plain."""

from __future__ import annotations

from typing import Any

import pytest

from zuinig.bench.runner import BenchReport
from zuinig.bench.text import format_table
from zuinig.units import format_number

MEASURED = {"meter": "codecarbon 3.3.2", "cpu_method": "rapl", "in_words": "RAPL"}


def _row(label: str, energy_kwh: float, ratio: float | None) -> dict[str, Any]:
    return {
        "format": "csv",
        "engine": "pandas",
        "mode": "default",
        "threads": 1,
        "query": "all",
        "label": label,
        "energy_kwh_median": energy_kwh,
        "energy_kwh_ci": [energy_kwh * 0.9, energy_kwh * 1.1],
        "ratio_vs_baseline": ratio,
        "ratio_vs_baseline_ci": None if ratio is None else [ratio * 0.5, ratio * 2],
        "duration_s_median": 0.000123,
        "cpu_s_median": 1234.5,
        "storage_bytes": 1000,
        "correct": "yes",
        "status": "ok",
    }


def _report(rows: list[dict[str, Any]]) -> BenchReport:
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
            "method": MEASURED,
            "totals": rows,
            "idle_baseline": {"energy_kwh_per_s": 1.4e-8, "power_w": 0.0504, "duration_s": 3.0},
            "imports": [
                {"engine": "duckdb", "mode": "default", "threads": 1, "energy_kwh_median": 1.11e-7},
            ],
            "prepare": [{"format": "csv", "storage_bytes": 2000, "energy_kwh": 2.5e-6}],
        }
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(8.2e-10, "0.00000000082"), (0.0123456, "0.0123"), (4.5, "4.5"), (1234.5, "1,234"), (0, "0")],
)
def test_a_number_for_a_person_has_three_significant_digits_and_no_exponent(
    value: float, text: str
) -> None:
    assert format_number(value) == text


def test_the_table_shows_all_energies_in_the_unit_of_its_largest_figure() -> None:
    # 8.2e-10 kWh is 0.82 µWh; the largest figure, 2.2e-9 kWh (an interval end), is 2.2 µWh.
    rows = [_row("csv + pandas", 2.0e-9, 1.0), _row("parquet + duckdb", 8.2e-10, 0.41)]
    lines = format_table(_report(rows))
    header = next(line for line in lines if line.startswith("configuration"))
    assert "energy (µWh) [95% CI]" in header and "time (s)" in header
    duckdb = next(line for line in lines if "parquet + duckdb" in line)
    assert "0.82 [0.738-0.902]" in duckdb
    assert "0.41x [0.205x-0.82x]" in duckdb  # a ratio stays a plain number
    assert "0.000123" in duckdb and "1,234" in duckdb  # times: 3 significant digits
    assert not any("e-" in line for line in lines), "\n".join(lines)


def test_a_larger_session_switches_the_whole_column_to_a_larger_unit() -> None:
    rows = [_row("csv + pandas", 2.0e-3, 1.0), _row("parquet + duckdb", 8.2e-7, None)]
    lines = format_table(_report(rows))
    header = next(line for line in lines if line.startswith("configuration"))
    assert "energy (Wh) [95% CI]" in header
    duckdb = next(line for line in lines if "parquet + duckdb" in line)
    assert "0.00082 [0.000738-0.000902]" in duckdb  # same unit as the column, not mWh


def test_the_sentences_under_the_table_name_their_own_unit() -> None:
    lines = format_table(_report([_row("csv + pandas", 2.0e-9, 1.0)]))
    assert "idle machine: 14 µWh per s (0.0504 W) over 3 s" in lines
    assert any(line.startswith("importing duckdb/default: 111 µWh,") for line in lines)
    assert "format csv: 2.0 KB (written: 2.5 mWh)" in lines
