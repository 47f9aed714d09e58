"""Engines and jobs for the runner's tests: ones that run out of memory or time.

Trial processes load them by path (``runner_helpers:HogEngine``): this directory is on
the test process's import path, which the runner hands to its trial processes.
"""

from __future__ import annotations

import time
from typing import ClassVar

import pyarrow as pa

from zuinig.bench.engines import DuckDBEngine
from zuinig.bench.formats import PreparedData

#: Bytes the hog holds: far above the limit the tests set, far below this machine's memory.
HOG_BYTES = 1_500_000_000


class HogEngine(DuckDBEngine):
    """DuckDB, except that every query first fills a large buffer and keeps it a while."""

    name: ClassVar[str] = "hog"
    modes: ClassVar[tuple[str, ...]] = ("default",)

    def execute(self, query: str, data: PreparedData) -> pa.Table:
        buffer = bytearray(HOG_BYTES)  # zero-filled: every page is touched, so it is resident
        time.sleep(2)  # long enough for the runner's memory watch to see it
        del buffer
        return super().execute(query, data)


class SleepyEngine(DuckDBEngine):
    """DuckDB, except that every query takes a minute first."""

    name: ClassVar[str] = "sleepy"
    modes: ClassVar[tuple[str, ...]] = ("default",)

    def execute(self, query: str, data: PreparedData) -> pa.Table:
        time.sleep(60)
        return super().execute(query, data)


def count_rows(engine_name: str, path: str) -> pa.Table:
    """A user's job: the number of rows of the file, read with pyarrow whatever the engine."""
    import pyarrow.csv as pa_csv
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    if path.endswith(".parquet"):
        table = pq.read_table(path)
    elif path.endswith(".arrow"):
        table = feather.read_table(path)
    else:
        table = pa_csv.read_csv(path)
    return pa.table({"rows": [table.num_rows]})
