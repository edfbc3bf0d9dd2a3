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

from fastapi import APIRouter

from air import alert_monitor
from air.alerts import alert_source, escalation
from api.alert_routes import add_domain_alert_routes
from api.openapi import problems

router = APIRouter(tags=["air"], responses=problems(503))  # each reads the database

# its subjects: the stations there are now; its webhooks: those of the air webhooks file
add_domain_alert_routes(
    router,
    base="/air/alerts",
    noun="air-quality",
    subject="station",
    escalation=escalation,
    alert_source=alert_source,
    source=alert_monitor.source,
    webhooks="air_webhooks",
)
