"""The one place paho-mqtt is wrapped: creating clients from a broker URL.

Subscriptions are (re)made in ``on_connect`` so that they survive reconnects.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.settings import BrokerAddress

log = logging.getLogger(__name__)

KEEPALIVE_S = 30
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30
# How long the broker keeps a persistent session (and its queued messages) while the
# client is away: a week covers any outage we would rather replay than lose.
SESSION_EXPIRY_S = 7 * 24 * 3600

MessageHandler = Callable[[mqtt.MQTTMessage], None]


def make_client(
    broker_url: str,
    client_id: str,
    *,
    persistent_session: bool = False,
    manual_ack: bool = False,
    subscriptions: Sequence[str] = (),
    on_message: MessageHandler | None = None,
    qos: int = 1,
    protocol: str = "5",
    receive_maximum: int | None = None,
) -> mqtt.Client:
    """A client that connects when its loop starts; call ``loop_start()`` to run it.

    With ``persistent_session`` the broker keeps the subscription and queues QoS 1
    messages while the client is away; with ``manual_ack`` PUBACK is sent only when the
    caller acknowledges (after its commit). ``protocol`` is ``"5"`` or ``"3.1.1"``; with
    MQTT 5, ``receive_maximum`` bounds the unacknowledged messages the broker sends.
    """
    address = BrokerAddress(broker_url)
    v5 = protocol == "5"
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=None if v5 else not persistent_session,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        manual_ack=manual_ack,
    )
    # Without credentials in the URL the client id is sent as user name: amqtt (the
    # embedded broker) discards the queued messages of anonymous persistent sessions.
    client.username_pw_set(address.username or client_id, address.password)
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)

    def _on_connect(
        c: mqtt.Client, _userdata: object, _flags: object, reason: object, _props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("broker %s refused connection: %s", address, reason)
            return
        for topic in subscriptions:
            c.subscribe(topic, qos=qos)
        log.info("connected to %s as %s", address, client_id)

    def _on_message(_c: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if on_message is None:
            return
        try:
            on_message(message)
        except Exception:  # a failing handler must not stop paho's network loop
            log.exception("message handler failed for topic %s", message.topic)

    client.on_connect = _on_connect
    client.on_message = _on_message
    if v5:
        properties = Properties(PacketTypes.CONNECT)
        if persistent_session:
            properties.SessionExpiryInterval = SESSION_EXPIRY_S
        if receive_maximum:
            properties.ReceiveMaximum = receive_maximum
        client.connect_async(
            address.host,
            address.port,
            keepalive=KEEPALIVE_S,
            clean_start=not persistent_session,
            properties=properties,
        )
    else:
        client.connect_async(address.host, address.port, keepalive=KEEPALIVE_S)
    return client


def wait_for_broker(broker_url: str, timeout_s: float, protocol: str = "5") -> None:
    """Return once the broker accepts an MQTT connection; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        probe = make_client(broker_url, f"smartcity-probe-{os.getpid()}", protocol=protocol)
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
