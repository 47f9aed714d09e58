"""The CodeCarbon source: CodeCarbon's hardware detection, kept, and machine counters read.

CodeCarbon is the source of hardware detection (RAPL domains, NVIDIA GPUs, the CPU's
TDP from its table, the socket count), of its RAM power model and of the grid's carbon
intensity. zuinig does not run a CodeCarbon tracker per window (that cost 1-2 ms and
started timer threads); instead, once per process:

* **Detection** runs CodeCarbon's own detectors (``IntelRAPL``, ``TDP``, ``RAM``,
  ``AllGPUDevices``) and keeps their result, on disk too (:class:`ProbeCache`), so a
  later process on the same machine reads it without importing CodeCarbon at all
  (importing it costs about 0.1 s).
* **Each window** reads the machine's counters at begin and end: ``psutil.cpu_times()``
  for the machine's busy CPU seconds, the ``energy_uj`` files of the RAPL domains
  CodeCarbon found, and each GPU's NVML total energy counter. That costs microseconds.
  A window shorter than a second takes the machine's busy time and load from its
  recent rate instead (:func:`~zuinig.meter.attribution.window_busy`), read since a
  kept reading at least a second back: ``/proc/stat`` counts in 10 ms ticks.

The machine's energy over the window, by component (before the PUE):

* **CPU**: the RAPL package counters' delta where CodeCarbon found readable ones
  (measured). Otherwise an estimate from the machine's busy fraction ``u``: with a TDP
  from CodeCarbon's table, CodeCarbon's machine model ``TDP x (0.1 + 0.9 u^3)`` (its
  linear ``TDP x max(u, 0.1)`` is the high end of the range); where CodeCarbon only
  guesses the TDP (its per-thread fallback), Cloud Carbon Footprint's per-vCPU watts
  (:mod:`zuinig.meter.coefficients`); with a calibrated ``cpu_power_w``, that figure x ``u``.
* **RAM**: the RAPL DRAM counters' delta where readable (measured). Otherwise
  CodeCarbon's estimate for the machine's total memory (per guessed memory module),
  with CCF's 0.392 W per GB as the other end of the range; or a calibrated ``ram_power_w``.
* **GPU**: the NVML total energy counters' delta, machine-wide.

Configuration stays isolated: no CodeCarbon tracker is built, so ``CODECARBON_*``
variables and ``.codecarbon.config`` files are never read. CodeCarbon's log is kept off
the terminal while it detects; its logger's setup is put back afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from zuinig.atomic import TargetNotWritableError, write_file
from zuinig.config import Settings
from zuinig.factors import CarbonFactor, location_factor_for, market_factor_for
from zuinig.meter.attribution import (
    MachineEnergy,
    RecentReadings,
    Span,
    busy_and_total_s,
    window_busy,
)
from zuinig.meter.base import (
    ATTRIBUTION_MACHINE,
    ATTRIBUTION_RESOURCE_SHARE,
    CPU_METHOD_CPU_LOAD,
    CPU_METHOD_NONE,
    CPU_METHOD_RAPL,
    CPU_METHOD_USER_POWER,
    GPU_METHOD_NONE,
    GPU_METHOD_NVML,
    Method,
)
from zuinig.meter.coefficients import CCF_MEMORY_URL, CCF_MEMORY_W_PER_GB, coefficients_for
from zuinig.meter.process import BYTES_PER_GB
from zuinig.meter.sources import EnergySource, SourceReading

logger = logging.getLogger(__name__)

#: File name of the hardware-probe cache in the user cache directory.
PROBE_CACHE_FILE = "codecarbon-probe.json"
_PROBE_CACHE_FORMAT = 2
_PROBE_CACHE_MAX_ENTRIES = 16

#: Where CodeCarbon looks for RAPL domains (its ``IntelRAPL`` default).
RAPL_DIR = "/sys/class/powercap/intel-rapl"
_POWERCAP_DIR = "/sys/class/powercap"

_ENERGY_MIX_RESOURCE = "data/private_infra/global_energy_mix.json"
_INTENSITY_PER_SOURCE_RESOURCE = "data/private_infra/carbon_intensity_per_source.json"

# Micro-joules and milli-joules in a kWh.
_UJ_PER_KWH = 3.6e12
_MJ_PER_KWH = 3.6e9


# -- carbon intensity -------------------------------------------------------------------


@dataclass(frozen=True)
class GridIntensity:
    """The carbon intensity a meter applies, with where it comes from.

    Attributes:
        g_per_kwh: g CO2e per kWh.
        source: where the figure comes from, in words.
        year: the year it describes (a list's year), when known.
        country_name: the grid's country, in words, when known.
        name: the figure's row in its list or data set, when it has one.
        boundary: ``well-to-wheel``, ``tank-to-wheel``, or ``None`` when the source
            does not say.
    """

    g_per_kwh: float
    source: str
    year: int | None = None
    country_name: str | None = None
    name: str | None = None
    boundary: str | None = None

    @classmethod
    def of(cls, factor: CarbonFactor) -> GridIntensity:
        """A factor from :mod:`zuinig.factors`, as an intensity."""
        return cls(
            g_per_kwh=factor.g_per_kwh,
            source=factor.source,
            year=factor.year,
            name=factor.name,
            boundary=factor.boundary,
        )

    def as_factor(self) -> CarbonFactor:
        """This intensity as a :class:`zuinig.factors.CarbonFactor`."""
        return CarbonFactor(
            g_per_kwh=self.g_per_kwh,
            source=self.source,
            year=self.year,
            name=self.name,
            boundary=self.boundary,
        )


def resolve_intensity(
    settings: Settings, codecarbon_version: str, year: int | None = None
) -> GridIntensity:
    """The location-based intensity: the settings' own figure, the Dutch factor table's
    (for ``NLD``, by ``year``), or CodeCarbon's offline data.

    For the Netherlands the ``location_factor`` row of the CO2emissiefactoren.nl list of
    ``year`` applies (default: the grid mix with its supply chain; see
    :mod:`zuinig.factors`). CodeCarbon's offline figure for a country is the ``carbon_intensity`` of its entry in
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
    table_factor = location_factor_for(
        country, time.gmtime().tm_year if year is None else year, settings.location_factor
    )
    if table_factor is not None:
        return GridIntensity.of(table_factor)
    mix = _codecarbon_json(_ENERGY_MIX_RESOURCE)
    entry = mix.get(country)
    if isinstance(entry, dict) and entry.get("carbon_intensity") is not None:
        data_year = entry.get("year")
        return GridIntensity(
            g_per_kwh=float(entry["carbon_intensity"]),
            source=(
                f"Our World in Data, via CodeCarbon {codecarbon_version} offline data "
                f"({_ENERGY_MIX_RESOURCE.rsplit('/', 1)[-1]})"
            ),
            year=int(data_year) if isinstance(data_year, int | float) else None,
            country_name=entry.get("country_name"),
            name=f"Our World in Data, {entry.get('country_name') or country}",
        )
    per_source = _codecarbon_json(_INTENSITY_PER_SOURCE_RESOURCE)
    return GridIntensity(
        g_per_kwh=float(per_source["world_average"]),
        source=(
            f"world average ({per_source.get('world_average_source', 'source not given')}), "
            f"via CodeCarbon {codecarbon_version}: no offline data for {country}"
        ),
    )


def resolve_market_intensity(
    settings: Settings, year: int, location: GridIntensity
) -> GridIntensity:
    """The market-based intensity (the contract) for a run of ``year``.

    The ``market_factor`` setting (a row of the Dutch table, or a number with its
    ``market_factor_source``); without one, the Dutch row for electricity of unknown
    origin, or where no residual mix is known the location-based ``location`` (see
    :func:`zuinig.factors.market_factor_for`).
    """
    return GridIntensity.of(
        market_factor_for(
            settings.country_iso_code,
            year,
            location.as_factor(),
            settings.market_factor,
            settings.market_factor_source,
        )
    )


def _codecarbon_json(resource: str) -> dict[str, Any]:
    # Read as package data: this does not import codecarbon (its import costs 0.1 s).
    from importlib.util import find_spec

    spec = find_spec("codecarbon")
    if spec is None or not spec.submodule_search_locations:
        raise OSError("codecarbon is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / resource
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"CodeCarbon's {resource} is not a JSON object")
    return data


def codecarbon_version() -> str:
    """CodeCarbon's installed version, read from its metadata (without importing it).

    Raises:
        importlib.metadata.PackageNotFoundError: CodeCarbon is not installed.
    """
    from importlib.metadata import version

    return version("codecarbon")


# -- the hardware probe and its disk cache ----------------------------------------------


@dataclass(frozen=True)
class RaplDomain:
    """A RAPL energy counter CodeCarbon found readable.

    Attributes:
        domain: the domain's name (``package-0``, ``dram``, ``psys``...).
        path: its ``energy_uj`` file.
        max_path: its ``max_energy_range_uj`` file (where the counter wraps).
    """

    domain: str
    path: str
    max_path: str

    @property
    def is_dram(self) -> bool:
        """Whether this is a memory domain (the others count as the CPU's)."""
        return "dram" in self.domain.lower()


@dataclass(frozen=True)
class HardwareProbe:
    """What CodeCarbon's hardware detection found on this machine.

    Attributes:
        cpu_physical_count: CPU sockets, as CodeCarbon counts them (``lscpu``).
        tdp_model: CPU model as CodeCarbon's TDP detection read it (py-cpuinfo);
            ``None`` when CodeCarbon did not need a TDP (RAPL counters were found).
        tdp_w: TDP per socket CodeCarbon found (W): from its table, or its generic
            fallback; ``None`` when it found none.
        tdp_matched: whether the model matched CodeCarbon's TDP table. When false
            the TDP is a generic guess.
        rapl: the RAPL counters CodeCarbon found readable (package and DRAM domains).
        ram_power_w: CodeCarbon's RAM power estimate for the machine's total memory (W).
        memory_total_bytes: the machine's memory (bytes).
        gpu_count: GPUs CodeCarbon found (NVIDIA through NVML, AMD through amdsmi).
    """

    cpu_physical_count: int
    tdp_model: str | None = None
    tdp_w: float | None = None
    tdp_matched: bool = False
    rapl: tuple[RaplDomain, ...] = ()
    ram_power_w: float | None = None
    memory_total_bytes: int = 0
    gpu_count: int = 0

    @property
    def has_tdp(self) -> bool:
        """Whether the TDP detection ran."""
        return self.tdp_model is not None

    @property
    def rapl_cpu(self) -> tuple[RaplDomain, ...]:
        """The RAPL counters that measure the CPU (package or platform domains)."""
        return tuple(d for d in self.rapl if not d.is_dram)

    @property
    def rapl_dram(self) -> tuple[RaplDomain, ...]:
        """The RAPL counters that measure memory."""
        return tuple(d for d in self.rapl if d.is_dram)


def probe_key(codecarbon_version: str) -> dict[str, Any]:
    """What would change the probe's result: CPU, memory, RAPL and GPU presence, versions."""
    try:
        powercap = sorted(entry.name for entry in Path(_POWERCAP_DIR).iterdir())
    except OSError:
        powercap = []
    return {
        "cpu_brand": _cpu_brand(),
        "logical_cpus": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.system(),
        "memory_total_bytes": int(psutil.virtual_memory().total),
        "powercap": powercap,
        "nvidia": Path("/proc/driver/nvidia").exists(),
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
        if not isinstance(entry, dict) or entry.get("key") != json.loads(json.dumps(dict(key))):
            return None
        try:
            tdp_w, ram_w = entry.get("tdp_w"), entry.get("ram_power_w")
            return HardwareProbe(
                cpu_physical_count=int(entry["cpu_physical_count"]),
                tdp_model=None if entry.get("tdp_model") is None else str(entry["tdp_model"]),
                tdp_w=None if tdp_w is None else float(tdp_w),
                tdp_matched=bool(entry.get("tdp_matched", False)),
                rapl=tuple(
                    RaplDomain(str(d["domain"]), str(d["path"]), str(d["max_path"]))
                    for d in entry.get("rapl", [])
                ),
                ram_power_w=None if ram_w is None else float(ram_w),
                memory_total_bytes=int(entry.get("memory_total_bytes", 0)),
                gpu_count=int(entry.get("gpu_count", 0)),
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
            "rapl": [
                {"domain": d.domain, "path": d.path, "max_path": d.max_path} for d in probe.rapl
            ],
            "ram_power_w": probe.ram_power_w,
            "memory_total_bytes": probe.memory_total_bytes,
            "gpu_count": probe.gpu_count,
            "probed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        while len(entries) > _PROBE_CACHE_MAX_ENTRIES:
            oldest = min(entries, key=lambda digest: str(entries[digest].get("probed_at", "")))
            del entries[oldest]
        document = {"format": _PROBE_CACHE_FORMAT, "entries": entries}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(document, indent=1, sort_keys=True)
            write_file(self.path, text, mode=0o600)  # 0o600, as mkstemp made it before
        except (OSError, TargetNotWritableError) as error:
            logger.debug("could not write the hardware probe cache %s: %s", self.path, error)


# -- detection with CodeCarbon's own detectors ------------------------------------------


class _Swallowed(logging.Filter):
    """Drops CodeCarbon's log records while it detects; keeps the exceptions it swallows."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[BaseException] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])
        return False


@contextlib.contextmanager
def quiet_codecarbon() -> Iterator[_Swallowed]:
    """Keep CodeCarbon's log off the terminal meanwhile; put its logger's setup back after.

    CodeCarbon installs a stream handler on the ``codecarbon`` logger when imported; the
    handlers, level and propagation found before are restored, so the user's own
    CodeCarbon setup is untouched.
    """
    codecarbon_logger = logging.getLogger("codecarbon")
    handlers = list(codecarbon_logger.handlers)
    level, propagate = codecarbon_logger.level, codecarbon_logger.propagate
    swallowed = _Swallowed()
    codecarbon_logger.addFilter(swallowed)
    try:
        yield swallowed
    finally:
        codecarbon_logger.removeFilter(swallowed)
        codecarbon_logger.handlers = handlers
        codecarbon_logger.setLevel(level)
        codecarbon_logger.propagate = propagate


def detect_hardware() -> HardwareProbe:
    """Run CodeCarbon's detectors once (slow: ``lscpu``, py-cpuinfo, NVML).

    Raises:
        ImportError: CodeCarbon is missing; any error of its detectors.
    """
    with quiet_codecarbon() as swallowed:
        from codecarbon.core import cpu as cc_cpu
        from codecarbon.core.util import count_physical_cpus
        from codecarbon.external.ram import RAM

        rapl: tuple[RaplDomain, ...] = ()
        if cc_cpu.is_rapl_available():
            reader = cc_cpu.IntelRAPL(rapl_include_dram=True)  # type: ignore[no-untyped-call]
            rapl = tuple(
                RaplDomain(_domain_name(f.path), str(f.path), str(f.max_path))
                for f in getattr(reader, "_rapl_files", [])
            )
        tdp_model: str | None = None
        tdp_w: float | None = None
        matched = False
        if not any(not d.is_dram for d in rapl):
            tdp = cc_cpu.TDP()  # type: ignore[no-untyped-call]
            tdp_model = str(tdp.model) if tdp.model else "unknown"
            tdp_w = None if tdp.tdp is None else float(tdp.tdp)
            # CodeCarbon keeps no trace of whether the model matched its table (its 4 W
            # per thread fallback is not marked generic): ask the table again.
            matched = bool(tdp.model) and bool(tdp._get_cpu_power_from_registry(tdp.model))
        ram_w = float(RAM(tracking_mode="machine").total_power().W)
        if ram_w <= 0:
            # CodeCarbon logs its failure and returns 0 W: a failure, not a figure.
            cause = f": {swallowed.errors[-1]!r}" if swallowed.errors else ""
            raise RuntimeError(f"CodeCarbon's RAM model gave no power{cause}")
        gpus = 0
        from codecarbon.core.gpu import is_gpu_details_available

        if is_gpu_details_available():
            gpus = int(_gpu_devices().device_count)
        return HardwareProbe(
            cpu_physical_count=int(count_physical_cpus() or 1),  # type: ignore[no-untyped-call]
            tdp_model=tdp_model,
            tdp_w=tdp_w,
            tdp_matched=matched,
            rapl=rapl,
            ram_power_w=ram_w,
            memory_total_bytes=int(psutil.virtual_memory().total),
            gpu_count=gpus,
        )


def _domain_name(energy_path: str) -> str:
    try:
        return (Path(energy_path).parent / "name").read_text(encoding="utf-8").strip()
    except OSError:
        return Path(energy_path).parent.name


def _gpu_devices() -> Any:
    from codecarbon.core.gpu import AllGPUDevices

    return AllGPUDevices()


# -- the machine's counters -------------------------------------------------------------


@dataclass(frozen=True)
class _Counters:
    at_s: float
    cpu_times: Any
    rapl_uj: tuple[int, ...]
    gpu_mj: tuple[float, ...] | None
    # The UTC year of the reading: a window's factors are those of the year it began in.
    year: int


def _read_uj(path: str) -> int:
    return int(Path(path).read_bytes())


@dataclass
class _Hardware:
    """One process's view of the machine: the probe, and the GPU handles when there are GPUs."""

    version: str
    probe: HardwareProbe
    max_uj: tuple[int, ...]
    brand: str
    gpus: list[Any] = field(default_factory=list)
    intensities: dict[tuple[Settings, int], tuple[GridIntensity, GridIntensity]] = field(
        default_factory=dict
    )
    # The machine's recent readings, a basis for windows too short for its tick counters.
    recent: RecentReadings = field(default_factory=RecentReadings)

    def intensity(self, settings: Settings, year: int) -> tuple[GridIntensity, GridIntensity]:
        """The location-based and market-based intensities for a window in ``year``."""
        key = (settings, year)
        found = self.intensities.get(key)
        if found is None:
            location = resolve_intensity(settings, self.version, year)
            found = (location, resolve_market_intensity(settings, year, location))
            self.intensities[key] = found
        return found

    def read(self) -> _Counters:
        gpu_mj: tuple[float, ...] | None = None
        if self.gpus:
            # NVML's total energy counter (mJ since the driver loaded), through CodeCarbon's
            # device objects. A GPU that cannot say leaves the GPU unread for this window
            # (the method says so) rather than failing the whole measurement.
            try:
                values = [device._get_total_energy_consumption() for device in self.gpus]
                if all(v is not None for v in values):
                    gpu_mj = tuple(float(v) for v in values)
            except Exception as error:
                logger.debug("GPU energy counters could not be read: %r", error)
        counters = _Counters(
            at_s=time.perf_counter(),
            cpu_times=psutil.cpu_times(),
            rapl_uj=tuple(_read_uj(d.path) for d in self.probe.rapl),
            gpu_mj=gpu_mj,
            year=time.gmtime().tm_year,
        )
        self.recent.remember(counters.at_s, counters.cpu_times)
        return counters

    def busy(self, begin: _Counters, end: _Counters) -> tuple[float, float, float]:
        """The machine's busy CPU seconds, busy fraction and their basis (s) over a window.

        A short window's figures are the machine's recent rate (see
        :func:`~zuinig.meter.attribution.window_busy`), read since a kept reading at
        least a second before ``end`` (every :meth:`read` is kept for that).
        """
        duration_s = max(end.at_s - begin.at_s, 0.0)
        busy_s, total_s = busy_and_total_s(begin.cpu_times, end.cpu_times)
        basis = self.recent.basis(end.at_s)
        basis_s, basis_busy_s, basis_total_s = duration_s, busy_s, total_s
        if basis is not None and basis[0] < begin.at_s:
            basis_s = end.at_s - basis[0]
            basis_busy_s, basis_total_s = busy_and_total_s(basis[1], end.cpu_times)
        return window_busy(
            duration_s=duration_s,
            busy_s=busy_s,
            total_s=total_s,
            basis_s=basis_s,
            basis_busy_s=basis_busy_s,
            basis_total_s=basis_total_s,
        )


_hardware_lock = threading.Lock()
_hardware: dict[Path, _Hardware] = {}


def _load_hardware(cache: ProbeCache) -> _Hardware:
    with _hardware_lock:
        found = _hardware.get(cache.path)
        if found is not None:
            return found
        version = codecarbon_version()
        key = probe_key(version)
        probe = cache.load(key)
        if probe is None:
            probe = detect_hardware()
            cache.store(key, probe)
        max_uj = []
        for domain in probe.rapl:
            try:
                max_uj.append(_read_uj(domain.max_path))
            except (OSError, ValueError):
                max_uj.append(0)  # wrap cannot be corrected; a negative delta reads as 0
        gpus: list[Any] = []
        if probe.gpu_count:
            with quiet_codecarbon():
                gpus = list(_gpu_devices().devices)
        found = _Hardware(
            version=version,
            probe=probe,
            max_uj=tuple(max_uj),
            brand=str(key["cpu_brand"]),
            gpus=gpus,
        )
        _hardware[cache.path] = found
        return found


def _delta_uj(before: int, after: int, max_uj: int) -> int:
    if after >= before:
        return after - before
    return after + max_uj - before if max_uj > 0 else 0  # the counter wrapped


# -- the source -------------------------------------------------------------------------


class CodeCarbonSource(EnergySource):
    """The machine's energy from CodeCarbon's detection and the machine's counters.

    Args:
        settings: tracking mode, PUE, calibration and carbon intensity.
        cache_dir: where the hardware probe is cached; the user cache directory by default.
    """

    def __init__(self, settings: Settings, *, cache_dir: Path | None = None) -> None:
        self.settings = settings
        self._cache = ProbeCache(cache_dir)
        # The method depends only on the hardware, the settings and whether a GPU was
        # read: built once per source, not per window.
        self._methods: dict[tuple[int, bool, int], Method] = {}

    def hardware(self) -> _Hardware:
        """This process's view of the machine, detected on first use.

        Raises:
            Exception: CodeCarbon is missing or its detection failed.
        """
        return _load_hardware(self._cache)

    def prepare(self) -> None:
        """Detect the hardware now, if this process has not yet (may raise)."""
        self.hardware()

    def open(self) -> object:
        """Read the machine's counters (after detection, on the first call).

        Raises:
            RuntimeError: CodeCarbon could not be loaded or could not detect the hardware.
        """
        try:
            hardware = self.hardware()
        except Exception as error:
            text = str(error).strip()
            cause = f"{type(error).__name__}: {text}" if text else type(error).__name__
            raise RuntimeError(
                f"CodeCarbon could not be loaded ({cause}); install codecarbon>=3 "
                "or use the null meter"
            ) from error
        return hardware.read()

    def close(self, opened: object) -> SourceReading:
        """The machine's energy since ``opened``, with its method."""
        hardware = self.hardware()
        end = hardware.read()
        assert isinstance(opened, _Counters)
        return self._reading(hardware, opened, end)

    def method(self) -> Method:
        """The method a window would use now (hardware detection included), no measuring."""
        try:
            hardware = self.hardware()
        except Exception:
            return Method(meter="codecarbon (not loaded)", cpu_method=CPU_METHOD_NONE)
        return self._method(hardware, gpu_read=bool(hardware.gpus), year=time.gmtime().tm_year)

    def _reading(self, hardware: _Hardware, begin: _Counters, end: _Counters) -> SourceReading:
        probe = hardware.probe
        settings = self.settings
        duration_s = max(end.at_s - begin.at_s, 0.0)
        busy_s, u, basis_s = hardware.busy(begin, end)
        deltas_kwh = [
            _delta_uj(b, a, m) / _UJ_PER_KWH
            for b, a, m in zip(begin.rapl_uj, end.rapl_uj, hardware.max_uj, strict=True)
        ]
        cpu_rapl = [kwh for kwh, d in zip(deltas_kwh, probe.rapl, strict=True) if not d.is_dram]
        dram_rapl = [kwh for kwh, d in zip(deltas_kwh, probe.rapl, strict=True) if d.is_dram]
        hours = duration_s / 3600.0

        if cpu_rapl:
            cpu = Span.exact(sum(cpu_rapl))
        elif settings.cpu_power_w is not None:
            cpu = Span.exact(settings.cpu_power_w * u * hours / 1000.0)
        elif probe.tdp_matched and probe.tdp_w is not None:
            tdp = probe.tdp_w * probe.cpu_physical_count
            cubic = tdp * (0.1 + 0.9 * u**3) * hours / 1000.0
            linear = tdp * max(u, 0.1) * hours / 1000.0
            cpu = Span(cubic, cubic, linear)
        else:
            coefficients = coefficients_for(hardware.brand)
            vcpus = os.cpu_count() or 1
            cpu = Span(
                coefficients.central.power_w(vcpus, u) * hours / 1000.0,
                coefficients.low.power_w(vcpus, u) * hours / 1000.0,
                coefficients.high.power_w(vcpus, u) * hours / 1000.0,
            )

        memory_gb = (probe.memory_total_bytes or psutil.virtual_memory().total) / BYTES_PER_GB
        if dram_rapl:
            ram = Span.exact(sum(dram_rapl))
        elif settings.ram_power_w is not None:
            ram = Span.exact(settings.ram_power_w * hours / 1000.0)
        else:
            ccf_w = CCF_MEMORY_W_PER_GB * memory_gb
            estimate_w = probe.ram_power_w if probe.ram_power_w is not None else ccf_w
            ram = Span(
                estimate_w * hours / 1000.0,
                min(ccf_w, estimate_w) * hours / 1000.0,
                max(ccf_w, estimate_w) * hours / 1000.0,
            )

        gpu: Span | None = None
        if begin.gpu_mj is not None and end.gpu_mj is not None:
            gpu = Span.exact(
                sum(max(a - b, 0.0) for b, a in zip(begin.gpu_mj, end.gpu_mj, strict=True))
                / _MJ_PER_KWH
            )
        machine = MachineEnergy(
            cpu_kwh=cpu,
            ram_kwh=ram,
            gpu_kwh=gpu,
            busy_cpu_s=busy_s,
            memory_total_gb=memory_gb,
            duration_s=duration_s,
            busy_basis_s=basis_s,
        )
        return SourceReading(
            machine=machine,
            method=self._method(hardware, gpu_read=gpu is not None, year=begin.year),
        )

    def _method(self, hardware: _Hardware, *, gpu_read: bool, year: int) -> Method:
        key = (id(hardware), gpu_read, year)
        method = self._methods.get(key)
        if method is None:
            method = self._methods[key] = self._build_method(hardware, gpu_read=gpu_read, year=year)
        return method

    def _build_method(self, hardware: _Hardware, *, gpu_read: bool, year: int) -> Method:
        probe = hardware.probe
        settings = self.settings
        intensity, market = hardware.intensity(settings, year)
        memory_gb = probe.memory_total_bytes / BYTES_PER_GB
        coefficients: str | None = None
        tdp_w: float | None = None
        generic = False
        if probe.rapl_cpu:
            cpu_method = CPU_METHOD_RAPL
        elif settings.cpu_power_w is not None:
            cpu_method = CPU_METHOD_USER_POWER
            tdp_w = float(settings.cpu_power_w)
            coefficients = (
                f"calibrated CPU power from settings ({settings.cpu_power_w:g} W at full "
                "load) x the machine's busy fraction"
            )
        else:
            cpu_method = CPU_METHOD_CPU_LOAD
            tdp_w = None if probe.tdp_w is None else probe.tdp_w * probe.cpu_physical_count
            generic = not probe.tdp_matched
            if generic:
                coefficients = coefficients_for(hardware.brand).describe()
            else:
                coefficients = (
                    f"CodeCarbon TDP table ({probe.tdp_model}), CodeCarbon's machine model "
                    "TDP x (0.1 + 0.9 u^3); its linear TDP x max(u, 0.1) is the high end"
                )
        if probe.rapl_dram:
            ram_model = "measured with RAPL DRAM counters (machine-wide)"
            ram_power_w = None
        elif settings.ram_power_w is not None:
            ram_model = "constant from settings (ram_power_w), for the machine"
            ram_power_w = float(settings.ram_power_w)
        else:
            ram_power_w = probe.ram_power_w
            ram_model = (
                f"CodeCarbon estimate for the machine's {memory_gb:.1f} GB (a watt figure per "
                f"guessed memory module); range to CCF's {CCF_MEMORY_W_PER_GB} W/GB "
                f"({CCF_MEMORY_URL})"
            )
        attribution = (
            ATTRIBUTION_MACHINE
            if settings.tracking_mode == "machine"
            else ATTRIBUTION_RESOURCE_SHARE
        )
        return Method(
            meter=f"codecarbon {hardware.version}",
            cpu_method=cpu_method,
            cpu_model=hardware.brand if probe.tdp_model is None else probe.tdp_model,
            cpu_tdp_w=tdp_w,
            cpu_tdp_is_generic=generic,
            cpu_count=os.cpu_count(),
            ram_model=ram_model,
            ram_power_w=ram_power_w,
            tracking_mode=settings.tracking_mode,
            pue=settings.pue,
            intensity_g_per_kwh=intensity.g_per_kwh,
            intensity_source=intensity.source,
            intensity_year=intensity.year,
            intensity_name=intensity.name,
            intensity_boundary=intensity.boundary,
            market_intensity_g_per_kwh=market.g_per_kwh,
            market_intensity_source=market.source,
            market_intensity_year=market.year,
            market_intensity_name=market.name,
            market_intensity_boundary=market.boundary,
            country_iso_code=settings.country_iso_code,
            gpu_method=GPU_METHOD_NVML if gpu_read else GPU_METHOD_NONE,
            attribution=attribution,
            cpu_coefficients=coefficients,
        )


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork() stays held forever in the child.
    global _hardware_lock
    _hardware_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
