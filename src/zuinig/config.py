"""Settings: one typed object, read from defaults < file < environment < arguments.

The file is ``zuinig.toml`` (top-level keys) or the ``[tool.zuinig]`` table of
``pyproject.toml``, found in the working directory or the nearest parent that
has one; ``ZUINIG_CONFIG`` names a file explicitly. Environment variables are
the upper-cased keys with a ``ZUINIG_`` prefix (``ZUINIG_PUE=1.4``). Unknown
keys and values of the wrong type are errors, never silently ignored: a typo in
``pue`` would otherwise change every published figure without anyone noticing.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from zuinig import factors
from zuinig.errors import ConfigError

#: Country whose grid mix CodeCarbon's offline data gives the carbon intensity.
#: The team is in the Netherlands (Provincie Utrecht).
DEFAULT_COUNTRY_ISO_CODE = "NLD"

#: Power usage effectiveness for a machine not in a data centre: CodeCarbon's default.
#: Teams on a data centre set theirs (Green Algorithms uses 1.67 as a world average).
DEFAULT_PUE = 1.0

#: Energy of keeping one terabyte on SSD for one hour (Wh per TB-hour): Cloud Carbon
#: Footprint's storage coefficient (its HDD figure is 0.65). SSD is the default because
#: the team's servers and laptops store on SSD; set 0.65 for data kept on spinning disks.
DEFAULT_STORAGE_WH_PER_TB_HOUR = 1.2

#: Copies of each stored byte. 1 counts only the copy the meter sees, so storage savings
#: are a lower bound; Cloud Carbon Footprint multiplies by the cloud service's replication
#: factor (for example 3 for object storage), which zuinig cannot observe from a file path.
DEFAULT_STORAGE_REPLICATION = 1.0

#: The numbers each setting accepts: ``(lowest, highest, lowest allowed itself)``. NaN,
#: infinity and anything outside are refused: one absurd factor (``pue = 1e308``) would
#: turn every published figure into infinity or nothing. The bounds are generous, so
#: that only typos and nonsense are refused:
#: - ``pue`` 1.0 to 3.0: 1.0 is no overhead at all; the Uptime Institute's 2023 survey
#:   average is 1.58 and old small server rooms reach about 2.5.
#: - ``cpu_power_w`` and ``ram_power_w`` above 0 to 10,000 W: the largest CPUs draw
#:   about 500 W a socket, an 8-socket server about 4 kW; 0 W would make every run free.
#: - ``intensity_g_per_kwh`` 0 to 2,000: coal plants emit about 1,000 g CO2e/kWh, oil
#:   shale about 1,200; 0 is a fully renewable contract.
#: - ``price_eur_per_kwh`` 0 to 10: the 2022 Dutch peak was about 1 EUR/kWh.
#: - ``storage_wh_per_tb_hour`` 0 to 100 (SSD 1.2, HDD 0.65 in Cloud Carbon Footprint).
#: - ``storage_replication`` 1 to 100 copies.
NUMBER_RANGES: Mapping[str, tuple[float, float, bool]] = {
    "pue": (1.0, 3.0, True),
    "cpu_power_w": (0.0, 10_000.0, False),
    "ram_power_w": (0.0, 10_000.0, False),
    "intensity_g_per_kwh": (0.0, 2_000.0, True),
    "price_eur_per_kwh": (0.0, 10.0, True),
    "storage_wh_per_tb_hour": (0.0, 100.0, True),
    "storage_replication": (1.0, 100.0, True),
}

ENV_PREFIX = "ZUINIG_"
CONFIG_FILE_ENV = "ZUINIG_CONFIG"
#: Variables zuinig sets for its own child processes; they are not settings.
PARENT_RUN_ENV = "ZUINIG_PARENT_RUN_ID"
INTERNAL_ENV = frozenset({CONFIG_FILE_ENV, PARENT_RUN_ENV, "ZUINIG_DEBUG"})
CONFIG_FILE_NAME = "zuinig.toml"
#: The settings whose empty value is refused rather than read as unset. For the ledger,
#: "unset" means the default ledger: an empty ``--ledger ''`` or ``ZUINIG_LEDGER=''``
#: (a variable meant to be filled in) would then silently write the runs where nobody
#: looks.
EMPTY_REFUSED = frozenset({"ledger"})

TrackingMode = Literal["process", "machine"]


@dataclass(frozen=True)
class Settings:
    """Every setting zuinig reads, with its unit in its name.

    Attributes:
        ledger: SQLAlchemy URL of the ledger; ``None`` means the SQLite file in the
            user data directory.
        country_iso_code: ISO 3166-1 alpha-3 code of the grid the machine draws from.
        tracking_mode: ``process`` attributes CPU power to the measured process tree
            by its CPU time; ``machine`` charges the whole machine's load to the run.
        pue: power usage effectiveness, multiplied into every energy figure.
        cpu_power_w: calibrated CPU power at full load (W); replaces the TDP guess.
        ram_power_w: calibrated RAM power (W); replaces CodeCarbon's DIMM heuristic.
        intensity_g_per_kwh: carbon intensity to use instead of CodeCarbon's
            offline country figure (g CO2e per kWh, location-based).
        intensity_source: where ``intensity_g_per_kwh`` comes from, shown with
            every figure; required when ``intensity_g_per_kwh`` is set.
        location_factor: the row of the Dutch factor table (CO2emissiefactoren.nl)
            for the location-based figure of runs in the Netherlands, chosen by each
            run's year: ``grid-mix`` (the default, with the supply chain) or
            ``grid-mix:tank-to-wheel`` (production only). ``intensity_g_per_kwh``
            overrides it; other countries use CodeCarbon's figure.
        market_factor: the contract, for the market-based figure of every run: a row
            of the table (``grey``, ``unknown``, ``green-nl-gvo``, optionally with
            ``:tank-to-wheel``) or a number (g CO2e per kWh, from the supplier's
            fuel-mix disclosure). Unset: the Dutch row for electricity of unknown
            origin (the GHG Protocol's rule without contractual instruments), or the
            location-based figure where no such row is known (see :mod:`zuinig.factors`).
        market_factor_source: where a numeric ``market_factor`` comes from; required
            with one.
        price_eur_per_kwh: electricity price, for savings in euro.
        storage_wh_per_tb_hour: energy of storage at rest (Wh per TB-hour), for the
            storage saved by a format change; default SSD 1.2, HDD 0.65 (Cloud Carbon
            Footprint).
        storage_replication: copies kept of each stored byte (1 or more); multiplies
            the storage energy.
    """

    ledger: str | None = None
    country_iso_code: str = DEFAULT_COUNTRY_ISO_CODE
    tracking_mode: TrackingMode = "process"
    pue: float = DEFAULT_PUE
    cpu_power_w: float | None = None
    ram_power_w: float | None = None
    intensity_g_per_kwh: float | None = None
    intensity_source: str | None = None
    location_factor: str | None = None
    market_factor: str | float | None = None
    market_factor_source: str | None = None
    price_eur_per_kwh: float | None = None
    storage_wh_per_tb_hour: float = DEFAULT_STORAGE_WH_PER_TB_HOUR
    storage_replication: float = DEFAULT_STORAGE_REPLICATION
    #: Where each value came from (``default``, a file path, ``env``, ``argument``).
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name, (lowest, highest, lowest_allowed) in NUMBER_RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            too_low = value < lowest or (value == lowest and not lowest_allowed)
            # NaN compares false with everything: isfinite catches it and the infinities.
            if not math.isfinite(value) or too_low or value > highest:
                bound = "from" if lowest_allowed else "above"
                origin = self.origins.get(name)
                where = f" (from {origin})" if origin else ""
                raise ConfigError(
                    f"setting {name}{where} must be a number {bound} {lowest:g} to "
                    f"{highest:g}, got {value!r}"
                )
        check_ledger_url(self.ledger, origin=self.origins.get("ledger"))
        if self.intensity_g_per_kwh is not None and not self.intensity_source:
            raise ConfigError(
                "intensity_g_per_kwh is set without intensity_source; "
                "say where the figure comes from (for example 'CBS 2024, grey mix')"
            )
        self._check_factors()
        if len(self.country_iso_code) != 3 or not self.country_iso_code.isalpha():
            raise ConfigError(
                f"country_iso_code must be a three-letter ISO code such as NLD, "
                f"got {self.country_iso_code!r}"
            )

    def _check_factors(self) -> None:
        """One clear line for a factor choice zuinig cannot apply."""
        for name in ("location_factor", "market_factor"):
            value = getattr(self, name)
            if not isinstance(value, str):
                continue
            origin = self.origins.get(name)
            where = f" (from {origin})" if origin else ""
            try:
                key, boundary = factors.parse_factor_choice(value)
            except ValueError as error:
                raise ConfigError(f"setting {name}{where}: {error}") from None
            table = factors.default_table()
            if key not in table.row_keys():
                rows = ", ".join(sorted(table.row_keys())) or "none"
                raise ConfigError(
                    f"setting {name}{where}: zuinig's factor table has no {key!r} row yet "
                    f"(it has: {rows}); set market_factor to your supplier's number with "
                    "market_factor_source, or add the row with its source to "
                    f"{factors.FACTOR_TABLE_FILE.name}"
                )
            if not any(key == row.key and boundary in row.g_per_kwh for row in table.rows):
                raise ConfigError(f"setting {name}{where}: the {key!r} row has no {boundary} value")
        market = self.market_factor
        if isinstance(market, float):
            if not math.isfinite(market) or not 0.0 <= market <= 2_000.0:
                raise ConfigError(
                    f"setting market_factor must be a row name or a number from 0 to 2000 "
                    f"g CO2e per kWh, got {market!r}"
                )
            if not self.market_factor_source:
                raise ConfigError(
                    "market_factor is a number without market_factor_source; say where it "
                    "comes from (for example 'supplier fuel-mix disclosure 2025')"
                )
        elif self.market_factor_source and market is not None:
            raise ConfigError(
                f"market_factor_source is only for a numeric market_factor; the row "
                f"{market!r} cites its own source"
            )


def check_ledger_url(ledger: str | None, *, origin: str | None = None) -> None:
    """Refuse an empty or blank ledger URL: the one rule for the settings file,
    ``ZUINIG_LEDGER`` and ``--ledger`` (see :data:`EMPTY_REFUSED`).

    Args:
        ledger: the setting's value; ``None`` (unset: the default ledger) is fine.
        origin: where the value came from (a settings file's path, ``env``,
            ``argument``), named in the message.

    Raises:
        ConfigError: ``ledger`` is empty or blank.
    """
    if ledger is None or ledger.strip():
        return
    where = (
        "--ledger '' or ZUINIG_LEDGER=''"
        if origin in (None, "env", "argument")
        else f"ledger = '' in {origin}"
    )
    raise ConfigError(
        f"the ledger URL is empty ({where}); give one such as "
        "sqlite:////path/ledger.sqlite, or leave it out for the default ledger"
    )


def setting_names() -> list[str]:
    """The names a user may set, in declaration order."""
    return [f.name for f in fields(Settings) if f.name != "origins"]


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read settings from file, environment and explicit overrides, in that order.

    Args:
        overrides: values given as arguments (``None`` values are ignored).
        cwd: where to start looking for a settings file; the working directory by default.
        environ: the environment to read ``ZUINIG_*`` from; ``os.environ`` by default.

    Raises:
        ConfigError: a file cannot be read, or a key is unknown or of the wrong type.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}

    config_file = _find_config_file(cwd or Path.cwd(), environ)
    if config_file is not None:
        for key, value in _read_config_file(config_file).items():
            values[key] = _coerce(key, value, str(config_file))
            origins[key] = str(config_file)

    for env_key, raw in environ.items():
        if not env_key.startswith(ENV_PREFIX) or env_key in INTERNAL_ENV:
            continue
        key = env_key[len(ENV_PREFIX) :].lower()
        _check_known(key, env_key)
        values[key] = _coerce(key, raw, env_key, from_text=True)
        origins[key] = "env"

    for key, value in (overrides or {}).items():
        if value is None:
            continue
        _check_known(key, "arguments")
        values[key] = _coerce(key, value, "arguments")
        origins[key] = "argument"

    return Settings(**values, origins=origins)


def _find_config_file(start: Path, environ: Mapping[str, str]) -> Path | None:
    explicit = environ.get(CONFIG_FILE_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_FILE_ENV} names {path}, which is not a file")
        return path
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and _has_zuinig_table(pyproject):
            return pyproject
    return None


def _has_zuinig_table(pyproject: Path) -> bool:
    try:
        return "zuinig" in _load_toml(pyproject).get("tool", {})
    except ConfigError:
        return False  # someone else's broken pyproject is not our settings file


def _read_config_file(path: Path) -> dict[str, Any]:
    document = _load_toml(path)
    if path.name == "pyproject.toml":
        table = document.get("tool", {}).get("zuinig", {})
    else:
        table = document
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: the zuinig settings must be a table of key = value")
    for key in table:
        _check_known(key, str(path))
    return table


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"cannot read settings file {path}: {error.strerror}") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"settings file {path} is not valid TOML: {error}") from error


def _check_known(key: str, where: str) -> None:
    names = setting_names()
    if key in names:
        return
    hint = difflib.get_close_matches(key, names, n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; known settings: {', '.join(names)}"
    raise ConfigError(f"unknown setting {key!r} in {where}{suggestion}")


def _coerce(key: str, value: Any, where: str, *, from_text: bool = False) -> Any:
    """Check ``value`` against the declared type of ``key``; parse it when it is text."""
    hint = typing.get_type_hints(Settings)[key]
    allowed = _allowed_types(hint)
    if value is None and type(None) in allowed:
        return None
    if from_text:
        if value == "" and type(None) in allowed and key not in EMPTY_REFUSED:
            return None
        for kind in allowed:
            if kind is float:
                try:
                    return float(value)
                except ValueError:
                    continue
            if kind is str:
                return _check_literal(key, hint, value, where)
        raise ConfigError(f"setting {key} in {where} must be a number, got {value!r}")
    if float in allowed and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if str in allowed and isinstance(value, str):
        return _check_literal(key, hint, value, where)
    expected = " or ".join(sorted(t.__name__ for t in allowed if t is not type(None)))
    raise ConfigError(
        f"setting {key} in {where} must be {expected}, got {type(value).__name__} {value!r}"
    )


def _allowed_types(hint: Any) -> set[type]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_allowed_types(arg) for arg in typing.get_args(hint)))
    if origin is Literal:
        return {str}
    if hint is type(None):
        return {type(None)}
    return {hint}


def _check_literal(key: str, hint: Any, value: str, where: str) -> str:
    choices = _literal_choices(hint)
    if choices and value not in choices:
        raise ConfigError(
            f"setting {key} in {where} must be one of {', '.join(choices)}, got {value!r}"
        )
    return value


def _literal_choices(hint: Any) -> tuple[str, ...]:
    if typing.get_origin(hint) is Literal:
        return tuple(str(arg) for arg in typing.get_args(hint))
    for arg in typing.get_args(hint):
        choices = _literal_choices(arg)
        if choices:
            return choices
    return ()


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy of ``settings`` with ``changes`` applied and validated."""
    return dataclasses.replace(settings, **changes)
