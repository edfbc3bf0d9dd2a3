"""Assets of the digital twin: institutions, parking lots, the Danube gauge, AQ stations."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import Point

from demo_town.catalogue import (
    AIR_QUALITY_STATIONS,
    GAUGE_ASSET_ID,
    GAUGE_NAME,
    INSTITUTIONS,
    PARKING_LOTS,
)
from demo_town.geography import CRS, Site

COLUMNS = ["asset_id", "name", "kind", "capacity", "building_id", "geometry"]


def build_assets(
    site: Site,
    streets: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    bays: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Point assets; ``capacity`` is beds or pupils, bays for lots, 0 when not applicable."""
    rows = []
    for institution in INSTITUTIONS:
        building = buildings[buildings["host"] == institution.asset_id]
        if len(building) != 1:
            raise RuntimeError(
                f"expected one building for {institution.asset_id}, found {len(building)}"
            )
        rows.append(
            (
                institution.asset_id,
                institution.name,
                institution.kind,
                institution.capacity,
                building["building_id"].iloc[0],
                building.geometry.iloc[0].point_on_surface(),
            )
        )
    for spec in PARKING_LOTS:
        lot_bays = bays.geometry[bays["asset_id"] == spec.asset_id].to_numpy()
        centre = shapely.centroid(shapely.multipoints(shapely.centroid(lot_bays)))
        rows.append((spec.asset_id, spec.name, "parking_lot", len(lot_bays), None, centre))
    rows.append((GAUGE_ASSET_ID, GAUGE_NAME, "river_gauge", 0, None, site.gauge))
    for asset_id, name, offset in AIR_QUALITY_STATIONS:
        anchor = Point(site.centre.x + offset[0], site.centre.y + offset[1])
        rows.append((asset_id, name, "air_quality_station", 0, None, _kerbside(anchor, streets)))
    return gpd.GeoDataFrame(rows, columns=COLUMNS, crs=CRS)


def _kerbside(anchor: Point, streets: gpd.GeoDataFrame) -> Point:
    """The point of the nearest town street closest to ``anchor``."""
    town = streets[streets["class"] != "service"].geometry.to_numpy()
    nearest = town[int(np.argmin(shapely.distance(town, anchor)))]
    return nearest.interpolate(nearest.project(anchor))
