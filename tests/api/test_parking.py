"""Parking through the API, over real PostgreSQL: live state per lot, bay and zone, the
operators' actions and what they refuse, the live layers. Every expected figure is
counted by hand from the scripted readings below."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, box

from api.app import create_app
from auth.principal import Role
from gis_layers.importer import import_file
from harness.credentials import HEADER, api_key
from parking.model import Thresholds
from settings import Settings
from storage import migrations
from storage.readings import Reading, ReadingWriter
from twin.registry import sync_from_layers

X0, Y0 = 489700.0, 250200.0  # Stereo 70
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)
"""The town's present: set again by :func:`hub` when a test starts (a module collected
minutes before its tests run would otherwise date its readings as stale)."""
MINUTE = timedelta(minutes=1)
A_BAYS = [f"A{k:02d}" for k in range(1, 11)]
A_OCCUPIED = {"A01", "A02", "A05"}  # 3 of 10
A_COUNTER = 8  # 5 more than its bays: beyond max(2 spaces, 5% of 10)
B_COUNTER = 12  # of 50
C_BAYS = ["lot-c-b1", "lot-c-b2", "lot-c-b3"]  # all occupied: full

ZONES = gpd.GeoDataFrame(
    {"code": ["C1", "R2"], "name": ["Centre", "Residential"]},
    geometry=[box(X0, Y0, X0 + 300, Y0 + 300), box(X0 + 300, Y0, X0 + 600, Y0 + 300)],
    crs="EPSG:3844",
)
PAID = gpd.GeoDataFrame(  # a paid parking zone around lot-a only
    {"code": ["P1"], "name": ["Zona 1"]},
    geometry=[box(X0 + 50, Y0 + 50, X0 + 150, Y0 + 150)],
    crs="EPSG:3844",
)
ASSETS = gpd.GeoDataFrame(
    {
        "asset_id": ["lot-a", "lot-b", "lot-c", "school"],
        "name": ["Parcarea A", "Parcarea B", "Parcarea C", "Școala"],
        "kind": ["parking_lot", "parking_lot", "parking_lot", "school"],
        "capacity": [10, 50, 3, 400],
    },
    geometry=[
        Point(X0 + 100, Y0 + 100),
        Point(X0 + 250, Y0 + 100),
        Point(X0 + 400, Y0 + 100),
        Point(X0 + 200, Y0 + 250),
    ],
    crs="EPSG:3844",
)
BAYS = gpd.GeoDataFrame(  # the town's bay geometries: lot-a's only
    {"bay_id": A_BAYS, "asset_id": ["lot-a"] * 10},
    geometry=[box(X0 + 80 + 2.5 * k, Y0 + 90, X0 + 82.5 + 2.5 * k, Y0 + 95) for k in range(10)],
    crs="EPSG:3844",
)
SENSORS = gpd.GeoDataFrame(
    {
        "device_id": [f"{b}-sensor" for b in A_BAYS] + ["lot-a-counter", "lot-b-counter", *C_BAYS],
        "kind": ["parking_bay"] * 10 + ["parking_counter"] * 2 + ["parking_bay"] * 3,
        "asset_id": ["lot-a"] * 11 + ["lot-b"] + ["lot-c"] * 3,
        "quantities": ["occupied"] * 10 + ["occupied_spaces"] * 2 + ["occupied"] * 3,
        "bay_id": [*A_BAYS, None, None, None, None, None],
    },
    geometry=[Point(X0 + 81 + 2.5 * k, Y0 + 92) for k in range(10)]
    + [Point(X0 + 100, Y0 + 100), Point(X0 + 250, Y0 + 100)]
    + [Point(X0 + 400 + k, Y0 + 100) for k in range(3)],
    crs="EPSG:3844",
)


def _readings() -> list[Reading]:
    found = [
        # A01: free three hours ago, occupied since two hours ago (heartbeats since)
        Reading("A01-sensor", "occupied", NOW - 180 * MINUTE, 0.0),
        Reading("A01-sensor", "occupied", NOW - 120 * MINUTE, 1.0),
        Reading("A01-sensor", "occupied", NOW - 60 * MINUTE, 1.0),
        Reading("A01-sensor", "occupied", NOW - MINUTE, 1.0),
        # A03: free for 30 minutes
        Reading("A03-sensor", "occupied", NOW - 30 * MINUTE, 0.0),
        Reading("A03-sensor", "occupied", NOW - MINUTE, 0.0),
    ]
    for bay in A_BAYS:
        if bay not in ("A01", "A03"):
            found.append(
                Reading(f"{bay}-sensor", "occupied", NOW - MINUTE, float(bay in A_OCCUPIED))
            )
    found.append(Reading("lot-a-counter", "occupied_spaces", NOW - MINUTE, float(A_COUNTER)))
    found.append(Reading("lot-b-counter", "occupied_spaces", NOW - MINUTE, float(B_COUNTER)))
    found += [Reading(f"{b}", "occupied", NOW - MINUTE, 1.0) for b in C_BAYS]
    return found


@dataclass
class Hub:
    client: TestClient
    url: str
    keys: dict[Role, str]

    def get(self, path: str, role: Role | None = None, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self._headers(role), **kwargs)

    def send(self, method: str, path: str, body: object, role: Role | None = None) -> Any:
        headers = self._headers(role or Role.PARKING_OPERATOR)
        return self.client.request(method, path, json=body, headers=headers)

    def _headers(self, role: Role | None) -> dict[str, str]:
        if role is None:
            return {}
        if role not in self.keys:  # made when first needed: each takes a key derivation
            self.keys[role] = api_key(self.url, role)
        return {HEADER: self.keys[role]}


@pytest.fixture
def hub(pg_url: str, tmp_path: Path) -> Iterator[Hub]:
    global NOW
    NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)
    path = tmp_path / "town.gpkg"
    layers = {
        "zones": ZONES,
        "assets": ASSETS,
        "sensors": SENSORS,
        "parking_bays": BAYS,
        "parking_zones": PAID,
    }
    for name, frame in layers.items():
        frame.to_file(path, layer=name)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        import_file(conn, path)
        sync_from_layers(conn)
        writer = ReadingWriter(migrations.readings_storage(conn))
        writer.write(conn, _readings())
        # a late reading of lot-b's counter and a redelivery: neither changes its figure
        writer.write(conn, [Reading("lot-b-counter", "occupied_spaces", NOW - 10 * MINUTE, 45.0)])
        writer.write(
            conn, [Reading("lot-b-counter", "occupied_spaces", NOW - MINUTE, float(B_COUNTER))]
        )
        conn.commit()
    with TestClient(create_app(Settings(), pg_url)) as client:
        yield Hub(client, pg_url, {})


def _lots(hub: Hub) -> dict[str, dict]:
    answer = hub.get("/parking/lots")  # public
    assert answer.status_code == 200, answer.text
    return {lot["lot_id"]: lot for lot in answer.json()["lots"]}


def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not followed in time"
        time.sleep(0.05)


def test_live_state_per_lot(hub: Hub) -> None:
    lots = _lots(hub)
    a, b, c = lots["lot-a"], lots["lot-b"], lots["lot-c"]
    assert (a["capacity"], a["occupied"], a["free"], a["status"]) == (10, 3, 7, "open")
    assert a["source"] == "both" and a["bays_occupied"] == 3 and a["counter_occupied"] == 8
    assert a["drift"] == A_COUNTER - len(A_OCCUPIED)
    assert [f["code"] for f in a["flags"]] == ["counter_drift"]
    assert 55 <= a["data_age_s"] < 120
    # lot-b: its counter's latest, not the late reading delivered after it
    assert (b["occupied"], b["free"], b["source"], b["status"]) == (12, 38, "counter", "open")
    assert (c["occupied"], c["free"], c["status"], c["source"]) == (3, 0, "full", "bays")
    assert a["zone"] == {"code": "C1", "name": "Centre"}
    assert "school" not in lots


def test_a_lot_with_its_bays_since_when_and_last_heard(hub: Hub) -> None:
    assert hub.get("/parking/lots/lot-a").status_code == 401  # bays: signed-in users
    lot = hub.get("/parking/lots/lot-a", Role.VIEWER).json()
    bays = {bay["bay_id"]: bay for bay in lot["bays"]}
    assert sorted(bays) == A_BAYS
    assert bays["A01"]["status"] == "occupied"
    assert bays["A01"]["since"] == (NOW - 120 * MINUTE).isoformat()
    assert bays["A01"]["last_heard"] == (NOW - MINUTE).isoformat()
    assert bays["A03"]["status"] == "free"
    assert bays["A03"]["since"] == (NOW - 30 * MINUTE).isoformat()
    assert bays["A02"]["since"] == (NOW - MINUTE).isoformat()
    missing = hub.get("/parking/lots/lot-zz", Role.VIEWER)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "lot-zz" in missing.json()["detail"]


def test_a_closed_lot_is_closed_whatever_its_sensors_say(hub: Hub) -> None:
    until = (NOW + timedelta(days=1)).isoformat()
    answer = hub.send("POST", "/parking/lots/lot-c/close", {"reason": "market day", "until": until})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "closed"
    lot = _lots(hub)["lot-c"]
    assert lot["status"] == "closed" and lot["occupied"] == 3  # the sensors still say full
    assert lot["closure"]["reason"] == "market day" and lot["closure"]["until"] == until
    # the twin asks parking: its asset, its live snapshot, the live layer
    twin = hub.get("/twin/assets/lot-c", Role.VIEWER).json()
    assert twin["status"]["state"] == "closed" and twin["status"]["label"] == "P closed"

    def snapshot_state() -> str:
        assets = hub.get("/twin/snapshot", Role.VIEWER).json()["assets"]
        return str({a["asset_id"]: a for a in assets}["lot-c"]["status"]["state"])

    _eventually(lambda: snapshot_state() == "closed")
    items = hub.get("/collections/parking_lots/items", params={"status": "closed"}).json()
    assert [f["properties"]["lot_id"] for f in items["features"]] == ["lot-c"]
    # a bay reporting free changes nothing: closed is closed
    with psycopg.connect(hub.url) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn, [Reading("lot-c-b1", "occupied", NOW, 0.0)]
        )
    _eventually(lambda: _lots(hub)["lot-c"]["occupied"] == 2)  # the live state follows
    assert _lots(hub)["lot-c"]["status"] == "closed"
    reopened = hub.send("POST", "/parking/lots/lot-c/reopen", {"reason": "market over"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    _eventually(lambda: snapshot_state() == "open")
    # each action in the lot's history, with its values, and in the audit log
    actions = hub.get("/parking/lots/lot-c", Role.VIEWER).json()["actions"]
    assert [(x["action"], x["reason"]) for x in actions] == [
        ("reopen", "market over"),
        ("close", "market day"),
    ]
    audit = hub.get("/audit", Role.ADMIN, params={"route": "/parking/lots/{lot_id}/close"}).json()
    [entry] = audit["entries"]
    assert entry["outcome"] == 200 and entry["target"] == {"lot_id": "lot-c"}
    assert entry["subject"] == "tests-parking_operator"


def test_actions_need_the_parking_operator_role(hub: Hub) -> None:
    body = {"reason": "x"}
    assert hub.send("POST", "/parking/lots/lot-a/close", body, Role.PLANNER).status_code == 403
    anonymous = hub.client.post("/parking/lots/lot-a/close", json=body)
    assert anonymous.status_code == 401
    assert _lots(hub)["lot-a"]["status"] == "open"


def test_capacity_counter_and_bay_actions(hub: Hub) -> None:
    lot = hub.send("PUT", "/parking/lots/lot-b/capacity", {"capacity": 40, "reason": "resurfaced"})
    assert (lot.json()["capacity"], lot.json()["free"]) == (40, 28)
    # the operator counts 20 cars where the counter says 12: +8 from here on
    fixed = hub.send(
        "POST", "/parking/lots/lot-b/counter-correction", {"occupied": 20, "reason": "counted"}
    )
    assert fixed.status_code == 200 and fixed.json()["occupied"] == 20
    with psycopg.connect(hub.url) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn, [Reading("lot-b-counter", "occupied_spaces", NOW, 14.0)]
        )
    _eventually(lambda: _lots(hub)["lot-b"]["occupied"] == 22)  # within the notification's delay
    back = hub.send("PUT", "/parking/lots/lot-b/capacity", {"capacity": None, "reason": "undo"})
    assert back.json()["capacity"] == 50
    # a bay out of service leaves lot-a's places and count: A05 was occupied
    out = hub.send("POST", "/parking/bays/A05/out-of-service", {"reason": "line painting"})
    assert out.status_code == 200, out.text
    state = out.json()
    assert (state["capacity"], state["occupied"], state["bays_out_of_service"]) == (9, 2, 1)
    assert {b["bay_id"]: b["status"] for b in state["bays"]}["A05"] == "out_of_service"
    again = hub.send("POST", "/parking/bays/A05/in-service", {})
    assert (again.json()["capacity"], again.json()["occupied"]) == (10, 3)


def _count_writes(url: str) -> tuple[int, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM parking_actions),"
            " (SELECT count(*) FROM parking_lot_overrides),"
            " (SELECT count(*) FROM parking_bay_service)"
        ).fetchone()
    assert row is not None
    return tuple(row)


PAST = (NOW - timedelta(hours=1)).isoformat()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("POST", "/parking/lots/lot-zz/close", {"reason": "x"}, 404, "no parking lot 'lot-zz'"),
        ("POST", "/parking/lots/school/close", {"reason": "x"}, 404, "no parking lot 'school'"),
        ("POST", "/parking/lots/lot-a/close", {"reason": " "}, 400, "a reason is required"),
        ("POST", "/parking/lots/lot-a/close", {"reason": "x", "until": PAST}, 400, "not in the"),
        (
            "POST",
            "/parking/lots/lot-a/close",
            {"reason": "x", "until": "2031-01-01T10:00:00"},
            400,
            "UTC offset",
        ),
        ("POST", "/parking/lots/lot-a/reopen", {}, 409, "is not closed"),
        ("PUT", "/parking/lots/lot-a/capacity", {"capacity": 0, "reason": "x"}, 400, "1..100000"),
        ("PUT", "/parking/lots/lot-a/capacity", {"capacity": -5, "reason": "x"}, 400, "got -5"),
        (
            "PUT",
            "/parking/lots/lot-a/capacity",
            {"capacity": "many", "reason": "x"},
            400,
            "capacity",
        ),
        (
            "POST",
            "/parking/lots/lot-b/counter-correction",
            {"occupied": -1, "reason": "x"},
            400,
            "within 0..100000; got -1",
        ),
        (
            "POST",
            "/parking/lots/lot-b/counter-correction",
            {"occupied": 51, "reason": "x"},
            400,
            "exceeds the lot's capacity 50",
        ),
        (
            "POST",
            "/parking/lots/lot-c/counter-correction",
            {"occupied": 1, "reason": "x"},
            409,
            "no counter reading",
        ),
        ("POST", "/parking/bays/Z99/out-of-service", {"reason": "x"}, 404, "no parking bay 'Z99'"),
        ("POST", "/parking/bays/A01/in-service", {}, 409, "is not out of service"),
        (
            "POST",
            "/parking/bays/A01/out-of-service",
            {"reason": "x", "licence_plate": "TR-01-ABC"},
            400,
            "licence_plate",
        ),
    ],
)
def test_bad_actions_answer_a_problem_and_write_nothing(
    hub: Hub, method: str, path: str, body: dict, status: int, says: str
) -> None:
    before = _count_writes(hub.url)
    answer = hub.send(method, path, body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == status and says in answer.json()["detail"]
    assert _count_writes(hub.url) == before


def test_zones_by_urbanism_and_paid_zone(hub: Hub) -> None:
    found = hub.get("/parking/zones").json()  # public
    zones = {z["zone"]: z for z in found["urbanism_zones"]}
    # C1: lot-a (10, 3 occupied) and lot-b (50, 12); R2: lot-c (3, full)
    assert (zones["C1"]["capacity"], zones["C1"]["occupied"], zones["C1"]["free"]) == (60, 15, 45)
    assert zones["C1"]["lots"] == ["lot-a", "lot-b"]
    assert zones["R2"]["by_status"] == {"full": 1} and zones["R2"]["free"] == 0
    [paid] = found["paid_zones"]
    assert (paid["zone"], paid["lots"], paid["occupied"]) == ("P1", ["lot-a"], 3)


def test_live_layers_serve_the_state_like_any_layer(hub: Hub) -> None:
    listed = {c["id"] for c in hub.get("/collections").json()["collections"]}
    assert "parking_lots" in listed and "parking_bays" not in listed  # bays: not public
    lots = hub.get("/collections/parking_lots/items").json()
    by_id = {f["properties"]["lot_id"]: f for f in lots["features"]}
    assert by_id["lot-a"]["properties"]["flags"] == "counter_drift"
    assert by_id["lot-c"]["properties"]["status"] == "full"
    lon, lat = by_id["lot-a"]["geometry"]["coordinates"]
    expected = gpd.GeoSeries([ASSETS.geometry[0]], crs="EPSG:3844").to_crs("OGC:CRS84")[0]
    assert (lon, lat) == pytest.approx((expected.x, expected.y), abs=1e-9)
    full = hub.get("/collections/parking_lots/items", params={"filter": "free = 0"}).json()
    assert [f["properties"]["lot_id"] for f in full["features"]] == ["lot-c"]
    # bays: the town's rectangles with their live state merged in
    bays = hub.get("/collections/parking_bays/items", Role.VIEWER).json()
    states = {f["properties"]["bay_id"]: f["properties"] for f in bays["features"]}
    assert {b for b, p in states.items() if p["status"] == "occupied"} == A_OCCUPIED
    assert states["A01"]["asset_id"] == "lot-a" and states["A01"]["lot_id"] == "lot-a"
    assert bays["features"][0]["geometry"]["type"] == "Polygon"
    # as vector tiles: the tile holding lot-a at zoom 18
    tile = hub.get(
        "/collections/parking_bays/tiles/WebMercatorQuad/18/{}/{}".format(*_tile(lon, lat, 18)),
        Role.VIEWER,
    )
    assert tile.status_code == 200 and len(tile.content) > 0
    assert tile.headers["content-type"] == "application/vnd.mapbox-vector-tile"


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Row and column of the WebMercatorQuad tile holding a point (independently of the
    hub: the standard slippy-map formula)."""
    import math

    n = 2**z
    col = int((lon + 180) / 360 * n)
    row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return row, col


