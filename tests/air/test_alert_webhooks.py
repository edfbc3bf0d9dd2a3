"""Air-quality alerts to webhooks, on a real PostgreSQL and a real receiver on loopback:
three hours of NO2 above 400 raise an alert that reaches the webhook of
``SMARTCITY_AIR_WEBHOOKS_FILE`` signed; its acknowledgement through the API is owed to
the same webhook (and delivered once the service runs again), a webhook for another
contact group gets nothing; the documented file reads as written; a bad file stops
``smartcity river`` at start."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook as Verifier

from air import alert_monitor
from api.app import create_app
from auth.principal import Role
from harness.credentials import key_headers
from settings import AirAlertSettings, Settings
from tests.air import alert_station
from tests.air.alert_station import STATION, H
from tests.alert_webhook_support import (
    assert_river_refuses_bad_webhooks_file,
    documented_webhooks,
    serve_with_webhooks_until,
    webhooks_file,
)
from tests.alerts.receiver import Received, drain, receiver
from tests.alerts.sources import SECRET

DOCS = Path(__file__).parents[2] / "docs" / "air.md"


def test_the_documented_webhooks_file_is_read_as_written(tmp_path: Path) -> None:
    assert documented_webhooks(DOCS, tmp_path / "air-webhooks.toml") == [
        ("environment-office", ("environment-duty",)),
        ("emergency-dispatch", ("emergency",)),
    ]


def _webhooks_file(tmp_path: Path, url: str) -> Path:
    contacts = {"duty": "environment-duty", "emergency": "emergency"}
    return webhooks_file(tmp_path / "air-webhooks.toml", url, contacts)


def _serve_until(pg_url: str, received: Received, count: int) -> None:
    """Run the air alert service (settings and webhooks from the environment, as
    ``smartcity river`` reads them) until the receiver got ``count`` requests."""
    settings = AirAlertSettings()
    serve_with_webhooks_until(
        alert_monitor.serve, settings, settings.air_webhooks_file, pg_url, received, count
    )


def test_an_air_alert_reaches_its_webhook_and_its_acknowledgement_is_owed_to_it(
    scripted_town: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = scripted_town
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    alert_station.no2(town, hour - 3 * H, [450.0, 460.0, 470.0])
    with receiver([]) as (url, received):
        monkeypatch.setenv("SMARTCITY_AIR_WEBHOOKS_FILE", str(_webhooks_file(tmp_path, url)))
        monkeypatch.setenv("SMARTCITY_AIR_ALERT_TICK_S", "0.2")
        monkeypatch.setenv("SMARTCITY_AIR_RETRY_MAX_S", "0.2")
        _serve_until(town, received, 1)
        raised = drain(received)

        with TestClient(create_app(Settings(), town)) as client:
            emergency = key_headers(town, Role.EMERGENCY)
            (alert,) = client.get("/air/alerts", headers=emergency).json()["alerts"]
            answer = client.post(f"/air/alerts/{alert['alert_id']}/ack", json={}, headers=emergency)
            assert answer.status_code == 200, answer.text
        with psycopg.connect(town) as conn:
            owed = conn.execute(
                "SELECT e.action, o.channel, o.delivered_at IS NOT NULL FROM alert_outbox o"
                " JOIN alert_events e USING (event_id) WHERE o.channel <> 'mqtt'"
                " ORDER BY o.event_id, o.channel"
            ).fetchall()
        assert owed == [
            ("raised", "webhook:duty", True),
            ("acknowledged", "webhook:duty", False),  # the emergency group is not told
        ]
        _serve_until(town, received, 1)  # the service delivers what the API wrote
        acknowledged = drain(received)

    verifier = Verifier(SECRET)
    documents = []
    for headers, body in raised + acknowledged:
        assert verifier.verify(body, headers) == orjson.loads(body)
        documents.append((headers["webhook-id"], orjson.loads(body)))
    assert [(i, d["type"], d["station_id"], d["kind"]) for i, d in documents] == [
        ("air-event-1", "air.alert.raised", STATION, "no2"),
        ("air-event-2", "air.alert.acknowledged", STATION, "no2"),
    ]
    assert (documents[0][1]["value"], documents[0][1]["contacts"]) == (470.0, ["environment-duty"])


@pytest.fixture
def scripted_town(pg_url: str, tmp_path: Path) -> str:
    alert_station.create(pg_url, tmp_path)
    return pg_url


def test_the_alert_service_refuses_a_bad_air_webhooks_file_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_river_refuses_bad_webhooks_file(
        tmp_path,
        monkeypatch,
        file_name="air-webhooks.toml",
        webhook="duty",
        variable="SMARTCITY_AIR_WEBHOOKS_FILE",
        unset=("SMARTCITY_PARKING_WEBHOOKS_FILE",),
    )
