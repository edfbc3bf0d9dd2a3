"""`kill -9` of the ingestion worker in the middle of a stream loses and duplicates nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest

from storage import devices, migrations

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import ingest_faults  # noqa: E402

STREAM = 20_000
WAIT_S = 120.0


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[str]:
    """Mosquitto as production should run it: no cap on queued QoS 1 messages."""
    if shutil.which("mosquitto", path="/usr/sbin:/usr/bin") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mosquitto is required in CI")
        pytest.skip("mosquitto is not installed")
    broker = ingest_faults.Broker(tmp_path)
    yield broker.url
    broker.stop()


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])  # type: ignore[index]


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "ingest"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_kill_9_mid_stream_then_restart_stores_everything_once(
    pg_url: str, private_mosquitto: str, tmp_path: Path
) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        devices.register(
            conn, [devices.Device(f"g{i}", "river_gauge", ("water_level",)) for i in range(50)]
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCITY_")}
    env |= {
        "SMARTCITY_DATABASE_URL": pg_url,
        "SMARTCITY_MQTT_URL": private_mosquitto,
        "SMARTCITY_DATA_DIR": str(tmp_path),
        "SMARTCITY_INGEST_SHARED_GROUP": "",
        "SMARTCITY_INGEST_CLIENT_ID": f"kill-{uuid.uuid4().hex[:6]}",
    }
    worker = _worker(env)
    port = int(private_mosquitto.rsplit(":", 1)[1])
    publisher = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id="kill-pub", protocol=mqtt.MQTTv5
    )
    publisher.max_inflight_messages_set(1000)
    try:
        deadline = time.monotonic() + 30
        with psycopg.connect(pg_url, autocommit=True) as conn:
            while (
                conn.execute(
                    "SELECT 1 FROM hub_meta WHERE key LIKE 'ingest_subscribed:%'"
                ).fetchone()
                is None
            ):
                assert time.monotonic() < deadline, "worker did not subscribe"
                time.sleep(0.1)
        publisher.connect("127.0.0.1", port)
        publisher.loop_start()
        base = datetime(2026, 2, 1, tzinfo=UTC)
        infos = []
        killed = False
        for i in range(STREAM):
            stamp = (base + timedelta(seconds=i)).isoformat()
            infos.append(
                publisher.publish(
                    f"city/devices/g{i % 50}/json",
                    b'{"time": "%s", "values": {"water_level": %d}}' % (stamp.encode(), i % 700),
                    qos=1,
                )
            )
            if i % 2000 == 1999:
                infos[-1].wait_for_publish(WAIT_S)
                if not killed and _count(pg_url) > 1000:
                    worker.send_signal(signal.SIGKILL)  # mid-batch, unacknowledged in flight
                    worker.wait()
                    killed = True
                    worker = _worker(env)
        infos[-1].wait_for_publish(WAIT_S)
        assert killed, "the worker was never killed mid-stream"
        deadline = time.monotonic() + WAIT_S
        while _count(pg_url) < STREAM:
            assert time.monotonic() < deadline, f"only {_count(pg_url)} of {STREAM} stored"
            time.sleep(0.2)
        time.sleep(1)  # redeliveries still arriving must not add rows
        assert _count(pg_url) == STREAM
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        worker.terminate()
        worker.wait(20)
