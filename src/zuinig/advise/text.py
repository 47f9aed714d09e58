"""``zuinig advise`` as text: advice in, lines out (pure; only the CLI prints)."""

from __future__ import annotations

from pathlib import PurePath

from zuinig.advise.model import Advice, Realised, Recommendation, Step, tie_sentence
from zuinig.advise.savings import Range
from zuinig.units import format_co2, format_energy, format_energy_range, format_number

__all__ = ["format_advice"]


def format_advice(advice: Advice) -> list[str]:
    """The ranked recommendations, then the realised savings, then what was skipped."""
    lines: list[str] = []
    if not advice.recommendations and not advice.realised:
        lines.append("No advice: the ledger has no ok runs of a job that reads a data file.")
    for number, item in enumerate(advice.recommendations, start=1):
        lines.extend(_recommendation(number, item))
        lines.append("")
    if advice.realised:
        lines.append("Realised savings (before against after a change of configuration):")
        for found in advice.realised:
            lines.extend(_realised(found))
        lines.append("")
    for note in advice.notes:
        lines.append(f"note: {note}")
    if advice.recommendations:
        lines.append(
            "Intervals are 95%, combined by interval arithmetic; energy of runs as the "
            "ledger measured it (see `zuinig runs show` for each run's method); where a "
            "job's runs are estimates with a range, its energy interval spans that range too."
        )
    return lines


def _recommendation(number: int, item: Recommendation) -> list[str]:
    head = f"{number}. {item.job}: {item.current}"
    if item.recommended:
        head += f" -> {item.recommended}"
    lines = [head + f"  [{item.kind}]"]
    lines.append(f"   {item.text}")
    files = ", ".join(f"{PurePath(f.path).name} ({_bytes(f.size_bytes)})" for f in item.files)
    if files:
        lines.append(f"   data: {files}")
    if item.energy_kwh_per_run and item.runs_per_month is not None:
        lines.append(
            f"   now: {_energy(item.energy_kwh_per_run)} per run, "
            f"{format_number(item.runs_per_month)} runs per month "
            f"(over {format_number(item.window_days or 0)} days)"
        )
    if item.saving_kwh_per_run and item.saving_kwh_per_month and item.saving_kwh_per_year:
        lines.append(
            f"   saving: {_energy(item.saving_kwh_per_run)} per run, "
            f"{_energy(item.saving_kwh_per_month)} per month, "
            f"{_energy(item.saving_kwh_per_year)} per year"
        )
        extra = []
        if item.saving_co2_kg_per_year:
            extra.append(f"{_co2(item.saving_co2_kg_per_year)} per year")
        if item.saving_eur_per_year:
            extra.append(f"EUR {_range(item.saving_eur_per_year, '')} per year".rstrip())
        if extra:
            lines.append("           " + "; ".join(extra))
    if item.storage_saving_kwh_per_year is not None and item.storage_saved_bytes is not None:
        lines.append(
            f"   storage at rest: {_bytes(item.storage_saved_bytes)} smaller, "
            f"{format_energy(item.storage_saving_kwh_per_year)} per year (estimated)"
        )
    if item.conversion_kwh is not None or item.conversion_method:
        amount = (
            format_energy(item.conversion_kwh) if item.conversion_kwh is not None else "unknown"
        )
        lines.append(f"   converting: {amount} ({item.conversion_method})")
    if item.payback_runs is not None or item.payback_days is not None:
        runs = (
            f"{format_number(item.payback_runs)} runs"
            if item.payback_runs is not None
            else "never by runs"
        )
        days = (
            f"{format_number(item.payback_days)} days"
            if item.payback_days is not None
            else "unknown days"
        )
        lines.append(f"   payback: {runs}, {days}")
    lines.extend(_ladder(item))
    if item.evidence:
        evidence = item.evidence
        lines.append(
            f"   evidence: bench session {evidence.session_id[:8]} on {evidence.data} "
            f"({evidence.match}), {evidence.repeats[0]} and {evidence.repeats[1]} repeats; "
            f"{evidence.method}"
        )
    if item.confidence_text:
        lines.append(f"   how sure: {item.confidence_text}")
    if item.command:
        lines.append(f"   run: {item.command}")
    lines.extend(f"   note: {note}" for note in item.notes)
    return lines


