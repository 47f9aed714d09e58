"""Where a run runs: scheduler and CI context read from the environment, as tags.

A job started by Airflow, Prefect, Dagster, Slurm, GitLab CI or GitHub Actions finds
variables in its environment that say which pipeline, task and run it is. zuinig reads
them, never the schedulers' own packages (none is imported), and turns them into tags,
so ``zuinig report --team-tag dag`` groups the month by pipeline and a run can be found
back in the scheduler. :class:`~zuinig.measure.Recorder` applies them to every run it
begins, so the decorator, ``with measure()``, ``zuinig run`` and the pytest plugin all
carry them.

The rules are data: one :class:`ContextRule` per scheduler in :data:`RULES`. A rule
applies when its marker variable is set and not empty. Tag keys are shared across
schedulers where they mean the same thing: ``orchestrator`` (who started the job),
``dag`` (the pipeline: an Airflow DAG, a Dagster job), ``task`` (its step), ``run_id``
(the scheduler's id of this run of the pipeline); CI systems use ``ci``, ``project``,
``pipeline``, ``ci_job`` and ``ci_job_id``. When several rules apply (a Slurm job
started from a GitLab runner) each adds its tags; a key set by an earlier rule stays.
Tags the user gives win over all of these.

The job name: a run whose job name is only a fallback (``zuinig run``'s program name,
``with measure()`` without ``job``, the pytest session) is named after the scheduler's
task instead, ``dag.task`` for Airflow, when the first applying rule with a job
template has every part. A decorated function keeps its ``module.qualname``: several
functions in one task are told apart by it, and the tags say the task.

What each scheduler sets, as documented or seen in its source:

- Airflow: ``AIRFLOW_CTX_DAG_ID``, ``AIRFLOW_CTX_TASK_ID``, ``AIRFLOW_CTX_DAG_RUN_ID``
  in every task's environment (BashOperator, PythonOperator).
- Prefect 2 and 3: ``PREFECT__FLOW_RUN_ID`` in the process of a flow run started by a
  worker or runner (the flow's name is not in the environment).
- Dagster: ``DAGSTER_RUN_JOB_NAME`` (run launchers: Kubernetes, Docker, ECS, ...),
  ``DAGSTER_RUN_STEP_KEY`` (step launchers) and, with some launchers, ``DAGSTER_RUN_ID``.
- Slurm: ``SLURM_JOB_ID``, ``SLURM_JOB_NAME``.
- GitLab CI: ``GITLAB_CI``, ``CI_PROJECT_PATH``, ``CI_PIPELINE_ID``, ``CI_JOB_NAME``,
  ``CI_JOB_ID``.
- GitHub Actions: ``GITHUB_ACTIONS``, ``GITHUB_REPOSITORY``, ``GITHUB_WORKFLOW``,
  ``GITHUB_RUN_ID``, ``GITHUB_JOB``.

Values are taken as they are (stripped); the ledger makes every tag storable
(:mod:`zuinig.ledger.storable`) and every renderer escapes it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["ENVIRONMENT_VARIABLES", "RULES", "ContextRule", "RunContext", "run_context"]


@dataclass(frozen=True)
class ContextRule:
    """How one scheduler or CI system shows itself in the environment.

    Attributes:
        name: the value of the ``kind_key`` tag, e.g. ``airflow``.
        marker: the variable whose presence (not empty) says the job runs under it.
        kind_key: ``orchestrator`` for schedulers, ``ci`` for CI systems.
        tags: (tag key, environment variable) pairs; a variable unset or empty gives no tag.
        job: templates for the job's name when it has none of its own, the first complete
            one wins: each a tuple of tag keys whose values are joined by ``.``, used only
            when every one of them is present.
    """

    name: str
    marker: str
    kind_key: str
    tags: tuple[tuple[str, str], ...]
    job: tuple[tuple[str, ...], ...] = ()


ORCHESTRATOR = "orchestrator"
CI = "ci"

#: The rules, in order of precedence: schedulers first, then CI systems.
RULES: tuple[ContextRule, ...] = (
    ContextRule(
        "airflow",
        "AIRFLOW_CTX_DAG_ID",
        ORCHESTRATOR,
        (
            ("dag", "AIRFLOW_CTX_DAG_ID"),
            ("task", "AIRFLOW_CTX_TASK_ID"),
            ("run_id", "AIRFLOW_CTX_DAG_RUN_ID"),
        ),
        job=(("dag", "task"),),
    ),
    ContextRule(
        "dagster",
        "DAGSTER_RUN_JOB_NAME",
        ORCHESTRATOR,
        (
            ("dag", "DAGSTER_RUN_JOB_NAME"),
            ("task", "DAGSTER_RUN_STEP_KEY"),
            ("run_id", "DAGSTER_RUN_ID"),
        ),
        job=(("dag", "task"), ("dag",)),
    ),
    ContextRule(
        "prefect",
        "PREFECT__FLOW_RUN_ID",
        ORCHESTRATOR,
        (("run_id", "PREFECT__FLOW_RUN_ID"),),
    ),
    ContextRule(
        "slurm",
        "SLURM_JOB_ID",
        ORCHESTRATOR,
        (("run_id", "SLURM_JOB_ID"), ("task", "SLURM_JOB_NAME")),
        job=(("task",),),
    ),
    ContextRule(
        "gitlab",
        "GITLAB_CI",
        CI,
        (
            ("project", "CI_PROJECT_PATH"),
            ("pipeline", "CI_PIPELINE_ID"),
            ("ci_job", "CI_JOB_NAME"),
            ("ci_job_id", "CI_JOB_ID"),
        ),
        job=(("ci_job",),),
    ),
    ContextRule(
        "github",
        "GITHUB_ACTIONS",
        CI,
        (
            ("project", "GITHUB_REPOSITORY"),
            ("workflow", "GITHUB_WORKFLOW"),
            ("pipeline", "GITHUB_RUN_ID"),
            ("ci_job", "GITHUB_JOB"),
        ),
        job=(("workflow", "ci_job"),),
    ),
)

#: Every variable the rules read (tests clear them, so a CI runner's own do not leak in).
ENVIRONMENT_VARIABLES: frozenset[str] = frozenset(
    {rule.marker for rule in RULES} | {name for rule in RULES for _, name in rule.tags}
)


@dataclass(frozen=True)
class RunContext:
    """The context tags of a run and, when a scheduler names the task, a job name.

    Attributes:
        tags: tag key to value, e.g. ``{"orchestrator": "airflow", "dag": "d", "task": "t"}``.
        job: ``dag.task`` (or the CI job's name) for a run with no name of its own; ``None``
            when no applying rule can name it.
    """

    tags: Mapping[str, str] = field(default_factory=dict)
    job: str | None = None


def run_context(environ: Mapping[str, str] | None = None) -> RunContext:
    """Read the scheduler and CI context from the environment.

    Costs a few dictionary look-ups (no caching: a test or a long-lived worker may
    change its environment between runs).

    Args:
        environ: the environment to read; ``os.environ`` by default.

    Returns:
        The tags of every applying rule (earlier rules win a shared key) and the job
        name of the first applying rule that can name it.
    """
    environ = os.environ if environ is None else environ
    tags: dict[str, str] = {}
    job: str | None = None
    for rule in RULES:
        if not environ.get(rule.marker, "").strip():
            continue
        found = {rule.kind_key: rule.name}
        for key, variable in rule.tags:
            value = environ.get(variable, "").strip()
            if value:
                found[key] = value
        if job is None:
            job = next(
                (
                    ".".join(found[key] for key in template)
                    for template in rule.job
                    if all(key in found for key in template)
                ),
                None,
            )
        for key, value in found.items():
            tags.setdefault(key, value)
    return RunContext(tags, job)
