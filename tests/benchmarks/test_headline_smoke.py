"""The headline benchmark still runs (tiny size); its figures are in reports/, not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
