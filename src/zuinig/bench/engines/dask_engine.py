"""dask.dataframe, in one mode: the local threaded scheduler, no cluster.

``default`` reads CSV with ``dd.read_csv`` (a gzip-compressed file cannot be split,
so it is one partition: ``blocksize=None``) and Parquet with ``dd.read_parquet``,
each given the columns the query uses, and runs the pandas query definitions on
the lazy frames (:mod:`zuinig.bench.queries.dask_impl`); ``compute()`` runs the
graph on dask's threaded scheduler with ``threads`` workers. Dates are dates as in
pandas: CSV date columns parsed (``parse_dates``), Parquet dates as dask gives them
(``date32[pyarrow]``, never Python objects); decimals are already float64 in the
prepared data; strings are pyarrow-backed, dask's default. Merges that need a
shuffle use dask's default method for one machine.

dask has no reader for Arrow IPC files: the engine declares that it reads ``csv``
and ``parquet`` only (:attr:`Engine.format_kinds`), and a benchmark leaves the
``arrow-*`` formats out for it with a note.

A ``distributed`` mode (a ``LocalCluster`` started inside each trial) is left out:
its worker processes would have to be measured as part of the trial's tree and its
start-up apart from the import; :mod:`zuinig.dask` measures jobs on clusters.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from zuinig.bench.engines.base import (
    Engine,
    check_threads,
    pandas_to_arrow,
    query_spec,
    read_tables,
    set_arrow_threads,
)
from zuinig.errors import BenchError

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    import pyarrow as pa

    from zuinig.bench.formats import PreparedData
    from zuinig.formats import Format, FormatKind


class DaskEngine(Engine):
    """dask.dataframe on the local threaded scheduler; ``threads`` is its worker count."""

    name: ClassVar[str] = "dask"
    modes: ClassVar[tuple[str, ...]] = ("default",)
    threads_meaning: ClassVar[str] = (
        "the workers of dask's local threaded scheduler (num_workers), each running "
        "pandas on one partition; also Arrow's CPU and I/O pools, which read Parquet"
    )
    packages: ClassVar[tuple[str, ...]] = ("dask", "pandas", "pyarrow")
    format_kinds: ClassVar[frozenset[FormatKind]] = frozenset({"csv", "parquet"})

    def import_engine(self) -> None:
        """Import dask.dataframe, pyarrow's Parquet reader and the dask queries.

        Raises:
            BenchError: dask.dataframe is not installed (it is an optional extra).
        """
        try:
            import dask.dataframe  # noqa: F401
        except ImportError as error:
            raise BenchError(
                f"the dask engine needs dask.dataframe ({error}); "
                "install it with: pip install 'zuinig[dask]'"
            ) from error
        import pyarrow.parquet  # noqa: F401

        import zuinig.bench.queries.dask_impl  # noqa: F401

    def set_threads(self, threads: int) -> None:
        """Run every ``compute()`` on the threaded scheduler with ``threads`` workers."""
        check_threads(threads)
        import dask

        dask.config.set({"scheduler": "threads", "num_workers": threads})
        set_arrow_threads(threads)

    def execute(self, query: str, data: PreparedData) -> pd.DataFrame:
        """Read the tables lazily, run the query and compute it into a pandas frame.

        Raises:
            BenchError: the query is unknown, or the data is in a format dask cannot read.
        """
        from zuinig.bench.queries.dask_impl import QUERIES

        spec = query_spec(data, query)
        if not self.reads(data.format):
            raise BenchError(
                f"dask cannot read {data.format.name} ({data.format.description}); "
                f"it reads {', '.join(sorted(self.format_kinds))}"
            )
        return QUERIES[data.workload][query](read_tables(spec, data, _read))

    def to_arrow(self, result: object) -> pa.Table:
        """The computed pandas frame as a pyarrow table, without its index."""
        return pandas_to_arrow(result, self.name)


def _read(path: Path, fmt: Format, columns: Sequence[str], dates: Sequence[str]) -> dd.DataFrame:
    import dask.dataframe as dd

    frame: dd.DataFrame
    if fmt.kind == "csv":
        # A compressed file must be read whole by one task; dask warns unless told so.
        blocksize = None if fmt.compression else "default"
        frame = dd.read_csv(
            path, usecols=list(columns), parse_dates=list(dates), blocksize=blocksize
        )
    else:
        frame = dd.read_parquet(path, columns=list(columns))
    return frame
