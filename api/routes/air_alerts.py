"""Air quality's alerts: the directive's information and alert thresholds exceeded at a
station (:mod:`air.alerts`).

``GET /air/alerts`` (open and past), ``GET /air/alerts/{id}`` (with its history),
``POST /air/alerts/{id}/ack`` (the ``emergency`` role; the signed-in user answers) and
``GET /air/alerts/stream`` (server-sent events, one per alert event, as also published
on MQTT and webhooks). The alerts are the air domain's in the alert engine
(:mod:`alerts`), raised and resolved by the air alert monitor
(:mod:`air.alert_monitor`, run by ``smartcity river``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from psycopg import AsyncConnection

from air import alert_monitor
from air.alerts import alert_source, escalation
from alerts.model import AlertSource, Webhook
from api.alert_routes import add_alert_routes
from api.openapi import problems
from settings import AirAlertSettings

router = APIRouter(tags=["air"], responses=problems(503))  # each reads the database


def _settings(request: Request) -> AirAlertSettings:
    settings: AirAlertSettings = request.app.state.settings
    return settings


def _domain(request: Request) -> AlertSource:
    """Air quality as the engine's client, without its stations: enough to read its
    alerts and events (the engine scopes them by the domain)."""
    return alert_source({}, escalation(_settings(request)))


async def _alerts(request: Request, conn: AsyncConnection) -> AlertSource:
    """Air quality as the engine's client, with the stations there are now (an
    acknowledgement's event names its station) and its webhooks (the event is owed to
    them)."""
    webhooks: tuple[Webhook, ...] = request.app.state.air_webhooks
    return await alert_monitor.source(conn, escalation(_settings(request)), webhooks)


add_alert_routes(
    router,
    base="/air/alerts",
    noun="air-quality",
    subject="station",
    domain=_domain,
    with_subjects=_alerts,
)
