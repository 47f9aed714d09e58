"""The CodeCarbon source under a simulated RAPL counter (package 40 W, DRAM 6 W).

Each test runs a short script inside the simulation's private mount namespace
(``tests/meter/rapl_sim.py``; skipped where root or ``unshare`` is missing), with its
own hardware-probe cache, and reads back what the meter measured.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from rapl_sim import SimulatedRapl

from zuinig.meter.base import ATTRIBUTION_MACHINE, ATTRIBUTION_RESOURCE_SHARE, CPU_METHOD_RAPL

# The simulated counters advance in steps from a background thread; the window's two
# readings land between steps.
TOLERANCE = 0.1

_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from zuinig.config import Settings
    from zuinig.meter.codecarbon import CodeCarbonMeter
    meter = CodeCarbonMeter(Settings(tracking_mode=sys.argv[1]))
    meter.begin().end()  # detection happens here, not in the measured window
    window = meter.begin()
    if sys.argv[2] == "spin":
        end = time.process_time() + 1.0
        while time.process_time() < end:
            pass
    else:
        time.sleep(1.0)
    m = window.end()
    print(json.dumps({
        "error": m.measurement_error, "duration_s": m.duration_s,
        "energy_kwh": m.energy_kwh, "low": m.energy_kwh_low, "high": m.energy_kwh_high,
        "cpu_kwh": m.cpu_energy_kwh, "ram_kwh": m.ram_energy_kwh, "cpu_share": m.cpu_share,
        "cpu_s": m.cpu_s,
        "cpu_method": m.method.cpu_method, "attribution": m.method.attribution,
        "ram_model": m.method.ram_model, "measured": m.method.is_measured,
    }))
    """
)


def _measure(rapl_sim: SimulatedRapl, tmp_path: Path, mode: str, work: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PWD": str(tmp_path),
    }
    done = rapl_sim.run([sys.executable, "-c", _SCRIPT, mode, work], env=env)
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["error"] is None, report
    return report


@pytest.mark.slow
def test_machine_mode_charges_the_package_and_dram_counters(
    rapl_sim: SimulatedRapl, tmp_path: Path
) -> None:
    report = _measure(rapl_sim, tmp_path, "machine", "sleep")
    assert report["cpu_method"] == CPU_METHOD_RAPL and report["measured"]
    assert report["attribution"] == ATTRIBUTION_MACHINE
    cpu_w = report["cpu_kwh"] * 3.6e6 / report["duration_s"]
    ram_w = report["ram_kwh"] * 3.6e6 / report["duration_s"]
    assert cpu_w == pytest.approx(rapl_sim.package_w, rel=TOLERANCE)
    assert ram_w == pytest.approx(rapl_sim.dram_w, rel=TOLERANCE)
    assert "RAPL DRAM" in report["ram_model"]
    # A reading's range is the reading.
    assert report["low"] == report["high"] == report["energy_kwh"]


@pytest.mark.slow
def test_resource_share_charges_the_jobs_part_of_the_package(
    rapl_sim: SimulatedRapl, tmp_path: Path
) -> None:
    spinning = _measure(rapl_sim, tmp_path, "process", "spin")
    sleeping = _measure(rapl_sim, tmp_path, "process", "sleep")
    for report in (spinning, sleeping):
        assert report["cpu_method"] == CPU_METHOD_RAPL
        assert report["attribution"] == ATTRIBUTION_RESOURCE_SHARE
        # Never more than the package drew over the window.
        cpu_w = report["cpu_kwh"] * 3.6e6 / report["duration_s"]
        assert cpu_w <= rapl_sim.package_w * (1 + TOLERANCE)
        # The job's part is its share of what the package drew over its window.
        package_kwh = rapl_sim.package_w * report["duration_s"] / 3.6e6
        assert report["cpu_kwh"] == pytest.approx(
            report["cpu_share"] * package_kwh, rel=TOLERANCE, abs=1e-9
        )
    assert spinning["cpu_share"] > 0.05  # the machine is shared: other processes take CPU too
    # A sleeping job's share is not compared with a spinning one's: on an otherwise idle
    # machine the rule charges a job the idle draw too, so even a sleeper that used a few
    # milliseconds of CPU may carry most of a constant simulated package. Its CPU time is.
    assert sleeping["cpu_s"] < 0.25 * spinning["cpu_s"]
    # Memory held by one small process is a sliver of the machine's DRAM energy.
    dram_kwh = rapl_sim.dram_w * spinning["duration_s"] / 3.6e6
    assert 0 < spinning["ram_kwh"] < 0.1 * dram_kwh
