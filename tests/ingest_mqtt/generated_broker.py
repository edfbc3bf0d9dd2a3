"""A real Mosquitto started on the files ``smartcity devices broker-acl`` generates, with
a CA and server certificate made for the test, and MQTT v5 sessions to talk to it."""

from __future__ import annotations

import contextlib
import os
import pwd
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
from ingest_mqtt.broker_acl import ListenerOptions, TlsFiles, write_broker_files
from tests import certificates
from twin.credentials import IssuedCredentials

IN_CI = os.environ.get("CI") == "true"
START_TIMEOUT_S = 10.0
WAIT_S = 5.0
NOT_AUTHORIZED = 0x87
BAD_CREDENTIALS = 0x86


def missing(reason: str) -> NoReturn:
    """Skip for want of Mosquitto, except in CI, where it must be there."""
    if IN_CI:
        pytest.fail(f"Mosquitto required in CI: {reason}")
    pytest.skip(reason)


@dataclass
class Broker:
    """A running Mosquitto: its two listeners, the CA its certificate comes from, the
    credentials issued for the test and its log."""

    hub_port: int
    tls_port: int
    certificates: certificates.ServerCertificates
    files_dir: Path
    options: ListenerOptions
    log: Path
    process: subprocess.Popen[bytes]
    credentials: dict[str, IssuedCredentials] = field(default_factory=dict)

    def hub_url(self, username: str = "smartcity-ingest") -> str:
        """The hub listener's URL with a service account's credentials in it."""
        password = self.credentials[username].password
        return f"mqtt://{username}:{password}@127.0.0.1:{self.hub_port}"

    def log_text(self) -> str:
        """What the broker logged so far."""
        return self.log.read_text(errors="replace")


def _start(conf: Path, ports: tuple[int, ...], log: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/bin")
    if binary is None:
        missing("mosquitto is not installed")
    with log.open("wb") as sink:
        process = subprocess.Popen([binary, "-c", str(conf)], stdout=sink, stderr=sink)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not all(port_answers("127.0.0.1", port) for port in ports):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"mosquitto -c {conf} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    return process


@contextlib.contextmanager
def generated_broker(
    conn: psycopg.Connection,
    directory: Path,
    issued: list[IssuedCredentials],
    *,
    run_as: str | None = None,
    hub_bind: str = "127.0.0.1",
) -> Iterator[Broker]:
    """Mosquitto on the files generated from ``conn``'s registry into ``directory``.

    ``run_as`` None: the current user, so that a broker started as root can still read
    pytest's private temporary directory after switching users. ``hub_bind`` other than
    loopback makes the hub's listener speak TLS too.
    """
    certs = certificates.issue(directory / "tls")
    user = pwd.getpwnam(run_as) if run_as else pwd.getpwuid(os.geteuid())
    if os.geteuid() == 0:  # as the operator does (docs/mqtt.md): the broker's user reads them
        for path in (certs.cert, certs.key):
            os.chown(path, user.pw_uid, user.pw_gid)
    hub_port, tls_port = free_port(), free_port()
    options = ListenerOptions(
        port=hub_port,
        bind=hub_bind,
        tls_port=tls_port,
        tls_bind="127.0.0.1",
        tls=TlsFiles(certs.cert, certs.key),
        run_as=user.pw_name,
        persistence_dir=directory / "data",
    )
    files = write_broker_files(conn, directory / "broker", "city", options)
    log = directory / "mosquitto.log"
    process = _start(files.conf, (tls_port, hub_port), log)
    credentials = {c.username: c for c in issued}
    try:
        yield Broker(
            hub_port, tls_port, certs, files.conf.parent, options, log, process, credentials
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


class Session:
    """An MQTT v5 client whose CONNACK, SUBACK, PUBACK and messages the test can await;
    over TLS, trusting ``ca``, when one is given."""

    def __init__(
        self,
        port: int,
        username: str | None,
        password: str | None,
        *,
        ca: Path | None = None,
        client_id: str | None = None,
    ) -> None:
        self.connack: queue.Queue[ReasonCode] = queue.Queue()
        self.acks: dict[int, ReasonCode | list[ReasonCode]] = {}
        self.acked = threading.Condition()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.disconnects: queue.Queue[ReasonCode] = queue.Queue()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{username}-{time.monotonic_ns()}",
            protocol=mqtt.MQTTv5,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connack.put(rc)
        self.client.on_disconnect = lambda _c, _u, _f, rc, _p: self.disconnects.put(rc)
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