def _day_of_events(day: datetime) -> list[Reading]:
    """A scripted day of lot-c's three bays (times in hours after ``day``'s midnight),
    heartbeats, a duplicate and a reading delivered out of order included."""

    def at(bay: str, hours: float, value: float) -> Reading:
        return Reading(bay, "occupied", day + timedelta(hours=hours), value)

    b1, b2, b3 = C_BAYS
    return [
        at(b1, 9.5, 0.0),  # delivered before the arrival it ends
        at(b1, -2, 0.0),  # free before the day
        at(b1, 8, 1.0),  # arrival
        at(b1, 8.5, 1.0),  # heartbeat
        at(b1, 12, 1.0),  # arrival
        at(b1, 12.75, 0.0),  # stay of 45 min
        at(b1, 18, 1.0),  # arrival, still there at midnight: no stay
        at(b2, -4, 1.0),  # occupied before the day
        at(b2, 7, 0.0),  # leaves: not a stay of the day
        at(b2, 10, 1.0),
        at(b2, 11, 0.0),  # 60 min
        at(b2, 14, 1.0),
        at(b2, 16, 0.0),  # 120 min
        at(b3, 9, 1.0),  # its first reading ever: not an arrival
        at(b3, 10, 0.0),
        at(b3, 13, 1.0),
        at(b3, 13.5, 0.0),  # 30 min
    ]


