"""The words of the monthly report, in Dutch and English: numbers, dates, sentences drawn
from the figures ("tellen én vertellen"), and the glossary.

Pure: figures in, strings out. Every string here is plain text; the HTML template
escapes it, so a job named ``<script>`` is shown, never run.

Numbers follow the language (Babel, CLDR): ``1.234,5 kWh`` in Dutch, ``1,234.5 kWh`` in
English. Measured jobs are often a millionth of a kWh, so an energy is shown in the unit
that keeps its leading digits (kWh, Wh, mWh, µWh) with the unit always written; the CSV
appendix holds full precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from zuinig.errors import UsageError
from zuinig.report.model import (
    KG_PER_TONNE,
    KWH_PER_MWH,
    NOISE_RATIO,
    ChangeSplit,
    GroupFigures,
    IntensityUsed,
    MonthlyReport,
    MonthPoint,
    Totals,
)
from zuinig.units import CO2_UNITS, ENERGY_UNITS, co2_unit, energy_unit, pick_unit

__all__ = [
    "LANGUAGES",
    "Numbers",
    "Texts",
    "check_language",
    "month_date",
]

#: The report's languages; the first is the default.
LANGUAGES: Final = ("nl", "en")

#: A change smaller than this share of the previous month is "unchanged" in words.
UNCHANGED_RATIO = 0.0005

#: The words around a range: "between {low} and {high}".
_BETWEEN: Final = {"nl": ("tussen", "en"), "en": ("between", "and")}
_BYTE_UNITS: Final = ((1e-12, "TB"), (1e-9, "GB"), (1e-6, "MB"), (1e-3, "kB"), (1.0, "B"))


def check_language(lang: str) -> str:
    """Return ``lang`` if the report speaks it.

    Raises:
        UsageError: for any other language.
    """
    if lang not in LANGUAGES:
        raise UsageError(f"unknown report language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    return lang


def month_date(month: str) -> date:
    """The first day of a ``YYYY-MM`` month."""
    year, number = month.split("-")
    return date(int(year), int(number), 1)


#: Beyond this an everyday amount is shown as 0: a millionth of a km says nothing more.
_MAX_APPROX_DECIMALS = 8
#: Beyond this a figure in MWh or t is shown as 0 (a microgram in tonnes has 12 zeros).
_MAX_SIGNIFICANT_DECIMALS = 15


def _decimals(scaled: float) -> int:
    """Decimals that keep three or more significant digits without false precision."""
    size = abs(scaled)
    if size >= 10_000:
        return 0
    if size >= 10:
        return 1
    return 2


@dataclass(frozen=True)
class Numbers:
    """Numbers, units and dates in one language.

    Attributes:
        lang: ``nl`` or ``en`` (a Babel locale).
    """

    lang: str

    def decimal(self, value: float, decimals: int) -> str:
        """``value`` with grouping and exactly ``decimals`` decimals."""
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return str(format_decimal(value, format=pattern, locale=self.lang))

    def count(self, value: int) -> str:
        """A whole number with grouping: ``1.234`` (nl), ``1,234`` (en)."""
        return self.decimal(value, 0)

    def scaled(self, value: float) -> str:
        """A number already in its display unit, with sensible decimals."""
        if value == 0:
            return "0"
        return self.decimal(value, _decimals(value))

    def approx(self, value: float) -> str:
        """An everyday amount (km, days) to about three digits: ``2.315``, ``12,5``;
        below 1, two significant digits (``0,00012``), so a small month never reads 0."""
        size = abs(value)
        if size < 10.0**-_MAX_APPROX_DECIMALS:
            return "0"
        if size < 1:
            decimals = min(1 - math.floor(math.log10(size)), _MAX_APPROX_DECIMALS)
        else:
            decimals = 0 if size >= 100 else 1
        return self.decimal(value, decimals)

    def energy(self, kwh: float, *, signed: bool = False) -> str:
        """An energy in the unit that keeps its digits: ``1.234,5 kWh``, ``4,56 mWh``."""
        scaled, unit = pick_unit(kwh, ENERGY_UNITS)
        return f"{self._sign(kwh, signed)}{self.scaled(abs(scaled) if signed else scaled)} {unit}"

    def co2(self, kg: float, *, signed: bool = False) -> str:
        """A CO2e mass: ``12,3 kg CO₂e``, ``4,5 g CO₂e``."""
        scaled, unit = pick_unit(kg, CO2_UNITS[1:] if abs(kg) < 1000 else CO2_UNITS)
        return f"{self._sign(kg, signed)}{self.scaled(abs(scaled) if signed else scaled)} {unit}"

    def energy_unit(self, largest_kwh: float) -> tuple[float, str]:
        """The (factor, unit) a chart whose largest value is ``largest_kwh`` should use."""
        return energy_unit(largest_kwh)

    def energy_range(
        self, low_kwh: float, high_kwh: float, *, like_kwh: float | None = None
    ) -> str:
        """An estimate's range in words a manager reads, both ends in one unit:
        ``tussen 1,20 en 3,40 Wh`` (nl), ``between 1.20 and 3.40 Wh`` (en).

        Args:
            low_kwh, high_kwh: the range (kWh).
            like_kwh: the figure shown beside it (kWh), whose unit the range takes so
                the two read together; by default the unit of the larger end.
        """
        largest = abs(like_kwh) if like_kwh is not None else max(abs(low_kwh), abs(high_kwh))
        factor, unit = energy_unit(largest)
        between, also = _BETWEEN[self.lang]
        low, high = self.scaled(low_kwh * factor), self.scaled(high_kwh * factor)
        return f"{between} {low} {also} {high} {unit}"

    def co2_range(self, low_kg: float, high_kg: float, *, like_kg: float | None = None) -> str:
        """A CO2e range in words: ``tussen 1,20 en 3,40 g CO₂e``; ``like_kg`` as
        :meth:`energy_range`'s ``like_kwh``."""
        largest = abs(like_kg) if like_kg is not None else max(abs(low_kg), abs(high_kg))
        factor, unit = co2_unit(largest)
        between, also = _BETWEEN[self.lang]
        return f"{between} {self.scaled(low_kg * factor)} {also} {self.scaled(high_kg * factor)} {unit}"

    def significant(self, value: float, digits: int = 3) -> str:
        """``value`` to ``digits`` significant digits, never in exponent notation:
        ``0,00000287`` (a small month in MWh), ``1.234`` (nl)."""
        size = abs(value)
        if size < 10.0**-_MAX_SIGNIFICANT_DECIMALS:
            return "0"
        decimals = digits - 1 - math.floor(math.log10(size))
        return self.decimal(value, max(0, min(decimals, _MAX_SIGNIFICANT_DECIMALS)))

    def mwh(self, kwh: float) -> str:
        """An energy in MWh, the unit of ESRS E1-5: ``0,00288 MWh``."""
        return f"{self.significant(kwh / KWH_PER_MWH)} MWh"

    def tonnes(self, kg: float) -> str:
        """A CO2e mass in tonnes, the unit of ESRS E1-6: ``0,000719 t CO₂e``."""
        return f"{self.significant(kg / KG_PER_TONNE)} t CO₂e"

    def size(self, size_bytes: float) -> str:
        """A data size in decimal units: ``1,5 GB``."""
        scaled, unit = pick_unit(size_bytes, _BYTE_UNITS)
        return f"{self.scaled(scaled)} {unit}"

    def percent(self, ratio: float, *, signed: bool = False) -> str:
        """A share or change: ``12%``, ``+4,5%``; one decimal below 10%."""
        points = ratio * 100
        decimals = 1 if 0 < abs(points) < 10 else 0
        text = self.decimal(abs(points) if signed else points, decimals)
        return f"{self._sign(ratio, signed)}{text}%"

    def euro(self, amount: float) -> str:
        """An amount in euro: ``€ 1.234,50`` (nl), ``€1,234.50`` (en)."""
        return str(format_currency(amount, "EUR", locale=self.lang))

    def duration(self, seconds: float) -> str:
        """A duration in hours (or minutes, below an hour)."""
        if seconds >= 3600:
            return f"{self.scaled(seconds / 3600)} {'uur' if self.lang == 'nl' else 'h'}"
        return f"{self.scaled(seconds / 60)} min"

    def month(self, month: str, *, year: bool = True) -> str:
        """``november 2026`` (nl), ``November 2026`` (en); without the year on request."""
        pattern = "MMMM yyyy" if year else "MMMM"
        return str(format_date(month_date(month), pattern, locale=self.lang))

    def month_short(self, month: str) -> str:
        """The abbreviated month name for chart ticks: ``nov`` (nl), ``Nov`` (en)."""
        return str(format_date(month_date(month), "LLL", locale=self.lang)).rstrip(".")

    def day(self, moment: datetime | date) -> str:
        """A date in words: ``3 november 2026``."""
        day = moment.date() if isinstance(moment, datetime) else moment
        return str(format_date(day, "long", locale=self.lang))

    def moment(self, moment: datetime) -> str:
        """A UTC time in words: ``30 november 2026 14:05 UTC``."""
        return str(format_datetime(moment, "d MMMM yyyy HH:mm", locale=self.lang)) + " UTC"

    @staticmethod
    def _sign(value: float, signed: bool) -> str:
        if not signed or value == 0:
            return ""
        return "+" if value > 0 else "-"


