"""Live parking as two GIS layers, ``parking_lots`` and ``parking_bays``: read by QGIS,
the map and any OGC API - Features / Tiles client like every other layer.

They are stored layers refreshed from the live state, a materialised view of it: every
route that serves layers (items, filters, CRSs, paging, vector tiles, queryables) then
works on them unchanged, and a CQL2 filter such as ``status = 'full'`` runs in
PostgreSQL like any other. The API refreshes them on read once older than its bound
(see ``api/live_layers.py``); a refresh takes one transaction, written as every live
layer is (:mod:`gis_layers.live`):

- ``parking_lots`` is written whole: a point per lot (its asset's location, CRS84)
  with its live state as properties; new, it is public (aggregated occupancy is open
  data).
- ``parking_bays`` keeps the geometry the town imported (the demo's bay rectangles,
  matched by ``bay_id``) and gets each bay's live state merged into its properties;
  a town that imported none gets a point per bay sensor. New, it is not public.

The layers' ``imported_at`` becomes the refresh time, so cached vector tiles of an older
state are not served.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from gis_layers.live import try_lock, write_points
from parking import store
from parking.model import BayState, LotState, Thresholds

LOTS_LAYER = "parking_lots"
BAYS_LAYER = "parking_bays"
LAYERS = (LOTS_LAYER, BAYS_LAYER)
_LOCK = 0x5C17_9A4C
"""Advisory lock key: one refresh at a time across API processes (others skip)."""

LOT_ATTRIBUTES = {
    "lot_id": "object",
    "name": "object",
    "status": "object",
    "source": "object",
    "capacity": "int64",
    "occupied": "int64",
    "free": "int64",
    "occupancy": "float64",
    "data_age_s": "float64",
    "as_of": "object",
    "drift": "int64",
    "flags": "object",
    "closed_reason": "object",
    "closed_until": "object",
    "zone": "object",
}
BAY_ATTRIBUTES = {
    "bay_id": "object",
    "lot_id": "object",
    "device_id": "object",
    "status": "object",
    "since": "object",
    "last_heard": "object",
    "out_of_service_reason": "object",
}

# The live values of the imported bays, merged into their properties by bay id.
_MERGE_BAYS = """
UPDATE features f SET properties = f.properties || v.p
FROM unnest(%s::text[], %s::jsonb[]) AS v(bay, p)
WHERE f.layer_id = %s AND f.properties->>'bay_id' = v.bay
"""
_IMPORTED_BAYS = """
SELECT count(*) FILTER (WHERE properties ? 'bay_id'), count(*), attributes
FROM layers LEFT JOIN features USING (layer_id)
WHERE layer_id = %s AND source_path IS NOT NULL GROUP BY attributes
"""
_BAY_POINTS = """
SELECT device_id, lon, lat FROM devices WHERE kind = 'parking_bay' AND lon IS NOT NULL
"""


def lot_properties(lot: store.Lot) -> dict[str, Any]:
    """A lot's feature properties: its live state, flat (flag codes comma-separated)."""
    state: LotState = lot.state
    closure = state.closure
    return {
        "lot_id": state.lot_id,
        "name": state.name,
        "status": state.status.value,
        "source": state.source.value,
        "capacity": state.capacity,
        "occupied": state.occupied,
        "free": state.free,
        "occupancy": None if state.occupancy is None else round(state.occupancy, 4),
        "data_age_s": None if state.data_age_s is None else round(state.data_age_s, 1),
        "as_of": None if state.as_of is None else state.as_of.isoformat(),
        "drift": state.drift,
        "flags": ",".join(f.code for f in state.flags),
        "closed_reason": closure.reason if closure else None,
        "closed_until": closure.until.isoformat() if closure and closure.until else None,
        "zone": lot.zone_code,
    }


def bay_properties(lot_id: str, bay: BayState) -> dict[str, Any]:
    """A bay's live feature properties."""
    return {
        "bay_id": bay.bay_id,
        "lot_id": lot_id,
        "device_id": bay.device_id,
        "status": bay.status.value,
        "since": None if bay.since is None else bay.since.isoformat(),
        "last_heard": None if bay.last_heard is None else bay.last_heard.isoformat(),
        "out_of_service_reason": bay.out_of_service.reason if bay.out_of_service else None,
    }


async def refresh(
    conn: AsyncConnection,
    now: datetime,
    thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen
) -> bool:
    """Write both layers from the live state at ``now``, in one transaction; False when
    another refresh holds the lock (its result serves) or the town has no lots."""
    async with conn.transaction():
        if not await try_lock(conn, _LOCK):
            return False
        lots = await store.lots(conn, now, with_since=True, thresholds=thresholds)
        if not lots:
            return False
        await write_points(
            conn,
            LOTS_LAYER,
            "Parking lots (live)",
            public=True,
            attributes=LOT_ATTRIBUTES,
            points=[(lot.lon, lot.lat, lot_properties(lot)) for lot in lots],
            now=now,
        )
        bays = {
            bay.bay_id: bay_properties(lot.state.lot_id, bay)
            for lot in lots
            for bay in lot.state.bays
        }
        await _refresh_bays(conn, bays, now)
    return True


async def _refresh_bays(
    conn: AsyncConnection, bays: dict[str, dict[str, Any]], now: datetime
) -> None:
    imported = await (await conn.execute(_IMPORTED_BAYS, (BAYS_LAYER,))).fetchone()
    if imported is not None and imported[0]:  # the town's own bay geometries
        await conn.execute(
            _MERGE_BAYS,
            (list(bays), [orjson.dumps(p).decode() for p in bays.values()], BAYS_LAYER),
        )
        await conn.execute(
            "UPDATE layers SET attributes = attributes || %s, imported_at = %s WHERE layer_id = %s",
            (Jsonb(BAY_ATTRIBUTES), now, BAYS_LAYER),
        )
        return
    rows = await (await conn.execute(_BAY_POINTS)).fetchall()
    located = {device: (lon, lat) for device, lon, lat in rows}
    points = [(*located[p["device_id"]], p) for p in bays.values() if p["device_id"] in located]
    await write_points(
        conn,
        BAYS_LAYER,
        "Parking bays (live)",
        public=False,
        attributes=BAY_ATTRIBUTES,
        points=points,
        now=now,
    )
