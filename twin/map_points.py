"""What the town map draws of the twin: assets as points, located sensors with a label
and colour of their latest values, and where to centre the view."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import AsyncConnection

from gis_layers import catalogue
from twin.status import sensor_status


@dataclass(frozen=True)
class SensorPoint:
    """A device on the map with a short label of its latest values."""

    device_id: str
    kind: str
    lon: float
    lat: float
    label: str
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class AssetPoint:
    """A municipal asset on the map."""

    asset_id: str
    name: str
    kind: str
    lon: float
    lat: float


_SENSORS = """
SELECT d.device_id, d.kind, d.lon, d.lat, (a.properties->>'capacity')::int,
       coalesce(json_object_agg(l.quantity, l.value) FILTER (WHERE l.quantity IS NOT NULL),
                '{}'::json)
FROM devices d
LEFT JOIN latest_readings l USING (device_id)
LEFT JOIN assets a USING (asset_id)
WHERE d.lon IS NOT NULL
GROUP BY d.device_id, a.properties
"""


async def asset_points(conn: AsyncConnection) -> list[AssetPoint]:
    """Every asset of the twin."""
    rows = await (
        await conn.execute("SELECT asset_id, name, kind, lon, lat FROM assets")
    ).fetchall()
    return [AssetPoint(*row) for row in rows]


async def sensor_points(conn: AsyncConnection) -> list[SensorPoint]:
    """Every located device, labelled and coloured by its latest values."""
    points = []
    for device_id, kind, lon, lat, capacity, latest in await (
        await conn.execute(_SENSORS)
    ).fetchall():
        label, colour = sensor_status(kind, latest, capacity)
        points.append(SensorPoint(device_id, kind, lon, lat, label, colour))
    return points


async def centre(conn: AsyncConnection) -> tuple[float, float]:
    """The middle of the assets, or of the layers when the twin has none yet; (0, 0)
    for an empty hub."""
    row = await (
        await conn.execute(
            "SELECT (min(lon) + max(lon)) / 2, (min(lat) + max(lat)) / 2 FROM assets"
        )
    ).fetchone()
    if row is not None and row[0] is not None:
        return float(row[0]), float(row[1])
    extent = await catalogue.extent(conn)
    if extent is None:
        return 0.0, 0.0
    west, south, east, north = extent
    return (west + east) / 2, (south + north) / 2
