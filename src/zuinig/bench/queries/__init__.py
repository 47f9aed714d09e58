"""Benchmark queries: the catalog here, one implementation module per engine family.

- :mod:`~zuinig.bench.queries.catalog`: names, columns read, and parameters (no engine imports).
- :mod:`~zuinig.bench.queries.sql`: SQL text for DuckDB.
- :mod:`~zuinig.bench.queries.pandas_impl`: pandas code (imports pandas).
- :mod:`~zuinig.bench.queries.polars_impl`: Polars expressions (imports Polars).
- :mod:`~zuinig.bench.queries.dask_impl`: the pandas queries computed by dask.dataframe.
"""

from zuinig.bench.queries.catalog import (
    GROUPBY,
    TPCH,
    USER,
    QuerySpec,
    get_query,
    parse_queries,
    query_names,
)

__all__ = [
    "GROUPBY",
    "TPCH",
    "USER",
    "QuerySpec",
    "get_query",
    "parse_queries",
    "query_names",
]
