"""What the benchmarks share: the town at scale, the servers around it, and the load.

- :func:`add_assets`: a twin of N generated assets with devices and hourly readings
  (``twin_bench.py``, ``load_test.py``);
- :func:`load_town`: the demo town generated at a given number of parcels (terrain,
  layers, twin), loaded as ``smartcity demo-data`` loads it (``load_test.py``);
- :func:`start_mosquitto`, :func:`mqtt_client`, :func:`start_workers`, :func:`stop`:
  a private, tuned Mosquitto and ingestion workers (``ingest_bench.py``,
  ``load_test.py``);
- :func:`paced_readings`: a publisher of SenML packs at a steady rate of readings;
- :func:`api_server`: ``smartcity serve`` (``--workers N``) as its own process, and
  :func:`process_tree` for its memory and CPU.

Benchmarks import this module, never the tests (nor the tests the benchmarks).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
import psycopg
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.live import serve_env  # noqa: E402
from hub.broker import free_port, port_answers  # noqa: E402
from storage import migrations  # noqa: E402
from storage.partitions import PartitionKeeper  # noqa: E402

PREFIX = "city"
RECEIVE_MAXIMUM = 10_000

# --- the twin at scale -------------------------------------------------------------

_TWIN = """
INSERT INTO assets (asset_id, name, kind, lon, lat, properties)
SELECT 'a' || g, 'Asset ' || g,
       CASE WHEN g %% 4 = 0 THEN 'parking_lot' WHEN g %% 4 = 1 THEN 'air_quality_station'
            WHEN g %% 10 = 2 THEN 'river_gauge' ELSE 'school' END,
       24.80 + (g %% 100) * 0.001, 43.70 + (g / 100) * 0.001,
       jsonb_build_object('capacity', 50 + g %% 200)
FROM generate_series(0, %(n)s - 1) g;

INSERT INTO devices (device_id, kind, asset_id, quantities)
SELECT 'd' || asset_id,
       CASE kind WHEN 'parking_lot' THEN 'parking_counter' WHEN 'river_gauge' THEN 'river_gauge'
                 ELSE 'air_quality' END,
       asset_id,
       CASE kind WHEN 'parking_lot' THEN ARRAY['occupied_spaces']
                 WHEN 'river_gauge' THEN ARRAY['water_level']
                 ELSE ARRAY['pm25', 'pm10', 'no2', 'o3'] END
FROM assets WHERE kind <> 'school' AND asset_id ~ '^a[0-9]+$';

INSERT INTO asset_places (asset_id, zone_feature_id, zone_code, zone_name)
SELECT asset_id, 1 + abs(hashtext(asset_id)) %% 12, 'Z' || (1 + abs(hashtext(asset_id)) %% 12),
       'Zone ' || (1 + abs(hashtext(asset_id)) %% 12)
FROM assets WHERE asset_id ~ '^a[0-9]+$';

INSERT INTO readings (device_id, quantity, time, value)
SELECT d.device_id, q, %(end)s - h * interval '1 hour', 10 + (h * 7 + length(d.device_id)) %% 40
FROM devices d, unnest(d.quantities) q, generate_series(0, %(hours)s - 1) h
WHERE d.device_id ~ '^da[0-9]+$';

