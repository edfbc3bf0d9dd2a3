"""Vector tiles, both ways they are built (PostGIS's ``ST_AsMVT`` on the system server
where it has PostGIS, the hub's own arrays on the embedded server), against an oracle:
the tiles as mapbox-vector-tile encoded them before, from the features' GeoJSON, with
shapely clipping and snap-rounding each feature.

Both must hold the same features with the same attributes; geometry may differ by
tile-coordinate rounding (rounding before or after clipping), and slivers narrower than
a tile unit may be kept by one and dropped by another in the margin outside the tile.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Iterator

import geopandas as gpd
import mapbox_vector_tile
import morecantile
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, box

from gis_layers import vector_tiles
from gis_layers.importer import write_layer
from gis_layers.vector_tiles import EXTENT, MARGIN, SMALLEST, TMS
from storage import migrations

X, Y = 489700.0, 250200.0  # Turnu Măgurele in Stereo 70
VISIBLE = box(0, 0, EXTENT, EXTENT)


def _layer() -> gpd.GeoDataFrame:
    """Every geometry family, small and town-sized, and attributes of every type."""
    rng = np.random.default_rng(12)
    zone = box(X - 3000, Y - 2000, X + 3000, Y + 2000).difference(
        box(X - 500, Y - 500, X + 500, Y + 500)
    )
    lots = [
        shapely.affinity.rotate(box(x, y, x + 27, y + 19), angle, origin="centroid")
        for x, y, angle in zip(
            rng.uniform(X - 900, X + 900, 60),
            rng.uniform(Y - 900, Y + 900, 60),
            rng.uniform(0, 90, 60),
            strict=True,
        )
    ]
    geometries = [
        zone,
        MultiPolygon([box(X + 600, Y + 600, X + 900, Y + 900), box(X - 900, Y, X - 700, Y + 80)]),
        LineString([(X - 4000, Y - 300), (X, Y + 100), (X + 4000, Y - 200)]),
        MultiLineString([[(X, Y), (X + 50, Y + 400)], [(X + 100, Y), (X + 160, Y - 700)]]),
        Point(X + 10, Y + 10),
        MultiPoint([(X - 30, Y + 5), (X + 250, Y - 120)]),
        *lots,
    ]
    n = len(geometries)
    return gpd.GeoDataFrame(
        {
            "name": [f"zonă ț-{i}" for i in range(n)],
            "level": rng.integers(-5, 2**40, n),
            "area": rng.uniform(0, 1e4, n).round(3),
            "public": rng.random(n) < 0.5,
            "note": pd.array(["a" if k else None for k in rng.random(n) < 0.5], dtype=object),
            "tags": pd.array([["x", i] if i % 3 == 0 else None for i in range(n)], dtype=object),
            "mixed": pd.array([[1, "1", True, 1.5, None][i % 5] for i in range(n)], dtype=object),
        },
        geometry=geometries,
        crs="EPSG:3844",
    )


LAYER = _layer()


@pytest.fixture(params=["with lists", "flat"])
def layer_url(pg_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The layer imported, with its list-valued attribute or without (PostGIS tiles take
    another query where a layer has nested values)."""
    frame = LAYER if request.param == "with lists" else LAYER.drop(columns="tags")
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        write_layer(conn, "mixed", frame)
    yield pg_url


def _tiles() -> list[morecantile.Tile]:
    """Tiles over the layer from town zoom to street zoom, a few at each."""
    west, south, east, north = LAYER.to_crs("OGC:CRS84").total_bounds
    lon, lat = (west + east) / 2, (south + north) / 2
    chosen = [t for z in (5, 9, 11, 12) for t in TMS.tiles(west, south, east, north, [z])]
    for z in (14, 15, 16, 17):
        chosen += {
            TMS.tile(lon + dx, lat + dy, z) for dx in (-0.004, 0, 0.003) for dy in (0, 0.002)
        }
    return chosen


