"""What a benchmark engine is: a library and a mode that read prepared data and run queries.

An engine's life in a benchmark trial, each step in the trial's own subprocess::

    engine = get_engine("polars", "lazy")
    env = engine.env_for_threads(2)     # the parent puts these in the child's environment
    engine.import_engine()              # measured on its own: the library's import cost
    engine.set_threads(2)               # configure (or check) the thread count
    result = engine.execute("q1", data) # the measured work: read the files + run the query
    table = engine.to_arrow(result)     # outside the measurement: for the correctness check

:meth:`Engine.execute` returns the engine's own materialised result (a pandas or
Polars frame, a pyarrow table for DuckDB); converting it to Arrow is kept out of the
measured window because a job would not do it.

Engine modules import their library only in :meth:`Engine.import_engine`, never at
module level, so that naming an engine costs nothing and the import is measured
where it belongs.
"""

from __future__ import annotations

import abc
import importlib.metadata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

from zuinig.bench.queries import catalog
from zuinig.errors import BenchError

if TYPE_CHECKING:
    import pyarrow as pa

    from zuinig.bench.formats import PreparedData
    from zuinig.bench.queries.catalog import QuerySpec
    from zuinig.formats import Format, FormatKind

#: What an engine's reader gives for one table: a frame, a lazy frame, a relation.
T = TypeVar("T")

#: Arrow's environment variables for its thread pools, read when pyarrow is imported.
ARROW_CPU_THREADS_ENV = "OMP_NUM_THREADS"
ARROW_IO_THREADS_ENV = "ARROW_IO_THREADS"


class Engine(abc.ABC):
    """A data engine in one mode.

    Subclasses set the class attributes and implement the abstract methods.

    Attributes:
        name: the engine's name, e.g. ``polars``.
        modes: the modes it offers; the first is its default.
        threads_meaning: what ``threads`` controls in this engine, in words.
        packages: the distributions whose versions describe the engine.
        format_kinds: the file families it can read (``csv``, ``parquet``, ``arrow``);
            a benchmark leaves the other formats out for it, with a note.
        mode: the mode of this instance.
    """

    name: ClassVar[str]
    modes: ClassVar[tuple[str, ...]]
    threads_meaning: ClassVar[str]
    packages: ClassVar[tuple[str, ...]] = ()
    format_kinds: ClassVar[frozenset[FormatKind]] = frozenset({"csv", "parquet", "arrow"})

    def __init__(self, mode: str | None = None) -> None:
        if mode is None:
            mode = self.modes[0]
        if mode not in self.modes:
            raise BenchError(
                f"engine {self.name} has no mode {mode!r}; its modes: {', '.join(self.modes)}"
            )
        self.mode = mode

    @property
    def label(self) -> str:
        """``name/mode``, e.g. ``polars/lazy``."""
        return f"{self.name}/{self.mode}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"

    def env_for_threads(self, threads: int) -> dict[str, str]:
        """Environment variables to set *before* the engine is imported, for ``threads``.

        Libraries that size their thread pool at import read these. The defaults
        size Arrow's CPU and I/O pools, which every engine here may use for reading.
        """
        check_threads(threads)
        return {ARROW_CPU_THREADS_ENV: str(threads), ARROW_IO_THREADS_ENV: str(threads)}

    @abc.abstractmethod
    def import_engine(self) -> None:
        """Import the engine's library and everything :meth:`execute` needs."""

    @abc.abstractmethod
    def set_threads(self, threads: int) -> None:
        """Make the engine use ``threads`` threads (after :meth:`import_engine`).

        Raises:
            BenchError: the thread count cannot be set now (for example Polars was
                imported without :meth:`env_for_threads`).
        """

    def reads(self, fmt: Format) -> bool:
        """Whether this engine can read files in the format ``fmt``."""
        return fmt.kind in self.format_kinds

    def supports(self, workload: str, query: str) -> bool:
        """Whether this engine has an implementation of ``query`` of ``workload``."""
        return query in catalog.query_names(workload)

    @abc.abstractmethod
    def execute(self, query: str, data: PreparedData) -> object:
        """Read ``data`` and run ``query`` on it; return the engine's materialised result.

        This is the work a benchmark measures: reading the files plus the query.

        Raises:
            BenchError: the query is unknown for the data's workload.
        """

    @abc.abstractmethod
    def to_arrow(self, result: object) -> pa.Table:
        """Convert a result of :meth:`execute` to a pyarrow table."""

    def run(self, query: str, data: PreparedData) -> pa.Table:
        """:meth:`execute` then :meth:`to_arrow`: the answer as a pyarrow table."""
        return self.to_arrow(self.execute(query, data))

    def versions(self) -> dict[str, str]:
        """Installed versions of :attr:`packages` (``"not installed"`` when missing)."""
        found: dict[str, str] = {}
        for package in self.packages:
            try:
                found[package] = importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                found[package] = "not installed"
        return found


def query_spec(data: PreparedData, query: str) -> QuerySpec:
    """The catalog entry of ``query`` for the workload of ``data``.

    Raises:
        BenchError: the query is unknown for that workload.
    """
    return catalog.get_query(data.workload, query)


def read_tables(
    spec: QuerySpec,
    data: PreparedData,
    read: Callable[[Path, Format, Sequence[str], Sequence[str]], T],
) -> dict[str, T]:
    """Every table ``spec`` uses, read by ``read(path, format, columns, date columns)``."""
    return {
        table: read(data.paths[table], data.format, spec.columns[table], spec.date_columns(table))
        for table in spec.tables
    }


def pandas_to_arrow(result: object, engine: str) -> pa.Table:
    """A pandas DataFrame that ``engine`` returned, as a pyarrow table without its index.

    Raises:
        BenchError: ``result`` is not a pandas DataFrame.
    """
    import pandas as pd
    import pyarrow as pa

    if not isinstance(result, pd.DataFrame):
        raise BenchError(f"{engine} returned a {type(result).__name__}, not a DataFrame")
    return pa.Table.from_pandas(result, preserve_index=False)


def set_arrow_threads(threads: int) -> None:
    """Size Arrow's CPU and I/O thread pools (used by pyarrow readers) to ``threads``."""
    import pyarrow as pa

    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)


def read_arrow_columns(path: Path, columns: Sequence[str]) -> pa.Table:
    """Read ``columns`` of an Arrow IPC file, memory-mapped; only those columns are decoded.

    Used by engines without their own Arrow reader (DuckDB's arrow extension cannot
    be installed offline) and by pandas' default mode.
    """
    import pyarrow as pa

    source = pa.memory_map(str(path))
    schema = pa.ipc.open_file(source).schema
    missing = [column for column in columns if schema.get_field_index(column) < 0]
    if missing:
        raise BenchError(f"{path} has no column {', '.join(missing)}")
    fields = sorted(schema.get_field_index(column) for column in columns)
    options = pa.ipc.IpcReadOptions(included_fields=fields)
    table = pa.ipc.open_file(source, options=options).read_all()
    return table.select(list(columns))


def check_threads(threads: int) -> None:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise BenchError(f"threads must be a whole number of 1 or more, got {threads!r}")
