"""The publisher the hub's events go out through, on real brokers: it returns once the
broker has the message, and says so when the broker cannot take it."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from hub.broker import free_port
from ingest_mqtt.publisher import Publisher, PublishError
from tests.subscriber import WAIT_S, subscribed


def test_a_published_message_reaches_a_subscriber(broker_url: str, mqtt_protocol: str) -> None:
    topic = f"test{uuid.uuid4().hex[:8]}/events/river/g/level"
    with (
        subscribed(broker_url, topic) as received,
        Publisher(broker_url, f"pub-{topic[4:12]}", protocol=mqtt_protocol) as publisher,
    ):
        deadline = time.monotonic() + WAIT_S
        while True:  # until the publisher's own connection is up
            try:
                asyncio.run(publisher.publish(topic, b'{"id": "river-event-1"}'))
                break
            except PublishError:
                assert time.monotonic() < deadline, "the publisher never connected"
                time.sleep(0.1)
        assert received.get(timeout=WAIT_S).payload == b'{"id": "river-event-1"}'


def test_a_broker_that_is_not_there_refuses_the_message() -> None:
    with Publisher(f"mqtt://127.0.0.1:{free_port()}", "pub-nowhere", timeout_s=1) as publisher:
        with pytest.raises(PublishError, match="MQTT publish refused: .*not currently connected"):
            asyncio.run(publisher.publish("city/events/river/g/level", b"{}"))
