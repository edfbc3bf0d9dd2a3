"""Deliver the river events owed in the outbox: MQTT and signed webhooks, at least once.

Each channel (MQTT, each webhook) receives its events in order: only its oldest
undelivered event is tried, and a failure holds the rest back until a retry succeeds,
with exponential backoff (``retry_base_s`` doubling up to ``retry_max_s``) for as long
as the receiver is down. A delivery that succeeded but whose success was not recorded
(a crash in between) is repeated: receivers deduplicate on the event's ``id``, sent as
``webhook-id`` (Standard Webhooks, HMAC-SHA256 signature in ``webhook-signature``) and
inside every payload.

MQTT events go to ``{prefix}/events/river/{gauge_id}/{kind}`` at QoS 1; a delivery
counts once the broker acknowledged it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
from psycopg import AsyncConnection
from standardwebhooks import Webhook as Signer

from river_monitor import alerts
from river_monitor.config import RiverConfig, Webhook
from storage.database import reconnecting

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """A channel did not take an event; the message says why."""


@dataclass(frozen=True)
class Backoff:
    """Delay before the next attempt after ``attempts`` failures."""

    base_s: float = 1.0
    max_s: float = 60.0

    def delay(self, attempts: int) -> timedelta:
        """``base_s`` doubled per failure, at most ``max_s``."""
        return timedelta(seconds=min(self.max_s, self.base_s * 2 ** max(attempts - 1, 0)))


def mqtt_topic(prefix: str, document: dict[str, Any]) -> str:
    """Where an event is published."""
    return f"{prefix}/events/river/{document['gauge_id']}/{document['kind']}"


def signed_headers(webhook: Webhook, document_id: str, body: str, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers for one delivery attempt."""
    signer = Signer(webhook.secret.get_secret_value())
    return {
        "content-type": "application/json",
        "webhook-id": document_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(document_id, now, body),
    }


class Dispatcher:
    """Delivers the outbox; runs until stopped."""

    def __init__(
        self,
        database_url: str,
        config: RiverConfig,
        publisher: mqtt.Client,
        topic_prefix: str,
        *,
        backoff: Backoff | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self._url = database_url
        self._webhooks = {alerts.webhook_channel(w.name): w for w in config.webhooks}
        self._mqtt = publisher
        self._prefix = topic_prefix
        self._backoff = backoff or Backoff()
        self._timeout_s = timeout_s

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver what is due, then wait for new events or the next retry."""
        await reconnecting(lambda: self._serve(stop), stop, "river dispatcher")

    async def _serve(self, stop: asyncio.Event) -> None:
        async with (
            await AsyncConnection.connect(self._url, autocommit=True) as listener,
            await AsyncConnection.connect(self._url, autocommit=True) as conn,
            httpx.AsyncClient(timeout=self._timeout_s) as http,
        ):
            await listener.execute(f"LISTEN {alerts.EVENTS_CHANNEL}")
            while not stop.is_set():
                wait = await self.deliver_due(conn, http)
                async for _ in listener.notifies(timeout=wait, stop_after=1):
                    pass

    async def deliver_due(self, conn: AsyncConnection, http: httpx.AsyncClient) -> float:
        """Deliver every channel's due events in order; seconds until the next retry
        (at most one)."""
        while True:
            heads = await (
                await conn.execute(
                    "SELECT DISTINCT ON (channel) channel, event_id, attempts, next_attempt_at"
                    " FROM river_outbox WHERE delivered_at IS NULL ORDER BY channel, event_id"
                )
            ).fetchall()
            now = datetime.now(UTC)
            due = [h for h in heads if h[3] <= now]
            if not due:
                waits = [(h[3] - now).total_seconds() for h in heads]
                return min([1.0, *waits])
            for channel, event_id, attempts, _ in due:
                await self._attempt(conn, http, channel, event_id, attempts)

    async def _attempt(
        self,
        conn: AsyncConnection,
        http: httpx.AsyncClient,
        channel: str,
        event_id: int,
        attempts: int,
    ) -> None:
        document = await alerts.event_document(conn, event_id)
        assert document is not None  # outbox rows cascade with their event
        try:
            await self._send(http, channel, document)
        except DeliveryError as exc:
            delay = self._backoff.delay(attempts + 1)
            log.warning(
                "%s did not take %s (attempt %d): %s; next try in %.0f s",
                channel,
                document["id"],
                attempts + 1,
                exc,
                delay.total_seconds(),
            )
            await conn.execute(
                "UPDATE river_outbox SET attempts = attempts + 1, last_error = %s,"
                " next_attempt_at = now() + %s WHERE channel = %s AND event_id = %s",
                (str(exc), delay, channel, event_id),
            )
            return
        await conn.execute(
            "UPDATE river_outbox SET attempts = attempts + 1, delivered_at = now(),"
            " last_error = NULL WHERE channel = %s AND event_id = %s",
            (channel, event_id),
        )

    async def _send(self, http: httpx.AsyncClient, channel: str, document: dict[str, Any]) -> None:
        body = orjson.dumps(document)
        if channel == alerts.MQTT_CHANNEL:
            info = self._mqtt.publish(mqtt_topic(self._prefix, document), body, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise DeliveryError(f"MQTT publish refused: {mqtt.error_string(info.rc)}")
            await asyncio.to_thread(info.wait_for_publish, self._timeout_s)
            if not info.is_published():
                raise DeliveryError(f"no acknowledgement from the broker in {self._timeout_s} s")
            return
        webhook = self._webhooks.get(channel)
        if webhook is None:
            raise DeliveryError(f"{channel} is no longer configured")
        text = body.decode()
        headers = signed_headers(webhook, document["id"], text, datetime.now(UTC))
        try:
            response = await http.post(str(webhook.url), content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise DeliveryError(f"HTTP {response.status_code}")