def _ladder(item: Recommendation) -> list[str]:
    """The steps, cheapest change first, one or two lines each; then the tie."""
    lines = []
    if len(item.steps) > 1 or (item.steps and item.steps[0].configuration != item.recommended):
        lines.append("   ladder, cheapest change first:")
        for number, step in enumerate(item.steps, start=1):
            lines.extend(_step(number, step))
    elif item.steps:
        lines.append(f"   effort: {item.steps[0].effort_text}")
    if item.tied_with and item.recommended:
        lines.append(f"   tied: {tie_sentence([item.recommended, *item.tied_with])}")
    return lines


def _step(number: int, step: Step) -> list[str]:
    factor = _factor(step.ratio)
    payback = ""
    if step.payback_runs is not None:
        payback = f"; payback {format_number(step.payback_runs)} runs"
    storage = ""
    if step.storage_saved_bytes is not None:
        storage = f"; {_bytes(step.storage_saved_bytes)} less at rest"
    return [
        f"     {number}. {step.configuration} ({step.effort_text}): {factor}",
        f"        saves {_energy(step.saving_kwh_per_run)} per run, "
        f"{_energy(step.saving_kwh_per_year)} per year{storage}{payback}",
    ]


def _factor(ratio: Range) -> str:
    """``2.2x less energy (1.8x to 2.5x)`` for a ratio below 1."""
    if ratio.value >= 1:
        return f"{format_number(ratio.value)}x the energy"
    text = f"{format_number(1 / ratio.value)}x less energy"
    if ratio.has_interval and ratio.low < ratio.high:
        text += f" ({format_number(1 / ratio.high)}x to {format_number(1 / ratio.low)}x)"
    return text


def _realised(found: Realised) -> list[str]:
    lines = [
        f"- {found.job}: {found.before} -> {found.after} since {found.since:%Y-%m-%d %H:%M} UTC"
    ]
    if not found.method_match or found.saving_kwh_per_run is None:
        lines.extend(f"  {note}" for note in found.notes)
        return lines
    assert found.before_kwh_per_run and found.after_kwh_per_run
    lines.append(
        f"  {_energy(found.before_kwh_per_run)} per run before ({found.runs_before} runs), "
        f"{_energy(found.after_kwh_per_run)} after ({found.runs_after} runs); "
        f"measured the same way ({found.method})"
    )
    year = f", {_energy(found.saving_kwh_per_year)} per year" if found.saving_kwh_per_year else ""
    lines.append(f"  saved: {_energy(found.saving_kwh_per_run)} per run{year}")
    if found.followed_recommendation is not None:
        lines.append(
            "  this is the configuration the benchmark recommends"
            if found.followed_recommendation
            else "  note: the benchmark recommends another configuration"
        )
    if found.confidence_text:
        lines.append(f"  how sure: {found.confidence_text}")
    lines.extend(f"  note: {note}" for note in found.notes)
    return lines


def _energy(item: Range) -> str:
    """An energy (kWh) with its interval, in words: ``2.3 Wh (between 1.2 and 3.4 Wh)``."""
    if not item.has_interval or item.low == item.high:
        return format_energy(item.value)
    return f"{format_energy(item.value)} ({format_energy_range(item.low, item.high)})"


def _co2(item: Range) -> str:
    """A CO2e mass (kg) with its interval, each in the unit that keeps its digits."""
    if not item.has_interval or item.low == item.high:
        return format_co2(item.value)
    return f"{format_co2(item.value)} ({format_co2(item.low)} to {format_co2(item.high)})"


def _range(item: Range, unit: str) -> str:
    suffix = f" {unit}" if unit else ""
    if not item.has_interval or item.low == item.high:
        return f"{format_number(item.value)}{suffix}"
    return (
        f"{format_number(item.value)}{suffix} "
        f"({format_number(item.low)} to {format_number(item.high)})"
    )


def _bytes(size: float) -> str:
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(size) >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size:.0f} bytes"
