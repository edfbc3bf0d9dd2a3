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

from fastapi import APIRouter

from api.alert_routes import add_domain_alert_routes
from api.openapi import problems
from parking import alert_monitor
from parking.alerts import alert_source, escalation

router = APIRouter(tags=["parking"], responses=problems(503))  # each reads the database

# its subjects: the lots there are now; its webhooks: those of the parking webhooks file
add_domain_alert_routes(
    router,
    base="/parking/alerts",
    noun="parking",
    subject="lot",
    escalation=escalation,
    alert_source=alert_source,
    source=alert_monitor.source,
    webhooks="parking_webhooks",
)
