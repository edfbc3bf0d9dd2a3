"""Parking bays laid out in rows inside the parking-lot parcels.

Bays are 2.5 m x 5 m, in pairs of rows facing a 6 m aisle, aligned with the lot's
long side; only bays wholly inside the lot (kept 1.5 m from its boundary) are used.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from demo_town.catalogue import PARKING_BAYS_RANGE, PARKING_LOTS
from demo_town.frames import principal_frames
from demo_town.geography import CRS

BAY_WIDTH_M = 2.5
BAY_LENGTH_M = 5.0
AISLE_M = 6.0
LOT_INSET_M = 1.5


class ParkingLayoutError(RuntimeError):
    """A parking lot's parcel cannot hold the minimum number of bays."""


def build_bays(parcels: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Lay out the bays of every lot in ``PARKING_LOTS``; columns ``bay_id``, ``asset_id``."""
    rows = []
    for spec in PARKING_LOTS:
        lot = parcels.geometry[parcels["lot"] == spec.asset_id]
        if len(lot) != 1:
            raise ParkingLayoutError(f"expected one parcel for {spec.asset_id}, found {len(lot)}")
        wanted = int(rng.integers(PARKING_BAYS_RANGE[0], PARKING_BAYS_RANGE[1] + 1))
        bays = _layout(lot.iloc[0])[:wanted]
        if len(bays) < PARKING_BAYS_RANGE[0]:
            raise ParkingLayoutError(
                f"{spec.asset_id}: only {len(bays)} bays fit in its parcel "
                f"(minimum {PARKING_BAYS_RANGE[0]})"
            )
        rows += [
            (f"{spec.asset_id}-b{i + 1:03d}", spec.asset_id, bay) for i, bay in enumerate(bays)
        ]
    return gpd.GeoDataFrame(rows, columns=["bay_id", "asset_id", "geometry"], crs=CRS)


def _layout(parcel: shapely.Polygon) -> np.ndarray:
    """Every bay that fits in the parcel, row by row."""
    frames = principal_frames(np.array([parcel]))
    half_l, half_w = frames.length[0] / 2.0, frames.width[0] / 2.0
    module = 2.0 * BAY_LENGTH_M + AISLE_M
    starts = np.arange(-half_w + LOT_INSET_M, half_w, module)
    row_v0 = np.sort(np.concatenate([starts, starts + BAY_LENGTH_M + AISLE_M]))
    bay_u0 = np.arange(-half_l + LOT_INSET_M, half_l - BAY_WIDTH_M, BAY_WIDTH_M)
    u0, v0 = (a.ravel() for a in np.meshgrid(bay_u0, row_v0))
    candidates = frames.rectangles(
        np.zeros(u0.size, dtype=int), u0, u0 + BAY_WIDTH_M, v0, v0 + BAY_LENGTH_M
    )
    inner = shapely.buffer(parcel, -LOT_INSET_M)
    return candidates[shapely.contains(inner, candidates)]
