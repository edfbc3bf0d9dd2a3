"""The air-quality stations: devices of kind ``air_quality``, with their asset's name,
their place (the device's own position, else its asset's) and urbanism zone, and their
index now and over a period.

A station is named by its device id (in the demo, also its asset's id: ``TR-2``...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg import AsyncConnection

from air.bands import BandTable
from air.errors import StationNotFound
from air.index import HOUR, Index, hourly_index, hourly_means, lookback
from storage.rollups import floor_time

KIND = "air_quality"
"""The device kind of an air-quality station."""

LATEST_WINDOW = timedelta(hours=3)
"""How far back a station's latest index is looked for: an older one is not "now"."""

_STATIONS = """
SELECT d.device_id, coalesce(a.name, d.device_id), coalesce(d.lon, a.lon), coalesce(d.lat, a.lat),
       d.quantities, p.zone_code, p.zone_name
FROM devices d
LEFT JOIN assets a USING (asset_id)
LEFT JOIN asset_places p USING (asset_id)
WHERE d.kind = %(kind)s AND (%(id)s::text IS NULL OR d.device_id = %(id)s)
ORDER BY d.device_id
"""


@dataclass(frozen=True)
class Station:
    """An air-quality station: its id, name, position (CRS84), quantities and zone."""

    station_id: str
    name: str
    lon: float | None
    lat: float | None
    quantities: tuple[str, ...]
    zone_code: str | None
    zone_name: str | None

    def document(self) -> dict[str, object]:
        """The station as JSON."""
        return {
            "station_id": self.station_id,
            "name": self.name,
            "lon": self.lon,
            "lat": self.lat,
            "quantities": list(self.quantities),
            "zone": None
            if self.zone_code is None
            else {"code": self.zone_code, "name": self.zone_name},
        }


async def stations(conn: AsyncConnection, station_id: str | None = None) -> list[Station]:
    """Every air-quality station (or the one asked), by id."""
    rows = await (await conn.execute(_STATIONS, {"kind": KIND, "id": station_id})).fetchall()
    return [Station(r[0], r[1], r[2], r[3], tuple(r[4]), r[5], r[6]) for r in rows]


async def station(conn: AsyncConnection, station_id: str) -> Station:
    """One station; :class:`StationNotFound` if no air-quality device has this id."""
    found = await stations(conn, station_id)
    if not found:
        raise StationNotFound(
            f"no air-quality station {station_id!r}: GET /air/stations lists them"
        )
    return found[0]


async def latest(
    conn: AsyncConnection, table: BandTable, station_ids: list[str], now: datetime
) -> dict[str, Index | None]:
    """Each station's index for its newest hour with one within :data:`LATEST_WINDOW` of
    ``now`` (the hour under way counts, with the readings it has so far); None without."""
    end = floor_time(now, HOUR) + HOUR
    start = end - LATEST_WINDOW
    means = await hourly_means(conn, station_ids, start - lookback(table), end)
    found: dict[str, Index | None] = {}
    for station_id in station_ids:
        hours = [
            i for i in hourly_index(table, means[station_id], start, end) if i.band is not None
        ]
        found[station_id] = hours[-1] if hours else None
    return found


def index_document(index: Index, with_concentrations: bool = True) -> dict[str, object]:
    """An hour's index as JSON: band, level, dominant pollutant and each sub-index."""
    found: dict[str, object] = {
        "hour": index.hour.isoformat(),
        "table": index.table,
        "band": index.band,
        "level": index.level,
        "dominant": index.dominant,
    }
    if with_concentrations:
        found["sub_indices"] = {
            p: {"concentration": round(s.concentration, 2), "band": s.band, "level": s.level}
            for p, s in index.sub_indices.items()
        }
    return found


async def history(
    conn: AsyncConnection,
    table: BandTable,
    station_id: str,
    start: datetime,
    end: datetime,
) -> tuple[list[Index], dict[datetime, dict[str, float]]]:
    """A station's index per hour of ``[start, end)`` and its hourly means by hour (the
    concentrations as measured, before any running mean)."""
    means = (await hourly_means(conn, [station_id], start - lookback(table), end))[station_id]
    first = floor_time(start, HOUR)
    indices = hourly_index(table, means, first, end)
    hourly: dict[datetime, dict[str, float]] = {}
    for pollutant, values in means.items():
        for hour, value in values.items():
            if first <= hour < end:
                hourly.setdefault(hour, {})[pollutant] = value
    return indices, hourly
