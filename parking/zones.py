"""Live parking by zone: by urbanism zone (the twin's places) and by paid parking zone.

A town that has paid parking zones imports them as the layer :data:`PAID_ZONES_LAYER`
(polygons with ``code`` and ``name``); a lot belongs to every zone whose polygon holds
its location. Without that layer the answer says so rather than inventing zones.

A zone's figure adds up its lots that have one: a closed lot's places are neither free
nor counted in the capacity offered; a lot without data is counted apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely
from psycopg import AsyncConnection

from parking.model import LotStatus
from parking.store import Lot

PAID_ZONES_LAYER = "parking_zones"
"""The layer of paid parking zones, when the town has one."""

_PAID_ZONES = """
SELECT properties->>'code', properties->>'name', geometry::text FROM features
WHERE layer_id = %s ORDER BY feature_id
"""


def summary(lots: Iterable[Lot]) -> dict[str, Any]:
    """The lots' total: open capacity, occupied and free places, occupancy, and how many
    lots are in each status."""
    statuses: dict[str, int] = defaultdict(int)
    capacity = occupied = free = counted = 0
    listed = []
    for lot in lots:
        state = lot.state
        listed.append(state.lot_id)
        statuses[state.status.value] += 1
        if state.status in (LotStatus.CLOSED, LotStatus.UNKNOWN):
            continue
        if state.capacity is None or state.occupied is None or state.free is None:
            continue
        counted += 1
        capacity += state.capacity
        occupied += state.occupied
        free += state.free
    return {
        "lots": listed,
        "capacity": capacity,
        "occupied": occupied,
        "free": free,
        "occupancy": round(occupied / capacity, 4) if capacity else None,
        "lots_counted": counted,
        "by_status": dict(sorted(statuses.items())),
    }


def by_urbanism_zone(lots: list[Lot]) -> list[dict[str, Any]]:
    """One summary per urbanism zone holding lots, in code order; lots outside every
    zone under ``zone: null`` last."""
    groups: dict[str | None, list[Lot]] = defaultdict(list)
    names: dict[str | None, str | None] = {}
    for lot in lots:
        groups[lot.zone_code].append(lot)
        names[lot.zone_code] = lot.zone_name
    order = sorted(c for c in groups if c is not None) + ([None] if None in groups else [])
    return [{"zone": c, "name": names[c]} | summary(groups[c]) for c in order]


async def by_paid_zone(conn: AsyncConnection, lots: list[Lot]) -> list[dict[str, Any]] | None:
    """One summary per paid parking zone (every zone, in the layer's order), or None
    when the town has no such layer."""
    rows = await (await conn.execute(_PAID_ZONES, (PAID_ZONES_LAYER,))).fetchall()
    if not rows:
        return None
    areas = shapely.from_geojson([r[2] for r in rows])
    lon = np.array([lot.lon for lot in lots], dtype=float)
    lat = np.array([lot.lat for lot in lots], dtype=float)
    found = []
    for (code, name, _), area in zip(rows, areas, strict=True):
        inside = shapely.contains_xy(area, lon, lat) if lots else []
        held = [lot for lot, keep in zip(lots, inside, strict=True) if keep]
        found.append({"zone": code, "name": name} | summary(held))
    return found
