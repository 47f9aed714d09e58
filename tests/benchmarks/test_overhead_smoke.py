"""The overhead benchmark still runs (tiny size); its numbers are in reports/, not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "overhead.py"


@pytest.mark.slow
def test_overhead_benchmark_runs_at_smoke_size(tmp_path: Path) -> None:
    out = tmp_path / "overhead"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--processes", "1", "--calls", "3", "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    results = json.loads((out / "results.json").read_text())
    assert set(results["summary"]) == {
        "zuinig @measure",
        "zuinig meter window",
        "codecarbon track_emissions",
        "zuinig @measure, cold machine",
    }
    for summary in results["summary"].values():
        assert summary["later_calls"] == 3
        assert summary["first_call_median_s"] > 0
    assert "| zuinig @measure |" in (out / "README.md").read_text()
