"""Display units for energy and CO2e: which unit keeps a figure's leading digits.

Shared by the terminal texts (:mod:`zuinig.cli.text`, English, no Babel), the summary of a
run (:mod:`zuinig.summary`: after a notebook cell, and a run's notebook repr) and the
monthly report's language-aware numbers (:mod:`zuinig.report.texts`), so a figure is
shown in the same unit everywhere. Measured jobs are often a millionth of a kWh. The
English formatters (:func:`format_energy`, :func:`format_co2` and the ranges) are here,
not in :mod:`zuinig.cli.text`, so the ledger's and the meter's records may use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

# (factor from the base unit, unit) from the largest unit down; the first whose scaled
# value is at least 1 is used, the last one for anything smaller.
ENERGY_UNITS: Final = ((1.0, "kWh"), (1e3, "Wh"), (1e6, "mWh"), (1e9, "µWh"))
CO2_UNITS: Final = (
    (1e-3, "t CO₂e"),
    (1.0, "kg CO₂e"),
    (1e3, "g CO₂e"),
    (1e6, "mg CO₂e"),
    (1e9, "µg CO₂e"),
)


def format_number(value: float) -> str:
    """A figure for a person: three significant digits, never in exponent notation.

    ``0.0123``, ``4.5``, ``1,234`` (thousands grouped, no decimals from 1000 on). Python
    writes ``4.12e-08``, which is not a person's; a figure that small reads better in a
    smaller unit (see :func:`energy_unit` and :func:`co2_unit`).
    """
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return format(Decimal(f"{value:.3g}"), "f")


def pick_unit(value: float, units: Sequence[tuple[float, str]]) -> tuple[float, str]:
    """Scale ``value`` to the largest unit in which it is at least 1."""
    if value == 0:
        return 0.0, units[0][1] if units[0][0] >= 1 else units[1][1]
    for factor, unit in units:
        if abs(value * factor) >= 1:
            return value * factor, unit
    factor, unit = units[-1]
    return value * factor, unit


def unit_for(largest: float, units: Sequence[tuple[float, str]]) -> tuple[float, str]:
    """The (factor, unit) for figures whose largest is ``largest`` (in the base unit),
    so that several figures shown together (a range, a chart) share one unit."""
    if largest <= 0:
        return next((f, u) for f, u in units if f == 1.0)
    for factor, unit in units:
        if largest * factor >= 1:
            return factor, unit
    return units[-1]


def energy_unit(largest_kwh: float) -> tuple[float, str]:
    """:func:`unit_for` energies (kWh)."""
    return unit_for(largest_kwh, ENERGY_UNITS)


def co2_unit(largest_kg: float) -> tuple[float, str]:
    """:func:`unit_for` CO2e masses (kg); tonnes only from 1000 kg."""
    return unit_for(largest_kg, CO2_UNITS[1:] if largest_kg < 1000 else CO2_UNITS)


def plain_number(value: float) -> str:
    """A setting or method figure as given (six significant digits), never as ``2e-05``.

    Python's ``:g`` switches to exponent notation below 0.0001; a person reads digits.
    """
    text = f"{value:g}"
    return format(Decimal(text), "f") if "e" in text else text


def format_energy(kwh: float) -> str:
    """An energy in the unit that keeps its digits: ``2.3 Wh``, ``450 mWh``."""
    factor, unit = energy_unit(abs(kwh))
    return f"{format_number(kwh * factor)} {unit}"


def format_co2(kg: float) -> str:
    """A CO2e mass in the unit that keeps its digits: ``41.2 µg CO₂e``, ``3.2 g CO₂e``."""
    factor, unit = co2_unit(abs(kg))
    return f"{format_number(kg * factor)} {unit}"


def format_energy_range(low_kwh: float, high_kwh: float) -> str:
    """A range in words a manager reads, both ends in one unit: ``between 1.2 and 3.4 Wh``."""
    factor, unit = energy_unit(max(abs(low_kwh), abs(high_kwh)))
    return (
        f"between {format_number(low_kwh * factor)} and {format_number(high_kwh * factor)} {unit}"
    )


def format_co2_range(low_kg: float, high_kg: float) -> str:
    """A CO2e range in words, both ends in one unit: ``between 8.6 and 13.3 µg CO₂e``."""
    factor, unit = co2_unit(max(abs(low_kg), abs(high_kg)))
    return f"between {format_number(low_kg * factor)} and {format_number(high_kg * factor)} {unit}"
