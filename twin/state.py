"""The twin's assets with their place, sensors and state, now or at a past moment.

PostgreSQL assembles each asset as one JSON document (place from ``asset_places``,
sensors from ``devices``, values from ``latest_readings`` or, for a past moment, each
sensor quantity's last reading at or before it); Python adds the derived status. The
spatial questions (within a polygon, within a distance, the N nearest) measure in
Stereo 70 metres, never in degrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import shapely
from psycopg import AsyncConnection, sql
from pyproj import Transformer

from twin.status import sensor_status

METRIC_CRS = "EPSG:3844"
_TO_METRES = Transformer.from_crs("OGC:CRS84", METRIC_CRS, always_xy=True)

_NOW = sql.SQL(
    "(SELECT json_object_agg(l.quantity, json_build_object('time', l.time, 'value', l.value))"
    " FROM latest_readings l WHERE l.device_id = d.device_id)"
)
_AT = sql.SQL(
    "(SELECT json_object_agg(q, json_build_object('time', r.time, 'value', r.value))"
    " FROM unnest(d.quantities) q, LATERAL (SELECT time, value FROM readings"
    "  WHERE device_id = d.device_id AND quantity = q AND time <= {at}"
    "  ORDER BY time DESC LIMIT 1) r)"
)
_ASSETS = sql.SQL("""
SELECT coalesce(json_agg(json_build_object(
    'asset_id', a.asset_id, 'name', a.name, 'kind', a.kind, 'lon', a.lon, 'lat', a.lat,
    'properties', a.properties,
    'parcel', CASE WHEN p.parcel_feature_id IS NULL THEN NULL ELSE json_build_object(
        'feature_id', p.parcel_feature_id, 'cadastral_number', p.cadastral_number) END,
    'zone', CASE WHEN p.zone_feature_id IS NULL THEN NULL ELSE json_build_object(
        'feature_id', p.zone_feature_id, 'code', p.zone_code, 'name', p.zone_name) END,
    'sensors', coalesce((
        SELECT json_agg(json_build_object('device_id', d.device_id, 'kind', d.kind,
                                          'quantities', d.quantities,
                                          'latest', coalesce({values}, '{{}}'::json))
                        ORDER BY d.device_id)
        FROM devices d WHERE d.asset_id = a.asset_id), '[]'::json)
) ORDER BY a.asset_id), '[]'::json)::text
FROM assets a LEFT JOIN asset_places p USING (asset_id)
WHERE {where}
""")


@dataclass(frozen=True)
class Near:
    """A spatial question about assets: around a point, optionally within a polygon."""

    lon: float
    lat: float
    distance_m: float | None = None
    nearest: int | None = None


def _with_status(asset: dict[str, Any]) -> dict[str, Any]:
    """Add each sensor's status and the asset's: its first sensor that has data."""
    capacity = asset["properties"].get("capacity")
    status: dict[str, Any] = {"label": "no sensors" if not asset["sensors"] else "no data"}
    for sensor in asset["sensors"]:
        values = {q: v["value"] for q, v in sensor["latest"].items()}
        label, colour = sensor_status(sensor["kind"], values, capacity)
        sensor["status"] = {"label": label, "colour": list(colour)}
        if values and "colour" not in status:
            status = sensor["status"]
    asset["status"] = status
    return asset


async def assets(
    conn: AsyncConnection,
    *,
    at: datetime | None = None,
    asset_ids: Sequence[str] | None = None,
    kind: str | None = None,
    zone: str | None = None,
) -> list[dict[str, Any]]:
    """Assets with place, sensors, values and status (at ``at``, else now)."""
    conditions: list[sql.Composable] = [sql.SQL("TRUE")]
    if asset_ids is not None:
        conditions.append(sql.SQL("a.asset_id = ANY({})").format(sql.Literal(list(asset_ids))))
    if kind is not None:
        conditions.append(sql.SQL("a.kind = {}").format(sql.Literal(kind)))
    if zone is not None:
        conditions.append(sql.SQL("p.zone_code = {}").format(sql.Literal(zone)))
    values = _NOW if at is None else _AT.format(at=sql.Literal(at))
    query = _ASSETS.format(values=values, where=sql.SQL(" AND ").join(conditions))
    row = await (await conn.execute(query)).fetchone()
    return [_with_status(a) for a in orjson.loads(row[0] if row else "[]")]


async def located(
    conn: AsyncConnection, within: shapely.Geometry | None, near: Near | None
) -> list[tuple[str, float | None]]:
    """Asset ids answering a spatial question, nearest first when a point is given,
    with their distance in metres (None without a point)."""
    rows = await (await conn.execute("SELECT asset_id, lon, lat FROM assets")).fetchall()
    if not rows:
        return []
    ids = np.array([r[0] for r in rows])
    lon = np.array([r[1] for r in rows])
    lat = np.array([r[2] for r in rows])
    keep = np.ones(len(rows), dtype=bool)
    if within is not None:
        keep &= shapely.contains_xy(within, lon, lat)
    if near is None:
        return [(i, None) for i in sorted(ids[keep].tolist())]
    x, y = _TO_METRES.transform(lon, lat)
    cx, cy = _TO_METRES.transform(near.lon, near.lat)
    distance = np.hypot(np.asarray(x) - cx, np.asarray(y) - cy)
    if near.distance_m is not None:
        keep &= distance <= near.distance_m
    order = [i for i in np.argsort(distance, kind="stable") if keep[i]]
    if near.nearest is not None:
        order = order[: near.nearest]
    return [(str(ids[i]), round(float(distance[i]), 2)) for i in order]
