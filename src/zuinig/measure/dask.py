"""Measure a job on a Dask ``distributed`` cluster, with a meter on every worker.

    import zuinig.dask

    with zuinig.dask.measure(client, job="woningbouwmonitor", tags={"team": "ruimte"}) as m:
        result = ddf.groupby("gemeente").oppervlakte.sum().compute()
    m.run        # the stored run: client and workers together
    m.workers    # one ProcessMeasurement per worker process

What is measured: on entering, a meter window opens in the client process and in
every worker process of the client's cluster (``client.run``); on leaving, also when
the block raises, they all close and each worker's :class:`~zuinig.meter.base.Measurement`
comes back to the client as plain data. The ledger then gets one parent run (kind
``dask``) holding the totals, one child run for the client process (kind
``dask-client``) and one per worker process (kind ``dask-worker``, host and pid of
the worker, tag ``dask_worker`` = its address). The ledger's nesting rule (a parent
covers its children, totals sum top-level runs only) turns this into the total and
its breakdown; the parent's figures are the sum of its children's.

Nothing is counted twice:

* **Local workers are the client's children.** A ``LocalCluster`` with processes
  starts its workers as child processes of the client, and the client's meter
  measures its process tree. Their CPU time over the client's window is read from
  the client side and taken out of the client's figures (CPU seconds, I/O bytes, and
  the CPU energy where it is attributed by CPU time, which is linear in it, and the
  RAM energy the workers' own meters report where it is a share), so the
  client's share is its own process plus starting and stopping the worker meters.
  The client's peak memory is then unknown (its tree's peak held the workers'
  memory) and is left empty.
* **Shares add up; machine terms count once per host.** Under the resource-share rule
  (:mod:`zuinig.meter.attribution`) each meter's CPU and RAM energy is its process
  tree's share of the machine's (CPU time, memory held), so the meters on one host
  simply add up, and the client's local workers' memory is taken out of the client's
  RAM figure like their CPU time. What is machine-wide
  (:func:`~zuinig.meter.attribution.machine_wide_terms`: GPU energy; everything under
  ``machine`` tracking; the per-process RAM constant and RAPL CPU of runs measured
  before that rule) would be counted once per meter: for each such term zuinig keeps,
  per host, the largest figure of that host's meters and shares it among them in
  proportion to their own figures; the method's RAM text says so. Hosts are told
  apart by host name (containers on one machine with their own names count as
  separate hosts).
* **Workers in the client's process** (``processes=False``) and several workers in
  one process share that process's meter: the client's, or the first worker's.

What is missing is said, never guessed: a worker whose meter could not start or
stop, one that left the cluster before the end, or ``client.run`` failing, leaves
the job running and the run stored with what was measured, and the parent's
``measurement_error`` names the parts that are missing. Workers that join the
cluster after the start are not measured (no meter runs there); the parent's
``measurement_error`` names them too.

Runs measured with :func:`zuinig.measure` inside tasks on a worker during the
window become children of the Dask run (the worker's process carries its id in
``ZUINIG_PARENT_RUN_ID`` meanwhile), so totals do not count them twice. Inside
another measured run in the client, the Dask run is its child; that outer run
measures the client's process tree only (local workers included, remote ones not).

The worker side needs zuinig importable on every worker. The meter settings
(country, tracking mode, PUE, calibration, intensity) are the client's, sent as
plain values; the ledger URL is not sent (it may hold a password): only the client
writes to the ledger.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from zuinig.config import PARENT_RUN_ENV, Settings
from zuinig.errors import MeasurementError
from zuinig.ledger.model import (
    KIND_DASK,
    KIND_DASK_CLIENT,
    KIND_DASK_WORKER,
    STATUS_ERROR,
    Run,
)
from zuinig.measure.decorator import check_tags, default_job_name
from zuinig.measure.provenance import provenance as process_provenance
from zuinig.measure.recorder import ActiveRun, Recorder, end_window
from zuinig.meter import default_meter
from zuinig.meter.attribution import machine_wide_terms
from zuinig.meter.base import (
    InputFile,
    Measurement,
    Meter,
    Method,
    Window,
)
from zuinig.notices import reason, warn_once

if TYPE_CHECKING:
    from distributed import Client

    from zuinig.ledger import Ledger

__all__ = ["DaskMeasureSpec", "DaskMeasuring", "ProcessMeasurement", "measure"]

logger = logging.getLogger("zuinig")

P = ParamSpec("P")
R = TypeVar("R")

#: Settings a worker's meter uses; the ledger URL is left out on purpose (a password).
METER_SETTINGS = (
    "country_iso_code",
    "tracking_mode",
    "pue",
    "cpu_power_w",
    "ram_power_w",
    "intensity_g_per_kwh",
    "intensity_source",
    "location_factor",
    "market_factor",
    "market_factor_source",
)
#: What the client is called in the breakdown.
CLIENT = "client"

MeterFactory = Callable[[Settings], Meter]


# -- what comes back ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessMeasurement:
    """One measured process of a Dask job: the client or a worker.

    Attributes:
        address: the worker's address, or ``"client"``.
        host: host name of its machine.
        pid: its process id.
        measurement: what its meter measured, after zuinig.dask's sharing rules
            (see the module description); ``None`` when nothing came back.
        error: why it was not (fully) measured, when it was not.
        start_s: seconds its meter took to start, as seen from the process (s).
        stop_s: seconds its meter took to stop, as seen from the process (s).
        run: its child run in the ledger, once stored.
    """

    address: str
    host: str | None
    pid: int | None
    measurement: Measurement | None = None
    error: str | None = None
    start_s: float | None = None
    stop_s: float | None = None
    run: Run | None = None
    #: Facts about the process (user, versions, start time), for its child run.
    provenance: Mapping[str, Any] = field(default_factory=dict, repr=False)


class DaskMeasuring:
    """What ``with zuinig.dask.measure(...) as m`` gives; filled in when the block ends.

    Attributes:
        run: the parent run (kind ``dask``): totals of the client and all workers.
        client: the client process's own share.
        workers: the worker processes, one each, in address order.
        start_s: wall time to start the worker meters, seen from the client (s).
        stop_s: wall time to stop them and collect their measurements (s).
    """

    def __init__(self, active: ActiveRun | None, session: _Session) -> None:
        self._active = active
        self._session = session
        self.run: Run | None = active.run if active else None
        self.client: ProcessMeasurement | None = None
        self.workers: list[ProcessMeasurement] = []
        self.start_s: float | None = None
        self.stop_s: float | None = None

    @property
    def run_id(self) -> str | None:
        return self.run.run_id if self.run else None

    def _finish(self, error: BaseException | None) -> None:
        active = self._active
        if active is None:
            return
        parent = active.finish(error)
        self.run = parent
        session = self._session
        self.start_s, self.stop_s = session.start_s, session.stop_s
        stored: list[ProcessMeasurement] = []
        for part in session.parts:
            child = _child_run(parent, part, session.client_id)
            with contextlib.suppress(Exception):  # store_finished logs its own failures
                active.recorder.store_finished(child)
            stored.append(dataclasses.replace(part, run=child))
        self.client = next((p for p in stored if p.address == CLIENT), None)
        self.workers = [p for p in stored if p.address != CLIENT]


# -- the API ------------------------------------------------------------------------------


class DaskMeasureSpec:
    """The object :func:`measure` returns: a context manager and a decorator."""

    def __init__(
        self,
        client: Client,
        job: str | None,
        tags: Mapping[str, str] | None,
        settings: Settings | None,
        ledger_url: str | None,
        meter_factory: MeterFactory | None,
    ) -> None:
        if getattr(client, "asynchronous", False):
            raise MeasurementError(
                "zuinig.dask.measure needs a synchronous Client; an asynchronous one "
                "(asynchronous=True) is not supported"
            )
        self.client = client
        self.job = job
        self.tags = check_tags(tags)
        self._settings = settings
        self._ledger_url = ledger_url
        self.meter_factory: MeterFactory = meter_factory or default_meter
        self._open: list[tuple[DaskMeasuring, _Session]] = []

    @property
    def recorder(self) -> Recorder:
        return _recorder(self._settings, self._ledger_url)

    def __enter__(self) -> DaskMeasuring:
        return self._begin(self.job or "unnamed")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        handle, _ = self._open.pop()
        try:
            handle._finish(exc)
        except Exception:  # measuring never breaks the job
            logger.warning("zuinig: could not finish a measured Dask job", exc_info=True)

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        job = self.job or default_job_name(func)

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            self._begin(job)
            try:
                result = func(*args, **kwargs)
            except BaseException as error:
                self.__exit__(type(error), error, error.__traceback__)
                raise
            self.__exit__(None, None, None)
            return result

        return wrapper

    def _begin(self, job: str) -> DaskMeasuring:
        active: ActiveRun | None = None
        session = _Session(self.client, self.meter_factory)
        try:
            recorder = self.recorder
            session.settings = recorder.settings
            active = recorder.begin(
                job, tags=self.tags, kind=KIND_DASK, context={_SESSION_KEY: session}
            )
        except Exception as error:
            warn_once(f"zuinig: not measuring {job} ({reason(error)})")
        if active is not None:
            session.start_workers(active.run.run_id)
        handle = DaskMeasuring(active, session)
        self._open.append((handle, session))
        return handle


def measure(
    client: Client,
    *,
    job: str | None = None,
    tags: Mapping[str, str] | None = None,
    settings: Settings | None = None,
    ledger_url: str | None = None,
    meter_factory: MeterFactory | None = None,
) -> DaskMeasureSpec:
    """Measure a block of code (or every call of a function) on a Dask cluster.

    ``with zuinig.dask.measure(client, job="laden") as m: ...`` measures the client
    process and every worker process the cluster has when the block starts; see the
    module description for what is stored and how double counting is avoided.
    ``@zuinig.dask.measure(client, job="laden")`` does the same for each call. The
    job's result and exceptions pass through unchanged; a failure to measure is
    recorded in the run, never raised.

    Args:
        client: a synchronous ``distributed.Client``; zuinig must be importable on
            its workers.
        job: the job's name in the ledger; for a decorator, ``module.qualname`` by default.
        tags: labels such as ``{"team": "ruimte"}``.
        settings: meter settings and ledger; read from zuinig's settings by default.
        ledger_url: the ledger to write to, instead of the settings' one.
        meter_factory: makes the meter from the settings, in the client and on each
            worker (it is pickled to the workers); CodeCarbon's by default.

    Returns:
        A :class:`DaskMeasureSpec`, usable as context manager or decorator.

    Raises:
        MeasurementError: ``client`` is asynchronous.
    """
    return DaskMeasureSpec(client, job, tags, settings, ledger_url, meter_factory)


_recorders: dict[tuple[Settings | None, str | None], Recorder] = {}
_recorders_lock = threading.Lock()


def _recorder(settings: Settings | None, ledger_url: str | None) -> Recorder:
    """One recorder per settings and ledger in this process, whose meter is the cluster."""
    with _recorders_lock:
        key = (settings, ledger_url)
        recorder = _recorders.get(key)
        if recorder is None:
            recorder = Recorder(settings, ledger_url=ledger_url, meter=_ClusterMeter())
            _recorders[key] = recorder
        return recorder


# -- the client side ------------------------------------------------------------------------

_SESSION_KEY = "zuinig.dask session"


class _ClusterMeter(Meter):
    """The recorder's meter: its window is a session's client window plus the workers'."""

    name = "zuinig.dask"

    def begin(self, context: Mapping[str, Any] | None = None) -> Window:
        session = (context or {}).get(_SESSION_KEY)
        if not isinstance(session, _Session):
            raise MeasurementError("zuinig.dask's meter was used without a Dask session")
        session.open_client_window()
        return _SessionWindow(session)


