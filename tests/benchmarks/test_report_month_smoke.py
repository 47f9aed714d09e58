"""The report-at-scale benchmark still runs (tiny size); its 1,000,000-run numbers are in
reports/report-scale, not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "report_month.py"


def test_report_month_benchmark_runs_at_smoke_size(tmp_path: Path) -> None:
    out = tmp_path / "report-scale"
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--runs",
            "200",
            "--out",
            str(out),
            "--work-dir",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    results = json.loads((out / "results.json").read_text())
    assert results["runs"] == 200 and results["advice"] is True
    assert 0 < results["top_level_runs"] <= 200 and results["jobs"] > 0
    assert results["phases"]["build_report_s"] > 0 and results["phases"]["write_csv_s"] > 0
    assert results["file_bytes"]["appendix.csv"] > 0
    assert "| build report |" in (out / "README.md").read_text()
