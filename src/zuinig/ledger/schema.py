"""The ledger's tables, in SQLAlchemy Core, portable between SQLite and PostgreSQL.

``runs`` has one column per :class:`zuinig.ledger.model.Run` field, with the same
name and unit. Tags live in ``run_tags`` (one row per key) so that a tag filter is
plain SQL on every backend, served by the ``(key, value)`` index, instead of a JSON
operator that differs per database. ``inputs`` and ``engines`` are only ever read
whole, so they are JSON text.

``bench_sessions`` and ``bench_trials`` (revision 0002) hold ``zuinig bench``: one
row per session and one per trial, with the same names as
:class:`zuinig.ledger.model.BenchSession` and :class:`~zuinig.ledger.model.BenchTrial`.
Their JSON fields (``config``, ``machine``, ``method``, ``results``) are JSON text
too. A trial's ``run_id`` points at the run (kind ``bench``) holding its
measurement, without a foreign key: that run may reach the ledger later, from the
spool.

Revision 0003 adds the attribution figures (issue 11): each run's energy and CO2e
range (``energy_kwh_low`` ... ``co2_kg_high``), the shares it was charged by
(``cpu_share``, ``ram_gb_s``) and the method's GPU source, attribution rule and CPU
coefficients (``method_gpu``, ``method_attribution``, ``method_cpu_coefficients``).

Revision 0004 adds both scope 2 figures (issue 12): the location-based factor's row and
boundary (``intensity_name``, ``intensity_boundary``) beside the existing ``co2_kg`` and
``intensity_*``, and the market-based figure with its factor (``co2_kg_market_based``,
``market_intensity_*``, ``market_added_later``).

The schema version is Alembic's revision id, kept in :data:`VERSION_TABLE` (not
Alembic's default ``alembic_version``, so a team database that other tools migrate
with Alembic is not confused). This module knows the revisions this zuinig ships,
so opening an up-to-date ledger needs one query and no Alembic import.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from zuinig.ledger.model import as_utc

#: Revisions this zuinig knows, oldest first; the last is the one it writes.
#: A revision id is a zero-padded number, so "newer than this zuinig" is a comparison.
SCHEMA_REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004")
HEAD_REVISION = SCHEMA_REVISIONS[-1]
#: Alembic's version table, named for zuinig so it cannot clash with another application's.
VERSION_TABLE = "zuinig_schema_version"


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A point in time, stored in UTC and read back timezone-aware (UTC).

    PostgreSQL stores ``timestamp with time zone``. SQLite has no such type: it
    stores the UTC wall time as ISO text, which sorts and compares correctly
    because every value is in the same zone. A naive datetime is taken to be UTC
    already (Python's ``datetime.utcnow()`` style), never local time.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        if dialect.name == "sqlite":
            # SQLite's DATETIME text drops the offset anyway; strip it so every stored
            # value has exactly the same shape and string comparison stays time order.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value if isinstance(value, datetime) else str(value))


metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(), primary_key=True),
    sa.Column("parent_run_id", sa.String(), nullable=True, index=True),
    sa.Column("job", sa.String(), nullable=False, index=True),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False, index=True),
    sa.Column("started_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Column("duration_s", sa.Float(), nullable=True),
    sa.Column("energy_kwh", sa.Float(), nullable=True),
    sa.Column("cpu_energy_kwh", sa.Float(), nullable=True),
    sa.Column("ram_energy_kwh", sa.Float(), nullable=True),
    sa.Column("gpu_energy_kwh", sa.Float(), nullable=True),
    sa.Column("energy_kwh_low", sa.Float(), nullable=True),
    sa.Column("energy_kwh_high", sa.Float(), nullable=True),
    sa.Column("co2_kg", sa.Float(), nullable=True),
    sa.Column("co2_kg_low", sa.Float(), nullable=True),
    sa.Column("co2_kg_high", sa.Float(), nullable=True),
    sa.Column("intensity_g_per_kwh", sa.Float(), nullable=True),
    sa.Column("cpu_s", sa.Float(), nullable=True),
    sa.Column("cpu_share", sa.Float(), nullable=True),
    sa.Column("ram_gb_s", sa.Float(), nullable=True),
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
    sa.Column("method_gpu", sa.String(), nullable=True),
    sa.Column("method_attribution", sa.String(), nullable=True),
    sa.Column("method_cpu_coefficients", sa.Text(), nullable=True),
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
    sa.Column("inputs", sa.Text(), nullable=False),  # JSON list of {path, size_bytes, format}
    sa.Column("engines", sa.Text(), nullable=False),  # JSON object, engine name to version
    sa.Column("host", sa.String(), nullable=True),
    sa.Column("user", sa.String(), nullable=True),
    sa.Column("pid", sa.Integer(), nullable=True),
    sa.Column("pid_started_at", UTCDateTime(), nullable=True),
    sa.Column("python_version", sa.String(), nullable=True),
    sa.Column("codecarbon_version", sa.String(), nullable=True),
    sa.Column("zuinig_version", sa.String(), nullable=True),
    sa.Column("git_commit", sa.String(), nullable=True),
    # Revision 0004: the factor's row and boundary, and the market-based figure.
    sa.Column("intensity_name", sa.Text(), nullable=True),
    sa.Column("intensity_boundary", sa.String(), nullable=True),
    sa.Column("co2_kg_market_based", sa.Float(), nullable=True),
    sa.Column("market_intensity_g_per_kwh", sa.Float(), nullable=True),
    sa.Column("market_intensity_source", sa.Text(), nullable=True),
    sa.Column("market_intensity_year", sa.Integer(), nullable=True),
    sa.Column("market_intensity_name", sa.Text(), nullable=True),
    sa.Column("market_intensity_boundary", sa.String(), nullable=True),
    sa.Column("market_added_later", sa.Boolean(), nullable=True),
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column(
        "run_id",
        sa.String(),
        sa.ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_run_tags_run_id"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("value", sa.String(), nullable=False),
    sa.Index("ix_run_tags_key_value", "key", "value"),
)

#: Columns of ``runs`` in declaration order (equal to the Run field names, tags aside).
RUN_COLUMNS: tuple[str, ...] = tuple(column.name for column in runs.columns)

bench_sessions = sa.Table(
    "bench_sessions",
    metadata,
    sa.Column("session_id", sa.String(), primary_key=True),
    sa.Column("workload", sa.String(), nullable=False, index=True),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Column("scale", sa.Float(), nullable=True),
    sa.Column("rows", sa.BigInteger(), nullable=True),
    sa.Column("label", sa.Text(), nullable=True),
    sa.Column("config", sa.Text(), nullable=False),  # JSON object
    sa.Column("machine", sa.Text(), nullable=False),  # JSON object
    sa.Column("method", sa.Text(), nullable=False),  # JSON object
    sa.Column("page_cache", sa.Text(), nullable=True),
    sa.Column("baseline_run_id", sa.String(), nullable=True),
    sa.Column("results", sa.Text(), nullable=True),  # JSON list of objects
    sa.Column("host", sa.String(), nullable=True),
    sa.Column("pid", sa.Integer(), nullable=True),
    sa.Column("pid_started_at", UTCDateTime(), nullable=True),
)

bench_trials = sa.Table(
    "bench_trials",
    metadata,
    sa.Column("trial_id", sa.String(), primary_key=True),
    sa.Column(
        "session_id",
        sa.String(),
        sa.ForeignKey(
            "bench_sessions.session_id", ondelete="CASCADE", name="fk_bench_trials_session_id"
        ),
        nullable=False,
        index=True,
    ),
    sa.Column("phase", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("format", sa.String(), nullable=True),
    sa.Column("engine", sa.String(), nullable=True),
    sa.Column("mode", sa.String(), nullable=True),
    sa.Column("threads", sa.Integer(), nullable=True),
    sa.Column("query", sa.String(), nullable=True),
    sa.Column("repetition", sa.Integer(), nullable=True),
    sa.Column("run_id", sa.String(), nullable=True, index=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("correct", sa.Boolean(), nullable=True),
    sa.Column("storage_bytes", sa.BigInteger(), nullable=True),
    sa.Column("started_at", UTCDateTime(), nullable=True),
)

#: Columns of ``bench_sessions`` and ``bench_trials`` (equal to the dataclass field names).
BENCH_SESSION_COLUMNS: tuple[str, ...] = tuple(column.name for column in bench_sessions.columns)
BENCH_TRIAL_COLUMNS: tuple[str, ...] = tuple(column.name for column in bench_trials.columns)
