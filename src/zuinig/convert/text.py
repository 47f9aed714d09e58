"""The words of ``zuinig convert``: its error messages and the lines it prints."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from zuinig.convert.model import ConversionResult, Source
from zuinig.errors import ConversionError

if TYPE_CHECKING:
    import pyarrow as pa


#: Longest piece of a pyarrow message quoted in an error (a ragged row is quoted whole).
_QUOTE_CHARS = 160


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


def csv_reason(
    source: Source,
    text: str,
    rows_before: int | None = None,
    names: list[str] | None = None,
    *,
    block_bytes: int,
) -> str:
    first = text.strip().splitlines()[0] if text.strip() else text
    where = f" (after data row {rows_before:,})" if rows_before else ""
    if "invalid UTF8" in text:
        match = re.search(r"column #(\d+)", text)
        index = int(match.group(1)) if match else None
        if index is not None and names is not None and index < len(names):
            column = f"column {names[index]!r}"
        else:
            column = f"column #{index + 1}" if index is not None else "a column"
        after = f", after data row {rows_before:,}," if rows_before else ""
        return encoding_reason(source, column + after)
    if "straddling object" in text or "Empty CSV file or block" in text:
        size = f"{block_bytes / (1 << 20):g} MiB"
        return (
            f'{source.path} has a row longer than {size}{where}, most likely a quote (") '
            "that is never closed; fix the quoting"
        )
    if "Empty CSV file" in text:
        return (
            f"{source.path} holds no CSV data, not even a header row; there is nothing to convert"
        )
    parse = re.search(r"Expected (\d+) columns, got (\d+): ?(.*)", first)
    if parse:
        row = parse.group(3)
        quoted = row if len(row) <= _QUOTE_CHARS else row[: _QUOTE_CHARS - 1] + "…"
        return (
            f"{source.path} has a row with {parse.group(2)} fields where the header has "
            f"{parse.group(1)}{where}: {quoted!r}; fix or remove that row"
        )
    if "CSV conversion error" in text:
        return f"cannot read {source.path}: {_shorten(first)}{where}"
    return f"cannot read {source.path} as CSV: {_shorten(first)}{where}"


def encoding_reason(source: Source, where: str) -> str:
    return (
        f"{source.path} is not UTF-8 text ({where} holds other bytes); re-encode it, for "
        f"example: iconv -f latin1 -t utf-8 {source.path.name} > utf8-{source.path.name}"
    )


def read_reason(source: Source, error: BaseException) -> str:
    text = arrow_reason(error)
    if source.compression and (
        "compressed" in text.lower()
        or "inflate" in text
        or "zstd" in text.lower()
        or "bz2" in text.lower()
    ):
        return (
            f"{source.path} is not a complete {source.compression} file ({text}); "
            "it may be truncated: copy or download it again"
        )
    kind = {"csv": "CSV", "parquet": "Parquet", "arrow": "Arrow IPC"}[source.kind]
    return f"cannot read {source.path} as {kind}: {text}; the file may be damaged or truncated"


def arrow_reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return os_reason(error)
    text = str(error).strip()
    return _shorten(text.splitlines()[0] if text else type(error).__name__)


def os_reason(error: OSError) -> str:
    return error.strerror or str(error)


def _shorten(text: str) -> str:
    return text if len(text) <= 2 * _QUOTE_CHARS else text[: 2 * _QUOTE_CHARS - 1] + "…"


def schema_text(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name}: {f.type}" for f in schema) + ")"


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop returns
