"""Rule ``codec``: store Parquet or Arrow with the codec that made the benchmark's copy
clearly smaller (storage at rest)."""

from __future__ import annotations

from zuinig.advise import savings
from zuinig.advise.model import (
    KIND_CODEC,
    KIND_CONFIGURATION,
    MATCH_SIMILAR,
    Evidence,
    Recommendation,
)
from zuinig.advise.rules.base import JobContext
from zuinig.advise.storage import scaled_size_bytes
from zuinig.formats import FORMAT_FAMILIES

__all__ = ["CODEC_MIN_SAVING_SHARE", "advise_codec"]

#: A codec is advised when it stores the data at least this much smaller.
CODEC_MIN_SAVING_SHARE = 0.10


def advise_codec(job: JobContext) -> list[Recommendation]:
    """Parquet zstd against snappy (and others): sizes measured by the benchmark.

    The format is the one the configuration rule recommends (it runs before this one),
    or the job's own when it stays.
    """
    profile, view, model = job.profile, job.view, job.storage
    if view is None or job.current is None:
        return []
    main_advice = next((r for r in job.earlier if r.kind == KIND_CONFIGURATION), None)
    main = profile.main_file
    assert main is not None
    target = (
        main_advice.recommended.split(" + ")[0] if main_advice and main_advice.recommended else None
    )
    if target is None and main.format in FORMAT_FAMILIES and len(FORMAT_FAMILIES[main.format]) > 1:
        target = FORMAT_FAMILIES[main.format][0]
    if target is None or not target.startswith(("parquet-", "arrow-")):
        return []
    kind = target.split("-")[0]
    sizes = {f: b for f, b in view.storage_bytes.items() if f.startswith(kind + "-")}
    if target not in sizes or len(sizes) < 2:
        return []
    smallest = min(sizes, key=lambda f: sizes[f])
    if smallest == target or sizes[smallest] > (1 - CODEC_MIN_SAVING_SHARE) * sizes[target]:
        return []
    reference = view.storage_bytes.get(FORMAT_FAMILIES.get(main.format, (main.format,))[0])
    job_bytes = scaled_size_bytes(main.size_bytes, reference, sizes[target]) if reference else None
    saved = job_bytes * (1 - sizes[smallest] / sizes[target]) if job_bytes else None
    return [
        Recommendation(
            **job.shared_fields(),
            kind=KIND_CODEC,
            recommended=smallest,
            text=(
                f"store as {smallest} rather than {target}: the benchmark's copy was "
                f"{sizes[smallest]:,} bytes against {sizes[target]:,} "
                f"({1 - sizes[smallest] / sizes[target]:.0%} smaller)"
            ),
            storage_saved_bytes=saved,
            storage_saving_kwh_per_year=model.kwh_per_year(saved) if saved else None,
            confidence=savings.CONFIDENCE_CLEAR
            if view.match != MATCH_SIMILAR
            else savings.CONFIDENCE_INDICATIVE,
            confidence_text="sizes are measured, not sampled: no interval needed; "
            f"storage energy {model.describe()}",
            evidence=Evidence(
                session_id=view.session.session_id,
                data=str(view.session.config.get("data") or view.session.label),
                match=view.match,
                repeats=(1, 1),
                method="file sizes on disk",
            ),
        )
    ]
