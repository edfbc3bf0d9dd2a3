"""The ingestion worker's MQTT side: gmqtt in its own event-loop thread, PUBACKs sent in bulk.

Why gmqtt and not paho here (paho stays for publishing): draining 100,000 queued
single-reading QoS 1 messages from one Mosquitto on the 2-core box, paho's MQTT 5
client receives about 11,000 msg/s (it builds a ``Properties`` object per PUBLISH and
reads one packet per ``select()``); gmqtt 33,000 with its own immediate acks, 18,000
with acknowledgements deferred through its public path (an ``async`` ``on_message``
per message, i.e. a task each) and 82,000 with the hook below and each batch's PUBACKs
written at once (``bench/ingest_bench.py`` records the side-by-side figures).

The hook: gmqtt hands every QoS 1 PUBLISH to its package handler's
``_handle_qos_1_publish_packet``, which acknowledges it. We replace that one method on
the client's handler so the message is passed on *unacknowledged*; :meth:`Consumer.ack`
later writes the PUBACKs of a committed batch in one write. gmqtt is pinned to a minor
version for this, and every test with a real broker goes through it.

An acknowledgement belongs to the network connection its message came on: after a
reconnect the broker resends what was not acknowledged, with the same packet ids, so
acks for messages of an earlier connection are dropped — the resent copies are stored
again (writes are idempotent) and acknowledged on their own connection. Acking an old
id on the new connection could otherwise acknowledge a different message that the
broker has since sent under the recycled id.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import MQTTCommands, MQTTv50, MQTTv311
from gmqtt.mqtt.package import CommandWithMidPacket

from ingest_mqtt.client import KEEPALIVE_S, RECONNECT_MIN_S, SESSION_EXPIRY_S, tls_context
from ingest_mqtt.decode import Incoming
from settings import BrokerAddress

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


class Consumer:
    """A persistent-session QoS 1 subscriber whose messages are acknowledged by the caller.

    ``on_message`` runs on the consumer's event-loop thread and must only hand the
    message over (e.g. put it on a queue). ``ack`` may be called from any thread.
    """

    def __init__(
        self,
        broker_url: str,
        client_id: str,
        filters: Sequence[str],
        on_message: Callable[[Incoming], None],
        *,
        protocol: str = "5",
        receive_maximum: int | None = None,
        ca_file: Path | None = None,
    ) -> None:
        """``ca_file``: the CA trusted for an ``mqtts://`` broker (unset: the system's)."""
        self.address = BrokerAddress(broker_url)
        self.ca_file = ca_file
        self.client_id = client_id
        self.filters = list(filters)
        self.on_message = on_message
        self.version = MQTTv50 if protocol == "5" else MQTTv311
        self.receive_maximum = receive_maximum
        self.subscribed = threading.Event()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._client: gmqtt.Client | None = None
        self._thread = threading.Thread(target=self._run, name=f"mqtt-{client_id}", daemon=True)

    # -- called from the worker's thread ---------------------------------------------

    def start(self) -> None:
        """Start the network thread; it connects (retrying) and subscribes on its own."""
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("MQTT consumer thread did not start")

    def ack(self, messages: Sequence[Incoming]) -> None:
        """Acknowledge ``messages`` (those received with QoS 1 on the current connection)."""
        tokens = [(m.mid, m.connection) for m in messages if m.qos == 1]
        if tokens and self._loop is not None:
            self._loop.call_soon_threadsafe(self._send_pubacks, tokens)

    def stop(self) -> None:
        """Send what acks are queued, disconnect (the session stays) and end the thread."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(STOP_TIMEOUT_S)

    # -- the event-loop thread ---------------------------------------------------------

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        client = self._make_client()
        self._client = client
        self._ready.set()
        if not await self._connect(client):
            return
        await self._stopping.wait()
        await client.disconnect()

    def _make_client(self) -> gmqtt.Client:
        v5 = self.version == MQTTv50
        properties: dict[str, Any] = {}
        if v5:
            properties["session_expiry_interval"] = SESSION_EXPIRY_S
            if self.receive_maximum:
                properties["receive_maximum"] = self.receive_maximum
        client = gmqtt.Client(self.client_id, clean_session=False, **properties)
        # As in ingest_mqtt.client: the client id doubles as user name (amqtt needs one).
        client.set_auth_credentials(self.address.username or self.client_id, self.address.password)
        client.reconnect_delay = RECONNECT_MIN_S
        client.on_connect = self._on_connect
        client.on_subscribe = lambda *_args: self.subscribed.set()
        client.on_message = self._on_qos0
        handler = client._package_handler
        if not callable(getattr(handler, "_handle_qos_1_publish_packet", None)):
            raise RuntimeError(
                f"gmqtt {gmqtt.__version__} no longer dispatches QoS 1 messages through"
                " _handle_qos_1_publish_packet: update ingest_mqtt/consumer.py"
            )
        handler._handle_qos_1_publish_packet = self._on_qos1
        return client

    async def _connect(self, client: gmqtt.Client) -> bool:
        """Connect, retrying every second until it works or the consumer is stopped."""
        assert self._stopping is not None
        while not self._stopping.is_set():
            try:
                await client.connect(
                    self.address.host,
                    self.address.port,
                    ssl=tls_context(self.ca_file) if self.address.tls else False,
                    keepalive=KEEPALIVE_S,
                    version=self.version,
                )
                return True
            except Exception as exc:  # refused, unreachable, bad credentials: say and retry
                log.warning("broker %s: %s; retrying", self.address, exc or type(exc).__name__)
            try:
                await asyncio.wait_for(self._stopping.wait(), RECONNECT_MIN_S)
            except TimeoutError:
                pass
        return False

    def _on_connect(
        self, client: gmqtt.Client, _flags: object, _rc: object, _props: object
    ) -> None:
        for topic in self.filters:
            client.subscribe(topic, qos=1)
        log.info("connected to %s as %s", self.address, self.client_id)

    def _hand_over(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        assert self._client is not None
        message = Incoming(
            topic, payload, mid, qos, datetime.now(UTC), connection=self._client._connection
        )
        try:
            self.on_message(message)
        except Exception:  # a failing handler must not stop the network loop
            log.exception("message handler failed for topic %s", topic)

    def _on_qos1(self, mid: int, payload: bytes, topic: str, _properties: object) -> None:
        self._hand_over(topic, payload, mid, 1)

    def _on_qos0(
        self, _client: gmqtt.Client, topic: str, payload: bytes, _qos: int, _props: object
    ) -> None:
        self._hand_over(topic, payload, 0, 0)

    def _send_pubacks(self, tokens: list[tuple[int, object]]) -> None:
        client = self._client
        if client is None or not client.is_connected:
            return  # the broker resends them on the next connection
        connection = client._connection
        packets = b"".join(
            CommandWithMidPacket.build_package(
                MQTTCommands.PUBACK, mid, False, proto_ver=self.version
            )
            for mid, received_on in tokens
            if received_on is connection
        )
        if packets:
            connection.send_package(packets)
