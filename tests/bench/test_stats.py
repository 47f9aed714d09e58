"""Benchmark statistics: medians with intervals, ratios, the Pareto front, and the words."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from zuinig.bench.stats import (
    Estimate,
    compare_ratio,
    describe_ratio,
    median_ci,
    pareto_front,
    ratio_ci,
)

#: Five trials of one configuration, in kWh: the shape of a default ``--repeat 5``.
FIVE_TRIALS = [2.1e-4, 1.9e-4, 2.0e-4, 2.3e-4, 1.8e-4]

# Positive, finite measurements over the range a benchmark sees (kWh up to bytes).
measurements = st.floats(min_value=1e-9, max_value=1e12, allow_nan=False, allow_infinity=False)
samples = st.lists(measurements, min_size=1, max_size=12)
# Few resamples keep the property tests fast; the properties hold for any count.
PROPERTY_RESAMPLES = 200


# --- median_ci ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "median"),
    [
        ([3.0, 1.0, 2.0], 2.0),
        ([4.0, 1.0, 3.0, 2.0], 2.5),
        (FIVE_TRIALS, 2.0e-4),
        ([7], 7.0),
        ([10, 1_000_000, 20], 20.0),
    ],
)
def test_median_of_known_data(values: list[float], median: float) -> None:
    assert median_ci(values).value == pytest.approx(median)


def test_interval_contains_the_median_and_stays_within_the_data() -> None:
    estimate = median_ci(FIVE_TRIALS)
    assert min(FIVE_TRIALS) <= estimate.low <= estimate.value <= estimate.high
    assert estimate.high <= max(FIVE_TRIALS)
    assert estimate.n == 5
    assert estimate.has_interval
    assert estimate.interval == (estimate.low, estimate.high)


def test_interval_shrinks_with_more_data() -> None:
    population = np.random.default_rng(42).lognormal(mean=0.0, sigma=0.2, size=400)
    widths = [
        median_ci(population[:size]).high - median_ci(population[:size]).low
        for size in (5, 50, 400)
    ]
    assert widths[0] > widths[1] > widths[2] > 0


def test_lower_confidence_gives_a_narrower_interval() -> None:
    values = np.random.default_rng(7).normal(10.0, 1.0, size=40)
    wide, narrow = median_ci(values, confidence=0.99), median_ci(values, confidence=0.5)
    assert wide.low <= narrow.low and narrow.high <= wide.high
    assert narrow.high - narrow.low < wide.high - wide.low
    assert narrow.confidence == 0.5


def test_one_value_is_its_own_interval_and_flagged() -> None:
    estimate = median_ci([0.0042])
    assert estimate == Estimate(value=0.0042, low=0.0042, high=0.0042, n=1)
    assert not estimate.has_interval


@pytest.mark.parametrize("size", [2, 3, 5, 30])
def test_identical_values_give_a_zero_width_interval(size: int) -> None:
    # The suite turns warnings into errors, so this also checks that none is raised.
    estimate = median_ci([1.5e-5] * size)
    assert (estimate.low, estimate.value, estimate.high) == (1.5e-5, 1.5e-5, 1.5e-5)
    assert estimate.has_interval


@pytest.mark.parametrize("values", [[1.0, 2.0], [1.0, 1.0, 2.0], [5.0, 1.0, 1.0, 1.0, 1.0]])
def test_small_and_tied_samples_work_without_warnings(values: list[float]) -> None:
    estimate = median_ci(values)
    assert min(values) <= estimate.low <= estimate.value <= estimate.high <= max(values)


def test_same_seed_same_interval_and_other_seeds_differ() -> None:
    values = np.random.default_rng(3).exponential(size=25)
    assert median_ci(values, seed=11) == median_ci(values, seed=11)
    assert median_ci(values) == median_ci(values)  # the default seed is fixed
    # The seed reaches the resampler: with few resamples the interval ends wobble.
    intervals = {median_ci(values, resamples=20, seed=seed).interval for seed in range(10)}
    assert len(intervals) > 1


def test_accepts_any_iterable_of_numbers() -> None:
    from_list = median_ci([1, 2, 3, 4, 5])
    assert median_ci(np.array([1, 2, 3, 4, 5])) == from_list
    assert median_ci(x for x in (1, 2, 3, 4, 5)) == from_list


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        ([], {}, "empty"),
        ([1.0, math.nan], {}, "NaN"),
        ([1.0, math.inf], {}, "infinity"),
        ([1.0, 2.0], {"confidence": 1.0}, "confidence"),
        ([1.0, 2.0], {"confidence": 0.0}, "confidence"),
        ([1.0, 2.0], {"resamples": 0}, "resamples"),
    ],
)
def test_median_ci_refuses_bad_input(
    values: list[float], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        median_ci(values, **kwargs)


@settings(deadline=None)
@given(values=samples, seed=st.integers(min_value=0, max_value=2**32 - 1))
# Found by hypothesis: percentile interpolation overshot the sample's maximum.
@example(values=[1.0, 890548254462.6954], seed=0)
def test_median_always_lies_within_its_interval(values: list[float], seed: int) -> None:
    estimate = median_ci(values, resamples=PROPERTY_RESAMPLES, seed=seed)
    assert estimate.value == pytest.approx(float(np.median(values)))
    assert min(values) <= estimate.low <= estimate.value <= estimate.high <= max(values)
    assert estimate.n == len(values)


# --- ratio_ci ----------------------------------------------------------------------------


def test_ten_times_the_baseline_is_a_ratio_of_ten_excluding_one() -> None:
    baseline = np.random.default_rng(1).normal(1.0, 0.05, size=5)
    estimate = ratio_ci(baseline * 10, baseline)
    assert estimate.value == pytest.approx(10.0)
    assert estimate.low <= 10.0 <= estimate.high
    assert estimate.excludes(1.0)
    assert estimate.n == 5


def test_a_tenth_of_the_baseline_is_a_ratio_of_a_tenth() -> None:
    baseline = [1.0, 1.1, 0.9, 1.05, 0.95]
    estimate = ratio_ci([value / 10 for value in baseline], baseline)
    assert estimate.value == pytest.approx(0.1)
    assert estimate.high < 1.0


def test_equal_samples_give_an_interval_around_one() -> None:
    values = [1.0, 1.2, 0.9, 1.1, 1.05]
    estimate = ratio_ci(values, list(reversed(values)))
    assert estimate.value == pytest.approx(1.0)
    assert estimate.low < 1.0 < estimate.high
    assert not estimate.excludes(1.0)


def test_ratio_interval_shrinks_with_more_data() -> None:
    rng = np.random.default_rng(5)
    config, baseline = rng.lognormal(0.0, 0.2, size=300), rng.lognormal(1.0, 0.2, size=300)
    small, large = ratio_ci(config[:5], baseline[:5]), ratio_ci(config, baseline)
    assert large.high - large.low < small.high - small.low


def test_ratio_of_unequal_sample_sizes_reports_the_smaller() -> None:
    assert ratio_ci([2.0, 2.1, 1.9], [1.0, 1.1, 0.9, 1.0, 1.05]).n == 3


def test_ratio_with_one_value_on_either_side_has_no_interval() -> None:
    one_side = ratio_ci([2.0], [1.0, 1.1, 0.9])
    assert (one_side.low, one_side.value, one_side.high) == (2.0, 2.0, 2.0)
    assert not one_side.has_interval
    assert not ratio_ci([2.0, 2.2], [1.0]).has_interval


def test_ratio_of_constant_samples_is_exact_and_warning_free() -> None:
    estimate = ratio_ci([3.0, 3.0, 3.0], [1.5, 1.5, 1.5, 1.5])
    assert (estimate.low, estimate.value, estimate.high) == (2.0, 2.0, 2.0)


def test_ratio_with_one_constant_sample_still_resamples_the_other() -> None:
    estimate = ratio_ci([3.0, 3.0, 3.0], [1.0, 1.5, 2.0])
    assert estimate.value == pytest.approx(2.0)
    assert estimate.low < 2.0 < estimate.high


def test_ratio_is_deterministic_with_a_seed() -> None:
    config, baseline = [1.0, 1.3, 0.8, 1.1, 1.2], [2.0, 2.5, 1.7, 2.2, 2.1]
    assert ratio_ci(config, baseline, seed=9) == ratio_ci(config, baseline, seed=9)


@pytest.mark.parametrize(
    ("values", "baseline", "message"),
    [
        ([1.0, 2.0], [0.0, 1.0], "baseline_values holds zero"),
        ([-1.0, 2.0], [1.0, 1.0], "values holds zero or a negative"),
        ([], [1.0], "values is empty"),
        ([1.0], [math.nan], "baseline_values holds a NaN"),
    ],
)
def test_ratio_ci_refuses_bad_input(
    values: list[float], baseline: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ratio_ci(values, baseline)


@settings(deadline=None)
@given(values=samples, baseline=samples, seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_ratio_always_lies_within_its_interval(
    values: list[float], baseline: list[float], seed: int
) -> None:
    estimate = ratio_ci(values, baseline, resamples=PROPERTY_RESAMPLES, seed=seed)
    assert estimate.value == pytest.approx(float(np.median(values) / np.median(baseline)))
    assert 0 < estimate.low <= estimate.value <= estimate.high
    assert estimate.n == min(len(values), len(baseline))


# --- pareto_front ------------------------------------------------------------------------

OBJECTIVES = ["energy", "time", "size"]


def _row(energy: float | None, time: float | None, size: float | None) -> dict[str, Any]:
    return {"energy": energy, "time": time, "size": size, "label": "ignored"}


def test_pareto_front_of_a_handcrafted_set() -> None:
    items = [
        _row(1.0, 5.0, 100),  # 0: least energy
        _row(2.0, 2.0, 100),  # 1: a trade-off
        _row(2.0, 3.0, 100),  # 2: dominated by 1 (worse time, equal otherwise)
        _row(5.0, 1.0, 300),  # 3: fastest
        _row(6.0, 6.0, 400),  # 4: dominated by everything on the front
        _row(3.0, 3.0, 50),  # 5: smallest
    ]
    assert pareto_front(items, OBJECTIVES) == [0, 1, 3, 5]


def test_identical_items_are_on_the_front_together_or_not_at_all() -> None:
    items = [_row(1.0, 1.0, 10), _row(1.0, 1.0, 10), _row(2.0, 2.0, 20), _row(2.0, 2.0, 20)]
    assert pareto_front(items, OBJECTIVES) == [0, 1]


def test_a_tie_on_one_objective_does_not_dominate() -> None:
    items = [_row(1.0, 2.0, 10), _row(1.0, 1.0, 20)]
    assert pareto_front(items, OBJECTIVES) == [0, 1]


def test_missing_values_never_dominate() -> None:
    items = [
        _row(None, 1.0, 10),  # 0: unknown energy; cannot beat 1 through it
        _row(5.0, 1.0, 10),  # 1: would be dominated by 0 if None counted as low
        _row(None, None, None),  # 2: nothing measured: never on the front
        _row(4.0, None, 5),  # 3: unknown time, smallest and least energy
    ]
    assert pareto_front(items, OBJECTIVES) == [1, 3]


def test_an_item_with_a_missing_value_can_still_be_on_the_front() -> None:
    items = [_row(None, 1.0, 10), _row(5.0, 2.0, 20)]
    assert pareto_front(items, OBJECTIVES) == [0, 1]


def test_only_the_named_objectives_count() -> None:
    items = [_row(1.0, 9.0, 9), _row(2.0, 1.0, 1)]
    assert pareto_front(items, ["energy"]) == [0]
    assert pareto_front(items, OBJECTIVES) == [0, 1]


def test_pareto_front_of_nothing_is_empty() -> None:
    assert pareto_front([], OBJECTIVES) == []


def test_pareto_front_refuses_nan_and_no_objectives() -> None:
    with pytest.raises(ValueError, match="NaN"):
        pareto_front([_row(math.nan, 1.0, 1)], OBJECTIVES)
    with pytest.raises(ValueError, match="objective"):
        pareto_front([_row(1.0, 1.0, 1)], [])


optional_measurements = st.one_of(st.none(), st.integers(min_value=0, max_value=5))


@given(
    points=st.lists(
        st.tuples(optional_measurements, optional_measurements, optional_measurements),
        max_size=15,
    )
)
def test_the_front_is_exactly_the_non_dominated_items(
    points: list[tuple[int | None, int | None, int | None]],
) -> None:
    # A direct restatement of the definition, with None as +infinity, checked against
    # the vectorised implementation on small integer grids full of ties.
    items = [dict(zip(OBJECTIVES, point, strict=True)) for point in points]
    worst = [[math.inf if v is None else v for v in point] for point in points]

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x <= y for x, y in zip(a, b, strict=True)) and a != b

    expected = [
        i
        for i, point in enumerate(points)
        if any(v is not None for v in point)
        and not any(dominates(other, worst[i]) for other in worst)
    ]
    assert pareto_front(items, OBJECTIVES) == expected


# --- compare_ratio and describe_ratio ----------------------------------------------------


def test_describes_a_clear_saving() -> None:
    estimate = Estimate(value=1 / 12.3, low=1 / 14.0, high=1 / 10.1, n=5)
    assert describe_ratio(estimate, "csv + pandas") == (
        "uses 12.3x less energy than csv + pandas (95% interval 10.1x-14.0x): a clear difference"
    )


def test_describes_a_clear_cost() -> None:
    estimate = Estimate(value=1.4, low=1.2, high=1.6, n=5)
    assert describe_ratio(estimate, "csv + pandas", quantity="time") == (
        "uses 1.4x more time than csv + pandas (95% interval 1.2x-1.6x): a clear difference"
    )


def test_describes_no_clear_difference() -> None:
    estimate = Estimate(value=1.0, low=0.9, high=1.1, n=5)
    assert describe_ratio(estimate, "csv + pandas") == (
        "1.0x the energy of csv + pandas (95% interval 0.9x-1.1x): no clear difference"
    )


def test_equal_samples_read_as_no_clear_difference() -> None:
    values = [1.0, 1.2, 0.9, 1.1, 1.05]
    sentence = describe_ratio(ratio_ci(values, values), "csv + pandas")
    assert sentence.endswith(": no clear difference")
    assert not compare_ratio(ratio_ci(values, values)).clear


def test_ten_times_the_baseline_reads_as_a_clear_difference() -> None:
    baseline = [1.0, 1.1, 0.9, 1.05, 0.95]
    sentence = describe_ratio(ratio_ci([v * 10 for v in baseline], baseline), "csv + pandas")
    assert sentence.startswith("uses 10.0x more energy than csv + pandas (95% interval ")
    assert sentence.endswith(": a clear difference")


def test_wide_interval_with_a_large_point_estimate_is_still_no_clear_difference() -> None:
    comparison = compare_ratio(Estimate(value=0.5, low=0.2, high=1.3, n=5))
    assert (comparison.direction, comparison.factor, comparison.clear) == ("less", 2.0, False)
    assert describe_ratio(comparison.ratio, "csv + pandas") == (
        "0.5x the energy of csv + pandas (95% interval 0.2x-1.3x): no clear difference"
    )


def test_small_clear_differences_are_not_blurred_into_one() -> None:
    sentence = describe_ratio(Estimate(value=1.04, low=1.02, high=1.06, n=30), "csv + pandas")
    assert "uses 1.04x more energy" in sentence
    assert "(95% interval 1.02x-1.06x): a clear difference" in sentence


def test_a_single_measurement_gets_no_verdict() -> None:
    estimate = ratio_ci([0.1], [1.0])
    assert not compare_ratio(estimate).clear
    assert describe_ratio(estimate, "csv + pandas") == (
        "0.1x the energy of csv + pandas (a single measurement: no interval, so no verdict)"
    )


def test_the_interval_level_follows_the_estimate() -> None:
    estimate = Estimate(value=2.0, low=1.5, high=2.5, n=5, confidence=0.9)
    assert "(90% interval 1.5x-2.5x)" in describe_ratio(estimate, "csv + pandas")


def test_comparison_orients_less_as_a_factor_above_one() -> None:
    comparison = compare_ratio(Estimate(value=0.25, low=0.2, high=0.5, n=5))
    assert comparison.direction == "less"
    assert comparison.clear
    assert (comparison.factor, comparison.factor_low, comparison.factor_high) == (4.0, 2.0, 5.0)


def test_comparison_refuses_a_non_positive_ratio() -> None:
    with pytest.raises(ValueError, match="positive"):
        compare_ratio(Estimate(value=0.0, low=0.0, high=0.1, n=5))


@settings(deadline=None)
@given(values=samples, baseline=samples)
def test_clear_means_the_interval_excludes_one(values: list[float], baseline: list[float]) -> None:
    estimate = ratio_ci(values, baseline, resamples=PROPERTY_RESAMPLES)
    comparison = compare_ratio(estimate)
    assert comparison.clear == (estimate.has_interval and (estimate.low > 1 or estimate.high < 1))
    assert comparison.factor_low <= comparison.factor <= comparison.factor_high
    if comparison.direction != "same":
        assert comparison.factor >= 1.0
    sentence = describe_ratio(estimate, "csv + pandas")
    assert sentence.endswith(": a clear difference") == comparison.clear
