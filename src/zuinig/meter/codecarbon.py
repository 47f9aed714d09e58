"""The CodeCarbon meter: one offline CodeCarbon tracker per window, plus the process sampler.

This is the only module that imports :mod:`codecarbon`, and it does so on first use,
not at ``import zuinig``.

What CodeCarbon 3.3.2 does, and what zuinig does about it (see CODECARBON-NOTES.md):

* **One fresh** ``OfflineEmissionsTracker`` **per window**, ``allow_multiple_runs=True``,
  no output methods, country from settings, stopped when the window ends.
* **Configuration is isolated.** CodeCarbon reads ``~/.codecarbon.config``,
  ``./.codecarbon.config`` and ``CODECARBON_*`` variables in its constructor; they can
  switch on network calls (API, Electricity Maps) and file output, and a malformed file
  makes the constructor fail. zuinig's trackers see an empty configuration: every value
  comes from zuinig's settings. The user's own CodeCarbon trackers keep theirs.
* **Quiet.** While a zuinig window is open, records of the ``codecarbon`` logger are
  dropped (exceptions CodeCarbon swallows are kept, to explain a failure); the
  logger's handlers and level, which CodeCarbon's constructor resets, are put back.
* **Failures are measurements.** CodeCarbon catches its own exceptions and returns
  ``None`` from ``stop()``; that, and any exception, gives a :class:`Measurement` with
  ``energy_kwh = None`` and ``measurement_error`` saying why. :meth:`Window.end` never raises.
* **Figures.** ``energy_kwh`` is CodeCarbon's ``energy_consumed``, the sum of the CPU,
  RAM and GPU energies, each already multiplied by the PUE (CodeCarbon applies the PUE
  to every hardware reading in ``_do_measurements``). ``co2_kg`` is computed here as
  ``energy_kwh x intensity / 1000`` with the intensity recorded in the method, so the
  two always agree. CodeCarbon's averaged power fields are not used.
* **Method.** CodeCarbon's result has no field for how it measured; it is read from the
  tracker's hardware objects (CPU mode, TDP used) and decided here where CodeCarbon does
  not say (whether the TDP was a generic guess: true when the CPU model did not match
  CodeCarbon's TDP table, including its 4 W-per-thread fallback).
* **Overhead.** CodeCarbon's first tracker in a process spends about 1.5-2 s detecting
  hardware (py-cpuinfo relaunches Python, then a fuzzy match against the TDP table;
  ``lscpu``), and every tracker runs ``lscpu`` again and lists all processes on the
  machine a few times. zuinig caches the hardware probe on disk (:class:`ProbeCache`)
  and, for CodeCarbon versions it has been checked against (:data:`SEAM_TESTED_VERSIONS`),
  pre-seeds CodeCarbon's own per-process TDP cache and replaces a few private methods
  with equivalents that skip repeated work. Each falls back to CodeCarbon's normal path
  on any surprise; on other versions none is used and zuinig is correct, only slower.
* **Process mode counts every child.** CodeCarbon's process mode sums per-pid CPU time
  deltas a second apart, so a child's time before its first sighting is lost (a short
  subprocess, or the command of ``zuinig run``, gets next to no CPU energy). With the
  checked versions, CodeCarbon reads the whole tree's CPU time instead, waited-for
  descendants included, the same CPU seconds as the window's ``cpu_s``
  (:func:`_tree_cpu_reader`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

from zuinig.config import Settings
from zuinig.meter.base import (
    CPU_METHOD_CONSTANT,
    CPU_METHOD_CPU_LOAD,
    CPU_METHOD_NONE,
    CPU_METHOD_RAPL,
    CPU_METHOD_USER_POWER,
    Measurement,
    Meter,
    Method,
    Window,
)
from zuinig.meter.process import ProcessSampler, ProcessWindow, tree_cpu_seconds, tree_processes

logger = logging.getLogger(__name__)

#: CodeCarbon versions whose private internals the speed-ups below were checked against.
#: On any other version zuinig uses CodeCarbon's public behaviour only (slower first call).
SEAM_TESTED_VERSIONS = frozenset({"3.3.2"})

#: CodeCarbon's own default interval between energy readings (s). A reading costs about
#: a millisecond and windows shorter than this see only the readings at start and stop,
#: so the per-window cost does not depend on it; the CPU load is sampled every second
#: regardless (CodeCarbon's monitor thread), so a longer interval would not save energy
#: readings that matter.
MEASURE_POWER_S = 15.0

#: File name of the hardware-probe cache in the user cache directory.
PROBE_CACHE_FILE = "codecarbon-probe.json"
_PROBE_CACHE_FORMAT = 1
_PROBE_CACHE_MAX_ENTRIES = 16

# CodeCarbon's CPU modes, mapped to zuinig's method names.
_CPU_MODES = {
    "intel_rapl": CPU_METHOD_RAPL,
    "windows_emi": CPU_METHOD_RAPL,  # RAPL counters read through Windows' energy meter
    "intel_power_gadget": CPU_METHOD_RAPL,  # RAPL counters read through Intel Power Gadget
    "cpu_load": CPU_METHOD_CPU_LOAD,
    "constant": CPU_METHOD_CONSTANT,
}
_ESTIMATED_MODES = frozenset({"cpu_load", "constant"})

_ENERGY_MIX_RESOURCE = "data/private_infra/global_energy_mix.json"
_INTENSITY_PER_SOURCE_RESOURCE = "data/private_infra/carbon_intensity_per_source.json"


# -- carbon intensity -------------------------------------------------------------------


@dataclass(frozen=True)
class GridIntensity:
    """The carbon intensity a meter applies, with where it comes from.

    Attributes:
        g_per_kwh: g CO2e per kWh (location-based).
        source: where the figure comes from, in words.
        year: the year it describes, when known.
        country_name: the grid's country, in words, when known.
    """

    g_per_kwh: float
    source: str
    year: int | None = None
    country_name: str | None = None


def resolve_intensity(settings: Settings, codecarbon_version: str) -> GridIntensity:
    """The intensity for ``settings``: the settings' own figure, or CodeCarbon's offline data.

    CodeCarbon's offline figure for a country is the ``carbon_intensity`` of its entry in
    ``global_energy_mix.json`` (Our World in Data), the value CodeCarbon itself applies
    on private infrastructure without an Electricity Maps token. A country missing from
    that file gets CodeCarbon's world average, as CodeCarbon does.

    Raises:
        OSError, ValueError, KeyError: CodeCarbon's data files cannot be read.
    """
    if settings.intensity_g_per_kwh is not None:
        return GridIntensity(
            g_per_kwh=float(settings.intensity_g_per_kwh),
            source=settings.intensity_source or "settings",
        )
    country = settings.country_iso_code.upper()
    mix = _codecarbon_json(_ENERGY_MIX_RESOURCE)
    entry = mix.get(country)
    if isinstance(entry, dict) and entry.get("carbon_intensity") is not None:
        year = entry.get("year")
        return GridIntensity(
            g_per_kwh=float(entry["carbon_intensity"]),
            source=(
                f"Our World in Data, via CodeCarbon {codecarbon_version} offline data "
                f"({_ENERGY_MIX_RESOURCE.rsplit('/', 1)[-1]})"
            ),
            year=int(year) if isinstance(year, int | float) else None,
            country_name=entry.get("country_name"),
        )
    per_source = _codecarbon_json(_INTENSITY_PER_SOURCE_RESOURCE)
    return GridIntensity(
        g_per_kwh=float(per_source["world_average"]),
        source=(
            f"world average ({per_source.get('world_average_source', 'source not given')}), "
            f"via CodeCarbon {codecarbon_version}: no offline data for {country}"
        ),
    )


def _codecarbon_json(resource: str) -> dict[str, Any]:
    from importlib.resources import files

    text = files("codecarbon").joinpath(resource).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"CodeCarbon's {resource} is not a JSON object")
    return data


# -- the hardware probe and its disk cache ----------------------------------------------


@dataclass(frozen=True)
class HardwareProbe:
    """What CodeCarbon's slow hardware detection found on this machine.

    Attributes:
        cpu_physical_count: CPU sockets, as CodeCarbon counts them (``lscpu``).
        tdp_model: CPU model as CodeCarbon's TDP detection read it (py-cpuinfo);
            ``None`` when CodeCarbon did not need a TDP (RAPL counters were used).
        tdp_w: TDP per socket CodeCarbon found (W): from its table, or its generic
            fallback; ``None`` when it found none.
        tdp_matched: whether the model matched CodeCarbon's TDP table. When false
            the TDP is a generic guess.
    """

    cpu_physical_count: int
    tdp_model: str | None = None
    tdp_w: float | None = None
    tdp_matched: bool = False

    @property
    def has_tdp(self) -> bool:
        """Whether the TDP detection ran, so its result can be reused."""
        return self.tdp_model is not None


def probe_key(codecarbon_version: str) -> dict[str, Any]:
    """What would change the probe's result: CPU brand and count, platform, CodeCarbon version."""
    return {
        "cpu_brand": _cpu_brand(),
        "logical_cpus": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.system(),
        "codecarbon": codecarbon_version,
    }


