"""IoT devices of the digital twin and the quantities each one reports."""

from __future__ import annotations

import geopandas as gpd

from demo_town.geography import CRS

GAUGE_QUANTITIES = "water_level,water_temperature"
"""``water_level`` in cm on the staff gauge (relative to the gauge zero)."""
BAY_QUANTITIES = "occupied"
COUNTER_QUANTITIES = "occupied_spaces"
AIR_QUALITY_QUANTITIES = "pm25,pm10,no2,o3"
METERED_KINDS = frozenset({"town_hall", "hospital", "high_school", "school", "kindergarten"})
"""Municipal buildings that get an electricity and a gas meter (carbon/meters.py)."""
ENERGY_METERS = (("electricity", "electricity_energy"), ("gas", "gas_volume"))
"""(device id suffix, quantity) of each building's energy meters."""
COLUMNS = ["device_id", "kind", "asset_id", "quantities", "bay_id", "geometry"]


def build_sensors(assets: gpd.GeoDataFrame, bays: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One gauge, one counter per lot, one sensor per bay, one device per AQ station and
    an electricity and a gas meter per municipal building."""
    rows = []
    for asset in assets.itertuples():
        if asset.kind == "river_gauge":
            rows.append(
                (
                    asset.asset_id,
                    "river_gauge",
                    asset.asset_id,
                    GAUGE_QUANTITIES,
                    None,
                    asset.geometry,
                )
            )
        elif asset.kind == "parking_lot":
            rows.append(
                (
                    f"{asset.asset_id}-counter",
                    "parking_counter",
                    asset.asset_id,
                    COUNTER_QUANTITIES,
                    None,
                    asset.geometry,
                )
            )
        elif asset.kind == "air_quality_station":
            rows.append(
                (
                    asset.asset_id,
                    "air_quality",
                    asset.asset_id,
                    AIR_QUALITY_QUANTITIES,
                    None,
                    asset.geometry,
                )
            )
        elif asset.kind in METERED_KINDS:
            rows.extend(
                (
                    f"{asset.asset_id}-meter-{suffix}",
                    "energy_meter",
                    asset.asset_id,
                    quantity,
                    None,
                    asset.geometry,
                )
                for suffix, quantity in ENERGY_METERS
            )
    for bay in bays.itertuples():
        rows.append(
            (
                f"{bay.bay_id}-sensor",
                "parking_bay",
                bay.asset_id,
                BAY_QUANTITIES,
                bay.bay_id,
                bay.geometry.centroid,
            )
        )
    return gpd.GeoDataFrame(rows, columns=COLUMNS, crs=CRS)
