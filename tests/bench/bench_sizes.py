"""Sizes and the reference configuration of the benchmark tests, for conftest and the tests.

A module of its own, not ``from conftest import ...``: every test folder has a
``conftest`` module, and which one that name finds depends on which folder pytest
collected first (``tests/ledger``'s, in a run that names it before ``tests/bench``).
"""

from __future__ import annotations

#: Small enough for seconds, large enough that every query returns rows.
TEST_TPCH_SCALE = 0.01
TEST_GROUPBY_ROWS = 10_000
#: The configuration whose answers the matrix tests compare with.
REFERENCE_ENGINE = "duckdb"
REFERENCE_FORMAT = "parquet-zstd"
