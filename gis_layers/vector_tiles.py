"""Mapbox Vector Tiles of a layer in the WebMercatorQuad tile matrix set (OGC API - Tiles).

A tile holds the layer's features that meet it, clipped to the tile plus a margin,
in tile coordinates (4,096 units a side). Features smaller than half a screen pixel at
the tile's zoom are left out, as tile generators do, so a low-zoom tile over 100,000
parcels stays small. Tiles are cached per layer import, gzip-compressed (as tile
servers store them: a town-zoom tile of 100,000 parcels shrinks 2.6-2.8 times, and is
compressed once rather than per request).

Where the database has PostGIS (migration 10 then keeps every feature's geometry in Web
Mercator, indexed), PostgreSQL builds the tile: ``ST_AsMVTGeom`` clips and snaps,
``ST_AsMVT`` encodes, as tipg does. Elsewhere (the embedded PostgreSQL has no PostGIS)
it is built here from the features' native WKB, every step on whole arrays: a fitted
polynomial projects them (an exact transformation from Stereo 70 costs 4 µs a point),
shapely clips them and rounds them onto the grid (mending with GEOS only what rounding
made invalid), and :mod:`gis_layers.mvt` writes the protobuf.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import lru_cache, partial

import morecantile
import numpy as np
import orjson
import shapely
from cachetools import LRUCache
from psycopg import AsyncConnection
from pyproj import Transformer

from gis_layers import mvt
from gis_layers.errors import LayerNotFound, TileOutOfRange

TMS = morecantile.tms.get("WebMercatorQuad")
TILE_MATRIX_SET = "WebMercatorQuad"
MAX_ZOOM = 22
"""The deepest tile matrix served (of WebMercatorQuad's 0-24): under 3 cm a pixel here
(256-pixel tiles), finer than any survey the layers come from, and MapLibre's deepest
zoom by default; deeper tiles would only cut the same features smaller, at the cost of
building each (OGC API - Tiles answers a tile outside the tileset's matrices with 404)."""
EXTENT = 4096
"""Tile coordinate units per tile side."""
MARGIN = 64
"""Tile units kept beyond each edge, so outlines do not stop short at tile borders."""
SMALLEST = EXTENT / 512
"""Lines and polygons spanning less than this (half a pixel of a 256-pixel tile) are left
out; points never are (a point spans nothing and is drawn as a symbol)."""
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

POSTGIS = "postgis"
"""``hub_meta.vector_tiles`` where migration 10 found PostGIS: tiles are built by it."""
DEGREES = (2, 3)
"""Of the polynomials fitted to the projection over a tile, the lowest close enough first:
from Stereo 70 around Turnu Măgurele a quadratic fits from zoom 10, a cubic at zooms 8-9,
and lower zooms are projected exactly."""
FIT_ERROR = 1 / 16
"""Largest error, in tile units, of the fitted projection (GDAL's warper allows 1/8 of a
pixel); where a fit is worse, every point is projected exactly."""

_CLIP = (-MARGIN, -MARGIN, EXTENT + MARGIN, EXTENT + MARGIN)
"""The tile and its margin, in tile units."""
CACHE_BYTES = 128 * 2**20
"""Tiles kept per process, in bytes (a dense town-zoom tile is about 160 KB gzipped)."""
_ENTRY_BYTES = 256
"""What a cached tile costs besides its body (key, LRU links): empty tiles count too."""
_CACHE: LRUCache[tuple[str, datetime, int, int, int, str], bytes] = LRUCache(
    maxsize=CACHE_BYTES, getsizeof=lambda body: len(body) + _ENTRY_BYTES
)

_LAYER = """
SELECT imported_at, source_crs, (SELECT value FROM hub_meta WHERE key = 'vector_tiles')
FROM layers WHERE layer_id = %s
"""
# the features meeting the tile and its margin, not far under a pixel (by their box)
_MEETING = """
FROM features
WHERE layer_id = %(layer)s AND bbox && %(box)s::box
  AND (width(bbox) >= %(smallest)s OR height(bbox) >= %(smallest)s
       OR (width(bbox) = 0 AND height(bbox) = 0))
"""
_GEOJSON_ROWS = "SELECT feature_id, geometry::text, properties::text" + _MEETING
_NATIVE_ROWS = "SELECT feature_id, geom_native, properties::text" + _MEETING
_NESTED = "SELECT EXISTS (SELECT 1 FROM features WHERE layer_id = %s AND nested_properties)"
# ST_AsMVT leaves nested values out: as JSON text, as mvt.Attributes writes them (only in
# layers that have some: the rewrite costs a fifth of a town-zoom tile's time)
_AS_TEXT_NESTED = """
CASE WHEN nested_properties
     THEN (SELECT jsonb_object_agg(key, CASE WHEN jsonb_typeof(value) IN ('object', 'array')
                                             THEN to_jsonb(value::text) ELSE value END)
           FROM jsonb_each(properties))
     ELSE properties END"""
_POSTGIS_TILE = """
WITH tile AS MATERIALIZED (  -- not inlined: ST_AsMVTGeom once a feature
    SELECT feature_id, {properties} AS properties,
           ST_AsMVTGeom(geom_mercator, ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                        %(extent)s, %(margin)s, true) AS geom
    FROM features
    WHERE layer_id = %(layer)s
      AND geom_mercator && ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin_share)s)
      AND (greatest(ST_XMax(geom_mercator) - ST_XMin(geom_mercator),
                    ST_YMax(geom_mercator) - ST_YMin(geom_mercator)) >= %(smallest)s
           OR ST_Dimension(geom_mercator) = 0)
)
SELECT ST_AsMVT(tile, %(layer)s, %(extent)s, 'geom', 'feature_id') FROM tile
WHERE geom IS NOT NULL  -- ST_AsMVT would keep their values
"""
_POSTGIS_TILES = {
    nested: _POSTGIS_TILE.format(properties=_AS_TEXT_NESTED if nested else "properties")
    for nested in (False, True)
}


def check_tile(z: int, x: int, y: int) -> morecantile.Tile:
    """The tile, or :class:`TileOutOfRange` naming the valid range."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileOutOfRange(f"tileMatrix {z} is outside 0..{MAX_ZOOM}")
    last = 2**z - 1
    if not (0 <= x <= last and 0 <= y <= last):
        raise TileOutOfRange(f"tile {z}/{y}/{x}: tileRow and tileCol must be within 0..{last}")
    return morecantile.Tile(x, y, z)


ENCODINGS = {"mvt": MEDIA_TYPE, "geojson": "application/geo+json"}
"""Tile encodings: Mapbox Vector Tiles, and GeoJSON tiles (the same features, unclipped
and in CRS84) for clients without an MVT parser."""


async def tile(
    conn: AsyncConnection,
    layer_id: str,
    z: int,
    x: int,
    y: int,
    encoding: str = "mvt",
    admit: Callable[[], Awaitable[None]] | None = None,
) -> bytes:
    """The layer's features on tile ``z/x/y``, gzip-compressed (a tile with no features
    is empty, uncompressed: nothing to decode). ``admit`` is awaited before a tile not
    cached is built: it may refuse by raising."""
    wanted = check_tile(z, x, y)
    row = await (await conn.execute(_LAYER, (layer_id,))).fetchone()
    if row is None:
        raise LayerNotFound(f"no collection {layer_id!r}; see /collections")
    imported_at, source_crs, builder = row
    key = (layer_id, imported_at, z, x, y, encoding)
    cached = _CACHE.get(key)
    if cached is None:
        if admit is not None:
            await admit()
        body: bytes | Callable[[], bytes]
        if encoding == "geojson":
            rows = await _meeting(conn, _GEOJSON_ROWS, layer_id, wanted)
            body = partial(_geojson, rows)
        elif builder == POSTGIS:
            body = await _postgis_mvt(conn, layer_id, wanted)
        else:
            rows = await _meeting(conn, _NATIVE_ROWS, layer_id, wanted)
            body = partial(_mvt, rows, layer_id, source_crs, wanted)
        # a dense tile takes tens of milliseconds of CPU: off the event loop
        cached = _CACHE[key] = await asyncio.to_thread(_compressed, body)
    return cached


def _compressed(body: bytes | Callable[[], bytes]) -> bytes:
    body = body() if callable(body) else body
    # level 6: as small as level 9 on parcel tiles in a fifth of the time (a 450 KB
    # tile: 163 KB either way, 21 ms against 114 ms)
    return gzip.compress(body, compresslevel=6, mtime=0) if body else body


def _search(layer_id: str, wanted: morecantile.Tile) -> dict[str, object]:
    """Parameters of :data:`_MEETING`: the tile and its margin as a CRS84 box, and the
    smallest feature box worth a look."""
    west, south, east, north = TMS.bounds(wanted)
    pad = (east - west) * MARGIN / EXTENT  # in degrees, generous in latitude
    return {
        "layer": layer_id,
        "box": f"(({west - pad},{south - pad}),({east + pad},{north + pad}))",
        # degrees of longitude; a degree of latitude is longer here, so this keeps
        # everything the tile-unit test of the MVT encoding would keep
        "smallest": (east - west) * SMALLEST / EXTENT * 0.5,
    }


async def _meeting(
    conn: AsyncConnection, statement: str, layer_id: str, wanted: morecantile.Tile
) -> list[tuple[int, str | bytes, str]]:
    return await (await conn.execute(statement, _search(layer_id, wanted))).fetchall()


async def _postgis_mvt(conn: AsyncConnection, layer_id: str, wanted: morecantile.Tile) -> bytes:
    left, _, right, _ = TMS.xy_bounds(wanted)
    nested = await (await conn.execute(_NESTED, (layer_id,))).fetchone()
    row = await (
        await conn.execute(
            _POSTGIS_TILES[bool(nested and nested[0])],
            {
                "layer": layer_id,
                "z": wanted.z,
                "x": wanted.x,
                "y": wanted.y,
                "extent": EXTENT,
                "margin": MARGIN,
                "margin_share": MARGIN / EXTENT,
                "smallest": SMALLEST * (right - left) / EXTENT,
            },
            binary=True,  # the tile as it is, not as hex text
        )
    ).fetchone()
    return bytes(row[0]) if row and row[0] else b""


def _geojson(rows: list[tuple[int, str | bytes, str]]) -> bytes:
    features = ",".join(
        f'{{"type":"Feature","id":{fid},"geometry":{geometry!s},"properties":{properties}}}'
        for fid, geometry, properties in rows
    )
    return f'{{"type":"FeatureCollection","features":[{features}]}}'.encode()


def _mvt(
    rows: list[tuple[int, str | bytes, str]],
    layer_id: str,
    source_crs: str,
    wanted: morecantile.Tile,
) -> bytes:
    geometries = shapely.from_wkb([r[1] for r in rows])
    present = np.flatnonzero(~shapely.is_empty(geometries))
    if not len(present):
        return b""
    geometries = geometries[present]
    to_tile = _to_tile(source_crs, wanted)
    coords, owner = shapely.get_coordinates(geometries, return_index=True)
    coords = to_tile(coords)
    first = np.searchsorted(owner, np.arange(len(geometries)))
    low, high = np.minimum.reduceat(coords, first), np.maximum.reduceat(coords, first)
    big = ((high - low).max(axis=1) >= SMALLEST) | (shapely.get_dimensions(geometries) == 0)
    inside = (low >= -MARGIN).all(axis=1) & (high <= EXTENT + MARGIN).all(axis=1)
    # onto the integer grid point by point, after clipping where the margin cuts
    crossing = big & ~inside
    coords[~crossing[owner]] = np.rint(coords[~crossing[owner]])
    geometries = shapely.set_coordinates(geometries, coords)
    geometries[crossing] = shapely.transform(
        shapely.clip_by_rect(geometries[crossing], *_CLIP), np.rint
    )
    picked = np.flatnonzero(big)
    grid = geometries[picked]
    picked = present[picked]  # now of rows
    # where rounding made a geometry invalid (a sliver collapsed, rings crossed), GEOS's
    # snap-rounding of the exact geometry instead (15 times slower than rounding)
    broken = np.flatnonzero(~shapely.is_valid(grid))
    exact = shapely.transform(shapely.from_wkb([rows[i][1] for i in picked[broken]]), to_tile)
    grid[broken] = shapely.set_precision(shapely.clip_by_rect(exact, *_CLIP), 1.0)
    kept = ~shapely.is_empty(grid) & np.isin(shapely.get_type_id(grid), mvt.TYPE_IDS)
    if not kept.any():
        return b""
    chosen = picked[kept]
    attributes = mvt.Attributes.of([orjson.loads(rows[i][2]) for i in chosen])
    ids = np.array([rows[i][0] for i in chosen])
    return mvt.layer(layer_id, EXTENT, ids, grid[kept], attributes)


@lru_cache(maxsize=32)
def _projections(source_crs: str) -> tuple[Transformer, Transformer]:
    """To Web Mercator from ``source_crs``, and back."""
    return (
        Transformer.from_crs(source_crs, "EPSG:3857", always_xy=True),
        Transformer.from_crs("EPSG:3857", source_crs, always_xy=True),
    )


def _to_tile(source_crs: str, wanted: morecantile.Tile) -> Callable[[np.ndarray], np.ndarray]:
    """Source coordinates to tile units: by a polynomial fitted over the tile and
    its neighbours where it is within :data:`FIT_ERROR` of the exact projection there,
    exactly elsewhere (far-reaching features, low zooms, CRSs the fit cannot follow)."""
    forward, back = _projections(source_crs)
    left, bottom, right, top = TMS.xy_bounds(wanted)
    unit = (right - left) / EXTENT

    def exact(xy: np.ndarray) -> np.ndarray:
        mx, my = forward.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([(np.asarray(mx) - left) / unit, (top - np.asarray(my)) / unit])

    size = right - left
    around = np.linspace(-size, size * 2, 7)
    east, north = np.meshgrid(left + around, bottom + around)
    corners = back.transform(east.ravel(), north.ravel())
    x0, y0, x1, y1 = np.min(corners[0]), np.min(corners[1]), np.max(corners[0]), np.max(corners[1])
    if not np.isfinite([x0, y0, x1, y1]).all() or x0 == x1 or y0 == y1:
        return exact

    def normalised(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (xy[:, 0] - x0) / (x1 - x0) * 2 - 1, (xy[:, 1] - y0) / (y1 - y0) * 2 - 1

    steps = np.linspace(0, 1, 17)  # even ones to fit, odd ones to check the fit
    grid = np.column_stack(
        [a.ravel() for a in np.meshgrid(x0 + steps * (x1 - x0), y0 + steps * (y1 - y0))]
    )
    truth = exact(grid)
    if not np.isfinite(truth).all():
        return exact
    fitting = np.add.outer(np.arange(17) % 2, np.arange(17) % 2).ravel() == 0
    for degree in DEGREES:
        terms = np.polynomial.polynomial.polyvander2d(*normalised(grid), [degree, degree])
        solution = np.linalg.lstsq(terms[fitting], truth[fitting], rcond=None)[0]
        if np.abs(terms @ solution - truth).max() <= FIT_ERROR:
            break
    else:
        return exact
    coefficients = [solution[:, k].reshape(degree + 1, degree + 1) for k in (0, 1)]

    def fitted(xy: np.ndarray) -> np.ndarray:
        inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
        out = np.empty_like(xy)
        u, v = normalised(xy[inside])
        for k in (0, 1):
            out[inside, k] = np.polynomial.polynomial.polyval2d(u, v, coefficients[k])
        if not inside.all():
            out[~inside] = exact(xy[~inside])
        return out

    return fitted
