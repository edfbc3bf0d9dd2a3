"""A domain's dispatcher on a real broker, PostgreSQL and a webhook receiver: its events
on MQTT under its own name and to its webhooks signed (Standard Webhooks' own verifier
checks them), in order per channel; a refusal recorded with its reason and retried
after a growing backoff; a new event sent on its notification; a receiver that never
answers given up on; another domain's outbox left alone."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import AsyncConnection
from standardwebhooks import Webhook as Verifier

from alerts import delivery, store
from alerts.delivery import IDLE_WAKE_S, Backoff, Dispatcher
from alerts.model import AlertSource, Condition, Subject, Webhook
from hub.broker import free_port
from ingest_mqtt.publisher import Publisher
from storage import migrations
from tests.alerts.receiver import drain, receiver
from tests.alerts.sources import ESCALATION, PARKING, SECRET
from tests.subscriber import WAIT_S, subscribed

T0 = datetime(2026, 4, 2, 6, tzinfo=UTC)


def migrated(pg_url: str) -> None:
    """The engine's tables in the test's database."""
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)


async def _raise(conn: AsyncConnection, source: AlertSource) -> list[int]:
    async with conn.transaction():
        return await store.apply(conn, source, Condition("lot-centru", "full", 1, T0, 1.0), T0)


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


def _parking(url: str, *more: Webhook) -> AlertSource:
    duty = Webhook(name="duty", url=url, secret=SECRET, contacts=("duty-officer",))
    return AlertSource(PARKING.domain, PARKING.subject, PARKING.subjects, (duty, *more))


@pytest.fixture
def romanian_time() -> Iterator[None]:
    """The machine's local time is Romania's, as on the hub; put back afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Bucharest"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_backoff_doubles_from_its_base_up_to_its_maximum() -> None:
    backoff = Backoff(base_s=1.5, max_s=60)
    delays = [backoff.delay(attempts).total_seconds() for attempts in range(9)]
    assert delays == [1.5, 1.5, 3, 6, 12, 24, 48, 60, 60]


def test_a_webhook_gets_signed_events_in_order_and_a_refusal_is_retried_later(
    pg_url: str,
    broker_url: str,
    mqtt_protocol: str,
    caplog: pytest.LogCaptureFixture,
    romanian_time: None,
) -> None:
    """The receiver refuses the first event twice (500, 503): it is tried again after
    the backoff (30 s, then 60 s) and the second event waits for it. The hub runs on
    Romanian time: signatures must not depend on the machine's time zone."""
    outbox = (
        "SELECT event_id, attempts, delivered_at IS NOT NULL, last_error,"
        " round(extract(epoch FROM next_attempt_at - now()) / 10) * 10"
        " FROM alert_outbox WHERE channel = 'webhook:duty' ORDER BY event_id"
    )
    migrated(pg_url)
    with receiver([500, 503]) as (url, received):
        source = _parking(url)

        async def run() -> list[list[tuple[object, ...]]]:
            states = []
            async with (
                await AsyncConnection.connect(pg_url, autocommit=True) as conn,
                httpx.AsyncClient(timeout=5) as http,
            ):
                (first,) = await _raise(conn, source)
                (second,) = await store.run_timers(conn, source, T0 + timedelta(minutes=10))
                with Publisher(
                    broker_url, f"pub-{uuid.uuid4().hex[:8]}", protocol=mqtt_protocol
                ) as publisher:
                    dispatcher = Dispatcher(
                        pg_url, source, publisher, "test", backoff=Backoff(base_s=30, max_s=100)
                    )
                    for _ in range(3):
                        await dispatcher.deliver_due(conn, http)
                        states.append(
                            [tuple(r) for r in await (await conn.execute(outbox)).fetchall()]
                        )
                        await conn.execute(
                            "UPDATE alert_outbox SET next_attempt_at = now()"
                            " WHERE channel <> 'mqtt'"
                        )
                assert (first, second) == (1, 2)
            return states

        with caplog.at_level(logging.WARNING, logger="alerts.delivery"):
            states = asyncio.run(run())
        deliveries = drain(received)
    refusals = [r.getMessage() for r in caplog.records if "webhook:duty" in r.getMessage()]
    for said, attempt, reason, delay in [(refusals[0], 1, 500, 30), (refusals[1], 2, 503, 60)]:
        for part in ("parking-event-1", f"(attempt {attempt})", f"HTTP {reason}", f"{delay} s"):
            assert part in said, "the warning says which event, which try, why, and when next"
    assert states == [
        [(1, 1, False, "HTTP 500", 30), (2, 0, False, None, 0)],
        [(1, 2, False, "HTTP 503", 60), (2, 0, False, None, 0)],
        [(1, 3, True, None, 0), (2, 1, True, None, 0)],
    ]
    assert [headers["webhook-id"] for headers, _ in deliveries] == [
        "parking-event-1",
        "parking-event-1",
        "parking-event-1",
        "parking-event-2",
    ]
    verifier = Verifier(SECRET)
    with psycopg.connect(pg_url) as conn:
        documents = [
            d for (d,) in conn.execute("SELECT document FROM alert_events ORDER BY event_id")
        ]
    for headers, body in deliveries:
        assert headers["content-type"] == "application/json"
        assert verifier.verify(body, headers) == documents[int(headers["webhook-id"][-1]) - 1]


