"""Drones' air samples as points, each with its European Air Quality Index.

A drone publishes SenML packs on ``{prefix}/drones/{drone_id}/senml`` whose records pair
a position (``lat``, ``lon``, ``alt``) with observations at the same time
(:mod:`ingest_mqtt.senml`); ingestion stores the position in ``drone_track`` and the
observations as readings of the drone. A *sample* is one drone at one time with a
position and at least one of the index's pollutants (µg/m³).

A sample is a spot measurement, not an hourly mean: its index applies the bands of an
hourly table (the 2024 table, whose five pollutants are all judged hourly) to the
sample's concentrations, which makes it indicative — good for where along a flight the
air was worse, not for comparing with a station's hourly index or the EU limit values.
A table that judges a pollutant on a running mean (pre-2024: PM on 24-hour means) is
refused: a drone has no 24 hours at one place. The index, its dominant pollutant and
sub-indices are those of :func:`air.index.index_of`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from air.bands import POLLUTANTS, BandTable
from air.errors import UnsuitableBandTable
from air.index import index_of

_QUERY = """
WITH samples AS (
    SELECT t.drone_id, t.time, t.lon, t.lat, t.alt
    FROM drone_track t
    WHERE t.time >= %(start)s AND t.time < %(end)s
      AND (%(drone)s::text IS NULL OR t.drone_id = %(drone)s)
      AND EXISTS (
        SELECT FROM readings r
        WHERE r.device_id = t.drone_id AND r.time = t.time AND r.quantity = ANY(%(pollutants)s)
          AND r.time >= %(start)s AND r.time < %(end)s)
    ORDER BY t.time, t.drone_id
    LIMIT %(limit)s
)
SELECT s.drone_id, s.time, s.lon, s.lat, s.alt, array_agg(r.quantity), array_agg(r.value)
FROM samples s
JOIN readings r ON r.device_id = s.drone_id AND r.time = s.time
    AND r.quantity = ANY(%(pollutants)s) AND r.time >= %(start)s AND r.time < %(end)s
GROUP BY s.drone_id, s.time, s.lon, s.lat, s.alt
ORDER BY s.time, s.drone_id
"""


def _check(table: BandTable) -> None:
    averaged = sorted(p for p, hours in table.averaging_hours.items() if hours != 1)
    if averaged:
        raise UnsuitableBandTable(
            f"table {table.version} judges {', '.join(averaged)} on running means over hours,"
            " which a drone's spot samples do not have: ask for table=2024"
        )


async def samples(
    conn: AsyncConnection,
    table: BandTable,
    start: datetime,
    end: datetime,
    limit: int,
    drone_id: str | None = None,
) -> dict[str, Any]:
    """The drones' air samples in ``[start, end)`` (oldest first, at most ``limit``; of
    one drone if ``drone_id``), as a GeoJSON FeatureCollection (CRS84) of points with
    their concentrations and index."""
    _check(table)
    params = {
        "start": start,
        "end": end,
        "drone": drone_id,
        "pollutants": list(POLLUTANTS),
        "limit": limit,
    }
    rows = await (await conn.execute(_QUERY, params)).fetchall()
    features = []
    for drone, moment, lon, lat, alt, quantities, values in rows:
        index = index_of(table, moment, dict(zip(quantities, values, strict=True)))
        sub_indices = {
            p: {"concentration": s.concentration, "band": s.band, "level": s.level}
            for p, s in index.sub_indices.items()
        }
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "drone_id": drone,
                    "time": moment.isoformat(),
                    "alt_m": alt,
                    "table": table.version,
                    "band": index.band,
                    "level": index.level,
                    "dominant": index.dominant,
                    "sub_indices": sub_indices,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "table": table.version,
        "spot_samples": "indicative: the hourly bands applied to spot concentrations",
        "features": features,
        "numberReturned": len(features),
    }
