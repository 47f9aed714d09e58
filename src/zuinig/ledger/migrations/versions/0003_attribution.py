"""Attribution figures on runs: energy and CO2e ranges, shares, and the rule used.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

Adds to ``runs`` (issue 11): ``energy_kwh_low``, ``energy_kwh_high``, ``co2_kg_low``,
``co2_kg_high`` (the range of an estimate; a measured figure's range is its
reading), ``cpu_share`` and ``ram_gb_s`` (what the run was charged by), and the
method's ``method_gpu``, ``method_attribution`` and ``method_cpu_coefficients``.

Old runs keep every figure they had. They are labelled with the rule they were
measured under, and nothing is invented for them:

- a run CodeCarbon measured (``method_meter`` starting with ``codecarbon``, which
  also covers runs imported from CodeCarbon's ``emissions.csv``, whose meter is
  ``codecarbon <version> (imported)``) gets ``method_attribution`` =
  ``codecarbon-process`` or ``codecarbon-machine`` from its ``tracking_mode``: a
  CodeCarbon tracker per window in that mode is the rule its figures follow;
- a run with no method, ``method_cpu = 'none'`` (not measured), another meter
  (null, replay) or no ``tracking_mode`` keeps ``method_attribution`` NULL: its rule
  is not known;
- ranges, shares, ``method_gpu`` and ``method_cpu_coefficients`` stay NULL: they
  were never recorded, and a range made up now would be a figure nobody measured.

Columns are spelled out here, not taken from schema.metadata, so this migration
keeps adding exactly this revision's columns whatever schema.py becomes later. The
label values are written out too (they are stored data, fixed once written).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_FLOAT_COLUMNS = (
    "energy_kwh_low",
    "energy_kwh_high",
    "co2_kg_low",
    "co2_kg_high",
    "cpu_share",
    "ram_gb_s",
)
#: tracking_mode -> the label of the rule CodeCarbon-measured runs followed.
_OLD_RULES = {"process": "codecarbon-process", "machine": "codecarbon-machine"}


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default) on both backends: the rows stay in place,
    # no table is copied.
    for name in _FLOAT_COLUMNS:
        op.add_column("runs", sa.Column(name, sa.Float(), nullable=True))
    op.add_column("runs", sa.Column("method_gpu", sa.String(), nullable=True))
    op.add_column("runs", sa.Column("method_attribution", sa.String(), nullable=True))
    op.add_column("runs", sa.Column("method_cpu_coefficients", sa.Text(), nullable=True))
    runs = sa.table(
        "runs",
        sa.column("method_meter", sa.String()),
        sa.column("method_cpu", sa.String()),
        sa.column("tracking_mode", sa.String()),
        sa.column("method_attribution", sa.String()),
    )
    for mode, label in _OLD_RULES.items():
        op.execute(
            runs.update()
            .where(
                runs.c.method_meter.like("codecarbon%"),
                runs.c.method_cpu.is_not(None),
                runs.c.method_cpu != "none",
                runs.c.tracking_mode == mode,
            )
            .values(method_attribution=label)
        )


def downgrade() -> None:
    # batch mode: SQLite before 3.35 cannot drop a column in place.
    with op.batch_alter_table("runs") as batch:
        for name in (
            "method_cpu_coefficients",
            "method_attribution",
            "method_gpu",
            *reversed(_FLOAT_COLUMNS),
        ):
            batch.drop_column(name)
