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

from fastapi import APIRouter, Request
from psycopg import AsyncConnection

from alerts.model import AlertSource, Webhook
from api.alert_routes import add_alert_routes
from api.openapi import problems
from parking import alert_monitor
from parking.alerts import alert_source, escalation
from settings import ParkingAlertSettings

router = APIRouter(tags=["parking"], responses=problems(503))  # each reads the database


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


add_alert_routes(
    router,
    base="/parking/alerts",
    noun="parking",
    subject="lot",
    domain=_domain,
    with_subjects=_alerts,
)
