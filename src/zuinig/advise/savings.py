"""Savings arithmetic: per run, per month, per year, in kWh, kg CO2e and euro; payback;
confidence in words; and the saving realised after a job changed its configuration.

Pure functions over numbers and runs, no I/O. Every interval here is a 95% interval
carried through by *interval arithmetic*: when a figure is the product (or difference)
of two estimates, its interval spans every combination of the ends of their intervals.
That is conservative (the true coverage is at least 95% when the two estimates are
independent) and, unlike a joint bootstrap, needs nothing but the stored intervals, so
a report rebuilt from the ledger shows the same figures.

**The model's range.** An estimated run carries ``energy_kwh_low``/``energy_kwh_high``,
the bounds its model's published coefficients give. If each run's true energy lies
within its bounds, the true median lies between the median of the lows and the median
of the highs (the median is monotone). :func:`with_model_range` therefore widens a
job's energy per run to ``[interval low of the lows' median, interval high of the
highs' median]``: run-to-run spread and the model's range together. The saving per run
(energy x (1 - ratio)) carries that through its corners. The bench's ratio is left
as it is: both its configurations ran on one machine under one model, so a model that
is off by a factor is off by the same factor in both and the ratio keeps only its
statistical interval. Measured runs have low = high = the reading, so for them the
widening changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from scipy.stats import binom  # type: ignore[import-untyped, unused-ignore]

from zuinig.bench import stats
from zuinig.ledger.model import Run, RunBrief

__all__ = [
    "CONFIDENCE_CLEAR",
    "CONFIDENCE_INDICATIVE",
    "CONFIDENCE_UNCLEAR",
    "DAYS_PER_MONTH",
    "MEDIAN_BOOTSTRAP_MAX_VALUES",
    "METHOD_KEY_FIELDS",
    "MIN_WINDOW_DAYS",
    "MONTHS_PER_YEAR",
    "Range",
    "confidence_of",
    "median_interval",
    "method_key",
    "payback",
    "runs_per_month",
    "saving_per_run",
    "with_model_range",
]

#: Mean Gregorian month (365.25 / 12 days): turns a window's runs into runs per month.
DAYS_PER_MONTH = 365.25 / 12
MONTHS_PER_YEAR = 12
#: The shortest window runs per month are extrapolated from: a job seen five times in
#: ten minutes is not run 20 000 times a month. One day keeps the figure finite and
#: the text says it was extrapolated.
MIN_WINDOW_DAYS = 1.0

#: Up to this many values a median's interval is the bootstrap percentile interval of
#: :func:`zuinig.bench.stats.median_ci`; above it, the distribution-free interval from
#: order statistics (:func:`median_interval`). A bootstrap resamples all values 2000
#: times, which for a job with a million runs is billions of draws for an interval the
#: order statistics give exactly; at this size the two agree closely.
MEDIAN_BOOTSTRAP_MAX_VALUES = 1000

#: The interval of the saving excludes zero, on the same data, measured the same way.
CONFIDENCE_CLEAR = "clear"
#: A single measurement, a mismatched method, other data or a guessed configuration:
#: the figure points the way but cannot be relied on.
CONFIDENCE_INDICATIVE = "indicative"
#: The interval includes zero: no clear saving.
CONFIDENCE_UNCLEAR = "unclear"


@dataclass(frozen=True)
class Range:
    """A figure with its 95% interval, in the unit its name gives where it is used.

    Attributes:
        value: the point estimate.
        low: lower end of the interval (never above ``value``).
        high: upper end of the interval (never below ``value``).
        has_interval: False when one side rests on a single measurement (then
            ``low == high == value`` says nothing about spread).
    """

    value: float
    low: float
    high: float
    has_interval: bool = True

    @classmethod
    def of(cls, estimate: stats.Estimate) -> Range:
        """The range of a bench statistics estimate."""
        return cls(estimate.value, estimate.low, estimate.high, estimate.has_interval)

    def scaled(self, factor: float) -> Range:
        """Multiplied by a non-negative exact factor (runs per month, months per year...)."""
        return Range(self.value * factor, self.low * factor, self.high * factor, self.has_interval)

    def plus(self, other: float) -> Range:
        """Shifted by an exact amount."""
        return Range(self.value + other, self.low + other, self.high + other, self.has_interval)

    @property
    def excludes_zero(self) -> bool:
        """Whether the whole interval lies above or below zero (and it is a real one)."""
        return self.has_interval and (self.low > 0 or self.high < 0)

    def as_list(self) -> list[float]:
        """``[low, high]``: the shape of the JSON's ``_ci`` fields."""
        return [self.low, self.high]