class _SessionWindow(Window):
    def __init__(self, session: _Session) -> None:
        self._session = session
        self._measurement: Measurement | None = None

    def end(self) -> Measurement:
        if self._measurement is None:
            self._measurement = self._session.finish()
        return self._measurement


@dataclass
class _LocalChild:
    """A worker process that is a descendant of the client: its tree, read from here."""

    address: str
    process: Any  # psutil.Process
    at_start: Any = None  # zuinig.meter.process.TreeSample
    at_end: Any = None


class _Session:
    """One measured Dask block: the client window, the worker meters, their results."""

    def __init__(self, client: Client, meter_factory: MeterFactory) -> None:
        self.client = client
        self.meter_factory = meter_factory
        self.settings: Settings | None = None
        self.token = uuid.uuid4().hex
        self.client_id = str(getattr(client, "id", "") or "")
        self.issues: list[str] = []
        self.started: dict[str, dict[str, Any]] = {}  # address -> what its start returned
        #: Every worker the start reached, with a meter of its own or not.
        self.answered: set[str] = set()
        self.local: list[_LocalChild] = []
        self.parts: list[ProcessMeasurement] = []
        self.start_s: float | None = None
        self.stop_s: float | None = None
        self._window: Window | None = None
        self._client_error: str | None = None
        self._started_at = datetime.now(UTC)
        self._start = time.perf_counter()

    def open_client_window(self) -> None:
        """Open the client's meter window. Never raises."""
        self._started_at = datetime.now(UTC)
        self._start = time.perf_counter()
        try:
            assert self.settings is not None
            self._window = self.meter_factory(self.settings).begin({})
        except Exception as error:
            self._client_error = _describe(error)

    def start_workers(self, parent_run_id: str) -> None:
        """Start a meter in every worker process. Never raises."""
        # Workers living in this very process find this entry and share the client's meter.
        with _held_lock:
            _held[self.token] = _Held(owner=CLIENT)
        began = time.perf_counter()
        try:
            assert self.settings is not None
            values = {name: getattr(self.settings, name) for name in METER_SETTINGS}
            # Worker processes that are this process's children are in its meter's tree:
            # read their CPU time from here before their meters start and after they stop,
            # so the client's share is its own (their meters' overhead counts nowhere,
            # as a window's own setup does not).
            identities = self.client.run(_identity, on_error="return")
            self.local = _local_children(identities)
            for child in self.local:
                child.at_start = _tree_sample(child.process)
            replies = self.client.run(
                _start_here, self.token, values, self.meter_factory, parent_run_id,
                on_error="return",
            )  # fmt: skip
        except Exception as error:
            self.issues.append(f"the worker meters could not be started ({_describe(error)})")
            replies = {}
        self.start_s = time.perf_counter() - began
        self.answered = set(replies)
        for address, reply in sorted(replies.items()):
            if isinstance(reply, BaseException) or not isinstance(reply, dict):
                self.issues.append(f"worker {address}: its meter did not start ({_reply(reply)})")
                continue
            if reply.get("shared_with") is None:
                self.started[address] = reply

    def finish(self) -> Measurement:
        """Stop every meter and combine what they measured. Never raises."""
        try:
            return self._finish()
        except Exception as error:  # a bug of ours must not reach the job
            logger.warning("zuinig: could not combine a Dask job's measurements", exc_info=True)
            return Measurement(
                started_at=self._started_at,
                ended_at=datetime.now(UTC),
                duration_s=time.perf_counter() - self._start,
                measurement_error=f"zuinig.dask could not combine the measurements: "
                f"{_describe(error)}",
            )

    def _finish(self) -> Measurement:
        workers = self._stop_workers()
        for child in self.local:
            child.at_end = _tree_sample(child.process)
        with _held_lock:
            _held.pop(self.token, None)
        client_measurement = end_window(self._window)
        ended = time.perf_counter()
        client = ProcessMeasurement(
            address=CLIENT,
            host=socket.gethostname(),
            pid=os.getpid(),
            measurement=client_measurement,
            error=self._client_error,
            provenance=_identity(),
        )
        measured = {w.address for w in workers if _energy(w) is not None}
        local = [c for c in self.local if c.address in measured]
        addresses = {c.address for c in local}
        workers_ram_kwh = sum(
            w.measurement.ram_energy_kwh or 0.0
            for w in workers
            if w.address in addresses and w.measurement is not None
        )
        client = _without_local_workers(client, local, workers_ram_kwh=workers_ram_kwh)
        self.parts = share_machine_terms([client, *workers])
        return total(
            self.parts,
            started_at=self._started_at,
            duration_s=ended - self._start,
            issues=self.issues,
        )

    def _stop_workers(self) -> list[ProcessMeasurement]:
        try:
            present = set(self.client.scheduler_info()["workers"])
        except Exception as error:
            self.issues.append(f"the cluster's workers could not be listed ({_describe(error)})")
            present = set(self.started)
        joined = sorted(present - self.answered)
        if joined:
            self.issues.append(
                f"{len(joined)} worker(s) joined after the start and were not measured: "
                + ", ".join(joined)
            )
        asked = sorted(a for a in self.started if a in present)
        workers: list[ProcessMeasurement] = []
        for address in sorted(set(self.started) - present):
            workers.append(self._part(address, None, "left the cluster before its meter stopped"))
        replies: dict[str, Any] = {}
        began = time.perf_counter()
        if asked:
            try:
                replies = self.client.run(_stop_here, self.token, workers=asked, on_error="return")
            except Exception as error:
                self.issues.append(f"the worker meters could not be stopped ({_describe(error)})")
        self.stop_s = time.perf_counter() - began
        for address in asked:
            reply = replies.get(address)
            if not isinstance(reply, dict):
                workers.append(
                    self._part(address, None, f"no measurement came back ({_reply(reply)})")
                )
                continue
            workers.append(self._part(address, reply, reply.get("error")))
        return sorted(workers, key=lambda part: part.address)

    def _part(
        self, address: str, reply: Mapping[str, Any] | None, error: str | None
    ) -> ProcessMeasurement:
        start = self.started.get(address, {})
        reply = reply or {}
        plain = reply.get("measurement")
        return ProcessMeasurement(
            address=address,
            host=start.get("host"),
            pid=start.get("pid"),
            measurement=None if plain is None else measurement_from_plain(plain),
            error=error or start.get("error"),
            start_s=start.get("start_s"),
            stop_s=reply.get("stop_s"),
            provenance=start.get("provenance", {}),
        )


