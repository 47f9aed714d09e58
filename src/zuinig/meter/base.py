"""What a meter is and what it returns.

A :class:`Meter` opens a :class:`Window` around a piece of work; closing the
window gives a :class:`Measurement`, a frozen record whose field names carry
their units. Closing never raises: a meter that fails returns a measurement with
``energy_kwh = None`` and ``measurement_error`` set, so the measured job is never
broken by its measurement.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zuinig.summary import ShownAsSummary, Summary
from zuinig.units import plain_number

#: CPU methods, from best to worst evidence.
CPU_METHOD_RAPL = "rapl"  # read from the CPU's energy counters: measured
CPU_METHOD_CPU_LOAD = "cpu_load"  # TDP x load model: estimated
CPU_METHOD_CONSTANT = "constant"  # half the TDP whatever the load: estimated
CPU_METHOD_USER_POWER = "user_power"  # calibrated watts from settings x load: estimated
CPU_METHOD_IMPORTED = "imported"  # taken from another tool's output (method unknown)
CPU_METHOD_REPLAY = "replay"  # recorded values played back in tests
CPU_METHOD_NONE = "none"  # nothing measured (null meter, or the meter failed)

MEASURED_CPU_METHODS = frozenset({CPU_METHOD_RAPL})

#: GPU methods.
GPU_METHOD_NVML = "nvml"  # read from NVIDIA's management library (machine-wide): measured
GPU_METHOD_NONE = "none"  # no GPU seen, or not read

#: Attribution rules: how a machine's energy was shared out among the jobs on it.
#: CPU by the job tree's share of the machine's CPU time over the window, RAM by its share
#: of memory held (GB-seconds), GPU as measured. Runs overlapping on one host add up to no
#: more than the host used.
ATTRIBUTION_RESOURCE_SHARE = "resource-share"
#: The machine's whole power charged to the run (``tracking_mode = "machine"``).
ATTRIBUTION_MACHINE = "machine"
#: Runs measured before the resource-share rule, with a CodeCarbon tracker per window:
#: CPU estimated from the process's load, RAM a per-process constant (at least 10 W).
ATTRIBUTION_CODECARBON_PROCESS = "codecarbon-process"
#: Runs measured before the resource-share rule with CodeCarbon's machine mode.
ATTRIBUTION_CODECARBON_MACHINE = "codecarbon-machine"

#: Each attribution rule in words, for the method text, ``zuinig doctor`` and reports.
ATTRIBUTION_RULES: Mapping[str, str] = {
    ATTRIBUTION_RESOURCE_SHARE: (
        "the job is charged the machine's CPU energy times its share of the CPU time the "
        "machine spent over the run (alone on an otherwise idle machine it carries the "
        "idle draw too), the machine's RAM energy times its share of the memory held "
        "(GB-seconds), and GPU energy machine-wide; runs that overlap on one machine add "
        "up to no more than the machine used; for runs shorter than 1 s, the machine's "
        "busy CPU time and load are its recent average (over at least the last second "
        "where zuinig read it), never less than the job's own CPU time"
    ),
    ATTRIBUTION_MACHINE: (
        "the job is charged the whole machine's energy over the run, other programs "
        "included (tracking_mode = machine)"
    ),
    ATTRIBUTION_CODECARBON_PROCESS: (
        "measured with a CodeCarbon tracker per run: CPU estimated from the process's "
        "load, RAM a per-process constant of at least 10 W (figures of overlapping runs "
        "can add up to more than the machine used)"
    ),
    ATTRIBUTION_CODECARBON_MACHINE: (
        "measured with a CodeCarbon tracker per run in machine mode: the whole machine's "
        "power charged to the run"
    ),
}


@dataclass(frozen=True)
class Method:
    """How the energy and CO2e of a run were obtained: the provenance of its figures.

    Attributes:
        meter: the meter and its version, e.g. ``codecarbon 3.3.2``.
        cpu_method: one of the ``CPU_METHOD_*`` names.
        cpu_model: CPU brand string as detected.
        cpu_tdp_w: thermal design power used for the CPU estimate (W), if any.
        cpu_tdp_is_generic: ``True`` when the TDP is a generic guess (per-thread
            default) rather than a value looked up for this CPU model.
        cpu_count: logical CPUs of the machine.
        ram_model: how RAM power was obtained, in words.
        ram_power_w: RAM power used (W).
        tracking_mode: ``process`` or ``machine``.
        pue: power usage effectiveness applied.
        intensity_g_per_kwh: carbon intensity used (g CO2e per kWh).
        intensity_source: where that intensity comes from.
        intensity_year: the year the intensity describes, when known (for a
            CO2emissiefactoren.nl factor, the list's year).
        intensity_name: the intensity's row in its list, when the source has rows.
        intensity_boundary: ``well-to-wheel`` (with the supply chain), ``tank-to-wheel``
            (production only), or ``None`` when the source does not say.
        market_intensity_g_per_kwh: the market-based intensity (the contract; g CO2e per
            kWh), see :mod:`zuinig.factors`.
        market_intensity_source, market_intensity_year, market_intensity_name,
            market_intensity_boundary: as for the location-based intensity.
        country_iso_code: the grid's country.
        gpu_method: one of the ``GPU_METHOD_*`` names, when known.
        attribution: the rule that shared the machine's energy out among its jobs, one of
            the ``ATTRIBUTION_*`` names.
        cpu_coefficients: where the CPU's watts come from when CodeCarbon only guesses
            (a published per-vCPU figure with its source and year), in words.
    """

    meter: str
    cpu_method: str
    cpu_model: str | None = None
    cpu_tdp_w: float | None = None
    cpu_tdp_is_generic: bool = False
    cpu_count: int | None = None
    ram_model: str | None = None
    ram_power_w: float | None = None
    tracking_mode: str | None = None
    pue: float = 1.0
    intensity_g_per_kwh: float | None = None
    intensity_source: str | None = None
    intensity_year: int | None = None
    intensity_name: str | None = None
    intensity_boundary: str | None = None
    market_intensity_g_per_kwh: float | None = None
    market_intensity_source: str | None = None
    market_intensity_year: int | None = None
    market_intensity_name: str | None = None
    market_intensity_boundary: str | None = None
    country_iso_code: str | None = None
    gpu_method: str | None = None
    attribution: str | None = None
    cpu_coefficients: str | None = None

    @property
    def is_measured(self) -> bool:
        """Whether the CPU energy was read from hardware counters rather than estimated."""
        return self.cpu_method in MEASURED_CPU_METHODS

    def describe(self) -> str:
        """One plain sentence saying how the figures were obtained and shared out."""
        if self.cpu_method == CPU_METHOD_RAPL:
            cpu = "CPU energy measured with RAPL counters"
        elif self.cpu_method == CPU_METHOD_NONE:
            return "not measured"
        elif self.cpu_coefficients and self.cpu_tdp_is_generic:
            guess = (
                f" (CodeCarbon's generic TDP guess, {plain_number(self.cpu_tdp_w)} W, not used)"
                if self.cpu_tdp_w is not None
                else ""
            )
            cpu = (
                f"CPU energy estimated from the machine's load with {self.cpu_coefficients}{guess}"
            )
        elif self.cpu_coefficients:
            cpu = f"CPU energy estimated from the machine's load with {self.cpu_coefficients}"
        else:
            tdp = f"{plain_number(self.cpu_tdp_w)} W" if self.cpu_tdp_w is not None else "unknown W"
            guess = ", a generic guess" if self.cpu_tdp_is_generic else ""
            cpu = f"CPU energy estimated ({self.cpu_method}, TDP {tdp}{guess})"
        ram = f"RAM {self.ram_model}" if self.ram_model else "RAM not modelled"
        if self.ram_model and self.ram_power_w is not None:
            ram += f", {plain_number(self.ram_power_w)} W for the machine"
        gpu = (
            "; GPU energy read with NVML (machine-wide)"
            if self.gpu_method == GPU_METHOD_NVML
            else ""
        )
        intensity = (
            f"{plain_number(self.intensity_g_per_kwh)} g/kWh ({self.intensity_source})"
            if self.intensity_g_per_kwh is not None
            else "unknown intensity"
        )
        # Both scope 2 bases are named, so the contract's figure is never read as the grid's.
        market = (
            f"; market-based {plain_number(self.market_intensity_g_per_kwh)} g/kWh"
            f" ({self.market_intensity_source})"
            if self.market_intensity_g_per_kwh is not None
            else ""
        )
        rule = ATTRIBUTION_RULES.get(self.attribution or "")
        shared = f"; {rule}" if rule else ""
        return f"{cpu}; {ram}{gpu}; PUE {plain_number(self.pue)}; {intensity}{market}{shared}"


@dataclass(frozen=True)
class InputFile:
    """A data file the job read.

    Attributes:
        path: absolute path.
        size_bytes: size on disk when the run ended (bytes).
        format: ``csv``, ``csv.gz``, ``parquet``, ``arrow``, ``json`` ... or ``unknown``.
    """

    path: str
    size_bytes: int
    format: str


@dataclass(frozen=True)
class Measurement(ShownAsSummary):
    """The energy, CO2e and resource use of one window of work.

    Attributes:
        started_at: start, UTC.
        ended_at: end, UTC.
        duration_s: wall-clock duration (s).
        energy_kwh: total energy including PUE (kWh); ``None`` when measuring failed.
        cpu_energy_kwh: CPU share (kWh).
        ram_energy_kwh: RAM share (kWh).
        gpu_energy_kwh: GPU share (kWh).
        energy_kwh_low: the low end of the energy's range (kWh): the model's published
            lower bound for an estimate; the reading itself for a measured figure.
        energy_kwh_high: the high end of that range (kWh).
        co2_kg: emissions (kg CO2e) = ``energy_kwh`` x intensity / 1000.
        co2_kg_low: ``energy_kwh_low`` x intensity / 1000 (kg CO2e).
        co2_kg_high: ``energy_kwh_high`` x intensity / 1000 (kg CO2e).
        intensity_g_per_kwh: carbon intensity used (g CO2e per kWh).
        co2_kg_market_based: market-based emissions (kg CO2e) = ``energy_kwh`` x the
            method's ``market_intensity_g_per_kwh`` / 1000.
        cpu_s: CPU time of the process tree, user + system (s).
        cpu_share: the process tree's share of the CPU time the whole machine spent over
            the window (0..1), by which the machine's CPU energy was shared out.
        ram_gb_s: memory the process tree held, integrated over the window (GB-seconds),
            by which the machine's RAM energy was shared out.
        peak_rss_bytes: highest resident memory of the process tree (bytes).
        read_bytes: bytes read from storage by the process tree.
        written_bytes: bytes written to storage by the process tree.
        inputs: data files the work read.
        engines: data engines loaded, name to version.
        method: how the energy figures were obtained.
        measurement_error: why measuring failed, when it did.
    """

    started_at: datetime
    ended_at: datetime
    duration_s: float
    energy_kwh: float | None = None
    cpu_energy_kwh: float | None = None
    ram_energy_kwh: float | None = None
    gpu_energy_kwh: float | None = None
    energy_kwh_low: float | None = None
    energy_kwh_high: float | None = None
    co2_kg: float | None = None
    co2_kg_low: float | None = None
    co2_kg_high: float | None = None
    intensity_g_per_kwh: float | None = None
    co2_kg_market_based: float | None = None
    cpu_s: float | None = None
    cpu_share: float | None = None
    ram_gb_s: float | None = None
    peak_rss_bytes: int | None = None
    read_bytes: int | None = None
    written_bytes: int | None = None
    inputs: tuple[InputFile, ...] = ()
    engines: Mapping[str, str] = field(default_factory=dict)
    method: Method | None = None
    measurement_error: str | None = None

    @property
    def power_w(self) -> float | None:
        """Mean power over the window (W) = energy / duration."""
        if self.energy_kwh is None or self.duration_s <= 0:
            return None
        return self.energy_kwh * 3.6e6 / self.duration_s

    @property
    def ok(self) -> bool:
        """Whether energy was measured."""
        return self.energy_kwh is not None and self.measurement_error is None

    def summary(self) -> Summary:
        """Its main figures, for :mod:`zuinig.summary`'s renderers."""
        return Summary(
            energy_kwh=self.energy_kwh,
            energy_kwh_low=self.energy_kwh_low,
            energy_kwh_high=self.energy_kwh_high,
            co2_kg=self.co2_kg,
            co2_kg_low=self.co2_kg_low,
            co2_kg_high=self.co2_kg_high,
            is_measured=None if self.method is None else self.method.is_measured,
            duration_s=self.duration_s,
            measurement_error=self.measurement_error,
        )


class Window(abc.ABC):
    """An open measurement; :meth:`end` closes it exactly once."""

    @abc.abstractmethod
    def end(self) -> Measurement:
        """Close the window and return what was measured. Never raises."""


class Meter(abc.ABC):
    """Something that can measure the energy of a window of work."""

    #: Short name stored with every run (``codecarbon``, ``null``, ``replay``).
    name: str = "meter"

    @abc.abstractmethod
    def begin(self, context: Mapping[str, Any] | None = None) -> Window:
        """Open a window now.

        Args:
            context: hints about the work, such as ``{"paths": [...]}`` for
                files the job was called with; meters may use or ignore them.

        Never raises: a meter that cannot start returns a window whose
        measurement carries the error.
        """

    def method(self) -> Method:
        """The method this meter would use now, without measuring (for ``zuinig doctor``)."""
        return Method(meter=self.name, cpu_method=CPU_METHOD_NONE)
