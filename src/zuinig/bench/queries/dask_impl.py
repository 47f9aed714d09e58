"""The benchmark queries in dask.dataframe: the pandas definitions, computed by dask.

dask.dataframe has pandas' API for what the queries do to rows (filters, merges,
derived columns) and for named aggregations per group, so each query here runs the
very :class:`~zuinig.bench.queries.pandas_impl.GroupedQuery` the pandas engine runs:
the row steps and the aggregation build one lazy dask graph, ``compute()`` runs it
(inside the measured window: reading the files is part of it) and returns the
grouped result as a small pandas frame, which is then ordered and cut as in pandas.
That last step is what a dask user does too: ``sort_values`` over several columns
is a distributed sort in dask (a shuffle), pointless for the few rows left.

Importing this module imports dask.dataframe and pandas; the engine imports it in its
(separately measured) import step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import dask.dataframe as dd
import pandas as pd

from zuinig.bench.queries import catalog as c
from zuinig.bench.queries import pandas_impl as p

#: A query: named dask frames in, the computed result as a pandas frame out.
DaskQuery = Callable[[Mapping[str, dd.DataFrame]], pd.DataFrame]


def _computed(query: p.GroupedQuery) -> DaskQuery:
    """``query`` grouped by dask, finished in pandas."""

    def run(tables: Mapping[str, dd.DataFrame]) -> pd.DataFrame:
        grouped: pd.DataFrame = query.group(query.rows(tables)).compute()
        return query.finish(grouped.reset_index())

    return run


def tpch_q6(tables: Mapping[str, dd.DataFrame]) -> pd.DataFrame:
    """TPC-H Q6, forecasting revenue change: one dask sum."""
    return p.q6_answer(p.q6_revenue(tables).compute())


#: The queries that do not group, written here.
_UNGROUPED: Mapping[tuple[str, str], DaskQuery] = {(c.TPCH, "q6"): tpch_q6}


def _dask_query(workload: str, name: str, query: p.PandasQuery) -> DaskQuery:
    if isinstance(query, p.GroupedQuery):
        return _computed(query)
    return _UNGROUPED[workload, name]  # a new pandas query without a dask form fails here


#: Query functions per workload and query name: those of pandas, computed by dask.
QUERIES: Mapping[str, Mapping[str, DaskQuery]] = MappingProxyType(
    {
        workload: MappingProxyType(
            {name: _dask_query(workload, name, query) for name, query in queries.items()}
        )
        for workload, queries in p.QUERIES.items()
    }
)
