"""The generated files on a real Mosquitto: devices over TLS only, each as itself, never
as the ingestion worker; the hub's listener for service accounts only; no anonymous
client anywhere."""

from __future__ import annotations

import json
import logging
import queue
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from ingest_mqtt.client import wait_for_broker
from ingest_mqtt.worker import IngestWorker
from settings import IngestSettings
from storage import migrations
from storage.devices import Device, register
from tests import certificates
from tests.ingest_mqtt.generated_broker import (
    BAD_CREDENTIALS,
    NOT_AUTHORIZED,
    Broker,
    Session,
    generated_broker,
)
from tests.live_ingest import wait_for
from twin.credentials import issue_device_credentials, issue_service_credentials

pytestmark = pytest.mark.integration

REFUSED = {NOT_AUTHORIZED, BAD_CREDENTIALS}
TAKEOVER_WAIT_S = 3.0
"""How long the worker is watched after a device used its id: a worker knocked off
reconnects within a second (gmqtt's reconnect delay) and would show up twice."""


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
        with generated_broker(conn, tmp_path, issued) as running:
            yield running


def _device(broker: Broker, username: str, client_id: str | None = None) -> Session:
    """A device's session on the TLS listener, trusting the test's CA."""
    password = broker.credentials[username].password
    return Session(
        broker.tls_port, username, password, ca=broker.certificates.ca, client_id=client_id
    )


@pytest.fixture
def sessions(broker: Broker) -> Iterator[dict[str, Session]]:
    """Connected sessions: the ingestion account on the hub's listener, the gauge and the
    drone on the devices' listener."""
    ingest = broker.credentials["smartcity-ingest"]
    opened = {
        "smartcity-ingest": Session(broker.hub_port, ingest.username, ingest.password),
        "gauge-01": _device(broker, "gauge-01"),
        "drone-7": _device(broker, "drone-7"),
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
    [
        ("gauge-01", "wrong-password"),
        ("other-device", "any"),
        ("ghost-device", "any"),
        (None, None),
        ("smartcity-ingest", None),
    ],
    ids=[
        "wrong-password",
        "registered-without-credentials",
        "unregistered",
        "anonymous",
        "service-account-on-devices-listener",
    ],
)
def test_the_devices_listener_refuses(
    broker: Broker, username: str | None, password: str | None
) -> None:
    if username == "smartcity-ingest":
        password = broker.credentials[username].password
    session = Session(broker.tls_port, username, password, ca=broker.certificates.ca)
    try:
        assert session.connected().value in REFUSED
    finally:
        session.close()


@pytest.mark.parametrize("who", ["anonymous", "device"])
def test_the_hub_listener_takes_service_accounts_only(broker: Broker, who: str) -> None:
    gauge = broker.credentials["gauge-01"]
    if who == "anonymous":
        session = Session(broker.hub_port, None, None)
    else:  # a device's own password, on the listener where ids are not bound
        session = Session(broker.hub_port, gauge.username, gauge.password)
    try:
        assert session.connected().value in REFUSED
    finally:
        session.close()


def test_the_devices_listener_speaks_tls_with_the_operators_certificate(
    broker: Broker, tmp_path: Path
) -> None:
    gauge = broker.credentials["gauge-01"]
    # Plain MQTT to the TLS port: no CONNACK ever comes.
    plain = Session(broker.tls_port, gauge.username, gauge.password)
    try:
        with pytest.raises(queue.Empty):
            plain.connack.get(timeout=1.0)
    finally:
        plain.close()
    # A client trusting another CA refuses the broker's certificate.
    stranger = certificates.issue(tmp_path / "stranger", ca_name="Another CA")
    with pytest.raises(ssl.SSLCertVerificationError):
        Session(broker.tls_port, gauge.username, gauge.password, ca=stranger.ca)
    # Trusting the operator's CA, with the broker's address as its name: a session.
    trusted = _device(broker, "gauge-01")
    try:
        assert trusted.connected().value == 0
    finally:
        trusted.close()


def test_a_device_using_the_workers_id_does_not_knock_it_off(
    broker: Broker, pg_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ingest_mqtt.consumer")
    settings = IngestSettings(
        topic_prefix="city", data_dir=tmp_path / "var", ingest_batch_interval_ms=50
    )
    worker = IngestWorker(settings, pg_url, broker.hub_url())
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    intruder: Session | None = None
    try:
        assert worker.subscribed.wait(10), "worker did not subscribe"
        # The gauge's password, and the worker's client id (and a persistent session).
        intruder = _device(broker, "gauge-01", client_id=settings.ingest_client_id)
        assert intruder.connected().value == 0  # admitted, as gauge-01
        time.sleep(TAKEOVER_WAIT_S)
        reading = {"time": datetime.now(UTC).isoformat(), "values": {"water_level": 312}}
        assert intruder.publish("city/devices/gauge-01/json", json.dumps(reading).encode()) == 0
        wait_for(lambda: worker.stats.stored == 1)
    finally:
        if intruder is not None:
            intruder.close()
        stop.set()
        thread.join(10)
    connected = [
        r for r in caplog.records if r.getMessage().endswith(f" as {settings.ingest_client_id}")
    ]
    assert len(connected) == 1, "the worker was disconnected and connected again"
    log = broker.log_text()
    assert "already connected" not in log, log
    assert f"as {settings.ingest_client_id}" in log
    assert "as gauge-01" in log


def test_the_hub_connects_over_tls_to_a_listener_off_loopback(pg_url: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        register(conn, [Device("gauge-01", "river_gauge", ("water_level",))])
        issued = [
            issue_device_credentials(conn, "gauge-01"),
            issue_service_credentials(conn, "ingest"),
        ]
        with generated_broker(conn, tmp_path, issued, hub_bind="0.0.0.0") as broker:
            account = broker.credentials["smartcity-ingest"]
            url = f"mqtts://{account.username}:{account.password}@127.0.0.1:{broker.hub_port}"
            settings = IngestSettings(
                mqtt_url=url,
                mqtt_ca_file=broker.certificates.ca,
                topic_prefix="city",
                data_dir=tmp_path / "var",
                ingest_batch_interval_ms=50,
            )
            # The hub's paho clients (publisher, probe) trust the CA they are given ...
            probe = settings.client_id("probe")
            wait_for_broker(url, 10, client_id=probe, ca_file=settings.mqtt_ca_file)
            # ... and without it, not the broker's certificate (the system's CAs).
            with pytest.raises(TimeoutError):
                wait_for_broker(url, 1, client_id=probe)
            # The worker (gmqtt) over TLS: what a device publishes is stored.
            worker = IngestWorker(settings, pg_url, url)
            stop = threading.Event()
            thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
            thread.start()
            device = _device(broker, "gauge-01")
            try:
                assert worker.subscribed.wait(10), "the worker did not subscribe over TLS"
                assert device.connected().value == 0
                reading = {"time": datetime.now(UTC).isoformat(), "values": {"water_level": 1}}
                topic = "city/devices/gauge-01/json"
                assert device.publish(topic, json.dumps(reading).encode()) == 0
                wait_for(lambda: worker.stats.stored == 1)
            finally:
                device.close()
                stop.set()
                thread.join(10)
