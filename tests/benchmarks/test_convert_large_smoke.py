"""The large-conversion benchmark still runs (tiny size); its 5 GB numbers are in reports/convert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "convert_large.py"


@pytest.mark.slow
def test_convert_large_benchmark_runs_at_smoke_size(tmp_path: Path) -> None:
    out, work = tmp_path / "convert", tmp_path / "work"
    work.mkdir()
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--size-gb",
            "0.01",
            "--out",
            str(out),
            "--work-dir",
            str(work),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    results = json.loads((out / "results.json").read_text())
    assert results["csv_bytes"] >= 10**7 and results["rows"] > 0
    assert 0 < results["parquet_bytes"] < results["csv_bytes"]
    assert 0 < results["peak_rss_bytes"] < results["peak_rss_target_bytes"]
    assert results["target_met"] and results["wall_s"] > 0
    assert results["run"]["status"] == "ok"
    assert "| peak RSS, whole process tree |" in (out / "README.md").read_text()
    assert list(work.iterdir()) == [], "the generated CSV and Parquet are deleted"
    # Polars and DuckDB converted the same file; the ratio is zuinig's to Polars'.
    for tool in ("polars", "duckdb"):
        other = results["others"][tool]
        assert other["wall_s"] > 0 and 0 < other["parquet_bytes"] < results["csv_bytes"]
        assert other["peak_rss_bytes"] > 0
    assert results["ratio_to_polars"] == results["wall_s"] / results["others"]["polars"]["wall_s"]
    assert isinstance(results["speed_target_met"], bool)
    assert "| zuinig / Polars wall time |" in (out / "README.md").read_text()


@pytest.mark.slow
def test_convert_large_benchmark_converts_a_tpch_lineitem(tmp_path: Path) -> None:
    out, work = tmp_path / "convert", tmp_path / "work"
    work.mkdir()
    arguments = ["--tpch", "0.002", "--repeat", "2", "--out", str(out), "--work-dir", str(work)]
    subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        check=True,
        capture_output=True,
        timeout=300,
    )
    results = json.loads((out / "results.json").read_text())
    assert results["tpch_scale"] == 0.002 and results["rows"] > 10_000
    assert results["run"]["status"] == "ok" and len(results["wall_s_all"]) == 2
    assert len(results["others"]["duckdb"]["wall_s_all"]) == 2
    assert results["wall_s"] == min(results["wall_s_all"])
    assert "TPC-H lineitem" in (out / "README.md").read_text()
