"""Which queries each workload has, what they read, and their parameters.

This module is the single source of the query parameters: the SQL text, the
pandas code and the Polars code all take them from here, so the engines cannot
drift apart on a date or a constant.

TPC-H parameters are the *validation* substitution parameters of the TPC-H
specification (revision 3.0.1, clause 2.4.x.4 of each query), the values whose
answers the specification publishes. The data and queries are TPC-H derived:
results are not comparable to official TPC-H results.

Every engine reads only the columns a query uses (:attr:`QuerySpec.columns`):
lazy engines find that out themselves, eager readers are told, as a careful
analyst would do. Text formats are still parsed in full, so the format's cost
stays in the measurement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from zuinig.errors import BenchError

TPCH = "tpch"
GROUPBY = "groupby"
USER = "user"

# --- TPC-H validation parameters -------------------------------------------------------
#: Q1: ``date '1998-12-01' - interval ':1' day`` with DELTA = 90.
Q1_SHIPDATE_MAX = date(1998, 9, 2)
#: Q3: SEGMENT and DATE.
Q3_SEGMENT = "BUILDING"
Q3_DATE = date(1995, 3, 15)
#: Q3 returns the first 10 rows (part of the query text).
Q3_LIMIT = 10
#: Q5: REGION and DATE; the window is one year.
Q5_REGION = "ASIA"
Q5_DATE_FROM = date(1994, 1, 1)
Q5_DATE_TO = date(1995, 1, 1)
#: Q6: DATE (one year), DISCOUNT = 0.06 (between DISCOUNT - 0.01 and DISCOUNT + 0.01,
#: computed in decimal so that the bounds are exactly 0.05 and 0.07), QUANTITY = 24.
Q6_DATE_FROM = date(1994, 1, 1)
Q6_DATE_TO = date(1995, 1, 1)
_Q6_DISCOUNT = Decimal("0.06")
_Q6_DISCOUNT_STEP = Decimal("0.01")
Q6_DISCOUNT_MIN = float(_Q6_DISCOUNT - _Q6_DISCOUNT_STEP)
Q6_DISCOUNT_MAX = float(_Q6_DISCOUNT + _Q6_DISCOUNT_STEP)
Q6_QUANTITY_BELOW = 24
#: Q10: DATE; the window is three months.
Q10_DATE_FROM = date(1993, 10, 1)
Q10_DATE_TO = date(1994, 1, 1)
Q10_RETURNFLAG = "R"
#: Q10 returns the first 20 rows (part of the query text).
Q10_LIMIT = 20
#: Q12: SHIPMODE1, SHIPMODE2 and DATE (one year).
Q12_SHIPMODES = ("MAIL", "SHIP")
Q12_DATE_FROM = date(1994, 1, 1)
Q12_DATE_TO = date(1995, 1, 1)
Q12_HIGH_PRIORITIES = ("1-URGENT", "2-HIGH")

#: Columns of the TPC-H tables that hold dates (text formats must parse them as dates).
TPCH_DATE_COLUMNS = frozenset({"l_shipdate", "l_commitdate", "l_receiptdate", "o_orderdate"})

#: The table of the group-by workload; h2oai's db-benchmark calls it ``x``.
GROUPBY_TABLE = "x"


@dataclass(frozen=True)
class QuerySpec:
    """One benchmark query, independent of the engine that runs it.

    Attributes:
        workload: the workload it belongs to (``tpch`` or ``groupby``).
        name: its short name (``q1``).
        title: what it computes, in words.
        columns: per table, the columns the query reads.
    """

    workload: str
    name: str
    title: str
    columns: Mapping[str, tuple[str, ...]]

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables the query reads."""
        return tuple(self.columns)

    def date_columns(self, table: str) -> tuple[str, ...]:
        """The columns of ``table`` this query reads that hold dates."""
        dates = TPCH_DATE_COLUMNS if self.workload == TPCH else frozenset()
        return tuple(column for column in self.columns[table] if column in dates)


def _spec(workload: str, name: str, title: str, **columns: tuple[str, ...]) -> QuerySpec:
    return QuerySpec(workload, name, title, MappingProxyType(dict(columns)))


