"""``ledger_overhead.py`` still runs (tiny sizes), so the measurement script does not rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ledger_helpers import child_env


@pytest.mark.slow
def test_overhead_script_runs_quick() -> None:
    script = Path(__file__).with_name("ledger_overhead.py")
    result = subprocess.run(
        [sys.executable, str(script), "--quick"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["ledger_open_ms_median"] > 0
    assert figures["write_pair_ms_median"] > 0
    assert figures["concurrent_s"] > 0