# -- words ---------------------------------------------------------------------------------

_WORDS: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "title": "Energie en CO₂e van datataken",
        "report_for": "Maandrapport {month}",
        "energy": "Energieverbruik",
        "co2": "CO₂-uitstoot",
        "runs": "Metingen",
        "change": "Verschil met {month}",
        "no_previous": "geen cijfers over {month}",
        "filter": "Filter",
        "all_runs": "alle metingen",
        "ledger": "Logboek",
        "generated": "Gemaakt op",
        "contents": "Inhoud",
        "summary": "Samenvatting",
        "trend": "Verloop over twaalf maanden",
        "jobs": "Grootste taken",
        "teams": "Per team",
        "kinds": "Per soort meting",
        "methods": "Gemeten of geschat",
        "sci": "Uitstoot per functionele eenheid (SCI)",
        "recommendations": "Openstaande aanbevelingen",
        "realised": "Gerealiseerde besparingen",
        "reliability": "Mislukte en onderbroken metingen",
        "equivalents": "Ter vergelijking",
        "method": "Methode",
        "glossary": "Begrippen",
        "job": "Taak",
        "team": "Team",
        "kind": "Soort",
        "share": "Aandeel",
        "prev_energy": "Energie {month}",
        "other_jobs": "overige taken ({count})",
        "other_teams": "overige teams ({count})",
        "no_team": "(zonder team)",
        "method_col": "Meetmethode",
        "energy_col": "Energie",
        "co2_col": "CO₂e",
        "runs_col": "Metingen",
        "unit_col": "Functionele eenheid",
        "this_month": "Deze maand",
        "per_run": "per meting",
        "per_gb": "per GB verwerkte data",
        "not_available": "n.v.t.",
        "advice": "Advies",
        "saving_year": "Besparing per jaar",
        "co2_year": "CO₂e per jaar",
        "eur_year": "Euro per jaar",
        "payback": "Terugverdiend na",
        "confidence": "Zekerheid",
        "days": "{count} dagen",
        "before_after": "Van → naar",
        "since": "Sinds",
        "saving_month": "Besparing deze maand",
        "status": "Afloop",
        "ok": "goed afgelopen",
        "failed": "mislukt (de taak gaf een fout)",
        "interrupted": "onderbroken (het proces verdween)",
        "running": "liep nog",
        "unmeasured": "zonder energiecijfer (meting mislukt)",
        "measured": "gemeten (RAPL)",
        "estimated": "geschat (belasting × vermogen per vCPU of TDP)",
        "imported": "geïmporteerd uit CodeCarbon",
        "source": "bron",
        "term": "Begrip",
        "meaning": "Betekenis",
        "chart_trend": "Energieverbruik per maand",
        "chart_jobs": "Energieverbruik per taak in {month}",
        "chart_teams": "Energieverbruik per team in {month}",
        "axis_energy": "energie ({unit})",
        "more_items": "En nog {count}; zie de CSV-bijlage of zuinig advise.",
        "intensity": "CO₂-intensiteit van stroom (locatiegebonden)",
        "pue": "PUE",
        "cpu_method": "Meetmethode processor",
        "tdp": "TDP",
        "cpu_coefficients": "Vermogen processor volgens",
        "ram_power": "Vermogen geheugen",
        "storage_model": "Opslagmodel",
        "tracking_mode": "Meetbereik",
        "attribution": "Toerekening",
        "range": "Bandbreedte",
        "without_range": "{runs} zonder bandbreedte",
        "codecarbon": "CodeCarbon-versies",
        "uncertainty": "Onzekerheid",
        "not_included": "Niet meegerekend",
        "estimated_yes": "ja",
        "estimated_no": "nee",
        "followed": "aanbeveling opgevolgd",
        "storage_saved": "minder opslag: {size}",
        "method_differs": "meetmethode verschilt: vergelijking indicatief",
        "co2_location": "CO₂e locatiegebonden",
        "co2_market": "CO₂e marktgebonden",
        "no_market": "geen marktgebonden cijfers",
        "annual": "Voor het jaarverslag",
        "esrs_item": "Gegeven (ESRS)",
        "esrs_energy": "Energieverbruik (E1-5)",
        "esrs_location": "Bruto scope 2-uitstoot, locatiegebonden (E1-6)",
        "esrs_market": "Bruto scope 2-uitstoot, marktgebonden (E1-6)",
        "year_to_date": "{year} t/m {month}",
        "split": "Verschil in CO₂e met {month}, gesplitst",
        "split_part": "Deel",
        "location_based": "Locatiegebonden",
        "market_based": "Marktgebonden",
        "energy_effect": "Energie-effect",
        "factor_effect": "Factoreffect",
        "split_total": "Totaal verschil",
        "market_factor": "Marktgebonden emissiefactor (het contract)",
        "split_basis_location": "Locatiegebonden gerekend",
        "split_basis_market": "Marktgebonden gerekend",
        "added_later": "Later toegevoegd",
    },
    "en": {
        "title": "Energy and CO₂e of data jobs",
        "report_for": "Monthly report {month}",
        "energy": "Energy use",
        "co2": "CO₂ emissions",
        "runs": "Runs",
        "change": "Change from {month}",
        "no_previous": "no figures for {month}",
        "filter": "Filter",
        "all_runs": "all runs",
        "ledger": "Ledger",
        "generated": "Generated",
        "contents": "Contents",
        "summary": "Summary",
        "trend": "Twelve-month trend",
        "jobs": "Largest jobs",
        "teams": "By team",
        "kinds": "By kind of run",
        "methods": "Measured or estimated",
        "sci": "Emissions per functional unit (SCI)",
        "recommendations": "Open recommendations",
        "realised": "Savings realised",
        "reliability": "Failed and interrupted runs",
        "equivalents": "For comparison",
        "method": "Method",
        "glossary": "Glossary",
        "job": "Job",
        "team": "Team",
        "kind": "Kind",
        "share": "Share",
        "prev_energy": "Energy {month}",
        "other_jobs": "other jobs ({count})",
        "other_teams": "other teams ({count})",
        "no_team": "(no team)",
        "method_col": "Method",
        "energy_col": "Energy",
        "co2_col": "CO₂e",
        "runs_col": "Runs",
        "unit_col": "Functional unit",
        "this_month": "This month",
        "per_run": "per run",
        "per_gb": "per GB of data processed",
        "not_available": "n/a",
        "advice": "Advice",
        "saving_year": "Saving per year",
        "co2_year": "CO₂e per year",
        "eur_year": "Euro per year",
        "payback": "Pays back in",
        "confidence": "Confidence",
        "days": "{count} days",
        "before_after": "From → to",
        "since": "Since",
        "saving_month": "Saving this month",
        "status": "Outcome",
        "ok": "completed",
        "failed": "failed (the job raised an error)",
        "interrupted": "interrupted (the process disappeared)",
        "running": "still running",
        "unmeasured": "without an energy figure (measurement failed)",
        "measured": "measured (RAPL)",
        "estimated": "estimated (load × watts per vCPU or TDP)",
        "imported": "imported from CodeCarbon",
        "source": "source",
        "term": "Term",
        "meaning": "Meaning",
        "chart_trend": "Energy use per month",
        "chart_jobs": "Energy use per job in {month}",
        "chart_teams": "Energy use per team in {month}",
        "axis_energy": "energy ({unit})",
        "more_items": "And {count} more; see the CSV appendix or zuinig advise.",
        "intensity": "Carbon intensity of electricity (location-based)",
        "pue": "PUE",
        "cpu_method": "CPU method",
        "tdp": "TDP",
        "cpu_coefficients": "CPU watts from",
        "ram_power": "Memory power",
        "storage_model": "Storage model",
        "tracking_mode": "Tracking mode",
        "attribution": "Attribution",
        "range": "Range",
        "without_range": "{runs} without a range",
        "codecarbon": "CodeCarbon versions",
        "uncertainty": "Uncertainty",
        "not_included": "Not included",
        "estimated_yes": "yes",
        "estimated_no": "no",
        "followed": "recommendation followed",
        "storage_saved": "storage saved: {size}",
        "method_differs": "method differs: comparison indicative",
        "co2_location": "CO₂e location-based",
        "co2_market": "CO₂e market-based",
        "no_market": "no market-based figures",
        "annual": "For the annual report",
        "esrs_item": "Disclosure (ESRS)",
        "esrs_energy": "Energy consumption (E1-5)",
        "esrs_location": "Gross scope 2 emissions, location-based (E1-6)",
        "esrs_market": "Gross scope 2 emissions, market-based (E1-6)",
        "year_to_date": "{year} to {month}",
        "split": "Change in CO₂e from {month}, split",
        "split_part": "Part",
        "location_based": "Location-based",
        "market_based": "Market-based",
        "energy_effect": "Energy effect",
        "factor_effect": "Factor effect",
        "split_total": "Total change",
        "market_factor": "Market-based emission factor (the contract)",
        "split_basis_location": "Location-based",
        "split_basis_market": "Market-based",
        "added_later": "Added later",
    },
}

