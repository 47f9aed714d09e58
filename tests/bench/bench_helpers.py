"""Engines for tests: one that gives wrong answers, to prove the correctness guard works."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from zuinig.bench.engines import DuckDBEngine
from zuinig.bench.formats import PreparedData


class WrongEngine(DuckDBEngine):
    """DuckDB, except that the first floating-point column of every answer is 1 % too high."""

    name: ClassVar[str] = "wrong"
    modes: ClassVar[tuple[str, ...]] = ("default",)

    def execute(self, query: str, data: PreparedData) -> pa.Table:
        table = super().execute(query, data)
        for index, field in enumerate(table.schema):
            if pa.types.is_floating(field.type):
                return table.set_column(index, field, pc.multiply(table.column(index), 1.01))
        return table


class ShortEngine(DuckDBEngine):
    """DuckDB, except that it drops the last row of every answer."""

    name: ClassVar[str] = "short"
    modes: ClassVar[tuple[str, ...]] = ("default",)

    def execute(self, query: str, data: PreparedData) -> pa.Table:
        table = super().execute(query, data)
        return table.slice(0, max(table.num_rows - 1, 0))


class BurnEngine(DuckDBEngine):
    """DuckDB, plus a busy loop of ``BENCH_HELPERS_BURN_S`` seconds of CPU per query (0 by
    default): the same answers, more energy, as a code change that regresses would."""

    name: ClassVar[str] = "burn"
    modes: ClassVar[tuple[str, ...]] = ("default",)

    def execute(self, query: str, data: PreparedData) -> pa.Table:
        import os
        import time

        seconds = float(os.environ.get("BENCH_HELPERS_BURN_S", "0"))
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass
        return super().execute(query, data)
