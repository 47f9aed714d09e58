"""The benchmark queries in SQL (DuckDB's dialect), close to the TPC-H specification's text.

Each table in a ``from`` clause is a placeholder, ``{lineitem}``, which :func:`render`
replaces with the table's source (``read_parquet('…') as lineitem``). Reading the
file in the query itself, rather than through a view, matters for CSV: DuckDB
detects a CSV file's dialect and types when a query is bound, and a view would be
bound twice (when created and when queried), doubling that cost.

Parameters come from :mod:`zuinig.bench.queries.catalog` and are constants, never
user input, so formatting them into the text is safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from zuinig.bench.queries import catalog as c


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


_TPCH: dict[str, str] = {
    "q1": f"""
        select
            l_returnflag,
            l_linestatus,
            sum(l_quantity) as sum_qty,
            sum(l_extendedprice) as sum_base_price,
            sum(l_extendedprice * (1 - l_discount)) as sum_disc_price,
            sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) as sum_charge,
            avg(l_quantity) as avg_qty,
            avg(l_extendedprice) as avg_price,
            avg(l_discount) as avg_disc,
            count(*) as count_order
        from {{lineitem}}
        where l_shipdate <= date '{c.Q1_SHIPDATE_MAX.isoformat()}'
        group by l_returnflag, l_linestatus
        order by l_returnflag, l_linestatus
    """,
    "q3": f"""
        select
            l_orderkey,
            sum(l_extendedprice * (1 - l_discount)) as revenue,
            o_orderdate,
            o_shippriority
        from {{customer}}, {{orders}}, {{lineitem}}
        where c_mktsegment = '{c.Q3_SEGMENT}'
            and c_custkey = o_custkey
            and l_orderkey = o_orderkey
            and o_orderdate < date '{c.Q3_DATE.isoformat()}'
            and l_shipdate > date '{c.Q3_DATE.isoformat()}'
        group by l_orderkey, o_orderdate, o_shippriority
        order by revenue desc, o_orderdate
        limit {c.Q3_LIMIT}
    """,
    "q5": f"""
        select
            n_name,
            sum(l_extendedprice * (1 - l_discount)) as revenue
        from {{customer}}, {{orders}}, {{lineitem}}, {{supplier}}, {{nation}}, {{region}}
        where c_custkey = o_custkey
            and l_orderkey = o_orderkey
            and l_suppkey = s_suppkey
            and c_nationkey = s_nationkey
            and s_nationkey = n_nationkey
            and n_regionkey = r_regionkey
            and r_name = '{c.Q5_REGION}'
            and o_orderdate >= date '{c.Q5_DATE_FROM.isoformat()}'
            and o_orderdate < date '{c.Q5_DATE_TO.isoformat()}'
        group by n_name
        order by revenue desc
    """,
    "q6": f"""
        select sum(l_extendedprice * l_discount) as revenue
        from {{lineitem}}
        where l_shipdate >= date '{c.Q6_DATE_FROM.isoformat()}'
            and l_shipdate < date '{c.Q6_DATE_TO.isoformat()}'
            and l_discount between {c.Q6_DISCOUNT_MIN!r} and {c.Q6_DISCOUNT_MAX!r}
            and l_quantity < {c.Q6_QUANTITY_BELOW}
    """,
    "q10": f"""
        select
            c_custkey,
            c_name,
            sum(l_extendedprice * (1 - l_discount)) as revenue,
            c_acctbal,
            n_name,
            c_address,
            c_phone,
            c_comment
        from {{customer}}, {{orders}}, {{lineitem}}, {{nation}}
        where c_custkey = o_custkey
            and l_orderkey = o_orderkey
            and o_orderdate >= date '{c.Q10_DATE_FROM.isoformat()}'
            and o_orderdate < date '{c.Q10_DATE_TO.isoformat()}'
            and l_returnflag = '{c.Q10_RETURNFLAG}'
            and c_nationkey = n_nationkey
        group by c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment
        order by revenue desc
        limit {c.Q10_LIMIT}
    """,
    "q12": f"""
        select
            l_shipmode,
            sum(case when o_orderpriority in ({_quoted(c.Q12_HIGH_PRIORITIES)})
                then 1 else 0 end) as high_line_count,
            sum(case when o_orderpriority not in ({_quoted(c.Q12_HIGH_PRIORITIES)})
                then 1 else 0 end) as low_line_count
        from {{orders}}, {{lineitem}}
        where o_orderkey = l_orderkey
            and l_shipmode in ({_quoted(c.Q12_SHIPMODES)})
            and l_commitdate < l_receiptdate
            and l_shipdate < l_commitdate
            and l_receiptdate >= date '{c.Q12_DATE_FROM.isoformat()}'
            and l_receiptdate < date '{c.Q12_DATE_TO.isoformat()}'
        group by l_shipmode
        order by l_shipmode
    """,
}

_X = "{" + c.GROUPBY_TABLE + "}"
_GROUPBY: dict[str, str] = {
    "q1": f"select id1, sum(v1) as v1 from {_X} group by id1",
    "q2": f"select id1, id2, sum(v1) as v1 from {_X} group by id1, id2",
    "q3": f"select id3, sum(v1) as v1, avg(v3) as v3 from {_X} group by id3",
    "q4": f"select id4, avg(v1) as v1, avg(v2) as v2, avg(v3) as v3 from {_X} group by id4",
    "q5": f"select id6, sum(v1) as v1, sum(v2) as v2, sum(v3) as v3 from {_X} group by id6",
    # stddev is the sample standard deviation, as pandas' std and Polars' std (ddof=1).
    "q6": f"select id4, id5, median(v3) as median_v3, stddev_samp(v3) as sd_v3 from {_X} group by id4, id5",
    "q7": f"select id3, max(v1) - min(v2) as range_v1_v2 from {_X} group by id3",
}

#: SQL text per workload and query name.
SQL: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {c.TPCH: MappingProxyType(_TPCH), c.GROUPBY: MappingProxyType(_GROUPBY)}
)


def render(workload: str, query: str, sources: Mapping[str, str]) -> str:
    """The SQL of ``query`` with each table placeholder replaced by ``<source> as <table>``.

    Args:
        workload: ``tpch`` or ``groupby``.
        query: the query name.
        sources: per table, a table expression, e.g. ``read_csv('/data/x.csv')``.
    """
    return SQL[workload][query].format_map(
        {table: f"{source} as {table}" for table, source in sources.items()}
    )