_TPCH_QUERIES = (
    _spec(
        TPCH,
        "q1",
        "pricing summary report: sums and averages per return flag and line status",
        lineitem=(
            "l_returnflag",
            "l_linestatus",
            "l_quantity",
            "l_extendedprice",
            "l_discount",
            "l_tax",
            "l_shipdate",
        ),
    ),
    _spec(
        TPCH,
        "q3",
        "shipping priority: the 10 unshipped orders of a segment with the highest revenue",
        customer=("c_custkey", "c_mktsegment"),
        orders=("o_orderkey", "o_custkey", "o_orderdate", "o_shippriority"),
        lineitem=("l_orderkey", "l_extendedprice", "l_discount", "l_shipdate"),
    ),
    _spec(
        TPCH,
        "q5",
        "local supplier volume: revenue per nation of a region in one year",
        customer=("c_custkey", "c_nationkey"),
        orders=("o_orderkey", "o_custkey", "o_orderdate"),
        lineitem=("l_orderkey", "l_suppkey", "l_extendedprice", "l_discount"),
        supplier=("s_suppkey", "s_nationkey"),
        nation=("n_nationkey", "n_name", "n_regionkey"),
        region=("r_regionkey", "r_name"),
    ),
    _spec(
        TPCH,
        "q6",
        "forecasting revenue change: one filtered sum over lineitem",
        lineitem=("l_shipdate", "l_discount", "l_quantity", "l_extendedprice"),
    ),
    _spec(
        TPCH,
        "q10",
        "returned item reporting: the 20 customers with the most revenue lost to returns",
        customer=(
            "c_custkey",
            "c_name",
            "c_acctbal",
            "c_phone",
            "c_address",
            "c_comment",
            "c_nationkey",
        ),
        orders=("o_orderkey", "o_custkey", "o_orderdate"),
        lineitem=("l_orderkey", "l_returnflag", "l_extendedprice", "l_discount"),
        nation=("n_nationkey", "n_name"),
    ),
    _spec(
        TPCH,
        "q12",
        "shipping modes and order priority: late lines per ship mode and priority class",
        orders=("o_orderkey", "o_orderpriority"),
        lineitem=("l_orderkey", "l_shipmode", "l_commitdate", "l_receiptdate", "l_shipdate"),
    ),
)

# The h2oai db-benchmark group-by questions q1-q7 (q8-q10 are left out: q8 ranks with
# ties, q9 is a regression, q10 returns almost one row per input row).
_GROUPBY_QUERIES = (
    _spec(GROUPBY, "q1", "sum v1 by id1 (few large groups)", x=("id1", "v1")),
    _spec(GROUPBY, "q2", "sum v1 by id1, id2 (groups of two string keys)", x=("id1", "id2", "v1")),
    _spec(GROUPBY, "q3", "sum v1, mean v3 by id3 (many small groups)", x=("id3", "v1", "v3")),
    _spec(
        GROUPBY,
        "q4",
        "mean v1, v2, v3 by id4 (few groups, integer key)",
        x=("id4", "v1", "v2", "v3"),
    ),
    _spec(
        GROUPBY,
        "q5",
        "sum v1, v2, v3 by id6 (many small groups, integer key)",
        x=("id6", "v1", "v2", "v3"),
    ),
    _spec(GROUPBY, "q6", "median and standard deviation of v3 by id4, id5", x=("id4", "id5", "v3")),
    _spec(GROUPBY, "q7", "max v1 - min v2 by id3", x=("id3", "v1", "v2")),
)

_CATALOG: Mapping[str, Mapping[str, QuerySpec]] = MappingProxyType(
    {
        TPCH: MappingProxyType({spec.name: spec for spec in _TPCH_QUERIES}),
        GROUPBY: MappingProxyType({spec.name: spec for spec in _GROUPBY_QUERIES}),
        USER: MappingProxyType({}),
    }
)


def query_names(workload: str) -> tuple[str, ...]:
    """The names of a workload's queries, in their usual order.

    Raises:
        BenchError: the workload is unknown.
    """
    return tuple(_workload_queries(workload))


def get_query(workload: str, name: str) -> QuerySpec:
    """The query ``name`` of ``workload``.

    Raises:
        BenchError: the workload or the query is unknown; the message lists the known ones.
    """
    queries = _workload_queries(workload)
    try:
        return queries[name]
    except KeyError:
        known = ", ".join(queries) or "none"
        raise BenchError(
            f"unknown query {name!r} for workload {workload!r}; known queries: {known}"
        ) from None


def parse_queries(workload: str, spec: str | None) -> tuple[str, ...]:
    """Query names from a comma-separated list (``"q1,q6"``); ``None`` or ``""`` means all.

    Raises:
        BenchError: a name is unknown.
    """
    if not spec:
        return query_names(workload)
    names = tuple(part.strip() for part in spec.split(",") if part.strip())
    for name in names:
        get_query(workload, name)
    return names


def _workload_queries(workload: str) -> Mapping[str, QuerySpec]:
    try:
        return _CATALOG[workload]
    except KeyError:
        raise BenchError(
            f"unknown workload {workload!r}; known workloads: {', '.join(_CATALOG)}"
        ) from None
