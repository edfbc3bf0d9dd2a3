"""A public layer's features for download: GeoJSON streamed from a server-side cursor,
or a GeoPackage in the layer's source CRS (written to a temporary file by pyogrio:
SQLite needs a file, and layers are bounded by what an import reads)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import geopandas as gpd
import orjson
import shapely
from psycopg_pool import AsyncConnectionPool

BATCH_FEATURES = 2_000
"""Features fetched from the cursor at a time."""

_HEAD = b'{"type":"FeatureCollection","features":['


async def geojson_stream(pool: AsyncConnectionPool, layer_id: str) -> AsyncIterator[bytes]:
    """The layer as an RFC 7946 FeatureCollection (CRS84), a chunk per batch."""
    yield _HEAD
    first = True
    async with pool.connection() as conn, conn.transaction():
        async with conn.cursor(name="opendata_features") as cursor:
            await cursor.execute(
                "SELECT feature_id, properties::text, geometry::text FROM features"
                " WHERE layer_id = %s ORDER BY feature_id",
                (layer_id,),
            )
            while rows := await cursor.fetchmany(BATCH_FEATURES):
                parts = [
                    b'{"type":"Feature","id":%d,"properties":%s,"geometry":%s}'
                    % (fid, props.encode(), geometry.encode())
                    for fid, props, geometry in rows
                ]
                yield (b"" if first else b",") + b",".join(parts)
                first = False
    yield b"]}"


async def geopackage(pool: AsyncConnectionPool, layer_id: str, source_crs: str) -> Path:
    """The layer written to a new GeoPackage file (the caller deletes it)."""
    async with pool.connection() as conn:
        rows = await (
            await conn.execute(
                "SELECT properties::text, geom_native FROM features WHERE layer_id = %s"
                " ORDER BY feature_id",
                (layer_id,),
            )
        ).fetchall()
    frame = gpd.GeoDataFrame(
        [orjson.loads(r[0]) for r in rows],
        geometry=shapely.from_wkb([bytes(r[1]) for r in rows]),
        crs=source_crs,
    )
    handle, name = tempfile.mkstemp(suffix=".gpkg")
    os.close(handle)
    os.unlink(name)  # the driver makes the file itself
    frame.to_file(name, layer=layer_id, driver="GPKG", engine="pyogrio")
    return Path(name)
