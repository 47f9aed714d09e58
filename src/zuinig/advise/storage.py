"""Storage at rest: the energy of keeping bytes on disk, and what a smaller format saves.

The model is Cloud Carbon Footprint's (see ``../shared/EVIDENCE.md``): a stored terabyte
draws a constant power, given as energy per terabyte-hour (SSD 1.2 Wh/TB-h, HDD
0.65 Wh/TB-h), multiplied by the number of copies kept (replication) and by the data
centre's PUE::

    energy_kwh_per_year = bytes / 1e12 x wh_per_tb_hour x HOURS_PER_YEAR
                          x replication x pue / 1000

It is an *estimate* from constants, never a measurement: the figures carry that in their
``method`` text. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BYTES_PER_TB",
    "HOURS_PER_YEAR",
    "StorageModel",
    "scaled_size_bytes",
]

#: Decimal terabyte, as storage vendors and Cloud Carbon Footprint count.
BYTES_PER_TB = 1e12
#: Hours in a mean Gregorian year (365.25 days x 24 h).
HOURS_PER_YEAR = 365.25 * 24


@dataclass(frozen=True)
class StorageModel:
    """The constants of the storage-at-rest estimate.

    Attributes:
        wh_per_tb_hour: energy of one terabyte stored for one hour (Wh per TB-hour).
        replication: copies kept of each byte (1 or more).
        pue: power usage effectiveness of where the data is stored (1 or more).
    """

    wh_per_tb_hour: float
    replication: float
    pue: float

    def kwh_per_year(self, size_bytes: float) -> float:
        """Energy of keeping ``size_bytes`` stored for a year (kWh), all copies, with PUE.

        A negative size (a format that grows the data) gives a negative energy.
        """
        return (
            size_bytes
            / BYTES_PER_TB
            * self.wh_per_tb_hour
            * HOURS_PER_YEAR
            * self.replication
            * self.pue
            / 1000.0
        )

    def describe(self) -> str:
        """The method in words, to show with every storage figure."""
        return (
            f"estimated: size x {self.wh_per_tb_hour:g} Wh per TB-hour x {self.replication:g} "
            f"cop{'y' if self.replication == 1 else 'ies'} x PUE {self.pue:g} x 8766 h/year "
            "(Cloud Carbon Footprint storage coefficients: SSD 1.2, HDD 0.65 Wh/TB-h)"
        )


def scaled_size_bytes(
    job_size_bytes: float, bench_current_bytes: float, bench_target_bytes: float
) -> float:
    """The job's data size in the target format, scaled from a benchmark's sizes.

    The benchmark stored the same (or comparable) data in both formats; the job's file
    is assumed to shrink or grow by the same factor.

    Args:
        job_size_bytes: the job's file in its current format (bytes).
        bench_current_bytes: the benchmark's data in the job's current format (bytes).
        bench_target_bytes: the benchmark's data in the target format (bytes).

    Raises:
        ValueError: ``bench_current_bytes`` is not positive.
    """
    if bench_current_bytes <= 0:
        raise ValueError("the benchmark's size in the current format must be positive")
    return job_size_bytes * bench_target_bytes / bench_current_bytes
