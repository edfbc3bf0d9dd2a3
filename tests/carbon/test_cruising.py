"""Cruising for parking: the estimate worked out by hand from scripted hourly occupancy,
and ``GET /carbon/cruising`` over real PostgreSQL from a lot counter's readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.carbon_scenarios import CruisingAnswer
from auth.principal import Role
from carbon.cruising import CruisingAssumptions, InvalidAssumption, estimate, searching_share
from carbon.factors import parse_table
from harness.credentials import key_headers
from settings import Settings
from storage import devices, migrations
from storage.readings import Reading, ReadingWriter

TABLE = parse_table(
    {
        "version": "test",
        "factor": [
            {
                "carrier": "petrol",
                "year": 1990,
                "t_co2_per_mwh": 0.25,
                "source": "t",
                "confirmed": False,
            },
            {
                "carrier": "petrol",
                "year": 2025,
                "t_co2_per_mwh": 0.2,
                "source": "t",
                "confirmed": False,
            },
        ],
        "unit": [
            {
                "carrier": "petrol",
                "unit": "l",
                "mwh_per_unit": 0.01,
                "source": "t",
                "confirmed": False,
            }
        ],
    }
)


def _hours(start: str, values: list[float]) -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="h", tz="UTC")
    return pd.Series(values, index=index, dtype=float)


def test_searching_starts_at_the_threshold_and_reaches_everyone_when_full() -> None:
    share = searching_share(pd.Series([0.5, 0.85, 0.925, 1.0]).to_numpy(), 0.85)
    assert share.tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0])


def test_extra_vehicle_km_and_tonnes_by_hand_with_each_years_factor() -> None:
    # 100 places; the last two hours are in 2025, where petrol's factor is 0.2
    hours = _hours("2024-12-31 21:00", [0.5, 0.85, 0.925, 1.0])
    start, end = (
        hours.index[0].to_pydatetime(),
        hours.index[-1].to_pydatetime() + timedelta(hours=1),
    )
    found = estimate({"lot-a": (100, hours)}, start, end, CruisingAssumptions(), TABLE)
    (lot,) = found.lots
    # 92.5 cars / 2 h dwell = 46.25 arrivals, half search; 100 / 2 = 50, all search
    assert lot.searching_vehicles == pytest.approx(23.125 + 50)
    # 3.5 min at 15 km/h = 0.875 km a search
    assert lot.vehicle_km == pytest.approx(73.125 * 0.875)
    assert lot.fuel_litres == pytest.approx(73.125 * 0.875 * 0.08)
    # 23.125 searches in 2024 (factor 0.25), 50 in 2025 (0.2), x 0.07 l x 0.01 MWh/l
    assert lot.tco2e == pytest.approx(23.125 * 0.07 * 0.01 * 0.25 + 50 * 0.07 * 0.01 * 0.2)
    assert (lot.hours_with_data, lot.hours_above_threshold) == (4, 3)
    assert found.vehicle_km == lot.vehicle_km and found.tco2e == lot.tco2e
    assert [f[0] for f in found.factors] == [1990, 2025]


def test_a_lot_without_readings_adds_nothing_and_assumptions_are_checked() -> None:
    empty = pd.Series([], dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    found = estimate(
        {"lot-z": (40, empty)}, start, start + timedelta(days=1), CruisingAssumptions(), TABLE
    )
    assert found.lots[0].hours_with_data == 0 and found.tco2e == 0.0
    with pytest.raises(InvalidAssumption, match="search_threshold"):
        CruisingAssumptions(search_threshold=1.0).check()
    with pytest.raises(InvalidAssumption, match="fuel"):
        CruisingAssumptions(fuel="kerosene").check()


DAY = datetime(2025, 3, 10, tzinfo=UTC)
CAPACITY = 20


@pytest.fixture
def lot_db(pg_url: str) -> str:
    """One lot of 20 places whose counter reads, hour by hour from 08:00 on DAY: 19 and
    20 (mean 19.5), 10, 18."""
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        conn.execute(
            "INSERT INTO assets (asset_id, name, kind, lon, lat, properties)"
            " VALUES ('lot-piata', 'Parcarea Piață', 'parking_lot', 24.87, 43.75,"
            " jsonb_build_object('capacity', %s))",
            (CAPACITY,),
        )
        devices.register(
            conn,
            [
                devices.Device(
                    "lot-piata-counter", "parking_counter", ("occupied_spaces",), "lot-piata"
                )
            ],
        )
        h8 = DAY + timedelta(hours=8)
        readings = [
            Reading("lot-piata-counter", "occupied_spaces", h8 + timedelta(minutes=10), 19.0),
            Reading("lot-piata-counter", "occupied_spaces", h8 + timedelta(minutes=40), 20.0),
            Reading("lot-piata-counter", "occupied_spaces", h8 + timedelta(minutes=70), 10.0),
            Reading("lot-piata-counter", "occupied_spaces", h8 + timedelta(minutes=130), 18.0),
        ]
        ReadingWriter(migrations.readings_storage(conn)).write(conn, readings)
        conn.commit()
    return pg_url


def test_cruising_route_from_a_counters_readings(lot_db: str) -> None:
    period = {"start": DAY.isoformat(), "end": (DAY + timedelta(days=1)).isoformat()}
    with TestClient(create_app(Settings(), lot_db)) as client:
        anonymous = client.get("/carbon/cruising", params=period)
        headers = key_headers(lot_db, Role.VIEWER)
        answer = client.get("/carbon/cruising", params=period, headers=headers)
        too_long = client.get(
            "/carbon/cruising",
            params={"start": DAY.isoformat(), "end": (DAY + timedelta(days=400)).isoformat()},
            headers=headers,
        )
        bad = client.get("/carbon/cruising", params=period | {"threshold": 1.5}, headers=headers)
        backwards = client.get(
            "/carbon/cruising",
            params={"start": period["end"], "end": period["start"]},
            headers=headers,
        )
    assert anonymous.status_code == 401
    assert answer.status_code == 200, answer.text
    found = CruisingAnswer.model_validate(answer.json())
    (lot,) = found.lots
    assert (lot.lot_id, lot.capacity, lot.hours_with_data, lot.hours_above_threshold) == (
        "lot-piata",
        20,
        3,
        2,
    )
    # 08:00: 19.5 of 20 = 0.975, share (0.975 - 0.85) / 0.15 = 5/6 of 9.75 arrivals;
    # 10:00: 0.9, share 1/3 of 9 arrivals; 09:00 (0.5) none
    searching = 9.75 * 5 / 6 + 9 / 3
    assert lot.searching_vehicles == pytest.approx(searching)
    assert found.vehicle_km == pytest.approx(searching * 0.875)
    # petrol: 8 l/100 km, 0.00917 MWh/l, 0.249 t/MWh (the shipped table: IPCC 2006)
    assert found.tco2e == pytest.approx(searching * 0.875 * 0.08 * 0.00917 * 0.249, rel=1e-3)
    named = {a.name: a for a in found.assumptions}
    assert named["search_threshold"].value == 0.85 and named["search_threshold"].confirmed
    assert "Shoup" in named["search_minutes"].source
    assert named["dwell_hours"].confirmed is False
    for refused in (too_long, bad, backwards):
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert "366 days" in too_long.json()["detail"]
    assert "search_threshold" in bad.json()["detail"]
