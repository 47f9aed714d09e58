"""The attribution benchmark still runs (tiny size); its figures are in reports/, not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "attribution.py"


@pytest.mark.slow
def test_attribution_benchmark_runs_at_smoke_size(tmp_path: Path, sqlite_url: str) -> None:
    out = tmp_path / "attribution"
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--job-s",
            "0.5",
            "--hold-s",
            "0.5",
            "--large-mb",
            "60",
            "--fixed-runs",
            "1",
            "--idle-s",
            "0.5",
            "--rapl",
            "off",
            "--ledger",
            sqlite_url,
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    results = json.loads((out / "results.json").read_text())
    estimated = results["side_by_side"]["estimated"]
    assert estimated["jobs"] == 4 and estimated["all_ok"]
    assert estimated["inner_runs_nested_in_outer"] == 4
    assert estimated["sum_over_outer_energy"] > 0
    assert results["side_by_side"]["rapl"] == {"skipped": "--rapl off"}
    memory = results["memory"]
    assert memory["large"]["peak_rss_bytes"] > memory["small"]["peak_rss_bytes"]
    assert memory["ram_power_ratio"] > 0
    assert results["baseline"]["fixed_runs"] == 1
    readme = (out / "README.md").read_text()
    assert "| estimated |" in readme and "RAM power ratio" in readme
