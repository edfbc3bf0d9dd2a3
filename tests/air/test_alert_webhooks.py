"""Air-quality alerts to webhooks, on a real PostgreSQL and a real receiver on loopback:
three hours of NO2 above 400 raise an alert that reaches the webhook of
``SMARTCITY_AIR_WEBHOOKS_FILE`` signed; its acknowledgement through the API is owed to
the same webhook (and delivered once the service runs again), a webhook for another
contact group gets nothing; the documented file reads as written; a bad file stops
``smartcity river`` at start."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook as Verifier
from typer.testing import CliRunner

from air import alert_monitor
from alerts.config import load_webhooks
from api.app import create_app
from auth.principal import Role
from harness.credentials import key_headers
from hub.cli import app
from settings import AirAlertSettings, Settings
from tests.air import test_alerts as scripted
from tests.alerts.receiver import Received, drain, receiver, serve_until, webhooks_toml
from tests.alerts.sources import SECRET

DOCS = Path(__file__).parents[2] / "docs" / "air.md"


def test_the_documented_webhooks_file_is_read_as_written(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```toml\n(.*?)```", text, re.DOTALL) if "webhooks" in b]
    path = tmp_path / "air-webhooks.toml"
    path.write_text(example, encoding="utf-8")
    assert [(w.name, w.contacts) for w in load_webhooks(path)] == [
        ("environment-office", ("environment-duty",)),
        ("emergency-dispatch", ("emergency",)),
    ]


def _webhooks_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "air-webhooks.toml"
    contacts = {"duty": "environment-duty", "emergency": "emergency"}
    path.write_text(webhooks_toml(url, contacts), encoding="utf-8")
    return path


def _serve_until(pg_url: str, received: Received, count: int) -> None:
    """Run the air alert service (settings and webhooks from the environment, as
    ``smartcity river`` reads them) until the receiver got ``count`` requests."""
    settings = AirAlertSettings()
    webhooks = load_webhooks(settings.air_webhooks_file)
    serve_until(partial(alert_monitor.serve, settings, webhooks, pg_url), received, count)


def test_an_air_alert_reaches_its_webhook_and_its_acknowledgement_is_owed_to_it(
    scripted_town: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = scripted_town
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    scripted._no2(town, hour - 3 * scripted.H, [450.0, 460.0, 470.0])
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
        ("air-event-1", "air.alert.raised", scripted.STATION, "no2"),
        ("air-event-2", "air.alert.acknowledged", scripted.STATION, "no2"),
    ]
    assert (documents[0][1]["value"], documents[0][1]["contacts"]) == (470.0, ["environment-duty"])


@pytest.fixture
def scripted_town(pg_url: str, tmp_path: Path) -> str:
    scripted._town(pg_url, tmp_path)
    return pg_url


def test_the_alert_service_refuses_a_bad_air_webhooks_file_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "air-webhooks.toml"
    bad.write_text(
        '[[webhooks]]\nname = "duty"\nurl = "http://127.0.0.1:9/"\nsecret = "hunter2"\n',
        encoding="utf-8",
    )
    data = tmp_path / "data"
    monkeypatch.setenv("SMARTCITY_DATA_DIR", str(data))
    monkeypatch.delenv("SMARTCITY_RIVER_CONFIG", raising=False)
    monkeypatch.delenv("SMARTCITY_PARKING_WEBHOOKS_FILE", raising=False)
    monkeypatch.setenv("SMARTCITY_AIR_WEBHOOKS_FILE", str(bad))
    result = CliRunner().invoke(app, ["river"])
    assert result.exit_code == 2, result.output
    assert "air-webhooks.toml: webhooks.0.secret: Value error" in result.output
    assert not data.exists()  # no database started
