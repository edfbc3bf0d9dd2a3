"""The history answers' past kept in memory, over real PostgreSQL (both servers): the
same text as an answer computed whole, chunks held and not read again, and a late
reading or a pruned log that makes them go. Expected figures are computed by hand in
the comments."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest

from parking.history_cache import CHUNK_BUCKETS, HistoryCache
from parking.history_json import series_json
from settings import RetentionSettings
from storage import migrations, rollup_revisions, rollups
from storage.readings import Reading, ReadingWriter

SERIES = "parking-lot:lot-a"
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
FIVE = 5 * MINUTE
START = datetime(2026, 2, 2, tzinfo=UTC)  # a Monday
END = START + 24 * DAY
NOW = END + MINUTE
CHUNK_1H = datetime(2026, 2, 11, tzinfo=UTC)
"""The one whole chunk of hours in [START, END): 256 hours to 21 February 16:00."""


def _sample(at: datetime, occupied: float, capacity: float = 20.0) -> list[Reading]:
    return [
        Reading(SERIES, "parking_occupied", at, occupied),
        Reading(SERIES, "parking_capacity", at, capacity),
        Reading(SERIES, "parking_occupancy", at, occupied / capacity),
    ]


def _refresh(conn: psycopg.Connection) -> None:
    while rollups.refresh(conn, RetentionSettings(), NOW):
        conn.commit()
    conn.commit()


@pytest.fixture
def lot(pg_url: str) -> Iterator[str]:
    """24 days of lot-a's samples every 5 minutes: 0, 1, .., 11 of 20 in every hour
    (mean 5.5), rolled up."""
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        writer = ReadingWriter(migrations.readings_storage(conn), "copy")
        readings: list[Reading] = []
        for k in range(24 * 24 * 12):
            readings += _sample(START + k * FIVE, float(k % 12))
        writer.write(conn, readings)
        conn.commit()
        _refresh(conn)
    yield pg_url


def _both(
    url: str, cache: HistoryCache, start: datetime, end: datetime, width: timedelta
) -> tuple[str, str]:
    """(the cache's answer, the answer computed whole)."""

    async def run() -> tuple[str, str]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            held = await cache.series_json(conn, SERIES, start, end, width)
            return held, await series_json(conn, SERIES, start, end, width)

    return asyncio.run(run())


def _hour(answer: str, at: datetime) -> dict:
    found = [b for b in orjson.loads(answer) if b["start"] == at.isoformat()]
    assert len(found) == 1
    return found[0]


def _late(url: str, at: datetime, occupied: float) -> None:
    with psycopg.connect(url) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(conn, _sample(at, occupied))
        conn.commit()


def test_answers_from_memory_equal_those_computed_whole(lot: str) -> None:
    assert rollups.floor_time(CHUNK_1H, CHUNK_BUCKETS * HOUR) == CHUNK_1H
    cache = HistoryCache(64 * 2**20)
    asked = [
        (START, END, HOUR),  # CHUNK_1H held
        (START + 7 * HOUR + 13 * MINUTE, END - 5 * HOUR, HOUR),  # the same, partial ends
        (START + DAY, START + 3 * DAY, FIVE),  # 576 buckets: two whole chunks held
        (START, END, DAY),  # 24 buckets: none
        (END - 2 * HOUR, END + DAY, HOUR),  # past the watermark: none
    ]
    for start, end, width in asked:
        first = _both(lot, cache, start, end, width)
        again = _both(lot, cache, start, end, width)
        assert first[0] == first[1] == again[0], (start, end, width)
    assert len(cache) == 3
    before = _both(lot, cache, START, END, HOUR)[0]
    hours = orjson.loads(before)
    assert len(hours) == 24 * 24
    assert {(h["samples"], h["occupied"], h["occupied_max"]) for h in hours} == {(12, 5.5, 11)}
    # A held chunk is not read again: hours removed behind the log's back still show.
    with psycopg.connect(lot) as conn:
        gone = (SERIES, CHUNK_1H + 4 * DAY, CHUNK_1H + 6 * DAY)
        conn.execute(
            "DELETE FROM readings_1h WHERE device_id = %s AND bucket >= %s AND bucket < %s", gone
        )
        conn.execute(  # and the same two days packed
            "DELETE FROM readings_1h_days WHERE device_id = %s AND day >= %s AND day < %s", gone
        )
        conn.commit()
    held, computed = _both(lot, cache, START, END, HOUR)
    assert held == before and len(orjson.loads(computed)) == 24 * 24 - 48


def test_a_cache_keeps_no_more_than_its_bytes(lot: str) -> None:
    one = len(_both(lot, HistoryCache(0), START, START + CHUNK_BUCKETS * FIVE, FIVE)[1])
    cache = HistoryCache(one * 3 // 2)  # one chunk of 5-minute buckets, not two
    held, computed = _both(lot, cache, START, END - 10 * DAY, FIVE)
    assert held == computed and len(cache) == 1


def test_a_late_reading_reaches_the_answers_held_at_the_next_refresh(lot: str) -> None:
    cache = HistoryCache(64 * 2**20)
    hour = CHUNK_1H + DAY + 3 * HOUR  # 12 February 03:00
    _both(lot, cache, START, END, HOUR)
    _both(lot, cache, hour - DAY, hour + DAY, FIVE)  # a whole chunk from 12 Feb 18:40
    held_before = len(cache)
    assert held_before == 2
    _late(lot, hour + timedelta(minutes=2, seconds=30), 18.0)
    held, computed = _both(lot, cache, START, END, HOUR)
    assert held == computed  # not rolled up yet: the rollups' answer either way
    assert _hour(held, hour)["samples"] == 12
    with psycopg.connect(lot) as conn:
        _refresh(conn)
    held, computed = _both(lot, cache, START, END, HOUR)
    assert held == computed
    # 0..11 and the late 18: 13 samples, (66 + 18) / 13 = 6.46, at most 18 of 20;
    # free 20 - 6.46; share 4.2 / 13 = 0.3231, at most 0.9
    assert _hour(held, hour) == {
        "start": hour.isoformat(),
        "end": (hour + HOUR).isoformat(),
        "samples": 13,
        "occupied": 6.46,
        "occupied_min": 0,
        "occupied_max": 18,
        "capacity": 20,
        "free": 13.54,
        "occupancy": 0.3231,
        "occupancy_max": 0.9,
    }
    five, computed = _both(lot, cache, hour - DAY, hour + DAY, FIVE)
    assert five == computed
    assert _hour(five, hour)["samples"] == 2  # 03:00 and the late 03:02:30
    assert len(cache) == held_before  # the two chunks dropped, then read again


def test_a_gap_in_the_log_drops_everything_held(lot: str) -> None:
    cache = HistoryCache(64 * 2**20)
    first, second = CHUNK_1H + DAY + 3 * HOUR, CHUNK_1H + 9 * DAY + 3 * HOUR
    _both(lot, cache, START, END, HOUR)
    for at in (first, second):  # revisions of two hours of CHUNK_1H
        _late(lot, at + MINUTE, 18.0)
        with psycopg.connect(lot) as conn:
            _refresh(conn)
    with psycopg.connect(lot) as conn:  # all but the newest (second's day) pruned unread
        conn.execute(
            "UPDATE rollup_revisions SET revised_at = now() - interval '2 days'"
            " WHERE id < (SELECT max(id) FROM rollup_revisions)"
        )
        rollup_revisions.prune(conn)
        conn.commit()
        assert conn.execute("SELECT level FROM rollup_revisions").fetchall() == [("1d",)]
    held, computed = _both(lot, cache, START, END, HOUR)
    assert held == computed
    assert _hour(held, first)["samples"] == _hour(held, second)["samples"] == 13
