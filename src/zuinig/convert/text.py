"""The words of ``zuinig convert``: its error messages and the lines it prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zuinig.convert.model import ConversionResult
from zuinig.errors import ConversionError
from zuinig.units import format_co2, format_energy, format_energy_range

if TYPE_CHECKING:
    import pyarrow as pa


def format_conversion(result: ConversionResult) -> list[str]:
    """The lines ``zuinig convert`` prints for a finished conversion."""
    ratio = (
        f", {result.target_bytes / result.source_bytes:.0%} of the source"
        if result.source_bytes
        else ""
    )
    lines = [
        f"converted {result.source.name} ({result.source_format}, "
        f"{_size_text(result.source_bytes)}) -> {result.target} ({result.target_format}, "
        f"{_size_text(result.target_bytes)}{ratio})",
        f"  verified: {result.rows:,} rows, schema of {result.columns} column"
        f"{'s' if result.columns != 1 else ''}, per-column XXH3-128 checksums equal",
    ]
    run = f", run {result.run_id[:8]}" if result.run_id else ""
    lines.append(f"  took {result.duration_s:.1f} s, {_energy_text(result)}{run}")
    if result.replaced:
        lines.append("  replaced the existing file (--force)")
    if result.csv_type_scan:
        lines.append(
            "  the CSV's first block did not show every column's type; "
            "types came from a scan of the whole file"
        )
    lines.extend(f"  note: {note}" for note in result.normalisations)
    return lines


def _energy_text(result: ConversionResult) -> str:
    """``6.55 mWh (estimated, between 5.2 and 8.1 mWh), 2.45 mg CO₂e``: the same units
    and range as every other figure zuinig prints (see :mod:`zuinig.units`)."""
    if result.energy_kwh is None:
        return "energy not measured"
    method = "estimated" if result.energy_is_estimated else "measured"
    if (
        result.energy_is_estimated
        and result.energy_kwh_low is not None
        and result.energy_kwh_high is not None
    ):
        method += ", " + format_energy_range(result.energy_kwh_low, result.energy_kwh_high)
    text = f"{format_energy(result.energy_kwh)} ({method})"
    if result.co2_kg is not None:
        text += f", {format_co2(result.co2_kg)}"
    return text


def bad(message: str) -> ConversionError:
    """A ConversionError that is the user's input (the CLI exits with code 2)."""
    error = ConversionError(message)
    error.bad_input = True
    return error


def schema_text(schema: pa.Schema) -> str:
    """A schema in one line: ``(name: type, ...)``."""
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop returns
