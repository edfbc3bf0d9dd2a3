"""The log of rollup buckets changed after they were complete (plain PostgreSQL, both real
servers): a late reading's buckets at every level, retention's deletes, nothing for a
bucket computed the first time, and pruning that keeps the newest revision."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg

from settings import RetentionSettings
from storage import retention, rollup_revisions, rollups
from storage.readings import Reading
from tests.storage.rollup_support import NOW, refresh, write

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
FIVE = 5 * MINUTE


def _read(url: str, after: int | None) -> rollup_revisions.Revisions:
    async def run() -> rollup_revisions.Revisions:
        async with await psycopg.AsyncConnection.connect(url) as aconn:
            return await rollup_revisions.read(aconn, after)

    return asyncio.run(run())


def _logged(conn: psycopg.Connection) -> set[tuple[str, datetime, datetime]]:
    return set(conn.execute("SELECT level, low, high FROM rollup_revisions").fetchall())


def test_a_late_reading_logs_its_bucket_at_every_level(
    conn: psycopg.Connection, pg_url: str
) -> None:
    write(conn, [Reading("gauge", "level", NOW - i * 10 * MINUTE, 400.0) for i in range(1, 300)])
    refresh(conn)
    assert _logged(conn) == set()  # complete buckets computed the first time: no revision
    first = _read(pg_url, None)
    assert first.tracked and first.newest is None and first.after == []
    past = rollups.floor_time(NOW - 20 * HOUR, HOUR)  # 9 March 16:00
    write(conn, [Reading("gauge", "level", past + 9 * MINUTE, 999.0)])
    refresh(conn)
    five = past + FIVE  # 16:09 falls in the bucket 16:05
    assert _logged(conn) == {
        ("5m", five, five + FIVE),
        ("1h", past, past + HOUR),
        ("1d", datetime(2026, 3, 9, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)),
    }
    log = _read(pg_url, 0)
    assert [r.level for r in log.after] == ["5m", "1h", "1d"]  # in the refresh's order
    assert log.newest == log.after[-1].id and not log.missed(0)
    assert _read(pg_url, log.newest).after == []


def test_retention_logs_the_rollups_it_deletes(conn: psycopg.Connection) -> None:
    write(conn, [Reading("gauge", "level", NOW - k * HOUR, 1.0) for k in range(1, 10 * 24)])
    refresh(conn)  # all 10 days rolled up, then kept shorter
    keep = RetentionSettings(raw_retention_days=7, rollup_5m_retention_days=8)
    oldest = conn.execute("SELECT min(bucket) FROM readings_5m").fetchone()
    assert oldest is not None
    report = retention.apply(conn, keep, NOW)
    conn.commit()
    assert report.rollups["5m"] > 0
    assert _logged(conn) == {("5m", oldest[0], NOW - 8 * DAY)}
    retention.apply(conn, keep, NOW)  # nothing more to delete: nothing logged
    conn.commit()
    assert len(_logged(conn)) == 1


def test_pruning_keeps_the_newest_revision_and_a_reader_sees_the_gap(
    conn: psycopg.Connection, pg_url: str
) -> None:
    with conn.transaction():
        for k in range(3):
            rollup_revisions.record(conn, "1h", [(NOW + k * HOUR, NOW + (k + 1) * HOUR)])
    ids = [row[0] for row in conn.execute("SELECT id FROM rollup_revisions ORDER BY id")]
    conn.execute("UPDATE rollup_revisions SET revised_at = now() - interval '2 days'")
    rollup_revisions.prune(conn)
    conn.commit()
    kept = [row[0] for row in conn.execute("SELECT id FROM rollup_revisions")]
    assert kept == [ids[-1]]
    log = _read(pg_url, ids[0])
    assert log.missed(ids[0])  # ids[1] went unseen: whatever was kept must go
    assert not log.missed(ids[1])
