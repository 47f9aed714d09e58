"""Both scope 2 figures on runs: the factor's row and boundary, and market-based CO2e.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

Adds to ``runs`` (issue 12): ``intensity_name`` and ``intensity_boundary`` (the
location-based factor's row in its list and whether it includes the supply chain), and
the market-based figure: ``co2_kg_market_based``, ``market_intensity_g_per_kwh``,
``market_intensity_source``, ``market_intensity_year``, ``market_intensity_name``,
``market_intensity_boundary`` and ``market_added_later``.

Old runs keep every figure they had: their ``co2_kg`` and the location-based factor
they were measured with are not touched, and ``intensity_name`` / ``intensity_boundary``
stay NULL (nobody recorded them). Each old run with a stored intensity gets a
market-based figure from the default market factor (:mod:`zuinig.factors`), labelled
``market_added_later = TRUE``:

- a Dutch run (``country_iso_code = 'NLD'``) in a year for which zuinig's factor table
  has a row for electricity of unknown origin: that row (with the supply chain), and
  ``co2_kg_market_based = energy_kwh x factor / 1000``;
- every other run: its own location-based factor and ``co2_kg``, the fallback the GHG
  Protocol's Scope 2 Guidance gives where no residual mix is known; the source says so.

The default market factor is read from the factor table shipped with the zuinig that
runs this migration (a data file, versioned with zuinig): the same rule a run measured
now follows, applied once, in SQL, per year.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from zuinig import factors
from zuinig.ledger.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TEXT_COLUMNS = ("intensity_name", "market_intensity_source", "market_intensity_name")
_STRING_COLUMNS = ("intensity_boundary", "market_intensity_boundary")
_FLOAT_COLUMNS = ("co2_kg_market_based", "market_intensity_g_per_kwh")
#: The source written for an old run whose market-based figure is its location-based one.
FALLBACK_SOURCE = (
    "the run's location-based factor, added by ledger schema 0004: no residual-mix factor "
    "was known for it, and the GHG Protocol's Scope 2 Guidance uses the grid average "
    "where no residual mix is known"
)


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default) on both backends: the rows stay in place.
    for name in _TEXT_COLUMNS:
        op.add_column("runs", sa.Column(name, sa.Text(), nullable=True))
    for name in _STRING_COLUMNS:
        op.add_column("runs", sa.Column(name, sa.String(), nullable=True))
    for name in _FLOAT_COLUMNS:
        op.add_column("runs", sa.Column(name, sa.Float(), nullable=True))
    op.add_column("runs", sa.Column("market_intensity_year", sa.Integer(), nullable=True))
    op.add_column("runs", sa.Column("market_added_later", sa.Boolean(), nullable=True))
    runs = sa.table(
        "runs",
        sa.column("started_at", UTCDateTime()),
        sa.column("country_iso_code", sa.String()),
        sa.column("energy_kwh", sa.Float()),
        sa.column("co2_kg", sa.Float()),
        sa.column("intensity_g_per_kwh", sa.Float()),
        sa.column("intensity_year", sa.Integer()),
        sa.column("co2_kg_market_based", sa.Float()),
        sa.column("market_intensity_g_per_kwh", sa.Float()),
        sa.column("market_intensity_source", sa.Text()),
        sa.column("market_intensity_year", sa.Integer()),
        sa.column("market_intensity_name", sa.Text()),
        sa.column("market_intensity_boundary", sa.String()),
        sa.column("market_added_later", sa.Boolean()),
    )
    has_intensity = runs.c.intensity_g_per_kwh.is_not(None)
    # Every run with a factor first gets the fallback; Dutch years with an unknown-origin
    # row are then overwritten with it.
    op.execute(
        runs.update()
        .where(has_intensity)
        .values(
            co2_kg_market_based=runs.c.co2_kg,
            market_intensity_g_per_kwh=runs.c.intensity_g_per_kwh,
            market_intensity_source=FALLBACK_SOURCE,
            market_intensity_year=runs.c.intensity_year,
            market_added_later=True,
        )
    )
    table = factors.default_table()
    if factors.KEY_UNKNOWN not in table.row_keys():
        return
    dutch = runs.c.country_iso_code == "NLD"
    bind = op.get_bind()
    first, last = bind.execute(
        sa.select(sa.func.min(runs.c.started_at), sa.func.max(runs.c.started_at)).where(
            dutch, has_intensity
        )
    ).one()
    if first is None or last is None:
        return
    for year in range(first.year, last.year + 1):
        row = table.row(factors.KEY_UNKNOWN, year)
        factor = None if row is None else row.factor(factors.WELL_TO_WHEEL, for_year=year)
        if factor is None:
            continue
        op.execute(
            runs.update()
            .where(
                dutch,
                has_intensity,
                runs.c.started_at >= datetime(year, 1, 1, tzinfo=UTC),
                runs.c.started_at < datetime(year + 1, 1, 1, tzinfo=UTC),
            )
            .values(
                co2_kg_market_based=runs.c.energy_kwh * factor.g_per_kwh / 1000.0,
                market_intensity_g_per_kwh=factor.g_per_kwh,
                market_intensity_source=factor.source,
                market_intensity_year=factor.year,
                market_intensity_name=factor.name,
                market_intensity_boundary=factor.boundary,
                market_added_later=True,
            )
        )


def downgrade() -> None:
    # batch mode: SQLite before 3.35 cannot drop a column in place.
    with op.batch_alter_table("runs") as batch:
        for name in (
            "market_added_later",
            "market_intensity_year",
            *reversed(_FLOAT_COLUMNS),
            *reversed(_STRING_COLUMNS),
            *reversed(_TEXT_COLUMNS),
        ):
            batch.drop_column(name)