def median_interval(values: Sequence[float]) -> stats.Estimate:
    """The median of ``values`` with a 95% interval.

    Up to :data:`MEDIAN_BOOTSTRAP_MAX_VALUES` values: :func:`zuinig.bench.stats.median_ci`
    (bootstrap percentile interval, fixed seed). Above: the order-statistic interval
    ``[x(r), x(n-r+1)]`` of the sorted values, with ``r`` the largest rank for which a
    Binomial(n, 1/2) count falls below ``r`` with probability at most 2.5% (Conover,
    *Practical Nonparametric Statistics*, 3rd ed., 1999, section 3.2), so its coverage
    is at least 95% for any continuous distribution; it needs one partial sort instead
    of 2000 resamples.

    Raises:
        ValueError: ``values`` is empty or holds a NaN or an infinity.
    """
    if len(values) <= MEDIAN_BOOTSTRAP_MAX_VALUES:
        return stats.median_ci(values)
    sample = np.asarray(values, dtype=float)
    if not np.isfinite(sample).all():
        raise ValueError("values must be finite numbers")
    size = int(sample.size)
    tail = (1.0 - stats.DEFAULT_CONFIDENCE) / 2
    below = int(binom.ppf(tail, size, 0.5))  # 0-based index of x(r)
    if binom.cdf(below, size, 0.5) > tail:
        below -= 1
    below = max(below, 0)
    low, high = np.partition(sample, (below, size - 1 - below))[[below, size - 1 - below]]
    median = float(np.median(sample))
    return stats.Estimate(
        median, min(float(low), median), max(float(high), median), size, stats.DEFAULT_CONFIDENCE
    )


def with_model_range(
    energy: stats.Estimate, lows: Sequence[float], highs: Sequence[float]
) -> stats.Estimate:
    """A job's median energy per run with its interval widened by the model's range
    (see the module docstring).

    Args:
        energy: the median energy per run (kWh) with its statistical interval.
        lows, highs: the same runs' ``energy_kwh_low`` and ``energy_kwh_high`` (kWh).

    Returns:
        ``energy`` with ``low`` no higher than the lows' median interval's low end and
        ``high`` no lower than the highs' median interval's high end; the point value
        and the number of runs unchanged.

    Raises:
        ValueError: ``lows`` or ``highs`` is empty or not finite.
    """
    low = median_interval(lows).low
    high = median_interval(highs).high
    return stats.Estimate(
        energy.value,
        min(energy.low, low),
        max(energy.high, high),
        energy.n,
        energy.confidence,
    )


def saving_per_run(energy_kwh: stats.Estimate, ratio: stats.Estimate) -> Range:
    """Expected saving per run (kWh) = energy per run x (1 - recommended/current).

    Args:
        energy_kwh: the job's median energy per run (kWh) with its interval.
        ratio: energy of the recommended configuration over the current one, from a
            benchmark (unitless), with its interval.

    Returns:
        The saving with its interval by interval arithmetic (see the module docstring);
        positive means the recommendation uses less.
    """
    value = energy_kwh.value * (1.0 - ratio.value)
    corners = [
        e * (1.0 - r) for e in (energy_kwh.low, energy_kwh.high) for r in (ratio.low, ratio.high)
    ]
    return Range(
        value,
        min(min(corners), value),
        max(max(corners), value),
        energy_kwh.has_interval and ratio.has_interval,
    )


