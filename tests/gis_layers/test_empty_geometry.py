"""An empty geometry beside normal ones: bbox searches and tiles still find every feature.

The probe (issue 13) found the "current" flood extent, empty when nothing is flooded,
stored with a NaN bounding box; a NaN in the GiST index hid other features from bbox
searches (a town-wide bbox returned 4,918 of 4,996 parcels). Every answer here is
checked against shapely over the layer as written, not against the index.
"""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Polygon

from api.app import create_app
from gis_layers.importer import write_layer
from gis_layers.vector_tiles import TMS
from harness.credentials import signed_in
from settings import Settings
from storage import migrations

X, Y = 489000.0, 249000.0  # Turnu Măgurele in Stereo 70
SIDE = 60  # 3,600 lots of 20 m in a 60 x 60 grid, 30 m apart
EMPTY_EVERY = 97


def _layer() -> gpd.GeoDataFrame:
    """Lots on a grid, every 97th of them empty (a flood extent where nothing floods)."""
    lots = [
        shapely.box(x, y, x + 20, y + 20)
        for x, y in ((X + 30 * (k % SIDE), Y + 30 * (k // SIDE)) for k in range(SIDE * SIDE))
    ]
    geometries = [Polygon() if k % EMPTY_EVERY == 0 else lot for k, lot in enumerate(lots)]
    return gpd.GeoDataFrame({"n": range(len(lots))}, geometry=geometries, crs="EPSG:3844")


LAYER = _layer()
WGS = LAYER.to_crs("OGC:CRS84")
PRESENT = ~WGS.geometry.is_empty


@pytest.fixture
def client(pg_url: str) -> Iterator[TestClient]:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        write_layer(conn, "lots", LAYER)  # as the flood extents are written
    with signed_in(create_app(Settings(), pg_url), pg_url) as test_client:
        yield test_client


def _found(client: TestClient, **params: str) -> list[int]:
    response = client.get("/collections/lots/items", params={"limit": "10000", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["numberMatched"] == body["numberReturned"]
    return sorted(f["id"] for f in body["features"])


def _meeting(area: shapely.Geometry) -> list[int]:
    """Ids of the features whose geometry meets ``area``: a full scan by shapely."""
    return [i + 1 for i in np.flatnonzero(WGS.intersects(area).to_numpy())]


def _boxes() -> list[tuple[float, float, float, float]]:
    west, south, east, north = WGS.total_bounds
    rng = np.random.default_rng(5)
    town = (west - 0.01, south - 0.01, east + 0.01, north + 0.01)
    boxes = [town]
    for _ in range(12):
        x0, x1 = sorted(rng.uniform(west, east, 2))
        y0, y1 = sorted(rng.uniform(south, north, 2))
        boxes.append((x0, y0, x1, y1))
    return boxes


def test_bbox_searches_find_what_a_full_scan_finds(client: TestClient) -> None:
    assert _found(client) == list(range(1, len(LAYER) + 1))  # the empty ones are features
    for box in _boxes():
        expected = _meeting(shapely.box(*box))
        assert _found(client, bbox=",".join(map(str, box))) == expected, box
    town = _found(client, bbox=",".join(map(str, _boxes()[0])))
    assert len(town) == int(PRESENT.sum())


def _tiles(zoom: int) -> list:
    west, south, east, north = WGS.total_bounds
    return list(TMS.tiles(west, south, east, north, [zoom]))


@pytest.mark.parametrize("zoom", [14, 16])
def test_tiles_hold_every_lot_inside_them(client: TestClient, zoom: int) -> None:
    for tile in _tiles(zoom):
        url = f"/collections/lots/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"
        west, south, east, north = TMS.bounds(tile)
        pad = (east - west) / 4
        inside = set(_meeting(shapely.box(west, south, east, north))) - set(
            _meeting(shapely.box(west, south, east, north).exterior)
        )
        near = set(_meeting(shapely.box(west - pad, south - pad, east + pad, north + pad)))
        geojson = client.get(url, params={"f": "geojson"}).json()["features"]
        mvt = client.get(url).content
        decoded = mapbox_vector_tile.decode(mvt)["lots"]["features"] if mvt else []
        for ids in ({f["id"] for f in geojson}, {f["id"] for f in decoded}):
            assert inside <= ids <= near, (tile, sorted(inside - ids)[:5], sorted(ids - near)[:5])


def test_an_empty_geometry_stores_no_box(client: TestClient, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        boxless = conn.execute(
            "SELECT array_agg(feature_id ORDER BY feature_id) FROM features WHERE bbox IS NULL"
        ).fetchone()
    assert boxless == ([i + 1 for i in np.flatnonzero(~PRESENT.to_numpy())],)


def test_a_layer_of_empty_geometries_only_has_no_extent(pg_url: str) -> None:
    nothing = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[Polygon(), Polygon()], crs="EPSG:3844")
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        write_layer(conn, "dry", nothing)
    with signed_in(create_app(Settings(), pg_url), pg_url) as test_client:
        response = test_client.get("/collections/dry")
        assert response.status_code == 200, response.text
        assert "extent" not in response.json()
        assert test_client.get("/collections").status_code == 200


def test_the_migration_repairs_nan_boxes_already_stored(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database written before the fix holds NaN boxes: migration 15 makes them NULL and
    rebuilds the index, after which a town-wide search finds every lot again."""
    with psycopg.connect(pg_url) as conn:
        with monkeypatch.context() as before:
            before.setattr(
                migrations, "MIGRATIONS", [m for m in migrations.MIGRATIONS if m.version < 15]
            )
            migrations.upgrade(conn)
        nonempty = LAYER[PRESENT.to_numpy()]
        write_layer(conn, "lots", nonempty)
        # the rows as the importer wrote them before: NaN for an empty geometry's box
        conn.execute(
            "INSERT INTO features (layer_id, feature_id, properties, geometry, geom_native, bbox)"
            " SELECT 'lots', 100000 + k, '{}', '{\"type\": \"Polygon\", \"coordinates\": []}',"
            " %s, box(point('NaN', 'NaN'), point('NaN', 'NaN')) FROM generate_series(1, 40) k",
            (shapely.to_wkb(Polygon()),),
        )
        conn.commit()
        west, south, east, north = WGS.total_bounds
        town = (f"(({west - 0.01},{south - 0.01}),({east + 0.01},{north + 0.01}))",)
        search = "SELECT count(*) FROM features WHERE bbox && %s::box"
        (broken,) = conn.execute(search, town).fetchone()
        assert 15 in migrations.upgrade(conn)
        boxes = conn.execute(
            "SELECT count(*) FILTER (WHERE bbox IS NULL), count(*) FROM features"
        ).fetchone()
        found = conn.execute(search, town).fetchone()
    assert broken < len(nonempty), "the NaN boxes did not break the search: proves nothing"
    assert boxes == (40, len(nonempty) + 40)
    assert found == (len(nonempty),)
