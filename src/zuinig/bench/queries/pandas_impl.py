"""The benchmark queries in pandas, written as an analyst would: filter, merge, group.

The same code serves both pandas modes. The only difference that shows is in date
columns: numpy-backed ones (``datetime64``) compare with a ``Timestamp``,
pyarrow-backed ones (``date32[pyarrow]``) with a ``datetime.date``; :func:`_day`
picks the right literal.

Each query that groups is a :class:`GroupedQuery`: its row steps (filters, merges,
derived columns), its group keys and aggregations, and the ordering of the small
grouped result. dask.dataframe has the same API for the row steps and the
aggregations, so :mod:`zuinig.bench.queries.dask_impl` runs these very definitions
and differs only in computing the grouped result; the two cannot drift apart.

Importing this module imports pandas; engines import it in their (separately
measured) import step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

import pandas as pd

from zuinig.bench.queries import catalog as c

#: A query: named tables in, a result frame out.
PandasQuery = Callable[[Mapping[str, pd.DataFrame]], pd.DataFrame]
#: A pandas or a dask.dataframe DataFrame (or Series): the row steps below use only the
#: API the two share.
Frame = Any
#: Named aggregations: output column -> (input column, aggregation), as ``agg`` takes them.
Aggregations = Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class GroupedQuery:
    """A query that groups: rows, then one aggregation per group, then ordering.

    Attributes:
        rows: filters, merges and derived columns over the named tables; written in
            the API pandas and dask.dataframe share.
        keys: the group keys.
        aggregations: what each group gives.
        finish: ordering, limits and column choice, on the grouped result (pandas,
            group keys as columns).
    """

    rows: Callable[[Mapping[str, Frame]], Frame]
    keys: tuple[str, ...]
    aggregations: Aggregations
    finish: Callable[[pd.DataFrame], pd.DataFrame] = lambda grouped: grouped

    def __call__(self, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        """Run the query on pandas frames."""
        grouped: pd.DataFrame = self.group(self.rows(tables)).reset_index()
        return self.finish(grouped)

    def group(self, rows: Frame) -> Frame:
        """The aggregation of ``rows`` per group, group keys in the index."""
        return rows.groupby(list(self.keys), observed=True).agg(**self.aggregations)


def _day(column: Frame, day: date) -> date | pd.Timestamp:
    """The literal that compares with ``column``: a date for Arrow dates, else a Timestamp."""
    if isinstance(column.dtype, pd.ArrowDtype):
        return day
    return pd.Timestamp(day)


def _in_window(column: Frame, start: date, end: date) -> Frame:
    """``start <= column < end``, the TPC-H date window."""
    return (column >= _day(column, start)) & (column < _day(column, end))


def _with_revenue(joined: Frame) -> Frame:
    return joined.assign(revenue=joined["l_extendedprice"] * (1 - joined["l_discount"]))


def _q1_rows(tables: Mapping[str, Frame]) -> Frame:
    lineitem = tables["lineitem"]
    shipdate = lineitem["l_shipdate"]
    lineitem = lineitem[shipdate <= _day(shipdate, c.Q1_SHIPDATE_MAX)]
    disc_price = lineitem["l_extendedprice"] * (1 - lineitem["l_discount"])
    return lineitem.assign(disc_price=disc_price, charge=disc_price * (1 + lineitem["l_tax"]))


def _q1_finish(grouped: pd.DataFrame) -> pd.DataFrame:
    return grouped.sort_values(["l_returnflag", "l_linestatus"], ignore_index=True)


#: TPC-H Q1, pricing summary report.
tpch_q1 = GroupedQuery(
    _q1_rows,
    ("l_returnflag", "l_linestatus"),
    {
        "sum_qty": ("l_quantity", "sum"),
        "sum_base_price": ("l_extendedprice", "sum"),
        "sum_disc_price": ("disc_price", "sum"),
        "sum_charge": ("charge", "sum"),
        "avg_qty": ("l_quantity", "mean"),
        "avg_price": ("l_extendedprice", "mean"),
        "avg_disc": ("l_discount", "mean"),
        "count_order": ("l_quantity", "size"),
    },
    _q1_finish,
)


def _q3_rows(tables: Mapping[str, Frame]) -> Frame:
    customer = tables["customer"]
    customer = customer[customer["c_mktsegment"] == c.Q3_SEGMENT]
    orders = tables["orders"]
    orders = orders[orders["o_orderdate"] < _day(orders["o_orderdate"], c.Q3_DATE)]
    lineitem = tables["lineitem"]
    lineitem = lineitem[lineitem["l_shipdate"] > _day(lineitem["l_shipdate"], c.Q3_DATE)]
    joined = lineitem.merge(orders, left_on="l_orderkey", right_on="o_orderkey").merge(
        customer, left_on="o_custkey", right_on="c_custkey"
    )
    return _with_revenue(joined)


def _q3_finish(grouped: pd.DataFrame) -> pd.DataFrame:
    top = grouped.sort_values(["revenue", "o_orderdate"], ascending=[False, True])
    return top.head(c.Q3_LIMIT)[["l_orderkey", "revenue", "o_orderdate", "o_shippriority"]]


#: TPC-H Q3, shipping priority.
tpch_q3 = GroupedQuery(
    _q3_rows,
    ("l_orderkey", "o_orderdate", "o_shippriority"),
    {"revenue": ("revenue", "sum")},
    _q3_finish,
)


def _q5_rows(tables: Mapping[str, Frame]) -> Frame:
    region = tables["region"]
    region = region[region["r_name"] == c.Q5_REGION]
    nation = tables["nation"].merge(region, left_on="n_regionkey", right_on="r_regionkey")
    supplier = tables["supplier"].merge(nation, left_on="s_nationkey", right_on="n_nationkey")
    orders = tables["orders"]
    orders = orders[_in_window(orders["o_orderdate"], c.Q5_DATE_FROM, c.Q5_DATE_TO)]
    joined = (
        tables["lineitem"]
        .merge(orders, left_on="l_orderkey", right_on="o_orderkey")
        .merge(tables["customer"], left_on="o_custkey", right_on="c_custkey")
        .merge(
            supplier, left_on=["l_suppkey", "c_nationkey"], right_on=["s_suppkey", "s_nationkey"]
        )
    )
    return _with_revenue(joined)


def _q5_finish(grouped: pd.DataFrame) -> pd.DataFrame:
    return grouped.sort_values("revenue", ascending=False, ignore_index=True)


#: TPC-H Q5, local supplier volume.
tpch_q5 = GroupedQuery(_q5_rows, ("n_name",), {"revenue": ("revenue", "sum")}, _q5_finish)


def q6_revenue(tables: Mapping[str, Frame]) -> Frame:
    """TPC-H Q6's sum, not yet computed by dask (a number in pandas)."""
    lineitem = tables["lineitem"]
    selected = lineitem[
        _in_window(lineitem["l_shipdate"], c.Q6_DATE_FROM, c.Q6_DATE_TO)
        & lineitem["l_discount"].between(c.Q6_DISCOUNT_MIN, c.Q6_DISCOUNT_MAX)
        & (lineitem["l_quantity"] < c.Q6_QUANTITY_BELOW)
    ]
    return (selected["l_extendedprice"] * selected["l_discount"]).sum()