# -- the worker side: runs in each worker process, through client.run ----------------------


@dataclass
class _Held:
    """A meter window open in this process for one Dask session (token)."""

    owner: str
    window: Window | None = None
    error: str | None = None
    parent_run_id: str | None = None
    previous_parent: str | None = None


# Token -> the window of this process. In the client process the client registers its
# token first, so a worker living in the client's process finds it and shares that meter.
_held: dict[str, _Held] = {}
_held_lock = threading.Lock()


def _start_here(
    token: str,
    settings_values: Mapping[str, Any],
    meter_factory: MeterFactory,
    parent_run_id: str,
    dask_worker: Any = None,
) -> dict[str, Any]:
    """Open this worker process's window (``client.run`` passes ``dask_worker``)."""
    address = str(getattr(dask_worker, "address", None) or f"pid {os.getpid()}")
    began = time.perf_counter()
    with _held_lock:
        held = _held.get(token)
        if held is not None:  # another worker of this process, or the client, measures it
            return {"shared_with": held.owner}
        held = _Held(owner=address, parent_run_id=parent_run_id)
        _held[token] = held
    try:
        held.window = meter_factory(Settings(**settings_values)).begin({})
    except Exception as error:
        held.error = f"its meter did not start ({_describe(error)})"
    # Runs measured with zuinig.measure in this process meanwhile (in tasks, in other
    # threads) become children of the Dask run, which covers them: not counted twice.
    held.previous_parent = os.environ.get(PARENT_RUN_ENV)
    os.environ[PARENT_RUN_ENV] = parent_run_id
    return {**_identity(), "error": held.error, "start_s": time.perf_counter() - began}


