"""What a conversion is made of: the request as planned, its progress and its result."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zuinig.formats import FormatKind

if TYPE_CHECKING:
    import pyarrow as pa

    from zuinig.convert.digest import ColumnDigest
    from zuinig.formats import Format, SourceFile


#: A format ``convert`` writes (``parquet``, ``arrow``, ``csv``): the registry's family.
TargetKind = FormatKind


@dataclass(frozen=True)
class ConversionProgress:
    """How far a conversion is, for a progress bar.

    Attributes:
        phase: ``converting``, ``scanning types`` (a CSV whose first block misled) or
            ``verifying``.
        done_bytes: bytes of the file this phase reads that are done (bytes; estimated
            from rows for Parquet and Arrow files).
        total_bytes: that file's size (bytes).
    """

    phase: str
    done_bytes: int
    total_bytes: int


ProgressCallback = Callable[[ConversionProgress], None]


@dataclass(frozen=True)
class ConversionResult:
    """A finished, verified conversion.

    A result exists only when verification passed: the target has the source's row count
    and schema (after the listed normalisations) and equal per-column checksums.

    Attributes:
        source: the source file, absolute.
        target: the written file, absolute.
        source_format: the source's format as detected, e.g. ``csv.gz`` or ``parquet``.
        target_format: the target's format, named as in ``zuinig bench``
            (e.g. ``parquet-zstd``, ``arrow-lz4``, ``csv.gz``).
        compression: the target's codec, or ``None`` for none.
        rows: rows converted.
        columns: columns converted.
        source_bytes: size of the source (bytes).
        target_bytes: size of the target (bytes).
        checksums: per column, the XXH3-128 (hex) of its canonical values, equal in the
            source as read and in the target as read back (see the module docstring).
        normalisations: how column types changed to fit the target, in words.
        csv_type_scan: whether the CSV source needed the whole-file type scan.
        replaced: whether an existing target was replaced (``force``).
        duration_s: wall time of the conversion, verification included (s).
        run_id: the ledger run holding the conversion's energy.
        energy_kwh: the conversion's energy (kWh), when it was measured.
        energy_kwh_low: low end of an estimated energy's range (kWh).
        energy_kwh_high: high end of an estimated energy's range (kWh).
        co2_kg: its CO2-equivalent (kg), when it was measured.
        co2_kg_low: CO2e of ``energy_kwh_low`` (kg).
        co2_kg_high: CO2e of ``energy_kwh_high`` (kg).
        energy_is_estimated: whether that energy is an estimate (not read from RAPL).
        verified: always ``True``: a failed verification raises instead.
    """

    source: Path
    target: Path
    source_format: str
    target_format: str
    compression: str | None
    rows: int
    columns: int
    source_bytes: int
    target_bytes: int
    checksums: Mapping[str, str]
    normalisations: tuple[str, ...] = ()
    csv_type_scan: bool = False
    replaced: bool = False
    duration_s: float = 0.0
    run_id: str | None = None
    energy_kwh: float | None = None
    energy_kwh_low: float | None = None
    energy_kwh_high: float | None = None
    co2_kg: float | None = None
    co2_kg_low: float | None = None
    co2_kg_high: float | None = None
    energy_is_estimated: bool | None = None
    verified: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping; paths as strings."""
        data = {item.name: getattr(self, item.name) for item in dataclasses.fields(self)}
        data["source"] = str(self.source)
        data["target"] = str(self.target)
        data["checksums"] = dict(self.checksums)
        data["normalisations"] = list(self.normalisations)
        return data


@dataclass(frozen=True)
class Plan:
    """A checked request: what to read, where to write it and in which format."""

    source: SourceFile
    target: Path
    format: Format
    force: bool
    replaces: bool


@dataclass
class Written:
    """What a write put in the temporary file, with the checksums of the values written."""

    schema: pa.Schema
    rows: int
    digests: list[ColumnDigest]
    notes: tuple[str, ...]
    type_scan: bool = False


def no_progress(update: ConversionProgress) -> None:
    """The progress callback of a caller that shows none."""
    return None
