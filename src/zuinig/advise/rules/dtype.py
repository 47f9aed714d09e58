"""Rule ``dtype``: a pandas job that reads decimal columns from Parquet or Arrow gets
Python ``Decimal`` objects; read them as Arrow or float64 instead. It needs no
benchmark: the file's schema is the evidence."""

from __future__ import annotations

from zuinig.advise import savings
from zuinig.advise.model import KIND_DTYPE, Recommendation
from zuinig.advise.rules.base import JobContext

__all__ = ["advise_dtype"]


def advise_dtype(job: JobContext) -> list[Recommendation]:
    """pandas turns Arrow decimals into Python ``Decimal`` objects (dtype ``object``):
    every value a heap object, every sum a Python loop. Our own check (EVIDENCE.md:
    TPC-H SF0.1 lineitem, Q1-like) cost pandas 1.20 CPU-s on Parquet with decimals left
    as they are against 0.28 after casting."""
    profile, records = job.profile, job.records
    if profile.engine != "pandas":
        return []
    columns = sorted({c for f in profile.files for c in records.decimal_columns.get(f.path, ())})
    if not columns:
        return []
    shown = ", ".join(columns[:5]) + (f" and {len(columns) - 5} more" if len(columns) > 5 else "")
    return [
        Recommendation(
            **job.shared_fields(),
            kind=KIND_DTYPE,
            recommended="decimal columns as float64, or dtype_backend='pyarrow'",
            text=(
                f"pandas reads the decimal column(s) {shown} as Python Decimal objects "
                "(dtype object), slow and memory-hungry: read with "
                "pd.read_parquet(path, dtype_backend='pyarrow'), or cast them to float64 "
                "(or to integer cents) where exact decimals are not needed"
            ),
            confidence=savings.CONFIDENCE_INDICATIVE,
            confidence_text=(
                "indicative: the decimal columns are read from the file's schema; the cost "
                "is from zuinig's own check (1.20 against 0.28 CPU-s on TPC-H SF0.1 "
                "lineitem), not measured on this job"
            ),
        )
    ]
