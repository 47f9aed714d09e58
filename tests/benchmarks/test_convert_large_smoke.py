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