_KINDS: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "function": "Python-functies",
        "command": "commando's",
        "bench": "benchmarks",
        "convert": "conversies",
        "dask": "Dask-taken",
    },
    "en": {
        "function": "Python functions",
        "command": "commands",
        "bench": "benchmarks",
        "convert": "conversions",
        "dask": "Dask jobs",
    },
}

_ADVICE_KINDS: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "configuration": "formaat en engine",
        "bench": "eerst meten",
        "threads": "aantal threads",
        "codec": "compressie",
        "streaming": "streaming",
        "dtype": "datatypen",
    },
    "en": {
        "configuration": "format and engine",
        "bench": "measure first",
        "threads": "thread count",
        "codec": "compression",
        "streaming": "streaming",
        "dtype": "data types",
    },
}

_CONFIDENCE: Final[dict[str, dict[str, str]]] = {
    "nl": {"clear": "duidelijk", "unclear": "onduidelijk", "indicative": "indicatief"},
    "en": {"clear": "clear", "unclear": "unclear", "indicative": "indicative"},
}

_CPU_METHODS: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "rapl": "gemeten met RAPL-tellers",
        "cpu_load": "geschat uit de CPU-belasting × een vermogen (gepubliceerde watts per vCPU of het TDP)",
        "constant": "geschat met een vast vermogen (de helft van het TDP)",
        "user_power": "geschat met een zelf ingesteld vermogen × belasting",
        "imported": "overgenomen uit CodeCarbon-bestanden",
        "none": "niet gemeten",
    },
    "en": {
        "rapl": "measured with RAPL counters",
        "cpu_load": "estimated from CPU load × a power figure (published watts per vCPU or the TDP)",
        "constant": "estimated with a constant power (half the TDP)",
        "user_power": "estimated from calibrated watts × load",
        "imported": "taken from CodeCarbon files",
        "none": "not measured",
    },
}

# The keys of zuinig.report.equivalents.
_EQUIVALENTS: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "car_km": "{amount} km rijden met een nieuwe personenauto",
        "petrol_litres": "{amount} liter benzine verbranden",
        "household_days": "{amount} dagen stroomverbruik van een gemiddeld huishouden",
    },
    "en": {
        "car_km": "{amount} km driven in a new passenger car",
        "petrol_litres": "{amount} litres of petrol burnt",
        "household_days": "{amount} days of an average household's electricity",
    },
}