def _stop_here(token: str, dask_worker: Any = None) -> dict[str, Any]:
    """Close this worker process's window and return its measurement as plain data."""
    address = str(getattr(dask_worker, "address", None) or f"pid {os.getpid()}")
    began = time.perf_counter()
    with _held_lock:
        held = _held.get(token)
        if held is None:
            return {"error": "no meter of this job was running in its process"}
        if held.owner != address:
            return {"shared_with": held.owner}
        del _held[token]
    if os.environ.get(PARENT_RUN_ENV) == held.parent_run_id:
        if held.previous_parent is None:
            os.environ.pop(PARENT_RUN_ENV, None)
        else:
            os.environ[PARENT_RUN_ENV] = held.previous_parent
    measurement = end_window(held.window)
    return {
        "measurement": None if measurement is None else measurement_to_plain(measurement),
        "error": held.error,
        "stop_s": time.perf_counter() - began,
    }


def _identity() -> dict[str, Any]:
    """Where this process runs: host name, pid, and the provenance its run carries."""
    provenance = process_provenance()
    return {
        "host": provenance.host,
        "pid": provenance.pid,
        "provenance": dataclasses.asdict(provenance),
    }


# -- measurements as plain data ------------------------------------------------------------

_MEASUREMENT_FIELDS = frozenset(f.name for f in dataclasses.fields(Measurement))
_METHOD_FIELDS = frozenset(f.name for f in dataclasses.fields(Method))
_INPUT_FIELDS = frozenset(f.name for f in dataclasses.fields(InputFile))


