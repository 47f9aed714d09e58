"""Rule ``streaming``: a job whose peak memory is over half the machine's is advised an
engine that streams (memory measured; its energy effect not benchmarked)."""

from __future__ import annotations

from zuinig.advise import savings
from zuinig.advise.model import KIND_STREAMING, Recommendation
from zuinig.advise.rules.base import JobContext

__all__ = ["STREAMING_MEMORY_SHARE", "advise_streaming"]

#: Peak memory above this share of the machine's memory makes streaming worth advising.
STREAMING_MEMORY_SHARE = 0.5


def advise_streaming(job: JobContext) -> list[Recommendation]:
    """A streaming engine when the job's peak memory nears the benchmark machine's."""
    profile, view = job.profile, job.view
    if view is None or job.current is None:
        return []
    memory = view.session.machine.get("memory_bytes")
    peaks = sorted(r.peak_rss_bytes for r in profile.runs if r.peak_rss_bytes)
    if not memory or not peaks:
        return []
    peak = peaks[len(peaks) // 2]
    if peak < STREAMING_MEMORY_SHARE * float(memory):
        return []
    return [
        Recommendation(
            **job.shared_fields(),
            kind=KIND_STREAMING,
            recommended="polars streaming or duckdb",
            text=(
                f"the job's median peak memory ({peak / 1e9:.3g} GB) is over "
                f"{STREAMING_MEMORY_SHARE:.0%} of the machine's ({float(memory) / 1e9:.3g} GB): "
                "an engine that streams (polars streaming, duckdb) keeps memory bounded "
                "and avoids swapping as the data grows"
            ),
            confidence=savings.CONFIDENCE_INDICATIVE,
            confidence_text="indicative: peak memory measured, energy effect not benchmarked",
        )
    ]
