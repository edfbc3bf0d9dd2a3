"""Ingestion under faults, against real servers: a database outage and shared workers."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg

from ingest_mqtt.worker import IngestWorker
from settings import Settings
from storage import devices, migrations
from storage.embedded import EmbeddedPostgres

WAIT_S = 60.0
BASE = datetime(2026, 3, 1, tzinfo=UTC)


def publish(broker_url: str, protocol: str, prefix: str, device: str, start: int, n: int) -> None:
    host, port = broker_url.removeprefix("mqtt://").split(":")
    client_id = f"pub-{uuid.uuid4().hex[:6]}"
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311,
    )
    client.username_pw_set(client_id)
    client.connect(host, int(port))
    client.loop_start()
    infos = []
    for i in range(start, start + n):
        payload = {"time": (BASE + timedelta(seconds=i)).isoformat(), "values": {"occupied": i % 2}}
        infos.append(client.publish(f"{prefix}/devices/{device}/json", json.dumps(payload), qos=1))
    for info in infos:
        info.wait_for_publish(WAIT_S)
    client.disconnect()
    client.loop_stop()


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])  # type: ignore[index]


def running(worker: IngestWorker) -> Iterator[IngestWorker]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    assert worker.subscribed.wait(WAIT_S)
    yield worker
    stop.set()
    thread.join(WAIT_S)
    assert not thread.is_alive()


def _settings(protocol: str, tmp_path: Path, **extra: object) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings(
        topic_prefix=f"fault{run}",
        ingest_client_id=f"ingest-{run}",
        ingest_batch_interval_ms=50,
        ingest_batch_size=100,
        mqtt_protocol=protocol,
        data_dir=tmp_path,
        **extra,
    )


def test_database_outage_is_spooled_and_replayed_exactly_once(
    broker_url: str, mqtt_protocol: str, tmp_path: Path
) -> None:
    server = EmbeddedPostgres(tmp_path / "pg")
    url = server.url
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        devices.register(conn, [devices.Device("bay-7", "parking_bay", ("occupied",))])
    settings = _settings(mqtt_protocol, tmp_path)
    worker_iter = running(IngestWorker(settings, url, broker_url))
    worker = next(worker_iter)
    try:
        publish(broker_url, mqtt_protocol, settings.topic_prefix, "bay-7", 0, 300)
        wait_for(lambda: count(url) == 300, "the first 300 readings")
        server.stop()
        publish(broker_url, mqtt_protocol, settings.topic_prefix, "bay-7", 300, 700)
        wait_for(lambda: worker.stats.received == 1000, "all messages received while down")
        assert worker.stats.spooled_batches > 0 and worker.spool.size_bytes > 0
        server = EmbeddedPostgres(tmp_path / "pg")
        wait_for(lambda: worker.spool.batches == 0, "the spool to drain")
        assert count(url) == 1000
        assert worker.stats.replayed_batches == worker.stats.spooled_batches
        with psycopg.connect(url) as conn:
            times = [r[0] for r in conn.execute("SELECT time FROM readings ORDER BY time")]
        assert times == [BASE + timedelta(seconds=i) for i in range(1000)]
    finally:
        next(worker_iter, None)
        server.stop()


def test_two_workers_share_the_stream_without_loss_or_duplicates(
    pg_url: str, mosquitto_url: str, tmp_path: Path
) -> None:
    broker = mosquitto_url
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        devices.register(conn, [devices.Device("bay-9", "parking_bay", ("occupied",))])
    first = _settings("5", tmp_path / "a")
    second = first.model_copy(
        update={"ingest_client_id": first.ingest_client_id + "-b", "data_dir": tmp_path / "b"}
    )
    workers = [running(IngestWorker(s, pg_url, broker)) for s in (first, second)]
    a, b = (next(w) for w in workers)
    try:
        publish(broker, "5", first.topic_prefix, "bay-9", 0, 4000)
        wait_for(lambda: a.stats.received + b.stats.received >= 4000, "4000 messages")
        wait_for(lambda: count(pg_url) == 4000, "4000 readings")
        assert a.stats.received + b.stats.received == 4000  # none twice
        assert a.stats.received > 200 and b.stats.received > 200  # both took a share
    finally:
        for w in workers:
            next(w, None)
