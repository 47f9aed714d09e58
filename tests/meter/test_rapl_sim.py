"""The simulated RAPL counter: CodeCarbon itself reads it as RAPL, and zuinig labels such runs rapl.

These tests prove the test tool before other tests lean on it: CodeCarbon's own
OfflineEmissionsTracker (offline, no zuinig in between) must report its CPU mode as
``intel_rapl`` and measure about the energy the simulation put on the counters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import rapl_sim as rapl_sim_module
from rapl_sim import SimulatedRapl

# The simulated counters move every 10 ms and CodeCarbon's window is a couple of
# seconds, so the reading agrees with power x duration to within a few percent; 10%
# leaves room for a loaded 2-core machine delaying the writer thread.
ENERGY_TOLERANCE = 0.10

# Runs in the namespace: CodeCarbon alone, one tracker, about two seconds of sleep.
TRACKER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from codecarbon import OfflineEmissionsTracker
    package = "/sys/class/powercap/intel-rapl:0/"
    def counter(name):
        with open(package + name) as file:
            return int(file.read())
    tracker = OfflineEmissionsTracker(
        country_iso_code="NLD", save_to_file=False, log_level="error",
        tracking_mode="machine", allow_multiple_runs=True,
        rapl_include_dram=sys.argv[1] == "dram",
    )
    tracker.start()
    began = time.perf_counter()
    first_uj = counter("energy_uj")
    sleep_s = 2.0
    if sys.argv[2] == "across-wrap":
        # Until one second past the wrap, so the window surely spans it.
        sleep_s = (counter("max_energy_range_uj") - first_uj) / (float(sys.argv[3]) * 1e6) + 1.0
    time.sleep(min(sleep_s, 30.0))
    last_uj = counter("energy_uj")
    window_s = time.perf_counter() - began
    tracker.stop()
    data = tracker.final_emissions_data
    modes = [getattr(item, "_mode", None) for item in tracker._hardware]
    rapl = [item._intel_interface for item in tracker._hardware if hasattr(item, "_intel_interface")]
    print(json.dumps({
        "modes": modes, "details": rapl[0].get_static_cpu_details() if rapl else {},
        "cpu_energy_kwh": data.cpu_energy, "window_s": window_s,
        "wrapped": last_uj < first_uj,
    }))
    """
)