def measurement_to_plain(measurement: Measurement) -> dict[str, Any]:
    """A :class:`Measurement` as builtins only (dicts, lists, numbers, strings, datetimes)."""
    plain = dataclasses.asdict(measurement)
    plain["inputs"] = [dict(item) for item in plain["inputs"]]
    plain["engines"] = dict(measurement.engines)
    return plain


def measurement_from_plain(plain: Mapping[str, Any]) -> Measurement:
    """Rebuild what :func:`measurement_to_plain` gave, in another process or zuinig version.

    Fields this version does not know are dropped, so a newer worker still reports.
    """
    values = {name: value for name, value in plain.items() if name in _MEASUREMENT_FIELDS}
    method = values.get("method")
    if isinstance(method, Mapping):
        values["method"] = Method(**{k: v for k, v in method.items() if k in _METHOD_FIELDS})
    values["inputs"] = tuple(
        InputFile(**{k: v for k, v in item.items() if k in _INPUT_FIELDS})
        for item in values.get("inputs") or ()
    )
    values["engines"] = dict(values.get("engines") or {})
    return Measurement(**values)


# -- combining: local workers out of the client, machine terms once per host, the total -----


def _local_children(identities: Mapping[str, Any]) -> list[_LocalChild]:
    """The worker processes that are descendants of this process, on this machine.

    Args:
        identities: worker address to what :func:`_identity` returned there (or the
            exception it raised).
    """
    import psutil

    here = socket.gethostname()
    me = os.getpid()
    found: list[_LocalChild] = []
    for address, reply in identities.items():
        if not isinstance(reply, Mapping):
            continue
        pid = reply.get("pid")
        if reply.get("host") != here or not isinstance(pid, int) or pid == me:
            continue
        try:
            process = psutil.Process(pid)
            if me not in {parent.pid for parent in process.parents()}:
                continue
            # The same pid on this machine, and the same process (not a reused pid).
            began = reply.get("provenance", {}).get("pid_started_at")
            if isinstance(began, datetime) and abs(process.create_time() - began.timestamp()) > 1:
                continue
        except (psutil.Error, OSError):
            continue
        found.append(_LocalChild(address=address, process=process))
    return found