_SENTENCES: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "empty": "In {month} zijn geen metingen vastgelegd{scope}.",
        "empty_rest": "Er zijn daarom geen cijfers, grafieken of tabellen over deze maand; de methode en begrippen hieronder gelden voor elk rapport.",
        "totals": "In {month} zijn {runs} vastgelegd{scope}; samen gebruikten ze {energy}, goed voor {co2}{market}.",
        "totals_market": " volgens het net (locatiegebonden) en {co2} volgens het stroomcontract (marktgebonden)",
        "rose": "Het energieverbruik steeg {pct} ({delta}) ten opzichte van {prev}{driver}.",
        "fell": "Het energieverbruik daalde {pct} ({delta}) ten opzichte van {prev}{driver}.",
        "unchanged": "Het energieverbruik bleef gelijk aan dat van {prev}.",
        "no_previous": "Over {prev} zijn geen energiecijfers om mee te vergelijken.",
        "driver": ", vooral door taak ‘{job}’ ({delta})",
        "trend": "Over de {months} maanden van {first} tot en met {last} gebruikten de metingen samen {energy}; {peak} was de maand met het hoogste verbruik ({peak_energy}).",
        "trend_empty": "In de {months} maanden tot en met {last} is geen energieverbruik vastgelegd; daarom staat hier geen grafiek.",
        "jobs_one": "In {month} draaide één taak: ‘{job}’, met {energy}.",
        "jobs": "In {month} draaiden {count}. De grootste was ‘{job}’ met {energy} ({share} van het totaal).",
        "jobs_top": "De {top} grootste taken samen gebruikten {share} van de energie; de overige {rest} staan samen op één regel en per taak in de CSV-bijlage.",
        "no_jobs": "In {month} draaiden geen taken; daarom staat hier geen grafiek.",
        "teams": "Teams zijn de waarden van het label ‘{tag}’. ‘{team}’ gebruikte het meest: {energy} ({share}).",
        "teams_untagged": "{energy} ({share}) komt van metingen zonder label ‘{tag}’.",
        "teams_none": 'Geen enkele meting heeft een label ‘{tag}’, dus er is geen verdeling per team. Geef taken het label mee, bijvoorbeeld tags={{"{tag}": "ruimte"}}.',
        "kinds": "Het meeste verbruik kwam van {kind} ({share} van de energie).",
        "methods": "{measured} van de energie is gemeten met de RAPL-tellers van de processor; {estimated} is geschat.",
        "methods_none": "Geen van de cijfers van deze maand is gemeten: alle energie is geschat.",
        "methods_all": "Alle energie van deze maand is gemeten met de RAPL-tellers van de processor.",
        "methods_imported": "{imported} van de energie komt uit geïmporteerde CodeCarbon-bestanden, met de methode die CodeCarbon toen gebruikte.",
        "methods_explain": "Zonder RAPL schat zuinig het vermogen van de processor uit de belasting van de machine maal een vermogen: het TDP (ontwerpvermogen) uit de tabel van CodeCarbon, of, waar CodeCarbon de processor niet kent, de gepubliceerde watts per vCPU van Cloud Carbon Footprint (uit SPECpower, 2022). Het geheugen krijgt de schatting van CodeCarbon voor al het geheugen van de machine. Elke taak krijgt daarvan haar aandeel in processortijd en vastgehouden geheugen (zie Toerekening), en elk geschat cijfer heeft een bereik van laag tot hoog.",
        "methods_unmeasured": "{runs} hebben geen energiecijfer, omdat de meting mislukte; ze tellen niet mee in de totalen.",
        "sci": "De Software Carbon Intensity (SCI, ISO/IEC 21031) deelt de uitstoot door een functionele eenheid: SCI = (E × I + M) / R. Deze maand was dat {per_run} per meting en {per_gb}.",
        "sci_no_runs": "Zonder metingen met een energiecijfer is er deze maand geen SCI.",
        "sci_per_gb": "{value} per GB verwerkte data",
        "sci_no_gb": "per GB niet te berekenen, omdat de metingen geen gelezen databestanden vastlegden",
        "sci_m": "De ingebedde uitstoot van de hardware (M in de formule) is niet meegerekend: M = 0. Een GB is hier 10⁹ bytes aan gelezen databestanden.",
        "recs": "Er {verb} {count} open. Als ze alle worden opgevolgd, besparen ze naar verwachting {kwh} per jaar ({co2}{eur}).",
        "recs_no_saving": "Er {verb} {count} open; geen ervan heeft al een berekende besparing.",
        "recs_none": "Er staan geen aanbevelingen open.",
        "recs_bench": "{count} {verb} eerst een meting met zuinig bench voordat er een besparing te noemen is.",
        "confidence_explain": "Duidelijk: het 95%-interval van de besparing sluit nul uit. Onduidelijk: het interval omvat nul. Indicatief: één meting, andere data of een andere meetmethode; de richting klopt, het getal is onzeker.",
        "realised": "In {month} bespaarden {count} energie door anders te werken: samen {kwh} deze maand, naar een heel jaar gerekend {year}.",
        "realised_none": "In {month} is geen besparing gerealiseerd door een andere werkwijze.",
        "reliability": "Van de {runs} in {month} zijn er {ok} goed afgelopen, {failed} mislukt en {interrupted} onderbroken.",
        "reliability_running": "{running} liepen nog toen dit rapport werd gemaakt.",
        "reliability_empty": "In {month} zijn geen metingen vastgelegd, dus ook geen mislukte.",
        "equivalents": "Om de cijfers voor te stellen: het verbruik en de uitstoot van deze maand zijn te vergelijken met:",
        "equivalents_none": "Voor deze maand zijn geen vergelijkingen te maken.",
        "equivalent_basis_co2_kg": "op basis van de CO₂-uitstoot",
        "equivalent_basis_energy_kwh": "op basis van het energieverbruik",
        "method_intro": "Elk cijfer in dit rapport komt uit het logboek van zuinig; hieronder staat hoe het tot stand kwam en wat niet is meegeteld.",
        "intensity_item": "{value} ({country}bron: {source}{year}{row}{boundary}), gebruikt door {runs}",
        "intensity_unknown": "onbekend",
        "factor_row": "; rij ‘{row}’",
        "boundary_well-to-wheel": "; met keten (well-to-wheel: productie én winning en transport van brandstoffen)",
        "boundary_tank-to-wheel": "; alleen productie (tank-to-wheel: zonder de keten)",
        "scope2_explain": "Locatiegebonden rekent met de gemiddelde uitstoot van het stroomnet waar de stroom vandaan komt; marktgebonden rekent met de stroom die volgens het contract is ingekocht (bijvoorbeeld groene stroom met garanties van oorsprong).",
        "annual_intro": "Hieronder staan de cijfers in de termen van de ESRS (de Europese standaard voor duurzaamheidsverslaggeving): E1-5, energieverbruik in MWh, en E1-6, bruto scope 2-uitstoot in ton CO₂e, zowel locatiegebonden als marktgebonden. Ze gelden voor {month} en voor het jaar tot en met {month}; zoals in de rest van het rapport tellen alleen metingen op het hoogste niveau mee.",
        "annual_scope": "Het gaat alleen om de gemeten datataken, niet om al het stroomverbruik van de organisatie.",
        "annual_added_later": "{runs} in het jaar tot en met {month} {verb} een marktgebonden cijfer dat later is toegevoegd: berekend bij het bijwerken van het logboek, met de contractfactor van dat moment.",
        "split_none": "Het verschil in uitstoot met {prev} is niet te splitsen in een energie-effect en een factoreffect: over {prev} is geen energieverbruik vastgelegd.",
        "split_rose": "{basis} steeg de uitstoot met {total} ten opzichte van {prev}: {energy} en {factor}.",
        "split_fell": "{basis} daalde de uitstoot met {total} ten opzichte van {prev}: {energy} en {factor}.",
        "split_same": "{basis} bleef de uitstoot gelijk aan die van {prev}: {energy} en {factor}.",
        "energy_more": "{amount} meer door meer stroom (energie-effect)",
        "energy_less": "{amount} minder door minder stroom (energie-effect)",
        "energy_zero": "niets door de hoeveelheid stroom (energie-effect)",
        "factor_more": "{amount} meer door een hogere emissiefactor (factoreffect{detail})",
        "factor_less": "{amount} minder door een lagere emissiefactor (factoreffect{detail})",
        "factor_zero": "niets door de emissiefactor (factoreffect{detail})",
        "factor_lists": "; lijst {year} in plaats van {prev_year}",
        "factor_average": "; gemiddeld {prev_factor} → {factor}",
        "split_explain": "Het energie-effect is het verschil in stroom maal de emissiefactor van {prev}; het factoreffect is de stroom van deze maand maal het verschil in emissiefactor. Samen zijn ze precies het verschil in uitstoot.",
        "added_later_item": "{runs} {verb} een marktgebonden cijfer dat later is toegevoegd (bij het bijwerken van het logboek, met de contractfactor van dat moment); het locatiegebonden cijfer is het oorspronkelijke.",
        "tdp_item": "{values}; bij {generic} was het een algemene schatting (onbekend processortype)",
        "storage_item": "{wh} Wh per TB-uur × replicatie {replication} × PUE (standaardwaarden van Cloud Carbon Footprint); alleen gebruikt in aanbevelingen over opslag in rust",
        "storage_none": "niet gebruikt deze maand",
        "uncertainty_text": "Een gemeten cijfer (RAPL) is de stand van de tellers van de machine, verdeeld over de taken volgens de toerekening hierboven. Een geschat cijfer rust op een model (ontwerpwaarde of gepubliceerde watt per vCPU, geheugenvermogen per GB) en staat daarom met zijn bandbreedte: het laagste en het hoogste cijfer dat de gepubliceerde grenzen van het model geven; bij een gemeten cijfer is de bandbreedte de meting zelf. Vergelijk geschatte cijfers alleen met cijfers die op dezelfde machine op dezelfde manier zijn geschat. Besparingen staan met hun 95%-interval, dat ook de bandbreedte van het model omvat.",
        "attribution_rule": "Draaien er meer taken tegelijk op één machine, dan krijgt elke taak een deel van het verbruik van die machine. De processor wordt verdeeld naar het aandeel van de taak in alle processortijd die de machine in die periode gebruikte; het geheugen naar het aandeel van het geheugen dat de taak vasthield (GB-seconden); de GPU telt zoals gemeten. Stond de machine verder stil, dan draagt de taak ook het stilstandsverbruik. Zo tellen taken die tegelijk draaiden nooit op tot meer dan de machine verbruikte. Met meetbereik machine (tracking_mode = machine) krijgt een taak het verbruik van de hele machine. Metingen van vóór deze regel houden hun cijfers en hun label en worden niet met de nieuwe vergeleken: codecarbon-process (processor naar de belasting van het proces, geheugen een vast minimum per proces) en codecarbon-machine (de hele machine).",
        "attribution_item": "{rule}: {runs}",
        "coefficients_item": "{words}: {runs}",
        "range_total": "Het totaal ligt {range}: de som van de bandbreedtes van alle metingen.",
        "range_missing": "{runs} zonder bandbreedte (gemeten voordat zuinig die bijhield); daarom staat het totaal zonder bandbreedte.",
        "excluded_embodied": "de ingebedde uitstoot van de hardware (M = 0 in de SCI)",
        "excluded_network": "netwerkverkeer",
        "excluded_idle": "machines die stilstaan of wachten tussen taken",
        "excluded_gpu": "de GPU, tenzij die gemeten is",
        "excluded_storage": "opslag in rust, behalve in aanbevelingen over opslag",
        "filter_scope": " (alleen metingen met {tags})",
    },
    "en": {
        "empty": "No runs were recorded in {month}{scope}.",
        "empty_rest": "So there are no figures, charts or tables for this month; the method and glossary below hold for every report.",
        "totals": "In {month}, {runs} were recorded{scope}; together they used {energy}, accounting for {co2}{market}.",
        "totals_market": " by the grid (location-based) and {co2} by the electricity contract (market-based)",
        "rose": "Energy use rose {pct} ({delta}) compared with {prev}{driver}.",
        "fell": "Energy use fell {pct} ({delta}) compared with {prev}{driver}.",
        "unchanged": "Energy use was unchanged from {prev}.",
        "no_previous": "There are no energy figures for {prev} to compare with.",
        "driver": ", mainly because of job ‘{job}’ ({delta})",
        "trend": "Over the {months} months from {first} to {last}, runs used {energy} in all; {peak} was the month with the highest use ({peak_energy}).",
        "trend_empty": "No energy use was recorded in the {months} months up to {last}, so there is no chart here.",
        "jobs_one": "One job ran in {month}: ‘{job}’, using {energy}.",
        "jobs": "{count_cap} ran in {month}. The largest was ‘{job}’ with {energy} ({share} of the total).",
        "jobs_top": "The {top} largest jobs together used {share} of the energy; the other {rest} share one line here and are listed one by one in the CSV appendix.",
        "no_jobs": "No jobs ran in {month}, so there is no chart here.",
        "teams": "Teams are the values of the tag ‘{tag}’. ‘{team}’ used the most: {energy} ({share}).",
        "teams_untagged": "{energy} ({share}) comes from runs without a ‘{tag}’ tag.",
        "teams_none": 'No run has a ‘{tag}’ tag, so there is no breakdown by team. Give jobs the tag, for example tags={{"{tag}": "planning"}}.',
        "kinds": "Most energy went to {kind} ({share} of the energy).",
        "methods": "{measured} of the energy was measured with the processor's RAPL counters; {estimated} was estimated.",
        "methods_none": "None of this month's figures was measured: all energy was estimated.",
        "methods_all": "All of this month's energy was measured with the processor's RAPL counters.",
        "methods_imported": "{imported} of the energy comes from imported CodeCarbon files, with the method CodeCarbon used at the time.",
        "methods_explain": "Without RAPL, zuinig estimates the processor's power from the machine's load times a power figure: the TDP (design power) from CodeCarbon's table or, where CodeCarbon does not know the processor, Cloud Carbon Footprint's published watts per vCPU (from SPECpower, 2022). Memory gets CodeCarbon's estimate for all of the machine's memory. Each job is charged its share of the CPU time and of the memory held (see Attribution), and every estimated figure has a low-to-high range.",
        "methods_unmeasured": "{runs} have no energy figure because the measurement failed; they are left out of the totals.",
        "sci": "The Software Carbon Intensity (SCI, ISO/IEC 21031) divides emissions by a functional unit: SCI = (E × I + M) / R. This month it was {per_run} per run and {per_gb}.",
        "sci_no_runs": "Without runs that have an energy figure there is no SCI this month.",
        "sci_per_gb": "{value} per GB of data processed",
        "sci_no_gb": "cannot be given per GB, because the runs recorded no data files read",
        "sci_m": "The embodied emissions of the hardware (M in the formula) are not included: M = 0. A GB here is 10⁹ bytes of data files read.",
        "recs": "There {verb} {count} open. If all are followed, they are expected to save {kwh} a year ({co2}{eur}).",
        "recs_no_saving": "There {verb} {count} open; none of them has a computed saving yet.",
        "recs_none": "There are no open recommendations.",
        "recs_bench": "{count} first {verb} a measurement with zuinig bench before a saving can be given.",
        "confidence_explain": "Clear: the 95% interval of the saving excludes zero. Unclear: the interval includes zero. Indicative: a single measurement, other data or another method; the direction holds, the figure is uncertain.",
        "realised": "In {month}, {count} saved energy by working differently: {kwh} this month in all, {year} over a full year.",
        "realised_none": "No savings from a change of configuration were realised in {month}.",
        "reliability": "Of the {runs} in {month}, {ok} completed, {failed} failed and {interrupted} were interrupted.",
        "reliability_running": "{running} were still running when this report was made.",
        "reliability_empty": "No runs were recorded in {month}, so none failed.",
        "equivalents": "To picture the figures: this month's energy use and emissions compare with:",
        "equivalents_none": "No comparisons can be made for this month.",
        "equivalent_basis_co2_kg": "based on the CO₂ emissions",
        "equivalent_basis_energy_kwh": "based on the energy use",
        "method_intro": "Every figure in this report comes from zuinig's ledger; below is how it was obtained and what was left out.",
        "intensity_item": "{value} ({country}source: {source}{year}{row}{boundary}), used by {runs}",
        "intensity_unknown": "unknown",
        "factor_row": "; row ‘{row}’",
        "boundary_well-to-wheel": "; with the supply chain (well-to-wheel: production plus extraction and transport of fuels)",
        "boundary_tank-to-wheel": "; production only (tank-to-wheel: without the supply chain)",
        "scope2_explain": "Location-based uses the average emissions of the grid the electricity comes from; market-based uses the electricity bought under the contract (for example green power with guarantees of origin).",
        "annual_intro": "Below are the figures in the terms of the ESRS (the European Sustainability Reporting Standards): E1-5, energy consumption in MWh, and E1-6, gross scope 2 emissions in tonnes of CO₂e, both location-based and market-based. They cover {month} and the year up to and including {month}; as in the rest of the report, only top-level runs count.",
        "annual_scope": "They cover the measured data jobs only, not all of the organisation's electricity.",
        "annual_added_later": "{runs} in the year to {month} {verb} a market-based figure that was added later: computed when the ledger was updated, with the contract's factor of that moment.",
        "split_none": "The change in emissions from {prev} cannot be split into an energy effect and a factor effect: no energy use was recorded in {prev}.",
        "split_rose": "{basis}, emissions rose by {total} from {prev}: {energy} and {factor}.",
        "split_fell": "{basis}, emissions fell by {total} from {prev}: {energy} and {factor}.",
        "split_same": "{basis}, emissions stayed the same as in {prev}: {energy} and {factor}.",
        "energy_more": "{amount} more from using more electricity (energy effect)",
        "energy_less": "{amount} less from using less electricity (energy effect)",
        "energy_zero": "nothing from the amount of electricity (energy effect)",
        "factor_more": "{amount} more from a higher emission factor (factor effect{detail})",
        "factor_less": "{amount} less from a lower emission factor (factor effect{detail})",
        "factor_zero": "nothing from the emission factor (factor effect{detail})",
        "factor_lists": "; the {year} list instead of {prev_year}",
        "factor_average": "; on average {prev_factor} → {factor}",
        "split_explain": "The energy effect is the change in electricity times the emission factor of {prev}; the factor effect is this month's electricity times the change in emission factor. Together they are exactly the change in emissions.",
        "added_later_item": "{runs} {verb} a market-based figure that was added later (when the ledger was updated, with the contract's factor of that moment); the location-based figure is the original one.",
        "tdp_item": "{values}; for {generic} it was a generic guess (unknown processor model)",
        "storage_item": "{wh} Wh per TB-hour × replication {replication} × PUE (Cloud Carbon Footprint defaults); used only in advice on storage at rest",
        "storage_none": "not used this month",
        "uncertainty_text": "A measured figure (RAPL) is the machine's counter reading, shared out among the jobs by the attribution rule above. An estimated figure rests on a model (a design value or published watts per vCPU, memory power per GB) and is therefore given with its range: the lowest and highest figure the model's published bounds give; a measured figure's range is its reading. Compare estimated figures only with figures estimated the same way on the same machine. Savings are given with their 95% interval, which also spans the model's range.",
        "attribution_rule": "When several jobs run at once on one machine, each job is charged a share of that machine's energy. The processor is shared by the job's share of all the CPU time the machine spent over the job's window; memory by its share of the memory held (GB-seconds); the GPU counts as measured. Where the machine was otherwise idle, the job also carries the idle part. So jobs that ran at the same time never add up to more than the machine used. With tracking mode machine (tracking_mode = machine) a job is charged the whole machine's energy. Runs measured before this rule keep their figures and their label and are not compared with the new ones: codecarbon-process (processor by the process's load, memory a fixed minimum per process) and codecarbon-machine (the whole machine).",
        "attribution_item": "{rule}: {runs}",
        "coefficients_item": "{words}: {runs}",
        "range_total": "The total lies {range}: the sum of every run's range.",
        "range_missing": "{runs} without a range (measured before zuinig kept one), so the total is shown without a range.",
        "excluded_embodied": "the embodied emissions of the hardware (M = 0 in the SCI)",
        "excluded_network": "network traffic",
        "excluded_idle": "machines standing idle or waiting between jobs",
        "excluded_gpu": "the GPU, unless it was measured",
        "excluded_storage": "storage at rest, except in advice on storage",
        "filter_scope": " (only runs with {tags})",
    },
}

