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

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zuinig.bench import stats
from zuinig.bench.trial import PHASE_IMPORT, PHASE_MEASURED, STATUS_OK, STATUS_WRONG

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

    results: list[dict[str, Any]]
    totals: list[dict[str, Any]]
    imports: list[dict[str, Any]]
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
            _judge(row, config, query, wrong, checked)
            row["storage_bytes"] = storage_bytes.get(config.format)
            results.append(row)
    _add_ratios(results, {(c, q): measured.get((c, q), []) for c in configs for q in queries}, seed)
    notes += _baseline_notes(results)
    _mark_pareto(results, queries)
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
    return {f"{name}_median": estimate.value, f"{name}_ci": [estimate.low, estimate.high]}


def _row(
    config: Configuration,
    query: str,
    trials: Sequence[Observation],
    usable: Sequence[Observation],
    seed: int,
) -> dict[str, Any]:
    row: dict[str, Any] = {**config.as_dict(), "query": query, "label": config.label}
    for name in QUANTITIES:
        values = [float(v) for o in usable if (v := getattr(o, name)) is not None]
        row.update(_estimate_fields(name, values, seed))
    for name in RANGE_QUANTITIES:
        row[f"{name}_median"] = _median_of_all([getattr(o, name) for o in usable])
    failed = [o for o in trials if o.phase != PHASE_IMPORT and o.status != STATUS_OK]
    import_failed = [o for o in trials if o.phase == PHASE_IMPORT and o.status != STATUS_OK]
    row["repetitions"] = len(usable)
    row["failed_trials"] = len(failed)
    if usable:
        row["status"], row["reason"] = STATUS_OK, ""
    elif failed or import_failed:
        first = (failed or import_failed)[0]
        row["status"], row["reason"] = first.status, first.reason
    else:
        row["status"], row["reason"] = "not run", "no trial of this configuration completed"
    return row


def _median_of_all(values: Sequence[float | None]) -> float | None:
    """The median, or ``None`` when there is no value or any is missing."""
    if not values or any(v is None for v in values):
        return None
    return float(statistics.median(float(v) for v in values if v is not None))


def _judge(
    row: dict[str, Any],
    config: Configuration,
    query: str,
    wrong: Mapping[Configuration, str],
    checked: Mapping[tuple[Configuration, str], bool],
) -> None:
    if config in wrong:
        row["status"], row["correct"], row["reason"] = STATUS_WRONG, CORRECT_NO, wrong[config]
    else:
        row["correct"] = correct_text(checked.get((config, query)))


def correct_text(verdict: bool | None) -> str:
    """``yes``, ``no`` or ``not checked`` for a verdict (``None``: not checked)."""
    if verdict is None:
        return NOT_CHECKED
    return CORRECT_YES if verdict else CORRECT_NO


def _rankable(row: Mapping[str, Any]) -> bool:
    return (
        row["status"] == STATUS_OK
        and row["correct"] != CORRECT_NO
        and bool(row["energy_kwh_median"])
    )


def _add_ratios(
    rows: list[dict[str, Any]],
    measured: Mapping[tuple[Configuration, str], Sequence[Observation]],
    seed: int,
) -> None:
    by_key = {
        (Configuration(r["format"], r["engine"], r["mode"], r["threads"]), r["query"]): r
        for r in rows
    }
    for (config, query), row in by_key.items():
        base_config = Configuration(BASELINE_FORMAT, BASELINE_ENGINE, BASELINE_MODE, config.threads)
        base_row = by_key.get((base_config, query))
        row.update(
            _ratio_fields(
                row,
                base_row,
                measured.get((config, query), []),
                measured.get((base_config, query), []),
                seed,
            )
        )


