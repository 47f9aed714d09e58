"""Importing other tools' measurements as runs: CodeCarbon's ``emissions.csv``.

``zuinig import codecarbon FILE...`` brings a team's earlier CodeCarbon history
into the ledger, so that it is counted and compared with what zuinig measures.

- **Streamed.** Files are read row by row with the :mod:`csv` module and written
  in batches, so a file of any size imports in constant memory.
- **Every CodeCarbon version.** Columns are found by name in the header. Only
  ``timestamp``, ``duration`` and ``energy_consumed`` are required; the rest are
  used when present (2.x files have no ``codecarbon_version`` or ``experiment_id``;
  1.x files have no CPU/RAM/GPU split; 3.x adds water and utilisation columns,
  which are ignored).
- **Idempotent.** A row's run id is derived from CodeCarbon's ``run_id``
  (:func:`run_id_for`, a UUID 5), so importing a file again adds nothing. A
  tracker that flushed writes several rows with the same ``run_id``, each with the
  totals so far; the one with the longest duration is the run's final state.
  A file without a ``run_id`` column (the oldest versions) gets ids from the
  row's content.
- **Bad rows are reported, good rows kept**, each bad row with its line number.
- **Labelled as imported.** ``method_meter`` is ``codecarbon <version> (imported)``
  and ``method_cpu`` is :data:`~zuinig.meter.base.CPU_METHOD_IMPORTED`: how
  CodeCarbon estimated the energy (RAPL or a TDP model) is not in its CSV.
  ``method_attribution`` is the rule CodeCarbon's own tracker follows in the
  row's ``tracking_mode`` (``codecarbon-process`` or ``codecarbon-machine``), the
  same label migration 0003 gives zuinig's runs of before the resource-share rule;
  a row without a known ``tracking_mode`` has none. No range is made up: CodeCarbon
  writes none.

CodeCarbon writes ``timestamp`` (when the tracker stopped) in the *local* time of
the machine that measured, without an offset. It is read as this machine's local
time; a timestamp with an offset is taken as written.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from zuinig.errors import UsageError
from zuinig.factors import CarbonFactor, market_factor_for
from zuinig.ledger.model import KIND_FUNCTION, STATUS_OK, Run
from zuinig.meter.base import (
    ATTRIBUTION_CODECARBON_MACHINE,
    ATTRIBUTION_CODECARBON_PROCESS,
    CPU_METHOD_IMPORTED,
)

if TYPE_CHECKING:
    from zuinig.ledger.store import Ledger

#: Namespace of the run ids derived from CodeCarbon's run ids (fixed for ever: changing
#: it would make every re-import a duplicate).
CODECARBON_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-5b7a-9c41-2e6d0b8f7a13")
#: The tag ``source`` of every imported run.
SOURCE_TAG = "codecarbon-import"
#: Rows written per transaction.
BATCH_SIZE = 500
#: Columns without which a row is no measurement.
REQUIRED_COLUMNS = ("timestamp", "duration", "energy_consumed")
#: Job name when a row has neither a project name nor an experiment id (CodeCarbon's
#: own default project name).
_DEFAULT_JOB = "codecarbon"
#: CodeCarbon's ``tracking_mode`` -> the attribution rule its tracker applied.
_CODECARBON_RULES = {
    "process": ATTRIBUTION_CODECARBON_PROCESS,
    "machine": ATTRIBUTION_CODECARBON_MACHINE,
}


class BadRow(NamedTuple):
    """A row that could not be imported.

    Attributes:
        path: the file.
        line: the line number where the row starts (1 is the header).
        reason: why, in words.
    """

    path: Path
    line: int
    reason: str


@dataclass
class ImportResult:
    """What :func:`import_codecarbon_csv` did.

    Attributes:
        imported: runs written (new, or a later state of a run imported before).
        duplicates: rows whose run the ledger already held in that state (or a
            later one): an earlier import, or an earlier flush row of the same run.
        bad_rows: rows that could not be imported, with their line numbers.
        files: files read.
    """

    imported: int = 0
    duplicates: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    files: int = 0

    @property
    def good_rows(self) -> int:
        """Rows that were imported or already there."""
        return self.imported + self.duplicates


def run_id_for(codecarbon_run_id: str) -> str:
    """The zuinig run id of a CodeCarbon run: a UUID 5 of CodeCarbon's ``run_id``.

    Args:
        codecarbon_run_id: the ``run_id`` column of CodeCarbon's CSV.

    Returns:
        The same id on every machine and at every import.
    """
    return str(uuid.uuid5(CODECARBON_NAMESPACE, codecarbon_run_id.strip().lower()))


def import_codecarbon_csv(
    paths: Iterable[str | os.PathLike[str]],
    ledger: Ledger,
    *,
    job: str | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Import CodeCarbon ``emissions.csv`` files into ``ledger`` as runs.

    Args:
        paths: the files; each is checked to be readable before anything is written.
        ledger: where the runs go.
        job: the job name of every imported run; by default CodeCarbon's
            ``project_name`` (or ``experiment_id``, or ``codecarbon``).
        batch_size: rows written per transaction.

    Returns:
        The counts and the bad rows; see :class:`ImportResult`.

    Raises:
        UsageError: a file does not exist or cannot be read (nothing is imported).
        LedgerError: the ledger cannot be written; batches written before stay.
    """
    from zuinig.ledger.sync import put_batch

    files = [Path(os.fspath(path)) for path in paths]
    for path in files:
        _check_readable(path)
    result = ImportResult()
    pending: list[Run] = []

    def flush() -> None:
        counts = put_batch(ledger, pending, keep_stored=_stored_is_later)
        result.imported += counts.copied + counts.updated
        result.duplicates += counts.unchanged + counts.skipped_running
        pending.clear()

    for path in files:
        result.files += 1
        for item in _read_rows(path, job):
            if isinstance(item, BadRow):
                result.bad_rows.append(item)
                continue
            pending.append(item)
            if len(pending) >= batch_size:
                flush()
    if pending:
        flush()
    return result