def test_a_channel_that_cannot_take_an_event_says_why(pg_url: str, mqtt_protocol: str) -> None:
    """A broker that is not there, a webhook nobody listens to, a webhook no longer
    configured: each refusal is recorded with its reason, and retried."""
    nobody = f"http://127.0.0.1:{free_port()}/hook"
    migrated(pg_url)

    async def run() -> dict[str, str]:
        async with (
            await AsyncConnection.connect(pg_url, autocommit=True) as conn,
            httpx.AsyncClient(timeout=5) as http,
        ):
            gone = Webhook(name="gone", url=nobody, secret=SECRET)
            await _raise(conn, _parking(nobody, gone))
            absent = f"mqtt://127.0.0.1:{free_port()}"
            with Publisher(
                absent, "pub-absent", protocol=mqtt_protocol, timeout_s=0.5
            ) as publisher:
                await Dispatcher(pg_url, _parking(nobody), publisher, "test").deliver_due(
                    conn, http
                )
            rows = await (
                await conn.execute(
                    "SELECT channel, last_error FROM alert_outbox WHERE attempts = 1"
                )
            ).fetchall()
            return dict(rows)

    errors = asyncio.run(run())
    assert errors.keys() == {"mqtt", "webhook:duty", "webhook:gone"}
    assert errors["mqtt"].startswith(
        ("MQTT publish refused: ", "no acknowledgement from the broker")
    )
    assert errors["webhook:duty"].startswith("ConnectError: ")
    assert errors["webhook:gone"] == "webhook:gone is no longer configured"


def test_the_dispatcher_waits_for_the_next_retry_or_an_idle_wake(pg_url: str) -> None:
    migrated(pg_url)

    async def run() -> tuple[float, float, float]:
        async with (
            await AsyncConnection.connect(pg_url, autocommit=True) as conn,
            httpx.AsyncClient(timeout=5) as http,
        ):
            nobody = f"http://127.0.0.1:{free_port()}/hook"
            with Publisher(
                f"mqtt://127.0.0.1:{free_port()}", "pub-absent", timeout_s=0.1
            ) as publisher:
                dispatcher = Dispatcher(
                    pg_url, _parking(nobody), publisher, "test", backoff=Backoff(base_s=5)
                )
                idle = await dispatcher.deliver_due(conn, http)
                await _raise(conn, _parking(nobody))
                retry = await dispatcher.deliver_due(conn, http)
                dispatcher = Dispatcher(
                    pg_url, _parking(nobody), publisher, "test", backoff=Backoff(base_s=0.25)
                )
                await conn.execute("UPDATE alert_outbox SET next_attempt_at = now()")
                soon = await dispatcher.deliver_due(conn, http)
                return idle, retry, soon

    idle, retry, soon = asyncio.run(run())
    assert idle == IDLE_WAKE_S  # nothing owed
    assert retry == IDLE_WAKE_S  # owed, but not before the idle wake
    assert 0 < soon <= 0.5  # owed sooner: the dispatcher is back then