def _tree_sample(process: Any) -> Any:
    """CPU time and I/O of a process tree now, as the process sampler reads them."""
    from zuinig.meter.process import sample_tree

    try:
        return sample_tree(process, with_io=True)
    except Exception:
        return None


def _delta(children: Sequence[_LocalChild], name: str) -> float | None:
    """How much of figure ``name`` the children's trees added, or None if unreadable."""
    added = 0.0
    for child in children:
        start = getattr(child.at_start, name, None)
        end = getattr(child.at_end, name, None)
        if start is None or end is None:
            return None
        added += max(end - start, 0)
    return added


def _without_local_workers(
    client: ProcessMeasurement, children: Sequence[_LocalChild], *, workers_ram_kwh: float = 0.0
) -> ProcessMeasurement:
    """The client's own share: its tree's figures less those of its measured worker children.

    Args:
        client: the client's measurement (its whole process tree).
        children: the local workers, measured by their own meters.
        workers_ram_kwh: the RAM energy those workers' meters report; taken out of the
            client's where RAM is a share of memory held (the client's tree held theirs).
    """
    measurement = client.measurement
    if measurement is None or not children:
        return client
    cpu_s = _delta(children, "cpu_s")
    if cpu_s is None or measurement.cpu_s is None:
        return dataclasses.replace(
            client,
            error=_join(
                client.error,
                "its figures may include its local workers' CPU time (it could not be read)",
            ),
        )
    own_cpu_s = max(measurement.cpu_s - cpu_s, 0.0)
    changes: dict[str, Any] = {"cpu_s": own_cpu_s, "peak_rss_bytes": None}
    for name in ("read_bytes", "written_bytes"):
        value, added = getattr(measurement, name), _delta(children, name)
        changes[name] = None if value is None or added is None else max(int(value - added), 0)
    wide = machine_wide_terms(measurement.method)
    own: dict[str, float] = {}
    if (
        measurement.cpu_energy_kwh is not None
        and "cpu_energy_kwh" not in wide
        and measurement.cpu_s > 0
    ):
        # Attributed by CPU time, the CPU energy is proportional to CPU seconds.
        own["cpu_energy_kwh"] = measurement.cpu_energy_kwh * own_cpu_s / measurement.cpu_s
    if measurement.ram_energy_kwh is not None and "ram_energy_kwh" not in wide:
        own["ram_energy_kwh"] = max(measurement.ram_energy_kwh - workers_ram_kwh, 0.0)
        changes["ram_gb_s"] = None  # the tree's memory held included the workers'
    if own:
        changes.update(_energy_changes(measurement, **own))
    return dataclasses.replace(client, measurement=dataclasses.replace(measurement, **changes))


_SHARED_NOTE = "counted once per host by zuinig.dask"


def share_machine_terms(parts: Sequence[ProcessMeasurement]) -> list[ProcessMeasurement]:
    """Count each machine-wide energy term once per host (see the module description).

    Per host and machine-wide term (:func:`~zuinig.meter.attribution.machine_wide_terms`), the
    largest figure among that host's meters is kept and shared among them in
    proportion to their own figures. Parts without a CPU/RAM/GPU breakdown are
    left as they are.

    Args:
        parts: the client and the workers, with their own measurements.

    Returns:
        The parts, with adjusted measurements where a host had more than one meter.
    """
    groups: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for index, part in enumerate(parts):
        measurement = part.measurement
        if measurement is None or measurement.energy_kwh is None:
            continue
        terms = {
            "cpu_energy_kwh": measurement.cpu_energy_kwh,
            "ram_energy_kwh": measurement.ram_energy_kwh,
            "gpu_energy_kwh": measurement.gpu_energy_kwh,
        }
        if any(value is None for value in terms.values()):
            continue
        wide = machine_wide_terms(measurement.method)
        terms = {term: value for term, value in terms.items() if term in wide}
        host = part.host or f"unknown host of {part.address}"
        for term, value in terms.items():
            groups.setdefault((host, term), []).append((index, float(value or 0.0)))
    scaled: dict[int, dict[str, float]] = {}
    for (_, term), members in groups.items():
        together = sum(value for _, value in members)
        if len(members) < 2 or together <= 0:
            continue
        factor = max(value for _, value in members) / together
        for index, value in members:
            scaled.setdefault(index, {})[term] = value * factor
    shared = list(parts)
    for index, new_terms in scaled.items():
        part = parts[index]
        measurement = part.measurement
        assert measurement is not None
        changes = _energy_changes(measurement, **new_terms)
        method = measurement.method
        if method is not None:
            names = ", ".join(
                term.removesuffix("_energy_kwh").upper() for term in sorted(new_terms)
            )
            meters = max(
                len(groups[(host, term)])
                for (host, term) in groups
                if term in new_terms and any(i == index for i, _ in groups[(host, term)])
            )
            note = f"{names} {_SHARED_NOTE}: {meters} meters on its host share the largest figure"
            changes["method"] = dataclasses.replace(method, ram_model=_join(method.ram_model, note))
        shared[index] = dataclasses.replace(
            part, measurement=dataclasses.replace(measurement, **changes)
        )
    return shared


