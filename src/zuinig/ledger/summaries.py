"""Sums over runs, grouped in the database: what the monthly report and advice read.

One ``GROUP BY`` query per call on SQLite and PostgreSQL alike; only rows still
stored ``running`` are read one by one, so that a run whose process is gone is
counted under ``interrupted`` as every other read shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from zuinig.errors import UsageError
from zuinig.ledger.db import Database
from zuinig.ledger.liveness import LivenessCache
from zuinig.ledger.model import STATUS_RUNNING, RunFilter
from zuinig.ledger.runs import RunQuery, run_query
from zuinig.ledger.schema import RUN_COLUMNS, run_tags, runs

#: :meth:`Ledger.summarise_runs` key: the ``YYYY-MM`` month (UTC) a run started in.
GROUP_BY_MONTH = "month"
#: :meth:`Ledger.summarise_runs` key prefix: ``tag:team`` groups by the value of tag ``team``.
GROUP_BY_TAG = "tag:"


@dataclass(frozen=True)
class RunGroup:
    """Sums over the runs that share one combination of :meth:`Ledger.summarise_runs`'s keys.

    Attributes:
        key: the group's values, in the order of ``by``; ``None`` where the column is
            NULL or the run has no such tag.
        runs: runs in the group (every status).
        energy_runs: runs with an energy figure (``energy_kwh`` not NULL).
        energy_kwh, co2_kg, duration_s, cpu_s: sums over the group (kWh, kg CO2e, s,
            s); a NULL adds nothing.
        range_runs: runs with an energy range (``energy_kwh_low`` not NULL).
        energy_kwh_low, energy_kwh_high, co2_kg_low, co2_kg_high: sums of those runs'
            range ends (kWh, kg CO2e); a run without a range adds nothing, so they
            bound the group's total only when ``range_runs == energy_runs``.
        market_runs: runs with a market-based CO2e (``co2_kg_market_based`` not NULL).
        co2_kg_market_based: their sum (kg CO2e, market-based: the contract's factor).
    """

    key: tuple[Any, ...]
    runs: int
    energy_runs: int
    energy_kwh: float
    co2_kg: float
    duration_s: float
    cpu_s: float
    range_runs: int = 0
    energy_kwh_low: float = 0.0
    energy_kwh_high: float = 0.0
    co2_kg_low: float = 0.0
    co2_kg_high: float = 0.0
    market_runs: int = 0
    co2_kg_market_based: float = 0.0


_STATUS_KEY = "status"
#: What :meth:`Ledger.summarise_runs` sums per group, in :class:`RunGroup`'s order.
_GROUP_SUMS: tuple[sa.ColumnElement[Any], ...] = (
    sa.func.count(),
    sa.func.count(runs.c.energy_kwh),
    sa.func.coalesce(sa.func.sum(runs.c.energy_kwh), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.co2_kg), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.duration_s), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.cpu_s), 0.0),
    sa.func.count(runs.c.energy_kwh_low),
    sa.func.coalesce(sa.func.sum(runs.c.energy_kwh_low), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.energy_kwh_high), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.co2_kg_low), 0.0),
    sa.func.coalesce(sa.func.sum(runs.c.co2_kg_high), 0.0),
    sa.func.count(runs.c.co2_kg_market_based),
    sa.func.coalesce(sa.func.sum(runs.c.co2_kg_market_based), 0.0),
)
#: The range columns :meth:`Ledger.summarise_runs` sums, in :class:`RunGroup`'s order.
_RANGE_COLUMNS = (
    runs.c.energy_kwh_low,
    runs.c.energy_kwh_high,
    runs.c.co2_kg_low,
    runs.c.co2_kg_high,
)


def summarise_runs(db: Database, run_filter: RunFilter, by: Sequence[str]) -> list[RunGroup]:
    """Counts and sums of the runs matching the filter; see :meth:`Ledger.summarise_runs`.

    Raises:
        UsageError: the filter is invalid or a key is unknown.
        LedgerError: the ledger cannot be read.
    """
    query = run_query(run_filter)
    source, keys = _group_keys(db, by)
    live = _STATUS_KEY in by or query.live_status is not None
    conditions = [*query.conditions]
    if live:
        conditions.append(runs.c.status != STATUS_RUNNING)
    statement = (
        sa.select(*keys, *_GROUP_SUMS).select_from(source).where(*conditions).group_by(*keys)
    )
    with db.reading() as connection:
        groups = [
            RunGroup(tuple(row[: len(keys)]), *_group_sums(row[len(keys) :]))
            for row in connection.execute(statement)
            if row[len(keys)]  # no keys and no match: SQL still returns one empty row
        ]
        if live:
            groups.extend(_running_groups(connection, source, keys, query, by))
    return groups


def _group_keys(
    db: Database, by: Sequence[str]
) -> tuple[sa.FromClause, list[sa.ColumnElement[Any]]]:
    source: sa.FromClause = runs
    keys: list[sa.ColumnElement[Any]] = []
    for position, name in enumerate(by):
        if name == GROUP_BY_MONTH:
            keys.append(_month_of_start(db))
        elif name.startswith(GROUP_BY_TAG) and len(name) > len(GROUP_BY_TAG):
            tag = run_tags.alias(f"group_tag_{position}")
            source = source.outerjoin(
                tag,
                sa.and_(tag.c.run_id == runs.c.run_id, tag.c.key == name[len(GROUP_BY_TAG) :]),
            )
            keys.append(tag.c.value)
        elif name in RUN_COLUMNS:
            keys.append(runs.c[name])
        else:
            raise UsageError(
                f"cannot group runs by {name!r}; use a run column, "
                f"{GROUP_BY_MONTH!r} or '{GROUP_BY_TAG}KEY'"
            )
    return source, keys


def _month_of_start(db: Database) -> sa.ColumnElement[str]:
    # Literal columns, not bound parameters: PostgreSQL matches a SELECT expression
    # to its GROUP BY twin only when both are written the same, and two binds of
    # the same value are two different parameters.
    if db.is_sqlite:
        # Stored as UTC text "YYYY-MM-DD HH:MM:SS..." (see schema.UTCDateTime).
        return sa.func.substr(
            sa.cast(runs.c.started_at, sa.Text),
            sa.literal_column("1"),
            sa.literal_column("7"),
            type_=sa.String,
        )
    return sa.func.to_char(
        sa.func.timezone(sa.literal_column("'UTC'"), runs.c.started_at),
        sa.literal_column("'YYYY-MM'"),
        type_=sa.String,
    )


def _running_groups(
    connection: Connection,
    source: sa.FromClause,
    keys: list[sa.ColumnElement[Any]],
    query: RunQuery,
    by: Sequence[str],
) -> list[RunGroup]:
    """The rows stored ``running``, grouped in Python with their shown status."""
    liveness = LivenessCache()
    status_at = list(by).index(_STATUS_KEY) if _STATUS_KEY in by else None
    statement = (
        sa.select(
            *keys,
            runs.c.energy_kwh,
            runs.c.co2_kg,
            runs.c.duration_s,
            runs.c.cpu_s,
            *_RANGE_COLUMNS,
            runs.c.co2_kg_market_based,
            runs.c.host,
            runs.c.pid,
            runs.c.pid_started_at,
        )
        .select_from(source)
        .where(*query.conditions, runs.c.status == STATUS_RUNNING)
    )
    sums: dict[tuple[Any, ...], list[float]] = {}
    for row in connection.execute(statement):
        shown = liveness.shown_status(STATUS_RUNNING, row.host, row.pid, row.pid_started_at)
        if query.live_status is not None and shown != query.live_status:
            continue
        key = list(row[: len(keys)])
        if status_at is not None:
            key[status_at] = shown
        energy, co2, duration, cpu, low, high, co2_low, co2_high, market = row[
            len(keys) : len(keys) + 9
        ]
        total = sums.setdefault(
            tuple(key), [0, 0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, 0.0, 0, 0.0]
        )
        values: tuple[Any, ...] = (1, energy is not None, energy, co2, duration, cpu)
        values += (low is not None, low, high, co2_low, co2_high, market is not None, market)
        for index, value in enumerate(values):
            total[index] += value or 0
    return [RunGroup(key, *_group_sums(total)) for key, total in sums.items()]


def _group_sums(values: Sequence[Any]) -> tuple[Any, ...]:
    """:data:`_GROUP_SUMS`' values as :class:`RunGroup`'s fields after ``key``: the
    counts as ints, the sums as floats."""
    counts = {0, 1, 6, 11}  # runs, energy_runs, range_runs, market_runs
    return tuple(int(value) if at in counts else float(value) for at, value in enumerate(values))
