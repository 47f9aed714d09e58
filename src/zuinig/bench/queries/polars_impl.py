"""The benchmark queries as Polars expressions.

One function per query serves both eager ``DataFrame`` and lazy ``LazyFrame``
inputs: Polars gives both the same methods, so the eager, lazy and streaming
modes run the same query text, and differ only in how the data is read and
executed. Join order follows the filters: the smallest filtered side first.

Importing this module imports Polars; engines import it in their (separately
measured) import step.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol, TypeVar

import polars as pl

from zuinig.bench.queries import catalog as c

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


class PolarsQuery(Protocol):
    """A query over named tables, eager or lazy alike."""

    def __call__(self, tables: Mapping[str, Frame], /) -> Frame: ...


def _revenue() -> pl.Expr:
    return pl.col("l_extendedprice") * (1 - pl.col("l_discount"))


def tpch_q1(tables: Mapping[str, Frame]) -> Frame:
    """TPC-H Q1, pricing summary report."""
    lineitem = tables["lineitem"].filter(pl.col("l_shipdate") <= c.Q1_SHIPDATE_MAX)
    return (
        lineitem.group_by("l_returnflag", "l_linestatus")
        .agg(
            pl.col("l_quantity").sum().alias("sum_qty"),
            pl.col("l_extendedprice").sum().alias("sum_base_price"),
            _revenue().sum().alias("sum_disc_price"),
            (_revenue() * (1 + pl.col("l_tax"))).sum().alias("sum_charge"),
            pl.col("l_quantity").mean().alias("avg_qty"),
            pl.col("l_extendedprice").mean().alias("avg_price"),
            pl.col("l_discount").mean().alias("avg_disc"),
            pl.len().alias("count_order"),
        )
        .sort("l_returnflag", "l_linestatus")
    )


def tpch_q3(tables: Mapping[str, Frame]) -> Frame:
    """TPC-H Q3, shipping priority."""
    customer = tables["customer"].filter(pl.col("c_mktsegment") == c.Q3_SEGMENT)
    orders = tables["orders"].filter(pl.col("o_orderdate") < c.Q3_DATE)
    lineitem = tables["lineitem"].filter(pl.col("l_shipdate") > c.Q3_DATE)
    return (
        lineitem.join(orders, left_on="l_orderkey", right_on="o_orderkey")
        .join(customer, left_on="o_custkey", right_on="c_custkey")
        .group_by("l_orderkey", "o_orderdate", "o_shippriority")
        .agg(_revenue().sum().alias("revenue"))
        .select("l_orderkey", "revenue", "o_orderdate", "o_shippriority")
        .sort(["revenue", "o_orderdate"], descending=[True, False])
        .head(c.Q3_LIMIT)
    )


def tpch_q5(tables: Mapping[str, Frame]) -> Frame:
    """TPC-H Q5, local supplier volume."""
    region = tables["region"].filter(pl.col("r_name") == c.Q5_REGION)
    nation = tables["nation"].join(region, left_on="n_regionkey", right_on="r_regionkey")
    supplier = tables["supplier"].join(nation, left_on="s_nationkey", right_on="n_nationkey")
    orders = tables["orders"].filter(
        (pl.col("o_orderdate") >= c.Q5_DATE_FROM) & (pl.col("o_orderdate") < c.Q5_DATE_TO)
    )
    return (
        tables["lineitem"]
        .join(orders, left_on="l_orderkey", right_on="o_orderkey")
        .join(tables["customer"], left_on="o_custkey", right_on="c_custkey")
        .join(supplier, left_on=["l_suppkey", "c_nationkey"], right_on=["s_suppkey", "s_nationkey"])
        .group_by("n_name")
        .agg(_revenue().sum().alias("revenue"))
        .sort("revenue", descending=True)
    )


def tpch_q6(tables: Mapping[str, Frame]) -> Frame:
    """TPC-H Q6, forecasting revenue change."""
    return (
        tables["lineitem"]
        .filter(
            (pl.col("l_shipdate") >= c.Q6_DATE_FROM)
            & (pl.col("l_shipdate") < c.Q6_DATE_TO)
            & pl.col("l_discount").is_between(c.Q6_DISCOUNT_MIN, c.Q6_DISCOUNT_MAX)
            & (pl.col("l_quantity") < c.Q6_QUANTITY_BELOW)
        )
        .select((pl.col("l_extendedprice") * pl.col("l_discount")).sum().alias("revenue"))
    )


def tpch_q10(tables: Mapping[str, Frame]) -> Frame:
    """TPC-H Q10, returned item reporting."""
    orders = tables["orders"].filter(
        (pl.col("o_orderdate") >= c.Q10_DATE_FROM) & (pl.col("o_orderdate") < c.Q10_DATE_TO)
    )
    lineitem = tables["lineitem"].filter(pl.col("l_returnflag") == c.Q10_RETURNFLAG)
    return (
        tables["customer"]
        .join(orders, left_on="c_custkey", right_on="o_custkey")
        .join(lineitem, left_on="o_orderkey", right_on="l_orderkey")
        .join(tables["nation"], left_on="c_nationkey", right_on="n_nationkey")
        .group_by("c_custkey", "c_name", "c_acctbal", "c_phone", "n_name", "c_address", "c_comment")
        .agg(_revenue().sum().alias("revenue"))
        .select(
            "c_custkey",
            "c_name",
            "revenue",
            "c_acctbal",
            "n_name",
            "c_address",
            "c_phone",
            "c_comment",
        )
        .sort("revenue", descending=True)
        .head(c.Q10_LIMIT)
    )


def tpch_q12(tables: Mapping[str, Frame]) -> Frame:
    """TPC-H Q12, shipping modes and order priority."""
    lineitem = tables["lineitem"].filter(
        pl.col("l_shipmode").is_in(c.Q12_SHIPMODES)
        & (pl.col("l_commitdate") < pl.col("l_receiptdate"))
        & (pl.col("l_shipdate") < pl.col("l_commitdate"))
        & (pl.col("l_receiptdate") >= c.Q12_DATE_FROM)
        & (pl.col("l_receiptdate") < c.Q12_DATE_TO)
    )
    high = pl.col("o_orderpriority").is_in(c.Q12_HIGH_PRIORITIES)
    return (
        tables["orders"]
        .join(lineitem, left_on="o_orderkey", right_on="l_orderkey")
        .group_by("l_shipmode")
        .agg(high.sum().alias("high_line_count"), (~high).sum().alias("low_line_count"))
        .sort("l_shipmode")
    )


def groupby_q1(tables: Mapping[str, Frame]) -> Frame:
    """h2oai group-by q1: sum v1 by id1."""
    return tables[c.GROUPBY_TABLE].group_by("id1").agg(pl.col("v1").sum())


def groupby_q2(tables: Mapping[str, Frame]) -> Frame:
    """h2oai group-by q2: sum v1 by id1, id2."""
    return tables[c.GROUPBY_TABLE].group_by("id1", "id2").agg(pl.col("v1").sum())


def groupby_q3(tables: Mapping[str, Frame]) -> Frame:
    """h2oai group-by q3: sum v1, mean v3 by id3."""
    return tables[c.GROUPBY_TABLE].group_by("id3").agg(pl.col("v1").sum(), pl.col("v3").mean())


def groupby_q4(tables: Mapping[str, Frame]) -> Frame:
    """h2oai group-by q4: mean v1, v2, v3 by id4."""
    return tables[c.GROUPBY_TABLE].group_by("id4").agg(pl.col("v1", "v2", "v3").mean())


def groupby_q5(tables: Mapping[str, Frame]) -> Frame:
    """h2oai group-by q5: sum v1, v2, v3 by id6."""
    return tables[c.GROUPBY_TABLE].group_by("id6").agg(pl.col("v1", "v2", "v3").sum())


def groupby_q6(tables: Mapping[str, Frame]) -> Frame:
    """h2oai group-by q6: median and sample standard deviation of v3 by id4, id5."""
    return (
        tables[c.GROUPBY_TABLE]
        .group_by("id4", "id5")
        .agg(
            pl.col("v3").median().alias("median_v3"),
            pl.col("v3").std().alias("sd_v3"),
        )
    )


def groupby_q7(tables: Mapping[str, Frame]) -> Frame:
    """h2oai group-by q7: max v1 - min v2 by id3."""
    return (
        tables[c.GROUPBY_TABLE]
        .group_by("id3")
        .agg((pl.col("v1").max() - pl.col("v2").min()).alias("range_v1_v2"))
    )


#: Query functions per workload and query name.
QUERIES: Mapping[str, Mapping[str, PolarsQuery]] = MappingProxyType(
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
