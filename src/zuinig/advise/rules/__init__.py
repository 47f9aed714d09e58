"""The advice rules: one file per kind of advice, all with one signature, in one list.

Each rule is a :class:`~zuinig.advise.rules.base.Rule`: ``rule(job) -> list[Recommendation]``
over a :class:`~zuinig.advise.rules.base.JobContext` (the job's profile, the benchmark
found for its data, the settings), built once per job by
:func:`zuinig.advise.ranking.recommend`. To add a kind of advice, write a module here
with one such function and add it to :data:`RULES`.

The order of :data:`RULES` is the order of a job's advice before ranking (the ranking
sort is stable), and a rule sees the advice of the rules before it
(:attr:`JobContext.earlier`): ``codec`` builds on ``configuration``.
"""

from __future__ import annotations

from zuinig.advise.rules.base import JobContext, Rule
from zuinig.advise.rules.codec import advise_codec
from zuinig.advise.rules.configuration import advise_configuration
from zuinig.advise.rules.dtype import advise_dtype
from zuinig.advise.rules.run_bench import advise_bench
from zuinig.advise.rules.streaming import advise_streaming
from zuinig.advise.rules.threads import advise_threads

__all__ = ["RULES", "JobContext", "Rule"]

#: Every rule, in the order its advice is listed for a job.
RULES: tuple[Rule, ...] = (
    advise_bench,  # nothing to compare with: which benchmark to run
    advise_configuration,  # format and engine, as a ladder
    advise_threads,
    advise_codec,  # after configuration: it reads the recommended format
    advise_streaming,
    advise_dtype,  # needs no benchmark: the file's schema is the evidence
)