#: Attribution rules (Method.attribution) in words.
_ATTRIBUTIONS: Final = {
    "nl": {
        "resource-share": "naar gebruikt aandeel (processortijd, vastgehouden geheugen)",
        "machine": "de hele machine",
        "codecarbon-process": "codecarbon-process (eerdere regel)",
        "codecarbon-machine": "codecarbon-machine (eerdere regel)",
    },
    "en": {
        "resource-share": "by share used (CPU time, memory held)",
        "machine": "the whole machine",
        "codecarbon-process": "codecarbon-process (earlier rule)",
        "codecarbon-machine": "codecarbon-machine (earlier rule)",
    },
}

# (term, nl name, nl meaning, en name, en meaning): DESIGN.md's begrippenkader.
_GLOSSARY: Final = (
    (
        "run",
        "meting",
        "Eén keer dat een taak draaide en gemeten werd, met begin, einde, energie, uitstoot en meetmethode.",
        "run",
        "One execution of a job that was measured, with its start, end, energy, emissions and method.",
    ),
    (
        "job",
        "taak",
        "Een herhaald stuk werk met een vaste naam, zoals een script of een functie die elke nacht draait.",
        "job",
        "A recurring piece of work with a fixed name, such as a script or a function run every night.",
    ),
    (
        "ledger",
        "logboek",
        "De database waarin zuinig elke meting bewaart; alle cijfers in dit rapport komen eruit.",
        "ledger",
        "The database in which zuinig keeps every run; every figure in this report comes from it.",
    ),
    (
        "energy_kwh",
        "energieverbruik",
        "Elektrische energie van processor en geheugen tijdens de meting, maal de PUE, in kilowattuur (kWh).",
        "energy use",
        "Electrical energy of processor and memory during the run, times the PUE, in kilowatt-hours (kWh).",
    ),
    (
        "co2_kg",
        "CO₂-uitstoot (CO₂-equivalent)",
        "Het energieverbruik maal de CO₂-intensiteit van stroom, in kilogram CO₂-equivalent (kg CO₂e): andere broeikasgassen omgerekend naar CO₂.",
        "CO₂ emissions (CO₂ equivalent)",
        "Energy use times the carbon intensity of electricity, in kilograms of CO₂ equivalent (kg CO₂e): other greenhouse gases converted to CO₂.",
    ),
    (
        "carbon intensity",
        "CO₂-intensiteit van stroom",
        "Gram CO₂e per kWh stroom in het land van de machine, als jaargemiddelde (location-based).",
        "carbon intensity",
        "Grams of CO₂e per kWh of electricity in the machine's country, as a yearly average (location-based).",
    ),
    (
        "location-based",
        "locatiegebonden",
        "CO₂e berekend met de gemiddelde emissiefactor van het stroomnet (voor Nederland de stroommix van CO2emissiefactoren.nl van het jaar van de meting); GHG Protocol scope 2.",
        "location-based",
        "CO₂e computed with the average emission factor of the grid (for the Netherlands the electricity mix of CO2emissiefactoren.nl of the run's year); GHG Protocol scope 2.",
    ),
    (
        "market-based",
        "marktgebonden",
        "CO₂e berekend met de emissiefactor van de stroom die volgens het contract is ingekocht (grijs, onbekende herkomst, of groen met garanties van oorsprong); GHG Protocol scope 2.",
        "market-based",
        "CO₂e computed with the emission factor of the electricity bought under the contract (grey, unknown origin, or green with guarantees of origin); GHG Protocol scope 2.",
    ),
    (
        "energy effect",
        "energie-effect",
        "Het deel van het verschil in uitstoot met de vorige maand dat komt doordat er meer of minder stroom is gebruikt (bij de emissiefactor van de vorige maand).",
        "energy effect",
        "The part of the change in emissions from the previous month that comes from using more or less electricity (at the previous month's emission factor).",
    ),
    (
        "factor effect",
        "factoreffect",
        "Het deel van het verschil in uitstoot met de vorige maand dat komt doordat de emissiefactor veranderde, bijvoorbeeld door een nieuwe jaarlijst.",
        "factor effect",
        "The part of the change in emissions from the previous month that comes from a change of emission factor, for example a new yearly list.",
    ),
    (
        "PUE",
        "PUE",
        "Power Usage Effectiveness: het totale verbruik van een datacenter gedeeld door het verbruik van de IT-apparatuur; 1,0 betekent geen koeling of verlies.",
        "PUE",
        "Power Usage Effectiveness: a data centre's total energy use divided by the energy use of its IT equipment; 1.0 means no cooling or losses.",
    ),
    (
        "method",
        "meetmethode",
        "Hoe het energiecijfer tot stand kwam: gemeten via RAPL (tellers in de processor) of geschat uit TDP en belasting.",
        "method",
        "How the energy figure was obtained: measured with RAPL (counters in the processor) or estimated from TDP and load.",
    ),
    (
        "attribution",
        "toerekening",
        "Hoe het verbruik van een machine over de taken erop wordt verdeeld: processor naar aandeel in de processortijd, geheugen naar vastgehouden geheugen, GPU zoals gemeten.",
        "attribution",
        "How a machine's energy is shared out among the jobs on it: processor by share of CPU time, memory by memory held, GPU as measured.",
    ),
    (
        "range",
        "bandbreedte",
        "Het laagste en hoogste cijfer dat een schatting kan zijn volgens de gepubliceerde grenzen van haar model; bij een gemeten cijfer de meting zelf.",
        "range",
        "The lowest and highest an estimate can be by its model's published bounds; for a measured figure, the reading itself.",
    ),
    (
        "SCI",
        "SCI",
        "Software Carbon Intensity (ISO/IEC 21031): uitstoot per functionele eenheid, (E × I + M) / R.",
        "SCI",
        "Software Carbon Intensity (ISO/IEC 21031): emissions per functional unit, (E × I + M) / R.",
    ),
    (
        "functional unit",
        "functionele eenheid",
        "Waar de uitstoot door gedeeld wordt om werk vergelijkbaar te maken, zoals één meting of één GB verwerkte data.",
        "functional unit",
        "What emissions are divided by to make work comparable, such as one run or one GB of data processed.",
    ),
    (
        "storage at rest",
        "opslag in rust",
        "Energie om bestanden bewaard te houden, ook als niemand ze leest: grootte × Wh per TB-uur × replicatie × PUE.",
        "storage at rest",
        "Energy to keep files stored even when nobody reads them: size × Wh per TB-hour × replication × PUE.",
    ),
)

