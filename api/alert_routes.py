"""What every domain's alert routes share: the acknowledgement's body, acknowledging as
the signed-in user, and the server-sent events of a domain's alert events.

The river's and parking's routes (:mod:`api.routes.river`, :mod:`api.routes.parking_alerts`)
differ in their paths, their subjects and who may call them (:mod:`auth.policy`); what
they do with an alert is the engine's (:mod:`alerts.store`) and this module's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.sse import ServerSentEvent
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from alerts import store
from alerts.model import AlertSource
from api import security
from api.params import Text
from storage.notifications import Notifications


class Acknowledgement(BaseModel):
    """What the signed-in user answering for an alert is doing about it (who answers is
    the signed-in subject, not a field of the request)."""

    model_config = ConfigDict(extra="forbid")

    note: Text = Field(default="", max_length=2000)


async def acknowledge(
    request: Request,
    conn: AsyncConnection,
    source: AlertSource,
    alert_id: int,
    body: Acknowledgement,
) -> dict[str, Any]:
    """Acknowledge one of ``source``'s alerts as the signed-in user; the alert as
    :func:`alerts.store.get` returns it."""
    caller = security.principal(request)
    assert caller is not None  # the policy admits the domain's role only
    return await store.acknowledge(
        conn, source, alert_id, caller.subject, body.note, datetime.now(UTC)
    )


async def events(request: Request, source: AlertSource) -> AsyncIterator[ServerSentEvent]:
    """A domain's alert events as they happen: ``ready``, then one ``alert`` event per
    event (the document MQTT and webhooks receive). The stream ends if it falls behind
    (its page reconnects)."""
    notifications: Notifications = request.app.state.notifications
    async with notifications.subscribe(source.channel) as notified:
        yield ServerSentEvent(event="ready", data={})
        async for event_id in notified:
            async with request.app.state.pool.connection() as conn:
                document = await store.event_document(conn, int(event_id))
            if document is not None:
                yield ServerSentEvent(event="alert", id=document["id"], data=document)
