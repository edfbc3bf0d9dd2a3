"""The ingestion worker: subscribe, batch, commit, then acknowledge.

paho's callback only queues the message (no I/O in callbacks). The worker loop takes
a batch (up to ``ingest_batch_size`` messages or ``ingest_batch_interval_ms``), decodes
it, commits readings and dead letters in one transaction and only then sends the
PUBACKs, so a crash before the commit leaves the messages with the broker for redelivery.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import psycopg

from hub.settings import Settings
from ingest_mqtt.client import make_client
from ingest_mqtt.decode import Incoming, decode
from ingest_mqtt.registry import RegistryCache
from ingest_mqtt.topics import subscriptions
from storage import devices, migrations
from storage.database import connect
from storage.errors import StorageError
from storage.meta import set_meta, subscribed_key
from storage.readings import ReadingWriter

log = logging.getLogger(__name__)

DB_RETRY_MIN_S = 0.5
DB_RETRY_MAX_S = 10.0


@dataclass
class IngestStats:
    """Counters of one worker's life, for logs and metrics."""

    received: int = 0
    stored: int = 0
    dead_lettered: int = 0
    batches: int = 0


class IngestWorker:
    """One ingestion worker process: a paho client feeding a batching database writer."""

    def __init__(self, settings: Settings, database_url: str, broker_url: str) -> None:
        self.settings = settings
        self.database_url = database_url
        self.broker_url = broker_url
        self.stats = IngestStats()
        self._inbox: queue.SimpleQueue[Incoming] = queue.SimpleQueue()
        self.subscribed = threading.Event()

    def _on_message(self, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(
            Incoming(
                message.topic, bytes(message.payload), message.mid, message.qos, datetime.now(UTC)
            )
        )

    def _take_batch(self, wait_s: float) -> list[Incoming]:
        batch: list[Incoming] = []
        deadline = time.monotonic() + self.settings.ingest_batch_interval_ms / 1000
        try:
            batch.append(self._inbox.get(timeout=wait_s))
        except queue.Empty:
            return batch
        while len(batch) < self.settings.ingest_batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set, then drain what was received and disconnect."""
        conn = connect(self.database_url)
        migrations.upgrade(conn)
        writer = ReadingWriter(migrations.readings_storage(conn))
        registry = RegistryCache(lambda: devices.quantities_by_device(conn))
        conn.commit()
        client = make_client(
            self.broker_url,
            self.settings.ingest_client_id,
            persistent_session=True,
            manual_ack=True,
            subscriptions=subscriptions(self.settings.topic_prefix),
            on_message=self._on_message,
        )
        client.on_subscribe = lambda *_args: self.subscribed.set()
        client.loop_start()
        announced = False
        try:
            while not stop.is_set():
                if not announced and self.subscribed.is_set():
                    # Lets a supervisor start publishers only once nothing can be missed.
                    with conn.transaction():
                        set_meta(
                            conn,
                            subscribed_key(self.settings.ingest_client_id),
                            datetime.now(UTC).isoformat(),
                        )
                    conn.commit()
                    announced = True
                batch = self._take_batch(wait_s=0.2)
                if batch:
                    conn = self._commit(conn, batch, writer, registry, stop)
                    for message in batch:
                        client.ack(message.mid, message.qos)
                else:
                    registry.refresh_if_stale()
                    conn.commit()
        finally:
            client.disconnect()
            client.loop_stop()
            conn.close()

    def _commit(
        self,
        conn: psycopg.Connection,
        batch: list[Incoming],
        writer: ReadingWriter,
        registry: RegistryCache,
        stop: threading.Event,
    ) -> psycopg.Connection:
        """Commit one batch, reconnecting with backoff while the database is unreachable."""
        delay = DB_RETRY_MIN_S
        while True:
            try:
                decoded = decode(batch, self.settings.topic_prefix, registry.quantities_of)
                writer.write(conn, decoded.readings, decoded.dead_letters)
                conn.commit()
                break
            except (psycopg.OperationalError, StorageError) as exc:
                if stop.is_set():
                    raise
                log.warning("database unavailable (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, DB_RETRY_MAX_S)
                try:
                    conn.close()
                    conn = connect(self.database_url)
                except StorageError:
                    continue
        self.stats.received += len(batch)
        self.stats.stored += len(decoded.readings)
        self.stats.dead_lettered += len(decoded.dead_letters)
        self.stats.batches += 1
        return conn
