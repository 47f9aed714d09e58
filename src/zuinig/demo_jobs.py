"""The sample data and jobs of ``zuinig demo``: made-up building permits and the jobs on them.

Everything here is also what an analyst would write: a generator for the data (nothing
is downloaded), one job function ``permits_summary(engine_name, path)`` that does the
same work in pandas, Polars or DuckDB on a CSV or Parquet file (the form
``zuinig bench --data FILE --job zuinig.demo_jobs:permits_summary`` calls), and a job
that fails.

Each batch of sample runs is a separate Python process (``python -m zuinig.demo_jobs
SPEC``), as an analyst's script is: the meter records the engines *loaded in the
process*, so a pandas job run in a process that had imported Polars before would be
recorded as using both.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ENGINES",
    "SampleBatch",
    "district_check",
    "main",
    "permits_summary",
    "run_batch",
    "write_permits",
]

#: Engines ``permits_summary`` can compute in.
ENGINES = ("pandas", "polars", "duckdb")
#: Municipalities of the made-up permits (Provincie Utrecht).
MUNICIPALITIES = (
    "Utrecht",
    "Amersfoort",
    "Veenendaal",
    "Zeist",
    "Nieuwegein",
    "Houten",
    "IJsselstein",
    "Woerden",
)
PERMIT_STATUSES = ("aangevraagd", "verleend", "geweigerd", "ingetrokken")
#: Seed of the generator, so every demo writes the same table.
SEED = 2026


def write_permits(path: Path, rows: int) -> Path:
    """Write a synthetic table of building permits as CSV, generated here.

    Columns: ``permit_id``, ``municipality``, ``year``, ``status``, ``dwellings``,
    ``floor_area_m2``. Written in blocks with pyarrow, so memory stays small.

    Args:
        path: the CSV file to write.
        rows: how many permits.

    Returns:
        ``path``.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(SEED)
    block = 200_000
    schema = pa.schema(
        [
            ("permit_id", pa.int64()),
            ("municipality", pa.string()),
            ("year", pa.int64()),
            ("status", pa.string()),
            ("dwellings", pa.int64()),
            ("floor_area_m2", pa.float64()),
        ]
    )
    municipalities = pa.array(MUNICIPALITIES)
    statuses = pa.array(PERMIT_STATUSES)
    with pacsv.CSVWriter(str(path), schema) as writer:
        for start in range(0, rows, block):
            count = min(block, rows - start)
            table = pa.table(
                {
                    "permit_id": np.arange(start, start + count, dtype=np.int64),
                    "municipality": municipalities.take(
                        rng.integers(0, len(MUNICIPALITIES), count)
                    ),
                    "year": rng.integers(2015, 2027, count),
                    "status": statuses.take(rng.integers(0, len(PERMIT_STATUSES), count)),
                    "dwellings": rng.integers(1, 200, count),
                    "floor_area_m2": rng.gamma(2.0, 60.0, count).round(1),
                },
                schema=schema,
            )
            writer.write_table(table)
    return path


def permits_summary(engine_name: str, path: str) -> Any:
    """Dwellings and floor area per municipality and year, in the engine named.

    The job behind ``woningbouwmonitor`` and the demo's benchmark. Every engine gives
    the same answer (four columns, one row per municipality and year), so the
    benchmark's correctness guard can compare them.

    Args:
        engine_name: ``pandas``, ``polars`` or ``duckdb``.
        path: a CSV or Parquet file written by :func:`write_permits` (or converted from one).

    Returns:
        A pandas or Polars DataFrame, or a pyarrow table (DuckDB).

    Raises:
        ValueError: an engine this job does not know.
    """
    parquet = path.endswith(".parquet")
    if engine_name == "pandas":
        import pandas as pd

        frame = pd.read_parquet(path) if parquet else pd.read_csv(path)
        return frame.groupby(["municipality", "year"], as_index=False).agg(
            dwellings=("dwellings", "sum"), floor_area_m2=("floor_area_m2", "sum")
        )
    if engine_name == "polars":
        import polars as pl

        scan = pl.scan_parquet(path) if parquet else pl.scan_csv(path)
        return (
            scan.group_by("municipality", "year")
            .agg(pl.col("dwellings").sum(), pl.col("floor_area_m2").sum())
            .collect()
        )
    if engine_name == "duckdb":
        import duckdb

        reader = "read_parquet" if parquet else "read_csv"
        quoted = path.replace("'", "''")
        relation = duckdb.sql(
            "select municipality, year, cast(sum(dwellings) as bigint) as dwellings, "
            f"sum(floor_area_m2) as floor_area_m2 from {reader}('{quoted}') "
            "group by municipality, year"
        )
        assert relation is not None, "a select always gives a relation"
        return relation.to_arrow_table()
    raise ValueError(f"permits_summary knows {', '.join(ENGINES)}, not {engine_name!r}")


def district_check(engine_name: str, path: str) -> Any:
    """Permits per district: a job with a bug, asking for a column the data lacks.

    It raises ``KeyError: 'district'``, which the ledger records as a failed run.
    """
    import pandas as pd

    frame = pd.read_csv(path, usecols=["municipality", "dwellings"])
    return frame.groupby("district")["dwellings"].sum()


#: Job functions a :class:`SampleBatch` may name.
_FUNCTIONS: dict[str, Callable[[str, str], object]] = {
    "permits_summary": permits_summary,
    "district_check": district_check,
}


@dataclass(frozen=True)
class SampleBatch:
    """Runs of one job that one sample process makes.

    Attributes:
        job: the job's name in the ledger.
        team: the value of its ``team`` tag.
        function: ``permits_summary`` or ``district_check``.
        engine: the engine it computes in.
        path: the data file it reads.
        runs: how many times it is called in the process.
    """

    job: str
    team: str
    function: str
    engine: str
    path: str
    runs: int


def run_batch(batch: SampleBatch) -> tuple[int, int]:
    """Call the batch's job ``runs`` times, each call measured as a run.

    A failing call is recorded as a run with status ``error`` and the batch goes on.

    Returns:
        ``(ok, failed)``: calls that returned and calls that raised.
    """
    import zuinig

    function = _FUNCTIONS[batch.function]
    measured = zuinig.measure(job=batch.job, tags={"team": batch.team})(function)
    ok = failed = 0
    for _ in range(batch.runs):
        try:
            measured(batch.engine, batch.path)
            ok += 1
        except Exception:
            failed += 1  # the ledger has it, with its type and message
    return ok, failed


def main(argv: Sequence[str] | None = None) -> int:
    """Run the batches given as a JSON list on the command line; print what happened.

    The process reads its settings as any zuinig process does (``ZUINIG_CONFIG``);
    it imports each batch's engine first, as a script does at its top, so the import
    is not inside the measured calls.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        print("usage: python -m zuinig.demo_jobs '[{batch}, ...]'", file=sys.stderr)
        return 2
    batches = [SampleBatch(**item) for item in json.loads(args[0])]
    import importlib

    from zuinig.measure import default_recorder

    for engine in sorted({batch.engine for batch in batches}):
        importlib.import_module(engine)
    # Open the ledger up front: runs are then written to it directly, not spooled.
    default_recorder().ledger()
    results = [{**asdict(batch), "result": run_batch(batch)} for batch in batches]
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
