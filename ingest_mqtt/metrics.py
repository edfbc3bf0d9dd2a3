"""Prometheus metrics of an ingestion worker, in a registry of its own.

A worker serves them itself when ``SMARTCITY_INGEST_METRICS_PORT`` is set, and reports a
snapshot to the database every few seconds, from which the API's ``/metrics`` shows all
workers at once, each sample labelled ``worker="<client id>"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Histogram, Metric
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from storage.worker_reports import Snapshot


@dataclass
class IngestStats:
    """Counters of one worker's life (read by logs, tests and the metrics collector)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
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
            ("smartcity_ingest_stored_readings", s.stored, "new readings committed"),
            (
                "smartcity_ingest_duplicate_readings",
                s.duplicates,
                "readings already stored (redeliveries), skipped",
            ),
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

    def snapshot(self) -> Snapshot:
        """The registry's current families as plain data, for :mod:`storage.worker_reports`."""
        return [
            {
                "name": family.name,
                "type": family.type,
                "help": family.documentation,
                "samples": [[x.name, x.labels, x.value] for x in family.samples],
            }
            for family in self.registry.collect()
        ]


class ReportedWorkers(Collector):
    """Every worker's last snapshot as one set of families, labelled by worker."""

    def __init__(self, reports: Iterable[tuple[str, datetime, Snapshot]], now: datetime) -> None:
        self._reports = list(reports)
        self._now = now

    def collect(self) -> Iterator[Metric]:
        """The families, rebuilt from the snapshots with a ``worker`` label on each sample."""
        families: dict[str, Metric] = {}
        age = GaugeMetricFamily(
            "smartcity_ingest_report_age_seconds",
            "seconds since the worker last reported (a stopped worker's figures go stale)",
            labels=["worker"],
        )
        for worker, reported_at, snapshot in self._reports:
            age.add_metric([worker], (self._now - reported_at).total_seconds())
            for f in snapshot:
                family = families.get(f["name"])
                if family is None:
                    family = families[f["name"]] = Metric(f["name"], f["help"], f["type"])
                for name, labels, value in f["samples"]:
                    family.add_sample(name, {"worker": worker, **labels}, value)
        yield from families.values()
        yield age
