"""Prometheus metrics of an ingestion worker, in a registry of its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


@dataclass
class IngestStats:
    """Counters of one worker's life (read by logs, tests and the metrics collector)."""

    received: int = 0
    stored: int = 0
    dead_lettered: int = 0
    spooled_batches: int = 0
    replayed_batches: int = 0
    batches: int = 0
    spool_bytes: int = 0


class _StatsCollector(Collector):
    def __init__(self, stats: IngestStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        s = self._stats
        for name, value, text in (
            ("smartcity_ingest_received_messages", s.received, "MQTT messages received"),
            ("smartcity_ingest_stored_readings", s.stored, "readings committed"),
            ("smartcity_ingest_dead_letters", s.dead_lettered, "messages or records dead-lettered"),
            ("smartcity_ingest_spooled_batches", s.spooled_batches, "batches written to the spool"),
            ("smartcity_ingest_replayed_batches", s.replayed_batches, "spooled batches replayed"),
            ("smartcity_ingest_batches", s.batches, "batches committed"),
        ):
            yield CounterMetricFamily(name, text, value=value)
        yield GaugeMetricFamily(
            "smartcity_ingest_spool_bytes", "bytes waiting in the disk spool", value=s.spool_bytes
        )


class IngestMetrics:
    """The worker's counters plus histograms of batch size and commit latency."""

    def __init__(self) -> None:
        self.stats = IngestStats()
        self.registry = CollectorRegistry()
        self.registry.register(_StatsCollector(self.stats))
        self.batch_size = Histogram(
            "smartcity_ingest_batch_messages",
            "messages per committed batch",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000),
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "smartcity_ingest_commit_seconds",
            "time to commit one batch",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
