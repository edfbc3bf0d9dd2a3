"""paho-mqtt clients for publishing (the simulator; the hub's events through
:mod:`ingest_mqtt.publisher`) and probing a broker, from a broker URL.

The ingestion worker receives with gmqtt instead (:mod:`ingest_mqtt.consumer`); the
session constants below are shared with it.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from settings import BrokerAddress

log = logging.getLogger(__name__)

KEEPALIVE_S = 30
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30
# How long the broker keeps a persistent session (and its queued messages) while the
# client is away: a week covers any outage we would rather replay than lose.
SESSION_EXPIRY_S = 7 * 24 * 3600


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """What the hub's clients expect of an ``mqtts://`` broker: a certificate for its host
    name signed by ``ca_file`` (unset: the system's CAs), over TLS 1.2 or later."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def make_client(
    broker_url: str, client_id: str, *, protocol: str = "5", ca_file: Path | None = None
) -> mqtt.Client:
    """A publishing client that connects when its loop starts; call ``loop_start()``.

    ``protocol`` is ``"5"`` or ``"3.1.1"``; ``ca_file`` is trusted for ``mqtts://`` URLs.
    """
    address = BrokerAddress(broker_url)
    v5 = protocol == "5"
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    )
    # Without credentials in the URL the client id is sent as user name: amqtt (the
    # embedded broker) discards the queued messages of anonymous persistent sessions.
    client.username_pw_set(address.username or client_id, address.password)
    if address.tls:
        client.tls_set_context(tls_context(ca_file))
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)

    def _on_connect(
        _c: mqtt.Client, _userdata: object, _flags: object, reason: object, _props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("broker %s refused connection: %s", address, reason)
            return
        log.info("connected to %s as %s", address, client_id)

    client.on_connect = _on_connect
    client.connect_async(address.host, address.port, keepalive=KEEPALIVE_S)
    return client


def wait_for_broker(
    broker_url: str,
    timeout_s: float,
    protocol: str = "5",
    *,
    client_id: str,
    ca_file: Path | None = None,
) -> None:
    """Return once the broker accepts an MQTT connection; raise TimeoutError otherwise.

    The probe connects as ``client_id`` with the process id appended.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        probe = make_client(
            broker_url, f"{client_id}-{os.getpid()}", protocol=protocol, ca_file=ca_file
        )
        probe.loop_start()
        try:
            while time.monotonic() < deadline:
                if probe.is_connected():
                    return
                time.sleep(0.1)
        finally:
            probe.disconnect()
            probe.loop_stop()
        raise TimeoutError(f"broker {broker_url} did not accept a connection in {timeout_s} s")
