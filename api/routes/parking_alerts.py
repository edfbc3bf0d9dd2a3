"""Parking's alerts for operators: a lot too full for too long, stuck or silent bay
sensors, a drifting counter (:mod:`parking.alerts`).

``GET /parking/alerts`` (open and past), ``GET /parking/alerts/{id}`` (with its history),
``POST /parking/alerts/{id}/ack`` (the ``parking_operator`` role; the signed-in user
answers) and ``GET /parking/alerts/stream`` (server-sent events, one per alert event, as
also published on MQTT and webhooks). The alerts are the parking domain's in the alert
engine (:mod:`alerts`), raised and resolved by the parking alert monitor
(:mod:`parking.alert_monitor`, run by ``smartcity river``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from psycopg import AsyncConnection

from alerts import store
from alerts.model import AlertSource, Listing, Webhook
from api import alert_routes
from api.deps import connection
from api.openapi import problems
from api.params import UtcDateTime
from parking import alert_monitor
from parking.alerts import alert_source, escalation
from settings import ParkingAlertSettings

router = APIRouter(tags=["parking"], responses=problems(503))  # each reads the database

_JSON = "application/json"
MAX_ALERTS = 1000
"""The most alerts one listing holds (``limit``), which bounds the answer's size; earlier
ones are asked for with ``since``."""


def _json(document: object) -> Response:
    return Response(orjson.dumps(document), media_type=_JSON)


def _settings(request: Request) -> ParkingAlertSettings:
    settings: ParkingAlertSettings = request.app.state.settings
    return settings


def _domain(request: Request) -> AlertSource:
    """Parking as the engine's client, without its lots: enough to read its alerts and
    events (the engine scopes them by the domain)."""
    return alert_source({}, escalation(_settings(request)))


async def _alerts(request: Request, conn: AsyncConnection) -> AlertSource:
    """Parking as the engine's client, with the lots there are now (an acknowledgement's
    event names its lot) and its webhooks (the event is owed to them)."""
    webhooks: tuple[Webhook, ...] = request.app.state.parking_webhooks
    return await alert_monitor.source(conn, escalation(_settings(request)), webhooks)


@router.get("/parking/alerts", responses={200: {"content": {_JSON: {}}}})
async def list_alerts(
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    state: Annotated[Listing, Query(description="open, past (resolved) or all")] = "all",
    lot: Annotated[str | None, Query(description="a lot's id")] = None,
    since: Annotated[UtcDateTime | None, Query(description="open at or after")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ALERTS)] = 100,
) -> Response:
    """Parking alerts, newest first."""
    found = await store.listing(
        conn, _domain(request), which=state, subject_id=lot, since=since, limit=limit
    )
    return _json({"alerts": found, "count": len(found)})


@router.get("/parking/alerts/stream", response_class=EventSourceResponse)
async def stream(request: Request) -> AsyncIterator[ServerSentEvent]:
    """Parking alert events as they happen: ``ready``, then one ``alert`` event per
    event. The stream ends if it falls behind (its page reconnects)."""
    async for event in alert_routes.events(request, _domain(request)):
        yield event


@router.get(
    "/parking/alerts/{alert_id}", responses={200: {"content": {_JSON: {}}}, **problems(404)}
)
async def one_alert(
    alert_id: int, request: Request, conn: Annotated[AsyncConnection, Depends(connection)]
) -> Response:
    """A parking alert and its full history."""
    return _json(await store.get(conn, _domain(request), alert_id))


@router.post(
    "/parking/alerts/{alert_id}/ack",
    responses={200: {"content": {_JSON: {}}}, **problems(404, 409)},
)
async def acknowledge(
    alert_id: int,
    body: alert_routes.Acknowledgement,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
) -> Response:
    """Answer for an active parking alert as the signed-in operator: its reminders and
    escalation stop."""
    parking = await _alerts(request, conn)
    return _json(await alert_routes.acknowledge(request, conn, parking, alert_id, body))
