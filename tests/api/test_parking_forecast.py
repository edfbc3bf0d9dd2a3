"""``GET /parking/lots/{id}/forecast`` over real PostgreSQL, fed by the demo's history.

Three weeks of a lot counter's readings are written as the demo writes them
(hub/demo_history.py); the expected forecast is the model's on hourly means computed
here with pandas from the same readings, not with the route's SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.parking_forecast import ForecastAnswer
from harness.credentials import signed_in
from hub.demo_history import fill_lot_history
from parking.forecast import forecast_lot
from settings import Settings
from storage import devices, migrations

BAYS = {"lot-gara": 60, "lot-piata": 30}  # the station's lot and the market's


@pytest.fixture
def lots_db(pg_url: str) -> str:
    """Two lots with bays and a counter: three weeks of the station's counter, three days
    of the market's."""
    now = datetime.now(UTC)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        for lot, bays in BAYS.items():
            conn.execute(
                "INSERT INTO assets (asset_id, name, kind, lon, lat, properties)"
                " VALUES (%s, %s, 'parking_lot', 24.87, 43.75, jsonb_build_object('capacity', %s))",
                (lot, lot.title(), bays),
            )
            devices.register(
                conn,
                [devices.Device(f"{lot}-counter", "parking_counter", ("occupied_spaces",), lot)]
                + [
                    devices.Device(f"{lot}-b{i:03d}", "parking_bay", ("occupied",), lot)
                    for i in range(bays)
                ],
            )
        assert fill_lot_history(conn, seed=42, now=now, weeks=3) > 0
        # the market's counter keeps three days only
        conn.execute(
            "DELETE FROM readings WHERE device_id = 'lot-piata-counter' AND time < %s",
            (now - timedelta(days=3),),
        )
        # a second fill adds nothing: every counter is up to date
        assert fill_lot_history(conn, seed=42, now=now, weeks=3) == 0
        conn.commit()
    return pg_url


def _hourly_from_readings(pg_url: str, device_id: str, capacity: int, end: datetime) -> pd.Series:
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT time, value FROM readings WHERE device_id = %s AND time < %s",
            (device_id, end),
        ).fetchall()
    raw = pd.Series([v for _, v in rows], index=pd.DatetimeIndex([t for t, _ in rows]))
    return raw.tz_convert("UTC").resample("1h").mean().dropna() / capacity


def test_a_lot_with_weeks_of_history_gets_its_forecast(lots_db: str) -> None:
    with signed_in(create_app(Settings(), lots_db), lots_db) as client:
        response = client.get("/parking/lots/lot-gara/forecast")
        assert response.status_code == 200, response.text
        answer = ForecastAnswer.model_validate(response.json())
        short = client.get("/parking/lots/lot-gara/forecast", params={"hours": 2}).json()

    hour = answer.issued_at.replace(minute=0, second=0, microsecond=0)
    assert answer.capacity == 60
    # the hour before this one is the newest with readings (unless the hour turned since)
    assert hour - timedelta(hours=1) <= answer.model.training_end <= hour
    assert [row.start for row in answer.forecast] == [hour + timedelta(hours=h) for h in range(6)]
    history = _hourly_from_readings(lots_db, "lot-gara-counter", 60, hour)
    expected = forecast_lot(history, 60, now=answer.issued_at)
    assert answer.model.training_start == expected.training_start
    for row, want in zip(answer.forecast, expected.rows, strict=True):
        assert row.occupied == pytest.approx(want.occupied, abs=0.05)
        assert row.free == pytest.approx(60 - row.occupied, abs=0.05)
        i80, i95 = row.intervals
        assert (i80.level, i95.level) == (80, 95)
        assert 0 <= i95.occupied_lower <= i80.occupied_lower <= row.occupied
        assert row.occupied <= i80.occupied_upper <= i95.occupied_upper <= 60
        assert i80.free_upper == pytest.approx(60 - i80.occupied_lower, abs=0.05)
        assert (i80.occupied_lower, i80.occupied_upper) == pytest.approx(want.intervals[80])
    # the second request is served from the same fit
    assert short["forecast"] == response.json()["forecast"][:2]


def test_short_histories_unknown_lots_bad_horizons_and_anonymous_callers_are_refused(
    lots_db: str,
) -> None:
    with signed_in(create_app(Settings(), lots_db), lots_db) as client:
        short = client.get("/parking/lots/lot-piata/forecast")
        missing = client.get("/parking/lots/lot-nowhere/forecast")
        too_far = client.get("/parking/lots/lot-gara/forecast?hours=7")
        too_near = client.get("/parking/lots/lot-gara/forecast?hours=0")
    assert short.status_code == 409
    assert short.headers["content-type"] == "application/problem+json"
    assert short.json()["title"] == "Not enough history"
    assert "2 weeks" in short.json()["detail"]
    assert missing.status_code == 404 and "lot-nowhere" in missing.json()["detail"]
    assert too_far.status_code == too_near.status_code == 400
    with TestClient(create_app(Settings(), lots_db)) as anonymous:
        assert anonymous.get("/parking/lots/lot-gara/forecast").status_code == 401
