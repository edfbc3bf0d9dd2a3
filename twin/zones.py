"""Per-zone summaries for planners: assets, sensors, parking and air quality over a period.

Every zone of the ``zones`` layer has a summary, with zeros where it has no assets;
assets in no zone (:mod:`twin.places`) are summarised apart, never as a zone. Over
``[start, end)``:

- parking: the capacity of the zone's parking lots and their mean occupancy, weighted by
  capacity, as :func:`parking.occupancy.mean_occupancy` computes a lot's;
- air quality: the mean of each pollutant over the zone's stations, and the European Air
  Quality Index (:mod:`air.index`, the 2024 table) of each hour from the stations' hourly
  means: a zone's hour is its worst station's; ``eaqi`` is the worst hour of the period,
  ``eaqi_hours`` the hours in each band (``GET /air/zones`` has more).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from statistics import fmean
from typing import Any

from psycopg import AsyncConnection

from air.bands import EAQI_2024, LEVELS, POLLUTANTS
from air.index import HOUR, hourly_index, hourly_means
from parking.occupancy import capacity_of, mean_occupancy
from storage.rollups import floor_time

ZONES_LAYER = "zones"
"""The layer whose features are the zones (``code``, ``name``), as :func:`twin.places.refresh`
reads it."""

_ZONES = """
SELECT DISTINCT ON (properties->>'code') properties->>'code', properties->>'name'
FROM features WHERE layer_id = %s AND properties->>'code' IS NOT NULL
ORDER BY properties->>'code', feature_id
"""

_ROWS = """
WITH means AS (
    SELECT device_id, quantity, avg(value) AS mean
    FROM readings WHERE time >= %(start)s AND time < %(end)s
    GROUP BY device_id, quantity
)
SELECT p.zone_code, p.zone_name, a.asset_id, a.kind, a.properties->>'capacity',
       d.device_id, d.kind, m.quantity, m.mean
FROM assets a
LEFT JOIN asset_places p USING (asset_id)
LEFT JOIN devices d ON d.asset_id = a.asset_id
LEFT JOIN means m ON m.device_id = d.device_id
ORDER BY p.zone_code NULLS LAST, a.asset_id, d.device_id
"""


async def summaries(
    conn: AsyncConnection, start: datetime, end: datetime
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One summary per zone, in code order, and one of the assets outside every zone."""
    zones: dict[str | None, dict[str, Any]] = {
        code: {"zone": code, "name": name}
        for code, name in await (await conn.execute(_ZONES, (ZONES_LAYER,))).fetchall()
    }
    zones[None] = {}
    rows = await (await conn.execute(_ROWS, {"start": start, "end": end})).fetchall()
    lots: dict[str, tuple[str | None, float, dict[tuple[str, str], float]]] = {}
    pollutants: dict[str | None, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    sensors: dict[str | None, set[str]] = defaultdict(set)
    kinds: dict[str | None, Counter[str]] = defaultdict(Counter)
    stations: dict[str | None, set[str]] = defaultdict(set)
    seen_assets: set[str] = set()
    for code, name, asset_id, kind, capacity, device_id, device_kind, quantity, mean in rows:
        zones.setdefault(code, {"zone": code, "name": name})  # places older than the layer
        if asset_id not in seen_assets:
            seen_assets.add(asset_id)
            kinds[code][kind] += 1
            if kind == "parking_lot":
                lots[asset_id] = (code, capacity_of(capacity), {})
        if device_id is not None:
            sensors[code].add(device_id)
        if quantity is None:
            continue
        if asset_id in lots:
            lots[asset_id][2][device_id, quantity] = float(mean)
        if device_kind == "air_quality" and quantity in POLLUTANTS:
            pollutants[code][quantity].append(float(mean))
            stations[code].add(device_id)
    zone_hours = await _zone_hours(conn, stations, start, end)
    for code, summary in zones.items():
        zone_lots = [(cap, mean_occupancy(m, cap)) for c, cap, m in lots.values() if c == code]
        measured = [(cap, occ) for cap, occ in zone_lots if occ is not None and cap > 0]
        weight = sum(cap for cap, _ in measured)
        means = {q: round(fmean(v), 2) for q, v in pollutants[code].items()}
        hours = zone_hours.get(code, {})
        summary |= {
            "assets": sum(kinds[code].values()),
            "assets_by_kind": dict(sorted(kinds[code].items())),
            "sensors": len(sensors[code]),
            "parking": {
                "lots": len(zone_lots),
                "capacity": sum(cap for cap, _ in zone_lots),
                "mean_occupancy": (
                    round(sum(cap * occ for cap, occ in measured) / weight, 4) if weight else None
                ),
            },
            "air_quality": {
                "means": means,
                "eaqi": LEVELS[max(hours.values())] if hours else None,
                "eaqi_hours": {LEVELS[b]: n for b, n in sorted(Counter(hours.values()).items())},
                "eaqi_table": EAQI_2024.version,
            },
        }
    outside = zones.pop(None)
    return [zones[code] for code in sorted(code for code in zones if code is not None)], outside


async def _zone_hours(
    conn: AsyncConnection, stations: dict[str | None, set[str]], start: datetime, end: datetime
) -> dict[str | None, dict[datetime, int]]:
    """Each zone's index band per hour of ``[start, end)``: its worst station's."""
    devices = sorted(set().union(*stations.values())) if stations else []
    means = await hourly_means(conn, devices, start, end)
    first = floor_time(start, HOUR)
    found: dict[str | None, dict[datetime, int]] = defaultdict(dict)
    for code, members in stations.items():
        for device in members:
            for index in hourly_index(EAQI_2024, means[device], first, end):
                if index.band is not None:
                    hours = found[code]
                    hours[index.hour] = max(hours.get(index.hour, 0), index.band)
    return found
