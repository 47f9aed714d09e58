"""The records the ledger stores: runs, bench sessions and trials, and run filters.

A :class:`Run` is flat on purpose: its field names are the names shown in JSON,
CSV and Parquet exports (``runs list --json``), so one name means one thing
everywhere. A :class:`BenchSession` is one ``zuinig bench`` invocation; each of its
:class:`BenchTrial` rows is one step of the matrix, linked to the :class:`Run`
(kind :data:`KIND_BENCH`) that holds its measurement.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from zuinig.meter.base import InputFile, Measurement, Method
from zuinig.summary import ShownAsSummary, Summary

STATUS_RUNNING = "running"
STATUS_OK = "ok"
STATUS_ERROR = "error"
#: Not stored: a ``running`` row whose process is gone is *shown* as interrupted.
STATUS_INTERRUPTED = "interrupted"
STATUSES = (STATUS_RUNNING, STATUS_OK, STATUS_ERROR, STATUS_INTERRUPTED)

KIND_FUNCTION = "function"  # a decorated function or a ``with measure()`` block
KIND_COMMAND = "command"  # ``zuinig run -- CMD``
KIND_BENCH = "bench"  # one trial of ``zuinig bench`` (see BenchTrial.run_id)
KIND_CONVERT = "convert"  # ``zuinig convert``: the energy of converting a file
KIND_DASK = "dask"  # ``zuinig.dask.measure``: a job on a Dask cluster, all processes together
KIND_DASK_CLIENT = "dask-client"  # its client process's own share (a child of the dask run)
KIND_DASK_WORKER = "dask-worker"  # one worker process's share (a child of the dask run)
KIND_TEST = "test"  # one test's call under ``pytest --zuinig`` (job: the test's node id)
KIND_TEST_SESSION = "test-session"  # a ``pytest --zuinig`` session: the parent of its tests

#: Bench session states. Unlike a run, ``interrupted`` may be stored (Ctrl-C stops a
#: session cleanly); a ``running`` row whose process is gone is also *shown* so.
BENCH_STATUSES = (STATUS_RUNNING, STATUS_OK, STATUS_INTERRUPTED, STATUS_ERROR)

PHASE_PREPARE = "prepare"  # writing the workload's data in one format
PHASE_IMPORT = "import"  # importing an engine in a fresh process
PHASE_WARMUP = "warmup"  # a warm-up repetition, not counted
PHASE_MEASURED = "measured"  # a counted repetition
PHASE_IDLE = "idle"  # the idle baseline
TRIAL_PHASES = (PHASE_PREPARE, PHASE_IMPORT, PHASE_WARMUP, PHASE_MEASURED, PHASE_IDLE)

TRIAL_OK = "ok"
TRIAL_OOM = "oom"  # over its memory limit
TRIAL_TIMEOUT = "timeout"  # over its time limit
TRIAL_ERROR = "error"  # failed otherwise; ``reason`` says how
TRIAL_WRONG = "wrong"  # answered, but not what the other engines answered
TRIAL_STATUSES = (TRIAL_OK, TRIAL_OOM, TRIAL_TIMEOUT, TRIAL_ERROR, TRIAL_WRONG)


@dataclass(frozen=True)
class Provenance:
    """Where and with what a run was made.

    Attributes:
        host: machine name.
        user: login name.
        pid: process id of the measuring process.
        pid_started_at: that process's start time (UTC), to tell it from a reused pid.
        python_version, codecarbon_version, zuinig_version: versions in use.
        git_commit: commit of the working directory's repository, when known.
    """

    host: str
    user: str
    pid: int
    pid_started_at: datetime | None
    python_version: str
    codecarbon_version: str | None
    zuinig_version: str
    git_commit: str | None = None


@dataclass(frozen=True)
class Run(ShownAsSummary):
    """One measured call of a job, as stored in the ledger.

    Units are in the names; see :class:`zuinig.meter.base.Measurement`. The
    ``method_*`` fields flatten :class:`zuinig.meter.base.Method`
    (``method_attribution`` is its ``attribution``, one of the ``ATTRIBUTION_*``
    rules; ``method_gpu`` its ``gpu_method``). ``energy_kwh_low`` / ``energy_kwh_high``
    and ``co2_kg_low`` / ``co2_kg_high`` are the range of an estimated figure; they
    are ``None`` where no range is known (runs measured before ranges were kept).

    Every run carries two CO2e figures (GHG Protocol Scope 2, ESRS E1-6): the
    location-based one in ``co2_kg`` (the grid: ``intensity_*``), and the market-based
    one in ``co2_kg_market_based`` (the contract: ``market_intensity_*``). ``*_name`` is
    the factor's row in its list (e.g. a CO2emissiefactoren.nl row), ``*_boundary``
    ``well-to-wheel`` (with the supply chain), ``tank-to-wheel`` (production only) or
    ``None`` where the source does not say. ``market_added_later`` is ``True`` where the
    market-based figure was computed after the run (migration 0004 for runs measured
    before zuinig kept it), ``False`` where it was computed when the run was measured.
    """

    run_id: str
    job: str
    status: str
    started_at: datetime
    kind: str = KIND_FUNCTION
    parent_run_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    ended_at: datetime | None = None
    duration_s: float | None = None
    energy_kwh: float | None = None
    cpu_energy_kwh: float | None = None
    ram_energy_kwh: float | None = None
    gpu_energy_kwh: float | None = None
    energy_kwh_low: float | None = None
    energy_kwh_high: float | None = None
    co2_kg: float | None = None
    co2_kg_low: float | None = None
    co2_kg_high: float | None = None
    intensity_g_per_kwh: float | None = None
    cpu_s: float | None = None
    cpu_share: float | None = None
    ram_gb_s: float | None = None
    peak_rss_bytes: int | None = None
    read_bytes: int | None = None
    written_bytes: int | None = None
    method_meter: str | None = None
    method_cpu: str | None = None
    method_cpu_model: str | None = None
    method_cpu_tdp_w: float | None = None
    method_cpu_tdp_is_generic: bool | None = None
    method_cpu_count: int | None = None
    method_ram: str | None = None
    method_ram_power_w: float | None = None
    method_gpu: str | None = None
    method_attribution: str | None = None
    method_cpu_coefficients: str | None = None
    tracking_mode: str | None = None
    pue: float | None = None
    intensity_source: str | None = None
    intensity_year: int | None = None
    intensity_name: str | None = None
    intensity_boundary: str | None = None
    co2_kg_market_based: float | None = None
    market_intensity_g_per_kwh: float | None = None
    market_intensity_source: str | None = None
    market_intensity_year: int | None = None
    market_intensity_name: str | None = None
    market_intensity_boundary: str | None = None
    market_added_later: bool | None = None
    country_iso_code: str | None = None
    measurement_error: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    command: str | None = None
    exit_code: int | None = None
    inputs: tuple[InputFile, ...] = ()
    engines: Mapping[str, str] = field(default_factory=dict)
    host: str | None = None
    user: str | None = None
    pid: int | None = None
    pid_started_at: datetime | None = None
    python_version: str | None = None
    codecarbon_version: str | None = None
    zuinig_version: str | None = None
    git_commit: str | None = None

    @property
    def power_w(self) -> float | None:
        """Mean power (W) = energy / duration."""
        if self.energy_kwh is None or not self.duration_s:
            return None
        return self.energy_kwh * 3.6e6 / self.duration_s

    @property
    def is_estimated(self) -> bool | None:
        """Whether the energy is an estimate (``None`` when no method was recorded).

        :attr:`zuinig.meter.base.Method.is_measured` decides; this only rebuilds the
        part of the method it reads.
        """
        if self.method_cpu is None:
            return None
        return not Method(meter=self.method_meter or "", cpu_method=self.method_cpu).is_measured

    def summary(self) -> Summary:
        """Its job, status and main figures, for :mod:`zuinig.summary`'s renderers."""
        estimated = self.is_estimated
        return Summary(
            energy_kwh=self.energy_kwh,
            energy_kwh_low=self.energy_kwh_low,
            energy_kwh_high=self.energy_kwh_high,
            co2_kg=self.co2_kg,
            co2_kg_low=self.co2_kg_low,
            co2_kg_high=self.co2_kg_high,
            is_measured=None if estimated is None else not estimated,
            duration_s=self.duration_s,
            job=self.job,
            status=self.status,
            measurement_error=self.measurement_error,
        )

    def method(self) -> Method | None:
        """The flattened method, rebuilt."""
        if self.method_meter is None or self.method_cpu is None:
            return None
        return Method(
            meter=self.method_meter,
            cpu_method=self.method_cpu,
            cpu_model=self.method_cpu_model,
            cpu_tdp_w=self.method_cpu_tdp_w,
            cpu_tdp_is_generic=bool(self.method_cpu_tdp_is_generic),
            cpu_count=self.method_cpu_count,
            ram_model=self.method_ram,
            ram_power_w=self.method_ram_power_w,
            tracking_mode=self.tracking_mode,
            gpu_method=self.method_gpu,
            attribution=self.method_attribution,
            cpu_coefficients=self.method_cpu_coefficients,
            pue=self.pue if self.pue is not None else 1.0,
            intensity_g_per_kwh=self.intensity_g_per_kwh,
            intensity_source=self.intensity_source,
            intensity_year=self.intensity_year,
            intensity_name=self.intensity_name,
            intensity_boundary=self.intensity_boundary,
            market_intensity_g_per_kwh=self.market_intensity_g_per_kwh,
            market_intensity_source=self.market_intensity_source,
            market_intensity_year=self.market_intensity_year,
            market_intensity_name=self.market_intensity_name,
            market_intensity_boundary=self.market_intensity_boundary,
            country_iso_code=self.country_iso_code,
        )

    def with_measurement(self, measurement: Measurement) -> Run:
        """A copy carrying ``measurement``'s figures and method."""
        changes: dict[str, Any] = {
            "ended_at": measurement.ended_at,
            "duration_s": measurement.duration_s,
            "energy_kwh": measurement.energy_kwh,
            "cpu_energy_kwh": measurement.cpu_energy_kwh,
            "ram_energy_kwh": measurement.ram_energy_kwh,
            "gpu_energy_kwh": measurement.gpu_energy_kwh,
            "energy_kwh_low": measurement.energy_kwh_low,
            "energy_kwh_high": measurement.energy_kwh_high,
            "co2_kg": measurement.co2_kg,
            "co2_kg_low": measurement.co2_kg_low,
            "co2_kg_high": measurement.co2_kg_high,
            "intensity_g_per_kwh": measurement.intensity_g_per_kwh,
            "co2_kg_market_based": measurement.co2_kg_market_based,
            "cpu_s": measurement.cpu_s,
            "cpu_share": measurement.cpu_share,
            "ram_gb_s": measurement.ram_gb_s,
            "peak_rss_bytes": measurement.peak_rss_bytes,
            "read_bytes": measurement.read_bytes,
            "written_bytes": measurement.written_bytes,
            "inputs": measurement.inputs,
            "engines": dict(measurement.engines),
            "measurement_error": measurement.measurement_error,
        }
        method = measurement.method
        if method is not None:
            changes.update(
                method_meter=method.meter,
                method_cpu=method.cpu_method,
                method_cpu_model=method.cpu_model,
                method_cpu_tdp_w=method.cpu_tdp_w,
                method_cpu_tdp_is_generic=method.cpu_tdp_is_generic,
                method_cpu_count=method.cpu_count,
                method_ram=method.ram_model,
                method_ram_power_w=method.ram_power_w,
                method_gpu=method.gpu_method,
                method_attribution=method.attribution,
                method_cpu_coefficients=method.cpu_coefficients,
                tracking_mode=method.tracking_mode,
                pue=method.pue,
                intensity_source=method.intensity_source,
                intensity_year=method.intensity_year,
                intensity_name=method.intensity_name,
                intensity_boundary=method.intensity_boundary,
                market_intensity_g_per_kwh=method.market_intensity_g_per_kwh,
                market_intensity_source=method.market_intensity_source,
                market_intensity_year=method.market_intensity_year,
                market_intensity_name=method.market_intensity_name,
                market_intensity_boundary=method.market_intensity_boundary,
                market_added_later=(None if method.market_intensity_g_per_kwh is None else False),
                country_iso_code=method.country_iso_code,
            )
            if measurement.intensity_g_per_kwh is None:
                changes["intensity_g_per_kwh"] = method.intensity_g_per_kwh
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with the DESIGN names; times as ISO 8601 UTC strings."""
        result: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif item.name == "inputs":
                value = [dataclasses.asdict(entry) for entry in value]
            elif isinstance(value, Mapping):
                value = dict(value)
            result[item.name] = value
        result["power_w"] = self.power_w
        result["is_estimated"] = self.is_estimated
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        """Rebuild a run from :meth:`to_dict`'s output (also after a JSON round trip).

        Times may be ISO 8601 strings or datetimes; a time without an offset is UTC.
        The derived keys ``power_w`` and ``is_estimated`` are ignored.

        Raises:
            ValueError: a key is not a run field, or a required field is missing
                (a run written by a newer zuinig is refused rather than cut short).
        """
        unknown = set(data) - set(RUN_FIELDS) - set(DERIVED_FIELDS)
        if unknown:
            raise ValueError(f"not run fields: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name in RUN_FIELDS:
            if name not in data:
                continue
            value = data[name]
            if name in _TIME_FIELDS and value is not None:
                value = as_utc(value)
            elif name == "inputs":
                value = tuple(
                    entry if isinstance(entry, InputFile) else InputFile(**entry)
                    for entry in value or ()
                )
            elif name in ("tags", "engines"):
                value = {str(key): str(item) for key, item in (value or {}).items()}
            values[name] = value
        try:
            return cls(**values)
        except TypeError as error:
            raise ValueError(f"incomplete run: {error}") from error


#: The stored fields of a run, in order: the column names of every export.
RUN_FIELDS: tuple[str, ...] = tuple(item.name for item in dataclasses.fields(Run))
#: Fields computed from the stored ones, added by :meth:`Run.to_dict`.
DERIVED_FIELDS: tuple[str, ...] = ("power_w", "is_estimated")
_TIME_FIELDS = frozenset({"started_at", "ended_at", "pid_started_at"})


def as_utc(value: datetime | str) -> datetime:
    """``value`` as an aware datetime in UTC: the one place a time becomes UTC.

    A naive datetime (or ISO text without an offset) is taken to be UTC already, as
    the ledger stores it, never local time; an aware one is converted.

    Args:
        value: a datetime, or ISO 8601 text.
    """
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class RunFilter:
    """Which runs to read. Empty fields match everything.

    Attributes:
        job: exact job name.
        tags: every key must have exactly this value.
        month: ``YYYY-MM``; runs that started in that month (UTC).
        since, until: start time bounds, ``since <= started_at < until`` (UTC).
        status: one of :data:`STATUSES`; ``interrupted`` selects stored ``running``
            rows whose process is gone.
        top_level_only: only runs without a parent (for totals: see the nesting rule).
        limit: at most this many, newest first; ``None`` for all.
        kind: one kind (:data:`KIND_FUNCTION`, ...) or any of several.
        parent_run_id: only the runs directly under this run (its children).
    """

    job: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    month: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None
    top_level_only: bool = False
    limit: int | None = None
    kind: str | tuple[str, ...] | None = None
    parent_run_id: str | None = None


class RunBrief(NamedTuple):
    """The fields of a run that advice reads, without the rest of :class:`Run`.

    Read by :meth:`zuinig.ledger.Ledger.list_run_briefs` for ledgers of millions of
    runs, where building a full :class:`Run` per row costs more than the advice itself.
    Each field means what the :class:`Run` field of the same name means; runs that
    read the same input list (or loaded the same engines) share one ``inputs`` tuple
    (one ``engines`` mapping), which callers must not change.
    """

    run_id: str
    job: str
    kind: str
    status: str
    parent_run_id: str | None
    started_at: datetime
    energy_kwh: float | None
    intensity_g_per_kwh: float | None
    peak_rss_bytes: int | None
    method_cpu: str | None
    method_cpu_tdp_w: float | None
    tracking_mode: str | None
    method_attribution: str | None
    energy_kwh_low: float | None
    energy_kwh_high: float | None
    inputs: tuple[InputFile, ...]
    engines: Mapping[str, str]
    host: str | None
    pid: int | None
    pid_started_at: datetime | None


@dataclass(frozen=True)
class BenchSession:
    """One ``zuinig bench`` invocation, as stored in the ledger.

    Written at its start (:meth:`zuinig.ledger.Ledger.start_bench_session`, status
    ``running``) and again at its end (``finish_bench_session``). The mappings are
    stored as JSON, so they must hold JSON values (strings, numbers, booleans,
    ``None``, lists, objects); tuples come back as lists.

    Attributes:
        session_id: unique id of the session.
        workload: ``tpch``, ``groupby`` or ``user``.
        started_at: when the session started (UTC).
        status: one of :data:`BENCH_STATUSES`; a ``running`` row whose process is
            gone is read back as ``interrupted``.
        scale: TPC-H scale factor, for ``tpch``.
        rows: rows generated, for ``groupby``.
        label: how to name the results, e.g. "TPC-H derived; not comparable to
            official TPC-H results".
        config: the matrix asked for: formats, engines, threads, repeat, queries,
            memory_limit_bytes, timeout_s, data path, ...
        machine: host, CPU model, CPU count, memory in bytes, OS, versions.
        method: the meter's :class:`zuinig.meter.base.Method` as a mapping.
        page_cache: a plain statement of the page-cache state.
        baseline_run_id: the run of the idle baseline.
        results: the final statistics rows (the ``results`` of ``bench --json``).
        ended_at: when the session ended (UTC).
        host, pid, pid_started_at: the bench process, to tell a live session from
            an interrupted one (see :mod:`zuinig.ledger.liveness`); filled in by
            ``start_bench_session`` when all three are left ``None``.
    """

    session_id: str
    workload: str
    started_at: datetime
    status: str = STATUS_RUNNING
    scale: float | None = None
    rows: int | None = None
    label: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    machine: Mapping[str, Any] = field(default_factory=dict)
    method: Mapping[str, Any] = field(default_factory=dict)
    page_cache: str | None = None
    baseline_run_id: str | None = None
    results: Sequence[Mapping[str, Any]] | None = None
    ended_at: datetime | None = None
    host: str | None = None
    pid: int | None = None
    pid_started_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with the field names; times as ISO 8601 UTC strings."""
        return _record_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchSession:
        """Rebuild a session from :meth:`to_dict`'s output (also after a JSON round trip).

        Raises:
            ValueError: a key is not a field, or a required field is missing.
        """
        return _record_from_dict(cls, data, BENCH_SESSION_FIELDS, "bench session")


