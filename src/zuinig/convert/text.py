"""The words of ``zuinig convert``: its error messages and the lines it prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zuinig.convert.model import ConversionResult
from zuinig.errors import ConversionError

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
        f"{'s' if result.columns != 1 else ''}, per-column SHA-256 checksums equal",
    ]
    energy = (
        "energy not measured"
        if result.energy_kwh is None
        else f"{result.energy_kwh:.3g} kWh"
        + (" (estimated)" if result.energy_is_estimated else "")
        + (f", {result.co2_kg * 1000:.3g} g CO2e" if result.co2_kg is not None else "")
    )
    run = f", run {result.run_id[:8]}" if result.run_id else ""
    lines.append(f"  took {result.duration_s:.1f} s, {energy}{run}")
    if result.replaced:
        lines.append("  replaced the existing file (--force)")
    if result.csv_type_scan:
        lines.append(
            "  the CSV's first block did not show every column's type; "
            "types came from a scan of the whole file"
        )
    lines.extend(f"  note: {note}" for note in result.normalisations)
    return lines


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
