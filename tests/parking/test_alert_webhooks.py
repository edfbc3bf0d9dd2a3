"""Parking alerts to webhooks, on a real PostgreSQL and a real receiver on loopback: a
full lot's alert, raised by the monitor from real readings, reaches the webhook of
``SMARTCITY_PARKING_WEBHOOKS_FILE`` signed (Standard Webhooks' own verifier checks it),
as the document docs/parking.md shows; a receiver that refuses is tried again; a webhook
for another contact group gets nothing; a bad file stops ``smartcity river`` at start."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from standardwebhooks import Webhook as Verifier

from parking import alert_monitor
from settings import ParkingAlertSettings
from tests.alert_webhook_support import (
    assert_river_refuses_bad_webhooks_file,
    documented_webhooks,
    serve_with_webhooks_until,
    webhooks_file,
)
from tests.alerts.receiver import Received, drain, receiver
from tests.alerts.sources import SECRET
from tests.parking import alert_lot
from tests.parking.alert_lot import LOT

DOCS = Path(__file__).parents[2] / "docs" / "parking.md"


def _documented_event() -> dict[str, object]:
    """The event docs/parking.md shows."""
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    (event,) = [json.loads(b) for b in blocks if '"parking.alert.raised"' in b]
    return dict(event)


def test_the_documented_webhooks_file_is_read_as_written(tmp_path: Path) -> None:
    assert documented_webhooks(DOCS, tmp_path / "parking-webhooks.toml") == [
        ("gate-office", ("parking-operator",)),
        ("manager-sms", ("parking-manager",)),
    ]


def _webhooks_file(tmp_path: Path, url: str) -> Path:
    contacts = {"ops": "parking-operator", "managers": "parking-manager"}
    return webhooks_file(tmp_path / "parking-webhooks.toml", url, contacts)


def _serve_until(settings: ParkingAlertSettings, pg_url: str, received: Received) -> None:
    """Run the parking alert service until the receiver got two requests."""
    serve_with_webhooks_until(
        alert_monitor.serve, settings, settings.parking_webhooks_file, pg_url, received, 2
    )


def test_a_full_lot_reaches_its_webhook_signed_and_a_refusal_is_retried(
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alert_lot.create(pg_url)
    alert_lot.report(pg_url, datetime.now(UTC), [1, 1, 1, 1], 4)  # 4 of 4: full
    with receiver([500]) as (url, received):
        monkeypatch.setenv("SMARTCITY_PARKING_WEBHOOKS_FILE", str(_webhooks_file(tmp_path, url)))
        monkeypatch.setenv("SMARTCITY_PARKING_FILL_MIN", "0")
        monkeypatch.setenv("SMARTCITY_PARKING_ALERT_TICK_S", "0.2")
        monkeypatch.setenv("SMARTCITY_PARKING_RETRY_MAX_S", "0.2")
        with caplog.at_level(logging.WARNING, logger="alerts.delivery"):
            _serve_until(ParkingAlertSettings(), pg_url, received)
        posts = drain(received)

    with psycopg.connect(pg_url) as conn:
        (document,) = [d for (d,) in conn.execute("SELECT document FROM alert_events")]
        owed = conn.execute(
            "SELECT channel, attempts, delivered_at IS NOT NULL FROM alert_outbox"
            " WHERE channel <> 'mqtt' ORDER BY channel"
        ).fetchall()
    assert [headers["webhook-id"] for headers, _ in posts] == ["parking-event-1"] * 2
    refused = [r.getMessage() for r in caplog.records if "webhook:ops" in r.getMessage()]
    assert "parking-event-1 (attempt 1): HTTP 500" in refused[0]
    assert owed == [("webhook:ops", 2, True)], "refused once, then taken; managers owed none"
    verifier = Verifier(SECRET)
    for headers, body in posts:
        assert headers["content-type"] == "application/json"
        assert verifier.verify(body, headers) == document
    assert document.keys() == _documented_event().keys()
    assert {k: document[k] for k in ("id", "type", "lot_id", "lot_name", "kind")} == {
        "id": "parking-event-1",
        "type": "parking.alert.raised",
        "lot_id": LOT,
        "lot_name": "Parcare Test",
        "kind": "fill",
    }
    assert (document["value"], document["code"], document["contacts"]) == (
        100.0,
        "yellow",
        ["parking-operator"],
    )


def test_the_alert_service_refuses_a_bad_webhooks_file_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_river_refuses_bad_webhooks_file(
        tmp_path,
        monkeypatch,
        file_name="parking-webhooks.toml",
        webhook="ops",
        variable="SMARTCITY_PARKING_WEBHOOKS_FILE",
    )
