"""The bench's results carry an estimate's model range (issue 11, item 4): per
configuration and query the medians of the trials' lows and highs, and over all queries
the same of their per-repetition sums, like the energy itself."""

from __future__ import annotations

from zuinig.bench.results import Configuration, Observation, summarise
from zuinig.bench.trial import PHASE_MEASURED, STATUS_OK

DUCKDB = Configuration("parquet-zstd", "duckdb", "default", 1)
QUERIES = ("q1", "q2")


def _observation(
    query: str, repetition: int, energy: float, low: float | None, high: float | None
) -> Observation:
    return Observation(
        DUCKDB,
        query,
        repetition,
        PHASE_MEASURED,
        STATUS_OK,
        energy_kwh=energy,
        duration_s=1.0,
        energy_kwh_low=low,
        energy_kwh_high=high,
    )


def test_rows_carry_the_medians_of_lows_and_highs_and_totals_sum_them() -> None:
    observed = [
        # q1: lows 1, 2, 9 (median 2); highs 4, 5, 30 (median 5)
        _observation("q1", 0, 2.0, 1.0, 4.0),
        _observation("q1", 1, 3.0, 2.0, 5.0),
        _observation("q1", 2, 10.0, 9.0, 30.0),
        # q2: one range per repetition, added to q1's per repetition for the totals
        _observation("q2", 0, 1.0, 0.5, 2.0),
        _observation("q2", 1, 1.0, 0.5, 2.0),
        _observation("q2", 2, 1.0, 0.5, 2.0),
    ]
    summary = summarise([DUCKDB], QUERIES, observed, {}, {}, {})
    q1, q2 = summary.results
    assert (q1.energy_kwh_low_median, q1.energy_kwh_high_median) == (2.0, 5.0)
    assert (q2.energy_kwh_low_median, q2.energy_kwh_high_median) == (0.5, 2.0)
    [total] = summary.totals
    # per repetition: lows 1.5, 2.5, 9.5 and highs 6, 7, 32
    assert (total.energy_kwh_low_median, total.energy_kwh_high_median) == (2.5, 7.0)


def test_no_range_when_any_counted_trial_lacks_one() -> None:
    """A measured trial (no range) beside estimated ones must not yield a half range."""
    observed = [
        _observation("q1", 0, 2.0, 1.0, 4.0),
        _observation("q1", 1, 3.0, None, None),
        _observation("q2", 0, 1.0, 0.5, 2.0),
        _observation("q2", 1, 1.0, 0.5, 2.0),
    ]
    summary = summarise([DUCKDB], QUERIES, observed, {}, {}, {})
    q1, q2 = summary.results
    assert q1.energy_kwh_low_median is None and q1.energy_kwh_high_median is None
    assert q2.energy_kwh_low_median == 0.5
    [total] = summary.totals
    # repetition 1 has no range for q1, so the totals have none either
    assert total.energy_kwh_median is not None
    assert total.energy_kwh_low_median is None and total.energy_kwh_high_median is None
