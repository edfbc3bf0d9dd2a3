"""Building footprints on the lots, with storeys and an estimate of residents.

Footprints are rectangles aligned with their lot; houses and shops stand at the
street front. Residents are spread over houses and apartment blocks in proportion
to their size and scaled to the 2021 census population.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from demo_town.catalogue import INSTITUTIONS
from demo_town.frames import Frames, principal_frames
from demo_town.geography import CRS

POPULATION_2021 = 19_597
PERSONS_PER_HOUSE = 2.6
FLOOR_AREA_PER_RESIDENT_M2 = 40.0
"""Gross floor area per resident in apartment blocks (illustrative)."""
LOT_INSET_M = 0.5
"""Footprints keep at least this distance from the lot boundary."""
SHRINK_FACTOR = 0.7
CENTRAL_SHOP_SHARE = 0.8


@dataclass(frozen=True)
class _Style:
    """How a building of one use sits on its lot; sizes are (min, max) metres."""

    use: str
    front: tuple[float, float]
    """Extent along the street front (or across the lot's long axis when centred)."""
    depth: tuple[float, float]
    """Extent away from the street (or along the lot's long axis when centred)."""
    max_share: float
    """Largest share of the lot's extent a footprint may take in each direction."""
    setback: float | None
    """Distance from the street front, or None for a footprint centred on the lot."""
    levels: tuple[int, ...]
    levels_p: tuple[float, ...]


HOUSE = _Style("residential", (8.0, 12.0), (9.0, 15.0), 0.6, 4.0, (1, 2), (0.7, 0.3))
SHOP = _Style("commercial", (10.0, 18.0), (12.0, 28.0), 0.7, 0.0, (1, 2, 3), (0.4, 0.4, 0.2))
APARTMENT = _Style(
    "apartment_block", (11.0, 13.0), (40.0, 65.0), 0.75, None, (4, 5, 8), (0.3, 0.6, 0.1)
)
INDUSTRIAL = _Style("industrial", (25.0, 50.0), (40.0, 100.0), 0.55, None, (1, 2), (0.7, 0.3))
MARKET_HALL = _Style("commercial", (20.0, 30.0), (40.0, 60.0), 0.5, None, (1,), (1.0,))


def build_buildings(parcels: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Place buildings on the parcels.

    Returns columns ``building_id``, ``use``, ``levels``, ``residents`` and the internal
    ``host`` (institution asset id for institution buildings, else None).
    """
    role = parcels["role"].to_numpy()
    host = parcels["host"].to_numpy()
    central = role == "central"
    shop = central & (rng.random(len(parcels)) < CENTRAL_SHOP_SHARE)
    groups: list[tuple[_Style, np.ndarray, str | None]] = [
        (HOUSE, role == "housing", None),
        (SHOP, shop, None),
        (APARTMENT, (role == "apartments") | (central & ~shop), None),
        (INDUSTRIAL, (role == "industry") | (role == "port"), None),
        (MARKET_HALL, role == "market", None),
    ]
    for institution in INSTITUTIONS:
        style = _Style(
            institution.building_use,
            (18.0, 30.0),
            (45.0, 80.0),
            0.55,
            None,
            (institution.levels,),
            (1.0,),
        )
        groups.append(
            (style, (role == "institution") & (host == institution.asset_id), institution.asset_id)
        )
    frames = []
    for style, mask, asset in groups:
        lots = parcels[mask & (parcels["land_use"] == "CC").to_numpy()]
        footprints, kept = _place(lots, style, rng)
        frames.append(
            pd.DataFrame(
                {
                    "use": style.use,
                    "levels": rng.choice(style.levels, size=len(kept), p=style.levels_p),
                    "host": asset,
                    "geometry": footprints,
                    "parcel": lots.index.to_numpy()[kept],
                }
            )
        )
    buildings = pd.concat(frames, ignore_index=True).sort_values("parcel", kind="stable")
    buildings = buildings.drop(columns="parcel").reset_index(drop=True)
    buildings.insert(0, "building_id", [f"bld-{i + 1:05d}" for i in range(len(buildings))])
    buildings["residents"] = _residents(buildings)
    columns = ["building_id", "use", "levels", "residents", "host", "geometry"]
    return gpd.GeoDataFrame(buildings[columns], geometry="geometry", crs=CRS)


def _place(
    lots: gpd.GeoDataFrame, style: _Style, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Footprints for the lots that can hold one, and the positions of those lots."""
    if lots.empty:
        return np.empty(0, dtype=object), np.empty(0, dtype=int)
    polygons = lots.geometry.to_numpy()
    frames = principal_frames(polygons)
    n = len(polygons)
    front = rng.uniform(*style.front, n)
    depth = rng.uniform(*style.depth, n)
    if style.setback is None:
        # Centred footprints take their long side along the lot's long axis.
        size_u = np.minimum(depth, style.max_share * frames.length)
        size_v = np.minimum(front, style.max_share * frames.width)
        offset = np.zeros((n, 2))
    else:
        direction, across = _street_side(frames, lots["block"].to_numpy())
        size_u = np.minimum(np.where(across, depth, front), style.max_share * frames.length)
        size_v = np.minimum(np.where(across, front, depth), style.max_share * frames.width)
        reach = np.where(
            across,
            frames.length / 2.0 - size_u / 2.0 - style.setback,
            frames.width / 2.0 - size_v / 2.0 - style.setback,
        )
        offset = direction * np.maximum(reach, 0.0)[:, None]
    inner = shapely.buffer(polygons, -LOT_INSET_M)
    footprints = np.empty(n, dtype=object)
    placed = np.zeros(n, dtype=bool)
    centred = np.zeros((n, 2))
    for shift, scale in [(offset, 1.0), (centred, 1.0)]:
        _try_footprints(frames, inner, shift, size_u * scale, size_v * scale, footprints, placed)
    # Irregular lots may not hold the footprint at the frame centre: fall back to the
    # centre of the largest inscribed circle (costly, so only for the remaining lots),
    # then to a smaller footprint.
    remaining = np.flatnonzero(~placed)
    circles = shapely.maximum_inscribed_circle(polygons[remaining])
    to_core = centred.copy()
    to_core[remaining] = shapely.get_coordinates(shapely.get_point(circles, 0))
    to_core[remaining] -= frames.centre[remaining]
    for scale in (1.0, SHRINK_FACTOR):
        _try_footprints(frames, inner, to_core, size_u * scale, size_v * scale, footprints, placed)
    kept = np.flatnonzero(placed)
    return footprints[kept], kept


def _try_footprints(
    frames: Frames,
    inner: np.ndarray,
    shift: np.ndarray,
    size_u: np.ndarray,
    size_v: np.ndarray,
    footprints: np.ndarray,
    placed: np.ndarray,
) -> None:
    """Place footprints, in place, on the lots not yet ``placed`` where they fit."""
    todo = np.flatnonzero(~placed)
    candidate = _rectangles(frames, todo, shift[todo], size_u[todo], size_v[todo])
    fits = shapely.contains(inner[todo], candidate)
    footprints[todo[fits]] = candidate[fits]
    placed[todo[fits]] = True


def _street_side(frames: Frames, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit direction from each lot's centre to its side nearest the block's edge.

    Returns the direction and whether that side lies across the lot's long axis (so the
    footprint's depth runs along the long axis).
    """
    n = len(blocks)
    half_u = frames.axis * (frames.length / 2.0)[:, None]
    half_v = frames.normal * (frames.width / 2.0)[:, None]
    candidates = np.stack([half_u, -half_u, half_v, -half_v], axis=1)
    midpoints = frames.centre[:, None, :] + candidates
    edge = shapely.get_exterior_ring(blocks)
    distance = shapely.distance(
        shapely.points(midpoints.reshape(-1, 2)), np.repeat(edge, 4)
    ).reshape(n, 4)
    side = np.argmin(distance, axis=1)
    unit = np.stack([frames.axis, -frames.axis, frames.normal, -frames.normal], axis=1)
    return unit[np.arange(n), side], side < 2


def _rectangles(
    frames: Frames, index: np.ndarray, shift: np.ndarray, size_u: np.ndarray, size_v: np.ndarray
) -> np.ndarray:
    """Rectangles of the given sizes in frames ``index``, centred at centre + shift."""
    shifted = Frames(
        centre=frames.centre[index] + shift,
        axis=frames.axis[index],
        normal=frames.normal[index],
        length=size_u,
        width=size_v,
    )
    local = np.arange(len(index))
    return shifted.rectangles(local, -size_u / 2.0, size_u / 2.0, -size_v / 2.0, size_v / 2.0)


def _residents(buildings: pd.DataFrame) -> np.ndarray:
    """Residents per building, summing exactly to ``POPULATION_2021``."""
    use = buildings["use"].to_numpy()
    levels = buildings["levels"].to_numpy()
    floor_area = shapely.area(buildings["geometry"].to_numpy()) * levels
    weight = np.where(use == "residential", PERSONS_PER_HOUSE * (1.0 + 0.25 * (levels - 1)), 0.0)
    weight = np.where(use == "apartment_block", floor_area / FLOOR_AREA_PER_RESIDENT_M2, weight)
    share = weight / weight.sum() * POPULATION_2021
    residents = np.floor(share).astype(int)
    # Largest remainders get the persons lost to rounding down.
    missing = POPULATION_2021 - residents.sum()
    residents[np.argsort(-(share - residents), kind="stable")[:missing]] += 1
    return residents
