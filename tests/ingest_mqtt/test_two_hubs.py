"""Two hubs on one broker, with one service account and different instance names: neither
takes the other's session (which would knock both off in turn, every second or so), and
each receives the whole stream (one shared subscription group would split it)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from ingest_mqtt.worker import IngestWorker
from settings import IngestSettings
from storage import migrations
from storage.devices import Device, register
from tests.ingest_mqtt.generated_broker import Broker, Session, generated_broker
from tests.live_ingest import wait_for
from twin.credentials import issue_device_credentials, issue_service_credentials

pytestmark = pytest.mark.integration

WATCH_S = 3.0
"""How long both hubs are watched once connected: a worker knocked off reconnects
within a second (gmqtt's reconnect delay), and would show up twice."""
READINGS = 4


@pytest.fixture
def broker(pg_url: str, tmp_path: Path) -> Iterator[Broker]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        register(conn, [Device("gauge-01", "river_gauge", ("water_level",))])
        issued = [
            issue_device_credentials(conn, "gauge-01"),
            issue_service_credentials(conn, "ingest"),
        ]
        with generated_broker(conn, tmp_path, issued) as running:
            yield running


def test_two_hubs_share_a_broker(
    broker: Broker, pg_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ingest_mqtt.consumer")
    workers = [
        IngestWorker(
            IngestSettings(
                instance=name,
                topic_prefix="city",
                data_dir=tmp_path / name,
                ingest_batch_interval_ms=50,
            ),
            pg_url,
            broker.hub_url(),
        )
        for name in ("town-hall", "county")
    ]
    ids = [w.settings.ingest_client_id for w in workers]
    assert ids == ["smartcity-town-hall-ingest", "smartcity-county-ingest"]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    gauge = broker.credentials["gauge-01"]
    device = Session(broker.tls_port, gauge.username, gauge.password, ca=broker.certificates.ca)
    try:
        for worker in workers:
            assert worker.subscribed.wait(10), "a worker did not subscribe"
        assert device.connected().value == 0
        time.sleep(WATCH_S)
        for k in range(READINGS):
            reading = {"time": datetime.now(UTC).isoformat(), "values": {"water_level": 300 + k}}
            assert device.publish("city/devices/gauge-01/json", json.dumps(reading).encode()) == 0
        wait_for(lambda: all(w.stats.received == READINGS for w in workers))
    finally:
        device.close()
        stop.set()
        for thread in threads:
            thread.join(10)
    for client_id in ids:
        connected = [r for r in caplog.records if r.getMessage().endswith(f" as {client_id}")]
        assert len(connected) == 1, f"{client_id} was knocked off and connected again"
    assert "already connected" not in broker.log_text(), broker.log_text()
    with psycopg.connect(pg_url) as conn:
        stored = conn.execute("SELECT count(*) FROM readings").fetchone()
    assert stored == (READINGS,)