def _energy_changes(measurement: Measurement, **terms: float) -> dict[str, Any]:
    """New CPU/RAM/GPU figures, the energy as their sum, and CO2e in proportion."""
    changes: dict[str, Any] = dict(terms)
    parts = [
        terms.get(name, getattr(measurement, name)) or 0.0
        for name in ("cpu_energy_kwh", "ram_energy_kwh", "gpu_energy_kwh")
    ]
    energy_kwh = sum(parts)
    changes["energy_kwh"] = energy_kwh
    old_energy, co2_kg = measurement.energy_kwh, measurement.co2_kg
    if old_energy:
        # The range moves with the figure, in proportion.
        for name in ("energy_kwh_low", "energy_kwh_high", "co2_kg_low", "co2_kg_high"):
            value = getattr(measurement, name)
            if value is not None:
                changes[name] = value * energy_kwh / old_energy
    if co2_kg is not None and old_energy:
        changes["co2_kg"] = co2_kg * energy_kwh / old_energy
    elif measurement.intensity_g_per_kwh is not None:
        changes["co2_kg"] = energy_kwh * measurement.intensity_g_per_kwh / 1000.0
    market = measurement.method.market_intensity_g_per_kwh if measurement.method else None
    if market is not None:
        changes["co2_kg_market_based"] = energy_kwh * market / 1000.0
    return changes


def total(
    parts: Sequence[ProcessMeasurement],
    *,
    started_at: datetime,
    duration_s: float,
    issues: Sequence[str] = (),
) -> Measurement:
    """The parent's measurement: the sum of the parts, and what is missing.

    Args:
        parts: the client (address ``"client"``) and the workers, after sharing.
        started_at: when the job's window opened, if the client's meter has no time.
        duration_s: the job window's length, if the client's meter has none (s).
        issues: what went wrong beyond the parts' own errors, in words.
    """
    measured = [p.measurement for p in parts if p.measurement is not None]
    with_energy = [m for m in measured if m.energy_kwh is not None]
    client = next((p.measurement for p in parts if p.address == CLIENT), None)
    energy_kwh = _sum(m.energy_kwh for m in with_energy)
    co2_kg = _sum(m.co2_kg for m in with_energy)
    intensity = next((m.intensity_g_per_kwh for m in with_energy), None)
    if energy_kwh and co2_kg is not None:
        intensity = co2_kg / energy_kwh * 1000.0  # the mean over the parts, by energy
    inputs: dict[str, InputFile] = {}
    engines: dict[str, str] = {}
    for measurement in measured:
        for item in measurement.inputs:
            inputs.setdefault(item.path, item)
        engines.update(measurement.engines)
    missing = [*issues]
    for part in parts:
        name = CLIENT if part.address == CLIENT else f"worker {part.address}"
        own_error = part.measurement.measurement_error if part.measurement else None
        if part.error or own_error:
            missing.append(f"{name}: {_join(part.error, own_error)}")
        elif part.measurement is None:
            missing.append(f"{name}: not measured")
    return Measurement(
        started_at=client.started_at if client else started_at,
        ended_at=client.ended_at if client else datetime.now(UTC),
        duration_s=client.duration_s if client else duration_s,
        energy_kwh=energy_kwh,
        cpu_energy_kwh=_sum(m.cpu_energy_kwh for m in with_energy),
        ram_energy_kwh=_sum(m.ram_energy_kwh for m in with_energy),
        gpu_energy_kwh=_sum(m.gpu_energy_kwh for m in with_energy),
        energy_kwh_low=_sum_all(m.energy_kwh_low for m in with_energy),
        energy_kwh_high=_sum_all(m.energy_kwh_high for m in with_energy),
        co2_kg=co2_kg,
        co2_kg_low=_sum_all(m.co2_kg_low for m in with_energy),
        co2_kg_high=_sum_all(m.co2_kg_high for m in with_energy),
        co2_kg_market_based=_sum_all(m.co2_kg_market_based for m in with_energy),
        intensity_g_per_kwh=intensity,
        cpu_s=_sum(m.cpu_s for m in measured),
        ram_gb_s=_sum(m.ram_gb_s for m in measured),
        peak_rss_bytes=_int_sum(m.peak_rss_bytes for m in measured),
        read_bytes=_int_sum(m.read_bytes for m in measured),
        written_bytes=_int_sum(m.written_bytes for m in measured),
        inputs=tuple(inputs[path] for path in sorted(inputs)),
        engines=engines,
        method=_parent_method(measured),
        measurement_error="; ".join(missing) or None,
    )


