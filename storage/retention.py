"""Retention: raw readings dropped after their quantity's days, rollups kept longer.

What is kept is configured in one place, :class:`settings.RetentionSettings`
(``docs/rollups.md``). A pass (:func:`apply`, hourly in every ingest worker and by
``smartcity db retention``) does three things:

1. Drops the raw partitions (plain PostgreSQL: one per month) or chunks (TimescaleDB:
   one per week) that lie wholly before the *longest* raw retention. A dropped table
   costs nothing per row and leaves nothing to vacuum, and it is how nearly every
   reading goes.
2. Deletes, row by row, the readings of the quantities kept *shorter* than that, down
   to their own horizon. Partitioning by quantity as well would make every per-quantity
   horizon a partition drop, at the price of a partition per quantity and month that
   every query plans over; per-quantity retention is the exception (the default is one
   retention for all), so deletes were chosen. They go through the primary key of each
   (device, quantity) pair (listed in ``latest_readings``), so a pass costs what it
   deletes (an hour's readings when run hourly), not a scan of the months kept.
3. Drops each rollup level's buckets older than its own retention (0: kept for ever):
   ``DELETE`` by the bucket index on plain PostgreSQL, ``drop_chunks`` on the
   continuous aggregate on TimescaleDB. Raw deletes do not reach the rollups: they are
   refreshed only inside the shortest raw retention (:mod:`storage.rollups`).

On TimescaleDB the chunk drops are what its retention policy would run; they are done
here, not by ``add_retention_policy``, so that one pass applies the per-quantity rule
too, on both engines, and works where TimescaleDB's background workers do not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg import sql

from settings import RetentionSettings
from settings.retention import FOREVER
from storage import migrations, rollup_revisions
from storage.partitions import next_month
from storage.rollups import LEVELS, REFRESH_LOCK_KEY, Level, floor_time, pack_days

_RETENTION_LOCK_KEY = 0x5C17_2012
"""Serialises retention passes: every ingest worker runs them, one at a time works."""

_PARTITION_NAME = re.compile(r"^readings_(\d{4})_(\d{2})$")

_PARTITIONS = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'readings'::regclass ORDER BY c.relname
"""

# Through the primary key, pair by pair: see the module docstring.
_DELETE = """
WITH gone AS (
    DELETE FROM readings r USING latest_readings l
    WHERE {quantities} AND r.device_id = l.device_id AND r.quantity = l.quantity
      AND r.time < %(before)s
    RETURNING r.quantity
)
SELECT quantity, count(*) FROM gone GROUP BY quantity
"""


@dataclass
class RetentionReport:
    """What a retention pass removed."""

    dropped: list[str] = field(default_factory=list)
    """Raw partitions (plain PostgreSQL) or chunks (TimescaleDB) dropped."""
    deleted: dict[str, int] = field(default_factory=dict)
    """Raw readings deleted one by one, per quantity (those kept shorter than the rest)."""
    rollups: dict[str, int] = field(default_factory=dict)
    """Per rollup level: buckets deleted (plain PostgreSQL) or chunks dropped (TimescaleDB)."""
    skipped: bool = False
    """Another process was applying retention: this pass did nothing."""

    def __str__(self) -> str:
        if self.skipped:
            return "skipped: another retention pass is running"
        deleted = ", ".join(f"{q} {n}" for q, n in sorted(self.deleted.items())) or "none"
        rollups = ", ".join(f"{lv} {n}" for lv, n in self.rollups.items() if n) or "none"
        return (
            f"dropped {len(self.dropped)} raw partitions/chunks"
            f" ({', '.join(self.dropped) or 'none'}); deleted raw readings: {deleted};"
            f" rollup buckets/chunks: {rollups}"
        )


def raw_horizons(settings: RetentionSettings, now: datetime) -> dict[int, datetime]:
    """The cut-off time of each distinct raw retention (days), from ``now``."""
    days = {settings.raw_retention_days, *settings.raw_retention_days_by_quantity.values()}
    return {d: now - timedelta(days=d) for d in sorted(days)}


def _month_end(name: str) -> datetime | None:
    """End of a monthly partition named by :mod:`storage.partitions`, else None."""
    match = _PARTITION_NAME.match(name)
    if not match:
        return None
    end = next_month(date(int(match[1]), int(match[2]), 1))
    return datetime(end.year, end.month, end.day, tzinfo=UTC)