def _cpu_brand() -> str:
    # The first "model name" of /proc/cpuinfo is the brand string py-cpuinfo reads on
    # Linux, without starting a process; elsewhere platform.processor() stands in.
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class ProbeCache:
    """The hardware probe, kept on disk between processes.

    One JSON file in the user cache directory holds a probe per key (a home shared by
    several machines keeps one per machine). A missing, unreadable or corrupt file is an
    empty cache; a write that fails is skipped. Writes are atomic (rename).

    Args:
        directory: where the file lives; the user cache directory of ``zuinig`` by default.
    """

    def __init__(self, directory: Path | None = None) -> None:
        if directory is None:
            import platformdirs

            directory = Path(platformdirs.user_cache_dir("zuinig", appauthor=False))
        self.path = directory / PROBE_CACHE_FILE

    @staticmethod
    def _digest(key: Mapping[str, Any]) -> str:
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def _entries(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(document, dict) or document.get("format") != _PROBE_CACHE_FORMAT:
            return {}
        entries = document.get("entries")
        return entries if isinstance(entries, dict) else {}

    def load(self, key: Mapping[str, Any]) -> HardwareProbe | None:
        """The probe stored for ``key``, or ``None``."""
        entry = self._entries().get(self._digest(key))
        if not isinstance(entry, dict) or entry.get("key") != dict(key):
            return None
        try:
            tdp_w = entry.get("tdp_w")
            return HardwareProbe(
                cpu_physical_count=int(entry["cpu_physical_count"]),
                tdp_model=None if entry.get("tdp_model") is None else str(entry["tdp_model"]),
                tdp_w=None if tdp_w is None else float(tdp_w),
                tdp_matched=bool(entry.get("tdp_matched", False)),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def store(self, key: Mapping[str, Any], probe: HardwareProbe) -> None:
        """Keep ``probe`` for ``key``; failures are logged at debug level and ignored."""
        entries = self._entries()
        entries[self._digest(key)] = {
            "key": dict(key),
            "cpu_physical_count": probe.cpu_physical_count,
            "tdp_model": probe.tdp_model,
            "tdp_w": probe.tdp_w,
            "tdp_matched": probe.tdp_matched,
            "probed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        while len(entries) > _PROBE_CACHE_MAX_ENTRIES:
            oldest = min(entries, key=lambda digest: str(entries[digest].get("probed_at", "")))
            del entries[oldest]
        document = {"format": _PROBE_CACHE_FORMAT, "entries": entries}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                dir=self.path.parent, prefix=".probe-", suffix=".tmp"
            )
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, indent=1, sort_keys=True)
            Path(temporary).replace(self.path)
        except OSError as error:
            logger.debug("could not write the hardware probe cache %s: %s", self.path, error)


# -- CodeCarbon's logger ----------------------------------------------------------------


class _QuietCodeCarbonLog:
    """Keeps CodeCarbon's log off the terminal while zuinig windows are open.

    A filter on the ``codecarbon`` logger drops every record while at least one window
    is open (CodeCarbon's timer threads log too, so records cannot be told apart by
    window); when none is open it lets everything through, so the user's own use of
    CodeCarbon logs as before. Exceptions CodeCarbon swallows arrive as records with
    ``exc_info``; those logged by a thread that asked for them (see :meth:`capture`)
    are kept to explain a failed measurement.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open_windows = 0
        self._installed = False
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        """The ``logging`` filter protocol: ``False`` drops the record."""
        if self._open_windows == 0:
            return True
        sink: list[BaseException] | None = getattr(self._local, "sink", None)
        if sink is not None and record.exc_info and record.exc_info[1] is not None:
            sink.append(record.exc_info[1])
        return False

    def window_opened(self) -> None:
        with self._lock:
            if not self._installed:
                logging.getLogger("codecarbon").addFilter(self)
                self._installed = True
            self._open_windows += 1

    def window_closed(self) -> None:
        with self._lock:
            self._open_windows = max(self._open_windows - 1, 0)

    def reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._open_windows = 0

    @contextlib.contextmanager
    def capture(self, sink: list[BaseException]) -> Iterator[None]:
        """Collect the exceptions CodeCarbon swallows in this thread meanwhile."""
        previous = getattr(self._local, "sink", None)
        self._local.sink = sink
        try:
            yield
        finally:
            self._local.sink = previous

    @staticmethod
    @contextlib.contextmanager
    def keeping_logger_setup() -> Iterator[int]:
        """Put back the handlers and level CodeCarbon's constructor replaces.

        Yields the current level, to hand to the constructor so it sets the same one.
        """
        codecarbon_logger = logging.getLogger("codecarbon")
        handlers = list(codecarbon_logger.handlers)
        level = codecarbon_logger.level
        propagate = codecarbon_logger.propagate
        try:
            yield level
        finally:
            if codecarbon_logger.handlers != handlers:
                codecarbon_logger.handlers = handlers
            if codecarbon_logger.level != level:
                codecarbon_logger.setLevel(level)
            codecarbon_logger.propagate = propagate


_quiet_log = _QuietCodeCarbonLog()


# -- configuration isolation ------------------------------------------------------------

_isolation = threading.local()


class _IsolatingConfigReader:
    """Stands in for ``codecarbon.emissions_tracker.get_hierarchical_config``.

    CodeCarbon's constructors call that function by its module-global name. For a
    tracker zuinig constructs (flagged in this thread) it returns an empty
    configuration without reading any file or variable; for everyone else it calls
    the original, so the user's own trackers keep their configuration.
    """

    zuinig_isolating = True

    def __init__(self, original: Callable[[], dict[str, Any]]) -> None:
        self.original = original

    def __call__(self) -> dict[str, Any]:
        if getattr(_isolation, "active", False):
            return {}
        return self.original()


def _install_config_isolation(emissions_tracker_module: ModuleType) -> bool:
    current = getattr(emissions_tracker_module, "get_hierarchical_config", None)
    if getattr(current, "zuinig_isolating", False):
        return True
    if not callable(current):
        return False
    setattr(emissions_tracker_module, "get_hierarchical_config", _IsolatingConfigReader(current))  # noqa: B010
    return True


@contextlib.contextmanager
def _isolated() -> Iterator[None]:
    previous = getattr(_isolation, "active", False)
    _isolation.active = True
    try:
        yield
    finally:
        _isolation.active = previous


# -- small stand-ins for CodeCarbon's geography, used by the fast path ------------------


@dataclass(frozen=True)
class _PrivateInfra:
    """Duck-types CodeCarbon's ``CloudMetadata`` for a machine not in a cloud."""

    provider: None = None
    region: None = None

    @property
    def is_on_private_infra(self) -> bool:
        return True


@dataclass(frozen=True)
class _Country:
    """Duck-types CodeCarbon's ``GeoMetadata`` for an offline tracker without region."""

    country_iso_code: str
    country_name: str | None
    region: None = None
    country_2letter_iso_code: None = None
    latitude: None = None
    longitude: None = None


class _FixedIntensity:
    """Duck-types CodeCarbon's ``Emissions`` engine: energy (kWh) x the recorded intensity.

    It is what CodeCarbon's own engine computes for an offline tracker on private
    infrastructure (a fixed g/kWh per country, or the forced intensity), without
    importing ``requests`` and ``pycountry`` for paths an offline tracker never takes.
    """

    def __init__(self, g_per_kwh: float) -> None:
        self._kg_per_kwh = g_per_kwh / 1000.0

    def get_private_infra_emissions(self, energy: Any, geo: Any) -> float:
        return float(energy.kWh) * self._kg_per_kwh


def _children_rss(pid: int) -> list[int]:
    """CodeCarbon's ``RAM._get_children_memories``: resident memory of each descendant.

    CodeCarbon lists the children through psutil, which reads ``/proc/<pid>/stat`` of
    every process on the machine at every reading; this costs one system call when
    there are none (see :func:`zuinig.meter.process.tree_processes`).
    """
    sizes: list[int] = []
    for child in tree_processes(psutil.Process(pid))[1:]:
        with contextlib.suppress(psutil.Error):
            sizes.append(int(child.memory_info().rss))
    return sizes


def _tree_cpu_reader(pid: int) -> Callable[[], dict[int, float]]:
    """CodeCarbon's ``CPU._get_process_cpu_times`` for process mode, counting every child.

    CodeCarbon sums per-pid CPU time deltas between readings (one a second): a child's
    time before its first sighting, and after its last one, is lost, so a command run
    under ``zuinig run`` or a short subprocess gets (almost) no CPU energy though its
    CPU time is real. This reader reports the whole tree's CPU time, ended and waited-for
    descendants included (:func:`tree_cpu_seconds`), under the root's pid, so CodeCarbon's
    delta is the tree's CPU time between readings: CPU energy = TDP x cpu_s / threads,
    the same CPU seconds as the window's ``cpu_s``. It never goes down (a child caught
    between exit and being waited for can drop out for an instant), so such a dip is
    not counted twice when the child's time reappears in its parent's total.
    """
    root = psutil.Process(pid)
    highest = 0.0

    def read() -> dict[int, float]:
        nonlocal highest
        total = tree_cpu_seconds(root)
        if total is not None and total > highest:
            highest = total
        return {pid: highest}

    return read


# -- the runtime: CodeCarbon, loaded once per process -----------------------------------


class _Runtime:
    """CodeCarbon's modules, the tracker class, and what is known about this machine."""

    def __init__(self, cache: ProbeCache) -> None:
        import codecarbon
        import codecarbon.emissions_tracker as emissions_tracker

        self.version: str = str(getattr(codecarbon, "__version__", "unknown"))
        self.emissions_tracker = emissions_tracker
        if not _install_config_isolation(emissions_tracker):
            # Still isolated by the tracker class's empty _external_conf, but a
            # malformed .codecarbon.config can now make its constructor fail.
            logger.debug("CodeCarbon %s: its configuration reader was not found", self.version)
        self.cache = cache
        self.key = probe_key(self.version)
        self.lock = threading.Lock()
        # CodeCarbon's private modules, typed loosely on purpose: only their checked
        # attributes are used, each behind a fallback.
        self.hardware_cache: Any = None
        self.cpu_module: Any = None
        self.fast = self.version in SEAM_TESTED_VERSIONS and self._load_seam_modules()
        self.probe: HardwareProbe | None = cache.load(self.key) if self.fast else None
        self.probe_stored = self.probe is not None
        if self.probe is not None:
            self._seed_tdp(self.probe)
        self.tracker_class = _make_tracker_class(emissions_tracker.OfflineEmissionsTracker)
        self.intensities: dict[tuple[str, float | None, str | None], GridIntensity] = {}
        if not self.fast:
            logger.debug(
                "CodeCarbon %s: zuinig's speed-ups are off (checked against %s)",
                self.version,
                ", ".join(sorted(SEAM_TESTED_VERSIONS)),
            )

    def _load_seam_modules(self) -> bool:
        try:
            from codecarbon.core import cpu, hardware_cache
        except ImportError:
            return False
        base = self.emissions_tracker.BaseEmissionsTracker
        expected = (
            (hardware_cache, "_tdp"),
            (hardware_cache, "get_cached_tdp"),
            (cpu, "TDP"),
            (base, "_populate_system_metadata"),
            (base, "_ensure_hardware_ready"),
            (base, "_get_geo_metadata"),
            (base, "_get_cloud_metadata"),
            (base, "_ensure_emissions_engine"),
            (base, "_measure_power_and_energy_if_stale"),
        )
        if not all(hasattr(owner, name) for owner, name in expected):
            return False
        self.hardware_cache, self.cpu_module = hardware_cache, cpu
        return True

    def _seed_tdp(self, probe: HardwareProbe) -> None:
        """Pre-seed CodeCarbon's per-process TDP cache with the probe from disk.

        ``hardware_cache.get_cached_tdp`` returns ``hardware_cache._tdp`` when set and
        otherwise builds ``cpu.TDP()``, which runs py-cpuinfo (a new Python process) and
        a fuzzy match against the TDP table: 1.6 s of a 1.5-2.5 s first tracker. A TDP
        object is just ``model`` and ``tdp``; building one with those values, found by
        that same code in an earlier process on this machine, is what the cache would
        hold. Skipped when anything is not as checked.
        """
        if not probe.has_tdp or self.hardware_cache is None or self.cpu_module is None:
            return
        try:
            if self.hardware_cache._tdp is not None:
                return  # this process already detected it
            tdp_class = self.cpu_module.TDP
            seeded = tdp_class.__new__(tdp_class)
            seeded.model = probe.tdp_model
            seeded.tdp = probe.tdp_w
            self.hardware_cache._tdp = seeded
        except Exception as error:
            logger.debug("could not seed CodeCarbon's TDP cache: %r", error)

    def remember_probe(self, tracker: Any) -> None:
        """After this process's first real detection, keep its result on disk."""
        if not self.fast or self.hardware_cache is None:
            return
        with self.lock:
            if self.probe_stored:
                return
            self.probe_stored = True  # one attempt per process, whatever happens
            try:
                probe = self._probe_from(tracker)
            except Exception as error:
                logger.debug("could not read CodeCarbon's hardware detection: %r", error)
                return
            if probe is None:
                return
            self.probe = probe
            self.cache.store(self.key, probe)

    def _probe_from(self, tracker: Any) -> HardwareProbe | None:
        physical = tracker._conf.get("cpu_physical_count")
        if not isinstance(physical, int):
            return None
        assert self.hardware_cache is not None
        tdp = self.hardware_cache._tdp
        if tdp is None:  # CodeCarbon did not need a TDP here (RAPL): only lscpu is saved
            return HardwareProbe(cpu_physical_count=physical)
        # CodeCarbon keeps no trace of whether the model matched its table; ask the
        # table again (once per machine: the answer goes to the disk cache).
        registry_tdp = tdp._get_cpu_power_from_registry(tdp.model) if tdp.model else None
        return HardwareProbe(
            cpu_physical_count=physical,
            tdp_model=str(tdp.model),
            tdp_w=None if tdp.tdp is None else float(tdp.tdp),
            tdp_matched=bool(registry_tdp),
        )

    def intensity(self, settings: Settings) -> GridIntensity:
        key = (settings.country_iso_code, settings.intensity_g_per_kwh, settings.intensity_source)
        found = self.intensities.get(key)
        if found is None:
            found = resolve_intensity(settings, self.version)
            self.intensities[key] = found
        return found


_runtime_lock = threading.Lock()
_runtimes: dict[Path, _Runtime] = {}
# CodeCarbon's constructor resets its logger; constructions run one at a time so each
# can put back exactly what it found.
_construct_lock = threading.Lock()


def _runtime(cache: ProbeCache) -> _Runtime:
    with _runtime_lock:
        runtime = _runtimes.get(cache.path)
        if runtime is None:
            runtime = _Runtime(cache)
            _runtimes[cache.path] = runtime
        return runtime


def _make_tracker_class(offline_tracker: type[Any]) -> type[Any]:
    """CodeCarbon's offline tracker with zuinig's isolation and speed-ups.

    ``_external_conf`` is where CodeCarbon keeps the configuration it read; here it is
    always empty, a second lock on the same door as :class:`_IsolatingConfigReader`.
    The other overrides apply only when ``_zuinig_fast`` is set on the instance.
    """

    class ZuinigTracker(offline_tracker):  # type: ignore[misc]
        _zuinig_fast = False
        _zuinig_probe: HardwareProbe | None = None
        _zuinig_country: _Country | None = None
        _zuinig_intensity: float = 0.0

        @property
        def _external_conf(self) -> dict[str, Any]:
            return {}

        @_external_conf.setter
        def _external_conf(self, value: Any) -> None:
            pass  # whatever CodeCarbon read from files and environment is dropped

        def _populate_system_metadata(self) -> None:
            probe = self._zuinig_probe
            if not self._zuinig_fast or probe is None:
                super()._populate_system_metadata()
                return
            # CodeCarbon runs lscpu for the socket count in every tracker.
            from codecarbon.core.util import count_cpus

            self._conf["os"] = platform.platform()
            self._conf["python_version"] = platform.python_version()
            self._conf["cpu_count"] = count_cpus()
            self._conf["cpu_physical_count"] = probe.cpu_physical_count

        def _ensure_hardware_ready(self) -> None:
            ready = getattr(self, "_hardware_initialized", True)
            super()._ensure_hardware_ready()
            if self._zuinig_fast and not ready:
                _adapt_hardware(self._hardware)

        def _get_geo_metadata(self) -> Any:
            if self._zuinig_fast and self._zuinig_country is not None:
                return self._zuinig_country
            return super()._get_geo_metadata()

        def _get_cloud_metadata(self) -> Any:
            if self._zuinig_fast and not getattr(self, "_cloud_provider", None):
                return _PrivateInfra()
            return super()._get_cloud_metadata()

        def _ensure_emissions_engine(self) -> None:
            if self._zuinig_fast and getattr(self, "_emissions", None) is None:
                self._emissions = _FixedIntensity(self._zuinig_intensity)
            super()._ensure_emissions_engine()

        def _measure_power_and_energy_if_stale(self, min_interval_s: float = 0.05) -> None:
            # CodeCarbon skips the closing reading when the last one is under 50 ms old,
            # so a window shorter than that reports (almost) no energy. Always read.
            if self._zuinig_fast:
                min_interval_s = 0.0
            super()._measure_power_and_energy_if_stale(min_interval_s)

    return ZuinigTracker


def _adapt_hardware(hardware: list[Any]) -> None:
    """Give CodeCarbon's process-mode CPU and RAM readers zuinig's view of the tree."""
    me = os.getpid()
    for item in hardware:
        kind = type(item).__name__
        try:
            if (
                kind == "CPU"
                and getattr(item, "_mode", None) == "cpu_load"
                and getattr(item, "_tracking_mode", None) == "process"
                and getattr(item, "_pid", None) == me
                and hasattr(item, "_get_process_cpu_times")
            ):
                item._get_process_cpu_times = _tree_cpu_reader(me)
            elif (
                kind == "RAM"
                and getattr(item, "_pid", None) == me
                and getattr(item, "_children", False)
                and hasattr(item, "_get_children_memories")
            ):
                item._get_children_memories = lambda pid=me: _children_rss(pid)
        except Exception as error:  # leave CodeCarbon's own reader in place
            logger.debug("could not adapt CodeCarbon's %s reader: %r", kind, error)


# -- the meter --------------------------------------------------------------------------


class CodeCarbonMeter(Meter):
    """Measures energy with CodeCarbon's offline tracker and the process tree with psutil.

    Args:
        settings: country, tracking mode, PUE and calibration (CPU and RAM watts,
            carbon intensity).
        cache_dir: where the hardware probe is cached; the user cache directory by default.
        sample_interval_s: seconds between background samples of the process tree.
    """

    name = "codecarbon"

    def __init__(
        self,
        settings: Settings,
        *,
        cache_dir: Path | None = None,
        sample_interval_s: float | None = None,
    ) -> None:
        self.settings = settings
        self._cache_dir = cache_dir
        self._cache: ProbeCache | None = None
        self._sample_interval_s = sample_interval_s

    def _probe_cache(self) -> ProbeCache:
        if self._cache is None:
            self._cache = ProbeCache(self._cache_dir)
        return self._cache

    def _sampler(self, context: Mapping[str, Any]) -> ProcessSampler:
        pid = context.get("pid")
        kwargs = {} if self._sample_interval_s is None else {"interval_s": self._sample_interval_s}
        return ProcessSampler(pid if isinstance(pid, int) else None, **kwargs)

    def begin(self, context: Mapping[str, Any] | None = None) -> Window:
        """Open a window: start a fresh CodeCarbon tracker, then the process sampler.

        Args:
            context: ``{"paths": [...]}`` files the work was called with (recorded as
                inputs); ``{"pid": n}`` samples that process's tree instead of this
                one's (CodeCarbon still tracks this process and its children, so ``n``
                should be a child of this process, as with ``zuinig run``).

        Never raises.
        """
        return _CodeCarbonWindow(self, context or {})

    def method(self) -> Method:
        """The method a window would use now, found by opening and closing an empty one."""
        measurement = self.begin().end()
        if measurement.method is not None:
            return measurement.method
        return Method(meter=self.name, cpu_method=CPU_METHOD_NONE)


class _CodeCarbonWindow(Window):
    """One CodeCarbon tracker and one process window around a piece of work."""

    def __init__(self, meter: CodeCarbonMeter, context: Mapping[str, Any]) -> None:
        self._meter = meter
        self._settings = meter.settings
        self._lock = threading.Lock()
        self._measurement: Measurement | None = None
        self._errors: list[str] = []
        self._swallowed: list[BaseException] = []
        self._tracker: Any = None
        self._runtime: _Runtime | None = None
        self._intensity: GridIntensity | None = None
        self._quiet = False
        self._process: ProcessWindow | None = None
        self._started_at = datetime.now(UTC)
        self._start = time.perf_counter()
        try:
            self._start_tracker()
        except _Failure as failure:
            self._errors.append(str(failure))
        except Exception as error:  # never break the measured job
            self._errors.append(f"CodeCarbon could not start: {_describe(error)}")
        try:
            self._process = meter._sampler(context).begin(context)
        except Exception as error:
            logger.debug("process sampler could not start: %r", error)
        # The window proper starts now: setup is not the work's duration.
        self._started_at = datetime.now(UTC)
        self._start = time.perf_counter()

    def _start_tracker(self) -> None:
        try:
            runtime = _runtime(self._meter._probe_cache())
        except Exception as error:
            raise _Failure(
                f"CodeCarbon could not be loaded ({_describe(error)}); install codecarbon>=3 "
                "or use the null meter"
            ) from error
        self._runtime = runtime
        self._intensity = runtime.intensity(self._settings)
        _quiet_log.window_opened()
        self._quiet = True
        with _quiet_log.capture(self._swallowed):
            tracker = self._construct(runtime)
            if getattr(tracker, "_scheduler", None) is None:
                raise _Failure(f"CodeCarbon could not set up its tracker{self._cause()}")
            tracker.start()
        if getattr(tracker, "_start_time", None) is None:
            _stop_timers(tracker)
            raise _Failure(f"CodeCarbon's tracker did not start{self._cause()}")
        self._tracker = tracker

    def _construct(self, runtime: _Runtime) -> Any:
        settings = self._settings
        assert self._intensity is not None
        with _construct_lock, _quiet_log.keeping_logger_setup() as log_level, _isolated():
            tracker = runtime.tracker_class(
                country_iso_code=settings.country_iso_code,
                project_name="zuinig",
                measure_power_secs=MEASURE_POWER_S,
                output_methods=[],
                output_handlers=[],
                emissions_endpoint=None,
                electricitymaps_api_token=None,
                # Only read by output methods (none here) and Intel Power Gadget's log,
                # and CodeCarbon refuses a directory that does not exist: not the cwd.
                output_dir=tempfile.gettempdir(),
                tracking_mode=settings.tracking_mode,
                log_level=log_level,
                force_cpu_power=settings.cpu_power_w,
                force_ram_power=settings.ram_power_w,
                force_mode_cpu_load=False,
                pue=settings.pue,
                wue=0.0,
                force_carbon_intensity_g_co2e_kwh=self._intensity.g_per_kwh,
                allow_multiple_runs=True,
            )
        if runtime.fast:
            tracker._zuinig_fast = True
            tracker._zuinig_probe = runtime.probe
            tracker._zuinig_intensity = self._intensity.g_per_kwh
            tracker._zuinig_country = _Country(
                country_iso_code=settings.country_iso_code,
                country_name=self._intensity.country_name,
            )
        return tracker

    def _cause(self) -> str:
        if not self._swallowed:
            return " (CodeCarbon hides its own errors; none was logged)"
        return f": {_describe(self._swallowed[-1])}"

    def end(self) -> Measurement:
        """Stop the tracker and the sampler; return what was measured. Never raises."""
        with self._lock:
            if self._measurement is not None:
                return self._measurement
            ended = time.perf_counter()
            ended_at = datetime.now(UTC)
            try:
                self._measurement = self._finish(ended, ended_at)
            except Exception as error:  # the last net: end() never raises
                self._measurement = Measurement(
                    started_at=self._started_at,
                    ended_at=ended_at,
                    duration_s=max(ended - self._start, 0.0),
                    measurement_error=f"zuinig could not assemble the measurement: "
                    f"{_describe(error)}",
                )
            return self._measurement

    def _finish(self, ended: float, ended_at: datetime) -> Measurement:
        if self._process is not None:
            self._process.stop_sampling()
        data = None
        try:
            data = self._stop_tracker()
        finally:
            if self._quiet:
                _quiet_log.window_closed()
                self._quiet = False
        stats = self._process.end() if self._process is not None else None
        if self._runtime is not None and self._tracker is not None and data is not None:
            self._runtime.remember_probe(self._tracker)
        figures = self._figures(data)
        method = self._method(data)
        return Measurement(
            started_at=self._started_at,
            ended_at=ended_at,
            duration_s=max(ended - self._start, 0.0),
            energy_kwh=figures.get("energy_kwh"),
            cpu_energy_kwh=figures.get("cpu_energy_kwh"),
            ram_energy_kwh=figures.get("ram_energy_kwh"),
            gpu_energy_kwh=figures.get("gpu_energy_kwh"),
            co2_kg=figures.get("co2_kg"),
            intensity_g_per_kwh=None if self._intensity is None else self._intensity.g_per_kwh,
            cpu_s=None if stats is None else stats.cpu_s,
            peak_rss_bytes=None if stats is None else stats.peak_rss_bytes,
            read_bytes=None if stats is None else stats.read_bytes,
            written_bytes=None if stats is None else stats.written_bytes,
            inputs=() if stats is None else stats.inputs,
            engines={} if stats is None else dict(stats.engines),
            method=method,
            measurement_error="; ".join(self._errors) or None,
        )

    def _stop_tracker(self) -> Any:
        tracker = self._tracker
        if tracker is None:
            return None
        emissions: Any = None
        try:
            with _quiet_log.capture(self._swallowed):
                emissions = tracker.stop()
        except Exception as error:
            self._errors.append(f"CodeCarbon failed while stopping: {_describe(error)}")
            return None
        finally:
            _stop_timers(tracker)
        data = getattr(tracker, "final_emissions_data", None)
        if emissions is None or data is None:
            self._errors.append(
                f"CodeCarbon returned no measurement (stop() gave None){self._cause()}"
            )
            return None
        return data

    def _figures(self, data: Any) -> dict[str, float]:
        if data is None or self._intensity is None:
            return {}
        try:
            figures = {
                "energy_kwh": float(data.energy_consumed),
                "cpu_energy_kwh": float(data.cpu_energy),
                "ram_energy_kwh": float(data.ram_energy),
                "gpu_energy_kwh": float(data.gpu_energy),
            }
        except (AttributeError, TypeError, ValueError) as error:
            self._errors.append(f"CodeCarbon's result has no usable energy: {_describe(error)}")
            return {}
        if not all(math.isfinite(value) and value >= 0 for value in figures.values()):
            self._errors.append(
                f"CodeCarbon's energy is not a plain non-negative number: {figures}"
            )
            return {}
        figures["co2_kg"] = figures["energy_kwh"] * self._intensity.g_per_kwh / 1000.0
        return figures

    def _method(self, data: Any) -> Method:
        settings = self._settings
        runtime = self._runtime
        intensity = self._intensity
        common: dict[str, Any] = {
            "meter": f"codecarbon {runtime.version}" if runtime else "codecarbon (not loaded)",
            "tracking_mode": settings.tracking_mode,
            "pue": settings.pue,
            "country_iso_code": settings.country_iso_code,
        }
        if intensity is not None:
            common.update(
                intensity_g_per_kwh=intensity.g_per_kwh,
                intensity_source=intensity.source,
                intensity_year=intensity.year,
            )
        tracker = self._tracker
        if data is None or tracker is None:
            return Method(cpu_method=CPU_METHOD_NONE, **common)
        return Method(**common, **_hardware_method(tracker, data, settings, runtime))


def _hardware_method(
    tracker: Any, data: Any, settings: Settings, runtime: _Runtime | None
) -> dict[str, Any]:
    """CPU and RAM provenance, read from the tracker's hardware objects."""
    conf = getattr(tracker, "_conf", {})
    cpu = next((h for h in tracker._hardware if type(h).__name__ == "CPU"), None)
    mode = str(getattr(cpu, "_mode", "unknown")) if cpu is not None else "none"
    cpu_method = _CPU_MODES.get(mode, mode)
    estimated = mode in _ESTIMATED_MODES
    tdp = getattr(cpu, "_tdp", None) if estimated else None
    if settings.cpu_power_w is not None and estimated:
        cpu_method = CPU_METHOD_USER_POWER if mode == "cpu_load" else cpu_method
        generic = False
    elif estimated:
        probe = runtime.probe if runtime is not None else None
        # CodeCarbon marks only its 85 W no-model fallback as generic, not its 4 W per
        # thread fallback for a model missing from its table: decide from the table lookup.
        generic = probe is None or not probe.tdp_matched or bool(getattr(cpu, "_is_generic_tdp", 0))
    else:
        generic = False
    ram_power_w, ram_model = _ram_method(tracker, settings)
    cpu_count = conf.get("cpu_count")
    return {
        "cpu_method": cpu_method,
        "cpu_model": conf.get("cpu_model") or getattr(cpu, "_model", None),
        "cpu_tdp_w": None if tdp is None else float(tdp),
        "cpu_tdp_is_generic": generic,
        "cpu_count": cpu_count if isinstance(cpu_count, int) else None,
        "ram_model": ram_model,
        "ram_power_w": ram_power_w,
    }


def _ram_method(tracker: Any, settings: Settings) -> tuple[float | None, str]:
    if settings.ram_power_w is not None:
        return float(settings.ram_power_w), "constant from settings (ram_power_w)"
    total_gb = getattr(tracker, "_conf", {}).get("ram_total_size")
    if settings.tracking_mode == "machine":
        basis = (
            f"installed memory ({total_gb:.1f} GB)"
            if isinstance(total_gb, int | float)
            else "installed memory"
        )
    else:
        basis = "the process tree's resident memory"
    model = f"CodeCarbon estimate from {basis}: a watt figure per guessed memory module"
    ram = next((h for h in tracker._hardware if type(h).__name__ == "RAM"), None)
    if ram is None:
        return None, model
    try:
        # CodeCarbon's RAM model evaluated at the window's end, before the PUE. From the
        # energy it could only be recovered approximately: CodeCarbon's duration runs
        # a little past its last reading.
        return float(ram.total_power().W), model
    except Exception:
        return None, model


def _stop_timers(tracker: Any) -> None:
    """Make sure no CodeCarbon timer thread outlives its window, whatever stop() did."""
    for name in ("_scheduler", "_scheduler_monitor_power"):
        scheduler = getattr(tracker, name, None)
        if scheduler is not None:
            with contextlib.suppress(Exception):
                scheduler.stop()


class _Failure(Exception):
    """A failed measurement, with the sentence that explains it."""


def _describe(error: BaseException) -> str:
    if isinstance(error, _Failure):
        return str(error)
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork() stays held forever in the child, and the
    # parent's open windows are not the child's: start clean.
    global _construct_lock, _runtime_lock
    _construct_lock = threading.Lock()
    _runtime_lock = threading.Lock()
    for runtime in _runtimes.values():
        runtime.lock = threading.Lock()
    _quiet_log.reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