def _oracle(rows: list[tuple[int, str, str]], tile: morecantile.Tile) -> bytes:
    """The tile as built before: shapely per feature, mapbox-vector-tile encoding."""
    left, _, right, top = TMS.xy_bounds(tile)
    unit = (right - left) / EXTENT
    to_mercator = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)

    def to_tile(lonlat: np.ndarray) -> np.ndarray:
        mx, my = to_mercator.transform(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([(np.asarray(mx) - left) / unit, (top - np.asarray(my)) / unit])

    geometries = shapely.transform(shapely.from_geojson([r[1] for r in rows]), to_tile)
    bounds = shapely.bounds(geometries)
    spans = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    big = (spans >= SMALLEST) | (shapely.get_dimensions(geometries) == 0)  # points always
    edge = (-MARGIN, -MARGIN, EXTENT + MARGIN, EXTENT + MARGIN)
    geometries = shapely.set_precision(shapely.clip_by_rect(geometries, *edge), 1.0)
    geometries = shapely.orient_polygons(geometries, exterior_cw=False)
    features = [
        {
            "id": fid,
            "geometry": geometry,
            "properties": {
                k: v if isinstance(v, str | int | float | bool) else json.dumps(v)
                for k, v in json.loads(properties).items()
                if v is not None
            },
        }
        for (fid, _, properties), geometry, kept in zip(rows, geometries, big, strict=True)
        if kept and not geometry.is_empty
    ]
    options = {"extents": EXTENT, "y_coord_down": True, "check_winding_order": False}
    return mapbox_vector_tile.encode(
        [{"name": "mixed", "features": features}], default_options=options
    )


def _decoded(body: bytes) -> dict[int, tuple[dict[str, object], shapely.Geometry]]:
    if not body:
        return {}
    layer = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})["mixed"]
    assert layer["extent"] == EXTENT
    return {
        f["id"]: (f["properties"], shapely.geometry.shape(f["geometry"])) for f in layer["features"]
    }


def _assert_same_features(ours: bytes, expected: bytes, where: str) -> None:
    got, wanted = _decoded(ours), _decoded(expected)
    for fid in got.keys() ^ wanted.keys():
        sliver = (got.get(fid) or wanted[fid])[1]
        assert sliver.area <= 2 and VISIBLE.intersection(sliver).area == 0, (where, fid)
    for fid in got.keys() & wanted.keys():
        (properties, geometry), (expected_properties, expected_geometry) = got[fid], wanted[fid]
        assert properties == expected_properties, (where, fid)
        assert geometry.geom_type.removeprefix("Multi") == (
            expected_geometry.geom_type.removeprefix("Multi")
        ), (where, fid)
        seen, expected_seen = (
            VISIBLE.intersection(geometry),
            VISIBLE.intersection(expected_geometry),
        )
        if seen.is_empty or expected_seen.is_empty:
            assert seen.area + expected_seen.area <= 2, (where, fid)
        else:
            assert shapely.hausdorff_distance(seen, expected_seen) <= 1.0, (where, fid)


def test_tiles_hold_the_features_the_mapbox_encoding_held(layer_url: str) -> None:
    tiles = _tiles()

    async def build() -> tuple[str, list[bytes], list[tuple[int, str, str]]]:
        async with await psycopg.AsyncConnection.connect(layer_url) as conn:
            built = [
                gzip.decompress(body) if body else body
                for body in [await vector_tiles.tile(conn, "mixed", t.z, t.x, t.y) for t in tiles]
            ]
            rows = await (
                await conn.execute(
                    "SELECT feature_id, geometry::text, properties::text FROM features"
                    " WHERE layer_id = 'mixed'"
                )
            ).fetchall()
            (builder,) = await (
                await conn.execute("SELECT value FROM hub_meta WHERE key = 'vector_tiles'")
            ).fetchall()
        return builder[0], built, rows

    builder, built, rows = asyncio.run(build())
    with psycopg.connect(layer_url) as conn:
        postgis = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
    assert builder == (vector_tiles.POSTGIS if postgis else "python")
    kept = 0
    points: set[int] = set()
    for tile, body in zip(tiles, built, strict=True):
        expected = _oracle(rows, tile)
        _assert_same_features(body, expected, f"{builder} {tile}")
        kept += len(_decoded(expected))
        points |= {f for f, (_, g) in _decoded(body).items() if g.geom_type.endswith("Point")}
    assert kept > 100  # the tiles are not all empty
    # the point and the multipoint reach tiles at every zoom, however small they are
    assert len(points) == 2
