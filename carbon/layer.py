"""The municipal assets with their emissions as a GIS layer, ``carbon_assets``, for the
map, QGIS and any OGC API - Features client.

Like parking's live layers (``parking/layers.py``) it is a stored layer rewritten from
the inventory when read and stale (``api/live_layers.py``; written by
:mod:`gis_layers.live`), so every layer route (items,
CQL2 filters, CRSs, tiles) serves it unchanged: a point per asset with consumption this
year or last (its twin location, CRS84), with this year's tonnes to date, last year's
and the change. New, it is not public: ``smartcity layers publish carbon_assets`` opens it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from carbon import store
from carbon.errors import FactorNotFound
from carbon.factors import FactorTable
from carbon.inventory import Inventory
from gis_layers.live import try_lock, write_points

log = logging.getLogger(__name__)

LAYER = "carbon_assets"
_LOCK = 0x5C17_CA4C
"""Advisory lock key: one refresh at a time across API processes (others skip)."""

ATTRIBUTES = {
    "asset_id": "object",
    "name": "object",
    "kind": "object",
    "sector": "object",
    "year": "int64",
    "t_co2e": "float64",
    "scope1_t_co2e": "float64",
    "scope2_t_co2e": "float64",
    "mwh": "float64",
    "previous_year_t_co2e": "float64",
    "unconfirmed_factors": "bool",
}


def features(current: Inventory, previous: Inventory) -> list[tuple[float, float, dict[str, Any]]]:
    """(lon, lat, properties) of every located asset of either inventory."""
    now_totals, then_totals = current.by_asset(), previous.by_asset()
    assets = {**previous.assets, **current.assets}
    unconfirmed = {line.asset_id for line in current.lines if not line.factor.confirmed}
    out = []
    for asset_id in sorted(assets):
        asset = assets[asset_id]
        if asset.lon is None or asset.lat is None:
            continue  # consumption of an asset no longer in the twin: in the inventory only
        totals = now_totals.get(asset_id)
        before = then_totals.get(asset_id)
        out.append(
            (
                asset.lon,
                asset.lat,
                {
                    "asset_id": asset_id,
                    "name": asset.name,
                    "kind": asset.kind,
                    "sector": asset.sector.value,
                    "year": current.year,
                    "t_co2e": round(totals.t_co2e, 6) if totals else 0.0,
                    "scope1_t_co2e": round(totals.scope1_t_co2e, 6) if totals else 0.0,
                    "scope2_t_co2e": round(totals.scope2_t_co2e, 6) if totals else 0.0,
                    "mwh": round(totals.mwh, 6) if totals else 0.0,
                    "previous_year_t_co2e": round(before.t_co2e, 6) if before else 0.0,
                    # this year's tonnes rest on a factor marked unconfirmed in the table
                    "unconfirmed_factors": asset_id in unconfirmed,
                },
            )
        )
    return out


async def refresh(conn: AsyncConnection, now: datetime, table: FactorTable) -> bool:
    """Rewrite the layer from the inventories of ``now``'s year (to date) and the year
    before, in one transaction; False when another refresh holds the lock or the factor
    table lacks a factor those years need (logged)."""
    async with conn.transaction():
        if not await try_lock(conn, _LOCK):
            return False
        try:
            current = await store.load_inventory(conn, now.year, table)
            previous = await store.load_inventory(conn, now.year - 1, table)
        except FactorNotFound as exc:
            # a gap in the town's factor table must not take every layer route down
            # with it: the layer stays as last written, /carbon/inventory says why
            log.warning("layer %s not refreshed: %s", LAYER, exc)
            return False
        points = features(current, previous)
        if not points:
            # a town without consumption data gets no empty layer (parking does the same)
            await conn.execute("DELETE FROM features WHERE layer_id = %s", (LAYER,))
            await conn.execute(
                "UPDATE layers SET feature_count = 0, imported_at = %s WHERE layer_id = %s",
                (now, LAYER),
            )
            return True
        await write_points(
            conn,
            LAYER,
            "Municipal assets: emissions (t CO2e)",
            public=False,
            attributes=ATTRIBUTES,
            points=points,
            now=now,
        )
    return True
