"""A lot's history on TimescaleDB (the PGlite engine): its derived series rolled up by
the continuous aggregates answers the same hand-computed buckets as on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest

from parking.history import HistoryBucket, series_history
from parking.history_cache import HistoryCache
from parking.history_json import series_json
from settings import RetentionSettings
from storage import migrations, rollups
from storage.readings import Reading, ReadingWriter

SERIES = "parking-lot:lot-a"
NINE = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
NOW = datetime(2026, 3, 3, tzinfo=UTC)
FIVE, HOUR = timedelta(minutes=5), timedelta(hours=1)


def _sample(at: datetime, occupied: float, capacity: float) -> list[Reading]:
    return [
        Reading(SERIES, "parking_occupied", at, occupied),
        Reading(SERIES, "parking_capacity", at, capacity),
        Reading(SERIES, "parking_occupancy", at, occupied / capacity),
    ]


def _history(url: str, start: datetime, end: datetime, width: timedelta) -> list[HistoryBucket]:
    async def run() -> list[HistoryBucket]:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await series_history(conn, SERIES, start, end, width)

    return asyncio.run(run())


def _json(url: str, start: datetime, end: datetime, width: timedelta) -> list[dict]:
    async def run() -> str:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await series_json(conn, SERIES, start, end, width)

    return orjson.loads(asyncio.run(run()))


def _cached(url: str, cache: HistoryCache, start: datetime, end: datetime) -> list[dict]:
    async def run() -> str:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await cache.series_json(conn, SERIES, start, end, HOUR)

    return orjson.loads(asyncio.run(run()))


def test_a_lots_history_from_continuous_aggregates(timescale_url: str) -> None:
    readings: list[Reading] = []
    for k in range(12):  # 09:00: 0, 1, .., 11 of 20
        readings += _sample(NINE + k * FIVE, float(k), 20.0)
    for k in range(6):  # 10:00-10:25: 4 of 20 three times, then 4 of 10
        readings += _sample(NINE + HOUR + k * FIVE, 4.0, 20.0 if k < 3 else 10.0)
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        assert migrations.readings_storage(conn) == "timescaledb"
        ReadingWriter("timescaledb").write(conn, readings)
        rollups.refresh(conn, RetentionSettings(raw_retention_days=14), NOW)
        rolled = conn.execute(
            "SELECT count(*) FROM readings_1h WHERE device_id = %s", (SERIES,)
        ).fetchone()
        assert rolled == (6,)  # two hours, three quantities: materialized, not raw
    hours = _history(timescale_url, NINE, NINE + 2 * HOUR, HOUR)
    got = [
        (b.start, b.samples, b.occupied, b.occupied_min, b.occupied_max, b.capacity, b.free)
        for b in hours
    ]
    # 0..11: mean 5.5, free 14.5; then 4 places, capacity (20 x3 + 10 x3) / 6 = 15
    assert got == [(NINE, 12, 5.5, 0, 11, 20, 14.5), (NINE + HOUR, 6, 4, 4, 4, 15, 11)]
    assert [b.occupancy for b in hours] == pytest.approx([0.275, 0.3])
    assert [b.occupancy_max for b in hours] == pytest.approx([0.55, 0.4])
    day = _history(timescale_url, NINE, NINE + HOUR, timedelta(days=1))
    assert [(b.samples, b.occupied_max) for b in day] == [(18, 11)]
    assert day[0].occupied == pytest.approx(90 / 18)
    # the API's answer, from the engine's buckets: the same figures, rounded
    assert _json(timescale_url, NINE, NINE + 2 * HOUR, HOUR) == [
        {
            "start": "2026-03-02T09:00:00+00:00",
            "end": "2026-03-02T10:00:00+00:00",
            "samples": 12,
            "occupied": 5.5,
            "occupied_min": 0,
            "occupied_max": 11,
            "capacity": 20,
            "free": 14.5,
            "occupancy": 0.275,
            "occupancy_max": 0.55,
        },
        {
            "start": "2026-03-02T10:00:00+00:00",
            "end": "2026-03-02T11:00:00+00:00",
            "samples": 6,
            "occupied": 4,
            "occupied_min": 4,
            "occupied_max": 4,
            "capacity": 15,
            "free": 11,
            "occupancy": 0.3,
            "occupancy_max": 0.4,
        },
    ]
    # TimescaleDB's policies log no revisions: the cache computes every answer whole
    # and keeps nothing, though 30 days by hour hold whole chunks before the watermark.
    cache = HistoryCache(64 * 2**20)
    month = NINE - timedelta(days=30)
    assert _cached(timescale_url, cache, month, NINE + 2 * HOUR) == _json(
        timescale_url, month, NINE + 2 * HOUR, HOUR
    )
    assert len(cache) == 0
