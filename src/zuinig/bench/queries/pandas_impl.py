"""The benchmark queries in pandas, written as an analyst would: filter, merge, group.

The same code serves both pandas modes. The only difference that shows is in date
columns: numpy-backed ones (``datetime64``) compare with a ``Timestamp``,
pyarrow-backed ones (``date32[pyarrow]``) with a ``datetime.date``; :func:`_day`
picks the right literal.

Importing this module imports pandas; engines import it in their (separately
measured) import step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType

import pandas as pd

from zuinig.bench.queries import catalog as c

#: A query: named tables in, a result frame out.
PandasQuery = Callable[[Mapping[str, pd.DataFrame]], pd.DataFrame]


def _day(column: pd.Series, day: date) -> date | pd.Timestamp:
    """The literal that compares with ``column``: a date for Arrow dates, else a Timestamp."""
    if isinstance(column.dtype, pd.ArrowDtype):
        return day
    return pd.Timestamp(day)


def _in_window(column: pd.Series, start: date, end: date) -> pd.Series:
    """``start <= column < end``, the TPC-H date window."""
    return (column >= _day(column, start)) & (column < _day(column, end))


def tpch_q1(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """TPC-H Q1, pricing summary report."""
    lineitem = tables["lineitem"]
    shipdate = lineitem["l_shipdate"]
    lineitem = lineitem[shipdate <= _day(shipdate, c.Q1_SHIPDATE_MAX)]
    disc_price = lineitem["l_extendedprice"] * (1 - lineitem["l_discount"])
    lineitem = lineitem.assign(disc_price=disc_price, charge=disc_price * (1 + lineitem["l_tax"]))
    return (
        lineitem.groupby(["l_returnflag", "l_linestatus"], as_index=False, observed=True)
        .agg(
            sum_qty=("l_quantity", "sum"),
            sum_base_price=("l_extendedprice", "sum"),
            sum_disc_price=("disc_price", "sum"),
            sum_charge=("charge", "sum"),
            avg_qty=("l_quantity", "mean"),
            avg_price=("l_extendedprice", "mean"),
            avg_disc=("l_discount", "mean"),
            count_order=("l_quantity", "size"),
        )
        .sort_values(["l_returnflag", "l_linestatus"], ignore_index=True)
    )


def tpch_q3(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """TPC-H Q3, shipping priority."""
    customer = tables["customer"]
    customer = customer[customer["c_mktsegment"] == c.Q3_SEGMENT]
    orders = tables["orders"]
    orders = orders[orders["o_orderdate"] < _day(orders["o_orderdate"], c.Q3_DATE)]
    lineitem = tables["lineitem"]
    lineitem = lineitem[lineitem["l_shipdate"] > _day(lineitem["l_shipdate"], c.Q3_DATE)]
    joined = lineitem.merge(orders, left_on="l_orderkey", right_on="o_orderkey").merge(
        customer, left_on="o_custkey", right_on="c_custkey"
    )
    joined["revenue"] = joined["l_extendedprice"] * (1 - joined["l_discount"])
    result = joined.groupby(
        ["l_orderkey", "o_orderdate", "o_shippriority"], as_index=False, observed=True
    ).agg(revenue=("revenue", "sum"))
    top = result.sort_values(["revenue", "o_orderdate"], ascending=[False, True])
    return top.head(c.Q3_LIMIT)[["l_orderkey", "revenue", "o_orderdate", "o_shippriority"]]


def tpch_q5(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """TPC-H Q5, local supplier volume."""
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
    joined["revenue"] = joined["l_extendedprice"] * (1 - joined["l_discount"])
    result = joined.groupby("n_name", as_index=False, observed=True).agg(revenue=("revenue", "sum"))
    return result.sort_values("revenue", ascending=False, ignore_index=True)


def tpch_q6(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """TPC-H Q6, forecasting revenue change."""
    lineitem = tables["lineitem"]
    selected = lineitem[
        _in_window(lineitem["l_shipdate"], c.Q6_DATE_FROM, c.Q6_DATE_TO)
        & lineitem["l_discount"].between(c.Q6_DISCOUNT_MIN, c.Q6_DISCOUNT_MAX)
        & (lineitem["l_quantity"] < c.Q6_QUANTITY_BELOW)
    ]
    revenue = (selected["l_extendedprice"] * selected["l_discount"]).sum()
    return pd.DataFrame({"revenue": [float(revenue)]})


def tpch_q10(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """TPC-H Q10, returned item reporting."""
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
    joined["revenue"] = joined["l_extendedprice"] * (1 - joined["l_discount"])
    keys = ["c_custkey", "c_name", "c_acctbal", "c_phone", "n_name", "c_address", "c_comment"]
    result = joined.groupby(keys, as_index=False, observed=True).agg(revenue=("revenue", "sum"))
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
    return result.sort_values("revenue", ascending=False).head(c.Q10_LIMIT)[columns]


def tpch_q12(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """TPC-H Q12, shipping modes and order priority."""
    lineitem = tables["lineitem"]
    lineitem = lineitem[
        lineitem["l_shipmode"].isin(c.Q12_SHIPMODES)
        & (lineitem["l_commitdate"] < lineitem["l_receiptdate"])
        & (lineitem["l_shipdate"] < lineitem["l_commitdate"])
        & _in_window(lineitem["l_receiptdate"], c.Q12_DATE_FROM, c.Q12_DATE_TO)
    ]
    joined = tables["orders"].merge(lineitem, left_on="o_orderkey", right_on="l_orderkey")
    high = joined["o_orderpriority"].isin(c.Q12_HIGH_PRIORITIES)
    joined = joined.assign(
        high_line_count=high.astype("int64"), low_line_count=(~high).astype("int64")
    )
    return (
        joined.groupby("l_shipmode", as_index=False, observed=True)[
            ["high_line_count", "low_line_count"]
        ]
        .sum()
        .sort_values("l_shipmode", ignore_index=True)
    )


def _x(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    return tables[c.GROUPBY_TABLE]


def groupby_q1(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """h2oai group-by q1: sum v1 by id1."""
    return _x(tables).groupby("id1", as_index=False, observed=True).agg(v1=("v1", "sum"))


def groupby_q2(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """h2oai group-by q2: sum v1 by id1, id2."""
    return _x(tables).groupby(["id1", "id2"], as_index=False, observed=True).agg(v1=("v1", "sum"))


def groupby_q3(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """h2oai group-by q3: sum v1, mean v3 by id3."""
    return (
        _x(tables)
        .groupby("id3", as_index=False, observed=True)
        .agg(v1=("v1", "sum"), v3=("v3", "mean"))
    )


def groupby_q4(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """h2oai group-by q4: mean v1, v2, v3 by id4."""
    return _x(tables).groupby("id4", as_index=False, observed=True)[["v1", "v2", "v3"]].mean()


def groupby_q5(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """h2oai group-by q5: sum v1, v2, v3 by id6."""
    return _x(tables).groupby("id6", as_index=False, observed=True)[["v1", "v2", "v3"]].sum()


def groupby_q6(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """h2oai group-by q6: median and sample standard deviation of v3 by id4, id5."""
    return (
        _x(tables)
        .groupby(["id4", "id5"], as_index=False, observed=True)
        .agg(median_v3=("v3", "median"), sd_v3=("v3", "std"))
    )


def groupby_q7(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """h2oai group-by q7: max v1 - min v2 by id3."""
    ranges = (
        _x(tables)
        .groupby("id3", as_index=False, observed=True)
        .agg(v1=("v1", "max"), v2=("v2", "min"))
    )
    ranges["range_v1_v2"] = ranges["v1"] - ranges["v2"]
    return ranges[["id3", "range_v1_v2"]]


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
