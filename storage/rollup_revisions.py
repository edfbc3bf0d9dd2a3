"""The log of rollup buckets changed after they were complete: what a cache of answers
built from past buckets reads to know which of them went stale.

A complete bucket of a rollup level changes in two ways only: a late reading makes the
refresh recompute it (:mod:`storage.rollups`), or retention deletes it
(:mod:`storage.retention`). Both write a row here (level, ``[low, high)``) on plain
PostgreSQL, in the transaction that changes the buckets and under the refresh's
advisory lock, so that ids follow commit order: a reader that has seen every id up to
``n`` sees every later change as an id above ``n``. The first computation of a bucket
(the level's watermark moving on) writes nothing: no answer held it before.

TimescaleDB's continuous aggregates are refreshed by its own policies, which write
nothing here: :attr:`Revisions.tracked` is False there, and a cache must not keep
answers (``docs/rollups.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

KEPT = timedelta(days=1)
"""How long a revision is kept (the newest is always kept). A cache that has not read
the log for longer sees a gap in the ids and drops everything it holds."""

_RECORD = "INSERT INTO rollup_revisions (level, low, high) SELECT %s, unnest(%s::timestamptz[]),"
_RECORD += " unnest(%s::timestamptz[])"
_PRUNE = """
DELETE FROM rollup_revisions
WHERE revised_at < now() - %s AND id < (SELECT max(id) FROM rollup_revisions)"""
_READ = """
SELECT (SELECT value FROM hub_meta WHERE key = 'readings_storage'),
       (SELECT min(id) FROM rollup_revisions), (SELECT max(id) FROM rollup_revisions),
       r.ids, r.levels, r.lows, r.highs
FROM (SELECT array_agg(id ORDER BY id), array_agg(level ORDER BY id),
             array_agg(low ORDER BY id), array_agg(high ORDER BY id)
      FROM rollup_revisions WHERE id > %s) AS r (ids, levels, lows, highs)"""


@dataclass(frozen=True, slots=True)
class Revision:
    """Buckets of ``level`` in ``[low, high)`` changed after they were complete."""

    id: int
    level: str
    low: datetime
    high: datetime


@dataclass(frozen=True, slots=True)
class Revisions:
    """What the log holds after the id a reader last saw."""

    tracked: bool
    """Whether this database logs its revisions (plain PostgreSQL), so that answers
    built from complete buckets may be kept."""
    oldest: int | None
    """The oldest id still in the log (None: empty)."""
    newest: int | None
    """The newest id in the log (None: empty)."""
    after: list[Revision]
    """The revisions newer than the id asked for, oldest first."""

    def missed(self, seen: int) -> bool:
        """Whether revisions newer than ``seen`` were pruned before being read (a gap):
        whatever was kept since ``seen`` must go."""
        return self.oldest is not None and self.oldest > seen + 1


def record(
    conn: psycopg.Connection, level: str, ranges: Sequence[tuple[datetime, datetime]]
) -> None:
    """Log that the buckets of ``level`` in each ``[low, high)`` of ``ranges`` changed
    (call it under the rollup refresh's advisory lock, in the changing transaction)."""
    if ranges:
        conn.execute(_RECORD, (level, [r[0] for r in ranges], [r[1] for r in ranges]))


def prune(conn: psycopg.Connection) -> None:
    """Delete the revisions older than :data:`KEPT` (by the database's clock), except
    the newest."""
    conn.execute(_PRUNE, (KEPT,))


async def read(conn: psycopg.AsyncConnection, after: int | None) -> Revisions:
    """The log's bounds and its revisions newer than id ``after`` (None: none of them,
    only the bounds), in one query."""
    cursor = await conn.execute(_READ, (2**62 if after is None else after,))
    storage, oldest, newest, ids, levels, lows, highs = await cursor.fetchone() or (None,) * 7
    found = [
        Revision(*fields)
        for fields in zip(ids or [], levels or [], lows or [], highs or [], strict=True)
    ]
    return Revisions(storage == "partitioned", oldest, newest, found)
