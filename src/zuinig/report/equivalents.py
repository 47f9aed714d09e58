"""The month's CO2e and energy in everyday terms, each with its published constant.

Every constant below is quoted from its source as published (value, unit, year); the
arithmetic is one division, so a reader can redo it. The comparisons are deliberately
plain and say what they leave out:

- ``car_km``: kilometres driven by a new passenger car at the EU average type-approval
  (WLTP, tailpipe) CO2 of new cars registered in 2022. Real-world emissions are higher
  than type-approval values and an older car emits more, so this gives *more* km than
  an average car on the road would: a generous comparison, stated as such.
- ``petrol_litres``: litres of petrol (E95, Dutch mix) whose burning, with its supply
  chain (well-to-wheel), emits the same CO2.
- ``household_days``: days of the electricity an average Dutch household uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from zuinig.report.model import Equivalent

__all__ = ["EQUIVALENT_CONSTANTS", "EquivalentConstant", "equivalents"]

BASIS_CO2_KG = "co2_kg"
BASIS_ENERGY_KWH = "energy_kwh"

#: kg CO2 per km of a new passenger car: 108.1 g CO2/km, the average of new passenger
#: cars registered in Europe (EU, Iceland, Norway) in 2022, WLTP type approval. Source:
#: European Environment Agency, "CO2 performance of new passenger cars in Europe"
#: (indicator, 2023), https://www.eea.europa.eu/en/analysis/indicators/co2-performance-of-new-passenger/
NEW_CAR_KG_CO2_PER_KM = 0.1081
#: kg CO2 per litre of petrol, well-to-wheel: 2.74 kg CO2/liter for "Benzine (E95) (NL)".
#: Source: CO2emissiefactoren.nl (Rijkswaterstaat and partners), "Lijst emissiefactoren",
#: update of 28 January 2020, https://www.co2emissiefactoren.nl/lijst-emissiefactoren/
PETROL_KG_CO2_PER_LITRE = 2.74
#: kWh of electricity an average Dutch household uses in a year: 2,450 kWh, the yearly
#: use CBS took for its 2020 energy bill (a PBL forecast for 2020). Source: CBS,
#: "Energierekening 170 euro lager" (news, 2020), section "Gemiddeld jaarverbruik",
#: https://www.cbs.nl/nl-nl/nieuws/2020/10/energierekening-170-euro-lager/gemiddeld-jaarverbruik
HOUSEHOLD_KWH_PER_YEAR = 2450.0
DAYS_PER_YEAR = 365.0
#: kWh per household-day: the yearly figure over 365 days (use is not even over the
#: year; this is the yearly average per day).
HOUSEHOLD_KWH_PER_DAY = HOUSEHOLD_KWH_PER_YEAR / DAYS_PER_YEAR


@dataclass(frozen=True)
class EquivalentConstant:
    """One comparison: what is divided by which constant, and where it comes from."""

    key: str
    basis: str
    constant: float
    constant_unit: str
    source: str
    source_url: str


EQUIVALENT_CONSTANTS: tuple[EquivalentConstant, ...] = (
    EquivalentConstant(
        key="car_km",
        basis=BASIS_CO2_KG,
        constant=NEW_CAR_KG_CO2_PER_KM,
        constant_unit="kg CO2/km",
        source="European Environment Agency, CO2 performance of new passenger cars in "
        "Europe (2023): 108.1 g CO2/km, new cars registered in 2022 (WLTP)",
        source_url="https://www.eea.europa.eu/en/analysis/indicators/co2-performance-of-new-passenger/",
    ),
    EquivalentConstant(
        key="petrol_litres",
        basis=BASIS_CO2_KG,
        constant=PETROL_KG_CO2_PER_LITRE,
        constant_unit="kg CO2/l",
        source="CO2emissiefactoren.nl, Lijst emissiefactoren (2020): Benzine (E95) (NL), "
        "2.74 kg CO2 per litre, well-to-wheel",
        source_url="https://www.co2emissiefactoren.nl/lijst-emissiefactoren/",
    ),
    EquivalentConstant(
        key="household_days",
        basis=BASIS_ENERGY_KWH,
        constant=HOUSEHOLD_KWH_PER_DAY,
        constant_unit="kWh/day",
        source="CBS, Energierekening 170 euro lager (2020): 2,450 kWh electricity per "
        "household per year (PBL forecast for 2020), over 365 days",
        source_url="https://www.cbs.nl/nl-nl/nieuws/2020/10/energierekening-170-euro-lager/gemiddeld-jaarverbruik",
    ),
)


def equivalents(
    co2_kg: float,
    energy_kwh: float,
    constants: tuple[EquivalentConstant, ...] = EQUIVALENT_CONSTANTS,
) -> tuple[Equivalent, ...]:
    """The month's figures in everyday terms: ``amount = figure / constant``.

    Args:
        co2_kg: the month's CO2e (kg).
        energy_kwh: the month's energy (kWh).
        constants: the comparisons to make.
    """
    figures = {BASIS_CO2_KG: co2_kg, BASIS_ENERGY_KWH: energy_kwh}
    return tuple(
        Equivalent(
            key=item.key,
            amount=figures[item.basis] / item.constant,
            basis=item.basis,
            constant=item.constant,
            constant_unit=item.constant_unit,
            source=item.source,
            source_url=item.source_url,
        )
        for item in constants
    )
