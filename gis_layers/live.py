"""Stored layers rewritten from a live state: the writing every domain's live layer
shares (parking's ``parking_lots`` and ``parking_bays``, air quality's
``air_quality_stations``, carbon's ``carbon_assets``).

A live layer is an ordinary stored layer (``layers`` and ``features``), so every layer
route (items, CQL2 filters, CRSs, paging, vector tiles, queryables) serves it unchanged;
the API rewrites it when read and older than its bound (``api/live_layers.py``). The
domain computes its features; here they are written, inside the domain's transaction:

- :func:`try_lock` takes the refresh's advisory lock, so that one API process refreshes a
  layer at a time (the others skip: the result being written serves them);
- :func:`write_points` replaces the layer's features with points in CRS84 and its entry
  in ``layers`` (count, extent, attributes); ``imported_at`` becomes the refresh time, so
  cached vector tiles of an older state are not served. ``public`` applies to a new
  layer only: publishing one later (``smartcity layers publish``) is not undone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import shapely
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

CRS84 = "OGC:CRS84"

Point = tuple[float, float, Mapping[str, Any]]
"""A feature of a live point layer: longitude, latitude (CRS84) and properties."""

_UPSERT_LAYER = """
INSERT INTO layers (layer_id, title, geometry_type, source_crs, feature_count, bbox_crs84,
                    bbox_native, attributes, imported_at, public)
VALUES (%(layer)s, %(title)s, 'Point', %(crs)s, %(count)s, %(box)s::box, %(box)s::box,
        %(attributes)s, %(now)s, %(public)s)
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


async def try_lock(conn: AsyncConnection, key: int) -> bool:
    """Take the advisory lock ``key`` until the transaction ends; False when another
    transaction holds it. Call inside the refresh's transaction."""
    locked = await (await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (key,))).fetchone()
    return bool(locked and locked[0])


def _box(xs: Sequence[float], ys: Sequence[float]) -> str | None:
    if not xs:
        return None
    return f"(({max(xs)},{max(ys)}),({min(xs)},{min(ys)}))"


async def write_points(
    conn: AsyncConnection,
    layer: str,
    title: str,
    *,
    public: bool,
    attributes: Mapping[str, str],
    points: Sequence[Point],
    now: datetime,
) -> None:
    """Replace ``layer``'s features with ``points`` and bring its entry up to date
    (created with ``title`` and ``public`` if new; ``attributes``: each property's type
    as the layer routes know them). Call inside the refresh's transaction."""
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    await conn.execute(
        _UPSERT_LAYER,
        {
            "layer": layer,
            "title": title,
            "crs": CRS84,
            "count": len(points),
            "box": _box(xs, ys),
            "attributes": Jsonb(dict(attributes)),
            "now": now,
            "public": public,
        },
    )
    await conn.execute("DELETE FROM features WHERE layer_id = %s", (layer,))
    if not points:
        return
    geometries = shapely.points(xs, ys)
    await conn.execute(
        _INSERT_FEATURES,
        (
            layer,
            list(range(1, len(points) + 1)),
            [Jsonb(dict(p[2])) for p in points],
            shapely.to_geojson(geometries).tolist(),
            shapely.to_wkb(geometries).tolist(),
            xs,
            ys,
        ),
    )
