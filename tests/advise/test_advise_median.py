"""savings.median_interval: the bootstrap up to the cap, order statistics above it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom  # type: ignore[import-untyped, unused-ignore]

from zuinig.advise.savings import MEDIAN_BOOTSTRAP_MAX_VALUES, median_interval
from zuinig.bench import stats


def test_up_to_the_cap_it_is_the_bootstrap_interval() -> None:
    rng = np.random.default_rng(1)
    for size in (1, 2, 5, 40, MEDIAN_BOOTSTRAP_MAX_VALUES):
        values = list(rng.lognormal(size=size))
        assert median_interval(values) == stats.median_ci(values)


def test_above_the_cap_the_ends_are_the_binomial_order_statistics() -> None:
    size = 4 * MEDIAN_BOOTSTRAP_MAX_VALUES + 1
    values = list(np.random.default_rng(2).permutation(size).astype(float))  # 0 .. size-1
    estimate = median_interval(values)
    # x(r) with r the largest rank such that P(Binomial(n, 1/2) <= r - 1) <= 2.5%
    rank = max(r for r in range(1, size) if binom.cdf(r - 1, size, 0.5) <= 0.025)
    assert (estimate.value, estimate.n) == ((size - 1) / 2, size)
    assert (estimate.low, estimate.high) == (rank - 1, size - rank)
    assert 1 - 2 * binom.cdf(rank - 1, size, 0.5) >= 0.95
    assert binom.cdf(rank, size, 0.5) > 0.025  # and not wider than it must be


def test_above_the_cap_constant_and_bad_values() -> None:
    size = MEDIAN_BOOTSTRAP_MAX_VALUES + 1
    constant = median_interval([0.5] * size)
    assert (constant.value, constant.low, constant.high) == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="finite"):
        median_interval([1.0] * size + [float("nan")])
