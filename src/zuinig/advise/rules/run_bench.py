"""Rule ``bench``: no benchmark measured what the job uses, so say which one to run.

Two cases: no session measured the job's data (or data like it), or the session found
did not measure the job's own configuration, so nothing can be compared with it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePath

from zuinig.advise.model import KIND_RUN_BENCH, Recommendation
from zuinig.advise.profile import JobProfile
from zuinig.advise.rules.base import JobContext
from zuinig.formats import FORMAT_FAMILIES
from zuinig.meter.base import InputFile

__all__ = ["advise_bench"]

#: A job named ``module.function`` can be benchmarked as ``--job module:function``.
_JOB_FUNCTION = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.([A-Za-z_]\w*)$")


def advise_bench(job: JobContext) -> list[Recommendation]:
    """A ``bench`` recommendation when there is nothing to compare the job with."""
    if job.view is not None and job.current is not None:
        return []
    profile = job.profile
    main = profile.main_file
    assert main is not None  # the context is built for jobs that read a data file
    view = job.view
    if view is None:
        command, sentence = _bench_command(profile, main)
    else:
        command, _ = _bench_command(profile, main)
        family = FORMAT_FAMILIES.get(main.format, (main.format,))[0]
        command += f" --formats {family},parquet-zstd --engines {profile.engine or 'pandas'},duckdb"
        sentence = (
            f"bench session {view.session.session_id[:8]} did not measure what the job "
            f"uses now ({profile.label}), so nothing can be compared: run {command}"
        )
    return [
        Recommendation(
            **job.shared_fields(),
            kind=KIND_RUN_BENCH,
            recommended=None,
            text=sentence,
            command=command,
            notes=profile.notes,
        )
    ]


def _bench_command(profile: JobProfile, file: InputFile) -> tuple[str, str]:
    found = _JOB_FUNCTION.match(profile.job)
    target = f"{found.group(1)}:{found.group(2)}" if found else "<module:function>"
    command = f"zuinig bench --data {shlex.quote(file.path)} --job {target}"
    if found:
        sentence = (
            f"No benchmark on {PurePath(file.path).name} yet: run {command} (it calls "
            f"{target}(engine_name, path) for every format and engine)"
        )
    else:
        sentence = (
            f"No benchmark on {PurePath(file.path).name} yet: run {command}, with in place of "
            "<module:function> a function of yours that takes (engine_name, path) and does "
            "this job's work with that engine on that file"
        )
    return command, sentence
