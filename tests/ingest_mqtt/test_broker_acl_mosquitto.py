"""The generated files on a real Mosquitto: a device publishes only as itself."""

from __future__ import annotations

import getpass
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from hub.broker import free_port, port_answers
from ingest_mqtt.broker_acl import ListenerOptions, write_broker_files
from storage import migrations
from storage.devices import Device, register
from twin.credentials import (
    IssuedCredentials,
    issue_device_credentials,
    issue_service_credentials,
)

pytestmark = pytest.mark.integration

IN_CI = os.environ.get("CI") == "true"
START_TIMEOUT_S = 10.0
WAIT_S = 5.0
NOT_AUTHORIZED = 0x87
BAD_CREDENTIALS = 0x86


def _missing(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"Mosquitto required in CI: {reason}")
    pytest.skip(reason)


@dataclass
class Broker:
    """A running Mosquitto and the credentials issued for the test."""

    port: int
    credentials: dict[str, IssuedCredentials] = field(default_factory=dict)


def _start_mosquitto(conf: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/bin")
    if binary is None:
        _missing("mosquitto is not installed")
    with log.open("wb") as sink:
        process = subprocess.Popen([binary, "-c", str(conf)], stdout=sink, stderr=sink)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not port_answers("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            _missing(f"mosquitto -c {conf} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    return process


@pytest.fixture
def broker(pg_url: str, tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto with files generated from a registry of three devices, two with passwords."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        register(
            conn,
            [
                Device("gauge-01", "river_gauge", ("water_level",)),
                Device("other-device", "river_gauge", ("water_level",)),
                Device("drone-7", "drone", ("water_surface_level",)),
            ],
        )
        issued = [
            issue_device_credentials(conn, "gauge-01"),
            issue_device_credentials(conn, "drone-7"),
            issue_service_credentials(conn, "ingest"),
        ]
        port = free_port()
        # Started as root, Mosquitto would switch to its own user, which cannot read
        # pytest's private temporary directory.
        run_as = getpass.getuser() if os.geteuid() == 0 else None
        options = ListenerOptions(port=port, run_as=run_as, persistence_dir=tmp_path / "data")
        files = write_broker_files(conn, tmp_path / "broker", "city", options)
    process = _start_mosquitto(files.conf, port, tmp_path / "mosquitto.log")
    try:
        yield Broker(port, {c.username: c for c in issued})
    finally:
        process.terminate()
        process.wait(timeout=10)


class Session:
    """An MQTT v5 client whose CONNACK, SUBACK, PUBACK and messages the test can await."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.connack: queue.Queue[ReasonCode] = queue.Queue()
        self.acks: dict[int, ReasonCode | list[ReasonCode]] = {}
        self.acked = threading.Condition()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"test-{username}-{time.monotonic_ns()}",
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(username, password)
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connack.put(rc)
        self.client.on_publish = lambda _c, _u, mid, rc, _p: self._ack(mid, rc)
        self.client.on_subscribe = lambda _c, _u, mid, rcs, _p: self._ack(mid, list(rcs))
        self.client.on_message = lambda _c, _u, message: self.messages.put(message)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _ack(self, mid: int, reason: ReasonCode | list[ReasonCode]) -> None:
        with self.acked:
            self.acks[mid] = reason
            self.acked.notify_all()

    def _await_ack(self, mid: int) -> ReasonCode | list[ReasonCode]:
        with self.acked:
            assert self.acked.wait_for(lambda: mid in self.acks, WAIT_S), f"no ack for {mid}"
            return self.acks[mid]

    def connected(self) -> ReasonCode:
        """The CONNACK reason code."""
        return self.connack.get(timeout=WAIT_S)

    def subscribe(self, *filters: str) -> list[int]:
        """Subscribe at QoS 1; return the SUBACK reason codes."""
        _, mid = self.client.subscribe([(f, 1) for f in filters])
        assert mid is not None
        granted = self._await_ack(mid)
        assert isinstance(granted, list)
        return [rc.value for rc in granted]

    def publish(self, topic: str, payload: bytes) -> int:
        """Publish at QoS 1; return the PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1)
        reason = self._await_ack(info.mid)
        assert isinstance(reason, ReasonCode)
        return reason.value

    def received(self, count: int = 1) -> list[tuple[str, bytes]]:
        """The next ``count`` messages, in arrival order, each waited for."""
        messages = [self.messages.get(timeout=WAIT_S) for _ in range(count)]
        return [(m.topic, bytes(m.payload)) for m in messages]

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def sessions(broker: Broker) -> Iterator[dict[str, Session]]:
    """Connected sessions of the ingestion account, the gauge and the drone."""
    opened = {
        username: Session(broker.port, username, issued.password)
        for username, issued in broker.credentials.items()
    }
    try:
        for session in opened.values():
            assert session.connected().value == 0
        yield opened
    finally:
        for session in opened.values():
            session.close()


def test_a_device_publishes_as_itself_only(sessions: dict[str, Session]) -> None:
    ingest, gauge = sessions["smartcity-ingest"], sessions["gauge-01"]
    assert ingest.subscribe("city/devices/+/+", "city/drones/+/+") == [1, 1]

    assert gauge.publish("city/devices/gauge-01/json", b"own") == 0
    assert ingest.received() == [("city/devices/gauge-01/json", b"own")]

    assert gauge.publish("city/devices/other-device/json", b"spoof") == NOT_AUTHORIZED
    assert gauge.publish("city/drones/gauge-01/json", b"not a drone") == NOT_AUTHORIZED
    # Mosquitto handles one client's publications in order: once the marker arrives,
    # the refused messages would have arrived before it.
    assert gauge.publish("city/devices/gauge-01/json", b"marker") == 0
    assert ingest.received() == [("city/devices/gauge-01/json", b"marker")]


def test_a_drone_publishes_under_drones(sessions: dict[str, Session]) -> None:
    ingest, drone = sessions["smartcity-ingest"], sessions["drone-7"]
    assert ingest.subscribe("city/drones/+/+") == [1]
    assert drone.publish("city/drones/drone-7/json", b"track") == 0
    assert ingest.received() == [("city/drones/drone-7/json", b"track")]
    assert drone.publish("city/drones/gauge-01/json", b"spoof") == NOT_AUTHORIZED


def test_devices_read_nothing_and_the_service_writes_only_events(
    sessions: dict[str, Session],
) -> None:
    ingest, gauge, drone = (sessions[n] for n in ("smartcity-ingest", "gauge-01", "drone-7"))
    # Mosquitto 2.0 grants the subscription but checks each delivery against the ACL.
    gauge.subscribe("city/#")
    ingest.subscribe("city/#")
    assert ingest.publish("city/devices/gauge-01/json", b"forged") == NOT_AUTHORIZED
    # Events are written, not read back: the service's own event must not arrive either.
    assert ingest.publish("city/events/flood", b"warning") == 0
    assert drone.publish("city/devices/drone-7/json", b"status") == 0
    assert ingest.received() == [("city/devices/drone-7/json", b"status")]
    with pytest.raises(queue.Empty):
        gauge.messages.get(timeout=0.5)


@pytest.mark.parametrize(
    ("username", "password"),
    [("gauge-01", "wrong-password"), ("other-device", "any"), ("ghost-device", "any")],
    ids=["wrong-password", "registered-without-credentials", "unregistered"],
)
def test_connect_is_refused(broker: Broker, username: str, password: str) -> None:
    session = Session(broker.port, username, password)
    try:
        assert session.connected().value in {NOT_AUTHORIZED, BAD_CREDENTIALS}
    finally:
        session.close()