def test_turnover_and_dwell_times_of_a_scripted_day(hub: Hub) -> None:
    day = (NOW - timedelta(days=2)).replace(hour=0, minute=0, second=0)
    events = _day_of_events(day)
    with psycopg.connect(hub.url) as conn:
        writer = ReadingWriter(migrations.readings_storage(conn))
        writer.write(conn, events)
        writer.write(conn, events[:3])  # redelivered: stored once
    params = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
    assert hub.get("/parking/lots/lot-c/turnover", params=params).status_code == 401
    found = hub.get("/parking/lots/lot-c/turnover", Role.VIEWER, params=params).json()
    # by hand: arrivals b1 3 (08:00, 12:00, 18:00), b2 2, b3 1 -> 6 over 3 bays and 1 day;
    # stays 90 (b1 08:00-09:30), 45, 60, 120, 30 min: sorted 30 45 60 90 120, median 60,
    # 90th percentile at rank 0.9 x 4 = 3.6: 90 + 0.6 x (120 - 90) = 108
    assert found["lot"] == {
        "bays": 3,
        "days": 1.0,
        "arrivals": 6,
        "turnover_per_bay_per_day": 2.0,
        "stays": 5,
        "dwell_median_min": 60.0,
        "dwell_p90_min": 108.0,
    }
    bays = {b["bay_id"]: b for b in found["bays"]}
    b1 = bays["lot-c-b1"]
    # b1's stays 45 and 90: median 67.5, 90th percentile 45 + 0.9 x 45 = 85.5
    assert (b1["arrivals"], b1["dwell_median_min"], b1["dwell_p90_min"]) == (3, 67.5, 85.5)
    assert (bays["lot-c-b3"]["arrivals"], bays["lot-c-b3"]["stays"]) == (1, 1)
    too_long = {"start": (day - timedelta(days=40)).isoformat(), "end": params["end"]}
    refused = hub.get("/parking/lots/lot-c/turnover", Role.VIEWER, params=too_long)
    assert refused.status_code == 400 and "31 days" in refused.json()["detail"]
    assert hub.get("/parking/lots/lot-zz/turnover", Role.VIEWER).status_code == 404


