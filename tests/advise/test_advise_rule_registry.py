"""The advice rules (issue 14, item 7): one :class:`Rule` signature, one file per rule,
one list. A rule in a file of its own that is not in the list would never be asked; a
rule added to the list is asked for every job with the job's context and the advice of
the rules before it."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime, timedelta

import pytest

import zuinig.advise.ranking
from zuinig.advise import Recommendation, Records, recommend
from zuinig.advise.model import KIND_RUN_BENCH
from zuinig.advise.rules import RULES, JobContext
from zuinig.config import Settings
from zuinig.ledger import Run
from zuinig.meter.base import InputFile

START = datetime(2026, 11, 1, tzinfo=UTC)


def _runs() -> tuple[Run, ...]:
    data = InputFile(path="/data/verkopen.csv", size_bytes=50_000_000, format="csv")
    return tuple(
        Run(
            run_id=f"run-{day}",
            job="etl.verkopen.run",
            status="ok",
            started_at=START + timedelta(days=day),
            energy_kwh=1.0e-3 * (1 + day / 50),
            method_cpu="cpu_load",
            method_cpu_tdp_w=65.0,
            tracking_mode="process",
            inputs=(data,),
            engines={"pandas": "2.2"},
        )
        for day in range(6)
    )


def test_every_rule_module_registers_its_one_rule_once() -> None:
    package = importlib.import_module("zuinig.advise.rules")
    modules = [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if info.name != "base"
    ]
    assert len(modules) >= 6
    rules = [
        getattr(module, name)
        for module in modules
        for name in module.__all__
        if name.startswith("advise_")
    ]
    assert len(rules) == len(modules), "one rule per file"
    assert sorted(rule.__name__ for rule in rules) == sorted(rule.__name__ for rule in RULES)
    assert len(set(RULES)) == len(RULES)


def test_a_rule_in_the_list_is_asked_with_the_job_and_the_earlier_advice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[JobContext] = []

    def spy(job: JobContext) -> list[Recommendation]:
        seen.append(job)
        return [Recommendation(**job.shared_fields(), kind="spy", recommended=None, text="spied")]

    monkeypatch.setattr(zuinig.advise.ranking, "RULES", (*RULES, spy))
    advice = recommend(
        Records(runs=_runs()), Settings(), now=START + timedelta(days=6), with_realised=False
    )

    [job] = seen
    assert job.profile.job == "etl.verkopen.run" and job.profile.formats == ("csv",)
    assert job.view is None and job.current is None  # no benchmark in the records
    assert [r.kind for r in job.earlier] == [KIND_RUN_BENCH]  # what the rules before said
    assert [r.kind for r in advice.recommendations] == ["spy", KIND_RUN_BENCH]
    spied = advice.recommendations[0]
    assert spied.current == "csv + pandas" and spied.runs_per_month is not None


def test_without_a_benchmark_only_the_bench_rule_speaks() -> None:
    advice = recommend(Records(runs=_runs()), Settings(), now=START + timedelta(days=6))
    [only] = advice.recommendations
    assert only.kind == KIND_RUN_BENCH
    assert only.command == "zuinig bench --data /data/verkopen.csv --job etl.verkopen:run"