def _drop_partitions(conn: psycopg.Connection, before: datetime) -> list[str]:
    dropped = []
    for (name,) in conn.execute(_PARTITIONS).fetchall():
        end = _month_end(name)
        if end is not None and end <= before:
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            dropped.append(name)
    return dropped


def _drop_chunks(conn: psycopg.Connection, relation: str, before: datetime) -> list[str]:
    rows = conn.execute(
        "SELECT drop_chunks(%s::regclass, older_than => %s::timestamptz)", (relation, before)
    ).fetchall()
    return [str(row[0]) for row in rows]


def _delete_shorter(
    conn: psycopg.Connection, settings: RetentionSettings, now: datetime
) -> dict[str, int]:
    """Delete the readings of quantities kept shorter than the longest raw retention."""
    longest = settings.longest_raw_retention_days
    overrides = settings.raw_retention_days_by_quantity
    deleted: dict[str, int] = {}
    for days, before in raw_horizons(settings, now).items():
        if days >= longest:
            continue
        named = [q for q, d in overrides.items() if d == days]
        condition = sql.SQL("l.quantity = ANY(%(named)s)")
        if days == settings.raw_retention_days:  # and every quantity without its own days
            condition = sql.SQL("(l.quantity = ANY(%(named)s) OR l.quantity <> ALL(%(own)s))")
        query = sql.SQL(_DELETE).format(quantities=condition)
        params = {"named": named, "own": list(overrides), "before": before}
        for quantity, count in conn.execute(query, params).fetchall():
            deleted[quantity] = deleted.get(quantity, 0) + count
    return deleted


def apply(
    conn: psycopg.Connection, settings: RetentionSettings, now: datetime | None = None
) -> RetentionReport:
    """Apply the retention settings once, in one transaction; report what went.

    A pass already running in another process makes this one return at once with
    ``skipped`` set.
    """
    now = now or datetime.now(UTC)
    report = RetentionReport()
    timescale = migrations.readings_storage(conn) == "timescaledb"
    with conn.transaction():
        locked = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_RETENTION_LOCK_KEY,))
        if not locked.fetchone()[0]:  # type: ignore[index]
            report.skipped = True
            return report
        oldest_kept = now - timedelta(days=settings.longest_raw_retention_days)
        if timescale:
            report.dropped = _drop_chunks(conn, "readings", oldest_kept)
        else:
            report.dropped = _drop_partitions(conn, oldest_kept)
        report.deleted = _delete_shorter(conn, settings, now)
        for level in LEVELS:
            days = getattr(settings, f"rollup_{level.name}_retention_days")
            if days == FOREVER:
                continue
            before = now - timedelta(days=days)
            if timescale:
                report.rollups[level.name] = len(_drop_chunks(conn, level.table, before))
            else:
                report.rollups[level.name] = _delete_rollups(conn, level, before)
    return report


def _delete_rollups(conn: psycopg.Connection, level: Level, before: datetime) -> int:
    """Delete a level's buckets before ``before`` (plain PostgreSQL), logged as revised
    for the caches of past answers."""
    table = sql.Identifier(level.table)
    oldest = conn.execute(
        sql.SQL("SELECT min(bucket) FROM {} WHERE bucket < %s").format(table), (before,)
    ).fetchone()
    if oldest is None or oldest[0] is None:
        return 0
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (REFRESH_LOCK_KEY,))  # ids in commit order
    rollup_revisions.record(conn, level.name, [(oldest[0], before)])
    deleted = conn.execute(sql.SQL("DELETE FROM {} WHERE bucket < %s").format(table), (before,))
    if level.name == "1h":  # the hours packed by day (rollups.HOURS_BY_DAY) follow them
        day = floor_time(before, LEVELS[-1].width)
        conn.execute("DELETE FROM readings_1h_days WHERE day < %s", (day,))
        partial = "SELECT EXISTS (SELECT FROM readings_1h_days WHERE day = %s)"
        if day < before and conn.execute(partial, (day,)).fetchone() == (True,):
            pack_days(conn, day, day + LEVELS[-1].width)  # what is left of that day
    return deleted.rowcount
