"""The figures of one monthly report: what :mod:`zuinig.report.aggregate` computes from
the ledger and what :mod:`zuinig.report.render` turns into HTML, PDF and CSV.

Pure data, no I/O and no language: every text a reader sees is made by the renderer
from these fields (in Dutch or English), so the same figures give the same report in
both languages and the CSV appendix holds exactly what the pages show.

Units are in the names (``energy_kwh``, ``co2_kg``, ``duration_s``, ``*_bytes``).
Totals follow the ledger's rule: a parent run's window covers its children, so only
top-level runs are summed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

__all__ = [
    "AnnualFigures",
    "ChangeSplit",
    "Equivalent",
    "GroupFigures",
    "IntensityUsed",
    "MethodSummary",
    "MonthPoint",
    "MonthlyReport",
    "OpenRecommendation",
    "RealisedSaving",
    "Totals",
]

#: kWh in one MWh (ESRS E1-5 reports energy in MWh).
KWH_PER_MWH: Final = 1000.0
#: kg in one metric tonne (ESRS E1-6 reports emissions in t CO2e).
KG_PER_TONNE: Final = 1000.0
#: A part of a change of CO2e smaller than this share of the months' CO2e is rounding
#: noise of ``f = C / E`` (1e-14 kg of a month's 40 kg), shown as no change.
NOISE_RATIO: Final = 1e-9


@dataclass(frozen=True)
class Totals:
    """Sums over a set of top-level runs (a month, a job, a team).

    Attributes:
        runs: runs counted (every status).
        energy_kwh: energy of the runs that have a measurement (kWh).
        co2_kg: their CO2e (kg, location-based).
        duration_s: their wall time (s).
        cpu_s: their CPU time (s), where recorded.
        processed_bytes: bytes of data files the runs read (their recorded inputs'
            sizes; a file read by two runs counts twice): the "GB processed" of SCI.
        ok, failed, interrupted, running: runs by status (``failed`` = ``error``;
            ``interrupted`` = left ``running`` by a process that is gone).
        measured_runs: runs whose CPU energy was read from RAPL counters.
        estimated_runs: runs whose energy was estimated (CPU load x TDP, constants).
        imported_runs: runs imported from CodeCarbon files (method as CodeCarbon had it).
        unmeasured_runs: runs without an energy figure (the measurement failed).
        measured_energy_kwh, estimated_energy_kwh, imported_energy_kwh: energy by method.
        range_runs: runs with an energy figure and its range (an estimate's low and
            high; a measured figure's range is its reading, low = high).
        ranged_energy_kwh_low, ranged_energy_kwh_high, ranged_co2_kg_low,
            ranged_co2_kg_high: sums of those runs' range ends (kWh, kg CO2e). They
            bound the total only when every run has a range: see :attr:`energy_kwh_low`.
        co2_kg_market_based: CO2e of the runs with a market-based figure (kg): energy
            times the contract's factor (GHG Protocol scope 2, market-based).
        market_runs: runs with a market-based figure.
        market_added_later_runs: runs whose market-based figure was not computed when
            they were measured but filled in later (ledger migration), from the factor
            set at that time.
    """

    runs: int = 0
    energy_kwh: float = 0.0
    co2_kg: float = 0.0
    duration_s: float = 0.0
    cpu_s: float = 0.0
    processed_bytes: int = 0
    ok: int = 0
    failed: int = 0
    interrupted: int = 0
    running: int = 0
    measured_runs: int = 0
    estimated_runs: int = 0
    imported_runs: int = 0
    unmeasured_runs: int = 0
    measured_energy_kwh: float = 0.0
    estimated_energy_kwh: float = 0.0
    imported_energy_kwh: float = 0.0
    range_runs: int = 0
    ranged_energy_kwh_low: float = 0.0
    ranged_energy_kwh_high: float = 0.0
    ranged_co2_kg_low: float = 0.0
    ranged_co2_kg_high: float = 0.0
    co2_kg_market_based: float = 0.0
    market_runs: int = 0
    market_added_later_runs: int = 0

    @property
    def energy_mwh(self) -> float:
        """The energy in MWh, the unit of ESRS E1-5 (1 MWh = 1000 kWh)."""
        return self.energy_kwh / KWH_PER_MWH

    @property
    def co2_kg_location_based(self) -> float:
        """The location-based CO2e (kg): the grid mix's factor; the same as :attr:`co2_kg`,
        named as ESRS E1-6 and the GHG Protocol name it."""
        return self.co2_kg

    @property
    def runs_without_range(self) -> int:
        """Runs with an energy figure but no range (measured before ranges were kept)."""
        return self.runs - self.unmeasured_runs - self.range_runs

    @property
    def has_range(self) -> bool:
        """Whether every run with an energy figure has a range (and there is one)."""
        return self.range_runs > 0 and self.runs_without_range == 0

    @property
    def energy_kwh_low(self) -> float | None:
        """Low end of the total's range (kWh): the sum of the runs' lows; ``None``
        unless every run has a range (a partial sum would bound nothing)."""
        return self.ranged_energy_kwh_low if self.has_range else None

    @property
    def energy_kwh_high(self) -> float | None:
        """High end of the total's range (kWh); ``None`` unless every run has one."""
        return self.ranged_energy_kwh_high if self.has_range else None

    @property
    def co2_kg_low(self) -> float | None:
        """Low end of the CO2e total's range (kg); ``None`` unless every run has one."""
        return self.ranged_co2_kg_low if self.has_range else None

    @property
    def co2_kg_high(self) -> float | None:
        """High end of the CO2e total's range (kg); ``None`` unless every run has one."""
        return self.ranged_co2_kg_high if self.has_range else None

    @property
    def sci_kg_per_run(self) -> float | None:
        """SCI per run (kg CO2e per run, ISO/IEC 21031 with M = 0); None without runs."""
        measured = self.runs - self.unmeasured_runs
        return self.co2_kg / measured if measured > 0 else None

    @property
    def sci_kg_per_gb(self) -> float | None:
        """SCI per GB processed (kg CO2e per 10^9 bytes read); None when nothing was read."""
        return self.co2_kg / (self.processed_bytes / 1e9) if self.processed_bytes > 0 else None

    @property
    def measured_share(self) -> float | None:
        """Share of the energy (0..1) measured with RAPL rather than estimated."""
        return self.measured_energy_kwh / self.energy_kwh if self.energy_kwh > 0 else None


@dataclass(frozen=True)
class GroupFigures:
    """One job, team or kind of work in the month, with the month before for comparison.

    Attributes:
        name: the job name, the tag value, or the run kind.
        totals: this month.
        previous_energy_kwh: the same group's energy the month before (kWh); 0.0 when
            it did not run then.
    """

    name: str
    totals: Totals
    previous_energy_kwh: float = 0.0

    @property
    def change_kwh(self) -> float:
        """This month's energy minus the previous month's (kWh)."""
        return self.totals.energy_kwh - self.previous_energy_kwh


@dataclass(frozen=True)
class MonthPoint:
    """One month of the 12-month trend."""

    month: str  # YYYY-MM
    runs: int
    energy_kwh: float
    co2_kg: float
    co2_kg_market_based: float = 0.0
    market_added_later_runs: int = 0
    market_runs: int = 0


@dataclass(frozen=True)
class Equivalent:
    """The month's CO2e or energy put in everyday terms, with the constant's source.

    Attributes:
        key: which comparison (``car_km``, ``household_days``, ...); the renderer
            words it per language.
        amount: how many (e.g. km driven).
        basis: ``co2_kg`` or ``energy_kwh``: what is divided by the constant.
        constant: the constant used (per unit of ``key``), e.g. kg CO2e per km.
        constant_unit: the constant's unit, e.g. ``kg CO2e/km``.
        source: where the constant comes from (publisher, title, year).
        source_url: the source's address, when it has one.
    """

    key: str
    amount: float
    basis: str
    constant: float
    constant_unit: str
    source: str
    source_url: str | None = None


@dataclass(frozen=True)
class IntensityUsed:
    """A carbon intensity (emission factor) the month's runs used, and for how many runs.

    Attributes:
        intensity_g_per_kwh: the factor (g CO2e/kWh).
        source: the list or data set it comes from (e.g. CO2emissiefactoren.nl).
        year: the list's year.
        country_iso_code: the country of the grid (location-based factors).
        runs: runs that used it.
        name: the exact name of the list's row, where known.
        boundary: ``well-to-wheel`` (with the supply chain), ``tank-to-wheel``
            (production only), or ``None`` where the source does not say.
        basis: ``location`` (the grid mix) or ``market`` (the contract).
    """

    intensity_g_per_kwh: float | None
    source: str | None
    year: int | None
    country_iso_code: str | None
    runs: int
    name: str | None = None
    boundary: str | None = None
    basis: str = "location"


@dataclass(frozen=True)
class MethodSummary:
    """How the month's figures were obtained: what the method section discloses.

    Attributes:
        intensities: location-based carbon intensities used, most runs first.
        market_intensities: market-based ones (the contract's factor), most runs first.
        pue_values: PUE values used (sorted).
        cpu_methods: CPU method -> runs (``rapl``, ``cpu_load``, ``constant``, ...).
        tdp_generic_runs: runs whose TDP was a generic guess (no known CPU model).
        tdp_values_w: TDP values used (W, sorted).
        ram_power_values_w: RAM power values used (W, sorted).
        tracking_modes: tracking mode -> runs.
        attributions: attribution rule (``resource-share``, ``machine``, or an earlier
            rule such as ``codecarbon-process``) -> runs; runs without a recorded rule
            are not counted.
        cpu_coefficients: where estimated CPU watts came from (``Method.cpu_coefficients``:
            published per-vCPU watts with source and year, CodeCarbon's TDP table, or a
            calibrated figure) -> runs; runs without it recorded are not counted.
        storage_wh_per_tb_hour, storage_replication: the storage-at-rest model of advice.
        codecarbon_versions: CodeCarbon versions that measured the runs.
    """

    intensities: tuple[IntensityUsed, ...] = ()
    market_intensities: tuple[IntensityUsed, ...] = ()
    pue_values: tuple[float, ...] = ()
    cpu_methods: dict[str, int] = field(default_factory=dict)
    tdp_generic_runs: int = 0
    tdp_values_w: tuple[float, ...] = ()
    ram_power_values_w: tuple[float, ...] = ()
    tracking_modes: dict[str, int] = field(default_factory=dict)
    attributions: dict[str, int] = field(default_factory=dict)
    cpu_coefficients: dict[str, int] = field(default_factory=dict)
    storage_wh_per_tb_hour: float | None = None
    storage_replication: float | None = None
    codecarbon_versions: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenRecommendation:
    """A recommendation not yet followed, with its expected yearly saving.

    Energies in kWh, CO2e in kg, money in euro; ``*_low``/``*_high`` bound the 95%
    interval. ``confidence`` is ``clear``, ``unclear`` or ``indicative`` (see
    :mod:`zuinig.advise.savings`).
    """

    job: str
    kind: str
    current: str
    recommended: str | None
    saving_kwh_per_year: float | None
    saving_kwh_per_year_low: float | None
    saving_kwh_per_year_high: float | None
    saving_co2_kg_per_year: float | None
    saving_eur_per_year: float | None
    storage_saved_bytes: float | None
    payback_days: float | None
    confidence: str | None
    evidence: str | None  # the bench session behind it, in words (session id, data)
    command: str | None = None  # for ``bench`` advice: the command to measure first


@dataclass(frozen=True)
class RealisedSaving:
    """A saving a job realised in the month by changing configuration (kWh, 95% interval)."""

    job: str
    before: str
    after: str
    since: datetime
    runs_in_month: int | None
    saving_kwh_in_month: float | None
    saving_kwh_in_month_low: float | None
    saving_kwh_in_month_high: float | None
    saving_kwh_per_year: float | None
    method_match: bool
    followed_recommendation: bool | None
    confidence: str | None


@dataclass(frozen=True)
class ChangeSplit:
    """The month's change of CO2e split into an energy effect and a factor effect.

    With ``E`` the energy, ``C`` the CO2e and ``f = C / E`` the month's effective
    emission factor (0: the previous month, 1: this month)::

        energy effect = (E1 - E0) x f0     what the change of energy alone did
        factor effect = E1 x (f1 - f0)     what the change of the factor did

    and the two add up to ``C1 - C0`` (a two-factor decomposition whose cross term is
    charged to the factor effect). Without energy in the previous month there is no
    ``f0``: then both effects are ``None``. Without energy this month the factor
    effect is 0 (no energy was multiplied by a new factor).

    Attributes:
        basis: ``location`` (the grid mix) or ``market`` (the contract).
        previous_energy_kwh, energy_kwh: E0 and E1 (kWh).
        previous_co2_kg, co2_kg: C0 and C1 (kg CO2e).
        previous_year, year: the list year of each month's main factor (the one most
            runs used), to say in words which list changed; ``None`` where unknown.
    """

    basis: str
    previous_energy_kwh: float
    energy_kwh: float
    previous_co2_kg: float
    co2_kg: float
    previous_year: int | None = None
    year: int | None = None

    def shown(self, kg: float | None) -> float | None:
        """``kg`` as the report shows it: 0 where it is rounding noise (see
        :data:`NOISE_RATIO`); the CSV keeps the computed figure."""
        if kg is None:
            return None
        noise = NOISE_RATIO * max(abs(self.co2_kg), abs(self.previous_co2_kg))
        return 0.0 if abs(kg) <= noise else kg

    @property
    def change_co2_kg(self) -> float:
        """C1 - C0 (kg CO2e)."""
        return self.co2_kg - self.previous_co2_kg

    @property
    def previous_co2_kg_per_kwh(self) -> float | None:
        """f0 = C0 / E0 (kg CO2e/kWh); ``None`` without energy in the previous month."""
        if self.previous_energy_kwh <= 0:
            return None
        return self.previous_co2_kg / self.previous_energy_kwh

    @property
    def co2_kg_per_kwh(self) -> float | None:
        """f1 = C1 / E1 (kg CO2e/kWh); ``None`` without energy this month."""
        if self.energy_kwh <= 0:
            return None
        return self.co2_kg / self.energy_kwh

    @property
    def energy_effect_co2_kg(self) -> float | None:
        """(E1 - E0) x f0 (kg CO2e); ``None`` without energy in the previous month."""
        f0 = self.previous_co2_kg_per_kwh
        if f0 is None:
            return None
        return (self.energy_kwh - self.previous_energy_kwh) * f0

    @property
    def factor_effect_co2_kg(self) -> float | None:
        """E1 x (f1 - f0) (kg CO2e); 0 without energy this month, ``None`` without
        energy in the previous month."""
        f0 = self.previous_co2_kg_per_kwh
        if f0 is None:
            return None
        f1 = self.co2_kg_per_kwh
        if f1 is None:
            return 0.0
        return self.energy_kwh * (f1 - f0)


@dataclass(frozen=True)
class AnnualFigures:
    """The figures of the section "For the annual report", in ESRS E1-5/E1-6 terms, for
    one period (the month, or the year to date: 1 January up to the month's end).

    Top-level runs only, as the rest of the report. ESRS asks energy in MWh and gross
    scope 2 emissions in t CO2e, both location-based and market-based.

    Attributes:
        start, end: the period's first and last month (``YYYY-MM``).
        runs: runs counted.
        energy_kwh: energy consumption (kWh).
        co2_kg_location_based: gross scope 2, location-based (kg CO2e).
        co2_kg_market_based: gross scope 2, market-based (kg CO2e).
        market_added_later_runs: runs whose market-based figure was added later.
        market_runs: runs with a market-based figure (none: the market-based figure
            is not available, rather than zero).
    """

    start: str
    end: str
    runs: int
    energy_kwh: float
    co2_kg_location_based: float
    co2_kg_market_based: float
    market_added_later_runs: int = 0
    market_runs: int = 0

    @property
    def energy_mwh(self) -> float:
        """Energy consumption in MWh (ESRS E1-5)."""
        return self.energy_kwh / KWH_PER_MWH

    @property
    def co2_t_location_based(self) -> float:
        """Gross scope 2, location-based, in t CO2e (ESRS E1-6)."""
        return self.co2_kg_location_based / KG_PER_TONNE

    @property
    def co2_t_market_based(self) -> float:
        """Gross scope 2, market-based, in t CO2e (ESRS E1-6)."""
        return self.co2_kg_market_based / KG_PER_TONNE


@dataclass(frozen=True)
class MonthlyReport:
    """Everything one monthly report shows.

    Attributes:
        month: ``YYYY-MM``.
        previous_month: the month before, ``YYYY-MM``.
        generated_at: when the figures were read (UTC).
        tags: the ``--tag`` filter applied (empty: all runs).
        team_tag: the tag key whose values are the teams (``team``).
        ledger: the ledger read, password masked.
        totals: this month, all top-level runs.
        previous: the month before, same filter.
        trend: the 12 months ending with ``month``, oldest first.
        jobs: every job of the month, most energy first.
        teams: per value of ``team_tag``, most energy first; runs without that tag are
            under the name ``""``.
        kinds: per kind of run (``function``, ``command``, ``bench``, ``convert``).
        recommendations: open recommendations, largest yearly saving first.
        realised: savings realised in the month.
        equivalents: the month's CO2e and energy in everyday terms.
        method: how the figures were obtained.
        price_eur_per_kwh: the electricity price from settings, when set.
        change_split: the change of CO2e against the previous month split into energy
            and factor effect, location-based and market-based (in that order).
        annual: the section "For the annual report": the month and the year to date.
    """

    month: str
    previous_month: str
    generated_at: datetime
    tags: dict[str, str]
    team_tag: str
    ledger: str
    totals: Totals
    previous: Totals
    trend: tuple[MonthPoint, ...]
    jobs: tuple[GroupFigures, ...]
    teams: tuple[GroupFigures, ...]
    kinds: tuple[GroupFigures, ...]
    recommendations: tuple[OpenRecommendation, ...]
    realised: tuple[RealisedSaving, ...]
    equivalents: tuple[Equivalent, ...]
    method: MethodSummary
    price_eur_per_kwh: float | None = None
    change_split: tuple[ChangeSplit, ...] = ()
    annual: tuple[AnnualFigures, ...] = ()

    @property
    def is_empty(self) -> bool:
        """No runs in the month."""
        return self.totals.runs == 0

    @property
    def change_kwh(self) -> float:
        """This month's energy minus the previous month's (kWh)."""
        return self.totals.energy_kwh - self.previous.energy_kwh

    @property
    def change_ratio(self) -> float | None:
        """Relative change of energy against the previous month (0.12 = +12%); None
        when the previous month had no energy."""
        if self.previous.energy_kwh <= 0:
            return None
        return self.change_kwh / self.previous.energy_kwh
