"""Dutch emission factors for electricity, chosen by a run's date: location and market.

The values live in ``electricity_nl.toml`` beside this module (data, not code: each row
names the public source it was read from). This package sits below both the meter and
the report, and imports neither: every run stores both CO2e figures when it is measured
(:mod:`zuinig.meter` chooses them here), and the report names the same rows when it
explains them. DESIGN lists "factors" under ``report/``; it cannot live there, because
the meter must not import the report, and settings validation (``zuinig.config``) asks
it which row names exist.

Two figures per run, as the GHG Protocol's Scope 2 Guidance and ESRS E1-6 ask:

- **location-based**: the grid the machine draws from. For the Netherlands the
  CO2emissiefactoren.nl grid-mix row of the run's year, with its supply chain
  (well-to-wheel) unless the ``location_factor`` setting says otherwise; other
  countries keep CodeCarbon's figure.
- **market-based**: the contract (``market_factor``: a row of the table such as
  ``grey`` or ``green-nl-gvo``, or a number with its source). Without one, the Dutch
  row for electricity of unknown origin: the Scope 2 Guidance says that without
  contractual instruments the residual (unknown) mix applies. Where the table has no
  such row (another country, or a year whose row zuinig lacks), the market-based
  figure is the location-based one, as the Guidance allows where no residual mix is
  available, and its source says so.

A run in year Y uses the list of year Y; a run before the oldest list uses the oldest
and a run after the newest list the newest, and the factor's year and source say which.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

__all__ = [
    "BOUNDARIES",
    "DEFAULT_LOCATION_FACTOR",
    "FACTOR_KEYS",
    "FACTOR_TABLE_FILE",
    "KEY_GRID_MIX",
    "KEY_UNKNOWN",
    "TANK_TO_WHEEL",
    "WELL_TO_WHEEL",
    "CarbonFactor",
    "FactorTable",
    "ListRow",
    "default_table",
    "load_table",
    "location_factor_for",
    "market_factor_for",
    "parse_factor_choice",
]

#: The list's "WTW" column: production plus the supply chain.
WELL_TO_WHEEL = "well-to-wheel"
#: The list's "TTW" column: production only.
TANK_TO_WHEEL = "tank-to-wheel"
BOUNDARIES = (WELL_TO_WHEEL, TANK_TO_WHEEL)

KEY_GRID_MIX = "grid-mix"
KEY_GREY = "grey"
KEY_UNKNOWN = "unknown"
KEY_GREEN_NL_GVO = "green-nl-gvo"
#: Every row a table may hold, with what it is in words.
FACTOR_KEYS: Mapping[str, str] = {
    KEY_GRID_MIX: "the Dutch grid mix (stroommix), location-based",
    KEY_GREY: "grey electricity (grijze stroom)",
    KEY_UNKNOWN: "electricity of unknown origin (stroom onbekend)",
    KEY_GREEN_NL_GVO: "green electricity from Dutch wind or sun with Dutch guarantees of origin",
}

#: The ``location_factor`` used when none is set: the grid mix with its supply chain.
DEFAULT_LOCATION_FACTOR = KEY_GRID_MIX

#: The shipped table.
FACTOR_TABLE_FILE = Path(__file__).with_name("electricity_nl.toml")
#: The only country whose grid and contracts the table describes.
TABLE_COUNTRY = "NLD"

_LIST_NAME = "CO2emissiefactoren.nl"
_FIELD_BY_BOUNDARY = {
    WELL_TO_WHEEL: "well_to_wheel_g_per_kwh",
    TANK_TO_WHEEL: "tank_to_wheel_g_per_kwh",
}


@dataclass(frozen=True)
class CarbonFactor:
    """A carbon intensity applied to a run, with everything needed to cite it.

    Attributes:
        g_per_kwh: g CO2e per kWh.
        source: where it comes from, in words (list, year, publication, URL).
        year: the list year (or the data year of another source), when known.
        name: the row's name in its list, when the source has rows.
        boundary: :data:`WELL_TO_WHEEL`, :data:`TANK_TO_WHEEL`, or ``None`` when the
            source does not say.
    """

    g_per_kwh: float
    source: str
    year: int | None = None
    name: str | None = None
    boundary: str | None = None


@dataclass(frozen=True)
class ListRow:
    """One row of one year's list.

    Attributes:
        key: one of :data:`FACTOR_KEYS`.
        list_year: the year of the list.
        name: the row's name.
        g_per_kwh: the value per boundary (g CO2e per kWh).
        published: the list's publication date.
        url: the list's address.
        cited_from: where the value was read, in words.
    """

    key: str
    list_year: int
    name: str
    g_per_kwh: Mapping[str, float]
    published: date
    url: str
    cited_from: str

    def factor(self, boundary: str, *, for_year: int | None = None) -> CarbonFactor | None:
        """This row as a :class:`CarbonFactor` at ``boundary`` (``None`` if not given).

        Args:
            boundary: one of :data:`BOUNDARIES`.
            for_year: the run's year; named in the source when it differs from the list's.
        """
        value = self.g_per_kwh.get(boundary)
        if value is None:
            return None
        source = (
            f"{_LIST_NAME}, list {self.list_year} (published {self.published.isoformat()}, "
            f"{self.url}), {boundary}"
        )
        if for_year is not None and for_year > self.list_year:
            source += f"; the newest list zuinig has, used for {for_year}"
        elif for_year is not None and for_year < self.list_year:
            source += f"; the oldest list zuinig has, used for {for_year}"
        return CarbonFactor(
            g_per_kwh=value, source=source, year=self.list_year, name=self.name, boundary=boundary
        )


@dataclass(frozen=True)
class FactorTable:
    """The rows of every list year a table file holds."""

    rows: tuple[ListRow, ...]

    def row_keys(self) -> frozenset[str]:
        """The row keys present in at least one year."""
        return frozenset(row.key for row in self.rows)

    def row(self, key: str, year: int) -> ListRow | None:
        """The row ``key`` of the list that applies to ``year``.

        That is the list of ``year`` itself, else the newest list before it, else (for a
        year before every list) the oldest list; ``None`` when no list has the row.
        """
        candidates = sorted((row for row in self.rows if row.key == key), key=_list_year)
        if not candidates:
            return None
        earlier = [row for row in candidates if row.list_year <= year]
        return earlier[-1] if earlier else candidates[0]


def _list_year(row: ListRow) -> int:
    return row.list_year


def load_table(path: Path) -> FactorTable:
    """Read a factor table file (see ``electricity_nl.toml`` for its form).

    Raises:
        ValueError: the file does not have the table's form (a missing field, an
            unknown key or boundary, a value that is not a number, a row without a list).
        OSError: the file cannot be read.
    """
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    lists: dict[int, Mapping[str, Any]] = {}
    for entry in document.get("list", []):
        lists[int(entry["year"])] = entry
    rows = [_row(entry, lists, path) for entry in document.get("factor", [])]
    return FactorTable(rows=tuple(rows))


def _row(entry: Mapping[str, Any], lists: Mapping[int, Mapping[str, Any]], path: Path) -> ListRow:
    year = int(entry["list_year"])
    key = str(entry["key"])
    if key not in FACTOR_KEYS:
        raise ValueError(f"{path}: unknown factor key {key!r}; known: {', '.join(FACTOR_KEYS)}")
    if year not in lists:
        raise ValueError(f"{path}: factor {key!r} names list {year}, which has no [[list]] entry")
    values = {
        boundary: float(entry[name])
        for boundary, name in _FIELD_BY_BOUNDARY.items()
        if name in entry
    }
    if not values:
        raise ValueError(f"{path}: factor {key!r} of {year} gives no value")
    published = lists[year]["published"]
    if not isinstance(published, date):
        raise ValueError(f"{path}: list {year}'s published must be a date")
    return ListRow(
        key=key,
        list_year=year,
        name=str(entry["name"]),
        g_per_kwh=values,
        published=published,
        url=str(lists[year]["url"]),
        cited_from=str(entry["cited_from"]),
    )


@functools.cache
def default_table() -> FactorTable:
    """The table shipped with zuinig (read once per process)."""
    return load_table(FACTOR_TABLE_FILE)


def parse_factor_choice(text: str) -> tuple[str, str]:
    """Split a row choice such as ``grid-mix`` or ``grey:tank-to-wheel``.

    Returns:
        ``(key, boundary)``; the boundary is :data:`WELL_TO_WHEEL` when not given.

    Raises:
        ValueError: the key or the boundary is not one zuinig knows; the message
            lists the choices.
    """
    key, _, boundary = text.partition(":")
    key, boundary = key.strip(), boundary.strip() or WELL_TO_WHEEL
    if key not in FACTOR_KEYS:
        raise ValueError(
            f"{text!r} is not a row of the factor table; choose one of {', '.join(FACTOR_KEYS)}"
            f" (optionally with :{TANK_TO_WHEEL} for production only)"
        )
    if boundary not in BOUNDARIES:
        raise ValueError(f"{text!r} names boundary {boundary!r}; choose {' or '.join(BOUNDARIES)}")
    return key, boundary


def location_factor_for(
    country_iso_code: str,
    year: int,
    choice: str | None = None,
    *,
    table: FactorTable | None = None,
) -> CarbonFactor | None:
    """The table's location-based factor for a run, or ``None`` when the table has none.

    Args:
        country_iso_code: the grid's country; the table describes only ``NLD``.
        year: the run's year (UTC).
        choice: the ``location_factor`` setting (default: the grid mix, well-to-wheel).
        table: the table to use; the shipped one by default.

    Returns:
        ``None`` for another country, or when the table has no such row: the caller
        then uses CodeCarbon's figure.
    """
    if country_iso_code.upper() != TABLE_COUNTRY:
        return None
    key, boundary = parse_factor_choice(choice or DEFAULT_LOCATION_FACTOR)
    row = (table or default_table()).row(key, year)
    return None if row is None else row.factor(boundary, for_year=year)


def market_factor_for(
    country_iso_code: str,
    year: int,
    location: CarbonFactor,
    choice: str | float | None = None,
    choice_source: str | None = None,
    *,
    table: FactorTable | None = None,
) -> CarbonFactor:
    """The market-based factor for a run: the contract, or the default (see the module).

    Args:
        country_iso_code: the grid's country.
        year: the run's year (UTC).
        location: the run's location-based factor, the fallback where no market factor
            is known.
        choice: the ``market_factor`` setting: a row (``grey``, ``unknown:tank-to-wheel``)
            or a number (g CO2e per kWh).
        choice_source: where a number comes from (the ``market_factor_source`` setting).
        table: the table to use; the shipped one by default.
    """
    if isinstance(choice, int | float):
        return CarbonFactor(
            g_per_kwh=float(choice), source=choice_source or "settings (market_factor)"
        )
    table = table or default_table()
    if choice is not None:
        key, boundary = parse_factor_choice(choice)
        row = table.row(key, year)
        found = None if row is None else row.factor(boundary, for_year=year)
        if found is not None:
            return found
        missing = f"the factor table has no {key!r} row ({boundary})"
    elif country_iso_code.upper() == TABLE_COUNTRY:
        boundary = location.boundary or WELL_TO_WHEEL
        row = table.row(KEY_UNKNOWN, year)
        found = None if row is None else row.factor(boundary, for_year=year)
        if found is not None:
            return found
        missing = "the factor table has no row for electricity of unknown origin"
    else:
        missing = f"zuinig has no residual mix for {country_iso_code.upper()}"
    return CarbonFactor(
        g_per_kwh=location.g_per_kwh,
        source=(
            f"the location-based factor ({location.source}): {missing}, and the GHG "
            "Protocol's Scope 2 Guidance uses the grid average where no residual mix is known"
        ),
        year=location.year,
        name=location.name,
        boundary=location.boundary,
    )
