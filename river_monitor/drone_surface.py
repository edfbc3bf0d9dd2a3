"""Drone water-surface observations along the river, compared with the gauge.

A drone's ``water_surface_level`` readings (m above the Constanța datum) keep their
position in ``drone_track``. Each is set against the gauge's water surface at that
moment: its zero plus its last level at or before the observation (the age of that
level is given, and a level older than ``STALE`` is flagged). The difference is what
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
SELECT r.device_id, r.time, r.value, t.lon, t.lat, g.time, g.value
FROM readings r
JOIN drone_track t ON t.drone_id = r.device_id AND t.time = r.time
LEFT JOIN LATERAL (
    SELECT time, value FROM readings
    WHERE device_id = %(gauge)s AND quantity = %(gauge_quantity)s AND time <= r.time
    ORDER BY time DESC LIMIT 1) g ON TRUE
WHERE r.quantity = %(quantity)s AND r.time >= %(start)s AND r.time < %(end)s
ORDER BY r.time, r.device_id
LIMIT %(limit)s
"""


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
    for drone, moment, surface, lon, lat, gauge_time, gauge_cm in rows:
        properties: dict[str, Any] = {
            "drone_id": drone,
            "time": moment.isoformat(),
            "water_surface_m": surface,
            "gauge_level_cm": gauge_cm,
            "gauge_time": None if gauge_time is None else gauge_time.isoformat(),
            "gauge_surface_m": None,
            "difference_cm": None,
            "gauge_stale": None,
            "distance_from_gauge_m": None,
        }
        if gauge_cm is not None:
            gauge_surface = gauge.surface_m(gauge_cm)
            difference = round((surface - gauge_surface) * 100.0, 1)
            properties |= {
                "gauge_surface_m": round(gauge_surface, 3),
                "difference_cm": difference,
                "gauge_stale": moment - gauge_time > STALE,
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
