"""The pytest plugin: ``pytest --zuinig``, energy budgets, xdist, and measuring that fails.

Each run of pytest here is a real one in a subprocess (pytester), with the plugin loaded
by ``-p zuinig.measure.pytest_plugin`` (as the ``pytest11`` entry point does once installed),
the real meter and a real SQLite ledger.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from zuinig.ledger import Ledger
from zuinig.ledger.model import KIND_TEST, KIND_TEST_SESSION, Run, RunFilter
from zuinig.measure.pytest_plugin import Budget, check_budget
from zuinig.meter.base import CPU_METHOD_CPU_LOAD, CPU_METHOD_RAPL, Measurement, Method

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parents[1]


def _installed_entry_points() -> dict[str, str]:
    return {
        point.name: point.value
        for point in metadata.entry_points(group="pytest11")
        if point.dist is not None and point.dist.name == "zuinig"
    }


# Installed, the entry point loads the plugin into every pytest run, these included;
# before that (a venv installed from an older checkout) it is named with -p. Naming it
# both ways would register it twice, which pytest refuses.
PLUGIN: tuple[str, ...] = (
    () if _installed_entry_points() else ("-p", "zuinig.measure.pytest_plugin")
)

TWO_TESTS = """
import pytest

def test_plain():
    assert sum(range(100_000)) > 0

@pytest.mark.energy_budget(kwh=1e-15)
def test_within_a_femtowatt_hour():
    assert sum(range(100_000)) > 0
"""


def runs_in(url: str) -> list[Run]:
    with Ledger.open(url) as ledger:
        return ledger.list_runs(RunFilter())


def run_pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider", *args, timeout=300)


# -- must show ------------------------------------------------------------------------------


def test_zuinig_records_each_test_and_a_budget_fails_its_test(
    pytester: pytest.Pytester, sqlite_url: str
) -> None:
    pytester.makepyfile(test_two=TWO_TESTS)
    result = run_pytest(pytester, "--zuinig", "--zuinig-ledger", sqlite_url)

    assert result.ret == 1
    result.stdout.fnmatch_lines(["*1 failed, 1 passed*"])
    result.stdout.fnmatch_lines(
        ["*energy_budget exceeded: energy * is over the budget of * (method: *"]
    )
    runs = runs_in(sqlite_url)
    tests = {run.job: run for run in runs if run.kind == KIND_TEST}
    (session,) = [run for run in runs if run.kind == KIND_TEST_SESSION]
    assert set(tests) == {
        "test_two.py::test_plain",
        "test_two.py::test_within_a_femtowatt_hour",
    }
    assert all(run.parent_run_id == session.run_id for run in tests.values())
    assert all(run.status == "ok" and (run.energy_kwh or 0) > 0 for run in tests.values())
    assert session.job == f"pytest:{pytester.path.name}"
    assert session.exit_code == 1
    # The session's window holds every test's: its energy is at least their sum.
    assert (session.energy_kwh or 0) >= sum(run.energy_kwh or 0 for run in tests.values())
    # The summary: each test with its figure, the session's total and method.
    result.stdout.fnmatch_lines(
        [
            "*zuinig: energy per test*",
            "*energy of each test's call, all 2 measured:*",
            "*Wh*test_two.py::test_*",
            "*Wh*test_two.py::test_*",
            "*the tests' calls together: *Wh",
            f"*session {session.run_id[:8]} (tests, fixtures and collection): *Wh*",
        ]
    )


# -- options --------------------------------------------------------------------------------


def test_tags_top_n_and_a_failing_test_stays_failed(
    pytester: pytest.Pytester, sqlite_url: str
) -> None:
    pytester.makepyfile(
        test_three="""
        def test_a(): pass
        def test_b(): pass
        def test_c(): assert 1 == 2, "the test's own failure"
        """
    )
    result = run_pytest(
        pytester,
        "--zuinig",
        "--zuinig-ledger",
        sqlite_url,
        "--zuinig-tag",
        "team=ruimte",
        "--zuinig-tag",
        "suite=snel",
        "--zuinig-top",
        "1",
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*the test's own failure*", "*1 failed, 2 passed*"])
    result.stdout.fnmatch_lines(["*the 1 highest of 3 measured:*"])
    runs = runs_in(sqlite_url)
    assert len(runs) == 4
    assert all(dict(run.tags) == {"team": "ruimte", "suite": "snel"} for run in runs)
    (failed,) = [run for run in runs if run.job.endswith("test_c")]
    assert (failed.status, failed.error_type) == ("error", "AssertionError")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--zuinig-tag", "team"),
            "*'team' is not key=value; write it as --zuinig-tag team=ruimte*",
        ),
        (("--zuinig-top", "-1"), "*--zuinig-top must be 0 (all) or more, got -1*"),
        (("--zuinig-ledger", "nonsense://x"), "*zuinig: *nonsense*"),
    ],
)
def test_bad_options_are_usage_errors(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    pytester.makepyfile(test_one="def test_one(): pass")
    result = run_pytest(pytester, "--zuinig", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_off_unless_asked_and_light_to_load(pytester: pytest.Pytester, sqlite_url: str) -> None:
    """Without --zuinig nothing is recorded and the meter, the ledger and the data engines
    are not even imported, except for a test with a budget, which is measured."""
    pytester.makepyfile(
        test_light="""
        import sys

        HEAVY = ("codecarbon", "sqlalchemy", "pandas", "polars", "rich")

        def test_nothing_heavy_is_loaded():
            assert [name for name in HEAVY if name in sys.modules] == []
        """
    )
    pytester.makepyfile(test_two=TWO_TESTS)
    result = run_pytest(pytester, "--zuinig-ledger", sqlite_url, "test_light.py")
    result.assert_outcomes(passed=1)
    assert "zuinig: energy per test" not in result.stdout.str()  # no summary

    result = run_pytest(pytester, "--zuinig-ledger", sqlite_url, "test_two.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*energy_budget exceeded*"])
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # nothing recorded


def test_a_bad_budget_mark_fails_its_test_with_one_clear_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marks="""
        import pytest

        @pytest.mark.energy_budget(kwh=-1)
        def test_negative(): pass

        @pytest.mark.energy_budget(joules=5)
        def test_unknown(): pass
        """
    )
    result = run_pytest(pytester)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*energy_budget kwh=-1 is not a positive number; write it as @pytest.mark.energy_budget(*",
            "*energy_budget takes only kwh, co2_kg and strict by name*",
        ]
    )


# -- measuring fails: no outcome changes ----------------------------------------------------

BROKEN_METERS = """
import pytest
import zuinig.meter
from zuinig.meter.base import Meter, Window


