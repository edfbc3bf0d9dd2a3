"""``GET /parking/nearest`` over real PostgreSQL: a small town whose distances are worked
out by hand here, its free places from bay and counter readings, its bad requests, a
re-imported street layer, and the demo town against straight-line lower bounds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from pyproj import Geod, Transformer
from shapely.geometry import LineString, Point

from api.app import create_app
from auth.principal import Role
from gis_layers.catalogue import set_public
from gis_layers.importer import import_file
from harness.credentials import key_headers
from settings import Settings
from storage import migrations
from storage.readings import Reading, ReadingWriter
from tests import backends
from twin.registry import sync_from_layers

X0, Y0 = 489_700.0, 250_200.0  # Turnu Măgurele in Stereo 70
CRS = "EPSG:3844"
TO_WGS84 = Transformer.from_crs(CRS, "OGC:CRS84", always_xy=True)
TO_STEREO70 = Transformer.from_crs("OGC:CRS84", CRS, always_xy=True)
GEOJSON = "application/geo+json"


def xy(x: float, y: float) -> tuple[float, float]:
    return X0 + x, Y0 + y


def lonlat(x: float, y: float) -> dict[str, float]:
    """Query parameters of the point ``x`` m east and ``y`` m north of the centre."""
    lon, lat = TO_WGS84.transform(*xy(x, y))
    return {"lon": lon, "lat": lat}


# A block of 300 m x 200 m drawn as four streets, and a street on an island.
STREETS = [
    ((0, 0), (300, 0)),
    ((0, 0), (0, 200)),
    ((0, 200), (300, 200)),
    ((300, 0), (300, 200)),
    ((1000, 0), (1100, 0)),
]
LOTS = {
    # id: (position, capacity)
    "lot-bays": ((250, 10), 2),  # two bays, one taken: 1 free
    "lot-counter": ((-10, 150), 30),  # counter at 10: 20 free
    "lot-full": ((150, 210), 5),  # counter at 5: none free
    "lot-island": ((1050, 10), 20),  # counter at 0: 20 free, no street leads there
}
SCHOOL = (200, -20)
ORIGIN = (100, -10)  # 10 m south of the bottom street, 100 m along it


def streets_frame(extra: list[tuple[tuple[int, int], tuple[int, int]]]) -> gpd.GeoDataFrame:
    lines = [LineString([xy(*a), xy(*b)]) for a, b in STREETS + extra]
    return gpd.GeoDataFrame(
        {"name": [f"Strada {k}" for k in range(len(lines))]}, geometry=lines, crs=CRS
    )


def build_town(url: str, folder: Path) -> None:
    """Import the town into the empty database ``url``, with its latest readings."""
    assets = gpd.GeoDataFrame(
        {
            "asset_id": [*LOTS, "school"],
            "name": [*(k.title() for k in LOTS), "Școala"],
            "kind": ["parking_lot"] * len(LOTS) + ["school"],
            "capacity": [c for _, c in LOTS.values()] + [300],
        },
        geometry=[Point(xy(*p)) for p, _ in LOTS.values()] + [Point(xy(*SCHOOL))],
        crs=CRS,
    )
    devices = [
        ("bay-1", "parking_bay", "lot-bays", "occupied"),
        ("bay-2", "parking_bay", "lot-bays", "occupied"),
        *((f"{lot}-counter", "parking_counter", lot, "occupied_spaces") for lot in LOTS),
    ]
    sensors = gpd.GeoDataFrame(
        devices,
        columns=["device_id", "kind", "asset_id", "quantities"],
        geometry=[Point(xy(*LOTS[d[2]][0])) for d in devices],
        crs=CRS,
    )
    path = folder / "town.gpkg"
    for name, frame in (("streets", streets_frame([])), ("assets", assets), ("sensors", sensors)):
        frame.to_file(path, layer=name)
    now = datetime.now(UTC)
    counted = {"lot-bays": 2.0, "lot-counter": 10.0, "lot-full": 5.0, "lot-island": 0.0}
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        import_file(conn, path)
        set_public(conn, "streets", True)
        sync_from_layers(conn)
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn,
            [
                Reading("bay-1", "occupied", now, 1.0),
                Reading("bay-2", "occupied", now, 0.0),
                # where both report, the bays (1 of 2 taken) win over the counter (2)
                *(
                    Reading(f"{lot}-counter", "occupied_spaces", now, v)
                    for lot, v in counted.items()
                ),
            ],
        )


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory, pg_server: str) -> Iterator[str]:
    with backends.fresh_database(pg_server) as url:
        build_town(url, tmp_path_factory.mktemp("nearest"))
        yield url


@pytest.fixture(scope="module")
def client(town: str) -> Iterator[TestClient]:
    """An anonymous client (the street layer is public)."""
    with TestClient(create_app(Settings(), town)) as anonymous:
        yield anonymous


def ranked(answer: dict[str, Any]) -> list[tuple[str, float]]:
    return [(f["id"], f["properties"]["distance_m"]) for f in answer["features"]]


def test_lots_with_free_places_are_ranked_by_their_way_along_the_streets(
    client: TestClient,
) -> None:
    response = client.get("/parking/nearest", params=lonlat(*ORIGIN))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == GEOJSON
    answer = response.json()
    assert answer["type"] == "FeatureCollection" and answer["method"] == "network"
    # 10 m to the street; 150 m east along it; 10 m to the lot. Lot-counter: 100 m west,
    # 150 m north, 10 m west (the other way round is 750 m along the streets).
    assert ranked(answer) == [("lot-bays", 170.0), ("lot-counter", 270.0)]
    assert [f["properties"]["free"] for f in answer["features"]] == [1, 20]
    assert answer["unreachable"] == ["lot-island"]
    assert answer["origin"]["snap_m"] == 10.0
    way = answer["features"][1]["geometry"]
    assert way["type"] == "LineString"
    xs, ys = TO_STEREO70.transform(*np.array(way["coordinates"]).T)
    corners = [(round(x - X0, 1), round(y - Y0, 1)) for x, y in zip(xs, ys, strict=True)]
    assert corners == [(100, -10), (100, 0), (0, 0), (0, 150), (-10, 150)]


def test_min_free_and_limit(client: TestClient) -> None:
    everything = client.get("/parking/nearest", params={**lonlat(*ORIGIN), "min_free": 0}).json()
    # lot-full: 100 m east + 200 m north + 150 m west along the top (the other way 550 m)
    assert ranked(everything) == [("lot-bays", 170.0), ("lot-counter", 270.0), ("lot-full", 470.0)]
    two = client.get("/parking/nearest", params={**lonlat(*ORIGIN), "min_free": 2}).json()
    assert ranked(two) == [("lot-counter", 270.0)]
    one = client.get("/parking/nearest", params={**lonlat(*ORIGIN), "limit": 1}).json()
    assert ranked(one) == [("lot-bays", 170.0)] and one["numberMatched"] == 2


def test_an_asset_as_origin_needs_a_signed_in_caller(client: TestClient, town: str) -> None:
    anonymous = client.get("/parking/nearest", params={"asset": "school"})
    assert anonymous.status_code == 401
    signed = client.get(
        "/parking/nearest", params={"asset": "school"}, headers=key_headers(town, Role.VIEWER)
    )
    assert signed.status_code == 200, signed.text
    # 20 m to the street, then 50 m east or 200 m west and 150 m north, 10 m to the lot
    assert ranked(signed.json()) == [("lot-bays", 80.0), ("lot-counter", 380.0)]


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"lon": 24.87, "lat": 91}, 400, "lat"),
        ({**lonlat(*ORIGIN), "min_free": -1}, 400, "min_free"),
        ({**lonlat(*ORIGIN), "limit": 0}, 400, "limit"),
        ({"lon": 24.87}, 400, "lon and lat go together"),
        ({}, 400, "give one origin"),
        ({**lonlat(*ORIGIN), "address": "Strada 1"}, 400, "got lon/lat, address"),
        ({**lonlat(50_000, 0)}, 400, "from the nearest street"),
        ({"address": "Strada Mare 1"}, 404, "no address points"),
    ],
)
def test_bad_requests_are_problems_that_say_why(
    client: TestClient, params: dict[str, Any], status: int, says: str
) -> None:
    response = client.get("/parking/nearest", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"]


def test_an_unknown_asset_is_not_found(client: TestClient, town: str) -> None:
    response = client.get(
        "/parking/nearest", params={"asset": "nope"}, headers=key_headers(town, Role.VIEWER)
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "no asset 'nope'; see /twin/assets"


# --- changes to the town -----------------------------------------------------------------


@pytest.fixture
def changing_town(pg_url: str, tmp_path: Path) -> str:
    build_town(pg_url, tmp_path)
    return pg_url


def test_a_reimported_street_layer_is_routed_at_once(changing_town: str, tmp_path: Path) -> None:
    everything = {**lonlat(*ORIGIN), "min_free": 0}
    with TestClient(create_app(Settings(), changing_town)) as client:
        before = client.get("/parking/nearest", params=everything).json()
        assert ("lot-full", 470.0) in ranked(before)
        path = tmp_path / "streets.gpkg"
        streets_frame([((100, 0), (100, 200))]).to_file(path, layer="streets")  # a short cut
        with psycopg.connect(changing_town) as conn:
            import_file(conn, path)
        after = client.get("/parking/nearest", params=everything).json()
        # 10 m, 200 m north along the new street, 50 m east along the top, 10 m
        assert ("lot-full", 270.0) in ranked(after)
        assert after["network"]["edges"] == before["network"]["edges"] + 3  # 2 split + 1


def test_addresses_and_a_town_without_streets(changing_town: str, tmp_path: Path) -> None:
    path = tmp_path / "addresses.gpkg"
    gpd.GeoDataFrame(
        {"address": ["Strada Mare 1"]}, geometry=[Point(xy(*ORIGIN))], crs=CRS
    ).to_file(path, layer="addresses")
    with psycopg.connect(changing_town) as conn:
        import_file(conn, path)
    with TestClient(create_app(Settings(), changing_town)) as client:
        by_address = client.get("/parking/nearest", params={"address": "strada mare 1"}).json()
        assert ranked(by_address) == [("lot-bays", 170.0), ("lot-counter", 270.0)]
        with psycopg.connect(changing_town) as conn:
            set_public(conn, "streets", False)
        refused = client.get("/parking/nearest", params=lonlat(*ORIGIN))
        assert refused.status_code == 401  # the streets are not public
        with psycopg.connect(changing_town) as conn:
            conn.execute("DELETE FROM layers WHERE layer_id = 'streets'")
        straight = client.get("/parking/nearest", params=lonlat(*ORIGIN)).json()
    assert straight["method"] == "straight-line" and straight["network"] is None
    # in straight lines the island's lot is reached too
    expected = {
        lot: float(np.hypot(p[0] - ORIGIN[0], p[1] - ORIGIN[1]))
        for lot, (p, _) in LOTS.items()
        if lot != "lot-full"
    }
    found = dict(ranked(straight))
    assert found == pytest.approx(expected, abs=0.5)  # Stereo 70's scale error: < 0.5 m


# --- the demo town -----------------------------------------------------------------------


def test_the_demo_towns_lots_are_reached_by_its_streets(demo_db: str) -> None:
    from demo_town.catalogue import PARKING_LOTS

    with psycopg.connect(demo_db) as conn:
        row = conn.execute("SELECT lon, lat FROM assets WHERE asset_id = 'town-hall'").fetchone()
    assert row is not None
    origin = {"lon": row[0], "lat": row[1]}
    with TestClient(create_app(Settings(), demo_db)) as client:
        answer = client.get(
            "/parking/nearest", params={**origin, "min_free": 0, "limit": 10}
        ).json()
    assert answer["method"] == "network" and answer["unreachable"] == []
    assert {f["id"] for f in answer["features"]} == {lot.asset_id for lot in PARKING_LOTS}
    distances = [f["properties"]["distance_m"] for f in answer["features"]]
    assert distances == sorted(distances)
    geod = Geod(ellps="WGS84")
    for feature in answer["features"]:
        lot_lon, lot_lat = feature["properties"]["lot"]
        crow = geod.inv(origin["lon"], origin["lat"], lot_lon, lot_lat)[2]
        # no way along streets is shorter than the straight line, nor the line drawn
        assert feature["properties"]["distance_m"] >= crow - 1.0
        assert feature["geometry"]["coordinates"][0] == pytest.approx([row[0], row[1]])
        assert feature["geometry"]["coordinates"][-1] == pytest.approx([lot_lon, lot_lat])
        coords = np.array(feature["geometry"]["coordinates"])
        drawn = geod.line_length(coords[:, 0], coords[:, 1])
        assert drawn == pytest.approx(feature["properties"]["distance_m"], rel=0.002, abs=1.0)
