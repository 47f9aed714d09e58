"""Shared set-up for the meter tests: one cold hardware probe per session, in a subprocess;
and a simulated RAPL counter (:mod:`rapl_sim`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import rapl_sim as rapl_sim_module
from meter_helpers import ProbeRun, run_probe_process


@pytest.fixture(scope="session")
def cold_probe(tmp_path_factory: pytest.TempPathFactory) -> ProbeRun:
    """A process that found no cached probe: it pays CodeCarbon's full detection once.

    The real-CodeCarbon tests then use its cache, so the test process never does.
    """
    cache_home = tmp_path_factory.mktemp("cache-home")
    report = run_probe_process(cache_home, cwd=tmp_path_factory.mktemp("cold-cwd"))
    return ProbeRun(report=report, cache_home=cache_home)


@pytest.fixture
def probe_cache_dir(cold_probe: ProbeRun) -> Path:
    """A hardware-probe cache directory that already holds this machine's probe."""
    return cold_probe.cache_dir


@pytest.fixture(scope="session")
def rapl_sim() -> rapl_sim_module.SimulatedRapl:
    """Runs commands under a simulated RAPL counter; skips where that cannot be made here."""
    reason = rapl_sim_module.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    return rapl_sim_module.SimulatedRapl()
