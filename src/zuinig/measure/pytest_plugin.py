"""The pytest plugin: ``pytest --zuinig`` records the energy of each test; energy budgets.

Installed with zuinig (entry point ``pytest11``), so it is loaded into every pytest run,
zuinig's own and pytest-xdist's workers included. Loading it is therefore cheap: this
module imports only pytest and ``zuinig``'s light modules; the meter (CodeCarbon), the
ledger (SQLAlchemy) and the texts are imported when a test is measured. It is off unless
asked:

- ``pytest --zuinig`` records each test as a run of kind ``test`` whose job is the test's
  node id, all under one run of kind ``test-session`` (job ``pytest:<rootdir name>``, or
  the CI job's name, see :mod:`zuinig.run_context`). ``--zuinig-tag KEY=VALUE``
  (repeatable) tags them all; the ledger is the usual one (``ZUINIG_LEDGER``, the
  settings file) unless ``--zuinig-ledger URL`` names another. At the end a summary like
  ``--durations``: the ``--zuinig-top N`` tests that used most energy (default 10, 0 for
  all) and the session's total with its range and method.
- ``@pytest.mark.energy_budget(kwh=..., co2_kg=..., strict=False)`` fails a test whose
  figure is over the budget, naming the figure, the budget and the method. A measured
  figure counts as read; for an estimate its central figure counts, and with
  ``strict=True`` its upper bound. A test with this mark is measured even without
  ``--zuinig`` (a budget nobody checks is worse than none); it is then not recorded in
  the ledger: only ``--zuinig`` writes runs.

What a test's run covers: the *call* phase only, the test function's body, as
``--durations`` lists it apart from set-up and tear-down. Fixtures are left out because
a fixture shared by many tests (a session-scoped data set) would otherwise be charged
to whichever test happened to need it first. The session run covers everything, fixtures
and collection included, so the tests' figures add up to less than the session's.

Runs that the code under test records itself (``@measure`` in the tested job) become
children of the test's run, by the usual nesting rule: the test's window already holds
their energy, and totals sum top-level runs only, so nothing is counted twice. A test
that asserts its own runs have no parent sees the test's run as their parent under
``--zuinig``.

Measuring never changes a test's outcome: the test's result and exceptions pass through
unchanged, and a failure of the meter or the ledger is one line in the summary (the runs
wait in the spool, as with ``@measure``). A budget that could not be checked (the figure
is missing) fails nothing; the summary says so.

pytest-xdist: each worker records its own session run (a child of the controller's,
whose window covers the workers' processes) and its tests' runs; the controller's
summary lists them all (the workers send their figures at the end).

Where it lives: with the other ways of measuring, in :mod:`zuinig.measure`; pytest
finds it through the ``pytest11`` entry point ``zuinig = "zuinig.measure.pytest_plugin"``.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from zuinig.ledger.model import KIND_TEST, KIND_TEST_SESSION, Run
from zuinig.tags import TagError, parse_tag

if TYPE_CHECKING:
    from zuinig.measure.recorder import ActiveRun, Recorder
    from zuinig.meter.base import Measurement, Window

__all__ = [
    "BUDGET_MARKER",
    "Budget",
    "check_budget",
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_sessionfinish",
    "pytest_sessionstart",
    "pytest_terminal_summary",
]

#: The marker's name: ``@pytest.mark.energy_budget(kwh=..., co2_kg=..., strict=False)``.
BUDGET_MARKER = "energy_budget"
#: Tests listed in the summary unless ``--zuinig-top`` says otherwise (as ``--durations``).
DEFAULT_TOP = 10
#: How long the session waits at its end for its runs to reach the ledger (s).
FLUSH_TIMEOUT_S = 10.0
# Keys of xdist's workerinput/workeroutput (plain data sent between the processes).
_WORKER_PARENT = "zuinig_session_run_id"
_WORKER_RUNS = "zuinig_test_runs"
_WORKER_PROBLEMS = "zuinig_problems"
_WORKER_UNCHECKED = "zuinig_unchecked_budgets"


@dataclass(frozen=True)
class Budget:
    """An ``energy_budget`` mark, checked.

    Attributes:
        kwh: the most energy the test may use (kWh), or ``None``.
        co2_kg: the most CO2e it may cause (kg CO2e), or ``None``.
        strict: an estimate's upper bound counts, not its central figure.
    """

    kwh: float | None = None
    co2_kg: float | None = None
    strict: bool = False

    @classmethod
    def from_arguments(cls, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Budget:
        """The budget a mark's arguments give (``mark.args``, ``mark.kwargs``).

        Raises:
            ValueError: no limit, a limit that is not a positive number, an unknown
                argument, or positional arguments; the message says how to write it.
        """
        how = "write it as @pytest.mark.energy_budget(kwh=0.001, co2_kg=0.0005, strict=False)"
        unknown = set(kwargs) - {"kwh", "co2_kg", "strict"}
        if args or unknown:
            raise ValueError(f"energy_budget takes only kwh, co2_kg and strict by name; {how}")
        limits: dict[str, float | None] = {}
        for name in ("kwh", "co2_kg"):
            value = kwargs.get(name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if value is not None and not (ok and math.isfinite(value) and value > 0):
                raise ValueError(f"energy_budget {name}={value!r} is not a positive number; {how}")
            limits[name] = None if value is None else float(value)
        if limits["kwh"] is None and limits["co2_kg"] is None:
            raise ValueError(f"energy_budget needs kwh or co2_kg; {how}")
        strict = kwargs.get("strict", False)
        if not isinstance(strict, bool):
            raise ValueError(f"energy_budget strict={strict!r} is not True or False; {how}")
        return cls(limits["kwh"], limits["co2_kg"], strict)


def check_budget(budget: Budget, measurement: Measurement) -> tuple[str | None, str | None]:
    """Whether a measurement stays within a budget.

    Args:
        budget: the test's budget.
        measurement: what its call used.

    Returns:
        ``(over, unchecked)``: ``over`` is the failure message when a figure exceeds
        the budget (naming the figure, the budget and the method); ``unchecked`` says
        why a limit could not be checked (the figure is missing). Both ``None``: within.
    """
    from zuinig.units import format_co2, format_energy, format_energy_range

    method = measurement.method
    measured = method is not None and method.is_measured
    # The method in short (the whole of it is in the run: zuinig runs show).
    how = "measured" if measured else "estimated"
    if method is not None:
        how += f" ({method.cpu_method}"
        low, high = measurement.energy_kwh_low, measurement.energy_kwh_high
        if not measured and low is not None and high is not None:
            how += f", {format_energy_range(low, high)}"
        how += ")"
    limits = (
        ("energy", budget.kwh, measurement.energy_kwh, measurement.energy_kwh_high, format_energy),
        ("CO2e", budget.co2_kg, measurement.co2_kg, measurement.co2_kg_high, format_co2),
    )
    over: list[str] = []
    missing: list[str] = []
    for name, limit, figure, high, shown in limits:
        if limit is None:
            continue
        if figure is None:
            missing.append(name)
            continue
        # An estimate's upper bound counts only when asked: by default its figure does.
        upper = not measured and budget.strict and high is not None
        counted = high if upper and high is not None else figure
        if counted > limit:
            which = (
                f"{name}'s upper bound (strict), {shown(counted)},"
                if upper
                else f"{name} {shown(figure)}"
            )
            over.append(f"{which} is over the budget of {shown(limit)}")
    unchecked = None
    if missing:
        reason = measurement.measurement_error or "no figure"
        unchecked = f"{' and '.join(missing)} not measured ({reason})"
    if not over:
        return None, unchecked
    return f"energy_budget exceeded: {'; '.join(over)} (method: {how})", unchecked


# -- options and configuration -------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--zuinig`` and its options."""
    group = parser.getgroup("zuinig", "energy and CO2e per test (zuinig)")
    group.addoption(
        "--zuinig",
        action="store_true",
        default=False,
        help="Record each test's energy and CO2e as a run in the zuinig ledger.",
    )
    group.addoption(
        "--zuinig-tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Tag the runs (repeatable), e.g. --zuinig-tag team=ruimte.",
    )
    group.addoption(
        "--zuinig-top",
        type=int,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"List the N tests that used most energy (default {DEFAULT_TOP}; 0 for all).",
    )
    group.addoption(
        "--zuinig-ledger",
        default=None,
        metavar="URL",
        help="The ledger to write to; default: ZUINIG_LEDGER or the settings file.",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; check the options (a usage error when they are wrong)."""
    config.addinivalue_line(
        "markers",
        f"{BUDGET_MARKER}(kwh=None, co2_kg=None, strict=False): fail the test when its "
        "energy (kWh) or CO2e (kg) is over this budget; strict: an estimate's upper bound "
        "counts (zuinig)",
    )
    enabled = bool(config.getoption("zuinig"))
    tags: dict[str, str] = {}
    for text in config.getoption("zuinig_tag") or []:
        try:
            key, value = parse_tag(text, tags, option="--zuinig-tag")
        except TagError as error:
            raise pytest.UsageError(f"zuinig: {error}") from None
        tags[key] = value
    top = config.getoption("zuinig_top")
    if top < 0:
        raise pytest.UsageError(f"--zuinig-top must be 0 (all) or more, got {top}")
    config.stash[_STATE] = _Plugin(
        enabled=enabled, tags=tags, top=top, ledger_url=config.getoption("zuinig_ledger")
    )


# -- the session ---------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before xdist starts its workers, which need our run id
def pytest_sessionstart(session: pytest.Session) -> None:
    """Open the session's run (``--zuinig`` only)."""
    plugin = session.config.stash.get(_STATE, None)
    if plugin is not None and plugin.enabled:
        plugin.start_session(session.config)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Close the session's run; a worker hands its tests' figures to the controller."""
    plugin = session.config.stash.get(_STATE, None)
    if plugin is None:
        return
    if plugin.enabled:
        plugin.finish_session(int(exitstatus))
    workeroutput = getattr(session.config, "workeroutput", None)
    if isinstance(workeroutput, dict):
        workeroutput[_WORKER_RUNS] = [run.to_dict() for run in plugin.test_runs]
        workeroutput[_WORKER_PROBLEMS] = list(plugin.problems)
        workeroutput[_WORKER_UNCHECKED] = list(plugin.unchecked)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: tell each worker the session run its own session run belongs to."""
    plugin = node.config.stash.get(_STATE, None)
    if plugin is not None and plugin.enabled and plugin.session is not None:
        node.workerinput[_WORKER_PARENT] = plugin.session.run.run_id


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: take a finished worker's figures for the summary."""
    plugin = node.config.stash.get(_STATE, None)
    output = getattr(node, "workeroutput", None)
    if plugin is None or not isinstance(output, dict):
        return
    for data in output.get(_WORKER_RUNS, ()):
        try:
            plugin.test_runs.append(Run.from_dict(data))
        except (ValueError, TypeError) as failure:
            plugin.note(f"a worker's run could not be read ({failure})")
    for problem in output.get(_WORKER_PROBLEMS, ()):
        plugin.note(str(problem))
    plugin.unchecked.extend(str(text) for text in output.get(_WORKER_UNCHECKED, ()))


# -- each test -----------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Measure the test's call when ``--zuinig`` is given or it has a budget; check it."""
    plugin = item.config.stash.get(_STATE, None)
    mark = item.get_closest_marker(BUDGET_MARKER)
    if plugin is None or (not plugin.enabled and mark is None):
        return (yield)
    budget: Budget | None = None
    if mark is not None:
        try:
            budget = Budget.from_arguments(mark.args, mark.kwargs)
        except ValueError as error:  # the user's mark: their test fails, and says why
            pytest.fail(f"{item.nodeid}: {error}", pytrace=False)
    probe = plugin.begin_test(item)
    try:
        result = yield
    except BaseException as error:
        plugin.end_test(item, probe, error)
        raise
    measurement = plugin.end_test(item, probe, None)
    if budget is not None:
        over = plugin.judge(item, budget, measurement)
        if over is not None:
            pytest.fail(over, pytrace=False)
    return result


# -- the summary ---------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The tests that used most energy, the session's total and its method."""
    plugin = config.stash.get(_STATE, None)
    if plugin is None or hasattr(config, "workerinput"):
        return
    lines = plugin.summary_lines()
    if not lines:
        return
    terminalreporter.write_sep("=", "zuinig: energy per test")
    for line in lines:
        terminalreporter.write_line(line)


# -- state ---------------------------------------------------------------------------------


@dataclass
class _Probe:
    """One test's measurement under way: a recorded run, or a bare meter window."""

    active: ActiveRun | None = None
    window: Window | None = None


@dataclass
class _Plugin:
    """What the plugin keeps for one pytest process."""

    enabled: bool
    tags: Mapping[str, str]
    top: int
    ledger_url: str | None
    recorder: Recorder | None = None
    session: ActiveRun | None = None
    session_run: Run | None = None
    test_runs: list[Run] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    def note(self, problem: str) -> None:
        """Keep a problem for the summary, once."""
        if problem not in self.problems:
            self.problems.append(problem)

    def get_recorder(self) -> Recorder:
        if self.recorder is None:
            from zuinig.measure.recorder import Recorder

            self.recorder = Recorder(ledger_url=self.ledger_url)
        return self.recorder

    def start_session(self, config: pytest.Config) -> None:
        """Open the ledger (a wrong URL or setting is a usage error) and the session run."""
        from zuinig.errors import ZuinigError

        recorder = self.get_recorder()
        try:
            recorder.ledger()
        except ZuinigError as error:
            if error.bad_input:
                raise pytest.UsageError(f"zuinig: {error}") from None
            self.note(f"the ledger cannot be written now ({error}); runs wait in the spool")
        except Exception as error:  # unreachable, broken: the runs wait in the spool
            self.note(f"the ledger cannot be opened now ({_reason(error)}); runs wait in the spool")
        workerinput = getattr(config, "workerinput", None)
        tags = dict(self.tags)
        parent: str | None = None
        if isinstance(workerinput, dict):
            parent = workerinput.get(_WORKER_PARENT)
            tags.setdefault("xdist_worker", str(workerinput.get("workerid", "")))
        try:
            with _quiet():
                self.session = recorder.begin(
                    f"pytest:{config.rootpath.name}",
                    tags=tags,
                    kind=KIND_TEST_SESSION,
                    job_is_fallback=True,
                    parent_run_id=parent,
                )
        except Exception as error:
            self.note(f"the session is not measured ({_reason(error)})")

    def finish_session(self, exitstatus: int) -> None:
        if self.session is None:
            return
        try:
            with _quiet():
                self.session_run = self.session.finish(exit_code=exitstatus)
        except Exception as error:
            self.note(f"the session's run could not be completed ({_reason(error)})")
        recorder = self.recorder
        if recorder is not None and not recorder.flush(FLUSH_TIMEOUT_S):
            self.note(
                "some runs are not in the ledger yet; they wait in the spool and are "
                "delivered the next time it is opened (zuinig runs list does)"
            )

    def begin_test(self, item: pytest.Item) -> _Probe:
        """Start measuring a test's call. Never raises."""
        try:
            with _quiet():
                recorder = self.get_recorder()
                if not self.enabled:  # a budget without --zuinig: measured, not recorded
                    return _Probe(window=recorder.meter.begin({}))
                parent = self.session.run.run_id if self.session is not None else None
                return _Probe(
                    active=recorder.begin(
                        item.nodeid, tags=self.tags, kind=KIND_TEST, parent_run_id=parent
                    )
                )
        except Exception as error:
            self.note(f"not measuring tests ({_reason(error)})")
            return _Probe()

    def end_test(
        self, item: pytest.Item, probe: _Probe, error: BaseException | None
    ) -> Measurement | None:
        """Stop measuring; record the run. Never raises."""
        try:
            with _quiet():
                if probe.active is not None:
                    run = probe.active.finish(error)
                    self.test_runs.append(run)
                    return probe.active.measurement
                if probe.window is not None:
                    return probe.window.end()
        except Exception as failure:
            self.note(f"the measurement of {item.nodeid} failed ({_reason(failure)})")
        return None

    def judge(
        self, item: pytest.Item, budget: Budget, measurement: Measurement | None
    ) -> str | None:
        """The failure message when the test is over its budget; ``None`` otherwise."""
        if measurement is None:
            self.unchecked.append(f"{item.nodeid}: not measured")
            return None
        try:
            over, unchecked = check_budget(budget, measurement)
        except Exception as error:  # a bug of ours must not fail the user's test
            self.note(f"the budget of {item.nodeid} could not be checked ({_reason(error)})")
            return None
        if unchecked is not None:
            self.unchecked.append(f"{item.nodeid}: {unchecked}")
        return over

    def summary_lines(self) -> list[str]:
        lines: list[str] = []
        if self.enabled:
            try:
                lines.extend(format_summary(self.test_runs, self.session_run, top=self.top))
            except Exception as error:
                self.note(f"no summary ({_reason(error)})")
        lines.extend(f"energy budget not checked: {text}" for text in self.unchecked)
        lines.extend(f"zuinig: {problem}" for problem in self.problems)
        return lines


def format_summary(tests: Sequence[Run], session: Run | None, *, top: int) -> list[str]:
    """The summary's lines: the tests that used most energy, then the session's total.

    Args:
        tests: the tests' runs.
        session: the session's run (its window covers every test and fixture).
        top: how many tests to list; 0 for all.
    """
    from zuinig.cli.text import energy_range, method_words
    from zuinig.safe_text import printable
    from zuinig.units import format_co2, format_energy

    measured = sorted(
        (run for run in tests if run.energy_kwh is not None),
        key=lambda run: run.energy_kwh or 0.0,
        reverse=True,
    )
    shown = measured if top == 0 else measured[:top]
    lines: list[str] = []
    if shown:
        which = "all" if len(shown) == len(measured) else f"the {len(shown)} highest of"
        lines.append(f"energy of each test's call, {which} {len(measured)} measured:")
    for run in shown:
        figure = format_energy(run.energy_kwh or 0.0)
        span = energy_range(run)
        if span is not None:
            figure += f" ({format_energy(span[0])}–{format_energy(span[1])})"
        co2 = format_co2(run.co2_kg) if run.co2_kg is not None else "-"
        lines.append(f"{figure:>30}  {co2:>14}  {printable(run.job)}")
    not_measured = len(tests) - len(measured)
    if not_measured:
        lines.append(f"{not_measured} test(s) not measured (see their runs' measurement_error)")
    if measured:
        total = sum(run.energy_kwh or 0.0 for run in measured)
        lines.append(f"the tests' calls together: {format_energy(total)}")
    if session is not None and session.energy_kwh is not None:
        from zuinig.units import format_energy_range

        span = energy_range(session)
        parts = [format_energy(session.energy_kwh)]
        if span is not None:
            parts.append(format_energy_range(*span))
        if session.co2_kg is not None:
            parts.append(format_co2(session.co2_kg))
        parts.append(method_words(session))
        lines.append(
            f"session {session.run_id[:8]} (tests, fixtures and collection): {', '.join(parts)}"
        )
    elif session is not None:
        lines.append(f"session {session.run_id[:8]}: not measured ({session.measurement_error})")
    return lines


_STATE = pytest.StashKey["_Plugin"]()


@contextlib.contextmanager
def _quiet() -> Generator[None, None, None]:
    """No warning of the meter's may reach the test (``filterwarnings = error`` would make
    it the test's failure): measuring must not change an outcome."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
