"""A domain's dispatcher on a real broker and PostgreSQL: its events on MQTT under its
own name, its webhooks retried while down, and another domain's outbox left alone."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import httpx
import psycopg
from psycopg import AsyncConnection

from alerts import store
from alerts.delivery import Backoff, Dispatcher
from alerts.model import AlertSource, Condition, Subject, Webhook
from hub.broker import free_port
from ingest_mqtt.publisher import Publisher
from storage import migrations
from tests.alerts.sources import ESCALATION, PARKING, SECRET
from tests.subscriber import WAIT_S, subscribed

T0 = datetime(2026, 4, 2, 6, tzinfo=UTC)


def test_a_domain_delivers_its_own_events_under_its_own_name(
    pg_url: str, broker_url: str, mqtt_protocol: str
) -> None:
    prefix = f"test{uuid.uuid4().hex[:8]}"
    down = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    parking = AlertSource(
        PARKING.domain,
        PARKING.subject,
        PARKING.subjects,
        (Webhook(name="duty", url=down, secret=SECRET, contacts=("duty-officer",)),),
    )
    river = AlertSource("river", "gauge", {"lot-centru": Subject("lot-centru", "G", ESCALATION)})
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)

    async def run() -> None:
        async with (
            await AsyncConnection.connect(pg_url, autocommit=True) as conn,
            httpx.AsyncClient(timeout=5) as http,
        ):
            for source in (parking, river):
                async with conn.transaction():
                    full = Condition("lot-centru", "full", 1, T0, 100.0, "full")
                    await store.apply(conn, source, full, T0)
            with Publisher(broker_url, f"pub-{prefix}", protocol=mqtt_protocol) as publisher:
                dispatcher = Dispatcher(
                    pg_url, parking, publisher, prefix, backoff=Backoff(base_s=30)
                )
                deadline = time.monotonic() + WAIT_S
                while {d.channel for d in await store.next_deliveries(conn, parking)} != {
                    "webhook:duty"
                }:  # the publisher connects in the background: MQTT is retried until then
                    assert time.monotonic() < deadline, "MQTT was never delivered"
                    await conn.execute("UPDATE alert_outbox SET next_attempt_at = now()")
                    await dispatcher.deliver_due(conn, http)
                    await asyncio.sleep(0.1)

    with subscribed(broker_url, f"{prefix}/events/#") as got:
        asyncio.run(run())
        message = got.get(timeout=WAIT_S)
    assert message.topic == f"{prefix}/events/parking/lot-centru/full"
    assert json.loads(message.payload)["type"] == "parking.alert.raised"
    assert got.empty(), "the river's event is not parking's to deliver"
    with psycopg.connect(pg_url) as conn:
        owed = conn.execute(
            "SELECT domain, channel, delivered_at IS NOT NULL, last_error IS NOT NULL,"
            " next_attempt_at > now() + interval '20 seconds'"
            " FROM alert_outbox ORDER BY domain, channel"
        ).fetchall()
    assert owed == [
        ("parking", "mqtt", True, False, False),
        ("parking", "webhook:duty", False, True, True),  # refused: next try in 30 s
        ("river", "mqtt", False, False, False),  # untouched
    ]
