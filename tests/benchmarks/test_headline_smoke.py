"""The headline benchmark still runs (tiny size); its figures are in reports/, not asserted here."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "headline.py"


@pytest.mark.slow
def test_headline_benchmark_runs_at_smoke_size(tmp_path: Path) -> None:
    out = tmp_path / "headline"
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--scale",
            "0.01",
            "--rows",
            "10000",
            "--repeat",
            "2",
            # Two queries of each workload and no idle baseline: this checks that the
            # script runs end to end (both sessions, charts, page), not the figures.
            "--queries",
            "q1,q6",
            "--idle",
            "0",
            "--ledger",
            f"sqlite:///{tmp_path / 'ledger.sqlite'}",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    for workload in ("tpch", "groupby"):
        report = json.loads((out / workload / "results.json").read_text())
        assert report["workload"] == workload and report["results"]
        assert all(row["correct"] == "yes" for row in report["results"])
        assert (out / workload / "energy.svg").is_file()
        assert (out / workload / "energy_vs_time.svg").is_file()
    page = (out / "README.md").read_text()
    assert "csv + pandas" in page and "not RAPL" in page


def _headline_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("headline", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report(method: dict[str, Any], low: float | None, high: float | None) -> dict[str, Any]:
    row = {
        "label": "parquet-zstd + duckdb/default x2",
        "energy_kwh_median": 2.0e-3,
        "energy_kwh_ci": [1.9e-3, 2.1e-3],
        "energy_kwh_low_median": low,
        "energy_kwh_high_median": high,
        "duration_s_median": 1.0,
        "storage_bytes": 1_000_000,
        "correct": "yes",
    }
    return {
        "rows": 1000,
        "label": "group-by",
        "repeat": 2,
        "seed": 1,
        "session_id": "abc",
        "page_cache": "warm",
        "method": method,
        "machine": {},
        "totals": [row],
    }


@pytest.mark.parametrize(
    ("method", "low", "high", "shows"),
    [
        ({"meter": "codecarbon", "cpu_method": "cpu_load"}, 1.2e-3, 3.4e-3, True),
        ({"meter": "codecarbon", "cpu_method": "cpu_load"}, None, None, False),
        ({"meter": "codecarbon", "cpu_method": "rapl"}, 2.0e-3, 2.0e-3, False),
    ],
)
def test_the_markdown_table_shows_an_estimates_model_range_in_wh(
    method: dict[str, Any], low: float | None, high: float | None, shows: bool
) -> None:
    page = _headline_module().format_markdown({"groupby": _report(method, low, high)}, 60.0)
    header = next(line for line in page.splitlines() if line.startswith("| configuration"))
    row = next(line for line in page.splitlines() if line.startswith("| parquet-zstd"))
    assert "energy (Wh)" in header  # the unit of the largest figure, 2.0e-3 kWh or 3.4e-3 kWh
    assert "| 2 [1.9-2.1] |" in row
    assert ("model range (Wh)" in header) is shows
    assert ("| between 1.2 and 3.4 |" in row) is shows
    assert header.count("|") == row.count("|")