# Singular and plural of the nouns that are counted in sentences.
_NL_PLURALS: Final = {
    "run": ("meting", "metingen"),
    "job": ("taak", "taken"),
    "recommendation": ("aanbeveling", "aanbevelingen"),
    "team": ("team", "teams"),
}
_EN_PLURALS: Final = {
    "run": ("run", "runs"),
    "job": ("job", "jobs"),
    "recommendation": ("recommendation", "recommendations"),
    "team": ("team", "teams"),
}


@dataclass(frozen=True)
class Texts:
    """Every word of the report in one language.

    Attributes:
        lang: ``nl`` or ``en``.
    """

    lang: str

    @property
    def numbers(self) -> Numbers:
        """Numbers, units and dates in this language."""
        return Numbers(self.lang)

    def word(self, key: str, **fields: object) -> str:
        """A fixed word or heading, with ``fields`` filled in."""
        text = _WORDS[self.lang][key]
        return text.format(**fields) if fields else text

    def sentence(self, key: str, **fields: object) -> str:
        """A sentence template filled in with already formatted ``fields``."""
        return _SENTENCES[self.lang][key].format(**fields)

    def counted(self, count: int, noun: str) -> str:
        """``1 meting``, ``3 metingen``, ``1,234 runs``."""
        forms = (_NL_PLURALS if self.lang == "nl" else _EN_PLURALS)[noun]
        return f"{self.numbers.count(count)} {forms[0] if count == 1 else forms[1]}"

    def have(self, count: int) -> str:
        """The verb "to have" for ``count`` subjects: ``heeft``/``hebben``, ``has``/``have``."""
        forms = ("heeft", "hebben") if self.lang == "nl" else ("has", "have")
        return forms[0] if count == 1 else forms[1]

    def kind(self, kind: str) -> str:
        """A kind of run in words (``function`` -> ``Python-functies``)."""
        return _KINDS[self.lang].get(kind, kind)

    def advice_kind(self, kind: str) -> str:
        """A kind of recommendation in words."""
        return _ADVICE_KINDS[self.lang].get(kind, kind)

    def confidence(self, confidence: str | None) -> str:
        """``clear``/``unclear``/``indicative`` in words; a dash when unknown."""
        if confidence is None:
            return "–"
        return _CONFIDENCE[self.lang].get(confidence, confidence)

    def attribution(self, rule: str) -> str:
        """An attribution rule (``resource-share``, ``codecarbon-process``, ...) in words."""
        return _ATTRIBUTIONS[self.lang].get(rule, rule)

    def cpu_method(self, method: str) -> str:
        """A CPU method (``rapl``, ``cpu_load``, ...) in words."""
        return _CPU_METHODS[self.lang].get(method, method)

    def team(self, name: str) -> str:
        """A team name; runs without the team tag are named ``""`` in the figures."""
        return name if name else self.word("no_team")

    def equivalent(self, key: str, amount: str) -> str:
        """An everyday comparison in words; an unknown key is shown as it is named."""
        template = _EQUIVALENTS[self.lang].get(key)
        if template is None:
            return f"{amount} × {key.replace('_', ' ')}"
        return template.format(amount=amount)

    def unit(self, unit: str) -> str:
        """A constant's unit as written in this language (``kWh/day`` -> ``kWh/dag``)."""
        if self.lang == "nl":
            return unit.replace("/day", "/dag")
        return unit

    def glossary(self) -> list[tuple[str, str, str]]:
        """(term in this language, the term in the other language, meaning)."""
        rows = []
        for _, nl_name, nl_text, en_name, en_text in _GLOSSARY:
            if self.lang == "nl":
                rows.append((nl_name, en_name, nl_text))
            else:
                rows.append((en_name, nl_name, en_text))
        return rows

    # -- sentences drawn from the figures ---------------------------------------------------

    def scope(self, report: MonthlyReport) -> str:
        """`` (only runs with team=x)`` when a tag filter was applied, else empty."""
        if not report.tags:
            return ""
        tags = ", ".join(f"{key}={value}" for key, value in sorted(report.tags.items()))
        return self.sentence("filter_scope", tags=tags)

    def summary(self, report: MonthlyReport) -> list[str]:
        """The opening sentences: totals, and the change against the previous month."""
        n = self.numbers
        month = n.month(report.month)
        if report.is_empty:
            return [
                self.sentence("empty", month=month, scope=self.scope(report)),
                self.sentence("empty_rest"),
            ]
        lines = [
            self.sentence(
                "totals",
                month=month,
                runs=self.counted(report.totals.runs, "run"),
                scope=self.scope(report),
                energy=n.energy(report.totals.energy_kwh),
                co2=n.co2(report.totals.co2_kg),
                market=self.market_clause(report.totals),
            )
        ]
        lines.append(self.change(report))
        return lines

    def market_clause(self, totals: Totals) -> str:
        """Both scope 2 figures in the opening sentence, where runs carry a market-based one.

        A reader of the summary alone must not take the grid's figure for the contract's
        (GHG Protocol scope 2 asks for both); without market-based figures the sentence
        names only the one figure there is.
        """
        if totals.market_runs == 0:
            return ""
        return self.sentence("totals_market", co2=self.numbers.co2(totals.co2_kg_market_based))

    def previous_month(self, report: MonthlyReport) -> str:
        """The previous month's name, with its year only when that differs."""
        same_year = report.previous_month[:4] == report.month[:4]
        return self.numbers.month(report.previous_month, year=not same_year)

    def change(self, report: MonthlyReport) -> str:
        """One sentence on the change against the previous month, naming its main cause."""
        n = self.numbers
        prev = self.previous_month(report)
        ratio = report.change_ratio
        if ratio is None:
            return self.sentence("no_previous", prev=prev)
        if abs(ratio) < UNCHANGED_RATIO:
            return self.sentence("unchanged", prev=prev)
        driver = ""
        cause = main_cause(report.jobs, report.change_kwh)
        if cause is not None:
            driver = self.sentence(
                "driver", job=cause.name, delta=n.energy(cause.change_kwh, signed=True)
            )
        return self.sentence(
            "rose" if ratio > 0 else "fell",
            pct=n.percent(abs(ratio)),
            delta=n.energy(report.change_kwh, signed=True),
            prev=prev,
            driver=driver,
        )

    def trend(self, report: MonthlyReport) -> str:
        """One sentence on the twelve months: their total and the peak month."""
        n = self.numbers
        points: Sequence[MonthPoint] = report.trend
        months = len(points) or 12
        last = n.month(report.month)
        total_kwh = sum(p.energy_kwh for p in points)
        if total_kwh <= 0:
            return self.sentence("trend_empty", months=months, last=last)
        peak = max(points, key=lambda p: p.energy_kwh)
        return self.sentence(
            "trend",
            months=months,
            first=n.month(points[0].month),
            last=last,
            energy=n.energy(total_kwh),
            peak=n.month(peak.month),
            peak_energy=n.energy(peak.energy_kwh),
        )

    def jobs(self, report: MonthlyReport, top: int) -> list[str]:
        """Sentences on the jobs: how many, the largest, the share of the top ones."""
        n = self.numbers
        month = n.month(report.month)
        jobs = report.jobs
        if not jobs:
            return [self.sentence("no_jobs", month=month)]
        largest = jobs[0]
        total = report.totals.energy_kwh
        if len(jobs) == 1:
            return [
                self.sentence(
                    "jobs_one",
                    month=month,
                    job=largest.name,
                    energy=n.energy(largest.totals.energy_kwh),
                )
            ]
        count = self.counted(len(jobs), "job")
        lines = [
            self.sentence(
                "jobs",
                month=month,
                count=count,
                count_cap=count[:1].upper() + count[1:],
                job=largest.name,
                energy=n.energy(largest.totals.energy_kwh),
                share=n.percent(_share(largest.totals.energy_kwh, total)),
            )
        ]
        if len(jobs) > top:
            top_kwh = sum(job.totals.energy_kwh for job in jobs[:top])
            lines.append(
                self.sentence(
                    "jobs_top",
                    top=n.count(top),
                    share=n.percent(_share(top_kwh, total)),
                    rest=n.count(len(jobs) - top),
                )
            )
        return lines

    def teams(self, report: MonthlyReport) -> list[str]:
        """Sentences on the teams: the largest, and the share without a team tag."""
        n = self.numbers
        total = report.totals.energy_kwh
        named = [t for t in report.teams if t.name]
        untagged = [t for t in report.teams if not t.name]
        if not named:
            return [self.sentence("teams_none", tag=report.team_tag)]
        largest = named[0]
        lines = [
            self.sentence(
                "teams",
                tag=report.team_tag,
                team=largest.name,
                energy=n.energy(largest.totals.energy_kwh),
                share=n.percent(_share(largest.totals.energy_kwh, total)),
            )
        ]
        if untagged and untagged[0].totals.runs:
            kwh = untagged[0].totals.energy_kwh
            lines.append(
                self.sentence(
                    "teams_untagged",
                    tag=report.team_tag,
                    energy=n.energy(kwh),
                    share=n.percent(_share(kwh, total)),
                )
            )
        return lines

    def kinds(self, report: MonthlyReport) -> list[str]:
        """One sentence naming the kind of run that used the most energy."""
        if not report.kinds:
            return []
        largest = max(report.kinds, key=lambda k: k.totals.energy_kwh)
        share = _share(largest.totals.energy_kwh, report.totals.energy_kwh)
        return [
            self.sentence("kinds", kind=self.kind(largest.name), share=self.numbers.percent(share))
        ]

    def methods(self, report: MonthlyReport) -> list[str]:
        """Measured against estimated, and what an estimate means."""
        n = self.numbers
        totals = report.totals
        lines: list[str] = []
        if totals.energy_kwh > 0:
            measured = _share(totals.measured_energy_kwh, totals.energy_kwh)
            estimated = _share(totals.estimated_energy_kwh, totals.energy_kwh)
            if totals.measured_energy_kwh <= 0 and totals.imported_energy_kwh <= 0:
                lines.append(self.sentence("methods_none"))
            elif totals.estimated_energy_kwh <= 0 and totals.imported_energy_kwh <= 0:
                lines.append(self.sentence("methods_all"))
            else:
                lines.append(
                    self.sentence(
                        "methods",
                        measured=_capital(n.percent(measured)),
                        estimated=n.percent(estimated),
                    )
                )
            if totals.imported_energy_kwh > 0:
                imported = _share(totals.imported_energy_kwh, totals.energy_kwh)
                lines.append(self.sentence("methods_imported", imported=n.percent(imported)))
        lines.append(self.sentence("methods_explain"))
        if totals.unmeasured_runs:
            lines.append(
                self.sentence(
                    "methods_unmeasured", runs=self.counted(totals.unmeasured_runs, "run")
                )
            )
        return lines

    def sci(self, report: MonthlyReport) -> list[str]:
        """SCI per run and per GB, and that embodied emissions are left out."""
        n = self.numbers
        per_run = report.totals.sci_kg_per_run
        if per_run is None:
            return [self.sentence("sci_no_runs"), self.sentence("sci_m")]
        per_gb_kg = report.totals.sci_kg_per_gb
        per_gb = (
            self.sentence("sci_per_gb", value=n.co2(per_gb_kg))
            if per_gb_kg is not None
            else self.sentence("sci_no_gb")
        )
        return [self.sentence("sci", per_run=n.co2(per_run), per_gb=per_gb), self.sentence("sci_m")]

    def recommendations(self, report: MonthlyReport) -> list[str]:
        """How many recommendations are open and what following them all would save."""
        n = self.numbers
        recs = report.recommendations
        if not recs:
            return [self.sentence("recs_none")]
        verb = (
            ("staat" if len(recs) == 1 else "staan")
            if self.lang == "nl"
            else ("is" if len(recs) == 1 else "are")
        )
        count = self.counted(len(recs), "recommendation")
        with_saving = [r for r in recs if r.saving_kwh_per_year is not None]
        lines: list[str] = []
        if with_saving:
            kwh = sum(r.saving_kwh_per_year or 0.0 for r in with_saving)
            co2 = sum(r.saving_co2_kg_per_year or 0.0 for r in with_saving)
            euros = [
                r.saving_eur_per_year for r in with_saving if r.saving_eur_per_year is not None
            ]
            eur = f", {n.euro(sum(euros))}" if euros else ""
            lines.append(
                self.sentence(
                    "recs", verb=verb, count=count, kwh=n.energy(kwh), co2=n.co2(co2), eur=eur
                )
            )
        else:
            lines.append(self.sentence("recs_no_saving", verb=verb, count=count))
        bench = [r for r in recs if r.kind == "bench"]
        if bench:
            one = len(bench) == 1
            verb = (
                ("vraagt" if one else "vragen")
                if self.lang == "nl"
                else ("needs" if one else "need")
            )
            lines.append(
                self.sentence(
                    "recs_bench",
                    count=_capital(self.counted(len(bench), "recommendation")),
                    verb=verb,
                )
            )
        return lines

    def realised(self, report: MonthlyReport) -> list[str]:
        """What changes of configuration saved in the month."""
        n = self.numbers
        month = n.month(report.month)
        if not report.realised:
            return [self.sentence("realised_none", month=month)]
        kwh = sum(r.saving_kwh_in_month or 0.0 for r in report.realised)
        year = sum(r.saving_kwh_per_year or 0.0 for r in report.realised)
        return [
            self.sentence(
                "realised",
                month=month,
                count=self.counted(len(report.realised), "job"),
                kwh=n.energy(kwh),
                year=n.energy(year),
            )
        ]

    def reliability(self, report: MonthlyReport) -> list[str]:
        """Runs that failed, were interrupted or still ran, counted."""
        n = self.numbers
        totals = report.totals
        month = n.month(report.month)
        if report.is_empty:
            return [self.sentence("reliability_empty", month=month)]
        lines = [
            self.sentence(
                "reliability",
                runs=self.counted(totals.runs, "run"),
                month=month,
                ok=n.count(totals.ok),
                failed=n.count(totals.failed),
                interrupted=n.count(totals.interrupted),
            )
        ]
        if totals.running:
            lines.append(
                self.sentence(
                    "reliability_running", running=_capital(self.counted(totals.running, "run"))
                )
            )
        return lines

    # -- Dutch accounting: scope 2 both ways, ESRS, energy and factor effect ---------------

    def factor(self, used: IntensityUsed) -> str:
        """A factor with its source, list year, row and boundary, and the runs using it."""
        n = self.numbers
        unknown = self.sentence("intensity_unknown")
        boundary = (
            self.sentence(f"boundary_{used.boundary}")
            if used.boundary in ("well-to-wheel", "tank-to-wheel")
            else (f"; {used.boundary}" if used.boundary else "")
        )
        return self.sentence(
            "intensity_item",
            value=f"{n.scaled(used.intensity_g_per_kwh)} g CO₂e/kWh"
            if used.intensity_g_per_kwh is not None
            else unknown,
            # A market factor is the contract's, not a country's grid.
            country="" if used.basis == "market" else f"{used.country_iso_code or unknown}; ",
            source=used.source or unknown,
            year=f", {used.year}" if used.year else "",
            row=self.sentence("factor_row", row=used.name) if used.name else "",
            boundary=boundary,
            runs=self.counted(used.runs, "run"),
        )

    def change_split(self, report: MonthlyReport) -> list[str]:
        """The change of CO2e against the previous month split into energy and factor
        effect, one sentence per basis (location, market), and how the split works."""
        prev = self.previous_month(report)
        splits = [split for split in report.change_split if split.basis in ("location", "market")]
        if not splits:
            return []
        if any(split.energy_effect_co2_kg is None for split in splits):
            return [self.sentence("split_none", prev=prev)]
        lines = [self._split_sentence(split, prev) for split in splits]
        lines.append(self.sentence("split_explain", prev=prev))
        return lines

    def _split_sentence(self, split: ChangeSplit, prev: str) -> str:
        n = self.numbers
        energy_effect = split.shown(split.energy_effect_co2_kg) or 0.0
        factor_effect = split.shown(split.factor_effect_co2_kg) or 0.0
        change = split.shown(split.change_co2_kg) or 0.0
        detail = ""
        if split.previous_year and split.year and split.previous_year != split.year:
            detail = self.sentence("factor_lists", year=split.year, prev_year=split.previous_year)
        f0, f1 = split.previous_co2_kg_per_kwh, split.co2_kg_per_kwh
        if f0 is not None and f1 is not None and not math.isclose(f0, f1, rel_tol=NOISE_RATIO):
            detail += self.sentence(
                "factor_average",
                prev_factor=f"{n.scaled(f0 * 1000)} g CO₂e/kWh",
                factor=f"{n.scaled(f1 * 1000)} g CO₂e/kWh",
            )
        return self.sentence(
            "split_rose" if change > 0 else "split_fell" if change < 0 else "split_same",
            basis=self.word(f"split_basis_{split.basis}"),
            total=n.co2(abs(change)),
            prev=prev,
            energy=self.sentence(
                _direction("energy", energy_effect), amount=n.co2(abs(energy_effect))
            ),
            factor=self.sentence(
                _direction("factor", factor_effect),
                amount=n.co2(abs(factor_effect)),
                detail=detail,
            ),
        )

    def annual(self, report: MonthlyReport) -> list[str]:
        """The opening of "For the annual report": what ESRS asks and what is counted."""
        month = self.numbers.month(report.month)
        lines = [self.sentence("annual_intro", month=month), self.sentence("annual_scope")]
        later = report.annual[-1].market_added_later_runs if report.annual else 0
        if later:
            lines.append(
                self.sentence(
                    "annual_added_later",
                    runs=_capital(self.counted(later, "run")),
                    month=month,
                    verb=self.have(later),
                )
            )
        return lines


def _direction(effect: str, kg: float) -> str:
    """``energy_more``, ``factor_less``, ...: the sentence for an effect's sign."""
    return f"{effect}_{'more' if kg > 0 else 'less' if kg < 0 else 'zero'}"


def main_cause(jobs: Sequence[GroupFigures], change_kwh: float) -> GroupFigures | None:
    """The job whose own change went furthest in the direction of the month's change."""
    same_way = [job for job in jobs if job.change_kwh * change_kwh > 0]
    if not same_way:
        return None
    return max(same_way, key=lambda job: abs(job.change_kwh))


def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else 0.0


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
