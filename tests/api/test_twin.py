"""The twin's API: assets with parcel, zone, sensors and status; playback; spatial questions.

Expected places come from a geopandas spatial join and expected distances from the
Stereo 70 coordinates the layers were drawn in, both computed here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, box

from api.app import create_app
from gis_layers.importer import import_file
from harness.credentials import signed_in
from settings import Settings
from storage import migrations
from storage.readings import Reading, ReadingWriter
from twin.registry import sync_from_layers

X0, Y0 = 489700.0, 250200.0  # Stereo 70
NOW = datetime.now(UTC).replace(microsecond=0)
EARLIER = NOW - timedelta(hours=6)

PARCELS = gpd.GeoDataFrame(
    {"cadastral_number": [f"3000{i}" for i in range(16)]},
    geometry=[
        box(X0 + 60 * i, Y0 + 60 * j, X0 + 60 * i + 55, Y0 + 60 * j + 55)
        for i in range(4)
        for j in range(4)
    ],
    crs="EPSG:3844",
)
ZONES = gpd.GeoDataFrame(
    {"code": ["R1", "C2", "V3"], "name": ["Residential", "Central", "Green"]},
    geometry=[
        box(X0 - 100, Y0 - 100, X0 + 118, Y0 + 400),
        box(X0 + 118, Y0 - 100, X0 + 400, Y0 + 400),
        box(X0 + 400, Y0 - 100, X0 + 600, Y0 + 400),  # no asset stands in it
    ],
    crs="EPSG:3844",
)
ASSETS = gpd.GeoDataFrame(
    {
        "asset_id": ["hospital", "school-1", "school-2", "lot-centru", "gauge", "aq-1", "lot-2"],
        "name": ["Spital", "Școala 1", "Școala 2", "Parcare", "Gauge", "AQ", "Parcare 2"],
        "kind": [
            "hospital",
            "school",
            "school",
            "parking_lot",
            "river_gauge",
            "air_quality_station",
            "parking_lot",
        ],
        "capacity": [300, 400, 250, 2, 0, 0, 40],
    },
    geometry=[
        Point(X0 + 30, Y0 + 30),
        Point(X0 + 90, Y0 + 150),
        Point(X0 + 210, Y0 + 200),
        Point(X0 + 200, Y0 + 100),
        Point(X0 + 100, Y0 - 300),  # outside every parcel and zone
        Point(X0 + 20, Y0 + 200),
        Point(X0 + 230, Y0 + 30),
    ],
    crs="EPSG:3844",
)
SENSORS = gpd.GeoDataFrame(
    {
        "device_id": ["gauge-1", "bay-1", "bay-2", "aq-1", "lot-2-counter"],
        "kind": ["river_gauge", "parking_bay", "parking_bay", "air_quality", "parking_counter"],
        "asset_id": ["gauge", "lot-centru", "lot-centru", "aq-1", "lot-2"],
        "quantities": ["water_level", "occupied", "occupied", "pm25,no2", "occupied_spaces"],
    },
    geometry=[
        Point(X0 + 100, Y0 - 300),
        Point(X0 + 195, Y0 + 100),
        Point(X0 + 205, Y0 + 100),
        Point(X0 + 20, Y0 + 200),
        Point(X0 + 230, Y0 + 30),
    ],
    crs="EPSG:3844",
)


def _write(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    for name, frame in layers.items():
        frame.to_file(path, layer=name)
    return path


@pytest.fixture
def town(pg_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, str, Path]]:
    layers = {"parcels": PARCELS, "zones": ZONES, "assets": ASSETS, "sensors": SENSORS}
    path = _write(tmp_path / "town.gpkg", layers)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        import_file(conn, path)
        sync_from_layers(conn)
        writer = ReadingWriter(migrations.readings_storage(conn))
        writer.write(
            conn,
            [
                Reading("gauge-1", "water_level", EARLIER, 250.0),
                Reading("bay-1", "occupied", EARLIER, 0.0),
                Reading("gauge-1", "water_level", NOW, 312.0),
                Reading("bay-1", "occupied", NOW, 1.0),
                Reading("bay-2", "occupied", NOW, 0.0),
            ],
        )
        conn.commit()
    with signed_in(create_app(Settings(), pg_url), pg_url) as client:
        yield client, pg_url, tmp_path


def _expected_places() -> dict[str, tuple[str | None, str | None]]:
    parcels = gpd.sjoin(ASSETS, PARCELS, how="left", predicate="intersects")
    zones = gpd.sjoin(ASSETS, ZONES, how="left", predicate="intersects")
    return {
        a: (
            None if isinstance(p, float) else p,  # NaN where no parcel
            None if isinstance(z, float) else z,
        )
        for a, p, z in zip(ASSETS.asset_id, parcels.cadastral_number, zones.code, strict=True)
    }


def test_assets_know_their_parcel_and_zone(town: tuple[TestClient, str, Path]) -> None:
    client, _, _ = town
    found = {a["asset_id"]: a for a in client.get("/twin/assets").json()["assets"]}
    expected = _expected_places()
    assert {
        a: ((x["parcel"] or {}).get("cadastral_number"), (x["zone"] or {}).get("code"))
        for a, x in found.items()
    } == expected
    assert expected["gauge"] == (None, None) and expected["hospital"] == ("30000", "R1")
    parcel = client.get(found["hospital"]["parcel"]["href"]).json()
    assert parcel["properties"]["cadastral_number"] == "30000"


def test_one_asset_with_sensors_values_and_status(town: tuple[TestClient, str, Path]) -> None:
    client, _, _ = town
    lot = client.get("/twin/assets/lot-centru").json()
    assert lot["zone"]["code"] == "C2" and lot["kind"] == "parking_lot"
    bays = {s["device_id"]: s for s in lot["sensors"]}
    assert bays["bay-1"]["latest"]["occupied"]["value"] == 1.0
    assert bays["bay-1"]["status"]["label"] == "occupied"
    assert bays["bay-2"]["status"]["label"] == "free"
    # the lot's own state (parking's), not its first bay's
    assert lot["status"]["label"] == "P 1/2 · 1 free"
    assert (lot["status"]["state"], lot["status"]["free"]) == ("open", 1)
    gauge = client.get("/twin/assets/gauge").json()
    assert gauge["status"]["label"] == "Danube 312 cm"
    assert client.get("/twin/assets/hospital").json()["status"]["label"] == "no sensors"
    missing = client.get("/twin/assets/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_snapshot_plays_history_back(town: tuple[TestClient, str, Path]) -> None:
    client, _, _ = town
    now = {a["asset_id"]: a for a in client.get("/twin/snapshot").json()["assets"]}
    assert now["gauge"]["values"] == {"gauge-1": {"water_level": 312.0}}
    assert len(now) == len(ASSETS)
    middle = (EARLIER + timedelta(hours=1)).isoformat()
    then = {
        a["asset_id"]: a
        for a in client.get("/twin/snapshot", params={"at": middle}).json()["assets"]
    }
    assert then["gauge"]["status"]["label"] == "Danube 250 cm"
    assert then["lot-centru"]["values"] == {"bay-1": {"occupied": 0.0}, "bay-2": {}}
    before = (EARLIER - timedelta(minutes=1)).isoformat()
    empty = client.get("/twin/snapshot", params={"at": before}).json()["assets"]
    assert all(not values for a in empty for values in a["values"].values())
    future = (NOW + timedelta(days=1)).isoformat()
    assert client.get("/twin/snapshot", params={"at": future}).status_code == 400


def test_spatial_questions_measure_in_metres(town: tuple[TestClient, str, Path]) -> None:
    client, _, _ = town
    wgs = ASSETS.to_crs("OGC:CRS84")
    origin = wgs.geometry[0]  # the hospital
    xs, ys = ASSETS.geometry.x.to_numpy(), ASSETS.geometry.y.to_numpy()
    metres = np.hypot(xs - xs[0], ys - ys[0])  # in Stereo 70, as drawn
    near = f"{origin.x},{origin.y}"

    within_200 = client.get("/twin/assets", params={"near": near, "distance": "200"}).json()
    expected = [ASSETS.asset_id[i] for i in np.argsort(metres) if metres[i] <= 200]
    assert [a["asset_id"] for a in within_200["assets"]] == expected
    for asset in within_200["assets"]:
        k = list(ASSETS.asset_id).index(asset["asset_id"])
        assert asset["distance_m"] == pytest.approx(metres[k], abs=0.5)  # projection vs drawing

    two = client.get("/twin/assets", params={"near": near, "nearest": "2"}).json()["assets"]
    assert [a["asset_id"] for a in two] == [ASSETS.asset_id[i] for i in np.argsort(metres)[:2]]

    area = ZONES.to_crs("OGC:CRS84").geometry[1]  # the central zone
    inside = client.get("/twin/assets", params={"within": area.wkt}).json()["assets"]
    assert sorted(a["asset_id"] for a in inside) == sorted(
        ASSETS.asset_id[ASSETS.within(ZONES.geometry[1])]
    )
    schools = client.get("/twin/assets", params={"kind": "school", "zone": "R1"}).json()
    assert [a["asset_id"] for a in schools["assets"]] == ["school-1"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"within": "POLYGON((0 0, 1 1"}, "WKT"),
        ({"within": "POINT(1 1)"}, "(Multi)Polygon"),
        ({"distance": "100"}, "need near"),
        ({"near": "24.8"}, "lon,lat"),
        ({"near": "200,45", "distance": "5"}, "outside"),
    ],
)
def test_bad_spatial_questions(town: tuple[TestClient, str, Path], params: dict, says: str) -> None:
    client, _, _ = town
    response = client.get("/twin/assets", params=params)
    assert response.status_code == 400 and says in response.json()["detail"]


def test_places_follow_a_reimported_parcels_layer(town: tuple[TestClient, str, Path]) -> None:
    client, url, tmp = town
    renumbered = PARCELS.assign(cadastral_number=[f"9{n}" for n in PARCELS.cadastral_number])
    path = _write(tmp / "parcels-2026.gpkg", {"parcels": renumbered})
    with psycopg.connect(url) as conn:
        import_file(conn, path)
        sync_from_layers(conn)
    hospital = client.get("/twin/assets/hospital").json()
    assert hospital["parcel"]["cadastral_number"] == "930000"


def test_zone_summaries_over_a_period(town: tuple[TestClient, str, Path]) -> None:
    client, url, _ = town
    hour = timedelta(hours=1)
    with psycopg.connect(url) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn,
            [Reading("aq-1", "pm25", NOW - k * hour, v) for k, v in enumerate([10.0, 30.0, 26.0])]
            + [Reading("aq-1", "no2", NOW - hour, 50.0)]
            + [Reading("bay-2", "occupied", NOW - hour, 1.0)]
            + [
                Reading("lot-2-counter", "occupied_spaces", NOW - k * hour, v)
                for k, v in enumerate([10.0, 30.0])
            ],
        )
        conn.commit()
    period = {"start": (NOW - 3 * hour).isoformat(), "end": (NOW + hour).isoformat()}
    body = client.get("/twin/zones", params=period).json()
    # every zone of the layer, in code order, and never a null one
    assert [z["zone"] for z in body["zones"]] == sorted(ZONES.code)
    found = {z["zone"]: z for z in body["zones"]}
    expected_kinds = ASSETS.assign(
        zone=gpd.sjoin(ASSETS, ZONES, how="left", predicate="intersects").code
    )
    for code, name in zip(ZONES.code, ZONES.name, strict=True):
        in_zone = expected_kinds[expected_kinds.zone == code]
        assert found[code]["name"] == name
        assert found[code]["assets_by_kind"] == dict(sorted(in_zone.kind.value_counts().items()))
        assert found[code]["assets"] == len(in_zone)
    # the zone without assets: zeros, no means
    assert found["V3"] | {"zone": None, "name": None} == {
        "zone": None,
        "name": None,
        "assets": 0,
        "assets_by_kind": {},
        "sensors": 0,
        "parking": {"lots": 0, "capacity": 0, "mean_occupancy": None},
        "air_quality": {"means": {}, "eaqi": None, "eaqi_hours": {}, "eaqi_table": "2024"},
    }
    outside = expected_kinds[expected_kinds.zone.isna()]
    assert body["outside_zones"]["assets_by_kind"] == dict(outside.kind.value_counts().items())
    assert body["outside_zones"]["assets"] == len(outside) == 1
    assert body["outside_zones"]["sensors"] == 1  # the gauge's
    # R1: the air-quality station, pm25 mean of 10, 30, 26 = 22; the 2024 index per hour:
    # PM2.5 10 fair (5-15); 30 with NO2 50 moderate (15-50, 25-60); 26 moderate
    r1 = found["R1"]
    assert r1["air_quality"]["means"] == {"pm25": 22.0, "no2": 50.0}
    assert r1["air_quality"]["eaqi"] == "moderate"
    assert r1["air_quality"]["eaqi_hours"] == {"fair": 1, "moderate": 2}
    assert r1["sensors"] == 1
    # C2: lot-centru (capacity 2) from its bays: bay-1 read 1 in the period (its EARLIER 0
    # is before it), bay-2 read 0 and 1; lot-2 (capacity 40) from its counter: 20 / 40
    c2 = found["C2"]["parking"]
    lot_centru = (1.0 + 0.5) / 2
    assert c2["lots"] == 2 and c2["capacity"] == 42
    assert c2["mean_occupancy"] == pytest.approx((2 * lot_centru + 40 * 0.5) / 42, abs=1e-4)
    assert found["C2"]["sensors"] == 3
    bad = client.get("/twin/zones", params={"start": period["end"], "end": period["start"]})
    assert bad.status_code == 400


def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the live twin did not follow"
        time.sleep(0.05)


def test_live_snapshot_follows_commits_and_syncs(town: tuple[TestClient, str, Path]) -> None:
    """The snapshot is served from the API's live twin: a committed reading and a twin
    sync both show in it without any request having asked the database."""

    def snapshot() -> dict[str, dict]:
        return {a["asset_id"]: a for a in client.get("/twin/snapshot").json()["assets"]}

    client, url, tmp = town
    assert snapshot()["gauge"]["values"] == {"gauge-1": {"water_level": 312.0}}
    with psycopg.connect(url) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn, [Reading("gauge-1", "water_level", NOW + timedelta(seconds=1), 401.0)]
        )
    _eventually(lambda: snapshot()["gauge"]["status"]["label"] == "Danube 401 cm")
    more = pd.concat(
        [
            ASSETS,
            gpd.GeoDataFrame(
                {
                    "asset_id": ["library"],
                    "name": ["Biblioteca"],
                    "kind": ["library"],
                    "capacity": [0],
                },
                geometry=[Point(X0 + 150, Y0 + 150)],
                crs="EPSG:3844",
            ),
        ],
        ignore_index=True,
    )
    path = _write(tmp / "assets-2.gpkg", {"assets": more})
    with psycopg.connect(url) as conn:
        import_file(conn, path)
        sync_from_layers(conn)
    _eventually(lambda: "library" in snapshot())
    assert snapshot()["library"]["zone"] == "C2"
