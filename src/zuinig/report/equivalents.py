"""The month's CO2e and energy in everyday terms, each with its published constant.

Every constant below is quoted from its source as published (value, unit, year); the
arithmetic is one division, so a reader can redo it. The comparisons are deliberately
plain and say what they leave out:

- ``car_km``: kilometres driven by a new passenger car at the European average
  type-approval (WLTP, tailpipe) CO2 of new cars registered in 2024. Real-world
  emissions are higher than type-approval values and an older car emits more, so this
  gives *more* km than an average car on the road would: a generous comparison, stated
  as such.
- ``petrol_litres``: litres of petrol (E95, Dutch mix) whose burning, with its supply
  chain (well-to-wheel), emits the same CO2.
- ``household_days``: days of the electricity an average Dutch household uses, as CBS
  takes it for the energy bill (a PBL forecast for the year).
"""

from __future__ import annotations

from dataclasses import dataclass

from zuinig.report.model import Equivalent

__all__ = ["EQUIVALENT_CONSTANTS", "EquivalentConstant", "equivalents"]

BASIS_CO2_KG = "co2_kg"
BASIS_ENERGY_KWH = "energy_kwh"

#: kg CO2 per km of a new passenger car: 106.8 g CO2/km, the average of the 10.7 million
#: new passenger cars registered in the EU, Iceland and Norway in 2024, WLTP type approval;
#: provisional data (the final 2023 figure was 106.4). Source: European Environment Agency,
#: provisional 2024 data on CO2 emissions of new cars and vans (news release, 2025), as
#: reported by Lusa: https://autogear.pt/?p=574365 (the EEA indicator page, whose newest
#: figure is 108.1 g/km for 2022: https://www.eea.europa.eu/en/analysis/indicators/co2-performance-of-new-passenger/).
NEW_CAR_KG_CO2_PER_KM = 0.1068
#: kg CO2 per litre of petrol, well-to-wheel: 2.74 kg CO2/liter for "Benzine (E95) (NL)".
#: Source: CO2emissiefactoren.nl (Rijkswaterstaat and partners), "Lijst emissiefactoren",
#: update of 28 January 2020, https://www.co2emissiefactoren.nl/lijst-emissiefactoren/
#: The newest value that could be cited: the list's update of 23 January 2021 (CE Delft,
#: STREAM 2020) gives a new figure for the petrol blend sold from 2020 on (E10), see
#: https://www.co2emissiefactoren.nl/wijzigingen-overzicht/, but that value was not found
#: in a citable source; replace this one when it is.
PETROL_KG_CO2_PER_LITRE = 2.74
#: kWh of electricity an average Dutch household uses in a year: 1,706 kWh, the yearly use
#: CBS took for its energy bill of January 2025 (PBL's forecast for 2025; 1,727 kWh for
#: 2024). Source: CBS, "De energierekening januari 2025" (2025), section 1 "Inleiding",
#: https://www.cbs.nl/nl-nl/longread/aanvullende-statistische-diensten/2025/de-energierekening-januari-2025?onepage=true
HOUSEHOLD_KWH_PER_YEAR = 1706.0
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
        source="European Environment Agency, provisional 2024 data on CO2 emissions of new "
        "cars (news release, 2025, as reported by Lusa): 106.8 g CO2/km, new cars "
        "registered in 2024 in the EU, Iceland and Norway (WLTP)",
        source_url="https://autogear.pt/?p=574365",
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
        source="CBS, De energierekening januari 2025 (2025): 1,706 kWh electricity per "
        "household per year (PBL forecast for 2025), over 365 days",
        source_url="https://www.cbs.nl/nl-nl/longread/aanvullende-statistische-diensten/2025/de-energierekening-januari-2025?onepage=true",
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
