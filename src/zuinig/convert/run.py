"""The entry point: plan, convert, verify and publish, recording the conversion's energy."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from zuinig.atomic import TargetNotWritableError, atomic_path
from zuinig.convert.model import ConversionResult, Plan, ProgressCallback, Written, no_progress
from zuinig.convert.plan import make_plan
from zuinig.convert.read import read_errors, reader_progress
from zuinig.convert.text import bad
from zuinig.convert.verify import verify
from zuinig.convert.write import write_target
from zuinig.errors import ConversionError
from zuinig.formats import TypeMismatch, retry_types
from zuinig.formats.read import os_reason
from zuinig.ledger.model import KIND_CONVERT

if TYPE_CHECKING:
    import pyarrow as pa

    from zuinig.measure import Recorder


def convert_file(
    source: str | os.PathLike[str],
    to: str,
    *,
    compression: str | None = None,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
    recorder: Recorder | None = None,
    progress: ProgressCallback | None = None,
) -> ConversionResult:
    """Convert ``source`` to another format, verified, atomically, without touching it.

    See the module docstring for what is verified and how.

    Args:
        source: a CSV (``.csv``, ``.tsv``, also ``.gz``/``.bz2``/``.zst``/``.lz4``-compressed),
            Parquet or Arrow IPC file.
        to: ``parquet``, ``arrow`` or ``csv``.
        compression: the codec (see :data:`CODECS`); :data:`DEFAULT_CODECS` when ``None``,
            except that an ``out`` ending in ``.gz`` asks for gzip.
        out: the file to write, or an existing directory to write it in; by default the
            source's directory, same name, new suffix (``.parquet``, ``.arrow``, ``.csv``,
            ``.csv.gz``).
        force: replace the target if it exists.
        recorder: where the conversion's energy is recorded; the process-wide default
            recorder (settings' meter and ledger) when ``None``.
        progress: called with a :class:`ConversionProgress` after each batch.

    Returns:
        The verified result, with the run that holds its energy.

    Raises:
        ConversionError: the request or the source is wrong (``bad_input``), or writing or
            verifying failed; the source is untouched and no target or temporary file is
            left.
    """
    plan = make_plan(source, to, compression=compression, out=out, force=force)
    if recorder is None:
        from zuinig.measure import default_recorder

        recorder = default_recorder()
    active = recorder.begin(
        f"convert:{plan.source.path.name}",
        tags={"from": plan.source.format, "to": plan.format.name},
        kind=KIND_CONVERT,
        context={"paths": [str(plan.source.path)]},
    )
    started = time.perf_counter()
    try:
        written = _convert(plan, progress or no_progress)
    except BaseException as error:
        active.finish(error)
        raise
    duration_s = time.perf_counter() - started
    run = active.finish()
    return ConversionResult(
        source=plan.source.path,
        target=plan.target,
        source_format=plan.source.format,
        target_format=plan.format.name,
        compression=plan.format.compression,
        rows=written.rows,
        columns=len(written.schema),
        source_bytes=plan.source.size_bytes,
        target_bytes=plan.target.stat().st_size,
        checksums=MappingProxyType(
            {f.name: d.hexdigest() for f, d in zip(written.schema, written.digests, strict=True)}
        ),
        normalisations=written.notes,
        csv_type_scan=written.type_scan,
        replaced=plan.replaces,
        duration_s=duration_s,
        run_id=run.run_id,
        energy_kwh=run.energy_kwh,
        energy_kwh_low=run.energy_kwh_low,
        energy_kwh_high=run.energy_kwh_high,
        co2_kg=run.co2_kg,
        co2_kg_low=run.co2_kg_low,
        co2_kg_high=run.co2_kg_high,
        energy_is_estimated=run.is_estimated,
    )


def _convert(plan: Plan, progress: ProgressCallback) -> Written:
    """Write, verify and publish; on a misleading CSV first block, scan and write again."""
    column_types: dict[str, pa.DataType] | None = None
    scanned = False
    # One attempt with inferred types, one with scanned types, then at most one more per
    # column the scanned types still cannot read (that column becomes text each time).
    attempts = 0
    while column_types is None or attempts <= len(column_types) + 1:
        attempts += 1
        try:
            return _write_verified(plan, column_types, scanned, progress)
        except TypeMismatch as mismatch:  # its temporary file is gone already
            scanned = True
            with read_errors():
                column_types = retry_types(
                    plan.source, column_types, mismatch, reader_progress(progress, "scanning types")
                )
    raise ConversionError(f"cannot find column types that read {plan.source.path}")


def _write_verified(
    plan: Plan,
    column_types: Mapping[str, pa.DataType] | None,
    scanned: bool,
    progress: ProgressCallback,
) -> Written:
    """One attempt: write a temporary file beside the target with :mod:`zuinig.atomic`,
    read it back to verify it, and only then put it in place.

    Without ``force`` it never replaces a file, not even one that appeared meanwhile.
    The target gets the source's permission bits, limited to those a new file gets (the
    umask): a 600 source gives a 600 target, so converting never opens data up.
    """
    target = plan.target
    written: Written | None = None
    try:
        with atomic_path(target, mode=plan.source.mode, replace=plan.force, streams=False) as temp:
            written = write_target(plan, temp, column_types, progress)
            written.type_scan = scanned
            verify(plan, temp, written, progress)
    except FileExistsError:
        raise bad(f"{target} appeared while converting; use --force to replace it") from None
    except TargetNotWritableError as error:  # became a device or pipe after planning
        raise bad(str(error)) from None
    except OSError as error:
        # The writer and verification turn their own OSErrors into ConversionErrors:
        # before a write this is the temporary file, after it the sync or the rename.
        if written is None:
            raise bad(
                f"cannot create a file in {target.parent}: {os_reason(error)}; "
                "give --out a place you can write"
            ) from error
        raise ConversionError(
            f"cannot move the converted file to {target}: {os_reason(error)}"
        ) from error
    return written
