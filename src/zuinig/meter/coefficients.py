"""Published coefficients zuinig uses where CodeCarbon only guesses, each with its source.

CodeCarbon looks a CPU's TDP up in its table by brand string. When the brand is not in
the table (``AMD EPYC`` on a cloud VM matches several rows equally), CodeCarbon falls
back to 4 W per thread, a figure with no published source. zuinig then uses Cloud
Carbon Footprint's (CCF) per-vCPU watts by microarchitecture instead, which come from
SPECpower results, with the linear utilisation curve CCF defines:

    W per vCPU = min_w + u x (max_w - min_w),   u = the machine's busy fraction

Every constant here is copied from CCF's source at the URL below; none is zuinig's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Where the per-vCPU figures come from.
CCF_SOURCE = "Cloud Carbon Footprint, per-vCPU min/max watts by microarchitecture (from SPECpower)"
#: The year of the coefficients (CCF's methodology and coefficient set, 2021-2022 releases).
CCF_YEAR = 2022
#: The files that hold them: ``MIN_WATTS_BY_COMPUTE_PROCESSOR`` and
#: ``MAX_WATTS_BY_COMPUTE_PROCESSOR`` of CCF's AWS constants (every row but EPYC 3rd gen),
#: and of its GCP constants (the only ones with an EPYC 3rd gen row). The processor
#: names are defined in ``packages/core/src/compute/ComputeProcessorTypes.ts``.
CCF_URL = (
    "https://github.com/cloud-carbon-footprint/cloud-carbon-footprint/blob/trunk/"
    "packages/aws/src/domain/AwsFootprintEstimationConstants.ts"
)
CCF_GCP_URL = (
    "https://github.com/cloud-carbon-footprint/cloud-carbon-footprint/blob/trunk/"
    "packages/gcp/src/domain/GcpFootprintEstimationConstants.ts"
)

#: CCF's memory coefficient: 0.000392 kWh per GB-hour (``MEMORY_COEFFICIENT``), i.e. W per GB.
CCF_MEMORY_W_PER_GB = 0.392
CCF_MEMORY_URL = (
    "https://github.com/cloud-carbon-footprint/cloud-carbon-footprint/blob/trunk/"
    "packages/aws/src/domain/AwsFootprintEstimationConstants.ts"
)


@dataclass(frozen=True)
class VcpuWatts:
    """Watts per vCPU at idle (``min_w``) and at full load (``max_w``)."""

    min_w: float
    max_w: float

    def power_w(self, vcpus: int, busy_fraction: float) -> float:
        """The curve: ``vcpus x (min_w + u x (max_w - min_w))`` (W), ``u`` clamped to 0..1."""
        u = min(max(busy_fraction, 0.0), 1.0)
        return vcpus * (self.min_w + u * (self.max_w - self.min_w))


#: ``min_watts_avg`` and ``max_watts_avg`` per CPU microarchitecture, as in CCF's
#: ``COMPUTE_PROCESSOR_TYPES`` (see :data:`CCF_URL`).
CCF_VCPU_WATTS: dict[str, VcpuWatts] = {
    "Cascade Lake": VcpuWatts(0.64, 3.97),
    "Skylake": VcpuWatts(0.65, 4.26),
    "Broadwell": VcpuWatts(0.71, 3.69),
    "Haswell": VcpuWatts(1.0, 4.74),
    "Coffee Lake": VcpuWatts(1.14, 5.42),
    "Sandy Bridge": VcpuWatts(2.17, 8.58),
    "Ivy Bridge": VcpuWatts(3.04, 8.25),
    "AMD EPYC 1st Gen": VcpuWatts(0.82, 2.55),
    "AMD EPYC 2nd Gen": VcpuWatts(0.47, 1.69),
    "AMD EPYC 3rd Gen": VcpuWatts(0.45, 2.02),
}

_EPYC = ("AMD EPYC 1st Gen", "AMD EPYC 2nd Gen", "AMD EPYC 3rd Gen")
# EPYC 7xx1 is Naples (1st gen), 7xx2 Rome (2nd), 7xx3 Milan (3rd): the last digit.
_EPYC_MODEL = re.compile(r"EPYC\s+7\w\w([123])\b", re.IGNORECASE)


@dataclass(frozen=True)
class CpuCoefficients:
    """The per-vCPU watts for one CPU, with the published spread around them.

    Attributes:
        label: the microarchitecture(s) the figures stand for, in words.
        central: the figure used for ``energy_kwh`` (CCF's average where the
            microarchitecture is uncertain, as CCF itself does).
        low: the lowest published figures among the candidate microarchitectures.
        high: the highest.
    """

    label: str
    central: VcpuWatts
    low: VcpuWatts
    high: VcpuWatts

    def describe(self) -> str:
        """The coefficients with their source and year, in one line."""
        return (
            f"{CCF_SOURCE}, {CCF_YEAR}: {self.label}, "
            f"{self.central.min_w:.2f}-{self.central.max_w:.2f} W per vCPU idle-full "
            f"(published spread {self.low.min_w:.2f}-{self.high.max_w:.2f} W); {CCF_URL}"
        )


def _spread(label: str, names: tuple[str, ...]) -> CpuCoefficients:
    figures = [CCF_VCPU_WATTS[name] for name in names]
    count = len(figures)
    return CpuCoefficients(
        label=label,
        central=VcpuWatts(
            sum(f.min_w for f in figures) / count, sum(f.max_w for f in figures) / count
        ),
        low=VcpuWatts(min(f.min_w for f in figures), min(f.max_w for f in figures)),
        high=VcpuWatts(max(f.min_w for f in figures), max(f.max_w for f in figures)),
    )


def coefficients_for(cpu_brand: str | None) -> CpuCoefficients:
    """CCF's per-vCPU watts for a CPU brand string, with their spread.

    A brand that names its microarchitecture (an EPYC 7xx1/2/3) gets that row, whose
    spread is the row itself; an EPYC of unknown generation gets the three EPYC rows
    (average, lowest and highest); anything else gets all CCF's CPU rows.
    """
    brand = cpu_brand or ""
    match = _EPYC_MODEL.search(brand)
    if match is not None:
        name = _EPYC[int(match.group(1)) - 1]
        return _spread(name, (name,))
    if "epyc" in brand.lower():
        return _spread("AMD EPYC, generation unknown (1st to 3rd gen)", _EPYC)
    return _spread("microarchitecture unknown (all CCF CPU rows)", tuple(CCF_VCPU_WATTS))
