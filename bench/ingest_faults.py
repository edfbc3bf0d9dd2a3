"""Fault runs for ingestion: every accepted reading stored exactly once, counted in the database.

Run from the repository root (the Mosquitto binary installed; PostgreSQL is the
embedded one, so that it can be stopped):

    .venv/bin/python bench/ingest_faults.py --messages 100000 --outage-s 30

Three scenarios, each with a fresh embedded PostgreSQL, a private Mosquitto with
persistence and ``smartcity ingest`` as a real process, fed single-reading QoS 1
messages by a paho publisher (a reading is *accepted* once the broker acknowledged
its PUBLISH; the publisher resends what was in flight across a broker restart):

- ``kill``: ``kill -9`` of the worker once a quarter of the stream is stored, then a
  restart;
- ``database``: PostgreSQL stopped for ``--outage-s`` seconds in the middle of a paced
  stream (the worker spools to disk and replays in order);
- ``broker``: Mosquitto stopped (it saves its persistence file) and started again on
  the same port in the middle of a paced stream.

``tests/ingest_mqtt/test_broker_restart.py`` runs the broker scenario with a small stream
in CI; ``tests/test_ingest_kill.py`` and ``tests/test_ingest_faults.py`` cover the others.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.broker import free_port, port_answers  # noqa: E402
from storage import devices, migrations  # noqa: E402
from storage.embedded import EmbeddedPostgres  # noqa: E402

DEVICES = 50
WAIT_S = 300.0
BASE = datetime(2026, 2, 1, tzinfo=UTC)
# ``user``: started as root, Mosquitto would switch to the ``mosquitto`` user, which
# cannot write its persistence file into our (root-owned) work directory.
MOSQUITTO_CONF = """listener {port} 127.0.0.1
user {user}
allow_anonymous true
max_queued_messages 0
max_inflight_messages 0
persistence true
persistence_location {dir}/
"""


class Broker:
    """A private Mosquitto with persistence that can be restarted on the same port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
        if binary is None:
            raise RuntimeError("mosquitto is not installed")
        self.binary = binary
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            MOSQUITTO_CONF.format(port=self.port, dir=workdir, user=getpass.getuser())
        )
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: port_answers("127.0.0.1", self.port), "mosquitto to listen", 10)

    def stop(self) -> None:
        """SIGTERM: Mosquitto writes its persistence file and exits."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            self.proc = None


@dataclass
class Stream:
    """A paced QoS 1 publisher in a thread; ``accepted`` counts the broker's PUBACKs."""

    port: int
    messages: int
    rate: float | None
    accepted: int = 0
    published: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _window: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(20_000))
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def join(self) -> None:
        assert self._thread is not None
        self._thread.join(WAIT_S)

    def _on_publish(self, *_args: object) -> None:
        with self._lock:
            self.accepted += 1
        self._window.release()

    def _run(self) -> None:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"fault-pub-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv5,
        )
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(0.2, 2)
        client.on_publish = self._on_publish
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        client.connect("127.0.0.1", self.port, clean_start=False, properties=props)
        client.loop_start()
        started = time.perf_counter()
        for i in range(self.messages):
            if self.rate:
                ahead = i / self.rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
            self._window.acquire()  # at most 20,000 unacknowledged in paho's queue
            stamp = (BASE + timedelta(seconds=i)).isoformat()
            client.publish(
                f"city/devices/g{i % DEVICES}/json",
                b'{"time": "%s", "values": {"water_level": %d}}' % (stamp.encode(), i % 700),
                qos=1,
            )
            self.published += 1
        _wait(lambda: self.accepted >= self.messages, "the broker to accept every message")
        client.disconnect()
        client.loop_stop()


def _wait(predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def count(url: str) -> int:
    """Stored readings; 0 while the database is unreachable."""
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])  # type: ignore[index]
    except psycopg.OperationalError:
        return 0


@dataclass
class Rig:
    """What a scenario runs against."""

    workdir: Path
    database: EmbeddedPostgres
    broker: Broker
    env: dict[str, str]
    worker: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.database.url

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "hub", "ingest"],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "worker.log").open("ab"),
        )

    def stop_worker(self, sig: int = signal.SIGTERM) -> None:
        if self.worker is not None:
            self.worker.send_signal(sig)
            self.worker.wait(60)
            self.worker = None