def _ratio_fields(
    row: Mapping[str, Any],
    base_row: Mapping[str, Any] | None,
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
    if base_row is None or not _rankable(row) or not _rankable(base_row):
        return empty
    energy = stats.ratio_ci(
        [o.energy_kwh for o in values if o.energy_kwh],
        [o.energy_kwh for o in base_values if o.energy_kwh],
        seed=seed,
    )
    fields = {
        "ratio_vs_baseline": energy.value,
        "ratio_vs_baseline_ci": [energy.low, energy.high],
        "significance": stats.describe_ratio(energy, BASELINE_LABEL),
        "duration_ratio_vs_baseline": None,
        "duration_ratio_vs_baseline_ci": None,
    }
    durations = [o.duration_s for o in values if o.duration_s]
    base_durations = [o.duration_s for o in base_values if o.duration_s]
    if durations and base_durations:
        time_ratio = stats.ratio_ci(durations, base_durations, seed=seed)
        fields["duration_ratio_vs_baseline"] = time_ratio.value
        fields["duration_ratio_vs_baseline_ci"] = [time_ratio.low, time_ratio.high]
    return fields


def _baseline_notes(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    baseline_rows = [
        r
        for r in rows
        if (r["format"], r["engine"], r["mode"])
        == (BASELINE_FORMAT, BASELINE_ENGINE, BASELINE_MODE)
    ]
    if not baseline_rows:
        return [
            f"ratios are null: the baseline ({BASELINE_FORMAT} + {BASELINE_ENGINE}/{BASELINE_MODE}) "
            "is not in the matrix; add --formats csv and --engines pandas to get them"
        ]
    if not any(_rankable(r) for r in baseline_rows):
        return [
            "ratios are null: the baseline (csv + pandas/default) has no usable measurement "
            f"({baseline_rows[0]['status']}: {baseline_rows[0]['reason'] or 'no reason given'})"
        ]
    return []


def _mark_pareto(rows: list[dict[str, Any]], queries: Iterable[str]) -> None:
    for row in rows:
        row["pareto"] = False
    for query in queries:
        candidates = [r for r in rows if r["query"] == query and _rankable(r)]
        for index in stats.pareto_front(candidates, PARETO_OBJECTIVES):
            candidates[index]["pareto"] = True


def _totals(
    configs: Sequence[Configuration],
    queries: Sequence[str],
    observed: Sequence[Observation],
    storage_bytes: Mapping[str, int],
    wrong: Mapping[Configuration, str],
    checked: Mapping[tuple[Configuration, str], bool],
    seed: int,
) -> list[dict[str, Any]]:
    per_config = {config: _repetition_totals(config, queries, observed) for config in configs}
    rows = []
    for config in configs:
        sums = per_config[config]
        row: dict[str, Any] = {**config.as_dict(), "query": ALL_QUERIES, "label": config.label}
        for name in QUANTITIES:
            row.update(
                _estimate_fields(name, [v for s in sums if (v := s[name]) is not None], seed)
            )
        for name in RANGE_QUANTITIES:
            row[f"{name}_median"] = _median_of_all([s[name] for s in sums])
        row["repetitions"] = len(sums)
        row["storage_bytes"] = storage_bytes.get(config.format)
        every_query = all(checked.get((config, query)) for query in queries)
        if config in wrong:
            row.update(status=STATUS_WRONG, correct=CORRECT_NO, reason=wrong[config])
        elif sums:
            row.update(
                status=STATUS_OK, correct=CORRECT_YES if every_query else NOT_CHECKED, reason=""
            )
        else:
            row.update(
                status="incomplete",
                correct=NOT_CHECKED,
                reason="no repetition completed every query",
            )
        rows.append(row)
    by_config = dict(zip(configs, rows, strict=True))
    for config, row in by_config.items():
        base = Configuration(BASELINE_FORMAT, BASELINE_ENGINE, BASELINE_MODE, config.threads)
        row.update(
            _total_ratio(
                row, by_config.get(base), per_config[config], per_config.get(base, []), seed
            )
        )
    _mark_pareto(rows, [ALL_QUERIES])
    return rows


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
    row: Mapping[str, Any],
    base_row: Mapping[str, Any] | None,
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
) -> list[dict[str, Any]]:
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
        row: dict[str, Any] = {
            "engine": config.engine,
            "mode": config.mode,
            "threads": config.threads,
        }
        for name in ("energy_kwh", "duration_s"):
            row.update(
                _estimate_fields(name, [float(v) for o in items if (v := getattr(o, name))], seed)
            )
        row["trials"] = len(items)
        rows.append(row)
    return rows
