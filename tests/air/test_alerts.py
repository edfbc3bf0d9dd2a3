"""Air-quality alerts: the thresholds judged by hand on scripted hours, then three hours of
NO2 above 400 raising an alert through the shared engine on real PostgreSQL (listed and
acknowledged through the API) and published on a real broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import AsyncConnection

from air import alert_monitor
from air.alert_monitor import StationConditions
from air.alerts import AlertRules, judge
from alerts.model import Escalation
from alerts.monitor import AlertMonitor
from api.app import create_app
from auth.principal import Role
from harness.credentials import key_headers
from ingest_mqtt.publisher import Publisher
from settings import AirAlertSettings, Settings
from tests.air import alert_station
from tests.air.alert_station import STATION, H
from tests.subscriber import WAIT_S, subscribed

T = datetime(2026, 7, 1, 12, tzinfo=UTC)
RULES = AlertRules()
ESCALATION = Escalation(("environment-duty",), timedelta(hours=1), timedelta(minutes=30))


def _hours(values: list[float | None], last: datetime = T) -> dict[datetime, float]:
    """Hourly values ending with the hour starting ``last`` (None: a missing hour)."""
    n = len(values)
    return {last - (n - 1 - k) * H: v for k, v in enumerate(values) if v is not None}


def _severity(pollutant: str, values: list[float | None]) -> int | None:
    found = {c.kind: c for c in judge(STATION, {pollutant: _hours(values)}, T, RULES)}
    return found[pollutant].severity if pollutant in found else None


@pytest.mark.parametrize(
    ("values", "severity"),
    [
        ([410, 420, 401], 2),  # three hours above 400
        ([400, 420, 401], None),  # the first at 400 is not above: too short, nothing said
        ([410, None, 401], None),  # a missing hour breaks the run
        ([410, 420], None),  # two hours only
        ([410, 420, 400], 0),  # the last hour at 400: clear
        ([999, 999, 350], 0),
    ],
)
def test_no2_needs_three_consecutive_hours_above_400(
    values: list[float | None], severity: int | None
) -> None:
    assert _severity("no2", values) == severity


def test_so2_threshold_is_500() -> None:
    assert _severity("so2", [501, 600, 500.5]) == 2
    assert _severity("so2", [501, 600, 500]) == 0


@pytest.mark.parametrize(
    ("value", "severity"), [(180, 0), (180.5, 1), (240, 1), (240.5, 2), (100, 0)]
)
def test_o3_information_and_alert_thresholds_hourly(value: float, severity: int) -> None:
    assert _severity("o3", [value]) == severity


def test_the_last_hour_missing_says_nothing() -> None:
    assert judge(STATION, {"o3": _hours([200, None])}, T, RULES) == []


# -- through the engine, the API and the broker ---------------------------------------


@pytest.fixture
def town(pg_url: str, tmp_path: Path) -> Iterator[str]:
    alert_station.create(pg_url, tmp_path)
    yield pg_url


def test_three_hours_of_no2_above_400_raise_an_alert(town: str) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = hour - 6 * H
    clock = [start]
    monitor = AlertMonitor(town, StationConditions(RULES, ESCALATION), clock=lambda: clock[0])

    async def evaluate(at: datetime) -> list[int]:
        clock[0] = at
        async with await AsyncConnection.connect(town, autocommit=True) as conn:
            return await monitor.evaluate(conn)

    # hours 0-2 at 410, 430, 405; hour 3 at 380 (start = 6 h ago)
    alert_station.no2(town, start, [410.0, 430.0, 405.0, 380.0])
    assert asyncio.run(evaluate(start + 2 * H + timedelta(minutes=5))) == []  # two complete
    raised = asyncio.run(evaluate(start + 3 * H + timedelta(minutes=5)))  # three complete
    assert len(raised) == 1
    assert asyncio.run(evaluate(start + 3 * H + timedelta(minutes=10))) == []  # no repeat
    with psycopg.connect(town) as conn:
        row = conn.execute(
            "SELECT subject_id, kind, severity, state, raised_at, value FROM alerts"
            " WHERE domain = 'air'"
        ).fetchone()
    # raised as of the end of the third hour, with that hour's mean
    assert row == (STATION, "no2", 2, "active", start + 3 * H, 405.0)

    with TestClient(create_app(Settings(), town)) as client:
        assert client.get("/air/alerts").status_code == 401
        viewer = key_headers(town, Role.VIEWER)
        (alert,) = client.get("/air/alerts", params={"state": "open"}, headers=viewer).json()[
            "alerts"
        ]
        assert (alert["station_id"], alert["kind"], alert["code"]) == (STATION, "no2", "orange")
        for station, count in ((STATION, 1), ("aq-elsewhere", 0)):  # filtered by ``station``
            listed = client.get("/air/alerts", params={"station": station}, headers=viewer)
            assert listed.json()["count"] == count
        ack = f"/air/alerts/{alert['alert_id']}/ack"
        assert client.post(ack, json={}, headers=viewer).status_code == 403
        emergency = key_headers(town, Role.EMERGENCY)
        answered = client.post(ack, json={"note": "traffic police told"}, headers=emergency)
        assert answered.status_code == 200, answered.text
        assert answered.json()["state"] == "acknowledged"

    # the fourth hour at 380: resolved
    resolved = asyncio.run(evaluate(start + 4 * H + timedelta(minutes=5)))
    assert len(resolved) == 1
    with psycopg.connect(town) as conn:
        states = conn.execute(
            "SELECT e.document->>'type' FROM alert_events e ORDER BY e.event_id"
        ).fetchall()
    assert [s[0] for s in states] == [
        "air.alert.raised",
        "air.alert.acknowledged",
        "air.alert.resolved",
    ]


def test_an_air_alert_is_published_on_mqtt(town: str, broker_url: str, mqtt_protocol: str) -> None:
    prefix = f"test{uuid.uuid4().hex[:8]}"
    settings = AirAlertSettings(air_alert_tick_s=0.2, topic_prefix=prefix)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    alert_station.no2(town, hour - 3 * H, [450.0, 460.0, 470.0])

    async def serve_until_published() -> None:
        stop = asyncio.Event()
        with Publisher(broker_url, f"pub-{prefix}", protocol=mqtt_protocol) as publisher:
            service = asyncio.create_task(alert_monitor.serve(settings, (), town, publisher, stop))
            for _ in range(int(WAIT_S / 0.2)):
                if not messages.empty():
                    break
                await asyncio.sleep(0.2)
            stop.set()
            await asyncio.wait_for(service, WAIT_S)

    with subscribed(broker_url, f"{prefix}/events/air/#") as messages:
        asyncio.run(serve_until_published())
        message = messages.get(timeout=1)
    document = json.loads(message.payload)
    assert message.topic == f"{prefix}/events/air/{STATION}/no2"
    assert (document["type"], document["station_id"], document["value"]) == (
        "air.alert.raised",
        STATION,
        470.0,
    )


def test_an_information_threshold_above_the_alert_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="SMARTCITY_AIR_O3_INFORMATION must be below"):
        AirAlertSettings(air_o3_information=250.0)
