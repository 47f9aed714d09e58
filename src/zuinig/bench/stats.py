"""Statistics for benchmark results: medians with intervals, ratios, the Pareto set, words.

Every helper the benchmark matrix needs to summarise its trials lives here, so that the
runner, the table, the JSON and the reports all state the same figures the same way
(pyperf keeps its statistics in one place for the same reason). The functions are pure:
no I/O, no printing, and the same input (and seed) always gives the same output.

- :func:`median_ci`: the median of repeated measurements with a bootstrap percentile
  interval.
- :func:`ratio_ci`: the ratio of two medians (a configuration against the baseline) with a
  bootstrap interval over both samples.
- :func:`pareto_front`: the items that no other item beats on every objective at once.
- :func:`compare_ratio` and :func:`describe_ratio`: whether a ratio is a clear difference,
  as structured pieces and as an English sentence.

Intervals come from :func:`scipy.stats.bootstrap` (percentile method) rather than a
hand-rolled resampler. The percentile method is used, not scipy's default BCa, because
BCa's jackknife acceleration degenerates (scipy warns and returns NaN) for the small,
tied samples a benchmark produces: five repetitions whose medians repeat sample values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats as scipy_stats  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "Estimate",
    "RatioComparison",
    "compare_ratio",
    "describe_ratio",
    "median_ci",
    "pareto_front",
    "ratio_ci",
]

#: The conventional 95% level that the JSON's ``_ci`` fields and the reports state.
DEFAULT_CONFIDENCE = 0.95
#: Bootstrap resamples per interval. Efron & Tibshirani (An Introduction to the
#: Bootstrap, 1993) advise 1000 or more for percentile intervals; 2000 keeps the Monte
#: Carlo wobble of the interval ends small next to the spread of a five-trial sample.
#: For five values an interval costs about 1 ms (median) or 1.4 ms (ratio), mostly
#: scipy's fixed overhead; scipy's own default, 9999, costs about 2 ms and 4 ms.
DEFAULT_RESAMPLES = 2000
#: A fixed default seed, so that the same trials always give the same interval: a
#: report rebuilt from the ledger must show the figures the terminal showed.
DEFAULT_SEED = 0

Direction = Literal["less", "more", "same"]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval, in the unit of the measurements.

    For :func:`median_ci` the unit is that of the values (kWh, s, bytes); for
    :func:`ratio_ci` the estimate is a unitless ratio (configuration / baseline).

    Attributes:
        value: The point estimate: the median, or the ratio of two medians.
        low: Lower end of the confidence interval; never above ``value``.
        high: Upper end of the confidence interval; never below ``value``.
        n: Number of measurements behind the estimate. For a ratio, the smaller of the
            two sample sizes, since that one limits how far the interval can be trusted.
        confidence: Confidence level of the interval (0.95 for a 95% interval).
    """

    value: float
    low: float
    high: float
    n: int
    confidence: float = DEFAULT_CONFIDENCE

    @property
    def has_interval(self) -> bool:
        """Whether the interval is a real one: False with a single measurement.

        With one measurement the interval is set to the value itself, which says nothing
        about spread; reports should show such an estimate without an interval.
        """
        return self.n >= 2

    @property
    def interval(self) -> tuple[float, float]:
        """The interval as ``(low, high)``, the shape of the JSON's ``_ci`` fields."""
        return (self.low, self.high)

    def excludes(self, reference: float) -> bool:
        """Whether ``reference`` lies outside the interval (strictly below or above it)."""
        return reference < self.low or reference > self.high


@dataclass(frozen=True)
class RatioComparison:
    """A ratio (configuration / baseline) read as a statement: the pieces of a sentence.

    Kept apart from the English sentence so that a translated report (Dutch) can phrase
    the same facts in its own words.

    Attributes:
        direction: By the point estimate: ``"less"`` when the configuration uses less
            than the baseline (ratio below 1), ``"more"`` when it uses more, ``"same"``
            when the ratio is exactly 1.
        factor: How many times less or more, always >= 1: for ``"less"`` it is
            1 / ratio ("12.3x less" is a ratio of 0.081), otherwise the ratio.
        factor_low: Lower end of the interval, in the same orientation as ``factor``.
        factor_high: Upper end of the interval, in the same orientation as ``factor``.
        clear: Whether the difference is clear: the estimate has a real interval
            (two or more measurements on each side) and that interval excludes 1.0.
        ratio: The estimate read, unitless, for phrasings that need the raw ratio.
    """

    direction: Direction
    factor: float
    factor_low: float
    factor_high: float
    clear: bool
    ratio: Estimate


