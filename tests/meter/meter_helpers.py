"""Helpers for the meter tests: run a fresh process that measures one window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Runs in a fresh interpreter: one window with the CodeCarbon meter, then reports
# whether py-cpuinfo ran (CodeCarbon caches its answer in an lru_cache) and the method.
PROBE_SCRIPT = textwrap.dedent(
    """
    import json, time
    start = time.perf_counter()
    from zuinig.config import Settings
    from zuinig.meter.codecarbon import CodeCarbonMeter
    measurement = CodeCarbonMeter(Settings()).begin().end()
    elapsed_s = time.perf_counter() - start
    import sys
    codecarbon_imported = "codecarbon" in sys.modules
    from codecarbon.core.util import detect_cpu_model
    method = measurement.method
    print(json.dumps({
        "elapsed_s": elapsed_s,
        "codecarbon_imported": codecarbon_imported,
        "cpuinfo_ran": detect_cpu_model.cache_info().currsize > 0,
        "error": measurement.measurement_error,
        "energy_kwh": measurement.energy_kwh,
        "cpu_method": method.cpu_method,
        "cpu_model": method.cpu_model,
        "cpu_tdp_w": method.cpu_tdp_w,
        "cpu_tdp_is_generic": method.cpu_tdp_is_generic,
    }))
    """
)


@dataclass(frozen=True)
class ProbeRun:
    """What one fresh process reported after its first CodeCarbon window."""

    report: dict[str, Any]
    cache_home: Path

    @property
    def cache_dir(self) -> Path:
        """The directory CodeCarbonMeter uses for this XDG cache home."""
        return self.cache_home / "zuinig"


def run_probe_process(cache_home: Path, cwd: Path) -> dict[str, Any]:
    """Run :data:`PROBE_SCRIPT` in a fresh interpreter with its own cache home."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=True,
        timeout=120,
    )
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    report["stderr"] = completed.stderr
    return report
