"""``zuinig doctor``: how energy will be measured on this machine, and how to calibrate it.

:func:`diagnose` looks without measuring: it asks the meter for the method it
would use, checks the CPU's RAPL energy counters and the ledger, and says
where every setting came from. It returns a :class:`Diagnosis`; the CLI formats it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from zuinig.atomic import STALE_AFTER_S, TEMPORARY_PATTERN
from zuinig.config import Settings, setting_names
from zuinig.errors import LedgerError
from zuinig.factors import DEFAULT_LOCATION_FACTOR
from zuinig.ledger import spool
from zuinig.ledger.spool import QuarantinedFile
from zuinig.meter.base import (
    ATTRIBUTION_MACHINE,
    ATTRIBUTION_RULES,
    CPU_METHOD_NONE,
    CPU_METHOD_RAPL,
    CPU_METHOD_USER_POWER,
    Meter,
    Method,
)
from zuinig.meter.coefficients import CCF_MEMORY_W_PER_GB, CCF_SOURCE, coefficients_for
from zuinig.meter.process import BYTES_PER_GB
from zuinig.units import plain_number

__all__ = [
    "CALIBRATION_KEYS",
    "Diagnosis",
    "LedgerStatus",
    "LeftoverTemporaries",
    "RaplStatus",
    "SettingValue",
    "TemporaryFiles",
    "diagnose",
    "leftover_temporaries",
    "rapl_status",
    "temporary_files",
    "written_folders",
]

#: The settings that calibrate the figures, with what each one means.
CALIBRATION_KEYS: tuple[tuple[str, str], ...] = (
    ("cpu_power_w", "CPU power at full load (W): a wall-socket meter reading or the vendor's TDP"),
    ("ram_power_w", "RAM power (W): about 5 W per DIMM on x86 (`sudo lshw -C memory -short`)"),
    ("pue", "power usage effectiveness of the room: 1.0 for an office, 1.2-1.7 for a data centre"),
    ("intensity_g_per_kwh", "carbon intensity of your electricity (g CO2e per kWh)"),
    ("intensity_source", "where that intensity comes from (required with intensity_g_per_kwh)"),
    (
        "market_factor",
        "your electricity contract: a row of the factor table (grey, unknown, green-nl-gvo) "
        "or your supplier's g CO2e per kWh",
    ),
    ("market_factor_source", "where a numeric market_factor comes from (required with one)"),
)

CALIBRATION_EXAMPLE: tuple[str, ...] = (
    "cpu_power_w = 65.0",
    "ram_power_w = 10.0",
    "pue = 1.4",
    "intensity_g_per_kwh = 300.0",
    'intensity_source = "supplier fuel-mix disclosure 2025"',
    "market_factor = 0.0",
    'market_factor_source = "supplier fuel-mix disclosure 2025: Dutch wind with GvO"',
)

_RAPL_ROOT = Path("/sys/class/powercap")

#: How long ``zuinig doctor`` waits for the ledger's database to answer (s).
LEDGER_TIMEOUT_S = 1.5


@dataclass(frozen=True)
class RaplStatus:
    """Whether the CPU's RAPL energy counters can be read here.

    Attributes:
        readable: the counters can be read by this user.
        detail: what was found, and what to do when they cannot be read.
    """

    readable: bool
    detail: str


@dataclass(frozen=True)
class LedgerStatus:
    """Where runs go, and whether that works.

    Attributes:
        url: the ledger URL with any password masked.
        reachable: the ledger can be opened and read.
        run_count: runs it holds, when reachable.
        problem: why it cannot be used, when it cannot.
        quarantined: spooled run files (of any ledger) that could not be delivered
            and were set aside, each with why (:func:`zuinig.ledger.spool.quarantined`).
    """

    url: str
    reachable: bool
    run_count: int | None = None
    problem: str | None = None
    quarantined: tuple[QuarantinedFile, ...] = ()


@dataclass(frozen=True)
class SettingValue:
    """One setting, its value and where that value came from (default, a file, env, argument)."""

    name: str
    value: Any
    origin: str


@dataclass(frozen=True)
class LeftoverTemporaries:
    """Temporary files that interrupted writes left in one folder (see :mod:`zuinig.atomic`).

    Attributes:
        folder: the folder.
        count: how many there are.
        size_bytes: their total size (bytes).
        stale_count: how many are older than :data:`zuinig.atomic.STALE_AFTER_S`: the next
            write into the folder removes those; a younger one may be a live write.
        what_to_do: what the user can do about them, in words.
    """

    folder: str
    count: int
    size_bytes: int
    stale_count: int
    what_to_do: str


@dataclass(frozen=True)
class TemporaryFiles:
    """The temporary files of interrupted writes in the folders zuinig writes to.

    Attributes:
        looked_in: the folders looked in (:func:`written_folders`), not the whole disk.
        found: the folders that hold any, each with count, size and what to do.
    """

    looked_in: tuple[str, ...] = ()
    found: tuple[LeftoverTemporaries, ...] = ()


@dataclass(frozen=True)
class Diagnosis:
    """Everything ``zuinig doctor`` reports.

    Attributes:
        method: the method the meter would use now.
        rapl: whether RAPL counters can be read.
        tdp_source: where the CPU power figure comes from, in words.
        attribution: how the machine's energy is shared out among the jobs on it, in words.
        ram_source: where the RAM power figure comes from, in words.
        intensity_origin: where the location-based carbon intensity comes from, in words.
        market_origin: where the market-based carbon intensity comes from, in words.
        pue_origin: where the PUE comes from.
        estimated: whether the figures will be estimates rather than readings.
        ledger: the ledger's location and state.
        settings: every setting with its value and origin.
        warnings: what the user should know, each saying what to do.
        calibration: how to calibrate: the settings keys and an example file.
        temporary_files: leftovers of interrupted writes in the folders zuinig writes to.
        ram_basis: what the RAM power stands for (the machine's whole memory), in words.
        estimate_range: the low-high range an estimated figure carries here, in words.
    """

    method: Method
    rapl: RaplStatus
    tdp_source: str
    attribution: str
    ram_source: str
    intensity_origin: str
    pue_origin: str
    estimated: bool
    ledger: LedgerStatus
    settings: tuple[SettingValue, ...]
    warnings: tuple[str, ...]
    calibration: tuple[str, ...]
    temporary_files: TemporaryFiles = TemporaryFiles()
    ram_basis: str = ""
    estimate_range: str = ""
    market_origin: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        result = dataclasses.asdict(self)
        result["method"]["is_measured"] = self.method.is_measured
        result["method"]["describe"] = self.method.describe()
        result["settings"] = {
            item.name: {"value": item.value, "origin": item.origin} for item in self.settings
        }
        result["calibration_keys"] = dict(CALIBRATION_KEYS)
        method = self.method
        result["factors"] = {
            "location_based": {
                "g_per_kwh": method.intensity_g_per_kwh,
                "source": method.intensity_source,
                "year": method.intensity_year,
                "name": method.intensity_name,
                "boundary": method.intensity_boundary,
                "from": self.intensity_origin,
            },
            "market_based": {
                "g_per_kwh": method.market_intensity_g_per_kwh,
                "source": method.market_intensity_source,
                "year": method.market_intensity_year,
                "name": method.market_intensity_name,
                "boundary": method.market_intensity_boundary,
                "from": self.market_origin,
            },
        }
        result["ledger"]["quarantined"] = [
            {"path": str(item.path), "reason": item.reason} for item in self.ledger.quarantined
        ]
        return result


def diagnose(
    settings: Settings,
    *,
    ledger_url: str | None = None,
    meter: Meter | None = None,
) -> Diagnosis:
    """Look at how runs would be measured and stored here, without measuring.

    Args:
        settings: the settings in force.
        ledger_url: the ledger to check; the settings' ledger (or the default) when ``None``.
        meter: the meter to ask; the meter runs would use when ``None``.

    Raises:
        LedgerURLError: the ledger URL is malformed (the user's input).
    """
    from zuinig.ledger.urls import configured_ledger_url

    if meter is None:
        from zuinig.meter import default_meter

        meter = default_meter(settings)
    method = meter.method()
    rapl = rapl_status()
    url = ledger_url or configured_ledger_url(settings.ledger)
    ledger = dataclasses.replace(ledger_status(url), quarantined=tuple(spool.quarantined()))
    estimated = not method.is_measured
    memory_gb = psutil.virtual_memory().total / BYTES_PER_GB
    return Diagnosis(
        method=method,
        rapl=rapl,
        tdp_source=_tdp_source(method, settings),
        attribution=_attribution(method),
        ram_source=_ram_source(method, settings),
        intensity_origin=_intensity_origin(method, settings),
        market_origin=_market_origin(settings),
        pue_origin=_origin(settings, "pue"),
        estimated=estimated,
        ledger=ledger,
        settings=_settings_values(settings),
        warnings=tuple(_warnings(method, rapl, ledger, settings)),
        calibration=_calibration(),
        temporary_files=temporary_files(written_folders(url)),
        ram_basis=_ram_basis(method, settings, memory_gb),
        estimate_range=_estimate_range(method, settings, memory_gb),
    )


def rapl_status(root: Path = _RAPL_ROOT) -> RaplStatus:
    """Whether the RAPL energy counters (Linux powercap) can be read by this user."""
    if not sys.platform.startswith("linux"):
        return RaplStatus(False, f"not available on {sys.platform} (RAPL is read on Linux)")
    counters = sorted(root.glob("intel-rapl:*/energy_uj"))
    if not counters:
        return RaplStatus(
            False,
            f"not present: no {root}/intel-rapl:*/energy_uj (usual in virtual machines "
            "and containers, and on CPUs without RAPL)",
        )
    first = counters[0]
    try:
        first.read_text()
    except OSError:
        return RaplStatus(
            False,
            f"present but not readable ({first}); since Linux 5.10 only root may read it: "
            "sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj (until reboot)",
        )
    return RaplStatus(True, f"readable ({first})")


def ledger_status(url: str, *, timeout_s: float = LEDGER_TIMEOUT_S) -> LedgerStatus:
    """Open the ledger at ``url`` and count its runs; a SQLite file not yet made is not created.

    A database that does not answer within ``timeout_s`` is reported as unreachable
    (the doctor must stay quick even when a server drops packets).

    Raises:
        LedgerURLError: the URL is malformed.
    """
    from zuinig.ledger import display_url

    shown = display_url(url)
    from zuinig.ledger.store import missing_sqlite_file

    if missing_sqlite_file(url) is not None:
        return LedgerStatus(shown, True, 0, None)
    outcome: list[int | BaseException] = []
    worker = threading.Thread(
        target=_count_runs, args=(url, outcome), name="zuinig-doctor-ledger", daemon=True
    )
    worker.start()
    worker.join(timeout_s)
    if not outcome:
        return LedgerStatus(shown, False, None, f"no answer within {timeout_s:g} s")
    result = outcome[0]
    if isinstance(result, LedgerError):
        if result.bad_input:
            raise result
        return LedgerStatus(shown, False, None, str(result))
    if isinstance(result, BaseException):
        raise result
    return LedgerStatus(shown, True, result, None)


def _count_runs(url: str, outcome: list[int | BaseException]) -> None:
    from zuinig.ledger import Ledger

    try:
        with Ledger.open(url) as ledger:
            outcome.append(ledger.count_runs())
    except BaseException as error:  # handed to the caller's thread
        outcome.append(error)


def _origin(settings: Settings, name: str) -> str:
    return settings.origins.get(name, "default")


def _tdp_source(method: Method, settings: Settings) -> str:
    if method.cpu_method == CPU_METHOD_RAPL:
        return "not needed: CPU energy is read from the RAPL counters"
    if method.cpu_method == CPU_METHOD_NONE:
        return "nothing is measured"
    if settings.cpu_power_w is not None or method.cpu_method == CPU_METHOD_USER_POWER:
        return f"your setting cpu_power_w ({_origin(settings, 'cpu_power_w')})"
    if method.cpu_tdp_w is None:
        return "unknown"
    if method.cpu_tdp_is_generic:
        threads = f" x {method.cpu_count} threads" if method.cpu_count else ""
        published = (
            "; not used: zuinig uses the published watts shown under CPU watts from"
            if method.cpu_coefficients
            else ""
        )
        return (
            f"a generic guess: CodeCarbon's 4 W per CPU thread{threads}, because its table "
            f"of CPU models does not list this CPU{published}"
        )
    return "CodeCarbon's table of CPU models (its cpu_power.csv)"


def _attribution(method: Method) -> str:
    rule = ATTRIBUTION_RULES.get(method.attribution or "")
    if method.cpu_method == CPU_METHOD_NONE or rule is None:
        return "nothing is measured" if method.cpu_method == CPU_METHOD_NONE else "not stated"
    return f"{method.attribution}: {rule}"


def _ram_basis(method: Method, settings: Settings, memory_gb: float) -> str:
    """What the RAM power stands for: the machine's whole memory, shared out by use."""
    if method.cpu_method == CPU_METHOD_NONE:
        return "nothing is measured"
    memory = f"the machine's {memory_gb:.1f} GB of memory"
    if method.ram_power_w is None:
        return f"the RAPL DRAM counters' reading for {memory}"
    per_gb = _watts(method.ram_power_w / memory_gb) if memory_gb > 0 else "?"
    whose = "your setting ram_power_w" if settings.ram_power_w is not None else "CodeCarbon"
    return f"{_watts(method.ram_power_w)} W ({whose}) for {memory}, {per_gb} W per GB"


def _estimate_range(method: Method, settings: Settings, memory_gb: float) -> str:
    """The low-high range an estimate carries on this machine, part by part."""
    if method.cpu_method == CPU_METHOD_NONE:
        return "nothing is measured"
    parts = [_cpu_range(method, settings)]
    if method.ram_power_w is None:
        parts.append("RAM none: measured figures' range is their reading")
    elif settings.ram_power_w is not None:
        parts.append("RAM none: your ram_power_w is taken as exact")
    else:
        ccf_w = CCF_MEMORY_W_PER_GB * memory_gb
        low, high = sorted((ccf_w, method.ram_power_w))
        parts.append(
            f"RAM between {_watts(low)} and {_watts(high)} W for the machine (CCF's "
            f"{CCF_MEMORY_W_PER_GB} W per GB x {memory_gb:.1f} GB, and CodeCarbon's estimate)"
        )
    return "; ".join(parts)


def _cpu_range(method: Method, settings: Settings) -> str:
    if method.is_measured:
        return "CPU none: measured figures' range is their reading"
    if settings.cpu_power_w is not None or method.cpu_method == CPU_METHOD_USER_POWER:
        return "CPU none: your cpu_power_w is taken as exact"
    if method.cpu_tdp_is_generic and (method.cpu_coefficients or "").startswith(CCF_SOURCE):
        # The same lookup the meter made from the same brand string.
        figures = coefficients_for(method.cpu_model)
        vcpus = method.cpu_count or os.cpu_count() or 1
        return (
            f"CPU between {_watts(figures.low.min_w * vcpus)} and "
            f"{_watts(figures.high.min_w * vcpus)} W idle, between "
            f"{_watts(figures.low.max_w * vcpus)} and {_watts(figures.high.max_w * vcpus)} W "
            f"at full load, for {vcpus} vCPUs (CCF's lowest and highest published watts for "
            f"{figures.label})"
        )
    if method.cpu_tdp_w is not None:
        tdp = _watts(method.cpu_tdp_w)
        return (
            f"CPU from CodeCarbon's curve {tdp} W x (0.1 + 0.9 u^3) up to its linear "
            f"{tdp} W x max(u, 0.1), u the machine's busy fraction"
        )
    return "CPU range unknown"


def _watts(value: float) -> str:
    """Three significant digits, never in exponent notation."""
    return plain_number(float(f"{value:.3g}"))


def _ram_source(method: Method, settings: Settings) -> str:
    if settings.ram_power_w is not None:
        return f"your setting ram_power_w ({_origin(settings, 'ram_power_w')})"
    if method.cpu_method == CPU_METHOD_NONE:
        return "nothing is measured"
    if method.attribution == ATTRIBUTION_MACHINE:
        return (
            "CodeCarbon's estimate for the machine's memory (a watt figure per guessed "
            "memory module), charged whole to every run (tracking_mode = machine)"
        )
    return (
        "CodeCarbon's estimate for the machine's memory (a watt figure per guessed memory "
        "module), shared out by the memory each run held (GB-seconds); CCF's 0.392 W per "
        "GB is the other end of its range"
    )


def _intensity_origin(method: Method, settings: Settings) -> str:
    if settings.intensity_g_per_kwh is not None:
        return f"your setting intensity_g_per_kwh ({_origin(settings, 'intensity_g_per_kwh')})"
    country = method.country_iso_code or settings.country_iso_code
    if method.intensity_source and method.intensity_source.startswith("CO2emissiefactoren.nl"):
        choice = settings.location_factor or f"{DEFAULT_LOCATION_FACTOR} (the default)"
        return (
            f"zuinig's CO2emissiefactoren.nl table, the list of each run's year "
            f"(location_factor = {choice}, {_origin(settings, 'location_factor')})"
        )
    return f"CodeCarbon's offline yearly average for {country} (location-based)"


def _market_origin(settings: Settings) -> str:
    if settings.market_factor is not None:
        return (
            f"your setting market_factor = {settings.market_factor} "
            f"({_origin(settings, 'market_factor')})"
        )
    return (
        "no contract set (market_factor): the Dutch row for electricity of unknown origin, "
        "as the GHG Protocol asks without contractual instruments, or the location-based "
        "factor where no such row is known; set market_factor to your contract"
    )


def _settings_values(settings: Settings) -> tuple[SettingValue, ...]:
    from zuinig.ledger import display_url

    values = []
    for name in setting_names():
        value = getattr(settings, name)
        if name == "ledger" and isinstance(value, str):
            value = display_url(value)  # never show a password
        values.append(SettingValue(name, value, _origin(settings, name)))
    return tuple(values)


def _warnings(
    method: Method, rapl: RaplStatus, ledger: LedgerStatus, settings: Settings
) -> list[str]:
    warnings: list[str] = []
    if method.cpu_method == CPU_METHOD_NONE:
        warnings.append(
            f"nothing will be measured: the meter is {method.meter}; runs are recorded "
            "without energy figures (is codecarbon installed?)"
        )
    elif not method.is_measured:
        tdp = (
            f"{plain_number(method.cpu_tdp_w)} W"
            if method.cpu_tdp_w is not None
            else "an unknown power"
        )
        ram = (
            f"{plain_number(method.ram_power_w)} W"
            if method.ram_power_w is not None
            else "a constant"
        )
        cpu = (
            "published per-vCPU watts (Cloud Carbon Footprint)"
            if method.cpu_tdp_is_generic and method.cpu_coefficients
            else tdp
        )
        warnings.append(
            f"figures on this machine are ESTIMATES, not readings: CPU energy is modelled "
            f"from the machine's CPU load and {cpu}, RAM from {ram} for the machine; every "
            "figure carries a low-high range. Compare runs on this machine with each other; "
            "calibrate (below) before publishing absolute figures"
        )
    if method.cpu_tdp_is_generic and settings.cpu_power_w is None and not method.is_measured:
        warnings.append(
            "CodeCarbon does not know this CPU model (its TDP is a generic guess); zuinig "
            "uses published per-vCPU watts with a wide range instead; set cpu_power_w to "
            "calibrate"
        )
    if rapl.readable and not method.is_measured and method.cpu_method != CPU_METHOD_NONE:
        warnings.append(
            "RAPL counters are readable but the meter does not use them; "
            "check that codecarbon can read /sys/class/powercap"
        )
    if settings.tracking_mode == "machine":
        warnings.append(
            "tracking_mode is machine: every run is charged the whole machine's load, "
            "including other programs; use process to count only the measured job"
        )
    if not ledger.reachable:
        warnings.append(
            f"the ledger cannot be used ({ledger.problem}); runs are kept locally and "
            "delivered when it can"
        )
    if ledger.quarantined:
        from zuinig.ledger_text import format_quarantined

        warnings.append(format_quarantined(ledger.quarantined))
    return warnings


def _calibration() -> tuple[str, ...]:
    width = max(len(key) for key, _ in CALIBRATION_KEYS)
    lines = [
        "Set these keys in zuinig.toml (or under [tool.zuinig] in pyproject.toml),",
        "or as environment variables ZUINIG_<KEY> (ZUINIG_PUE=1.4):",
        *(f"  {key.ljust(width)}  {meaning}" for key, meaning in CALIBRATION_KEYS),
        "Example zuinig.toml (replace the numbers with your own):",
        *(f"  {line}" for line in CALIBRATION_EXAMPLE),
        "Then run `zuinig doctor` again to see them in use.",
    ]
    return tuple(lines)


# -- temporary files of interrupted writes ---------------------------------------------------


def written_folders(ledger_url: str) -> list[Path]:
    """The folders zuinig itself writes to, where interrupted writes leave temporary files.

    The SQLite ledger's folder, the spool (and each ledger's folder in it), and the
    current folder (where ``report``, ``export`` and ``convert`` write by default).
    Folders a user named with ``--out`` elsewhere are not known afterwards; a look
    over the whole disk would be too slow for a doctor. Folders that do not exist are
    left out; each folder is listed once.
    """
    from zuinig.ledger.spool import spool_root

    candidates: list[Path] = []
    ledger_file = _sqlite_file(ledger_url)
    if ledger_file is not None:
        candidates.append(ledger_file.parent)
    root = spool_root()
    candidates.append(root)
    with contextlib.suppress(OSError):  # no spool yet
        candidates += sorted(entry for entry in root.iterdir() if entry.is_dir())
    candidates.append(Path.cwd())
    folders: list[Path] = []
    for folder in candidates:
        resolved = Path(os.path.realpath(folder))
        if resolved.is_dir() and resolved not in folders:
            folders.append(resolved)
    return folders


def temporary_files(folders: Iterable[Path]) -> TemporaryFiles:
    """:class:`TemporaryFiles` for ``folders``."""
    folders = list(folders)
    return TemporaryFiles(
        looked_in=tuple(str(folder) for folder in folders),
        found=tuple(leftover_temporaries(folders)),
    )


def leftover_temporaries(
    folders: Iterable[Path], *, now: float | None = None
) -> list[LeftoverTemporaries]:
    """The temporary files (:data:`zuinig.atomic.TEMPORARY_PATTERN`) in each of ``folders``.

    Only looks: nothing is removed or locked (that is
    :func:`zuinig.atomic.sweep_stale_temporaries`, at the next write into a folder).
    A folder or file that cannot be looked at is left out.

    Args:
        folders: where to look (not recursively).
        now: the time to judge ages by (s since the epoch); the current time by default.

    Returns:
        One entry per folder that holds any, in the order given.
    """
    now = time.time() if now is None else now
    found: list[LeftoverTemporaries] = []
    for folder in folders:
        count = size_bytes = stale_count = 0
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if not TEMPORARY_PATTERN.fullmatch(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            count += 1
            size_bytes += info.st_size
            stale_count += now - info.st_mtime >= STALE_AFTER_S
        if count:
            found.append(
                LeftoverTemporaries(
                    str(folder), count, size_bytes, stale_count, _temporaries_advice(folder)
                )
            )
    return found


def _temporaries_advice(folder: Path) -> str:
    return (
        f"the next convert, export or report into {folder} removes those older than "
        f"{STALE_AFTER_S / 60:.0f} minutes; or delete them (rm {folder}/.*.zuinig-*.tmp) "
        "when no zuinig is running"
    )


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ledger at ``url``; ``None`` for other backends and odd URLs."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).absolute()