INSERT INTO latest_readings (device_id, quantity, time, value)
SELECT DISTINCT ON (device_id, quantity) device_id, quantity, time, value
FROM readings WHERE device_id ~ '^da[0-9]+$' ORDER BY device_id, quantity, time DESC
ON CONFLICT (device_id, quantity) DO NOTHING;
"""
"""Assets ``a0`` ... (a quarter parking lots with a counter, a quarter air-quality
stations with four pollutants, a tenth gauges, the rest without sensors), their devices
``da0`` ..., a zone each and hourly readings of every quantity up to ``end``."""


def add_assets(url: str, assets: int, hours: int, end: datetime) -> dict[str, int]:
    """Add :data:`_TWIN`'s assets, devices and readings; return the tables' row counts."""
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        PartitionKeeper().ensure_for(conn, [end - timedelta(hours=h) for h in range(hours + 1)])
        for statement in _TWIN.split(";\n\n"):
            conn.execute(statement, {"n": assets, "hours": hours, "end": end})
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        return {
            table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in ("assets", "devices", "readings", "latest_readings")
        }


def load_town(url: str, workdir: Path, parcels: int, seed: int = 42) -> None:
    """The demo town with about ``parcels`` parcels (terrain, layers, twin), loaded as
    ``smartcity demo-data`` does."""
    from hub.demo_data import load_demo_town

    load_demo_town(url, workdir, seed, parcels=parcels)


# --- MQTT and ingestion ------------------------------------------------------------

# Mosquitto tuned for a consumer that acknowledges in batches: no cap on queued
# messages (the default 1000 drops the rest for a slow QoS 1 subscriber), no cap on
# in-flight messages for 3.1.1 clients (MQTT 5 clients set their Receive Maximum).
MOSQUITTO_CONF = """
listener {port} 127.0.0.1
allow_anonymous true
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 0
persistence false
set_tcp_nodelay true
"""


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A private Mosquitto (:data:`MOSQUITTO_CONF`) on a free port: the process, its port."""
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(MOSQUITTO_CONF.format(port=port))
    proc = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while not port_answers("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise RuntimeError("mosquitto did not start")
        time.sleep(0.05)
    return proc, port


def mqtt_client(
    port: int, client_id: str, *, persistent: bool = False, inflight: int = 20
) -> mqtt.Client:
    """A connected paho MQTT 5 client (not yet looping)."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(inflight)
    props = Properties(PacketTypes.CONNECT)
    props.ReceiveMaximum = RECEIVE_MAXIMUM
    if persistent:
        props.SessionExpiryInterval = 3600
    c.connect("127.0.0.1", port, clean_start=not persistent, properties=props)
    return c


def worker_env(port: int, url: str, workdir: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of an ingestion worker on ``url`` and the broker at ``port``."""
    return {
        **os.environ,
        "SMARTCITY_DATABASE_URL": url,
        "SMARTCITY_MQTT_URL": f"mqtt://127.0.0.1:{port}",
        "SMARTCITY_DATA_DIR": str(workdir),
        **extra,
    }


def start_workers(
    port: int, url: str, workdir: Path, n: int, extra: dict[str, str]
) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    """Start ``n`` workers, each with a metrics endpoint; return them and its ports."""
    env = worker_env(port, url, workdir, extra)
    metrics_ports = [free_port() for _ in range(n)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hub", "ingest"] + (["--worker", str(k)] if n > 1 else []),
            env={**env, "SMARTCITY_INGEST_METRICS_PORT": str(metrics_ports[k])},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        for k in range(n)
    ]
    return procs, metrics_ports


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the processes and wait for them; one still running after 30 s (a
    server whose requests do not end: seen when a helper of it was stopped) is killed,
    so that a run's results are still printed."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def paced_readings(
    port: int, devices: list[tuple[str, tuple[str, ...]]], rate: float, seconds: float
) -> int:
    """Publish compact JSON messages of the devices' current values (each device's
    quantities in one message, devices in turn) at ``rate`` readings/s for ``seconds``;
    return the number of readings published. Values wander so that assets change state."""
    c = mqtt_client(port, f"load-{uuid.uuid4().hex[:6]}", inflight=2000)
    c.loop_start()
    start = time.perf_counter()
    sent = 0
    k = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = int(elapsed * rate)
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        while sent < due:
            device, quantities = devices[k % len(devices)]
            values = ",".join(f'"{q}":{10 + (k * 7 + j) % 40}' for j, q in enumerate(quantities))
            payload = f'{{"time":"{stamp}","values":{{{values}}}}}'
            c.publish(f"{PREFIX}/devices/{device}/json", payload.encode(), qos=1)
            sent += len(quantities)
            k += 1
        time.sleep(0.005)
    c.disconnect()
    c.loop_stop()
    return sent


# --- the API -----------------------------------------------------------------------


@contextmanager
def api_server(
    database_url: str, workers: int = 1, extra: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``smartcity serve --workers N`` on a free loopback port: its base URL and process."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--workers", str(workers)],
        env=serve_env(database_url, port) | (extra or {}),
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not port_answers("127.0.0.1", port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", server
    finally:
        stop([server])


def process_tree(pid: int) -> list[psutil.Process]:
    """A process and its descendants (an API's supervisor and workers)."""
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def cpu_seconds(pid: int) -> float:
    """CPU time a process and its descendants have used so far, seconds."""
    total = 0.0
    for proc in process_tree(pid):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its descendants, MiB."""
    total = 0
    for proc in process_tree(pid):
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20
