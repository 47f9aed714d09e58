"""pandas, in two modes.

- ``default``: numpy-backed columns; CSV through pandas' C parser.
- ``pyarrow``: pyarrow-backed columns (``dtype_backend="pyarrow"``); CSV through
  the pyarrow parser (``engine="pyarrow"``).

In both modes dates are native dates, never Python objects: ``parse_dates`` for
CSV, ``date_as_object=False`` for Parquet and Arrow in the default mode (pandas'
own default would give ``object`` columns, a trap like decimal128: it would
measure Python objects rather than the format). Only the columns a query uses are
read (``usecols``/``columns``), as a careful job would.
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
    read_arrow_columns,
    read_tables,
    set_arrow_threads,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from zuinig.bench.formats import PreparedData
    from zuinig.formats import Format


class PandasEngine(Engine):
    """pandas; ``threads`` sizes Arrow's pools (pandas itself computes on one thread)."""

    name: ClassVar[str] = "pandas"
    modes: ClassVar[tuple[str, ...]] = ("default", "pyarrow")
    threads_meaning: ClassVar[str] = (
        "pandas computes on one thread; threads sizes Arrow's CPU and I/O thread pools, "
        "used by the Parquet and Arrow readers and by the pyarrow CSV parser; the default "
        "C CSV parser is single-threaded whatever the value"
    )
    packages: ClassVar[tuple[str, ...]] = ("pandas", "numpy", "pyarrow")

    def import_engine(self) -> None:
        """Import pandas, pyarrow and the pandas queries."""
        import pandas  # noqa: F401
        import pyarrow
        import pyarrow.parquet  # noqa: F401

        import zuinig.bench.queries.pandas_impl  # noqa: F401

    def set_threads(self, threads: int) -> None:
        """Size Arrow's CPU and I/O pools to ``threads``."""
        check_threads(threads)
        set_arrow_threads(threads)

    def execute(self, query: str, data: PreparedData) -> pd.DataFrame:
        """Read the query's columns into DataFrames and run the pandas query."""
        from zuinig.bench.queries.pandas_impl import QUERIES

        tables = read_tables(query_spec(data, query), data, self._read)
        return QUERIES[data.workload][query](tables)

    def to_arrow(self, result: object) -> pa.Table:
        """The DataFrame as a pyarrow table, without its index."""
        return pandas_to_arrow(result, self.name)

    def _read(
        self, path: Path, fmt: Format, columns: Sequence[str], dates: Sequence[str]
    ) -> pd.DataFrame:
        import pandas as pd

        if self.mode == "pyarrow":
            if fmt.kind == "csv":
                return pd.read_csv(
                    path, usecols=list(columns), engine="pyarrow", dtype_backend="pyarrow"
                )
            if fmt.kind == "parquet":
                return pd.read_parquet(path, columns=list(columns), dtype_backend="pyarrow")
            return pd.read_feather(path, columns=list(columns), dtype_backend="pyarrow")
        if fmt.kind == "csv":
            return pd.read_csv(path, usecols=list(columns), parse_dates=list(dates))
        if fmt.kind == "parquet":
            return pd.read_parquet(
                path,
                engine="pyarrow",
                columns=list(columns),
                to_pandas_kwargs={"date_as_object": False},
            )
        # pd.read_feather has no date option; this is what it does inside, with the option.
        frame: pd.DataFrame = read_arrow_columns(path, columns).to_pandas(date_as_object=False)
        return frame