class BrokenWindow(Window):
    def end(self):
        raise RuntimeError("the window broke at its end")


class BrokenMeter(Meter):
    name = "broken"

    def __init__(self, where):
        self.where = where

    def begin(self, context=None):
        if self.where == "begin":
            raise RuntimeError("the meter broke at its start")
        return BrokenWindow()


def pytest_configure(config):
    where = config.getini("broken_at") or "begin"
    zuinig.meter.default_meter = lambda settings: BrokenMeter(where)


def pytest_addoption(parser):
    parser.addini("broken_at", "where the meter breaks")
"""

OUTCOMES = """
import pytest

def test_passes():
    pass

def test_fails():
    raise KeyError("its own error")

@pytest.mark.energy_budget(kwh=1e-15)
def test_with_a_budget():
    pass

@pytest.mark.xfail(strict=True)
def test_expected_to_fail():
    assert False
"""


@pytest.mark.parametrize("broken_at", ["begin", "end"])
@pytest.mark.parametrize("zuinig", [True, False], ids=["--zuinig", "budget-only"])
def test_a_meter_that_raises_changes_no_outcome(
    pytester: pytest.Pytester, sqlite_url: str, broken_at: str, zuinig: bool
) -> None:
    pytester.makeconftest(BROKEN_METERS)
    pytester.makeini(f"[pytest]\nbroken_at = {broken_at}\nfilterwarnings = error\n")
    pytester.makepyfile(test_outcomes=OUTCOMES)
    args = ["--zuinig-ledger", sqlite_url, *(["--zuinig"] if zuinig else [])]
    result = run_pytest(pytester, *args)

    result.assert_outcomes(passed=2, failed=1, xfailed=1)
    result.stdout.fnmatch_lines(["*KeyError: 'its own error'*"])
    result.stdout.fnmatch_lines(
        ["*energy budget not checked: test_outcomes.py::test_with_a_budget*"]
    )
    if zuinig:  # the runs are still recorded, without energy, saying why
        runs = runs_in(sqlite_url)
        tests = [run for run in runs if run.kind == KIND_TEST]
        assert len(tests) == 4
        assert all(run.energy_kwh is None for run in runs)


# -- xdist ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_xdist_workers_record_their_own_runs(pytester: pytest.Pytester, sqlite_url: str) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(
        test_many="\n".join(f"def test_{i}():\n    assert sum(range(10_000))\n" for i in range(6))
    )
    result = run_pytest(pytester, "-n", "2", "--zuinig", "--zuinig-ledger", sqlite_url)
    result.assert_outcomes(passed=6)
    runs = runs_in(sqlite_url)
    sessions = [run for run in runs if run.kind == KIND_TEST_SESSION]
    (controller,) = [run for run in sessions if run.parent_run_id is None]
    workers = [run for run in sessions if run.parent_run_id == controller.run_id]
    assert sorted(run.tags["xdist_worker"] for run in workers) == ["gw0", "gw1"]
    assert {run.pid for run in workers} | {controller.pid} == {run.pid for run in sessions}
    assert len({run.pid for run in sessions}) == 3  # each in its own process
    tests = [run for run in runs if run.kind == KIND_TEST]
    assert sorted(run.job for run in tests) == [f"test_many.py::test_{i}" for i in range(6)]
    worker_ids = {run.run_id for run in workers}
    assert all(run.parent_run_id in worker_ids for run in tests)
    # The controller's summary lists the workers' tests.
    result.stdout.fnmatch_lines(["*energy of each test's call, all 6 measured:*"])


# -- the budget rule ------------------------------------------------------------------------


def measurement(cpu_method: str, energy_kwh: float | None, **fields: Any) -> Measurement:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return Measurement(
        started_at=now,
        ended_at=now,
        duration_s=1.0,
        energy_kwh=energy_kwh,
        method=Method(meter="test", cpu_method=cpu_method),
        **fields,
    )


def test_a_measured_figure_over_its_budget_names_figure_budget_and_method() -> None:
    over, unchecked = check_budget(Budget(kwh=0.001), measurement(CPU_METHOD_RAPL, 0.002))
    assert unchecked is None
    assert over is not None
    assert "energy 2 Wh is over the budget of 1 Wh" in over
    assert "(method: measured (rapl))" in over
    assert check_budget(Budget(kwh=0.003), measurement(CPU_METHOD_RAPL, 0.002)) == (None, None)


def test_an_estimates_upper_bound_counts_only_when_strict() -> None:
    estimate = measurement(
        CPU_METHOD_CPU_LOAD, 0.0008, energy_kwh_low=0.0004, energy_kwh_high=0.0015
    )
    assert check_budget(Budget(kwh=0.001), estimate) == (None, None)
    over, _ = check_budget(Budget(kwh=0.001, strict=True), estimate)
    assert over is not None
    assert "energy's upper bound (strict), 1.5 Wh, is over the budget of 1 Wh" in over
    assert "(method: estimated (cpu_load, between 0.4 and 1.5 Wh))" in over
    # A measured figure has no bound to count: strict changes nothing.
    rapl = measurement(CPU_METHOD_RAPL, 0.0008, energy_kwh_low=0.0008, energy_kwh_high=0.0015)
    assert check_budget(Budget(kwh=0.001, strict=True), rapl) == (None, None)


def test_co2_budget_and_a_missing_figure() -> None:
    over, _ = check_budget(Budget(co2_kg=1e-6), measurement(CPU_METHOD_RAPL, 1.0, co2_kg=2e-6))
    assert over is not None and "CO2e 2 mg CO₂e is over the budget of 1 mg CO₂e" in over
    failed = measurement(CPU_METHOD_RAPL, None, measurement_error="tracker died")
    assert check_budget(Budget(kwh=1e-9), failed) == (
        None,
        "energy not measured (tracker died)",
    )


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((0.1,), {}),
        ((), {"kwh": 0}),
        ((), {"kwh": float("nan")}),
        ((), {"kwh": "1"}),
        ((), {"kwh": True}),
        ((), {"kwh": 1, "strict": "yes"}),
        ((), {"kwh": 1, "wh": 5}),
    ],
)
def test_bad_marks_are_refused(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=re.escape("write it as @pytest.mark.energy_budget")):
        Budget.from_arguments(args, kwargs)


# -- the entry point ------------------------------------------------------------------------


def test_the_entry_point_is_declared_and_installed() -> None:
    """pyproject declares the plugin for pytest11, and the installed zuinig has it (a venv
    installed before it was declared fails here: reinstall, pip install -e .)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = project["project"]["entry-points"]["pytest11"]
    assert declared == {"zuinig": "zuinig.measure.pytest_plugin"}
    assert _installed_entry_points() == declared


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, zuinig.measure.pytest_plugin; "
        "print(sorted(m for m in ('codecarbon', 'sqlalchemy', 'pandas', 'polars', 'rich', "
        "'click', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_xdist_a_broken_meter_changes_no_outcome_and_the_controller_says_so(
    pytester: pytest.Pytester, sqlite_url: str
) -> None:
    pytest.importorskip("xdist")
    pytester.makeconftest(BROKEN_METERS)
    pytester.makeini("[pytest]\nbroken_at = end\n")
    pytester.makepyfile(test_outcomes=OUTCOMES)
    result = run_pytest(pytester, "-n", "2", "--zuinig-ledger", sqlite_url)
    result.assert_outcomes(passed=2, failed=1, xfailed=1)
    result.stdout.fnmatch_lines(
        ["*energy budget not checked: test_outcomes.py::test_with_a_budget*"]
    )


def test_runs_of_the_tested_code_are_children_of_the_tests_run(
    pytester: pytest.Pytester, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZUINIG_LEDGER", sqlite_url)  # the usual setting, no --zuinig-ledger
    pytester.makepyfile(
        test_job="""
        import zuinig

        @zuinig.measure(job="laden")
        def laden():
            return sum(range(10_000))

        def test_laden():
            assert laden() == 49995000
        """
    )
    run_pytest(pytester, "--zuinig").assert_outcomes(passed=1)
    by_kind = {run.kind: run for run in runs_in(sqlite_url)}
    assert set(by_kind) == {KIND_TEST_SESSION, KIND_TEST, "function"}
    assert by_kind["function"].job == "laden"
    assert by_kind["function"].parent_run_id == by_kind[KIND_TEST].run_id
    assert by_kind[KIND_TEST].parent_run_id == by_kind[KIND_TEST_SESSION].run_id
