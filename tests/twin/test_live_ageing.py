"""The live twin's lot statuses age without a reading, on real PostgreSQL: a lot's
status is computed again when its data turns stale or silent, and only then (every lot
every few seconds held the API's event loop for 0.1-0.6 s at 2,500 lots under load).

The expected moments come from the thresholds (a counter is stale 5 minutes after its
reading, a bay silent after 15), not from the code under test.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest

from parking.model import Thresholds
from storage import migrations
from storage.readings import Reading, ReadingWriter
from twin.live import LiveTwin

pytestmark = pytest.mark.integration

COUNTER_LOTS = 30
STALE = Thresholds().counter_stale_after
SILENT = Thresholds().bay_silent_after


def _build(url: str, heard: datetime) -> None:
    """Lots with a counter heard at ``heard``, one lot with a bay heard then too, and a
    school (not a lot: it never ages)."""
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        rows = [(f"lot-{k:02d}", "parking_lot", f"counter-{k:02d}") for k in range(COUNTER_LOTS)]
        for asset_id, kind, _ in [*rows, ("lot-bays", "parking_lot", ""), ("school", "x", "")]:
            conn.execute(
                "INSERT INTO assets (asset_id, name, kind, lon, lat, properties)"
                " VALUES (%s, %s, %s, 24.87, 43.75, %s)",
                (asset_id, asset_id, kind, orjson.dumps({"capacity": 40}).decode()),
            )
        devices = [(d, "parking_counter", a, "occupied_spaces") for a, _, d in rows]
        devices.append(("bay-1", "parking_bay", "lot-bays", "occupied"))
        for device_id, kind, asset_id, quantity in devices:
            conn.execute(
                "INSERT INTO devices (device_id, kind, asset_id, quantities)"
                " VALUES (%s, %s, %s, %s)",
                (device_id, kind, asset_id, [quantity]),
            )
        conn.commit()
        readings = [
            Reading(d, q, heard, 10.0 if q == "occupied_spaces" else 1.0) for d, _, _, q in devices
        ]
        ReadingWriter(migrations.readings_storage(conn)).write(conn, readings)


def _states(live: LiveTwin) -> dict[str, str]:
    return {a["asset_id"]: a["status"].get("state", "") for a in orjson.loads(live.snapshot())}


def test_lots_age_when_their_data_turns_stale_and_only_then(pg_url: str) -> None:
    heard = datetime.now(UTC) - timedelta(minutes=1)
    _build(pg_url, heard)

    async def check() -> None:
        live = LiveTwin(pg_url)
        await live.start()
        try:
            await asyncio.wait_for(live.ready.wait(), 10)
            events = live.subscribe()
            loaded = _states(live)
            assert {loaded[f"lot-{k:02d}"] for k in range(COUNTER_LOTS)} == {"open"}
            assert loaded["lot-bays"] == "open"

            live.age(heard + STALE - timedelta(seconds=1))  # nothing is due yet
            assert live.aged == 0 and _states(live) == loaded and events.empty()

            live.age(heard + STALE + timedelta(seconds=1))  # the counters are stale
            assert live.aged == COUNTER_LOTS
            aged = _states(live)
            assert {aged[f"lot-{k:02d}"] for k in range(COUNTER_LOTS)} == {"sensor_fault"}
            assert aged["lot-bays"] == "open" and aged["school"] == ""
            published = [events.get_nowait() for _ in range(COUNTER_LOTS)]
            assert {e["status"]["state"] for e in published if e} == {"sensor_fault"}
            assert events.empty()

            live.age(heard + STALE + timedelta(minutes=1))  # stale for ever: not again
            assert live.aged == COUNTER_LOTS

            live.age(heard + SILENT + timedelta(seconds=1))  # the bay falls silent
            assert live.aged == COUNTER_LOTS + 1
            assert _states(live)["lot-bays"] != "open"
            assert (events.get_nowait() or {}).get("asset_id") == "lot-bays"
        finally:
            await live.stop()

    asyncio.run(check())
