"""What keeps advice fast on large ledgers: savings.median_interval (the bootstrap up to
the cap, order statistics above it) and recommend without the realised savings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.stats import binom  # type: ignore[import-untyped, unused-ignore]

from zuinig.advise import Records, realised, recommend
from zuinig.advise.savings import MEDIAN_BOOTSTRAP_MAX_VALUES, median_interval
from zuinig.bench import stats
from zuinig.config import Settings
from zuinig.ledger import Run
from zuinig.meter.base import InputFile


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


def _switched_runs() -> tuple[Run, ...]:
    """A job on csv + pandas for five days, then on parquet + duckdb for five days."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    csv = InputFile(path="/data/a.csv", size_bytes=100_000_000, format="csv")
    parquet = InputFile(path="/data/a.parquet", size_bytes=25_000_000, format="parquet")
    return tuple(
        Run(
            run_id=f"run-{day:02d}",
            job="etl.job",
            status="ok",
            started_at=start + timedelta(days=day),
            energy_kwh=(1.0e-3 if day < 5 else 0.2e-3) * (1 + day / 100),
            method_cpu="cpu_load",
            method_cpu_tdp_w=65.0,
            tracking_mode="process",
            inputs=(csv,) if day < 5 else (parquet,),
            engines={"pandas": "2.2"} if day < 5 else {"duckdb": "1.1"},
        )
        for day in range(10)
    )


def test_recommend_without_realised_leaves_only_the_realised_out() -> None:
    records = Records(runs=_switched_runs())
    now = datetime(2026, 11, 12, tzinfo=UTC)
    full = recommend(records, Settings(), now=now)
    without = recommend(records, Settings(), now=now, with_realised=False)
    assert [r.job for r in full.realised] == ["etl.job"] and without.realised == []
    assert without.recommendations == full.recommendations and without.notes == full.notes
    [found] = realised(records, now=now)
    assert (found.before, found.after) == ("csv + pandas", "parquet + duckdb")
    assert found.since == datetime(2026, 11, 6, tzinfo=UTC)
