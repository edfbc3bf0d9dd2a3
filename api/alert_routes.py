"""What every domain's alert routes share: the acknowledgement's body, acknowledging as
the signed-in user, the server-sent events of a domain's alert events, and the four
routes a domain's alerts are served by (:func:`add_alert_routes`, or
:func:`add_domain_alert_routes` from the domain's own functions).

The domains' routes (:mod:`api.routes.river`, :mod:`api.routes.parking_alerts`,
:mod:`api.routes.air_alerts`) differ in their paths, their subjects and who may call
them (:mod:`auth.policy`); what they do with an alert is the engine's
(:mod:`alerts.store`) and this module's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from alerts import store
from alerts.model import AlertSource, Escalation, Listing, Webhook
from api import security
from api.deps import connection
from api.openapi import problems
from api.params import Text, UtcDateTime
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


MAX_ALERTS = 1000
"""The most alerts one listing holds (``limit``), which bounds the answer's size; earlier
ones are asked for with ``since``."""

_JSON = "application/json"
_DOCUMENT: dict[int | str, dict[str, Any]] = {200: {"content": {_JSON: {}}}}


def _json(document: object) -> Response:
    return Response(orjson.dumps(document), media_type=_JSON)


def add_alert_routes(
    router: APIRouter,
    *,
    base: str,
    noun: str,
    subject: str,
    domain: Callable[[Request], AlertSource],
    with_subjects: Callable[[Request, AsyncConnection], Awaitable[AlertSource]],
) -> None:
    """Serve a domain's alerts under ``base`` (``/parking/alerts``): the listing (its
    subjects filtered by the query parameter ``subject``), the event stream, one alert
    with its history and the acknowledgement. ``noun`` names the alerts in the docs
    ("parking"); ``domain`` is the domain as the engine's client without its subjects
    (enough to read), ``with_subjects`` with them and its webhooks (an acknowledgement's
    event names its subject and is owed to the webhooks)."""

    async def list_alerts(
        request: Request,
        conn: Annotated[AsyncConnection, Depends(connection)],
        state: Annotated[Listing, Query(description="open, past (resolved) or all")] = "all",
        subject_id: str | None = None,  # its query parameter: set below
        since: Annotated[UtcDateTime | None, Query(description="open at or after")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ALERTS)] = 100,
    ) -> Response:
        found = await store.listing(
            conn, domain(request), which=state, subject_id=subject_id, since=since, limit=limit
        )
        return _json({"alerts": found, "count": len(found)})

    # the subject's query parameter is named after the domain's subject (``lot``,
    # ``station``): an annotation built here, where that name is known
    list_alerts.__annotations__["subject_id"] = Annotated[
        str | None, Query(alias=subject, description=f"a {subject}'s id")
    ]
    router.get(base, responses=_DOCUMENT, description=f"{noun.capitalize()} alerts, newest first.")(
        list_alerts
    )

    @router.get(
        f"{base}/stream",
        response_class=EventSourceResponse,
        description=f"{noun.capitalize()} alert events as they happen: `ready`, then one"
        " `alert` event per event. The stream ends if it falls behind (its page reconnects).",
    )
    async def stream(request: Request) -> AsyncIterator[ServerSentEvent]:
        async for event in events(request, domain(request)):
            yield event

    @router.get(
        f"{base}/{{alert_id}}",
        responses={**_DOCUMENT, **problems(404)},
        description=f"A {noun} alert and its full history.",
    )
    async def one_alert(
        alert_id: int, request: Request, conn: Annotated[AsyncConnection, Depends(connection)]
    ) -> Response:
        return _json(await store.get(conn, domain(request), alert_id))

    @router.post(
        f"{base}/{{alert_id}}/ack",
        responses={**_DOCUMENT, **problems(404, 409)},
        description=f"Answer for an active {noun} alert as the signed-in user: its reminders"
        " and escalation stop.",
    )
    async def acknowledge_alert(
        alert_id: int,
        body: Acknowledgement,
        request: Request,
        conn: Annotated[AsyncConnection, Depends(connection)],
    ) -> Response:
        source = await with_subjects(request, conn)
        return _json(await acknowledge(request, conn, source, alert_id, body))


def add_domain_alert_routes(
    router: APIRouter,
    *,
    base: str,
    noun: str,
    subject: str,
    escalation: Callable[[Any], Escalation],
    alert_source: Callable[[Mapping[str, str], Escalation], AlertSource],
    source: Callable[[AsyncConnection, Escalation, tuple[Webhook, ...]], Awaitable[AlertSource]],
    webhooks: str,
) -> None:
    """:func:`add_alert_routes` for a domain made of its own functions: ``escalation``
    (whom its alerts reach, from the app's settings), ``alert_source`` (the domain as the
    engine's client, given its subjects' names: called without any, which is enough to
    read its alerts and events, as the engine scopes them by the domain) and ``source``
    (the domain with the subjects there are now, as an acknowledgement's event names its
    subject, and with its webhooks, which the event is owed to: those of the app state's
    attribute ``webhooks``)."""

    def domain(request: Request) -> AlertSource:
        return alert_source({}, escalation(request.app.state.settings))

    async def with_subjects(request: Request, conn: AsyncConnection) -> AlertSource:
        hooks: tuple[Webhook, ...] = getattr(request.app.state, webhooks)
        return await source(conn, escalation(request.app.state.settings), hooks)

    add_alert_routes(
        router, base=base, noun=noun, subject=subject, domain=domain, with_subjects=with_subjects
    )
