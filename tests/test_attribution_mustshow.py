"""Issue 11's "Must show": the figures of jobs that share a machine add up.

One run of ``benchmarks/attribution.py`` (four CPU-bound jobs side by side inside one
outer ``zuinig run``, estimated and under the simulated RAPL counter; two jobs holding
40 MB and 2,000 MB), then the issue's targets asserted on what it read from the ledger:

- the four inner runs sum to at most 1.10x the outer run, on both paths;
- every run under the simulated counter is labelled ``rapl``;
- the RAM power of the 2,000 MB job is at least 10x that of the 40 MB job.

Today's meter charges every job the machine's RAM minimum and, under RAPL, the whole
package, so the targets fail: those tests are marked ``xfail(strict=True)`` until the
attribution by resource lands, and then fail loudly, so whoever lands it removes the mark.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "attribution.py"

SUM_OVER_OUTER_MAX = 1.10
RAM_POWER_RATIO_MIN = 10.0

# The outer run also spans the start-up of the four inner zuinig processes (2 to 8 s on
# two busy cores), which no inner run covers. Jobs of 6 s keep today's sums well above
# the target even on a loaded machine (4 s jobs gave 1.37x under RAPL at load 5.6), so
# the expected failures are not luck. Writing 2,000 MB takes about 4 s in this VM, so the
# memory jobs last 6 s to stay of equal length.
JOB_S = 6.0
HOLD_S = 6.0

NOT_LANDED = pytest.mark.xfail(
    strict=True, raises=AssertionError, reason="issue 11: attribution by resource not landed yet"
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The benchmark's results at test size; fails (not xfails) when the harness itself fails."""
    folder = tmp_path_factory.mktemp("attribution")
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--only",
            "side-by-side",
            "--only",
            "memory",
            "--job-s",
            str(JOB_S),
            "--hold-s",
            str(HOLD_S),
            "--small-mb",
            "40",
            "--large-mb",
            "2000",
            "--ledger",
            f"sqlite:///{folder / 'ledger.sqlite'}",
            "--out",
            str(folder / "out"),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    loaded: dict[str, Any] = json.loads((folder / "out" / "results.json").read_text())
    for side in loaded["side_by_side"].values():
        if "skipped" not in side:
            # The set-up the figures rest on; a broken harness must not pass for the known gap.
            assert side["all_ok"], side
            assert side["jobs"] == 4 and side["inner_runs_nested_in_outer"] == 4, side
    return loaded


def _side(results: dict[str, Any], mode: str) -> dict[str, Any]:
    side: dict[str, Any] = results["side_by_side"][mode]
    if "skipped" in side:
        pytest.skip(f"simulated RAPL: {side['skipped']}")
    return side


@NOT_LANDED
def test_four_jobs_side_by_side_add_up_to_the_outer_run_estimated(
    results: dict[str, Any],
) -> None:
    side = _side(results, "estimated")
    assert side["sum_over_outer_energy"] <= SUM_OVER_OUTER_MAX


@NOT_LANDED
def test_four_jobs_side_by_side_add_up_to_the_outer_run_under_rapl(
    results: dict[str, Any],
) -> None:
    side = _side(results, "rapl")
    assert side["sum_over_outer_energy"] <= SUM_OVER_OUTER_MAX


def test_every_run_under_the_simulated_counter_is_labelled_rapl(results: dict[str, Any]) -> None:
    side = _side(results, "rapl")
    assert side["methods_cpu"] == ["rapl"]
    assert side["all_labelled_rapl"]


@NOT_LANDED
def test_ram_power_follows_the_memory_held(results: dict[str, Any]) -> None:
    memory = results["memory"]
    # The larger job really held its memory, or the ratio would prove nothing.
    assert memory["large"]["peak_rss_bytes"] >= 2000 * 2**20
    assert memory["ram_power_ratio"] >= RAM_POWER_RATIO_MIN
