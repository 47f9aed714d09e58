"""From trials to figures: medians with intervals, ratios to the baseline, the Pareto set.

Pure functions over records: no I/O, no printing. The runner feeds them the trials it
collected; the table, the JSON and the charts show what they return, so every output
states the same figures (the statistics themselves are in :mod:`zuinig.bench.stats`).

Rules:

- Only ``measured`` trials with status ``ok`` and an energy figure count.
- ``correct`` is ``yes`` (its answer agreed with the consensus), ``no`` or ``not
  checked`` (there was nothing to compare: a job that returns no table, a single
  configuration, no completed trial). A configuration's total is ``yes`` only when
  every one of its queries is.
- A configuration with a wrong answer to any query is disqualified: every one of its
  rows gets status ``wrong`` and ``correct: no``, and it is never ranked (no ratio,
  never on the Pareto front).
- The baseline is csv + pandas (default parser) at the same thread count and query.
  When it is not in the matrix, or failed, ratios are ``None`` and a note says why.
- Totals add up a configuration's queries per repetition (only repetitions in which
  every query succeeded), then take the median over repetitions.
- An estimated figure's model range (issue 11: the meter's ``energy_kwh_low`` /
  ``energy_kwh_high``) is summarised as the median of the trials' lows and the median
  of their highs (``energy_kwh_low_median``, ``energy_kwh_high_median``), totals
  summed per repetition like the energy itself. ``None`` unless every counted trial
  had a range: a half-covered range would understate the spread.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zuinig.bench import stats
from zuinig.bench.trial import PHASE_IMPORT, PHASE_MEASURED, STATUS_OK, STATUS_WRONG
from zuinig.ledger.model import BenchSession

#: The baseline every ratio is against: what most analyses start with.
BASELINE_FORMAT = "csv"
BASELINE_ENGINE = "pandas"
BASELINE_MODE = "default"
BASELINE_LABEL = "csv + pandas"
#: What the Pareto set minimises, per query and for totals.
PARETO_OBJECTIVES = ("energy_kwh_median", "duration_s_median", "storage_bytes")
#: The query name of rows that add up all queries.
ALL_QUERIES = "all"

#: The values of ``correct`` (see the module docstring).
CORRECT_YES = "yes"
CORRECT_NO = "no"
NOT_CHECKED = "not checked"

#: Measured quantities summarised per configuration and query, with their units.
QUANTITIES = ("energy_kwh", "duration_s", "cpu_s", "peak_rss_bytes")
#: The ends of an estimated energy's model range, summarised by their medians only (the
#: range already is an interval; a bootstrap interval around each end would say nothing).
RANGE_QUANTITIES = ("energy_kwh_low", "energy_kwh_high")


@dataclass(frozen=True, order=True)
class Configuration:
    """What one trial process runs: a format, an engine in a mode, a thread count.

    Attributes:
        format: storage format name, e.g. ``parquet-zstd``.
        engine: engine name, e.g. ``polars``.
        mode: engine mode, e.g. ``lazy``.
        threads: threads the engine may use.
    """

    format: str
    engine: str
    mode: str
    threads: int

    @property
    def label(self) -> str:
        """``parquet-zstd + polars/lazy x2``."""
        return f"{self.format} + {self.engine}/{self.mode} x{self.threads}"

    @property
    def slug(self) -> str:
        """A file-name-safe identifier, e.g. ``parquet-zstd_polars-lazy_t2``."""
        return f"{self.format}_{self.engine}-{self.mode}_t{self.threads}".replace("/", "-")

    def is_baseline_for(self, threads: int) -> bool:
        """Whether this is the baseline (csv + pandas default) at ``threads``."""
        return (self.format, self.engine, self.mode, self.threads) == (
            BASELINE_FORMAT,
            BASELINE_ENGINE,
            BASELINE_MODE,
            threads,
        )

    def as_dict(self) -> dict[str, Any]:
        """``format``, ``engine``, ``mode`` and ``threads`` as a mapping."""
        return {
            "format": self.format,
            "engine": self.engine,
            "mode": self.mode,
            "threads": self.threads,
        }


@dataclass(frozen=True)
class Observation:
    """One step of one trial, with its figures (units in the names).

    Attributes:
        config: the configuration.
        query: the query (``""`` for ``import``).
        repetition: the repetition round, from 0.
        phase: ``import``, ``warmup`` or ``measured``.
        status: ``ok``, ``oom``, ``timeout`` or ``error``.
        energy_kwh: energy of the window (kWh); ``None`` when not measured.
        duration_s: wall-clock duration (s).
        cpu_s: CPU time of the process tree (s).
        peak_rss_bytes: peak resident memory of the process tree (bytes).
        run_id: the ledger run of the window, when one was stored.
        reason: why it failed, in one line.
        energy_kwh_low: low end of the estimated energy's model range (kWh); ``None``
            when measured or not metered.
        energy_kwh_high: high end of that range (kWh).
        co2_kg_low: low end of the CO2e range (kg).
        co2_kg_high: high end of the CO2e range (kg).
    """

    config: Configuration
    query: str
    repetition: int
    phase: str
    status: str
    energy_kwh: float | None = None
    duration_s: float | None = None
    cpu_s: float | None = None
    peak_rss_bytes: float | None = None
    run_id: str | None = None
    reason: str = ""
    energy_kwh_low: float | None = None
    energy_kwh_high: float | None = None
    co2_kg_low: float | None = None
    co2_kg_high: float | None = None

    @property
    def usable(self) -> bool:
        """Whether it counts in the statistics: a measured, successful, metered step."""
        return self.phase == PHASE_MEASURED and self.status == STATUS_OK and bool(self.energy_kwh)


#: A 95% interval ``(low, high)``; a ``[low, high]`` list in JSON.
Interval = tuple[float, float]


@dataclass(frozen=True)
class ResultRow:
    """One configuration's figures for one query, or over all its queries (query
    :data:`ALL_QUERIES`, a *totals* row): a row of the table, the JSON and the ledger.

    Medians are over the measured repetitions, each with its 95% bootstrap interval
    (``*_ci``, ``None`` without figures); see the module docstring for the rules.

    Attributes:
        format, engine, mode, threads: the configuration.
        query: the query, or ``all`` for a totals row.
        label: the configuration in words, e.g. ``parquet-zstd + polars/lazy x2``.
        energy_kwh_median, energy_kwh_ci: energy per call (kWh).
        duration_s_median, duration_s_ci: wall-clock time per call (s).
        cpu_s_median, cpu_s_ci: CPU time per call (s).
        peak_rss_bytes_median, peak_rss_bytes_ci: peak resident memory (bytes).
        energy_kwh_low_median, energy_kwh_high_median: an estimate's model range (kWh),
            ``None`` unless every counted trial had one.
        repetitions: repetitions counted.
        failed_trials: trials that failed (per-query rows only; ``None`` for totals).
        status: ``ok``, ``wrong``, a failure (``oom``, ``timeout``, ``error``),
            ``not run`` or (totals) ``incomplete``.
        reason: why it is not ``ok``, in one line.
        correct: :data:`CORRECT_YES`, :data:`CORRECT_NO` or :data:`NOT_CHECKED`.
        storage_bytes: size of the format's prepared files (bytes).
        ratio_vs_baseline, ratio_vs_baseline_ci: energy over the baseline's (unitless).
        duration_ratio_vs_baseline, duration_ratio_vs_baseline_ci: time over the baseline's.
        significance: the energy ratio in words; ``None`` without a ratio.
        pareto: on the Pareto front of its query (energy, time, storage).
    """

    format: str
    engine: str
    mode: str
    threads: int
    query: str
    label: str
    energy_kwh_median: float | None = None
    energy_kwh_ci: Interval | None = None
    duration_s_median: float | None = None
    duration_s_ci: Interval | None = None
    cpu_s_median: float | None = None
    cpu_s_ci: Interval | None = None
    peak_rss_bytes_median: float | None = None
    peak_rss_bytes_ci: Interval | None = None
    energy_kwh_low_median: float | None = None
    energy_kwh_high_median: float | None = None
    repetitions: int = 0
    failed_trials: int | None = None
    status: str = ""
    reason: str = ""
    correct: str = NOT_CHECKED
    storage_bytes: int | None = None
    ratio_vs_baseline: float | None = None
    ratio_vs_baseline_ci: Interval | None = None
    duration_ratio_vs_baseline: float | None = None
    duration_ratio_vs_baseline_ci: Interval | None = None
    significance: str | None = None
    pareto: bool = False

    @property
    def config(self) -> Configuration:
        """The configuration of the row."""
        return Configuration(self.format, self.engine, self.mode, self.threads)

    @property
    def is_total(self) -> bool:
        """Whether it adds up all queries (query :data:`ALL_QUERIES`)."""
        return self.query == ALL_QUERIES

    @property
    def rankable(self) -> bool:
        """Whether it may get a ratio and be on the Pareto front: ok, not known wrong,
        with an energy figure."""
        return (
            self.status == STATUS_OK and self.correct != CORRECT_NO and bool(self.energy_kwh_median)
        )

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON object (``--json``, ``results.json``, the ledger).

        Keys and their order are those the bench has always written: a per-query row
        has ``failed_trials`` and ``status, reason, correct, storage_bytes``; a totals
        row ``storage_bytes, status, correct, reason``; ``significance`` comes before
        the duration ratio when there is a ratio and after it when there is none.
        """
        row: dict[str, Any] = {
            **self.config.as_dict(),
            "query": self.query,
            "label": self.label,
        }
        for name in QUANTITIES:
            row[f"{name}_median"] = getattr(self, f"{name}_median")
            row[f"{name}_ci"] = _json_value(getattr(self, f"{name}_ci"))
        for name in RANGE_QUANTITIES:
            row[f"{name}_median"] = getattr(self, f"{name}_median")
        row["repetitions"] = self.repetitions
        if self.is_total:
            row["storage_bytes"] = self.storage_bytes
            row.update(status=self.status, correct=self.correct, reason=self.reason)
        else:
            row["failed_trials"] = self.failed_trials
            row.update(status=self.status, reason=self.reason, correct=self.correct)
            row["storage_bytes"] = self.storage_bytes
        row["ratio_vs_baseline"] = self.ratio_vs_baseline
        row["ratio_vs_baseline_ci"] = _json_value(self.ratio_vs_baseline_ci)
        duration = {
            "duration_ratio_vs_baseline": self.duration_ratio_vs_baseline,
            "duration_ratio_vs_baseline_ci": _json_value(self.duration_ratio_vs_baseline_ci),
        }
        if self.ratio_vs_baseline is not None:
            row.update(significance=self.significance, **duration)
        else:
            row.update(**duration, significance=self.significance)
        row["pareto"] = self.pareto
        return row

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultRow:
        """Rebuild a row from :meth:`to_dict`'s object, also one stored by an older
        zuinig: missing figures are ``None``, and ``correct`` stored as ``True`` /
        ``False`` / ``None`` becomes ``yes`` / ``no`` / ``not checked``.

        Raises:
            ValueError: it names no configuration (format, engine, mode and threads).
        """
        if not all(data.get(key) for key in ("format", "engine", "mode", "threads")):
            raise ValueError(f"not a bench result row (no configuration): {dict(data)!r}")
        config = Configuration(
            str(data["format"]), str(data["engine"]), str(data["mode"]), int(data["threads"])
        )
        verdict = data.get("correct")
        values: dict[str, Any] = {
            name: data.get(name)
            for name in _ROW_FIELDS
            if name not in ("format", "engine", "mode", "threads", "correct")
        }
        for name in _INTERVAL_FIELDS:
            values[name] = _interval(data.get(name))
        values.update(
            query=str(data.get("query") or ""),
            label=str(data.get("label") or config.label),
            repetitions=int(data.get("repetitions") or 0),
            status=str(data.get("status") or ""),
            reason=str(data.get("reason") or ""),
            correct=correct_text(verdict)
            if verdict is None or isinstance(verdict, bool)
            else str(verdict),
            pareto=bool(data.get("pareto")),
        )
        return cls(**config.as_dict(), **values)


