"""The live twin follows readings by patching the documents it holds with the notified
devices' latest values, on real PostgreSQL: after every batch its documents are those
read whole from the database (:func:`twin.state.current`), statuses included, and a
device registered since the twin loaded is followed too (its asset read whole)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from psycopg import AsyncConnection

from storage import devices, migrations
from storage.readings import Reading, ReadingWriter
from twin import state
from twin.live import LiveTwin

pytestmark = pytest.mark.integration

ASSETS = [
    ("lot-1", "parking_lot", {"capacity": 2}),
    ("school", "school", {}),
    ("bare", "pump_station", {}),
]
DEVICES = [
    devices.Device("bay-1", "parking_bay", ("occupied",), "lot-1", properties={"bay_id": "A1"}),
    devices.Device("bay-2", "parking_bay", ("occupied",), "lot-1", properties={"bay_id": "A2"}),
    devices.Device("aq-1", "air_quality", ("pm10", "no2"), "school"),
]


def _build(url: str) -> None:
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        for asset_id, kind, properties in ASSETS:
            conn.execute(
                "INSERT INTO assets (asset_id, name, kind, lon, lat, properties)"
                " VALUES (%s, %s, %s, 24.87, 43.75, %s)",
                (asset_id, asset_id.title(), kind, orjson.dumps(properties).decode()),
            )
        devices.register(conn, DEVICES)


def _write(url: str, readings: Sequence[Reading]) -> None:
    with psycopg.connect(url) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(conn, readings)
        conn.commit()


async def _read_whole(url: str) -> list[dict[str, Any]]:
    async with await AsyncConnection.connect(url) as conn:
        return (await state.current(conn)).assets


async def _caught_up(live: LiveTwin, url: str) -> list[dict[str, Any]]:
    """The documents read whole, once the live twin holds the same (within 10 s)."""
    for _ in range(200):
        whole = await _read_whole(url)
        if live.documents() == whole:
            return whole
        await asyncio.sleep(0.05)
    assert live.documents() == await _read_whole(url)
    raise AssertionError("unreachable")


def test_the_twin_patched_from_readings_equals_the_twin_read_whole(pg_url: str) -> None:
    _build(pg_url)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    batches = [
        [
            Reading("bay-1", "occupied", now, 1.0),
            Reading("bay-2", "occupied", now, 0.0),
            Reading("aq-1", "pm10", now, 31.5),
        ],
        # one quantity of two: the other keeps its value; the lot fills up
        [Reading("aq-1", "no2", now + timedelta(seconds=5), 44.0)],
        [
            Reading("bay-2", "occupied", now + timedelta(seconds=6), 1.0),
            Reading("aq-1", "pm10", now + timedelta(seconds=6), 12.25),
        ],
    ]

    async def check() -> None:
        live = LiveTwin(pg_url)
        await live.start()
        try:
            await asyncio.wait_for(live.ready.wait(), 10)
            loaded, generation = live.version, live.generation
            free = []
            for batch in batches:
                _write(pg_url, batch)
                lots = [a for a in await _caught_up(live, pg_url) if a["asset_id"] == "lot-1"]
                free.append(lots[0]["status"]["free"])
            assert live.version > loaded and live.generation == generation  # not reloaded
            held = {a["asset_id"]: a for a in live.documents()}
            assert held["school"]["sensors"][0]["latest"]["pm10"]["value"] == 12.25
            assert held["school"]["sensors"][0]["latest"]["no2"]["value"] == 44.0
            assert free == [1, 1, 0]  # the lot's status follows its bays

            # a device registered since the twin loaded (no twin_changed): read whole
            with psycopg.connect(pg_url) as conn:
                devices.register(conn, [devices.Device("pump-1", "pump", ("flow",), "bare")])
            _write(pg_url, [Reading("pump-1", "flow", now + timedelta(seconds=7), 3.5)])
            whole = await _caught_up(live, pg_url)
            bare = {a["asset_id"]: a for a in whole}["bare"]
            assert [s["device_id"] for s in bare["sensors"]] == ["pump-1"]
            # and patched like the others from then on
            _write(pg_url, [Reading("pump-1", "flow", now + timedelta(seconds=8), 4.0)])
            bare = {a["asset_id"]: a for a in await _caught_up(live, pg_url)}["bare"]
            assert bare["sensors"][0]["latest"]["flow"]["value"] == 4.0
            assert live.generation == generation
        finally:
            await live.stop()

    asyncio.run(check())
