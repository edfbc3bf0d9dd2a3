"""A live ingestion worker for end-to-end tests: its settings, the worker on real
servers, and publishing over real MQTT."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest

from ingest_mqtt.worker import IngestWorker
from settings import Settings
from storage import devices, migrations

WAIT_S = 20.0


@pytest.fixture
def settings(mqtt_protocol: str, tmp_path: Path) -> Settings:
    # A topic prefix and client id of its own keep parallel runs on a shared broker apart.
    run = uuid.uuid4().hex[:8]
    return Settings(
        topic_prefix=f"test{run}",
        ingest_client_id=f"ingest-{run}",
        ingest_batch_interval_ms=50,
        mqtt_protocol=mqtt_protocol,
        data_dir=tmp_path,
    )


@pytest.fixture
def worker(pg_url: str, broker_url: str, settings: Settings) -> Iterator[IngestWorker]:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        devices.register(
            conn,
            [
                devices.Device(
                    "gauge-tr-magurele", "river_gauge", ("water_level",), None, 24.87, 43.75
                ),
                devices.Device("aq-tr-2", "air_quality", ("pm25", "no2")),
            ],
        )
    stop = threading.Event()
    running = IngestWorker(settings, pg_url, broker_url)
    thread = threading.Thread(target=running.run, args=(stop,), daemon=True)
    thread.start()
    assert running.subscribed.wait(WAIT_S), "worker did not subscribe"
    yield running
    stop.set()
    thread.join(WAIT_S)
    assert not thread.is_alive()


def publish(broker_url: str, messages: list[tuple[str, bytes]]) -> None:
    host, port = broker_url.removeprefix("mqtt://").split(":")
    client_id = f"pub-{uuid.uuid4().hex[:6]}"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(client_id)  # the embedded broker refuses anonymous clients
    client.connect(host, int(port))
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(WAIT_S)
    client.disconnect()
    client.loop_stop()


def wait_for(predicate: Callable[[], object], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
