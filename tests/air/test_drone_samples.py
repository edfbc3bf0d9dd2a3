"""Drones' air samples published over real MQTT, ingested by the real worker into real
PostgreSQL, and served by ``GET /air/drone-samples`` as points with their index; the
expected bands worked out by hand from the 2024 table (``../shared/DOMAIN.md``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ingest_mqtt.worker import IngestWorker
from settings import Settings
from storage import devices, migrations
from tests.live_ingest import publish, wait_for

DRONE = "drone-air-1"
NOW = datetime.now(UTC).replace(microsecond=0)
SAMPLES = [  # (minutes before now, lon, lat, alt, concentrations µg/m³)
    # PM2.5 12 fair (5-15), NO2 30 moderate (25-60), O3 70 fair (60-100): moderate, NO2
    (40, 24.8650, 43.7480, None, {"pm25": 12.0, "no2": 30.0, "o3": 70.0}),
    # PM10 exactly 45 stays fair (a bound belongs to the lower band), SO2 20 good (at its
    # bound), PM2.5 14 fair: fair; PM10 is at its band's top (depth 1.0), PM2.5 at 0.9
    (20, 24.8712, 43.7521, 120.0, {"pm10": 45.0, "so2": 20.0, "pm25": 14.0}),
]


@pytest.fixture
def air_drone(pg_url: str) -> str:
    """The drone in the registry before the worker starts (it reads the registry then)."""
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        devices.register(
            conn, [devices.Device(DRONE, "drone", ("pm25", "pm10", "no2", "o3", "so2"))]
        )
    return DRONE


def _pack() -> bytes:
    records: list[dict[str, object]] = []
    for minutes, lon, lat, alt, values in SAMPLES:
        moment = (NOW - timedelta(minutes=minutes)).timestamp()
        records += [
            {"t": moment, "n": "lat", "u": "lat", "v": lat},
            {"t": moment, "n": "lon", "u": "lon", "v": lon},
        ]
        if alt is not None:
            records.append({"t": moment, "n": "alt", "u": "m", "v": alt})
        records += [{"t": moment, "n": p, "u": "ug/m3", "v": v} for p, v in values.items()]
    records[0]["bn"] = f"{DRONE}/"
    return json.dumps(records).encode()


def test_published_drone_samples_are_served_as_points_with_their_index(
    air_drone: str, worker: IngestWorker, pg_url: str, broker_url: str, settings: Settings
) -> None:
    publish(broker_url, [(f"{settings.topic_prefix}/drones/{air_drone}/senml", _pack())])
    expected_readings = sum(len(values) for *_, values in SAMPLES)
    wait_for(lambda: worker.stats.stored >= expected_readings)

    with TestClient(create_app(settings, pg_url)) as client:  # public: no sign-in
        response = client.get("/air/drone-samples")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/geo+json"
        served = response.json()
        one = client.get("/air/drone-samples", params={"limit": 1, "drone": air_drone}).json()
        other = client.get("/air/drone-samples", params={"drone": "drone-elsewhere"}).json()
        refused = client.get("/air/drone-samples", params={"table": "pre-2024"})
        backwards = client.get(
            "/air/drone-samples", params={"start": NOW.isoformat(), "end": "2020-01-01T00:00Z"}
        )

    assert served["type"] == "FeatureCollection" and served["table"] == "2024"
    first, second = served["features"]
    assert first["geometry"] == {"type": "Point", "coordinates": [24.8650, 43.7480]}
    assert first["properties"]["time"] == (NOW - timedelta(minutes=40)).isoformat()
    assert first["properties"]["alt_m"] is None
    assert (first["properties"]["band"], first["properties"]["level"]) == (2, "moderate")
    assert first["properties"]["dominant"] == "no2"
    assert {p: s["band"] for p, s in first["properties"]["sub_indices"].items()} == {
        "pm25": 1,
        "no2": 2,
        "o3": 1,
    }
    assert second["geometry"]["coordinates"] == [24.8712, 43.7521]
    assert second["properties"]["alt_m"] == 120.0
    assert (second["properties"]["band"], second["properties"]["level"]) == (1, "fair")
    assert second["properties"]["dominant"] == "pm10"
    subs = second["properties"]["sub_indices"]
    assert {p: (s["concentration"], s["band"]) for p, s in subs.items()} == {
        "pm25": (14.0, 1),
        "pm10": (45.0, 1),
        "so2": (20.0, 0),
    }
    assert [f["properties"]["time"] for f in one["features"]] == [first["properties"]["time"]]
    assert other["features"] == [] and other["numberReturned"] == 0
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert "table=2024" in refused.json()["detail"]
    assert backwards.status_code == 400
