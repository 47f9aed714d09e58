"""Rule ``configuration``: the job's format and engine against the best the benchmark
measured, as a ladder, cheapest change first.

Configurations whose intervals overlap the best one's are tied with it and named
together; the one advised among them is the smallest change from the job's (never the
lowest median: between tied configurations that is noise). Each step says what it saves
per run, month and year, what the conversion costs and when it pays back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from zuinig.advise import savings
from zuinig.advise.bench_view import (
    BenchConfig,
    BenchView,
    by_change,
    calls_text,
    clearly_less,
    ratios_against,
    representative,
    tied_with_best,
)
from zuinig.advise.gather import Records
from zuinig.advise.model import (
    EFFORT_ONE_LINE,
    EFFORT_REWRITE,
    KIND_CONFIGURATION,
    Evidence,
    Recommendation,
    Step,
    tie_sentence,
)
from zuinig.advise.rules.base import JobContext, caveats, yearly
from zuinig.advise.savings import Range
from zuinig.advise.storage import scaled_size_bytes
from zuinig.bench import stats
from zuinig.meter.base import InputFile
from zuinig.units import format_energy, format_number

__all__ = ["advise_configuration"]


def advise_configuration(job: JobContext) -> list[Recommendation]:
    """Move to the best measured configuration, with the ladder of steps towards it."""
    found = _configuration_advice(job) if job.view and job.current else None
    return [found] if found is not None else []


def _configuration_advice(job: JobContext) -> Recommendation | None:
    profile, view, current, model = job.profile, job.view, job.current, job.storage
    assert view is not None and current is not None
    main = profile.main_file
    assert main is not None
    ratios = ratios_against(view, current)
    group = tied_with_best(list(view.energies), ratios)
    best = representative(group, current)
    if best == current:
        return None  # the job's own configuration is as good as any measured
    tied = tuple(c for c in by_change(group, current) if c != best)
    found = {
        config: _step(job, view, current, config, ratios)
        for config in _ladder(view, current, ratios, best)
    }
    top = dataclasses.replace(found[best], tied_with=tuple(c.label for c in tied))
    steps = tuple(
        top if config == best else step
        for config, step in found.items()
        if clearly_less(ratios[config])  # a step is shown only when it saves clearly
    )
    notes = [*profile.notes]
    if top.storage_saved_bytes is not None:
        notes.append(
            f"storage at rest: {model.describe()}; saved only once the old "
            f"{main.format} file is removed (convert never deletes it)"
        )
    ratio = top.ratio
    evidence = Evidence(
        session_id=view.session.session_id,
        data=str(view.session.config.get("data") or view.session.label or view.session.workload),
        match=view.match,
        repeats=(len(view.energies[best]), len(view.energies[current])),
        method=view.method_text(),
        ratio=ratio,
        ratio_text=top.ratio_text,
        calls=calls_text(view.phase),
    )
    per_year = top.saving_kwh_per_year
    text = (
        f"switch from {profile.label} ({current.label} in the benchmark) to {best.label}: "
        f"{top.ratio_text}; expected saving "
        f"{format_energy(per_year.value)} per year ({format_energy(per_year.low)} to "
        f"{format_energy(per_year.high)})"
    )
    if tied:
        text += f"; {tie_sentence([best.label, *top.tied_with])}"
    return Recommendation(
        **job.shared_fields(),
        kind=KIND_CONFIGURATION,
        recommended=best.label,
        text=text,
        saving_kwh_per_run=top.saving_kwh_per_run,
        saving_kwh_per_month=top.saving_kwh_per_month,
        saving_kwh_per_year=per_year,
        saving_co2_kg_per_year=top.saving_co2_kg_per_year,
        saving_eur_per_year=top.saving_eur_per_year,
        storage_saved_bytes=top.storage_saved_bytes,
        storage_saving_kwh_per_year=top.storage_saving_kwh_per_year,
        conversion_kwh=top.conversion_kwh,
        conversion_method=top.conversion_method,
        payback_runs=top.payback_runs,
        payback_days=top.payback_days,
        confidence=top.confidence,
        confidence_text=top.confidence_text,
        evidence=evidence,
        notes=tuple(notes),
        steps=steps,
        tied_with=top.tied_with,
    )


def _ladder(
    view: BenchView,
    current: BenchConfig,
    ratios: Mapping[BenchConfig, stats.Estimate],
    best: BenchConfig,
) -> list[BenchConfig]:
    """The steps towards ``best``, cheapest first: the best change that keeps the
    job's engine (other format or codec, mode or threads: "same code, one line") when
    it saves clearly, then ``best`` itself when it takes another engine."""
    steps: list[BenchConfig] = []
    if best.engine != current.engine:
        same_engine = [
            c
            for c in view.energies
            if c != current and c.engine == current.engine and clearly_less(ratios[c])
        ]
        if same_engine:
            steps.append(representative(tied_with_best(same_engine, ratios), current))
    steps.append(best)
    return steps


_ENGINE_NAMES: Mapping[str, str] = {"pandas": "pandas", "polars": "Polars", "duckdb": "DuckDB"}


def _effort(config: BenchConfig, current: BenchConfig) -> tuple[str, str]:
    """The effort a change asks, as a word and in words."""
    if config.engine != current.engine:
        name = _ENGINE_NAMES.get(config.engine, config.engine)
        mode = f" ({config.mode})" if config.mode != "default" else ""
        return EFFORT_REWRITE, f"rewrite in {name}{mode}"
    if config.format != current.format:
        return EFFORT_ONE_LINE, (
            f"same code, one line: read {config.format} instead of {current.format} "
            "(convert the file once with zuinig convert)"
        )
    changes = []
    if config.mode != current.mode:
        changes.append(f"mode {config.mode}")
    if config.threads != current.threads:
        changes.append(f"{config.threads} thread(s)")
    return EFFORT_ONE_LINE, f"same code, one setting: {' and '.join(changes)}"


def _step(
    job: JobContext,
    view: BenchView,
    current: BenchConfig,
    target: BenchConfig,
    ratios: Mapping[BenchConfig, stats.Estimate],
) -> Step:
    """The savings of changing from ``current`` to ``target``, with their intervals."""
    profile, model = job.profile, job.storage
    main = profile.main_file
    assert main is not None
    ratio = ratios[target]
    per_run = savings.saving_per_run(profile.energy, ratio)
    per_month, per_year, co2, eur = yearly(per_run, profile, job.settings)
    storage_saved: float | None = None
    storage_kwh: float | None = None
    cur_bytes = view.storage_bytes.get(current.format)
    new_bytes = view.storage_bytes.get(target.format)
    converts = target.format != current.format
    if converts and cur_bytes and new_bytes:
        storage_saved = main.size_bytes - scaled_size_bytes(main.size_bytes, cur_bytes, new_bytes)
        storage_kwh = model.kwh_per_year(storage_saved)
    conversion_kwh, conversion_method = _conversion(main, target, view, cur_bytes, job.records)
    if not converts:
        conversion_kwh, conversion_method = 0.0, "no conversion: the format stays"
    runs, days = savings.payback(
        conversion_kwh, per_run.value, per_year.value + (storage_kwh or 0.0)
    )
    confidence, confidence_text = savings.confidence_of(
        per_run, caveats(profile, view, job.assumptions, target)
    )
    effort, effort_text = _effort(target, current)
    return Step(
        configuration=target.label,
        effort=effort,
        effort_text=effort_text,
        ratio=Range.of(ratio),
        ratio_text=stats.describe_ratio(ratio, current.label),
        saving_kwh_per_run=per_run,
        saving_kwh_per_month=per_month,
        saving_kwh_per_year=per_year,
        saving_co2_kg_per_year=co2,
        saving_eur_per_year=eur,
        storage_saved_bytes=storage_saved,
        storage_saving_kwh_per_year=storage_kwh,
        conversion_kwh=conversion_kwh,
        conversion_method=conversion_method,
        payback_runs=runs,
        payback_days=days,
        confidence=confidence,
        confidence_text=confidence_text,
    )


def _conversion(
    main: InputFile,
    target: BenchConfig,
    view: BenchView,
    bench_current_bytes: int | None,
    records: Records,
) -> tuple[float | None, str]:
    converted = [
        r
        for r in records.conversions
        if r.energy_kwh and any(f.path == main.path for f in r.inputs)
    ]
    if converted:
        run = max(converted, key=lambda r: r.started_at)
        return run.energy_kwh, f"measured: zuinig convert run {run.run_id[:8]} of this file"
    prepared = view.prepare_kwh.get(target.format)
    if prepared is None or not bench_current_bytes:
        return None, (
            "unknown: no convert run of this file and no measured preparation of "
            f"{target.format} in the benchmark"
        )
    factor = main.size_bytes / bench_current_bytes
    return prepared * factor, (
        f"estimated: the benchmark's preparation of {target.format} "
        f"({format_energy(prepared)}) scaled by file size (x{format_number(factor)}); it "
        "wrote from a cached Parquet copy, so reading a CSV source costs more"
    )
