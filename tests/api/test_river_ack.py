"""Acknowledging a river alert through the API: what the body may hold.

The probe (issue 13) got a 500 from a NUL in the note (PostgreSQL text cannot hold one);
a body's text is now refused with a 400 before anything is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import AsyncConnection

from alerts import store
from alerts.model import Condition
from api.app import create_app
from auth.principal import Role
from demo_town.river import DEMO
from harness.credentials import signed_in
from settings import Settings
from storage import migrations

GAUGE = DEMO.gauges[0].device_id


@pytest.fixture
def active_alert(pg_url: str) -> Iterator[tuple[TestClient, int]]:
    """The API, and an active orange alert on the demo gauge."""
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)

    async def raise_one() -> None:
        now = datetime.now(UTC)
        async with await AsyncConnection.connect(pg_url) as conn, conn.transaction():
            condition = Condition(GAUGE, "level", 2, now, 556.0, "556 cm: orange")
            await store.apply(conn, DEMO.alert_source, condition, now)

    asyncio.run(raise_one())
    with signed_in(create_app(Settings(), pg_url), pg_url, Role.EMERGENCY) as client:
        (alert,) = client.get("/river/alerts", params={"state": "open"}).json()["alerts"]
        yield client, alert["alert_id"]


def test_a_nul_in_the_body_is_refused_and_nothing_is_acknowledged(
    active_alert: tuple[TestClient, int],
) -> None:
    body = {"note": "sandbags\u0000 to the port"}
    client, alert_id = active_alert
    response = client.post(f"/river/alerts/{alert_id}/ack", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "NUL characters are not accepted" in response.json()["detail"]
    assert client.get(f"/river/alerts/{alert_id}").json()["state"] == "active"
    accepted = client.post(f"/river/alerts/{alert_id}/ack", json={"note": "sandbags"})
    assert accepted.status_code == 200, accepted.text