def _check_readable(path: Path) -> None:
    try:
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file; nothing was imported") from None
    except IsADirectoryError:
        raise UsageError(
            f"{path} is a directory; give the emissions.csv file(s) in it; nothing was imported"
        ) from None
    except OSError as error:
        raise UsageError(
            f"cannot read {path}: {error.strerror or error}; nothing was imported"
        ) from None


def _stored_is_later(stored: Run, new: Run) -> bool:
    # CodeCarbon's flush rows hold the totals so far: a longer duration is a later
    # state of the same run, which an earlier row (or file) must not undo.
    return (
        stored.duration_s is not None
        and new.duration_s is not None
        and stored.duration_s > new.duration_s
    )


# -- reading one file -----------------------------------------------------------------------


def _read_rows(path: Path, job: str | None) -> Iterator[Run | BadRow]:
    # surrogateescape: a byte that is not UTF-8 spoils its own row (reported), not
    # the rest of the file. utf-8-sig: Excel saves CSV with a byte-order mark.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
        reader = csv.reader(stream)
        try:
            header = next(reader, None)
        except csv.Error as error:
            yield BadRow(path, 1, f"the header is not CSV ({error})")
            return
        if header is None:
            return  # an empty file: nothing to import, nothing wrong
        columns = [name.strip().lower() for name in header]
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            yield BadRow(
                path,
                1,
                f"no column {', '.join(missing)}: not a CodeCarbon emissions.csv header",
            )
            return
        next_line = reader.line_num + 1
        while True:
            line = next_line
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                # The reader has consumed the offending line; the rows after it are fine.
                # (The csv module's field limit, 128 KiB, also lands here: a field that
                # large means the file is not what it seems.)
                yield BadRow(path, line, f"not CSV: {error}")
                next_line = reader.line_num + 1
                continue
            next_line = reader.line_num + 1
            if not fields or all(not value.strip() for value in fields):
                continue  # blank line
            if len(fields) != len(columns):
                yield BadRow(
                    path, line, f"has {len(fields)} fields where the header has {len(columns)}"
                )
                continue
            try:
                yield _row_to_run(dict(zip(columns, fields, strict=True)), path, job)
            except _RowError as error:
                yield BadRow(path, line, str(error))


class _RowError(ValueError):
    """Why one row cannot be a run."""