@dataclass(frozen=True)
class BenchTrial:
    """One step of a bench session's matrix: a preparation, an engine import, a
    warm-up, a measured repetition or an idle baseline.

    Attributes:
        trial_id: unique id of the trial.
        session_id: the :class:`BenchSession` it belongs to.
        phase: one of :data:`TRIAL_PHASES`.
        status: one of :data:`TRIAL_STATUSES`; a failed trial is recorded, with
            its ``reason``.
        format: storage format, e.g. ``parquet-zstd``.
        engine: engine, e.g. ``polars``.
        mode: engine mode, e.g. ``lazy`` or ``streaming``.
        threads: thread count given to the engine.
        query: query name, e.g. ``q1``.
        repetition: repetition number within its configuration (0-based or as the
            runner counts; the ledger does not interpret it).
        run_id: the run (kind :data:`KIND_BENCH`) holding its measurement.
        reason: why it failed, in words.
        correct: whether its answer agreed with the other engines' (``None``: not checked).
        storage_bytes: size on disk of the data it read, in bytes.
        started_at: when it started (UTC).
    """

    trial_id: str
    session_id: str
    phase: str
    status: str
    format: str | None = None
    engine: str | None = None
    mode: str | None = None
    threads: int | None = None
    query: str | None = None
    repetition: int | None = None
    run_id: str | None = None
    reason: str | None = None
    correct: bool | None = None
    storage_bytes: int | None = None
    started_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with the field names; times as ISO 8601 UTC strings."""
        return _record_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchTrial:
        """Rebuild a trial from :meth:`to_dict`'s output (also after a JSON round trip).

        Raises:
            ValueError: a key is not a field, or a required field is missing.
        """
        return _record_from_dict(cls, data, BENCH_TRIAL_FIELDS, "bench trial")


BENCH_SESSION_FIELDS: tuple[str, ...] = tuple(
    item.name for item in dataclasses.fields(BenchSession)
)
BENCH_TRIAL_FIELDS: tuple[str, ...] = tuple(item.name for item in dataclasses.fields(BenchTrial))
_JSON_FIELDS = frozenset({"config", "machine", "method"})

_Record = TypeVar("_Record", BenchSession, BenchTrial)


def _record_to_dict(record: BenchSession | BenchTrial) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Mapping):
            value = dict(value)
        elif item.name == "results" and value is not None:
            value = [dict(row) for row in value]
        result[item.name] = value
    return result


def _record_from_dict(
    cls: type[_Record], data: Mapping[str, Any], names: tuple[str, ...], what: str
) -> _Record:
    unknown = set(data) - set(names)
    if unknown:
        raise ValueError(f"not {what} fields: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name in names:
        if name not in data:
            continue
        value = data[name]
        if name in _TIME_FIELDS and value is not None:
            value = as_utc(value)
        elif name in _JSON_FIELDS:
            value = dict(value or {})
        elif name == "results" and value is not None:
            value = [dict(row) for row in value]
        values[name] = value
    try:
        return cls(**values)
    except TypeError as error:
        raise ValueError(f"incomplete {what}: {error}") from error
