"""Drone water-surface observations along the river, compared with the gauge.

A drone's ``water_surface_level`` readings (m above the Constanța datum) keep their
position in ``drone_track``. Each is set against the gauge's water surface at that
moment: its zero plus its level then, interpolated in time between the gauge's readings
either side (or the nearest one when there is a reading on one side only; a level
further than ``STALE`` from the observation is flagged). The difference is what
the drone saw above (+) or below (−) the gauge's surface; along the Danube it carries
the river's slope (a few cm per km), so the distance from the gauge, measured in Stereo
70, is given with it.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from pyproj import Transformer

from river_monitor.config import GaugeConfig

QUANTITY = "water_surface_level"
STALE = timedelta(hours=6)
_TO_METRES = Transformer.from_crs("OGC:CRS84", "EPSG:3844", always_xy=True)

_QUERY = """
SELECT r.device_id, r.time, r.value, t.lon, t.lat, b.time, b.value, a.time, a.value
FROM readings r
JOIN drone_track t ON t.drone_id = r.device_id AND t.time = r.time
LEFT JOIN LATERAL (
    SELECT time, value FROM readings
    WHERE device_id = %(gauge)s AND quantity = %(gauge_quantity)s AND time <= r.time
    ORDER BY time DESC LIMIT 1) b ON TRUE
LEFT JOIN LATERAL (
    SELECT time, value FROM readings
    WHERE device_id = %(gauge)s AND quantity = %(gauge_quantity)s AND time > r.time
    ORDER BY time LIMIT 1) a ON TRUE
WHERE r.quantity = %(quantity)s AND r.time >= %(start)s AND r.time < %(end)s
ORDER BY r.time, r.device_id
LIMIT %(limit)s
"""


def gauge_level_at(
    moment: datetime,
    before: tuple[datetime, float] | None,
    after: tuple[datetime, float] | None,
) -> tuple[float, timedelta] | None:
    """The gauge's level at ``moment`` from its readings either side (linear in time),
    and how far the reading used lies from it (the nearer one when interpolating)."""
    if before is not None and after is not None:
        share = (moment - before[0]) / (after[0] - before[0])
        level = before[1] + share * (after[1] - before[1])
        return level, min(moment - before[0], after[0] - moment)
    if before is not None:
        return before[1], moment - before[0]
    if after is not None:
        return after[1], after[0] - moment
    return None


async def compared(
    conn: AsyncConnection, gauge: GaugeConfig, start: datetime, end: datetime, limit: int
) -> dict[str, Any]:
    """Drone observations in ``[start, end)`` with the gauge's surface at each, as a
    GeoJSON FeatureCollection (CRS84) with a summary."""
    rows = await (
        await conn.execute(
            _QUERY,
            {
                "gauge": gauge.device_id,
                "gauge_quantity": gauge.quantity,
                "quantity": QUANTITY,
                "start": start,
                "end": end,
                "limit": limit,
            },
        )
    ).fetchall()
    place = await (
        await conn.execute("SELECT lon, lat FROM devices WHERE device_id = %s", (gauge.device_id,))
    ).fetchone()
    origin = None if place is None or place[0] is None else _TO_METRES.transform(*place)
    features = []
    differences = []
    for drone, moment, surface, lon, lat, b_time, b_cm, a_time, a_cm in rows:
        found = gauge_level_at(
            moment,
            None if b_time is None else (b_time, b_cm),
            None if a_time is None else (a_time, a_cm),
        )
        properties: dict[str, Any] = {
            "drone_id": drone,
            "time": moment.isoformat(),
            "water_surface_m": surface,
            "gauge_level_cm": None,
            "gauge_surface_m": None,
            "difference_cm": None,
            "gauge_stale": None,
            "distance_from_gauge_m": None,
        }
        if found is not None:
            level, gap = found
            gauge_surface = gauge.surface_m(level)
            difference = round((surface - gauge_surface) * 100.0, 1)
            properties |= {
                "gauge_level_cm": round(level, 1),
                "gauge_surface_m": round(gauge_surface, 3),
                "difference_cm": difference,
                "gauge_stale": gap > STALE,
            }
            differences.append(difference)
        if origin is not None:
            x, y = _TO_METRES.transform(lon, lat)
            distance = ((x - origin[0]) ** 2 + (y - origin[1]) ** 2) ** 0.5
            properties["distance_from_gauge_m"] = round(distance, 1)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": properties,
            }
        )
    ordered = sorted(differences)
    summary = {
        "observations": len(features),
        "compared": len(ordered),
        "median_difference_cm": None if not ordered else statistics.median(ordered),
        "min_difference_cm": None if not ordered else ordered[0],
        "max_difference_cm": None if not ordered else ordered[-1],
    }
    return {
        "type": "FeatureCollection",
        "gauge": {"device_id": gauge.device_id, "name": gauge.name, "zero_m": gauge.zero_m},
        "summary": summary,
        "features": features,
    }
