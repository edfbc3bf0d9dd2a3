"""Playback: every sensor's value at a past moment, and the snapshot built from them.

Readings are written in shuffled batches, so late readings arrive after newer ones and
``latest_readings`` is not simply the last batch. Expected values are computed here
from the readings themselves; the live twin's past snapshot is compared with the one
assembled from the database query that serves single assets.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest
from psycopg import AsyncConnection

from storage import migrations
from storage.database import async_pool
from storage.readings import Reading, ReadingWriter
from twin import state
from twin.live import LiveTwin, compact

START = datetime(2026, 3, 1, tzinfo=UTC)
KINDS = {  # asset kind: (device kind, quantities)
    "parking_lot": ("parking_counter", ["occupied_spaces"]),
    "air_quality_station": ("air_quality", ["pm25", "pm10", "no2"]),
    "river_gauge": ("river_gauge", ["water_level"]),
    "school": (None, []),
}


def _build(url: str, seed: int) -> list[Reading]:
    """A small twin with readings over two months (two partitions); returns them."""
    rng = random.Random(seed)
    readings: list[Reading] = []
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        for n in range(16):
            kind = list(KINDS)[n % len(KINDS)]
            device_kind, quantities = KINDS[kind]
            conn.execute(
                "INSERT INTO assets (asset_id, name, kind, lon, lat, properties)"
                " VALUES (%s, %s, %s, 24.87, 43.75, %s)",
                (f"a{n}", f"Asset {n}", kind, orjson.dumps({"capacity": 40}).decode()),
            )
            if device_kind is None:
                continue
            conn.execute(
                "INSERT INTO devices (device_id, kind, asset_id, quantities)"
                " VALUES (%s, %s, %s, %s)",
                (f"d{n}", device_kind, f"a{n}", quantities),
            )
            for quantity in quantities[: rng.randint(0, len(quantities))]:  # some never report
                times = rng.sample(range(0, 60 * 24 * 45, 7), rng.randint(1, 30))
                readings += [
                    Reading(f"d{n}", quantity, START + timedelta(minutes=t), rng.uniform(-50, 900))
                    for t in times
                ]
        rng.shuffle(readings)
        writer = ReadingWriter(migrations.readings_storage(conn))
        for k in range(0, len(readings), 25):
            writer.write(conn, readings[k : k + 25])
            conn.commit()
    return readings


def _expected(readings: list[Reading], at: datetime) -> dict[str, dict[str, float]]:
    last: dict[tuple[str, str], Reading] = {}
    for r in readings:
        key = (r.device_id, r.quantity)
        if r.time <= at and (key not in last or r.time > last[key].time):
            last[key] = r
    found: dict[str, dict[str, float]] = {}
    for (device, quantity), r in last.items():
        found.setdefault(device, {})[quantity] = r.value
    return found


def _moments(readings: list[Reading], seed: int) -> list[datetime]:
    rng = random.Random(seed)
    times = sorted({r.time for r in readings})
    return [
        START - timedelta(days=1),  # before everything
        times[0],  # exactly at the first reading
        times[-1] + timedelta(days=1),  # after everything: the latest values
        *(rng.choice(times) for _ in range(4)),  # exactly at readings
        *(START + timedelta(minutes=rng.randrange(60 * 24 * 45)) for _ in range(6)),
    ]


def _check_values_at(url: str, seed: int, pool_size: int) -> None:
    readings = _build(url, seed)

    async def check() -> None:
        pool = async_pool(url, max_size=pool_size)
        await pool.open()
        try:
            for at in _moments(readings, seed):
                expected = _expected(readings, at)
                for parts in (1, 2, 3):
                    assert await state.values_at(pool, at, parts) == expected, (at, parts)
        finally:
            await pool.close()

    asyncio.run(check())


@pytest.mark.parametrize("seed", [1, 2])
def test_values_at_a_moment_are_each_sensors_last_reading_by_then(pg_url: str, seed: int) -> None:
    _check_values_at(pg_url, seed, pool_size=8)


def test_values_at_on_timescaledb(timescale_url: str) -> None:
    """The same on a hypertable; the engine takes one client at a time, so the parts
    share one pooled connection in turn."""
    _check_values_at(timescale_url, 4, pool_size=1)
    with psycopg.connect(timescale_url) as conn:
        assert migrations.readings_storage(conn) == "timescaledb"


def test_live_past_snapshot_equals_the_database_assembly(pg_url: str) -> None:
    """Two assemblies of the same moment: the live twin's (current structure, values
    from :func:`state.values_at`) and the database query's (documents, then compact)."""
    readings = _build(pg_url, 3)

    async def check() -> None:
        pool = async_pool(pg_url)
        await pool.open()
        live = LiveTwin(pg_url)
        await live.start()
        try:
            await asyncio.wait_for(live.ready.wait(), 10)
            async with await AsyncConnection.connect(pg_url) as conn:
                for at in _moments(readings, 3):
                    served = orjson.loads(live.snapshot(await state.values_at(pool, at)))
                    assembled = [compact(a) for a in await state.assets(conn, at=at)]
                    assert served == assembled, at
                    labels = {a["status"]["label"] for a in served}
                    assert "no sensors" in labels
            assert labels - {"no sensors", "no data"}, "the last moment has readings"
        finally:
            await live.stop()
            await pool.close()

    asyncio.run(check())