@contextmanager
def rig(workdir: Path) -> Iterator[Rig]:
    """Embedded PostgreSQL with the demo's schema and 50 gauges, a broker, a worker."""
    database = EmbeddedPostgres(workdir / "pg")
    broker = Broker(workdir)
    client_id = f"fault-{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCITY_")}
    env |= {
        "SMARTCITY_DATABASE_URL": database.url,
        "SMARTCITY_MQTT_URL": broker.url,
        "SMARTCITY_DATA_DIR": str(workdir),
        "SMARTCITY_INGEST_SHARED_GROUP": "",
        "SMARTCITY_INGEST_CLIENT_ID": client_id,
    }
    with psycopg.connect(database.url) as conn:
        migrations.upgrade(conn)
        devices.register(
            conn,
            [devices.Device(f"g{i}", "river_gauge", ("water_level",)) for i in range(DEVICES)],
        )
    current = Rig(workdir, database, broker, env)
    try:
        current.start_worker()
        key = f"ingest_subscribed:{client_id}"
        with psycopg.connect(database.url, autocommit=True) as conn:
            _wait(
                lambda: (
                    conn.execute("SELECT 1 FROM hub_meta WHERE key = %s", (key,)).fetchone()
                    is not None
                ),
                "the worker to subscribe",
                60,
            )
        yield current
    finally:
        current.stop_worker()
        broker.stop()
        current.database.stop()


def _settle(url: str, target: int, quiet_s: float = 10.0) -> int:
    """The stored count once it reaches ``target`` or stops growing for ``quiet_s``."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        stored = count(url)
        if stored >= target:
            time.sleep(2)  # redeliveries still in flight must not add rows
            return count(url)
        if stored != last:
            last, since = stored, time.monotonic()
        elif time.monotonic() - since > quiet_s:
            return stored
        time.sleep(0.2)
    return count(url)


def missing(url: str, messages: int) -> list[int]:
    """Which of the stream's messages (by index) have no stored reading."""
    with psycopg.connect(url) as conn:
        stored = {
            round((t - BASE).total_seconds()) for (t,) in conn.execute("SELECT time FROM readings")
        }
    return sorted(set(range(messages)) - stored)


def _finish(r: Rig, stream: Stream, started: float) -> dict[str, object]:
    """Wait for every accepted reading (or until nothing more arrives) and count."""
    stream.join()
    stored = _settle(r.url, stream.accepted)
    lost = missing(r.url, stream.messages) if stored < stream.accepted else []
    return {
        "messages": stream.messages,
        "accepted": stream.accepted,
        "stored": stored,
        "exactly_once": stored == stream.accepted == stream.messages,
        "lost": len(lost),
        "lost_range": [lost[0], lost[-1]] if lost else None,
        "seconds": round(time.perf_counter() - started, 1),
    }


def kill_worker(workdir: Path, messages: int) -> dict[str, object]:
    """kill -9 the worker once a quarter of the stream is stored, then restart it."""
    with rig(workdir) as r:
        started = time.perf_counter()
        stream = Stream(r.broker.port, messages, None)
        stream.start()
        _wait(lambda: count(r.url) >= messages // 4, "a quarter of the stream")
        killed_at = count(r.url)
        r.stop_worker(signal.SIGKILL)
        r.start_worker()
        return {"scenario": "kill -9", "killed_at_rows": killed_at} | _finish(r, stream, started)


def database_outage(
    workdir: Path, messages: int, rate: float, outage_s: float
) -> dict[str, object]:
    """Stop PostgreSQL for ``outage_s`` in the middle of a stream at ``rate`` msg/s."""
    with rig(workdir) as r:
        started = time.perf_counter()
        stream = Stream(r.broker.port, messages, rate)
        stream.start()
        lead = max(0.0, (messages / rate - outage_s) / 2)
        time.sleep(lead)
        stopped_at = count(r.url)
        r.database.stop()
        time.sleep(outage_s)
        r.database = EmbeddedPostgres(workdir / "pg")
        result = _finish(r, stream, started)
        spooled = [p for p in (workdir / "spool").rglob("*") if p.is_file()]
        return {
            "scenario": f"PostgreSQL stopped {outage_s:g} s",
            "stopped_at_rows": stopped_at,
            "published_during_outage": min(messages, int(outage_s * rate)),
            "spool_files_left": len(spooled),
        } | result


def broker_restart(workdir: Path, messages: int, rate: float) -> dict[str, object]:
    """Stop Mosquitto (persistence on) in the middle of a stream and start it again."""
    with rig(workdir) as r:
        started = time.perf_counter()
        stream = Stream(r.broker.port, messages, rate)
        stream.start()
        time.sleep(messages / rate / 2)
        stopped_at = count(r.url)
        r.broker.stop()
        published_at_stop = stream.published  # later ones wait in the publisher
        time.sleep(2)
        r.broker.start()
        return {
            "scenario": "Mosquitto restarted",
            "stopped_at_rows": stopped_at,
            "published_at_stop": published_at_stop,
        } | _finish(r, stream, started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=2_000, help="msg/s of the paced streams")
    parser.add_argument("--outage-s", type=float, default=30)
    parser.add_argument("--only", nargs="*", default=["kill", "database", "broker"])
    args = parser.parse_args()
    results = []
    for name in args.only:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            if name == "kill":
                result = kill_worker(workdir, args.messages)
            elif name == "database":
                result = database_outage(workdir, args.messages, args.rate, args.outage_s)
            else:
                result = broker_restart(workdir, args.messages, args.rate)
        print(json.dumps(result), flush=True)
        results.append(result)
    if not all(r["exactly_once"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
