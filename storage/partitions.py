"""Monthly range partitions of ``readings`` on plain PostgreSQL, created on demand.

TimescaleDB creates its chunks itself; on plain PostgreSQL a reading whose month has no
partition would be refused, so writers call :func:`ensure_months` for a batch first.
Retention (:mod:`storage.retention`) drops whole partitions once they are old enough.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import psycopg
from psycopg import sql


def month_start(moment: datetime) -> date:
    """First day of the UTC month containing ``moment``."""
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def next_month(day: date) -> date:
    """First day of the month after the one starting on ``day``."""
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


class PartitionKeeper:
    """Remembers which monthly partitions exist so that a batch costs no extra round trip.

    Only the current month and later ones are remembered: retention may drop a past
    month's partition in another process, and a late reading for it must find it
    re-created (it goes again with the next retention pass), not refused.
    """

    def __init__(self) -> None:
        self._known: set[date] = set()

    def ensure_for(self, conn: psycopg.Connection, times: Sequence[datetime]) -> None:
        """Create the partitions that readings at ``times`` go to.

        A batch nearly always falls within one month, which its oldest and newest times
        show with two comparisons per reading instead of a time-zone conversion each (a
        fifth of the writer's CPU per reading).
        """
        first = month_start(min(times))
        if first == month_start(max(times)):
            self.ensure_months(conn, (first,))
        else:
            self.ensure_months(conn, {month_start(t) for t in times})

    def ensure_months(self, conn: psycopg.Connection, months: Iterable[date]) -> None:
        """Create the partitions for ``months`` that this process has not seen yet."""
        current = month_start(datetime.now(UTC))
        for month in sorted(set(months) - self._known):
            name = sql.Identifier(f"readings_{month:%Y_%m}")
            try:
                # A savepoint: a concurrent worker creating the same partition is not an error.
                with conn.transaction():
                    self._create(conn, name, month)
            except (psycopg.errors.DuplicateTable, psycopg.errors.UniqueViolation):
                pass
            if month >= current:
                self._known.add(month)

    @staticmethod
    def _create(conn: psycopg.Connection, name: sql.Identifier, month: date) -> None:
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF readings FOR VALUES FROM ({}) TO ({})"
            ).format(
                name,
                sql.Literal(datetime(month.year, month.month, 1, tzinfo=UTC)),
                sql.Literal(datetime.combine(next_month(month), datetime.min.time(), UTC)),
            )
        )
