"""The ingestion worker: subscribe, batch, commit (or spool), then acknowledge.

The MQTT consumer (:mod:`ingest_mqtt.consumer`) only queues each message on its own
thread. The worker loop takes a
batch (up to ``ingest_batch_size`` messages or ``ingest_batch_interval_ms``), decodes
it, commits readings, drone positions and dead letters in one transaction and only
then sends the PUBACKs: a crash before the commit leaves the messages with the broker,
which redelivers them on the persistent session, and idempotent writes absorb the
redelivery. While PostgreSQL is down, batches go to the disk spool and are
acknowledged once durable there; they are replayed in order, before any new batch,
when the database answers again. When the spool is full the worker stops
acknowledging, and the broker holds the rest.

Between batches the worker keeps the stored history in shape: on plain PostgreSQL it
refreshes the rollups of the buckets its batches touched (TimescaleDB's own policies
do that there, set from the retention settings when the worker connects), and it
applies the retention settings hourly (:mod:`storage.rollups`, :mod:`storage.retention`).

Several workers share the stream through an MQTT 5 shared subscription
(``$share/<group>/...``): the broker gives each message to one of them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from prometheus_client import start_http_server

from ingest_mqtt.consumer import Consumer
from ingest_mqtt.decode import Incoming, decode
from ingest_mqtt.metrics import IngestMetrics, IngestStats
from ingest_mqtt.registry import RegistryCache
from ingest_mqtt.spool import Spool, SpoolFull
from ingest_mqtt.topics import subscriptions
from settings import IngestSettings
from storage import dead_letters, devices, migrations, retention, rollups, worker_reports
from storage.database import connect
from storage.errors import StorageError
from storage.meta import set_meta, subscribed_key
from storage.readings import ReadingWriter

log = logging.getLogger(__name__)

DB_RETRY_S = 1.0
IDLE_WAIT_S = 0.2
REPORT_INTERVAL_S = 5.0
"""How often the worker writes its metrics snapshot for the API's /metrics."""
PURGE_INTERVAL_S = 3600.0
"""How often the worker deletes the dead letters past their retention (first just after
it connects): an indexed delete of an hour's letters."""
ROLLUP_REFRESH_INTERVAL_S = 10.0
"""How often the worker refreshes the rollups on plain PostgreSQL: a 5-minute bucket
reaches them within this long of closing (until then queries read it raw)."""
RETENTION_INTERVAL_S = 3600.0
"""How often the worker applies retention (first just after it connects): an hour of
raw readings or a whole partition, whichever is due."""
_DB_DOWN = (psycopg.OperationalError, psycopg.InterfaceError, StorageError)


def subscription_filters(settings: IngestSettings) -> list[str]:
    """The worker's topic filters, shared between workers when MQTT 5 allows it."""
    filters = subscriptions(settings.topic_prefix)
    if settings.mqtt_protocol == "5" and settings.ingest_shared_group:
        return [f"$share/{settings.ingest_shared_group}/{f}" for f in filters]
    return filters


