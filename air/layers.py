"""The stations' live index as a GIS layer, ``air_quality_stations``: read by QGIS, the
map and any OGC API - Features / Tiles client like every other layer.

A stored layer rewritten from the stations' latest index when read and older than the
API's bound (``api/live_layers.py``), as parking's live layers are (:mod:`parking.layers`,
whose writing this repeats for a layer of points: the two are small and a shared helper
would sit in neither package). New, it is public: air quality is open data. A station
without a position is left out; one without an index for the last hours has null
figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import shapely
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from air.bands import EAQI_2024, POLLUTANTS
from air.index import Index
from air.stations import Station, latest, stations

LAYER = "air_quality_stations"
CRS84 = "OGC:CRS84"
_LOCK = 0x5C17_A1E0
"""Advisory lock key: one refresh at a time across API processes (others skip)."""

ATTRIBUTES = {
    "station_id": "object",
    "name": "object",
    "zone": "object",
    "hour": "object",
    "table": "object",
    "band": "int64",
    "level": "object",
    "dominant": "object",
} | {p: "float64" for p in POLLUTANTS}

_UPSERT_LAYER = """
INSERT INTO layers (layer_id, title, geometry_type, source_crs, feature_count, bbox_crs84,
                    bbox_native, attributes, imported_at, public)
VALUES (%(layer)s, %(title)s, 'Point', %(crs)s, %(count)s, %(box)s::box, %(box)s::box,
        %(attributes)s, %(now)s, true)
ON CONFLICT (layer_id) DO UPDATE SET feature_count = excluded.feature_count,
    bbox_crs84 = excluded.bbox_crs84, bbox_native = excluded.bbox_native,
    attributes = excluded.attributes, imported_at = excluded.imported_at
"""
_INSERT_FEATURES = """
INSERT INTO features (layer_id, feature_id, properties, geometry, geom_native, bbox)
SELECT %s::text, i, p, g, w, box(point(x, y), point(x, y))
FROM unnest(%s::int[], %s::jsonb[], %s::jsonb[], %s::bytea[], %s::float8[], %s::float8[])
    AS t(i, p, g, w, x, y)
"""


def station_properties(station: Station, index: Index | None) -> dict[str, Any]:
    """A station's feature properties: its latest index and concentrations, flat."""
    subs = {} if index is None else index.sub_indices
    return {
        "station_id": station.station_id,
        "name": station.name,
        "zone": station.zone_code,
        "hour": None if index is None else index.hour.isoformat(),
        "table": EAQI_2024.version,
        "band": None if index is None else index.band,
        "level": None if index is None else index.level,
        "dominant": None if index is None else index.dominant,
    } | {p: (round(subs[p].concentration, 2) if p in subs else None) for p in POLLUTANTS}


async def refresh(conn: AsyncConnection, now: datetime) -> bool:
    """Rewrite the layer from the stations' latest index at ``now``, in one transaction;
    False when another refresh holds the lock (its result serves) or there is no station."""
    async with conn.transaction():
        locked = await (
            await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_LOCK,))
        ).fetchone()
        if not locked or not locked[0]:
            return False
        found = [s for s in await stations(conn) if s.lon is not None and s.lat is not None]
        if not found:
            return False
        indices = await latest(conn, EAQI_2024, [s.station_id for s in found], now)
        xs = [float(s.lon) for s in found]  # type: ignore[arg-type]
        ys = [float(s.lat) for s in found]  # type: ignore[arg-type]
        box = f"(({max(xs)},{max(ys)}),({min(xs)},{min(ys)}))"
        await conn.execute(
            _UPSERT_LAYER,
            {
                "layer": LAYER,
                "title": "Air quality stations (live index)",
                "crs": CRS84,
                "count": len(found),
                "box": box,
                "attributes": Jsonb(ATTRIBUTES),
                "now": now,
            },
        )
        await conn.execute("DELETE FROM features WHERE layer_id = %s", (LAYER,))
        geometries = shapely.points(xs, ys)
        await conn.execute(
            _INSERT_FEATURES,
            (
                LAYER,
                list(range(1, len(found) + 1)),
                [Jsonb(station_properties(s, indices[s.station_id])) for s in found],
                shapely.to_geojson(geometries).tolist(),
                shapely.to_wkb(geometries).tolist(),
                xs,
                ys,
            ),
        )
    return True
