"""Polars, in three modes.

- ``eager``: ``read_*`` into DataFrames, then the query runs step by step.
- ``lazy``: ``scan_*`` into LazyFrames, the whole plan optimised, ``collect()``.
- ``streaming``: as ``lazy``, executed by the streaming engine
  (``collect(engine="streaming")``), which processes the data in morsels.

All three run the same query code (:mod:`zuinig.bench.queries.polars_impl`). Eager
readers are given the columns the query uses; lazy scans find them out. Date
columns of CSV files are read as dates (``schema_overrides``), the other types
are inferred as Polars does by default.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from zuinig.bench.engines.base import Engine, check_threads, query_spec, read_tables
from zuinig.errors import BenchError

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from zuinig.bench.formats import PreparedData
    from zuinig.formats import Format

#: Polars sizes its thread pool from this variable, once, when it is imported.
POLARS_THREADS_ENV = "POLARS_MAX_THREADS"


class PolarsEngine(Engine):
    """Polars; ``threads`` is the size of its thread pool, fixed when Polars is imported."""

    name: ClassVar[str] = "polars"
    modes: ClassVar[tuple[str, ...]] = ("eager", "lazy", "streaming")
    threads_meaning: ClassVar[str] = (
        "the size of Polars' thread pool (POLARS_MAX_THREADS), which Polars fixes when it "
        "is imported: set it through env_for_threads in a fresh process"
    )
    packages: ClassVar[tuple[str, ...]] = ("polars",)

    def env_for_threads(self, threads: int) -> dict[str, str]:
        """Arrow's pool variables and ``POLARS_MAX_THREADS``."""
        return {**super().env_for_threads(threads), POLARS_THREADS_ENV: str(threads)}

    def import_engine(self) -> None:
        """Import Polars and the Polars queries."""
        import polars  # noqa: F401

        import zuinig.bench.queries.polars_impl  # noqa: F401

    def set_threads(self, threads: int) -> None:
        """Check that Polars' pool has ``threads`` threads; it cannot change after import.

        Raises:
            BenchError: Polars runs with another number of threads.
        """
        check_threads(threads)
        import polars as pl

        actual = pl.thread_pool_size()
        if actual != threads:
            raise BenchError(
                f"Polars runs {actual} threads, not {threads}: it fixes its pool on import; "
                f"start a fresh process with {POLARS_THREADS_ENV}={threads} "
                f"(environment now: {os.environ.get(POLARS_THREADS_ENV, 'unset')})"
            )

    def execute(self, query: str, data: PreparedData) -> pl.DataFrame:
        """Read (eager) or scan (lazy, streaming) the tables and run the Polars query."""
        from zuinig.bench.queries.polars_impl import QUERIES

        spec = query_spec(data, query)
        function = QUERIES[data.workload][query]
        if self.mode == "eager":
            return function(read_tables(spec, data, _read))
        scans = {
            table: _scan(data.paths[table], data.format, spec.date_columns(table))
            for table in spec.tables
        }
        plan = function(scans)
        if self.mode == "streaming":
            return plan.collect(engine="streaming")
        return plan.collect()

    def to_arrow(self, result: object) -> pa.Table:
        """The DataFrame as a pyarrow table."""
        import polars as pl

        if not isinstance(result, pl.DataFrame):
            raise BenchError(f"Polars returned a {type(result).__name__}, not a DataFrame")
        return result.to_arrow()


def _read(path: Path, fmt: Format, columns: Sequence[str], dates: Sequence[str]) -> pl.DataFrame:
    import polars as pl

    if fmt.kind == "csv":
        return pl.read_csv(
            path, columns=list(columns), schema_overrides=dict.fromkeys(dates, pl.Date)
        )
    if fmt.kind == "parquet":
        return pl.read_parquet(path, columns=list(columns))
    return pl.read_ipc(path, columns=list(columns))


def _scan(path: Path, fmt: Format, dates: Sequence[str]) -> pl.LazyFrame:
    import polars as pl

    if fmt.kind == "csv":
        return pl.scan_csv(path, schema_overrides=dict.fromkeys(dates, pl.Date))
    if fmt.kind == "parquet":
        return pl.scan_parquet(path)
    return pl.scan_ipc(path)