def q6_answer(revenue: float) -> pd.DataFrame:
    """TPC-H Q6's answer: one row with the revenue."""
    return pd.DataFrame({"revenue": [float(revenue)]})


def tpch_q6(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """TPC-H Q6, forecasting revenue change."""
    return q6_answer(q6_revenue(tables))


def _q10_rows(tables: Mapping[str, Frame]) -> Frame:
    orders = tables["orders"]
    orders = orders[_in_window(orders["o_orderdate"], c.Q10_DATE_FROM, c.Q10_DATE_TO)]
    lineitem = tables["lineitem"]
    lineitem = lineitem[lineitem["l_returnflag"] == c.Q10_RETURNFLAG]
    joined = (
        tables["customer"]
        .merge(orders, left_on="c_custkey", right_on="o_custkey")
        .merge(lineitem, left_on="o_orderkey", right_on="l_orderkey")
        .merge(tables["nation"], left_on="c_nationkey", right_on="n_nationkey")
    )
    return _with_revenue(joined)


def _q10_finish(grouped: pd.DataFrame) -> pd.DataFrame:
    columns = [
        "c_custkey",
        "c_name",
        "revenue",
        "c_acctbal",
        "n_name",
        "c_address",
        "c_phone",
        "c_comment",
    ]
    return grouped.sort_values("revenue", ascending=False).head(c.Q10_LIMIT)[columns]


#: TPC-H Q10, returned item reporting.
tpch_q10 = GroupedQuery(
    _q10_rows,
    ("c_custkey", "c_name", "c_acctbal", "c_phone", "n_name", "c_address", "c_comment"),
    {"revenue": ("revenue", "sum")},
    _q10_finish,
)


def _q12_rows(tables: Mapping[str, Frame]) -> Frame:
    lineitem = tables["lineitem"]
    lineitem = lineitem[
        lineitem["l_shipmode"].isin(c.Q12_SHIPMODES)
        & (lineitem["l_commitdate"] < lineitem["l_receiptdate"])
        & (lineitem["l_shipdate"] < lineitem["l_commitdate"])
        & _in_window(lineitem["l_receiptdate"], c.Q12_DATE_FROM, c.Q12_DATE_TO)
    ]
    joined = tables["orders"].merge(lineitem, left_on="o_orderkey", right_on="l_orderkey")
    high = joined["o_orderpriority"].isin(c.Q12_HIGH_PRIORITIES)
    return joined.assign(
        high_line_count=high.astype("int64"), low_line_count=(~high).astype("int64")
    )


def _q12_finish(grouped: pd.DataFrame) -> pd.DataFrame:
    return grouped.sort_values("l_shipmode", ignore_index=True)


#: TPC-H Q12, shipping modes and order priority.
tpch_q12 = GroupedQuery(
    _q12_rows,
    ("l_shipmode",),
    {
        "high_line_count": ("high_line_count", "sum"),
        "low_line_count": ("low_line_count", "sum"),
    },
    _q12_finish,
)


def _x(tables: Mapping[str, Frame]) -> Frame:
    return tables[c.GROUPBY_TABLE]


def _each(aggregation: str, *columns: str) -> Aggregations:
    """``aggregation`` of every one of ``columns``, under the column's own name."""
    return {column: (column, aggregation) for column in columns}


def _q7_finish(grouped: pd.DataFrame) -> pd.DataFrame:
    grouped["range_v1_v2"] = grouped["v1"] - grouped["v2"]
    return grouped[["id3", "range_v1_v2"]]


#: h2oai group-by q1: sum v1 by id1.
groupby_q1 = GroupedQuery(_x, ("id1",), _each("sum", "v1"))
#: h2oai group-by q2: sum v1 by id1, id2.
groupby_q2 = GroupedQuery(_x, ("id1", "id2"), _each("sum", "v1"))
#: h2oai group-by q3: sum v1, mean v3 by id3.
groupby_q3 = GroupedQuery(_x, ("id3",), {"v1": ("v1", "sum"), "v3": ("v3", "mean")})
#: h2oai group-by q4: mean v1, v2, v3 by id4.
groupby_q4 = GroupedQuery(_x, ("id4",), _each("mean", "v1", "v2", "v3"))
#: h2oai group-by q5: sum v1, v2, v3 by id6.
groupby_q5 = GroupedQuery(_x, ("id6",), _each("sum", "v1", "v2", "v3"))
#: h2oai group-by q6: median and sample standard deviation of v3 by id4, id5.
groupby_q6 = GroupedQuery(
    _x, ("id4", "id5"), {"median_v3": ("v3", "median"), "sd_v3": ("v3", "std")}
)
#: h2oai group-by q7: max v1 - min v2 by id3.
groupby_q7 = GroupedQuery(_x, ("id3",), {"v1": ("v1", "max"), "v2": ("v2", "min")}, _q7_finish)


#: Query functions per workload and query name.
QUERIES: Mapping[str, Mapping[str, PandasQuery]] = MappingProxyType(
    {
        c.TPCH: MappingProxyType(
            {
                "q1": tpch_q1,
                "q3": tpch_q3,
                "q5": tpch_q5,
                "q6": tpch_q6,
                "q10": tpch_q10,
                "q12": tpch_q12,
            }
        ),
        c.GROUPBY: MappingProxyType(
            {
                "q1": groupby_q1,
                "q2": groupby_q2,
                "q3": groupby_q3,
                "q4": groupby_q4,
                "q5": groupby_q5,
                "q6": groupby_q6,
                "q7": groupby_q7,
            }
        ),
    }
)