def difference(before: stats.Estimate, after: stats.Estimate) -> Range:
    """``before - after`` (for example kWh per run) with its interval by interval arithmetic."""
    value = before.value - after.value
    return Range(
        value,
        min(before.low - after.high, value),
        max(before.high - after.low, value),
        before.has_interval and after.has_interval,
    )


def runs_per_month(count: int, start: datetime, end: datetime) -> tuple[float, float]:
    """How often a job runs: ``count`` runs between ``start`` and ``end``, per month.

    Returns:
        ``(runs_per_month, window_days)``; the window is at least :data:`MIN_WINDOW_DAYS`.
    """
    days = max((end - start) / timedelta(days=1), MIN_WINDOW_DAYS)
    return count / days * DAYS_PER_MONTH, days


def payback(
    conversion_kwh: float | None,
    saving_kwh_per_run: float,
    saving_kwh_per_year: float,
) -> tuple[float | None, float | None]:
    """When the one-off energy of converting is earned back.

    Args:
        conversion_kwh: energy of converting the data once (kWh); ``None`` if unknown.
        saving_kwh_per_run: energy saved per run (kWh).
        saving_kwh_per_year: everything saved per year (kWh): runs and storage at rest.

    Returns:
        ``(runs, days)``: runs until the runs alone have paid it back, and days until
        all yearly savings have; ``None`` when unknown or never (no saving).
    """
    if conversion_kwh is None:
        return None, None
    runs = conversion_kwh / saving_kwh_per_run if saving_kwh_per_run > 0 else None
    days = conversion_kwh / saving_kwh_per_year * 365.25 if saving_kwh_per_year > 0 else None
    return runs, days


def confidence_of(saving: Range, caveats: Sequence[str]) -> tuple[str, str]:
    """How sure a saving is, as a word and a sentence.

    The rule: ``indicative`` when any caveat holds (a single measurement, a method
    that differs between the job and the benchmark, other data, a guessed
    configuration); otherwise ``clear`` when the interval excludes zero and
    ``unclear`` when it does not.

    Args:
        saving: the saving per run (or per year) with its interval.
        caveats: reasons the evidence is weaker, in words; empty when there are none.
    """
    if caveats:
        return CONFIDENCE_INDICATIVE, "indicative: " + "; ".join(caveats)
    if not saving.has_interval:
        return CONFIDENCE_INDICATIVE, "indicative: a single measurement, so no interval"
    if saving.excludes_zero:
        return CONFIDENCE_CLEAR, "clear: the 95% interval of the saving excludes zero"
    return CONFIDENCE_UNCLEAR, "unclear: the 95% interval of the saving includes zero"


#: The run fields :func:`method_key` is made of, in its order.
METHOD_KEY_FIELDS = ("method_cpu", "method_cpu_tdp_w", "tracking_mode", "method_attribution")


def method_key(run: Run | RunBrief) -> tuple[Any, ...]:
    """What must be equal for two runs' energies to be compared (SCI's baseline rule):
    the CPU method, the TDP it assumed, the tracking mode and the attribution rule (a
    run charged the whole machine, or measured under an earlier rule, is not compared
    with one charged its share)."""
    return tuple(getattr(run, name) for name in METHOD_KEY_FIELDS)


def describe_method_key(key: tuple[Any, ...]) -> str:
    """A method key in words, e.g. ``cpu_load, TDP 65 W, process, rule resource-share``."""
    cpu, tdp, mode, rule = key
    tdp_text = f"TDP {tdp:g} W" if isinstance(tdp, int | float) else "no TDP"
    return (
        f"{cpu or 'unknown CPU method'}, {tdp_text}, {mode or 'unknown tracking'}, "
        f"rule {rule or 'not recorded'}"
    )