def _row_to_run(row: dict[str, str], path: Path, job: str | None) -> Run:
    for name, value in row.items():
        if _has_undecodable(value):
            raise _RowError(f"{name} is not UTF-8 text")
    ended_at = _timestamp(row["timestamp"])
    duration_s = _number(row, "duration", required=True)
    energy_kwh = _number(row, "energy_consumed", required=True)
    assert duration_s is not None and energy_kwh is not None
    co2_kg = _number(row, "emissions")
    cpu_kwh, ram_kwh, gpu_kwh = (
        _number(row, "cpu_energy"),
        _number(row, "ram_energy"),
        _number(row, "gpu_energy"),
    )
    codecarbon_run_id = _text(row, "run_id")
    experiment_id = _text(row, "experiment_id")
    project = _text(row, "project_name")
    version = _text(row, "codecarbon_version")
    if codecarbon_run_id:
        run_id = run_id_for(codecarbon_run_id)
    else:
        # The oldest files have no run_id: the row's measured content identifies it.
        content = (
            "\x1f".join(
                row.get(name, "")
                for name in ("timestamp", "project_name", "experiment_id", "duration")
            )
            + "\x1f"
            + row["energy_consumed"]
        )
        run_id = run_id_for("content:" + hashlib.sha256(content.encode()).hexdigest())
    tags = {"source": SOURCE_TAG, "file": path.name}
    if codecarbon_run_id:
        tags["codecarbon_run_id"] = codecarbon_run_id
    if experiment_id:
        tags["codecarbon_experiment_id"] = experiment_id
    if job and project and project != job:
        tags["codecarbon_project"] = project
    cpu_count = _number(row, "cpu_count")
    country = _text(row, "country_iso_code")
    # CodeCarbon does not write the intensity it used; this is what its figures imply.
    intensity = co2_kg / energy_kwh * 1000 if co2_kg is not None and energy_kwh > 0 else None
    tracking_mode = _text(row, "tracking_mode")
    where = f", {country}" if country else ""
    intensity_source = (
        f"CodeCarbon{where} (imported: emissions / energy_consumed)" if intensity else None
    )
    started_at = ended_at - timedelta(seconds=duration_s)
    market: CarbonFactor | None = None
    if intensity and intensity_source:
        # CodeCarbon keeps no market-based figure: the default market factor of the run's
        # year is filled in on import, labelled as added later (as migration 0004 does).
        market = market_factor_for(
            country or "",
            started_at.year,
            CarbonFactor(g_per_kwh=intensity, source=intensity_source),
        )
    return Run(
        run_id=run_id,
        job=job or project or experiment_id or _DEFAULT_JOB,
        status=STATUS_OK,
        started_at=started_at,
        kind=KIND_FUNCTION,
        tags=tags,
        ended_at=ended_at,
        duration_s=duration_s,
        energy_kwh=energy_kwh,
        cpu_energy_kwh=cpu_kwh,
        ram_energy_kwh=ram_kwh,
        gpu_energy_kwh=gpu_kwh,
        co2_kg=co2_kg,
        intensity_g_per_kwh=intensity,
        method_meter=f"codecarbon {version} (imported)" if version else "codecarbon (imported)",
        method_cpu=CPU_METHOD_IMPORTED,
        method_cpu_model=_text(row, "cpu_model"),
        method_cpu_count=int(cpu_count) if cpu_count is not None else None,
        tracking_mode=tracking_mode,
        method_attribution=_CODECARBON_RULES.get(tracking_mode or ""),
        pue=_number(row, "pue"),
        intensity_source=intensity_source,
        co2_kg_market_based=None if market is None else energy_kwh * market.g_per_kwh / 1000,
        market_intensity_g_per_kwh=None if market is None else market.g_per_kwh,
        market_intensity_source=None if market is None else market.source,
        market_intensity_year=None if market is None else market.year,
        market_intensity_name=None if market is None else market.name,
        market_intensity_boundary=None if market is None else market.boundary,
        market_added_later=None if market is None else True,
        country_iso_code=country,
        python_version=_text(row, "python_version"),
        codecarbon_version=version,
        zuinig_version=_zuinig_version(),
    )


def _zuinig_version() -> str:
    from zuinig import __version__

    return __version__


def _has_undecodable(value: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in value)


def _text(row: dict[str, str], name: str) -> str | None:
    value = row.get(name, "").strip()
    return value or None


def _number(row: dict[str, str], name: str, *, required: bool = False) -> float | None:
    text = row.get(name, "").strip()
    if not text or text.lower() in ("nan", "none", "null"):
        # pandas writes a missing value as an empty field.
        if required:
            raise _RowError(f"{name} is empty")
        return None
    try:
        value = float(text)
    except ValueError:
        raise _RowError(f"{name} is not a number: {text[:40]!r}") from None
    if not math.isfinite(value) or value < 0:
        raise _RowError(f"{name} must be a finite number of 0 or more, got {text[:40]!r}")
    return value


def _timestamp(text: str) -> datetime:
    value = text.strip()
    if not value:
        raise _RowError("timestamp is empty")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _RowError(f"timestamp is not a date and time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # CodeCarbon writes the measuring machine's local time
    return moment.astimezone(UTC)