def _tracker_report(
    rapl_sim: SimulatedRapl,
    tmp_path: Path,
    variant: str,
    layout: str,
    wraps_after_s: float | None = None,
) -> dict:
    timing = "plain" if wraps_after_s is None else "across-wrap"
    completed = rapl_sim.run(
        [sys.executable, "-c", TRACKER_SCRIPT, variant, timing, repr(rapl_sim.package_w)],
        dram_layout=layout,
        env=_env(tmp_path),
        wraps_after_s=wraps_after_s,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _env(tmp_path: Path) -> dict[str, str]:
    # CodeCarbon writes a lock file and may read a .codecarbon.config in the working
    # directory; the test's own directory keeps both private.
    return {**os.environ, "PWD": str(tmp_path)}


def _assert_energy(report: dict, power_w: float) -> None:
    # The counter is read at the end of start() and the beginning of stop(): the window
    # between them, not CodeCarbon's duration (which also counts its hardware set-up).
    expected_kwh = power_w * report["window_s"] / 3.6e6
    assert report["cpu_energy_kwh"] == pytest.approx(expected_kwh, rel=ENERGY_TOLERANCE)


@pytest.mark.slow
def test_codecarbon_reads_the_simulated_package_counter(
    rapl_sim: SimulatedRapl, tmp_path: Path
) -> None:
    report = _tracker_report(rapl_sim, tmp_path, "package", "top")
    assert "intel_rapl" in report["modes"]
    _assert_energy(report, rapl_sim.package_w)


@pytest.mark.slow
def test_codecarbon_reads_the_top_level_dram_domain_but_leaves_it_out_of_energy(
    rapl_sim: SimulatedRapl, tmp_path: Path
) -> None:
    # CodeCarbon 3.3.2 with rapl_include_dram reads the DRAM domain (its delta is in the
    # CPU details as "dram") but sums only the "Processor Energy Delta_N" entries: the
    # DRAM energy is in no figure it reports. A meter that wants it reads it itself.
    report = _tracker_report(rapl_sim, tmp_path, "dram", "top")
    assert "intel_rapl" in report["modes"]
    expected_dram_kwh = rapl_sim.dram_w * report["window_s"] / 3.6e6
    assert report["details"]["dram"] == pytest.approx(expected_dram_kwh, rel=ENERGY_TOLERANCE)
    _assert_energy(report, rapl_sim.package_w)


@pytest.mark.slow
def test_codecarbon_skips_a_dram_subdomain_of_the_package(
    rapl_sim: SimulatedRapl, tmp_path: Path
) -> None:
    # A DRAM subdomain intel-rapl:0:0 (the layout of many Xeon servers) CodeCarbon treats
    # as part of the package: not read at all, even when asked.
    report = _tracker_report(rapl_sim, tmp_path, "dram", "sub")
    assert "intel_rapl" in report["modes"]
    assert "dram" not in report["details"]
    _assert_energy(report, rapl_sim.package_w)


@pytest.mark.slow
def test_codecarbon_reads_across_the_counter_wrapping_round(
    rapl_sim: SimulatedRapl, tmp_path: Path
) -> None:
    # The counters wrap at max_energy_range_uj 8 s in, after the tracker's start-up (1 to 3 s);
    # the window lasts until a second past the wrap. The energy must not go negative or vanish.
    report = _tracker_report(rapl_sim, tmp_path, "package", "top", wraps_after_s=8.0)
    assert report["wrapped"], "the window did not span the wrap: the tracker took over 8 s to start"
    assert "intel_rapl" in report["modes"]
    _assert_energy(report, rapl_sim.package_w)


def test_the_counters_advance_and_only_inside_the_namespace(
    rapl_sim: SimulatedRapl, tmp_path: Path
) -> None:
    outside_before = sorted(path.name for path in Path("/sys/class").iterdir())
    report_file = tmp_path / "sim.json"
    reader = textwrap.dedent(
        """
        import json, time
        from pathlib import Path
        base = Path("/sys/class/powercap/intel-rapl/subsystem")
        package = base / "intel-rapl:0"
        first = int((package / "energy_uj").read_text())
        time.sleep(0.5)
        second = int((package / "energy_uj").read_text())
        print(json.dumps({
            "names": sorted((p / "name").read_text().strip() for p in base.glob("intel-rapl:*")),
            "delta_uj": second - first,
            "max": int((package / "max_energy_range_uj").read_text()),
            "net": sorted(p.name for p in Path("/sys/class/net").iterdir()),
        }))
        """
    )
    completed = rapl_sim.run([sys.executable, "-c", reader], report=report_file)
    seen = json.loads(completed.stdout)
    assert seen["names"] == ["dram", "package-0"]
    # 0.5 s at 40 W is 20 J; the writer moves every 10 ms and sleep may overshoot.
    assert 0.8 * 20e6 <= seen["delta_uj"] <= 1.5 * 20e6
    assert seen["max"] == rapl_sim_module.MAX_ENERGY_RANGE_UJ
    # The real class entries are still reachable through their symlinks.
    assert seen["net"] == sorted(path.name for path in Path("/sys/class/net").iterdir())
    assert sorted(path.name for path in Path("/sys/class").iterdir()) == outside_before
    summary = json.loads(report_file.read_text())
    assert summary["domains"]["package-0"]["power_w"] == rapl_sim.package_w
    assert summary["elapsed_s"] >= 0.5


def test_the_exit_code_passes_through(rapl_sim: SimulatedRapl) -> None:
    with pytest.raises(subprocess.CalledProcessError) as failure:
        rapl_sim.run([sys.executable, "-c", "raise SystemExit(7)"])
    assert failure.value.returncode == 7


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mount namespaces are Linux's")
def test_it_refuses_to_mount_outside_a_private_namespace() -> None:
    # Asked to act as if already inside, from the host's own namespace: it must refuse
    # before touching /sys/class.
    own_namespace = rapl_sim_module.mount_namespace()
    script = rapl_sim_module.__file__
    completed = subprocess.run(
        [sys.executable, script, "--inside-namespace-of", own_namespace, "--", "true"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 1
    assert "refusing" in completed.stderr
    assert not Path("/sys/class/powercap/intel-rapl").exists() or Path(
        "/sys/class/powercap/intel-rapl"
    ).resolve().is_relative_to("/sys/devices")


@pytest.mark.slow
def test_zuinig_run_under_the_simulation_is_labelled_rapl(
    rapl_sim: SimulatedRapl, tmp_path: Path, sqlite_url: str
) -> None:
    job = [sys.executable, "-c", "import time; time.sleep(1)"]
    zuinig = [sys.executable, "-m", "zuinig", "--ledger", sqlite_url]
    rapl_sim.run([*zuinig, "run", "--quiet", "--job", "rapl-check", "--", *job], timeout_s=180)
    listed = subprocess.run(
        [*zuinig, "runs", "list", "--json"], capture_output=True, text=True, check=True, timeout=60
    )
    runs = json.loads(listed.stdout)
    assert [run["job"] for run in runs] == ["rapl-check"]
    assert runs[0]["status"] == "ok"
    assert runs[0]["method_cpu"] == "rapl"
