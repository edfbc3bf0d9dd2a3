"""Parking alerts through the API: listed for signed-in users, acknowledged by parking
operators only, as the signed-in subject."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import AsyncConnection

from alerts.model import Escalation
from alerts.monitor import AlertMonitor
from api.app import create_app
from auth.principal import Role
from harness.credentials import signed_in
from parking.alert_monitor import LotConditions
from settings import Settings
from tests.alerts.sources import SECRET
from tests.parking import alert_lot
from tests.parking.alert_lot import LOT, RULES


@pytest.fixture
def drift_alert(pg_url: str) -> int:
    """An active drift alert on the test lot, raised by the monitor; its id."""
    alert_lot.create(pg_url)
    start = datetime.now(UTC) - timedelta(minutes=30)
    escalation = Escalation(("parking-operator",), timedelta(minutes=30), timedelta(minutes=15))
    clock = [start]
    monitor = AlertMonitor(pg_url, LotConditions(RULES, escalation), clock=lambda: clock[0])

    async def evaluate(minutes: float) -> list[int]:
        clock[0] = start + timedelta(minutes=minutes)
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            return await monitor.evaluate(conn)

    for minutes in (0, 3, 6):  # one bay of four taken, the counter says 4: beyond ±2
        alert_lot.report(pg_url, start + timedelta(minutes=minutes), [1, 0, 0, 0], 4)
        asyncio.run(evaluate(minutes + 0.5))
    with psycopg.connect(pg_url) as conn:
        (found,) = conn.execute("SELECT alert_id FROM alerts WHERE domain = 'parking'").fetchall()
    return int(found[0])


def _listed(client: TestClient) -> int:
    (alert,) = client.get("/parking/alerts", params={"state": "open"}).json()["alerts"]
    assert (alert["lot_id"], alert["kind"], alert["state"]) == (LOT, "drift", "active")
    # the listing filters by its subject, named for parking's: ``lot``
    assert client.get("/parking/alerts", params={"lot": LOT}).json()["count"] == 1
    assert client.get("/parking/alerts", params={"lot": "lot-elsewhere"}).json()["count"] == 0
    return int(alert["alert_id"])


def test_parking_operators_acknowledge_as_themselves_others_are_refused(
    pg_url: str, drift_alert: int
) -> None:
    with TestClient(create_app(Settings(), pg_url)) as anonymous:
        assert anonymous.get("/parking/alerts").status_code == 401
        assert anonymous.post(f"/parking/alerts/{drift_alert}/ack", json={}).status_code == 401
    with signed_in(create_app(Settings(), pg_url), pg_url, Role.EMERGENCY) as emergency:
        alert_id = _listed(emergency)
        assert alert_id == drift_alert
        refused = emergency.post(f"/parking/alerts/{alert_id}/ack", json={"note": "mine"})
        assert refused.status_code == 403, refused.text
    with signed_in(create_app(Settings(), pg_url), pg_url, Role.PARKING_OPERATOR) as operator:
        missing = operator.post("/parking/alerts/999999/ack", json={})
        assert missing.status_code == 404, missing.text
        answer = operator.post(f"/parking/alerts/{alert_id}/ack", json={"note": "counter reset"})
        assert answer.status_code == 200, answer.text
        acknowledged = answer.json()
        me = operator.get("/auth/me").json()
        assert acknowledged["state"] == "acknowledged"
        assert acknowledged["acknowledged_by"] == me["subject"]
        assert acknowledged["history"][-1]["note"] == "counter reset"
        assert acknowledged["history"][-1]["type"] == "parking.alert.acknowledged"
        again = operator.post(f"/parking/alerts/{alert_id}/ack", json={})
        assert again.status_code == 409, again.text
        assert operator.get(f"/parking/alerts/{alert_id}").json()["state"] == "acknowledged"


def test_an_acknowledgement_is_owed_to_the_parking_webhooks(
    pg_url: str, drift_alert: int, tmp_path: Path
) -> None:
    """The API writes the acknowledgement's event: it must owe it to the webhooks of
    ``SMARTCITY_PARKING_WEBHOOKS_FILE`` serving the alert's contact groups, as the monitor
    does for the events it writes."""
    path = tmp_path / "webhooks.toml"
    path.write_text(
        f'[[webhooks]]\nname = "ops"\nurl = "http://127.0.0.1:9/"\nsecret = "{SECRET}"\n'
        'contacts = ["parking-operator"]\n\n'
        f'[[webhooks]]\nname = "police"\nurl = "http://127.0.0.1:9/"\nsecret = "{SECRET}"\n'
        'contacts = ["police"]\n',
        encoding="utf-8",
    )
    app = create_app(Settings(parking_webhooks_file=path), pg_url)
    with signed_in(app, pg_url, Role.PARKING_OPERATOR) as operator:
        answer = operator.post(f"/parking/alerts/{drift_alert}/ack", json={})
        assert answer.status_code == 200, answer.text
    with psycopg.connect(pg_url) as conn:
        owed = conn.execute(
            "SELECT e.action, o.channel FROM alert_outbox o JOIN alert_events e USING (event_id)"
            " WHERE o.channel <> 'mqtt' ORDER BY o.event_id, o.channel"
        ).fetchall()
    assert owed == [("acknowledged", "webhook:ops")]  # the raise predates the file
