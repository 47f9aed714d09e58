"""Initial ledger schema: runs and run_tags.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Tables are spelled out here, not taken from schema.metadata, so this migration
keeps creating exactly the first schema whatever schema.py becomes later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = sa.DateTime(timezone=True)
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(), primary_key=True),
        sa.Column("parent_run_id", sa.String(), nullable=True),
        sa.Column("job", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", when, nullable=False),
        sa.Column("ended_at", when, nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("energy_kwh", sa.Float(), nullable=True),
        sa.Column("cpu_energy_kwh", sa.Float(), nullable=True),
        sa.Column("ram_energy_kwh", sa.Float(), nullable=True),
        sa.Column("gpu_energy_kwh", sa.Float(), nullable=True),
        sa.Column("co2_kg", sa.Float(), nullable=True),
        sa.Column("intensity_g_per_kwh", sa.Float(), nullable=True),
        sa.Column("cpu_s", sa.Float(), nullable=True),
        sa.Column("peak_rss_bytes", sa.BigInteger(), nullable=True),
        sa.Column("read_bytes", sa.BigInteger(), nullable=True),
        sa.Column("written_bytes", sa.BigInteger(), nullable=True),
        sa.Column("method_meter", sa.String(), nullable=True),
        sa.Column("method_cpu", sa.String(), nullable=True),
        sa.Column("method_cpu_model", sa.String(), nullable=True),
        sa.Column("method_cpu_tdp_w", sa.Float(), nullable=True),
        sa.Column("method_cpu_tdp_is_generic", sa.Boolean(), nullable=True),
        sa.Column("method_cpu_count", sa.Integer(), nullable=True),
        sa.Column("method_ram", sa.String(), nullable=True),
        sa.Column("method_ram_power_w", sa.Float(), nullable=True),
        sa.Column("tracking_mode", sa.String(), nullable=True),
        sa.Column("pue", sa.Float(), nullable=True),
        sa.Column("intensity_source", sa.String(), nullable=True),
        sa.Column("intensity_year", sa.Integer(), nullable=True),
        sa.Column("country_iso_code", sa.String(), nullable=True),
        sa.Column("measurement_error", sa.Text(), nullable=True),
        sa.Column("error_type", sa.String(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("engines", sa.Text(), nullable=False),
        sa.Column("host", sa.String(), nullable=True),
        sa.Column("user", sa.String(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("pid_started_at", when, nullable=True),
        sa.Column("python_version", sa.String(), nullable=True),
        sa.Column("codecarbon_version", sa.String(), nullable=True),
        sa.Column("zuinig_version", sa.String(), nullable=True),
        sa.Column("git_commit", sa.String(), nullable=True),
    )
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"])
    op.create_index("ix_runs_job", "runs", ["job"])
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_table(
        "run_tags",
        sa.Column(
            "run_id",
            sa.String(),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_run_tags_run_id"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("value", sa.String(), nullable=False),
    )
    op.create_index("ix_run_tags_key_value", "run_tags", ["key", "value"])


def downgrade() -> None:
    op.drop_table("run_tags")
    op.drop_table("runs")