def test_a_lot_whose_counter_falls_silent_turns_to_sensor_fault_with_no_reading(
    hub: Hub,
) -> None:
    # lot-b's counter (its only sensor) last heard a little under the 5 minutes after
    # which it is stale: fresh on arrival, stale seconds later, no reading in between
    heard = datetime.now(UTC) - Thresholds().counter_stale_after + timedelta(seconds=20)
    with psycopg.connect(hub.url) as conn:
        for table in ("latest_readings", "readings"):
            conn.execute(f"DELETE FROM {table} WHERE device_id = 'lot-b-counter'")
        conn.commit()
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn, [Reading("lot-b-counter", "occupied_spaces", heard, float(B_COUNTER))]
        )

    def states() -> tuple[str, str, str]:
        lot = _lots(hub)["lot-b"]["status"]
        shown = hub.get("/twin/snapshot", Role.VIEWER).json()["assets"]
        listed = hub.get("/twin/assets", Role.VIEWER, params={"kind": "parking_lot"})
        return (
            lot,
            {a["asset_id"]: a for a in shown}["lot-b"]["status"]["state"],
            {a["asset_id"]: a for a in listed.json()["assets"]}["lot-b"]["status"]["state"],
        )

    # the reading is followed (the live lots may first have loaded with none)
    _eventually(lambda: (_lots(hub)["lot-b"]["data_age_s"] or 0) > 280)
    assert states()[0] == "open"
    _eventually(lambda: states() == ("sensor_fault",) * 3, seconds=45)
    assert "stale" in [f["code"] for f in _lots(hub)["lot-b"]["flags"]]
    with psycopg.connect(hub.url) as conn:  # what the time alone did
        held = conn.execute("SELECT count(*) FROM readings WHERE device_id = 'lot-b-counter'")
        assert held.fetchone() == (1,)
