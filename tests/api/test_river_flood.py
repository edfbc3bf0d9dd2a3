"""``/river/flood`` and the ``flood_extents`` layer on the demo town.

Expected impacts come from a flood model built here straight from the demo files (the
GeoPackage and the GeoTIFF), not from the database the API reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely
from pyproj import Transformer
from rasterio.io import MemoryFile

from api.app import create_app
from demo_town.river import DEMO
from gis_layers.rasters import register
from harness.credentials import signed_in
from river_monitor.flood import FloodModel
from river_monitor.town_flood import EXTENTS_LAYER, TownFlood, refresh_extents
from settings import Settings
from storage import migrations
from storage.readings import Reading, ReadingWriter

GAUGE = DEMO.gauges[0]


@pytest.fixture(scope="module")
def expected(demo_files: Path) -> FloodModel:
    return FloodModel.from_files(demo_files.with_name("dem.tif"), demo_files)


@pytest.fixture
def flood_db(demo_db: str, demo_files: Path) -> str:
    with psycopg.connect(demo_db) as conn:
        register(conn, demo_files.with_name("dem.tif"), name="terrain")
    return demo_db


def test_flood_at_a_level_matches_the_model_of_the_files(
    flood_db: str, expected: FloodModel
) -> None:
    with signed_in(create_app(Settings(), flood_db), flood_db) as client:
        response = client.get("/river/flood", params={"level_cm": 650})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/geo+json"
        served = response.json()
    truth = expected.assess(GAUGE.surface_m(650))
    assert served["summary"] == truth["summary"]
    assert served["impact"]["parcels"] == truth["parcels"]
    assert served["impact"]["buildings"] == truth["buildings"]
    assert (served["code"], served["water_surface_m"]) == ("red", 26.0)
    assert truth["summary"]["parcels"] > 0, "the danger level floods parcels in the demo town"
    # the polygons cover the flooded area (measured in Stereo 70, not in degrees)
    (feature,) = served["features"]
    to_stereo = Transformer.from_crs("OGC:CRS84", "EPSG:3844", always_xy=True)
    area = shapely.transform(
        shapely.geometry.shape(feature["geometry"]), to_stereo.transform, interleaved=False
    ).area
    assert area == pytest.approx(truth["summary"]["flooded_area_m2"], rel=0.02)


def test_depth_raster_of_the_flood(flood_db: str, expected: FloodModel) -> None:
    with signed_in(create_app(Settings(), flood_db), flood_db) as client:
        response = client.get("/river/flood/depth.tif", params={"level_cm": 550})
        assert response.status_code == 200, response.text
        dry = client.get("/river/flood/depth.tif", params={"level_cm": -900})
        assert dry.status_code == 404
    truth = expected.depth(expected.extent(GAUGE.surface_m(550)))
    with MemoryFile(response.content) as memory, memory.open() as tiff:
        assert tiff.crs.to_epsg() == 3844
        depth = tiff.read(1)
        # the crop sits where the model's grid has it
        col, row = ~expected.transform * (tiff.transform.c, tiff.transform.f)
        r, c = round(row), round(col)
        window = truth[r : r + tiff.height, c : c + tiff.width]
    np.testing.assert_array_equal(np.isnan(depth), np.isnan(window))
    np.testing.assert_allclose(depth[~np.isnan(depth)], window[~np.isnan(window)])
    assert np.count_nonzero(~np.isnan(truth)) == np.count_nonzero(~np.isnan(depth)) > 0


def test_flood_defaults_to_the_latest_level_and_refuses_bad_questions(flood_db: str) -> None:
    with psycopg.connect(flood_db) as conn:
        row = conn.execute(
            "SELECT value FROM latest_readings WHERE device_id = %s AND quantity = 'water_level'",
            (GAUGE.device_id,),
        ).fetchone()
    assert row is not None
    with signed_in(create_app(Settings(), flood_db), flood_db) as client:
        served = client.get("/river/flood").json()
        assert served["level_cm"] == round(row[0])
        assert client.get("/river/flood", params={"level_cm": "high"}).status_code == 400
        unknown = client.get("/river/flood", params={"gauge": "nowhere"})
        assert unknown.status_code == 404
        assert "not watched" in unknown.json()["detail"]


def test_without_a_terrain_model_the_flood_says_what_is_missing(demo_db: str) -> None:
    with signed_in(create_app(Settings(), demo_db), demo_db) as client:
        missing = client.get("/river/flood", params={"level_cm": 550})
    assert missing.status_code == 404
    assert "smartcity rasters import" in missing.json()["detail"]


def test_threshold_extents_are_a_layer_kept_current(flood_db: str, expected: FloodModel) -> None:
    with psycopg.connect(flood_db, autocommit=True) as conn:
        flood = TownFlood(DEMO)
        assert refresh_extents(conn, flood, DEMO)
        assert not refresh_extents(conn, flood, DEMO), "nothing changed: not rewritten"
    with signed_in(create_app(Settings(), flood_db), flood_db) as client:
        items = client.get(f"/collections/{EXTENTS_LAYER}/items").json()["features"]
        latest = client.get("/river/gauges").json()["gauges"][0]["level"]["cm"]
        got = [(f["properties"]["level"], f["properties"]["level_cm"]) for f in items]
        assert got == [("attention", 500), ("flood", 550), ("danger", 650), ("current", latest)]
        assert [f["properties"]["code"] for f in items][:3] == ["yellow", "orange", "red"]
        areas = [f["properties"]["area_m2"] for f in items[:3]]
        assert areas == sorted(areas) and areas[0] > 0
        for feature, (_, level) in zip(items, got, strict=True):
            truth = expected.extent(GAUGE.surface_m(level))
            assert feature["properties"]["area_m2"] == pytest.approx(truth.area_m2, abs=0.1)
    # a gauge's danger level changes: the layer is rewritten with it
    lower = DEMO.model_copy(update={"gauges": (GAUGE.model_copy(update={"danger_cm": 620}),)})
    with psycopg.connect(flood_db, autocommit=True) as conn:
        assert refresh_extents(conn, TownFlood(lower), lower)
        levels = conn.execute(
            "SELECT properties->>'level_cm' FROM features WHERE layer_id = %s ORDER BY 1",
            (EXTENTS_LAYER,),
        ).fetchall()
    assert [float(r[0]) for r in levels if float(r[0]) >= 500] == [500, 550, 620]
    # a new reading moves the current extent
    with psycopg.connect(flood_db, autocommit=True) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn, [Reading(GAUGE.device_id, "water_level", datetime.now(UTC), 604.0)]
        )
        assert refresh_extents(conn, TownFlood(lower), lower)
        current = conn.execute(
            "SELECT properties->>'level_cm' FROM features WHERE layer_id = %s"
            " AND properties->>'level' = 'current'",
            (EXTENTS_LAYER,),
        ).fetchone()
    assert current is not None and float(current[0]) == 604


def test_an_empty_current_extent_leaves_bbox_searches_whole(
    flood_db: str, demo_files: Path
) -> None:
    """The probe's case (issue 13): at 250 cm nothing is flooded, the current extent is
    empty, and its box must not hide parcels or buildings from a town-wide bbox (it did:
    4,918 of 4,996 parcels were found)."""
    with psycopg.connect(flood_db, autocommit=True) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn, [Reading(GAUGE.device_id, "water_level", datetime.now(UTC), 250.0)]
        )
        assert refresh_extents(conn, TownFlood(DEMO), DEMO)
        (empty,) = conn.execute(
            "SELECT count(*) FROM features WHERE layer_id = %s"
            " AND properties->>'level' = 'current' AND geometry->'coordinates' = '[]'",
            (EXTENTS_LAYER,),
        ).fetchone()
    assert empty == 1, "the current extent is not empty: this test proves nothing"
    with signed_in(create_app(Settings(), flood_db), flood_db) as client:
        for layer in ("parcels", "buildings"):
            frame = gpd.read_file(demo_files, layer=layer).to_crs("OGC:CRS84")
            west, south, east, north = frame.total_bounds
            town = f"{west - 0.01},{south - 0.01},{east + 0.01},{north + 0.01}"
            response = client.get(f"/collections/{layer}/items", params={"bbox": town})
            assert response.json()["numberMatched"] == len(frame), layer