class IngestWorker:
    """One ingestion worker: a paho client feeding a batching, spooling database writer."""

    def __init__(
        self,
        settings: IngestSettings,
        database_url: str,
        broker_url: str,
        spool_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.database_url = database_url
        self.broker_url = broker_url
        self.metrics = IngestMetrics()
        self.spool = Spool(
            spool_dir or settings.data_dir / "spool" / settings.ingest_client_id,
            settings.ingest_spool_max_bytes,
        )
        self.metrics.stats.spool_bytes = self.spool.size_bytes
        self._inbox: queue.SimpleQueue[Incoming] = queue.SimpleQueue()
        self._conn: psycopg.Connection | None = None
        self._writer: ReadingWriter | None = None
        self._registry: RegistryCache | None = None
        self._db_retry_at = 0.0
        self._reported_at = 0.0
        self._purged_at: float | None = None
        self._refreshed_at = 0.0
        self._retained_at: float | None = None
        self._storage_kind = ""
        self.consumer = Consumer(
            broker_url,
            settings.ingest_client_id,
            subscription_filters(settings),
            self._inbox.put,
            protocol=settings.mqtt_protocol,
            receive_maximum=settings.ingest_receive_maximum,
            ca_file=settings.mqtt_ca_file,
        )

    @property
    def subscribed(self) -> threading.Event:
        """Set once the broker has confirmed the subscriptions."""
        return self.consumer.subscribed

    @property
    def stats(self) -> IngestStats:
        """The worker's counters."""
        return self.metrics.stats

    def _take_batch(self, wait_s: float) -> list[Incoming]:
        batch: list[Incoming] = []
        try:
            batch.append(self._inbox.get(timeout=wait_s))
        except queue.Empty:
            return batch
        deadline = time.monotonic() + self.settings.ingest_batch_interval_ms / 1000
        while len(batch) < self.settings.ingest_batch_size:
            try:
                batch.append(self._inbox.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    # -- database -----------------------------------------------------------------

    def _database(self) -> psycopg.Connection | None:
        """The open connection, reconnecting at most every :data:`DB_RETRY_S`."""
        if self._conn is not None and not self._conn.closed:
            return self._conn
        if time.monotonic() < self._db_retry_at:
            return None
        try:
            conn = connect(self.database_url)
            migrations.upgrade(conn)
            self._storage_kind = migrations.readings_storage(conn)
            self._writer = ReadingWriter(self._storage_kind, self.settings.ingest_write_method)
            rollups.configure(conn, self.settings)
            self._registry = RegistryCache(lambda: devices.quantities_by_device(conn))
            conn.commit()
        except _DB_DOWN as exc:
            log.warning("database unavailable (%s); retrying in %.0f s", exc, DB_RETRY_S)
            self._db_retry_at = time.monotonic() + DB_RETRY_S
            return None
        self._conn = conn
        return conn

    def _drop_connection(self, exc: Exception) -> None:
        log.warning("database connection lost (%s); spooling until it returns", exc)
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._db_retry_at = time.monotonic() + DB_RETRY_S

    def _commit(self, batch: list[Incoming]) -> bool:
        """Decode and commit one batch; False when the database is unreachable."""
        conn = self._database()
        if conn is None or self._writer is None or self._registry is None:
            return False
        started = time.perf_counter()
        try:
            decoded = decode(batch, self.settings.topic_prefix, self._registry.quantities_of)
            inserted = self._writer.write(
                conn, decoded.readings, decoded.dead_letters, decoded.track
            )
            conn.commit()
        except _DB_DOWN as exc:
            self._drop_connection(exc)
            return False
        self.metrics.commit_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_size.observe(len(batch))
        stats = self.metrics.stats
        stats.stored += inserted
        stats.duplicates += len(decoded.readings) - inserted
        stats.dead_lettered += len(decoded.dead_letters)
        stats.batches += 1
        return True

    def _replay_spool(self) -> bool:
        """Commit spooled batches oldest first; True when the spool is empty."""
        while (oldest := self.spool.oldest()) is not None:
            path, messages = oldest
            if not self._commit(messages):
                return False
            self.spool.remove(path)
            self.metrics.stats.replayed_batches += 1
            self.metrics.stats.spool_bytes = self.spool.size_bytes
            log.info("replayed spooled batch %s (%d messages)", path.name, len(messages))
        return True

    # -- main loop ------------------------------------------------------------------

    def _handle(self, batch: list[Incoming], stop: threading.Event) -> bool:
        """Make a batch durable (committed or spooled); False only when stopping first."""
        while True:
            if self._replay_spool() and self._commit(batch):
                return True
            try:
                self.spool.append(batch)
            except SpoolFull as exc:
                log.error("%s; not acknowledging until the database returns", exc)
                if stop.wait(DB_RETRY_S):
                    return False
                continue
            stats = self.metrics.stats
            stats.spooled_batches += 1
            stats.spool_bytes = self.spool.size_bytes
            return True

    def _refresh_registry(self) -> None:
        """Pick up newly registered devices while idle, ending the read transaction."""
        if self._conn is None or self._registry is None:
            return
        try:
            self._registry.refresh_if_stale()
            self._conn.commit()
        except _DB_DOWN as exc:
            self._drop_connection(exc)

    def _report_metrics(self, force: bool = False) -> None:
        """Write the metrics snapshot, at most every :data:`REPORT_INTERVAL_S`."""
        if not force and time.monotonic() - self._reported_at < REPORT_INTERVAL_S:
            return
        if self._conn is None:
            return
        try:
            worker_reports.report(
                self._conn, self.settings.ingest_client_id, self.metrics.snapshot()
            )
            self._conn.commit()
        except _DB_DOWN as exc:
            self._drop_connection(exc)
            return
        self._reported_at = time.monotonic()

    def _purge_dead_letters(self) -> None:
        """Delete the dead letters past their retention, at most every
        :data:`PURGE_INTERVAL_S`."""
        now = time.monotonic()
        if self._conn is None or (
            self._purged_at is not None and now - self._purged_at < PURGE_INTERVAL_S
        ):
            return
        kept = timedelta(days=self.settings.dead_letter_retention_days)
        try:
            deleted = dead_letters.purge(self._conn, kept)
            self._conn.commit()
        except _DB_DOWN as exc:
            self._drop_connection(exc)
            return
        self._purged_at = now
        if deleted:
            log.info("deleted %d dead letters not seen for %s", deleted, kept)

    def _upkeep(self) -> None:
        """The periodic work between batches, each part at its own interval."""
        self._purge_dead_letters()
        self._refresh_rollups()
        self._apply_retention()

    def _refresh_rollups(self) -> None:
        """Refresh the rollups on plain PostgreSQL, at most every
        :data:`ROLLUP_REFRESH_INTERVAL_S`."""
        now = time.monotonic()
        if (
            self._conn is None
            or self._storage_kind != "partitioned"
            or now - self._refreshed_at < ROLLUP_REFRESH_INTERVAL_S
        ):
            return
        try:
            rollups.refresh(self._conn, self.settings)
            self._conn.commit()
        except _DB_DOWN as exc:
            self._drop_connection(exc)
            return
        self._refreshed_at = now

    def _apply_retention(self) -> None:
        """Apply the retention settings, at most every :data:`RETENTION_INTERVAL_S`."""
        now = time.monotonic()
        if self._conn is None or (
            self._retained_at is not None and now - self._retained_at < RETENTION_INTERVAL_S
        ):
            return
        try:
            report = retention.apply(self._conn, self.settings)
            self._conn.commit()
        except _DB_DOWN as exc:
            self._drop_connection(exc)
            return
        self._retained_at = now
        if report.dropped or report.deleted or any(report.rollups.values()):
            log.info("retention: %s", report)

    def _announce_subscription(self) -> None:
        conn = self._database()
        if conn is None:
            return
        try:
            # Lets a supervisor start publishers only once nothing can be missed.
            set_meta(
                conn, subscribed_key(self.settings.ingest_client_id), datetime.now(UTC).isoformat()
            )
            conn.commit()
        except _DB_DOWN as exc:
            self._drop_connection(exc)

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set; what was received but not yet durable stays unacked."""
        if self.settings.ingest_metrics_port:
            start_http_server(self.settings.ingest_metrics_port, registry=self.metrics.registry)
        consumer = self.consumer
        self._database()
        consumer.start()
        announced = False
        try:
            while not stop.is_set():
                if not announced and consumer.subscribed.is_set():
                    self._announce_subscription()
                    announced = True
                batch = self._take_batch(IDLE_WAIT_S)
                if not batch:
                    if self._replay_spool():
                        self._refresh_registry()
                        self._upkeep()
                    self._report_metrics()
                    continue
                self.metrics.stats.received += len(batch)
                if not self._handle(batch, stop):
                    break
                consumer.ack(batch)
                self._report_metrics()
                self._upkeep()
        finally:
            consumer.stop()
            self._report_metrics(force=True)
            if self._conn is not None:
                self._conn.close()
