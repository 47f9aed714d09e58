"""Bench sessions and their trials.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Adds ``bench_sessions`` (one ``zuinig bench`` invocation: workload, configuration,
machine, method, final statistics) and ``bench_trials`` (one measured step of a
session, linked to the run that holds its measurement). Existing tables are not
touched, so an upgrade from 0001 keeps every run and tag as it was.

Tables are spelled out here, not taken from schema.metadata, so this migration
keeps creating exactly this revision's tables whatever schema.py becomes later.
``bench_trials.run_id`` and ``bench_sessions.baseline_run_id`` have no foreign key
to ``runs``: a trial's run may arrive later (kept in the spool while the ledger
was unreachable), and a trial without its run is still a record of what happened.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = sa.DateTime(timezone=True)
    op.create_table(
        "bench_sessions",
        sa.Column("session_id", sa.String(), primary_key=True),
        sa.Column("workload", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", when, nullable=False),
        sa.Column("ended_at", when, nullable=True),
        sa.Column("scale", sa.Float(), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("machine", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("page_cache", sa.Text(), nullable=True),
        sa.Column("baseline_run_id", sa.String(), nullable=True),
        sa.Column("results", sa.Text(), nullable=True),
        sa.Column("host", sa.String(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("pid_started_at", when, nullable=True),
    )
    op.create_index("ix_bench_sessions_workload", "bench_sessions", ["workload"])
    op.create_index("ix_bench_sessions_started_at", "bench_sessions", ["started_at"])
    op.create_table(
        "bench_trials",
        sa.Column("trial_id", sa.String(), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(),
            sa.ForeignKey(
                "bench_sessions.session_id",
                ondelete="CASCADE",
                name="fk_bench_trials_session_id",
            ),
            nullable=False,
        ),
        sa.Column("phase", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("format", sa.String(), nullable=True),
        sa.Column("engine", sa.String(), nullable=True),
        sa.Column("mode", sa.String(), nullable=True),
        sa.Column("threads", sa.Integer(), nullable=True),
        sa.Column("query", sa.String(), nullable=True),
        sa.Column("repetition", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.Column("storage_bytes", sa.BigInteger(), nullable=True),
        sa.Column("started_at", when, nullable=True),
    )
    op.create_index("ix_bench_trials_session_id", "bench_trials", ["session_id"])
    op.create_index("ix_bench_trials_run_id", "bench_trials", ["run_id"])


def downgrade() -> None:
    op.drop_table("bench_trials")
    op.drop_table("bench_sessions")
