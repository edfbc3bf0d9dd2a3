"""A subscriber on a real broker for tests that check what the hub publishes."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt

WAIT_S = 20.0


@contextmanager
def subscribed(broker_url: str, topic: str) -> Iterator[queue.Queue[mqtt.MQTTMessage]]:
    """The messages arriving on ``topic`` (QoS 1), subscribed before the context starts."""
    host, port = broker_url.removeprefix("mqtt://").split(":")
    client_id = f"sub-{uuid.uuid4().hex[:6]}"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(client_id)
    got: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    ready = threading.Event()
    client.on_message = lambda _c, _u, message: got.put(message)
    client.on_subscribe = lambda *_: ready.set()
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.connect(host, int(port))
    client.loop_start()
    try:
        assert ready.wait(WAIT_S), f"not subscribed to {topic} in {WAIT_S} s"
        yield got
    finally:
        client.disconnect()
        client.loop_stop()