@dataclass(frozen=True)
class ImportRow:
    """What importing an engine costs, once per process (not in any result row).

    Attributes:
        engine, mode, threads: the engine as the trials ran it.
        energy_kwh_median, energy_kwh_ci: energy of the import (kWh).
        duration_s_median, duration_s_ci: its wall-clock time (s).
        trials: imports counted.
    """

    engine: str
    mode: str
    threads: int
    energy_kwh_median: float | None = None
    energy_kwh_ci: Interval | None = None
    duration_s_median: float | None = None
    duration_s_ci: Interval | None = None
    trials: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON object (``--json``'s ``imports``)."""
        return {
            name: _json_value(getattr(self, name))
            for name in (item.name for item in dataclasses.fields(self))
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImportRow:
        """Rebuild a row from :meth:`to_dict`'s object."""
        return cls(
            engine=str(data["engine"]),
            mode=str(data["mode"]),
            threads=int(data["threads"]),
            energy_kwh_median=data.get("energy_kwh_median"),
            energy_kwh_ci=_interval(data.get("energy_kwh_ci")),
            duration_s_median=data.get("duration_s_median"),
            duration_s_ci=_interval(data.get("duration_s_ci")),
            trials=int(data.get("trials") or 0),
        )


_ROW_FIELDS = tuple(item.name for item in dataclasses.fields(ResultRow))
_INTERVAL_FIELDS = tuple(name for name in _ROW_FIELDS if name.endswith("_ci"))


def _json_value(value: object) -> object:
    """An interval as JSON writes it (a list); anything else as it is."""
    return list(value) if isinstance(value, tuple) else value


def _interval(value: Sequence[float] | None) -> Interval | None:
    return (float(value[0]), float(value[1])) if value else None


def stored_rows(session: BenchSession) -> list[ResultRow]:
    """A stored session's result rows (the ledger keeps them as JSON objects).

    A stored row that names no configuration is left out: nothing can be compared with it.
    """
    rows = []
    for data in session.results or ():
        try:
            rows.append(ResultRow.from_dict(data))
        except ValueError:
            continue
    return rows


@dataclass(frozen=True)
class Summary:
    """The rows of a benchmark's result, and what the reader must know about them.

    Attributes:
        results: one row per configuration and query (the JSON's ``results``).
        totals: one row per configuration over all queries (query ``all``).
        imports: per configuration, the median energy and time of importing the engine.
        notes: sentences to show with the figures (why ratios are missing, ...).
        disqualified: per disqualified configuration label, why.
    """

    results: list[ResultRow]
    totals: list[ResultRow]
    imports: list[ImportRow]
    notes: list[str]
    disqualified: dict[str, str]


def summarise(
    configs: Sequence[Configuration],
    queries: Sequence[str],
    observations: Iterable[Observation],
    storage_bytes: Mapping[str, int],
    wrong: Mapping[Configuration, str],
    checked: Mapping[tuple[Configuration, str], bool],
    *,
    seed: int = stats.DEFAULT_SEED,
) -> Summary:
    """Summarise the trials of a matrix.

    Args:
        configs: the configurations, in the order to show them.
        queries: the queries, in order.
        observations: every step of every trial.
        storage_bytes: per format, the size of its prepared files (bytes).
        wrong: per disqualified configuration, the first wrong answer in words.
        checked: per (configuration, query), ``True`` when its answer agreed with the
            consensus; absent when it was not checked.
        seed: bootstrap seed, so the same trials always give the same intervals.
    """
    observed = list(observations)
    measured = _group_measured(observed)
    notes: list[str] = []
    results = []
    for config in configs:
        for query in queries:
            trials = [o for o in observed if o.config == config and o.query == query]
            row = _row(config, query, trials, measured.get((config, query), []), seed)
            row = _judge(row, config, query, wrong, checked)
            results.append(dataclasses.replace(row, storage_bytes=storage_bytes.get(config.format)))
    results = _add_ratios(
        results, {(c, q): measured.get((c, q), []) for c in configs for q in queries}, seed
    )
    notes += _baseline_notes(results)
    results = _mark_pareto(results, queries)
    totals = _totals(configs, queries, observed, storage_bytes, wrong, checked, seed)
    imports = _imports(configs, observed, seed)
    return Summary(
        results=results,
        totals=totals,
        imports=imports,
        notes=notes,
        disqualified={config.label: reason for config, reason in wrong.items()},
    )


def _group_measured(
    observed: Sequence[Observation],
) -> dict[tuple[Configuration, str], list[Observation]]:
    groups: dict[tuple[Configuration, str], list[Observation]] = {}
    for item in observed:
        if item.usable:
            groups.setdefault((item.config, item.query), []).append(item)
    return groups


def _estimate_fields(name: str, values: Sequence[float], seed: int) -> dict[str, Any]:
    if not values:
        return {f"{name}_median": None, f"{name}_ci": None}
    estimate = stats.median_ci(values, seed=seed)
    return {f"{name}_median": estimate.value, f"{name}_ci": (estimate.low, estimate.high)}


def _row(
    config: Configuration,
    query: str,
    trials: Sequence[Observation],
    usable: Sequence[Observation],
    seed: int,
) -> ResultRow:
    fields: dict[str, Any] = {}
    for name in QUANTITIES:
        values = [float(v) for o in usable if (v := getattr(o, name)) is not None]
        fields.update(_estimate_fields(name, values, seed))
    for name in RANGE_QUANTITIES:
        fields[f"{name}_median"] = _median_of_all([getattr(o, name) for o in usable])
    failed = [o for o in trials if o.phase != PHASE_IMPORT and o.status != STATUS_OK]
    import_failed = [o for o in trials if o.phase == PHASE_IMPORT and o.status != STATUS_OK]
    if usable:
        status, reason = STATUS_OK, ""
    elif failed or import_failed:
        first = (failed or import_failed)[0]
        status, reason = first.status, first.reason
    else:
        status, reason = "not run", "no trial of this configuration completed"
    return ResultRow(
        **config.as_dict(),
        query=query,
        label=config.label,
        **fields,
        repetitions=len(usable),
        failed_trials=len(failed),
        status=status,
        reason=reason,
    )


def _median_of_all(values: Sequence[float | None]) -> float | None:
    """The median, or ``None`` when there is no value or any is missing."""
    if not values or any(v is None for v in values):
        return None
    return float(statistics.median(float(v) for v in values if v is not None))


def _judge(
    row: ResultRow,
    config: Configuration,
    query: str,
    wrong: Mapping[Configuration, str],
    checked: Mapping[tuple[Configuration, str], bool],
) -> ResultRow:
    if config in wrong:
        return dataclasses.replace(
            row, status=STATUS_WRONG, correct=CORRECT_NO, reason=wrong[config]
        )
    return dataclasses.replace(row, correct=correct_text(checked.get((config, query))))


def correct_text(verdict: bool | None) -> str:
    """``yes``, ``no`` or ``not checked`` for a verdict (``None``: not checked)."""
    if verdict is None:
        return NOT_CHECKED
    return CORRECT_YES if verdict else CORRECT_NO


def _add_ratios(
    rows: Sequence[ResultRow],
    measured: Mapping[tuple[Configuration, str], Sequence[Observation]],
    seed: int,
) -> list[ResultRow]:
    by_key = {(r.config, r.query): r for r in rows}
    found = []
    for row in rows:
        base_config = Configuration(
            BASELINE_FORMAT, BASELINE_ENGINE, BASELINE_MODE, row.config.threads
        )
        fields = _ratio_fields(
            row,
            by_key.get((base_config, row.query)),
            measured.get((row.config, row.query), []),
            measured.get((base_config, row.query), []),
            seed,
        )
        found.append(dataclasses.replace(row, **fields))
    return found


def _ratio_fields(
    row: ResultRow,
    base_row: ResultRow | None,
    values: Sequence[Observation],
    base_values: Sequence[Observation],
    seed: int,
) -> dict[str, Any]:
    empty: dict[str, Any] = {
        "ratio_vs_baseline": None,
        "ratio_vs_baseline_ci": None,
        "duration_ratio_vs_baseline": None,
        "duration_ratio_vs_baseline_ci": None,
        "significance": None,
    }
    if base_row is None or not row.rankable or not base_row.rankable:
        return empty
    energy = stats.ratio_ci(
        [o.energy_kwh for o in values if o.energy_kwh],
        [o.energy_kwh for o in base_values if o.energy_kwh],
        seed=seed,
    )
    fields = {
        "ratio_vs_baseline": energy.value,
        "ratio_vs_baseline_ci": (energy.low, energy.high),
        "significance": stats.describe_ratio(energy, BASELINE_LABEL),
        "duration_ratio_vs_baseline": None,
        "duration_ratio_vs_baseline_ci": None,
    }
    durations = [o.duration_s for o in values if o.duration_s]
    base_durations = [o.duration_s for o in base_values if o.duration_s]
    if durations and base_durations:
        time_ratio = stats.ratio_ci(durations, base_durations, seed=seed)
        fields["duration_ratio_vs_baseline"] = time_ratio.value
        fields["duration_ratio_vs_baseline_ci"] = (time_ratio.low, time_ratio.high)
    return fields


def _baseline_notes(rows: Sequence[ResultRow]) -> list[str]:
    baseline_rows = [
        r
        for r in rows
        if (r.format, r.engine, r.mode) == (BASELINE_FORMAT, BASELINE_ENGINE, BASELINE_MODE)
    ]
    if not baseline_rows:
        return [
            f"ratios are null: the baseline ({BASELINE_FORMAT} + {BASELINE_ENGINE}/{BASELINE_MODE}) "
            "is not in the matrix; add --formats csv and --engines pandas to get them"
        ]
    if not any(r.rankable for r in baseline_rows):
        return [
            "ratios are null: the baseline (csv + pandas/default) has no usable measurement "
            f"({baseline_rows[0].status}: {baseline_rows[0].reason or 'no reason given'})"
        ]
    return []


def _mark_pareto(rows: Sequence[ResultRow], queries: Iterable[str]) -> list[ResultRow]:
    """``rows`` with ``pareto`` set: on the front of its query's rankable rows."""
    front: set[int] = set()
    for query in queries:
        candidates = [i for i, r in enumerate(rows) if r.query == query and r.rankable]
        objectives = [
            {name: getattr(rows[i], name) for name in PARETO_OBJECTIVES} for i in candidates
        ]
        front.update(candidates[k] for k in stats.pareto_front(objectives, PARETO_OBJECTIVES))
    return [dataclasses.replace(row, pareto=i in front) for i, row in enumerate(rows)]


def _totals(
    configs: Sequence[Configuration],
    queries: Sequence[str],
    observed: Sequence[Observation],
    storage_bytes: Mapping[str, int],
    wrong: Mapping[Configuration, str],
    checked: Mapping[tuple[Configuration, str], bool],
    seed: int,
) -> list[ResultRow]:
    per_config = {config: _repetition_totals(config, queries, observed) for config in configs}
    rows = []
    for config in configs:
        sums = per_config[config]
        fields: dict[str, Any] = {}
        for name in QUANTITIES:
            fields.update(
                _estimate_fields(name, [v for s in sums if (v := s[name]) is not None], seed)
            )
        for name in RANGE_QUANTITIES:
            fields[f"{name}_median"] = _median_of_all([s[name] for s in sums])
        every_query = all(checked.get((config, query)) for query in queries)
        if config in wrong:
            status, correct, reason = STATUS_WRONG, CORRECT_NO, wrong[config]
        elif sums:
            status, correct, reason = STATUS_OK, CORRECT_YES if every_query else NOT_CHECKED, ""
        else:
            status, correct = "incomplete", NOT_CHECKED
            reason = "no repetition completed every query"
        rows.append(
            ResultRow(
                **config.as_dict(),
                query=ALL_QUERIES,
                label=config.label,
                **fields,
                repetitions=len(sums),
                storage_bytes=storage_bytes.get(config.format),
                status=status,
                correct=correct,
                reason=reason,
            )
        )
    by_config = dict(zip(configs, rows, strict=True))
    with_ratios = []
    for config, row in by_config.items():
        base = Configuration(BASELINE_FORMAT, BASELINE_ENGINE, BASELINE_MODE, config.threads)
        fields = _total_ratio(
            row, by_config.get(base), per_config[config], per_config.get(base, []), seed
        )
        with_ratios.append(dataclasses.replace(row, **fields))
    return _mark_pareto(with_ratios, [ALL_QUERIES])


def energy_totals(
    observations: Iterable[Observation], queries: Sequence[str]
) -> dict[Configuration, list[float]]:
    """Per configuration, its energy per repetition summed over ``queries`` (kWh).

    Counted as the totals rows count them: only usable measured steps, only
    repetitions in which every query succeeded; a configuration with none is left out.
    """
    observed = list(observations)
    found: dict[Configuration, list[float]] = {}
    for config in sorted({o.config for o in observed if o.usable}):
        sums = [
            energy
            for total in _repetition_totals(config, queries, observed)
            if (energy := total["energy_kwh"]) is not None
        ]
        if sums:
            found[config] = sums
    return found


def _repetition_totals(
    config: Configuration, queries: Sequence[str], observed: Sequence[Observation]
) -> list[dict[str, float | None]]:
    """Per repetition in which every query succeeded: energy (and its range), time, CPU
    summed; peak RSS max."""
    by_repetition: dict[int, dict[str, Observation]] = {}
    for item in observed:
        if item.config == config and item.usable:
            by_repetition.setdefault(item.repetition, {})[item.query] = item
    sums = []
    for repetition in sorted(by_repetition):
        found = by_repetition[repetition]
        if set(found) != set(queries):
            continue
        items = list(found.values())
        total: dict[str, float | None] = {
            name: _sum([getattr(o, name) for o in items])
            for name in ("energy_kwh", "duration_s", "cpu_s", *RANGE_QUANTITIES)
        }
        peaks = [o.peak_rss_bytes for o in items if o.peak_rss_bytes is not None]
        total["peak_rss_bytes"] = float(max(peaks)) if peaks else None
        sums.append(total)
    return sums


def _sum(values: Sequence[float | None]) -> float | None:
    if any(v is None for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def _total_ratio(
    row: ResultRow,
    base_row: ResultRow | None,
    sums: Sequence[Mapping[str, float | None]],
    base_sums: Sequence[Mapping[str, float | None]],
    seed: int,
) -> dict[str, Any]:
    as_observations = [
        Observation(
            Configuration("", "", "", 0),
            ALL_QUERIES,
            i,
            PHASE_MEASURED,
            STATUS_OK,
            s["energy_kwh"],
            s["duration_s"],
        )
        for i, s in enumerate(sums)
    ]
    base_observations = [
        Observation(
            Configuration("", "", "", 0),
            ALL_QUERIES,
            i,
            PHASE_MEASURED,
            STATUS_OK,
            s["energy_kwh"],
            s["duration_s"],
        )
        for i, s in enumerate(base_sums)
    ]
    return _ratio_fields(row, base_row, as_observations, base_observations, seed)


def _imports(
    configs: Sequence[Configuration], observed: Sequence[Observation], seed: int
) -> list[ImportRow]:
    rows = []
    seen: set[tuple[str, str, int]] = set()
    for config in configs:
        key = (config.engine, config.mode, config.threads)
        if key in seen:
            continue
        seen.add(key)
        items = [
            o
            for o in observed
            if o.phase == PHASE_IMPORT
            and o.status == STATUS_OK
            and (o.config.engine, o.config.mode, o.config.threads) == key
        ]
        fields: dict[str, Any] = {}
        for name in ("energy_kwh", "duration_s"):
            fields.update(
                _estimate_fields(name, [float(v) for o in items if (v := getattr(o, name))], seed)
            )
        rows.append(
            ImportRow(config.engine, config.mode, config.threads, **fields, trials=len(items))
        )
    return rows