def median_ci(
    values: Iterable[float],
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int | None = DEFAULT_SEED,
) -> Estimate:
    """Return the median of ``values`` with a bootstrap percentile interval.

    The interval is the percentile bootstrap interval of the median
    (:func:`scipy.stats.bootstrap`, ``method="percentile"``), widened if need be so that
    it always contains the median. With few values (a typical ``--repeat 5``) the median
    of a resample can only be one of the sample values, or the mean of two for an even
    count, so the interval is coarse: for five values it is usually the sample's range.
    That is honest: five trials cannot say more.

    Special cases, handled without calling scipy and without warnings:

    - one value: the interval is the value itself, and ``has_interval`` is False;
    - identical values (zero variance): the interval is the value itself.

    Args:
        values: The measurements, in any unit (kWh, s, bytes); finite numbers.
        confidence: Confidence level of the interval, between 0 and 1.
        resamples: Number of bootstrap resamples.
        seed: Seed of the resampling; the same seed and values give the same interval.
            None draws a fresh seed from the operating system.

    Returns:
        The median, the interval and the number of values.

    Raises:
        ValueError: When ``values`` is empty or holds a NaN or an infinity, or when
            ``confidence`` or ``resamples`` is out of range.
    """
    sample = _as_sample(values, "values")
    _check_settings(confidence, resamples)
    median = float(np.median(sample))
    if sample.size == 1 or _is_constant(sample):
        return Estimate(median, median, median, int(sample.size), confidence)
    result = scipy_stats.bootstrap(
        (sample,),
        _median,
        n_resamples=resamples,
        vectorized=True,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    low, high = _interval_around(
        median, result.confidence_interval, floor=float(sample.min()), ceiling=float(sample.max())
    )
    return Estimate(median, low, high, int(sample.size), confidence)


def ratio_ci(
    values: Iterable[float],
    baseline_values: Iterable[float],
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int | None = DEFAULT_SEED,
) -> Estimate:
    """Return median(values) / median(baseline_values) with a bootstrap interval.

    The two samples are independent trials (a configuration and the baseline, for
    example csv + pandas), so each is resampled on its own (:func:`scipy.stats.bootstrap`
    with ``paired=False``, percentile method), and the interval is that of the ratio of
    the resampled medians, widened if need be so that it always contains the ratio.
    A ratio below 1 means the configuration uses less than the baseline.

    Special cases, handled without calling scipy and without warnings: when either
    sample has one value, or both samples are constant, the interval is the ratio
    itself (with one value, ``has_interval`` is False).

    Args:
        values: The configuration's measurements; positive, finite numbers.
        baseline_values: The baseline's measurements, in the same unit; positive,
            finite numbers.
        confidence: Confidence level of the interval, between 0 and 1.
        resamples: Number of bootstrap resamples.
        seed: Seed of the resampling; the same seed and values give the same interval.
            None draws a fresh seed from the operating system.

    Returns:
        The ratio of the medians (unitless), its interval, and the smaller sample size.

    Raises:
        ValueError: When a sample is empty, holds a NaN, an infinity, zero or a negative
            number (a ratio of medians needs positive values), or when ``confidence`` or
            ``resamples`` is out of range.
    """
    sample = _as_sample(values, "values", positive=True)
    baseline = _as_sample(baseline_values, "baseline_values", positive=True)
    _check_settings(confidence, resamples)
    ratio = float(np.median(sample) / np.median(baseline))
    n = int(min(sample.size, baseline.size))
    if n == 1 or (_is_constant(sample) and _is_constant(baseline)):
        return Estimate(ratio, ratio, ratio, n, confidence)
    result = scipy_stats.bootstrap(
        (sample, baseline),
        _ratio_of_medians,
        n_resamples=resamples,
        vectorized=True,
        paired=False,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    low, high = _interval_around(
        ratio,
        result.confidence_interval,
        floor=float(sample.min() / baseline.max()),
        ceiling=float(sample.max() / baseline.min()),
    )
    return Estimate(ratio, low, high, n, confidence)


def pareto_front(
    items: Sequence[Mapping[str, Any]],
    objectives: Sequence[str],
) -> list[int]:
    """Return the indices of the items no other item dominates, minimising every objective.

    Item *a* dominates item *b* when *a* is at least as good (lower or equal) on every
    objective and strictly better (lower) on at least one. The front is every item that
    no other item dominates.

    - Ties: items with equal values on every objective do not dominate one another, so
      all of them are on the front or none is.
    - Missing values (None) count as worse than any measured value, so an item never
      dominates another through an objective it lacks. An item with no measured
      objective at all is never on the front: it says nothing.

    Args:
        items: The candidates, for example result rows; each maps every objective name
            to a number or None.
        objectives: The keys to minimise, for example
            ``["energy_kwh_median", "duration_s_median", "storage_bytes"]``.

    Returns:
        The indices into ``items`` of the front, in ascending order.

    Raises:
        ValueError: When ``objectives`` is empty or a value is NaN.
        KeyError: When an item lacks an objective key.
    """
    if not objectives:
        raise ValueError("pareto_front needs at least one objective")
    if not items:
        return []
    table = np.array(
        [[_objective_value(item, key) for key in objectives] for item in items],
        dtype=np.float64,
    )
    front: list[int] = []
    for index, row in enumerate(table):
        if np.all(np.isinf(row)):
            continue
        # Rows at least as good everywhere and strictly better somewhere dominate `row`;
        # `row` itself fails the strict test, so it needs no exclusion.
        dominators = np.all(table <= row, axis=1) & np.any(table < row, axis=1)
        if not np.any(dominators):
            front.append(index)
    return front


def compare_ratio(estimate: Estimate) -> RatioComparison:
    """Read a ratio estimate (configuration / baseline) as direction, factor and clarity.

    The rule: a difference is clear when the interval excludes 1.0, that is when the
    whole interval lies below 1 (clearly less) or above 1 (clearly more). An interval
    that includes 1.0 is no clear difference, whatever the point estimate says; so is an
    estimate from a single measurement, which has no interval at all. A ratio below 1 is
    turned into "N times less" (N = 1 / ratio), so both directions read as a factor of at
    least 1.

    Args:
        estimate: A ratio from :func:`ratio_ci`; positive and finite.

    Returns:
        The pieces of the statement.

    Raises:
        ValueError: When the estimate is not positive and finite.
    """
    bounds = (estimate.value, estimate.low, estimate.high)
    if not all(math.isfinite(bound) and bound > 0 for bound in bounds):
        raise ValueError(f"a ratio must be positive and finite, got {estimate}")
    clear = estimate.has_interval and estimate.excludes(1.0)
    if estimate.value < 1.0:
        return RatioComparison(
            direction="less",
            factor=1.0 / estimate.value,
            factor_low=1.0 / estimate.high,
            factor_high=1.0 / estimate.low,
            clear=clear,
            ratio=estimate,
        )
    return RatioComparison(
        direction="more" if estimate.value > 1.0 else "same",
        factor=estimate.value,
        factor_low=estimate.low,
        factor_high=estimate.high,
        clear=clear,
        ratio=estimate,
    )


def describe_ratio(estimate: Estimate, baseline_label: str, quantity: str = "energy") -> str:
    """Say in plain English how a configuration compares with the baseline.

    The rule (see :func:`compare_ratio`): an interval that excludes 1.0 is a clear
    difference; one that includes 1.0 is no clear difference. For example:

    - "uses 12.3x less energy than csv + pandas (95% interval 10.1x-14.0x): a clear
      difference"
    - "uses 1.4x more energy than csv + pandas (95% interval 1.2x-1.6x): a clear
      difference"
    - "1.0x the energy of csv + pandas (95% interval 0.9x-1.1x): no clear difference"

    Without a clear difference the sentence gives the plain ratio rather than "less" or
    "more", and does not say "the same" either: an interval that includes 1.0 shows no
    difference, which is not proof of equality when the interval is wide. With a single
    measurement on either side there is no interval, and the sentence says so instead
    of judging. This is a thin formatter over :func:`compare_ratio`; a translated report
    should format :class:`RatioComparison` itself.

    Args:
        estimate: A ratio from :func:`ratio_ci` (configuration / baseline).
        baseline_label: How to name the baseline, for example ``"csv + pandas"``.
        quantity: What the ratio measures, for example ``"energy"`` or ``"time"``.

    Returns:
        A sentence fragment, without a capital or a full stop, ready to follow a
        configuration's name.

    Raises:
        ValueError: When the estimate is not positive and finite.
    """
    comparison = compare_ratio(estimate)
    level = f"{estimate.confidence * 100:g}%"
    if comparison.clear:
        factor, low, high = _format_factors(
            comparison.factor, comparison.factor_low, comparison.factor_high
        )
        return (
            f"uses {factor}x {comparison.direction} {quantity} than {baseline_label} "
            f"({level} interval {low}x-{high}x): a clear difference"
        )
    ratio, low, high = _format_factors(estimate.value, estimate.low, estimate.high)
    if not estimate.has_interval:
        return (
            f"{ratio}x the {quantity} of {baseline_label} "
            "(a single measurement: no interval, so no verdict)"
        )
    return (
        f"{ratio}x the {quantity} of {baseline_label} "
        f"({level} interval {low}x-{high}x): no clear difference"
    )


def _as_sample(
    values: Iterable[float], name: str, *, positive: bool = False
) -> NDArray[np.float64]:
    """Return ``values`` as a 1-D float array, refusing what would poison a median."""
    sample = np.fromiter(values, dtype=np.float64)
    if sample.size == 0:
        raise ValueError(f"{name} is empty: a median needs at least one measurement")
    if not np.all(np.isfinite(sample)):
        raise ValueError(f"{name} holds a NaN or an infinity: drop failed trials first")
    if positive and not np.all(sample > 0):
        raise ValueError(f"{name} holds zero or a negative number: a ratio needs positive values")
    return sample


def _check_settings(confidence: float, resamples: int) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")


def _is_constant(sample: NDArray[np.float64]) -> bool:
    # scipy's bootstrap of a constant sample is a degenerate distribution; answering
    # directly avoids relying on how a given scipy version treats it.
    return bool(np.all(sample == sample[0]))


def _median(sample: NDArray[np.float64], axis: int) -> NDArray[np.float64]:
    return np.median(sample, axis=axis)


def _ratio_of_medians(
    sample: NDArray[np.float64], baseline: NDArray[np.float64], axis: int
) -> NDArray[np.float64]:
    ratio: NDArray[np.float64] = np.median(sample, axis=axis) / np.median(baseline, axis=axis)
    return ratio


def _interval_around(
    point: float, interval: Any, *, floor: float, ceiling: float
) -> tuple[float, float]:
    """Return scipy's interval, kept within what the statistic can reach and around ``point``.

    No resample's statistic can fall outside ``floor``..``ceiling`` (a median lies within
    its sample's range), yet the percentile interpolation can overshoot them by a
    rounding error; those ends are clipped back. And a percentile interval of a discrete
    statistic (the median of five values) can, by the luck of the resampling, end a hair
    short of the point estimate. A report must never show a median outside its own
    interval, so the interval is widened to the point: slightly conservative, never
    misleading.
    """
    low = max(float(interval.low), floor)
    high = min(float(interval.high), ceiling)
    return min(low, point), max(high, point)


def _objective_value(item: Mapping[str, Any], key: str) -> float:
    value = item[key]
    if value is None:
        return math.inf
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"objective {key!r} is NaN; use None for a missing value")
    return number


def _format_factors(*factors: float) -> tuple[str, ...]:
    """Format factors with one decimal, or more where one decimal would blur 1.0.

    "1.0x-1.1x" for a clear difference of 1.02x-1.06x would read as no difference, so
    the precision grows (up to three decimals) until no factor other than exactly 1
    shows as 1.
    """
    for decimals in (1, 2):
        texts = tuple(f"{factor:.{decimals}f}" for factor in factors)
        if not any(
            factor != 1.0 and float(text) == 1.0
            for factor, text in zip(factors, texts, strict=True)
        ):
            return texts
    return tuple(f"{factor:.3f}" for factor in factors)
