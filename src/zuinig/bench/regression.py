"""``zuinig bench --compare``: this session's energy against an earlier session's.

A regression gate for CI: per configuration measured in both sessions, the ratio of
this session's median energy (per repetition, summed over the queries, as the totals
rows count it) to the earlier session's, with the bootstrap interval of
:func:`zuinig.bench.stats.ratio_ci` (fixed seed), read by the one rule of
:func:`zuinig.bench.stats.compare_ratio`. ``--fail-if-worse PCT`` fails a configuration
only when it is *clearly* worse by more than PCT: the interval's lower end lies above
``1 + PCT / 100`` (:func:`clearly_worse`). A noisy point estimate above the threshold
whose interval reaches below it does not fail the build.

Two sessions are compared only on the same data: the same workload and size (scale,
rows) or the same ``--data`` file; anything else is refused before the bench runs.
Disqualified configurations (a wrong answer in either session) are never compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zuinig.bench import stats
from zuinig.bench.results import (
    CORRECT_NO,
    Configuration,
    Observation,
    energy_totals,
    stored_rows,
)
from zuinig.bench.trial import PHASE_MEASURED, STATUS_OK, STATUS_WRONG
from zuinig.errors import UsageError
from zuinig.ledger.model import BenchSession, BenchTrial, RunFilter

if TYPE_CHECKING:
    from zuinig.bench.runner import BenchReport, Matrix
    from zuinig.ledger.store import Ledger

__all__ = [
    "Change",
    "Comparison",
    "check_comparable",
    "clearly_worse",
    "compare",
    "compare_with_session",
    "format_comparison",
    "observations_of",
    "parse_percent",
    "regression_lines",
]

#: The largest --fail-if-worse accepted: a gate that lets a configuration use 1000x the
#: energy is no gate; a larger figure is taken for a typing mistake.
MAX_WORSE_PCT = 100_000.0


def clearly_worse(ratio: stats.Estimate, pct: float) -> bool:
    """Whether a ratio (this session / the earlier one) is clearly worse by more than
    ``pct`` percent: its interval's lower end lies above ``1 + pct / 100``.

    A single measurement on either side has no interval, so it never counts as clearly
    worse (the bench says so in its text instead).
    """
    return ratio.has_interval and ratio.low > 1.0 + pct / 100.0


def parse_percent(text: str) -> float:
    """``--fail-if-worse``'s value: a percentage from 0 to :data:`MAX_WORSE_PCT`.

    Raises:
        UsageError: not such a number.
    """
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        value = float("nan")
    if not 0 <= value <= MAX_WORSE_PCT:  # also false for NaN
        raise UsageError(
            f"--fail-if-worse {text!r} is not a percentage from 0 to {MAX_WORSE_PCT:,.0f}; "
            "give e.g. --fail-if-worse 10 to fail when a configuration is clearly over 10% worse"
        )
    return value


@dataclass(frozen=True)
class Change:
    """One configuration's energy now against the earlier session's.

    Attributes:
        configuration: the configuration.
        ratio: this session's median energy over the earlier one's (unitless), with
            its 95% interval.
        repetitions: repetitions counted in this session.
        earlier_repetitions: repetitions counted in the earlier session.
    """

    configuration: Configuration
    ratio: stats.Estimate
    repetitions: int
    earlier_repetitions: int


@dataclass(frozen=True)
class Comparison:
    """This session against an earlier one.

    Attributes:
        session_id: this session.
        earlier_session_id: the session compared with.
        changes: per configuration measured in both, in configuration order.
        only_now: labels of configurations with figures only in this session.
        only_earlier: labels of configurations with figures only in the earlier one.
        fail_if_worse_pct: the gate's threshold (percent), or ``None`` without a gate.
        notes: what the reader must know (another machine or meter method).
    """

    session_id: str
    earlier_session_id: str
    changes: tuple[Change, ...]
    only_now: tuple[str, ...] = ()
    only_earlier: tuple[str, ...] = ()
    fail_if_worse_pct: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def earlier_label(self) -> str:
        return f"session {self.earlier_session_id[:8]}"

    @property
    def worse(self) -> list[Change]:
        """The changes that fail the gate (none without a gate)."""
        if self.fail_if_worse_pct is None:
            return []
        pct = self.fail_if_worse_pct
        return [c for c in self.changes if clearly_worse(c.ratio, pct)]

    def to_dict(self) -> dict[str, Any]:
        """The ``comparison`` object of ``bench --json``."""
        pct = self.fail_if_worse_pct
        return {
            "earlier_session_id": self.earlier_session_id,
            "session_id": self.session_id,
            "fail_if_worse_pct": self.fail_if_worse_pct,
            "configurations": [
                {
                    **change.configuration.as_dict(),
                    "label": change.configuration.label,
                    "ratio": change.ratio.value,
                    "ratio_ci": [change.ratio.low, change.ratio.high],
                    "clear": stats.compare_ratio(change.ratio).clear,
                    "text": stats.describe_ratio(change.ratio, self.earlier_label),
                    "repetitions": change.repetitions,
                    "earlier_repetitions": change.earlier_repetitions,
                    "fails": pct is not None and clearly_worse(change.ratio, pct),
                }
                for change in self.changes
            ],
            "only_in_this_session": list(self.only_now),
            "only_in_earlier_session": list(self.only_earlier),
            "notes": list(self.notes),
        }


def compare(
    now: Mapping[Configuration, Sequence[float]],
    earlier: Mapping[Configuration, Sequence[float]],
    *,
    session_id: str,
    earlier_session_id: str,
    fail_if_worse_pct: float | None = None,
    notes: Sequence[str] = (),
) -> Comparison:
    """Compare two sessions' energies per repetition (kWh) per configuration (pure).

    Raises:
        UsageError: no configuration has figures in both.
    """
    common = sorted(set(now) & set(earlier))
    if not common:
        raise UsageError(
            f"bench session {earlier_session_id[:8]} has no configuration with figures in "
            "common with this one; compare with a session of the same formats, engines "
            "and threads"
        )
    changes = tuple(
        Change(
            config,
            stats.ratio_ci(now[config], earlier[config]),
            len(now[config]),
            len(earlier[config]),
        )
        for config in common
    )
    return Comparison(
        session_id=session_id,
        earlier_session_id=earlier_session_id,
        changes=changes,
        only_now=tuple(c.label for c in sorted(set(now) - set(earlier))),
        only_earlier=tuple(c.label for c in sorted(set(earlier) - set(now))),
        fail_if_worse_pct=fail_if_worse_pct,
        notes=tuple(notes),
    )


def observations_of(
    trials: Iterable[BenchTrial], energies_kwh: Mapping[str, float | None]
) -> list[Observation]:
    """A stored session's measured trials as observations (energy from their runs).

    Args:
        trials: the session's trials.
        energies_kwh: energy per run id (kWh).
    """
    found = []
    for trial in trials:
        if not (
            trial.phase == PHASE_MEASURED
            and trial.format
            and trial.engine
            and trial.mode
            and trial.threads
        ):
            continue
        found.append(
            Observation(
                Configuration(trial.format, trial.engine, trial.mode, trial.threads),
                trial.query or "",
                trial.repetition or 0,
                trial.phase,
                trial.status,
                energy_kwh=energies_kwh.get(trial.run_id or ""),
            )
        )
    return found


def _disqualified(session: BenchSession) -> set[Configuration]:
    return {
        row.config
        for row in stored_rows(session)
        if row.status == STATUS_WRONG or row.correct == CORRECT_NO
    }


def _totals(
    observations: Iterable[Observation], queries: Sequence[str], session: BenchSession
) -> dict[Configuration, list[float]]:
    wrong = _disqualified(session)
    usable = [o for o in observations if o.status == STATUS_OK]
    return {c: e for c, e in energy_totals(usable, queries).items() if c not in wrong}


def _queries(session: BenchSession) -> list[str]:
    return [str(q) for q in session.config.get("queries") or ()]


def _same_data(one: BenchSession, other: BenchSession) -> bool:
    return (
        one.workload == other.workload
        and one.scale == other.scale
        and one.rows == other.rows
        and one.config.get("data") == other.config.get("data")
    )


def check_comparable(earlier: BenchSession, matrix: Matrix, data: str | None) -> None:
    """Refuse, before the bench runs, an earlier session that cannot be compared with.

    Args:
        earlier: the session named by ``--compare``.
        matrix: what this session will run.
        data: this session's ``--data`` as given (``None`` for a standard workload).

    Raises:
        UsageError: it measured other data, none of this matrix's configurations, or
            has no results.
    """
    short = earlier.session_id[:8]
    workload = matrix.workload
    rows = workload.rows if workload.name != "tpch" else None
    if (earlier.workload, earlier.scale, earlier.rows, earlier.config.get("data")) != (
        workload.name,
        workload.scale,
        rows,
        data,
    ):
        raise UsageError(
            f"bench session {short} measured other data ({_data_words(earlier)}); compare "
            "with a session of the same workload and size, or the same --data file"
        )
    if not earlier.results:
        raise UsageError(f"bench session {short} has no results ({earlier.status}); pick another")
    measured = {row.config for row in stored_rows(earlier)}
    if not measured & set(matrix.configurations()):
        raise UsageError(
            f"bench session {short} measured none of this bench's configurations; compare "
            "with a session of the same formats, engines and threads"
        )


def _data_words(session: BenchSession) -> str:
    if session.config.get("data"):
        return f"file {session.config['data']}"
    size = f"scale {session.scale:g}" if session.scale else f"{session.rows} rows"
    return f"{session.workload}, {size}"


def compare_with_session(
    ledger: Ledger,
    earlier: BenchSession,
    report: BenchReport,
    fail_if_worse_pct: float | None = None,
) -> Comparison:
    """This session (its observations, as summarised) against a stored earlier one.

    Raises:
        UsageError: no configuration has figures in both sessions.
    """
    current = report.session
    trials = ledger.list_bench_trials(earlier.session_id)
    runs = ledger.list_runs(RunFilter(tags={"session": earlier.session_id}))
    earlier_totals = _totals(
        observations_of(trials, {run.run_id: run.energy_kwh for run in runs}),
        _queries(earlier),
        earlier,
    )
    now_totals = _totals(report.observations, _queries(current), current)
    notes = []
    if dict(current.method).get("in_words") != dict(earlier.method).get("in_words"):
        notes.append(
            "the sessions were measured another way (meter method "
            f"{earlier.method.get('in_words')!r} then {current.method.get('in_words')!r}): "
            "a change may be the meter's, not the code's"
        )
    if current.machine.get("cpu_model") != earlier.machine.get("cpu_model"):
        notes.append("the sessions ran on different CPUs: a change may be the machine's")
    return compare(
        now_totals,
        earlier_totals,
        session_id=current.session_id,
        earlier_session_id=earlier.session_id,
        fail_if_worse_pct=fail_if_worse_pct,
        notes=notes,
    )


def format_comparison(comparison: Comparison) -> list[str]:
    """The comparison in words, one line per configuration (pure)."""
    lines = [
        f"Against bench {comparison.earlier_label} (energy per repetition, all queries; "
        "this session over that one):"
    ]
    width = max(len(c.configuration.label) for c in comparison.changes)
    for change in comparison.changes:
        text = stats.describe_ratio(change.ratio, comparison.earlier_label)
        lines.append(f"  {change.configuration.label:<{width}}  {text}")
    if comparison.only_now:
        lines.append(f"  only in this session: {', '.join(comparison.only_now)}")
    if comparison.only_earlier:
        lines.append(f"  only in {comparison.earlier_label}: {', '.join(comparison.only_earlier)}")
    lines.extend(f"  note: {note}" for note in comparison.notes)
    if comparison.fail_if_worse_pct is not None:
        worse = comparison.worse
        pct = f"{comparison.fail_if_worse_pct:g}%"
        lines.append(
            f"  gate: {len(worse)} configuration(s) clearly worse by more than {pct}"
            if worse
            else f"  gate: no configuration clearly worse by more than {pct}"
        )
    return lines


def regression_lines(comparison: Comparison) -> list[str]:
    """One line per configuration that fails the gate, for stderr (pure)."""
    pct = f"{comparison.fail_if_worse_pct:g}%"
    return [
        f"zuinig: {change.configuration.label} is clearly worse by more than {pct}: "
        + stats.describe_ratio(change.ratio, comparison.earlier_label)
        for change in comparison.worse
    ]
