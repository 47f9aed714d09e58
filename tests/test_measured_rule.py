"""``Method.is_measured`` is the one rule for "measured or estimated" (issue 11, item 5).

Each place that says whether a figure was measured asks it: widening the set of
measured CPU methods to include ``cpu_load`` must turn a ``cpu_load`` run into a
measured one everywhere, and nothing else may still say "estimated".
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from zuinig.bench import text as bench_text
from zuinig.cli import text
from zuinig.ledger.model import Run
from zuinig.meter import base
from zuinig.report import aggregate

RUN = Run(
    run_id="rule-0001",
    job="woningbouwmonitor",
    status="ok",
    started_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
    duration_s=10.0,
    energy_kwh=1e-4,
    method_meter="codecarbon 3.3.2",
    method_cpu="cpu_load",
    method_cpu_tdp_w=65.0,
)
SESSION_METHOD = {"meter": "codecarbon 3.3.2", "cpu_method": "cpu_load", "estimated": True}


def _everyone_says_estimated() -> list[bool]:
    return [
        bool(RUN.is_estimated),
        bench_text.is_estimated(SESSION_METHOD),
        aggregate._method_class("cpu_load", "codecarbon 3.3.2") == aggregate.METHOD_ESTIMATED,
        any(line.startswith("estimated:") for line in text.format_runs_table([RUN])),
        "estimated (cpu_load" in _line(text.format_run(RUN), "cpu_energy_kwh"),
    ]


def _line(lines: list[str], name: str) -> str:
    return next(line for line in lines if line.strip().startswith(name))


def test_a_cpu_load_run_is_estimated_everywhere() -> None:
    assert _everyone_says_estimated() == [True] * 5


def test_every_place_follows_method_is_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "MEASURED_CPU_METHODS", frozenset({"rapl", "cpu_load"}))
    assert base.Method(meter="x", cpu_method="cpu_load").is_measured
    assert _everyone_says_estimated() == [False] * 5
    assert aggregate._method_class("cpu_load", "codecarbon 3.3.2") == aggregate.METHOD_MEASURED
    assert "measured (cpu_load)" in _line(text.format_run(RUN), "cpu_energy_kwh")