def _parent_method(measured: Sequence[Measurement]) -> Method | None:
    """The method with the weakest evidence among the parts: an estimate if any is one."""
    methods = [m.method for m in measured if m.method is not None]
    if not methods:
        return None
    method = next((m for m in methods if not m.is_measured), methods[0])
    notes = {m.ram_model for m in methods if m.ram_model and _SHARED_NOTE in m.ram_model}
    if notes and (method.ram_model is None or _SHARED_NOTE not in method.ram_model):
        method = dataclasses.replace(
            method, ram_model=_join(method.ram_model, f"machine-wide terms {_SHARED_NOTE}")
        )
    return method


def _child_run(parent: Run, part: ProcessMeasurement, client_id: str) -> Run:
    """The child run of one process: its own figures, under the parent run."""
    provenance = part.provenance
    if part.address == CLIENT:
        kind, tags = KIND_DASK_CLIENT, {**parent.tags, "dask_client": client_id or CLIENT}
    else:
        kind, tags = KIND_DASK_WORKER, {**parent.tags, "dask_worker": part.address}
    pid_started_at = provenance.get("pid_started_at")
    run = Run(
        run_id=str(uuid.uuid4()),
        job=parent.job,
        status=parent.status,
        started_at=parent.started_at,
        kind=kind,
        parent_run_id=parent.run_id,
        tags=tags,
        error_type=parent.error_type,
        error_message=parent.error_message,
        host=part.host,
        pid=part.pid,
        pid_started_at=pid_started_at if isinstance(pid_started_at, datetime) else None,
        user=provenance.get("user"),
        python_version=provenance.get("python_version"),
        codecarbon_version=provenance.get("codecarbon_version"),
        zuinig_version=provenance.get("zuinig_version"),
        git_commit=parent.git_commit,  # the job's code is the client's
    )
    measurement = part.measurement
    if measurement is not None:
        run = run.with_measurement(measurement)
        run = dataclasses.replace(run, started_at=measurement.started_at)
    error = _join(part.error, measurement.measurement_error if measurement else None)
    if error or measurement is None:
        run = dataclasses.replace(run, measurement_error=error or "not measured")
    if run.ended_at is None:
        run = dataclasses.replace(run, ended_at=parent.ended_at)
    if parent.status == STATUS_ERROR and run.error_type is None:
        run = dataclasses.replace(run, error_type="Error", error_message="the job failed")
    return run


# -- small helpers -----------------------------------------------------------------------


def _energy(part: ProcessMeasurement) -> float | None:
    return None if part.measurement is None else part.measurement.energy_kwh


def _sum_all(values: Iterable[float | None]) -> float | None:
    """The sum, or None unless every value is known (a range is whole or absent)."""
    listed = list(values)
    if not listed or any(value is None for value in listed):
        return None
    return sum(value for value in listed if value is not None)


def _sum(values: Iterable[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def _int_sum(values: Iterable[int | None]) -> int | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def _join(*texts: str | None) -> str | None:
    return "; ".join(text for text in texts if text) or None


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _reply(reply: Any) -> str:
    if isinstance(reply, BaseException):
        return _describe(reply)
    return "no answer" if reply is None else f"unexpected answer {reply!r:.100}"


def child_runs(ledger: Ledger, run: Run) -> list[Run]:
    """The runs stored under ``run``: for a ``dask`` run, its client and workers.

    Args:
        ledger: an open :class:`zuinig.ledger.Ledger`.
        run: the parent run.

    Returns:
        The child runs, client first, then workers by address.
    """
    from zuinig.ledger.model import RunFilter

    children = ledger.list_runs(RunFilter(parent_run_id=run.run_id))
    return sorted(
        children,
        key=lambda child: (child.kind != KIND_DASK_CLIENT, child.tags.get("dask_worker", "")),
    )
