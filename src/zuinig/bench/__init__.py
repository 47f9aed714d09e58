"""Benchmarks of storage formats and engines: the data half of ``zuinig bench``.

- :mod:`~zuinig.bench.workloads`: the data (TPC-H derived, h2oai-style group-by, the
  user's own file), generated locally into canonical Parquet tables and cached.
- :mod:`~zuinig.bench.formats`: the storage formats, and preparing a workload in each.
- :mod:`~zuinig.bench.queries`: the queries, their parameters, and one implementation
  per engine family.
- :mod:`~zuinig.bench.engines`: pandas, Polars and DuckDB in their modes, behind one
  interface and a registry.
- :mod:`~zuinig.bench.correctness`: whether two answers agree, and which is the reference.
- :mod:`~zuinig.bench.runner`: the matrix, each trial in a fresh process
  (:mod:`~zuinig.bench.trial`), summarised by :mod:`~zuinig.bench.results`.
- :mod:`~zuinig.bench.text`: the table, the JSON and the charts.

The names below are imported on first use, so that ``import zuinig.bench.engines`` in a
benchmark subprocess loads neither pyarrow nor any engine before the engine's own,
separately measured, import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zuinig.lazy import lazy_exports

if TYPE_CHECKING:
    from zuinig.bench.correctness import Consensus, Verdict, compare, find_consensus
    from zuinig.bench.engines import (
        Engine,
        engine_modes,
        engine_names,
        get_engine,
        load_engine,
        parse_engines,
        register_engine,
        unregister_engine,
    )
    from zuinig.bench.formats import (
        FORMATS,
        Format,
        PreparedData,
        find_prepared,
        format_names,
        get_format,
        parse_formats,
        prepare,
        prepare_one,
    )
    from zuinig.bench.queries import QuerySpec, get_query, parse_queries, query_names
    from zuinig.bench.results import Configuration, ImportRow, ResultRow, summarise
    from zuinig.bench.runner import (
        BenchOptions,
        BenchReport,
        BenchRunner,
        parse_size,
        parse_threads,
        plan_rounds,
        run_trial_process,
    )
    from zuinig.bench.text import format_json, format_table, write_charts, write_outputs
    from zuinig.bench.workloads import (
        Workload,
        default_cache_dir,
        get_workload,
        groupby,
        tpch,
        user_workload,
        workload_names,
    )

_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["Consensus", "Verdict", "compare", "find_consensus"], "correctness"),
    **dict.fromkeys(
        [
            "Engine",
            "engine_modes",
            "engine_names",
            "get_engine",
            "load_engine",
            "parse_engines",
            "register_engine",
            "unregister_engine",
        ],
        "engines",
    ),
    **dict.fromkeys(
        [
            "FORMATS",
            "Format",
            "PreparedData",
            "find_prepared",
            "format_names",
            "get_format",
            "parse_formats",
            "prepare",
            "prepare_one",
        ],
        "formats",
    ),
    **dict.fromkeys(["QuerySpec", "get_query", "parse_queries", "query_names"], "queries"),
    **dict.fromkeys(["format_json", "format_table", "write_charts", "write_outputs"], "text"),
    **dict.fromkeys(["Configuration", "ImportRow", "ResultRow", "summarise"], "results"),
    **dict.fromkeys(
        [
            "BenchOptions",
            "BenchReport",
            "BenchRunner",
            "parse_size",
            "parse_threads",
            "plan_rounds",
            "run_trial_process",
        ],
        "runner",
    ),
    **dict.fromkeys(
        [
            "Workload",
            "default_cache_dir",
            "get_workload",
            "groupby",
            "tpch",
            "user_workload",
            "workload_names",
        ],
        "workloads",
    ),
}

__all__ = [
    "FORMATS",
    "BenchOptions",
    "BenchReport",
    "BenchRunner",
    "Configuration",
    "Consensus",
    "Engine",
    "Format",
    "ImportRow",
    "PreparedData",
    "QuerySpec",
    "ResultRow",
    "Verdict",
    "Workload",
    "compare",
    "default_cache_dir",
    "engine_modes",
    "engine_names",
    "find_consensus",
    "find_prepared",
    "format_json",
    "format_names",
    "format_table",
    "get_engine",
    "get_format",
    "get_query",
    "get_workload",
    "groupby",
    "load_engine",
    "parse_engines",
    "parse_formats",
    "parse_queries",
    "parse_size",
    "parse_threads",
    "plan_rounds",
    "prepare",
    "prepare_one",
    "query_names",
    "register_engine",
    "run_trial_process",
    "summarise",
    "tpch",
    "unregister_engine",
    "user_workload",
    "workload_names",
    "write_charts",
    "write_outputs",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
