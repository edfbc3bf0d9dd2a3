"""The parking alert service on a real broker and PostgreSQL: a full lot's alert raised
by the monitor and published by the engine's dispatcher under the parking domain, and
the lot's history sampled by the recorder the service runs beside them."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import psycopg

from ingest_mqtt.publisher import Publisher
from parking import alert_monitor
from settings import ParkingAlertSettings
from tests.parking import alert_lot
from tests.parking.alert_lot import LOT
from tests.subscriber import WAIT_S, subscribed


def test_a_full_lot_is_published_on_mqtt(pg_url: str, broker_url: str, mqtt_protocol: str) -> None:
    prefix = f"test{uuid.uuid4().hex[:8]}"
    settings = ParkingAlertSettings(
        parking_fill_min=0, parking_alert_tick_s=0.2, topic_prefix=prefix
    )
    alert_lot.create(pg_url)
    alert_lot.report(pg_url, datetime.now(UTC), [1, 1, 1, 1], 4)

    async def sampled() -> list[tuple[str, float]]:
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            rows = await conn.execute(
                "SELECT quantity, value FROM readings WHERE device_id = %s ORDER BY quantity",
                (f"parking-lot:{LOT}",),
            )
            return [(q, v) for q, v in await rows.fetchall()]

    async def serve_until_published() -> None:
        stop = asyncio.Event()
        with Publisher(broker_url, f"pub-{prefix}", protocol=mqtt_protocol) as publisher:
            service = asyncio.create_task(
                alert_monitor.serve(settings, (), pg_url, publisher, stop)
            )
            for _ in range(int(WAIT_S / 0.2)):
                if not messages.empty() and await sampled():
                    break
                await asyncio.sleep(0.2)
            stop.set()
            await asyncio.wait_for(service, WAIT_S)

    with subscribed(broker_url, f"{prefix}/events/parking/#") as messages:
        asyncio.run(serve_until_published())
        message = messages.get(timeout=1)
    # the lot full, 4 of 4: its history's sample
    assert asyncio.run(sampled()) == [
        ("parking_capacity", 4.0),
        ("parking_occupancy", 1.0),
        ("parking_occupied", 4.0),
    ]
    document = json.loads(message.payload)
    assert message.topic == f"{prefix}/events/parking/{LOT}/fill"
    assert (document["type"], document["lot_id"], document["value"]) == (
        "parking.alert.raised",
        LOT,
        100.0,
    )
