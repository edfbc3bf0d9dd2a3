"""The stations' live index as a GIS layer, ``air_quality_stations``: read by QGIS, the
map and any OGC API - Features / Tiles client like every other layer.

A stored layer rewritten from the stations' latest index when read and older than the
API's bound (``api/live_layers.py``), written as every live layer is
(:mod:`gis_layers.live`). New, it is public: air quality is open data. A station
without a position is left out; one without an index for the last hours has null
figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from air.bands import EAQI_2024, POLLUTANTS
from air.index import Index
from air.stations import Station, latest, stations
from gis_layers.live import try_lock, write_points

LAYER = "air_quality_stations"
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
        if not await try_lock(conn, _LOCK):
            return False
        every = await stations(conn)
        found = [(s.lon, s.lat, s) for s in every if s.lon is not None and s.lat is not None]
        if not found:
            return False
        indices = await latest(conn, EAQI_2024, [s.station_id for *_, s in found], now)
        await write_points(
            conn,
            LAYER,
            "Air quality stations (live index)",
            public=True,
            attributes=ATTRIBUTES,
            points=[
                (lon, lat, station_properties(s, indices[s.station_id])) for lon, lat, s in found
            ],
            now=now,
        )
    return True