def test_a_running_dispatcher_delivers_each_new_event_on_its_notification(
    pg_url: str, broker_url: str, mqtt_protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an idle wake far away (a minute), only the clock can bring a refused
    delivery's retry, and only the notification the second event out, in time; and the
    dispatcher stops when asked."""
    monkeypatch.setattr(delivery, "IDLE_WAKE_S", 60.0)
    prefix = f"test{uuid.uuid4().hex[:8]}"
    delivered = "SELECT count(*) FROM alert_outbox WHERE delivered_at IS NOT NULL"
    migrated(pg_url)

    async def until_delivered(conn: AsyncConnection, count: int) -> None:
        deadline = time.monotonic() + WAIT_S
        while (await (await conn.execute(delivered)).fetchone()) != (count,):
            assert time.monotonic() < deadline, f"{count} deliveries not made in {WAIT_S} s"
            await asyncio.sleep(0.05)

    with receiver([503]) as (url, received), subscribed(broker_url, f"{prefix}/events/#") as got:
        source = _parking(url)

        async def run() -> None:
            stop = asyncio.Event()
            async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
                with Publisher(broker_url, f"pub-{prefix}", protocol=mqtt_protocol) as publisher:
                    # the publisher connects in the background: quick retries until then
                    dispatcher = Dispatcher(
                        pg_url, source, publisher, prefix, backoff=Backoff(0.05, 0.05)
                    )
                    await _raise(conn, source)
                    running = asyncio.create_task(dispatcher.run(stop))
                    await until_delivered(conn, 2)
                    await store.run_timers(conn, source, T0 + timedelta(minutes=10))
                    await until_delivered(conn, 4)
                    stop.set()
                    await conn.execute("SELECT pg_notify(%s, '')", (source.channel,))
                    await asyncio.wait_for(running, WAIT_S)

        asyncio.run(run())
        topics = [got.get(timeout=WAIT_S).topic for _ in range(2)]
        posted = drain(received)
    assert topics == [f"{prefix}/events/parking/lot-centru/full"] * 2
    assert [headers["webhook-id"] for headers, _ in posted] == [
        "parking-event-1",  # refused
        "parking-event-1",
        "parking-event-2",
    ]


class _Silent(BaseHTTPRequestHandler):
    """A webhook receiver that takes the request and never answers."""

    def do_POST(self) -> None:  # noqa: N802  (http.server's name)
        time.sleep(WAIT_S * 2)

    def log_message(self, *_: Any) -> None:
        pass


def test_a_receiver_that_never_answers_is_given_up_on_after_the_timeout(pg_url: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Silent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    source = _parking(f"http://127.0.0.1:{server.server_address[1]}/hook")
    refused = "SELECT last_error FROM alert_outbox WHERE channel = 'webhook:duty' AND attempts > 0"
    migrated(pg_url)

    async def run() -> str:
        stop = asyncio.Event()
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            with Publisher(f"mqtt://127.0.0.1:{free_port()}", "pub-absent", timeout_s=0.1) as mqtt:
                dispatcher = Dispatcher(pg_url, source, mqtt, "test", timeout_s=0.5)
                await _raise(conn, source)
                running = asyncio.create_task(dispatcher.run(stop))
                deadline = time.monotonic() + WAIT_S
                while (row := await (await conn.execute(refused)).fetchone()) is None:
                    assert time.monotonic() < deadline, f"still waiting after {WAIT_S} s"
                    await asyncio.sleep(0.05)
                stop.set()
                await conn.execute("SELECT pg_notify(%s, '')", (source.channel,))
                await asyncio.wait_for(running, WAIT_S)
                return str(row[0])

    try:
        assert asyncio.run(run()).startswith("ReadTimeout: ")
    finally:
        server.shutdown()
        server.server_close()
