"""Drone water-surface observations set against the gauge, through the real ingest path.

A drone's SenML pack over the Danube is decoded and written as ingestion writes it
(track points and readings); expected surfaces, differences and distances are computed
here (distances geodesically with pyproj.Geod, not in Stereo 70).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from pyproj import Geod

from api.app import create_app
from demo_town.river import DEMO
from harness.credentials import signed_in
from ingest_mqtt.decode import Incoming, decode
from river_monitor.drone_surface import gauge_level_at
from settings import Settings
from storage import devices, migrations
from storage.readings import Reading, ReadingWriter

GAUGE = DEMO.gauges[0]
GAUGE_AT = (24.8700, 43.7340)
NOW = datetime.now(UTC).replace(microsecond=0)
T0 = NOW - timedelta(hours=10)
PASSES = [  # (minutes after T0, lon, lat, water surface m)
    (0, 24.8602, 43.7321, 24.71),
    (30, 24.8751, 43.7335, 24.66),
    (420, 24.8850, 43.7349, 24.95),  # 7 h on: the gauge's 3-hourly reading is older
]


@pytest.fixture
def drone_db(pg_url: str) -> str:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        devices.register(
            conn,
            [
                devices.Device(GAUGE.device_id, "river_gauge", ("water_level",), None, *GAUGE_AT),
                devices.Device("drone-7", "drone", ("water_surface_level",)),
            ],
        )
        writer = ReadingWriter(migrations.readings_storage(conn))
        gauge = [Reading(GAUGE.device_id, "water_level", T0 - timedelta(minutes=5), 520.0)]
        gauge += [Reading(GAUGE.device_id, "water_level", T0 + timedelta(hours=3), 531.0)]
        writer.write(conn, gauge)
        pack: list[dict[str, object]] = []
        for minutes, lon, lat, surface in PASSES:
            moment = (T0 + timedelta(minutes=minutes)).timestamp()
            pack += [
                {"bn": "drone-7/", "t": moment, "n": "lat", "u": "lat", "v": lat},
                {"t": moment, "n": "lon", "u": "lon", "v": lon},
                {"t": moment, "n": "water_surface_level", "u": "m", "v": surface},
            ]
        message = Incoming("city/drones/drone-7/senml", json.dumps(pack).encode(), 0, 1, NOW)
        registry = {"drone-7": frozenset({"water_surface_level"})}
        decoded = decode([message], "city", registry.get)
        assert decoded.dead_letters == []
        writer.write(conn, decoded.readings, track=decoded.track)
        conn.commit()
    return pg_url


def test_drone_observations_are_compared_with_the_gauge(drone_db: str) -> None:
    with signed_in(create_app(Settings(), drone_db), drone_db) as client:
        response = client.get("/river/drone-observations")
        assert response.status_code == 200, response.text
        served = response.json()
        assert (
            client.get(
                "/river/drone-observations",
                params={"start": NOW.isoformat(), "end": T0.isoformat()},
            ).status_code
            == 400
        )
    geod = Geod(ellps="WGS84")
    features = served["features"]
    assert len(features) == len(PASSES)
    # the gauge read 520 at T0 - 5 min and 531 at T0 + 3 h: interpolated in between
    expected_gauge = [520 + 11 * 5 / 185, 520 + 11 * 35 / 185, 531.0]
    for feature, (minutes, lon, lat, surface), level in zip(
        features, PASSES, expected_gauge, strict=True
    ):
        p = feature["properties"]
        assert feature["geometry"]["coordinates"] == [lon, lat]
        assert p["time"] == (T0 + timedelta(minutes=minutes)).isoformat()
        assert p["gauge_level_cm"] == pytest.approx(level, abs=0.05)
        gauge_surface = GAUGE.zero_m + level / 100
        assert p["gauge_surface_m"] == pytest.approx(gauge_surface, abs=1e-3)
        assert p["difference_cm"] == pytest.approx((surface - gauge_surface) * 100, abs=0.1)
        _, _, metres = geod.inv(*GAUGE_AT, lon, lat)
        assert p["distance_from_gauge_m"] == pytest.approx(metres, rel=2e-3)
    assert [f["properties"]["gauge_stale"] for f in features] == [False, False, False]
    summary = served["summary"]
    assert summary["observations"] == summary["compared"] == 3
    differences = sorted(f["properties"]["difference_cm"] for f in features)
    assert summary["median_difference_cm"] == differences[1]


def test_gauge_level_between_readings() -> None:
    hour = timedelta(hours=1)
    before, after = (T0, 500.0), (T0 + 4 * hour, 540.0)
    assert gauge_level_at(T0 + hour, before, after) == (510.0, hour)
    assert gauge_level_at(T0 - hour, None, before) == (500.0, hour)  # only a later one
    assert gauge_level_at(T0 + 5 * hour, after, None) == (540.0, hour)
    assert gauge_level_at(T0, None, None) is None
