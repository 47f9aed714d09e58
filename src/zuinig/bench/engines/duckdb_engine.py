"""DuckDB, in one mode: SQL straight over the prepared files.

CSV (also gzip-compressed) and Parquet are read by DuckDB itself
(``read_csv`` with its type detection, ``read_parquet``), in the query's ``from``
clause, as a one-off analysis would. Arrow IPC files need
DuckDB's ``arrow`` extension, which is downloaded on first use and so is not
available offline: for the ``arrow-*`` formats pyarrow reads the query's columns
(memory-mapped) and DuckDB queries that Arrow table in place. That reading is
inside the measured work, as for every format; it runs on Arrow's thread pool.

The result is fetched as a pyarrow table, DuckDB's usual way to hand results
to Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from zuinig.bench.engines.base import (
    Engine,
    check_threads,
    query_spec,
    read_arrow_columns,
    set_arrow_threads,
)
from zuinig.errors import BenchError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from zuinig.bench.formats import PreparedData


class DuckDBEngine(Engine):
    """DuckDB; ``threads`` is its worker thread count (``SET threads``)."""

    name: ClassVar[str] = "duckdb"
    modes: ClassVar[tuple[str, ...]] = ("default",)
    threads_meaning: ClassVar[str] = (
        "DuckDB's worker threads (SET threads); for Arrow files also Arrow's CPU and I/O "
        "pools, which read them"
    )
    packages: ClassVar[tuple[str, ...]] = ("duckdb", "pyarrow")

    def __init__(self, mode: str | None = None) -> None:
        super().__init__(mode)
        self._connection: duckdb.DuckDBPyConnection | None = None

    def import_engine(self) -> None:
        """Import DuckDB and pyarrow, and open an in-memory database."""
        import pyarrow  # noqa: F401

        self._connect()

    def set_threads(self, threads: int) -> None:
        """``SET threads`` on the connection, and size Arrow's pools alike."""
        check_threads(threads)
        self._connect().execute(f"SET threads = {int(threads)}")
        set_arrow_threads(threads)

    def execute(self, query: str, data: PreparedData) -> pa.Table:
        """Run the query's SQL over the files, read in the query itself; fetch Arrow."""
        from zuinig.bench.queries.sql import render

        spec = query_spec(data, query)
        connection = self._connect()
        sources: dict[str, str] = {}
        for table in spec.tables:
            path = data.paths[table]
            if data.format.kind == "arrow":
                name = f"arrow_{table}"
                connection.register(name, read_arrow_columns(path, spec.columns[table]))
                sources[table] = name
            else:
                reader = "read_csv" if data.format.kind == "csv" else "read_parquet"
                literal = str(path).replace("'", "''")
                sources[table] = f"{reader}('{literal}')"
        return connection.sql(render(data.workload, query, sources)).to_arrow_table()

    def to_arrow(self, result: object) -> pa.Table:
        """The result, already a pyarrow table."""
        import pyarrow as pa

        if not isinstance(result, pa.Table):
            raise BenchError(f"DuckDB returned a {type(result).__name__}, not a pyarrow table")
        return result

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            import duckdb

            self._connection = duckdb.connect()
        return self._connection
