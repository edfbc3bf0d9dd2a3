"""From a gauge reading at the broker to its alert's MQTT event: latency of the river path.

Run from the repository root (PostgreSQL on 127.0.0.1:5432, Mosquitto on 1883):

    .venv/bin/python bench/river_latency_bench.py --crossings 40

Starts ``smartcity ingest`` and ``smartcity river`` as their own processes on a scratch
database, then publishes gauge readings that alternately reach the attention level
(520 cm) and fall below it by more than the hysteresis (480 cm), one at a time: each
raises or resolves the level alert, whose event the bench awaits on
``{prefix}/events/river/#``. Latency is from the publish call to the event's arrival.
Side by side, the same reading's own arrival at a subscriber of the device topic (the
broker's round trip) is measured, so the path's cost is seen apart from the broker's.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scratch_db import scratch_database  # noqa: E402

from demo_town.river import DEMO  # noqa: E402
from storage import devices, migrations  # noqa: E402

BROKER = ("127.0.0.1", 1883)
GAUGE = DEMO.gauges[0].device_id


def _client(topic: str | None, got: queue.Queue[tuple[float, bytes]]) -> mqtt.Client:
    client_id = f"bench-{uuid.uuid4().hex[:6]}"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.on_message = lambda _c, _u, m: got.put((time.perf_counter(), m.payload))
    if topic is not None:
        client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.connect(*BROKER)
    client.loop_start()
    return client


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crossings", type=int, default=40)
    args = parser.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    with scratch_database(f"river_{uuid.uuid4().hex[:8]}") as url:
        with psycopg.connect(url) as conn:
            migrations.upgrade(conn)
            devices.register(conn, [devices.Device(GAUGE, "river_gauge", ("water_level",))])
        env = {
            **os.environ,
            "SMARTCITY_DATABASE_URL": url,
            "SMARTCITY_MQTT_URL": f"mqtt://{BROKER[0]}:{BROKER[1]}",
            "SMARTCITY_TOPIC_PREFIX": prefix,
            "SMARTCITY_INGEST_CLIENT_ID": f"ingest-{prefix}",
        }
        processes = [
            subprocess.Popen([sys.executable, "-m", "hub", name], env=env, cwd=ROOT)
            for name in ("ingest", "river")
        ]
        events: queue.Queue[tuple[float, bytes]] = queue.Queue()
        raw: queue.Queue[tuple[float, bytes]] = queue.Queue()
        listeners = [
            _client(f"{prefix}/events/river/#", events),
            _client(f"{prefix}/devices/{GAUGE}/json", raw),
        ]
        publisher = _client(None, queue.Queue())
        try:
            with psycopg.connect(url, autocommit=True) as conn:  # both services are up
                deadline = time.monotonic() + 60
                while conn.execute("SELECT count(*) FROM river_gauge_state").fetchone() == (0,):
                    assert time.monotonic() < deadline, "the river service did not start"
                    time.sleep(0.2)
            time.sleep(3)  # the ingest worker subscribes
            start = datetime.now(UTC) - timedelta(hours=args.crossings + 1)
            alert_s: list[float] = []
            broker_s: list[float] = []
            for k in range(args.crossings):
                level = 520.0 if k % 2 == 0 else 480.0
                payload = json.dumps(
                    {
                        "time": (start + timedelta(hours=k)).isoformat(),
                        "values": {"water_level": level},
                    }
                ).encode()
                sent = time.perf_counter()
                publisher.publish(f"{prefix}/devices/{GAUGE}/json", payload, qos=1)
                arrived, _ = raw.get(timeout=30)
                received, body = events.get(timeout=30)
                event = json.loads(body)
                assert event["action"] == ("raised" if level > 500 else "resolved"), event
                broker_s.append(arrived - sent)
                alert_s.append(received - sent)
                time.sleep(0.3)
        finally:
            for client in [*listeners, publisher]:
                client.disconnect()
                client.loop_stop()
            for process in processes:
                process.terminate()
                process.wait(20)
    result = {
        "crossings": args.crossings,
        "reading_to_alert_event": _stats(alert_s),
        "broker_round_trip": _stats(broker_s),
        "machine": f"{os.cpu_count()} cores",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
