"""Deliver the events a domain owes from the outbox: MQTT and signed webhooks, at least once.

Each channel (MQTT, each webhook) receives its events in order: only its oldest
undelivered event is tried, and a failure holds the rest back until a retry succeeds,
with exponential backoff (``base_s`` doubling up to ``max_s``) for as long as the
receiver is down. A delivery that succeeded but whose success was not recorded (a crash
in between) is repeated: receivers deduplicate on the event's ``id``, sent as
``webhook-id`` (Standard Webhooks, HMAC-SHA256 signature in ``webhook-signature``) and
inside every payload.

MQTT events go to ``{prefix}/events/{domain}/{subject_id}/{kind}`` at QoS 1 through
:class:`ingest_mqtt.publisher.Publisher`; a delivery counts once the broker
acknowledged it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from psycopg import AsyncConnection
from standardwebhooks import Webhook as Signer

from alerts import store
from alerts.model import AlertSource, Webhook
from ingest_mqtt.publisher import Publisher, PublishError
from storage.database import reconnecting

log = logging.getLogger(__name__)

IDLE_WAKE_S = 1.0
"""With nothing due, the outbox is looked at again this often (besides notifications)."""


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


def mqtt_topic(prefix: str, source: AlertSource, document: dict[str, Any]) -> str:
    """Where an event is published."""
    return f"{prefix}/events/{source.domain}/{document[source.subject_key]}/{document['kind']}"


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
    """Delivers one domain's outbox; runs until stopped."""

    def __init__(
        self,
        database_url: str,
        source: AlertSource,
        publisher: Publisher,
        topic_prefix: str,
        *,
        backoff: Backoff | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        """``timeout_s``: how long a webhook may take to answer."""
        self._url = database_url
        self._source = source
        self._webhooks = {w.channel: w for w in source.webhooks}
        self._mqtt = publisher
        self._prefix = topic_prefix
        self._backoff = backoff or Backoff()
        self._timeout_s = timeout_s

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver what is due, then wait for new events or the next retry."""
        await reconnecting(lambda: self._serve(stop), stop, f"{self._source.domain} dispatcher")

    async def _serve(self, stop: asyncio.Event) -> None:
        async with (
            await AsyncConnection.connect(self._url, autocommit=True) as listener,
            await AsyncConnection.connect(self._url, autocommit=True) as conn,
            httpx.AsyncClient(timeout=self._timeout_s) as http,
        ):
            await listener.execute(f"LISTEN {self._source.channel}")
            while not stop.is_set():
                wait = await self.deliver_due(conn, http)
                async for _ in listener.notifies(timeout=wait, stop_after=1):
                    pass

    async def deliver_due(self, conn: AsyncConnection, http: httpx.AsyncClient) -> float:
        """Deliver every channel's due events in order; seconds until the next retry
        (at most :data:`IDLE_WAKE_S`)."""
        while True:
            heads = await store.next_deliveries(conn, self._source)
            now = datetime.now(UTC)
            due = [h for h in heads if h.next_attempt_at <= now]
            if not due:
                waits = [(h.next_attempt_at - now).total_seconds() for h in heads]
                return min([IDLE_WAKE_S, *waits])
            for delivery in due:
                await self._attempt(conn, http, delivery)

    async def _attempt(
        self, conn: AsyncConnection, http: httpx.AsyncClient, delivery: store.Delivery
    ) -> None:
        document = await store.event_document(conn, delivery.event_id)
        assert document is not None  # outbox rows cascade with their event
        try:
            await self._send(http, delivery.channel, document)
        except DeliveryError as exc:
            delay = self._backoff.delay(delivery.attempts + 1)
            log.warning(
                "%s did not take %s (attempt %d): %s; next try in %.0f s",
                delivery.channel,
                document["id"],
                delivery.attempts + 1,
                exc,
                delay.total_seconds(),
            )
            await store.record_attempt(conn, self._source, delivery, error=str(exc), retry_in=delay)
            return
        await store.record_attempt(conn, self._source, delivery)

    async def _send(self, http: httpx.AsyncClient, channel: str, document: dict[str, Any]) -> None:
        body = orjson.dumps(document)
        if channel == store.MQTT_CHANNEL:
            try:
                await self._mqtt.publish(mqtt_topic(self._prefix, self._source, document), body)
            except PublishError as exc:
                raise DeliveryError(str(exc)) from exc
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
