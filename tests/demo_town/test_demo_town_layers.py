"""Vector layers of the demo town: schema, CRS, position, sizes and relations."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

CENTRE_LON_LAT = (24.8708, 43.7517)
SCHEMA = {
    "parcels": ("Polygon", ["cadastral_number", "land_use", "area_m2", "intravilan"]),
    "zones": ("Polygon", ["code", "name", "utr"]),
    "buildings": ("Polygon", ["building_id", "use", "levels", "residents"]),
    "streets": ("LineString", ["name", "class", "width_m"]),
    "waterways": ("Polygon", ["name", "kind"]),
    "assets": ("Point", ["asset_id", "name", "kind", "capacity", "building_id"]),
    "parking_bays": ("Polygon", ["bay_id", "asset_id"]),
    "sensors": ("Point", ["device_id", "kind", "asset_id", "quantities", "bay_id"]),
}
INSTITUTION_NAMES = {
    "Spitalul Municipal",
    "Colegiul Național Unirea",
    "Liceul Teoretic Marin Preda",
    "Liceul Tehnologic Gen. David Praporgescu",
    "Liceul Tehnologic Sfântul Haralambie",
    "Școala Gimnazială Mircea cel Bătrân",
    "Școala Gimnazială nr. 2",
    "Școala Gimnazială nr. 4",
    "Grădinița cu Program Prelungit nr. 1",
    "Primăria",
}
TARGET = 5_000


def _centre_stereo70() -> tuple[float, float]:
    return Transformer.from_crs("EPSG:4326", "EPSG:3844", always_xy=True).transform(*CENTRE_LON_LAT)


def _no_overlaps(geometries: np.ndarray, tolerance_m2: float = 0.01) -> bool:
    tree = shapely.STRtree(geometries)
    left, right = tree.query(geometries, predicate="intersects")
    pairs = left < right
    shared = shapely.area(shapely.intersection(geometries[left[pairs]], geometries[right[pairs]]))
    return bool((shared <= tolerance_m2).all())


@pytest.mark.parametrize("name", sorted(SCHEMA))
def test_layer_schema_and_crs(layers: dict[str, gpd.GeoDataFrame], name: str) -> None:
    geometry_type, columns = SCHEMA[name]
    layer = layers[name]
    assert layer.crs.to_epsg() == 3844
    assert list(layer.columns) == [*columns, "geometry"]
    assert set(layer.geom_type) == {geometry_type}
    assert layer.is_valid.all()
    assert len(layer) > 0


def test_position_around_turnu_magurele(layers: dict[str, gpd.GeoDataFrame]) -> None:
    parcels = layers["parcels"]
    centre = _centre_stereo70()
    assert centre == pytest.approx((489_700, 250_200), abs=100)
    middle = parcels.centroid.union_all().centroid
    assert middle.distance(shapely.Point(centre)) < 1_500
    bounds = np.array([layer.total_bounds for layer in layers.values()])
    xmin, ymin = bounds[:, :2].min(axis=0)
    xmax, ymax = bounds[:, 2:].max(axis=0)
    to_wgs84 = Transformer.from_crs("EPSG:3844", "EPSG:4326", always_xy=True)
    lon_min, lat_min, lon_max, lat_max = to_wgs84.transform_bounds(xmin, ymin, xmax, ymax)
    assert 43.70 <= lat_min < lat_max <= 43.80
    assert 24.80 <= lon_min < lon_max <= 24.95


def test_planar_area_matches_geodesic_area(layers: dict[str, gpd.GeoDataFrame]) -> None:
    parcels = layers["parcels"]
    sample = parcels.sample(40, random_state=0)
    geod = Geod(ellps="WGS84")
    for planar, geographic in zip(
        sample["area_m2"], sample.to_crs("EPSG:4326").geometry, strict=True
    ):
        geodesic = abs(geod.geometry_area_perimeter(geographic)[0])
        assert planar == pytest.approx(geodesic, rel=0.002)
    assert np.allclose(parcels["area_m2"], parcels.area)


def test_parcels(layers: dict[str, gpd.GeoDataFrame]) -> None:
    parcels = layers["parcels"]
    assert 0.8 * TARGET <= len(parcels) <= 1.2 * TARGET
    assert parcels["cadastral_number"].is_unique
    assert parcels["cadastral_number"].str.fullmatch(r"\d{5,6}").all()
    assert set(parcels["land_use"]) == {"CC", "A", "P", "DR", "HR", "V", "L", "N"}
    assert parcels["intravilan"].dtype == bool
    assert _no_overlaps(parcels.geometry.to_numpy())
    houses = layers["buildings"].query("use == 'residential'")
    house_lots = parcels.iloc[
        np.unique(parcels.sindex.query(houses.geometry.to_numpy(), predicate="within")[1])
    ]
    assert house_lots["area_m2"].quantile([0.05, 0.95]).between(250, 1_500).all()
    fields = parcels[~parcels["intravilan"] & parcels["land_use"].isin(["A", "P"])]
    assert fields["area_m2"].median() > 20_000


def test_buildings_stand_on_parcels(layers: dict[str, gpd.GeoDataFrame]) -> None:
    buildings, parcels = layers["buildings"], layers["parcels"]
    inside, _ = parcels.sindex.query(buildings.geometry.to_numpy(), predicate="within")
    assert np.unique(inside).size == len(buildings)
    assert buildings["building_id"].is_unique
    assert buildings["residents"].sum() == 19_597
    lived_in = buildings["use"].isin(["residential", "apartment_block"])
    assert (buildings.loc[~lived_in, "residents"] == 0).all()
    assert (buildings.loc[lived_in, "residents"] > 0).mean() > 0.95
    assert set(buildings["use"]) == {
        "residential",
        "apartment_block",
        "school",
        "hospital",
        "town_hall",
        "commercial",
        "industrial",
        "kindergarten",
    }
    assert _no_overlaps(buildings.geometry.to_numpy())


def test_zones_partition_the_built_up_area(layers: dict[str, gpd.GeoDataFrame]) -> None:
    zones, parcels = layers["zones"], layers["parcels"]
    assert set(zones["code"]) == {"C", "L", "Lm", "IS", "I", "V", "A", "CC", "TE", "GC"}
    assert zones["utr"].str.fullmatch(r"UTR \d+").all()
    assert _no_overlaps(zones.geometry.to_numpy())
    built = parcels[parcels["intravilan"]].union_all()
    covered = zones.union_all()
    assert built.difference(covered).area < 0.001 * built.area
    institutions = layers["assets"].query("kind in ['hospital', 'high_school', 'school']")
    zone_of = gpd.sjoin(institutions, zones, predicate="within")["code"]
    assert (zone_of == "IS").all()


def test_streets_and_waterways(layers: dict[str, gpd.GeoDataFrame]) -> None:
    streets = layers["streets"]
    assert set(streets["class"]) == {"primary", "secondary", "residential", "service"}
    assert (streets["width_m"] > 0).all()
    assert streets["name"].str.len().gt(0).all()
    waterways = layers["waterways"]
    assert set(waterways["name"]) == {"Dunărea", "Olt"}
    assert set(waterways["kind"]) == {"river"}


def test_assets(layers: dict[str, gpd.GeoDataFrame]) -> None:
    assets = layers["assets"]
    assert assets["asset_id"].is_unique
    assert INSTITUTION_NAMES <= set(assets["name"])
    assert {"hospital-municipal", "school-unirea"} <= set(assets["asset_id"])
    named = assets[assets["name"].isin(INSTITUTION_NAMES)]
    assert named["building_id"].isin(layers["buildings"]["building_id"]).all()
    lots = assets[assets["kind"] == "parking_lot"]
    assert 5 <= len(lots) <= 8
    assert lots["capacity"].between(40, 150).all()
    bays_per_lot = layers["parking_bays"].groupby("asset_id").size()
    assert bays_per_lot.reindex(lots["asset_id"]).tolist() == lots["capacity"].tolist()
    gauge = assets.set_index("asset_id").loc["gauge-tr-magurele"]
    assert gauge["kind"] == "river_gauge"
    danube = layers["waterways"].set_index("name").geometry["Dunărea"]
    assert gauge.geometry.distance(danube) < 20
    aq = assets[assets["kind"] == "air_quality_station"]
    assert sorted(aq["asset_id"]) == ["aq-tr-2", "aq-tr-3", "aq-tr-4"]


def test_parking_bays(layers: dict[str, gpd.GeoDataFrame]) -> None:
    bays = layers["parking_bays"]
    assert bays["bay_id"].is_unique
    assert bays["bay_id"].str.fullmatch(r"lot-[a-z]+-b\d{3}").all()
    assert np.allclose(bays.area, 2.5 * 5.0)
    assert _no_overlaps(bays.geometry.to_numpy())
    on_buildings = layers["buildings"].sindex.query(bays.geometry.to_numpy(), predicate="overlaps")
    assert on_buildings.size == 0
    parcels = layers["parcels"]
    holder = parcels.sindex.query(bays.geometry.to_numpy(), predicate="within")
    assert np.unique(holder[0]).size == len(bays)


def test_sensors(layers: dict[str, gpd.GeoDataFrame]) -> None:
    sensors, assets, bays = layers["sensors"], layers["assets"], layers["parking_bays"]
    assert sensors["device_id"].is_unique
    assert sensors["asset_id"].isin(assets["asset_id"]).all()
    bay_sensors = sensors[sensors["kind"] == "parking_bay"]
    assert set(bay_sensors["bay_id"]) == set(bays["bay_id"])
    assert len(bay_sensors) == len(bays)
    assert (bay_sensors["quantities"] == "occupied").all()
    counters = sensors[sensors["kind"] == "parking_counter"]
    lots = assets.loc[assets["kind"] == "parking_lot", "asset_id"]
    assert sorted(counters["asset_id"]) == sorted(lots)
    assert (counters["quantities"] == "occupied_spaces").all()
    assert counters["bay_id"].isna().all()
    by_device = sensors.set_index("device_id")
    assert by_device.loc["gauge-tr-magurele", "quantities"] == "water_level,water_temperature"
    assert by_device.loc["gauge-tr-magurele", "asset_id"] == "gauge-tr-magurele"
    for device in ("aq-tr-2", "aq-tr-3", "aq-tr-4"):
        assert by_device.loc[device, "kind"] == "air_quality"
        assert by_device.loc[device, "quantities"] == "pm25,pm10,no2,o3"


def test_municipal_buildings_have_energy_meters(layers: dict[str, gpd.GeoDataFrame]) -> None:
    sensors, assets = layers["sensors"], layers["assets"]
    meters = sensors[sensors["kind"] == "energy_meter"]
    buildings = assets[assets["kind"].isin(["town_hall", "hospital", "school", "high_school"])]
    assert len(buildings) >= 9  # the town hall, the hospital and the schools of DOMAIN.md
    for asset_id in buildings["asset_id"]:
        mine = meters[meters["asset_id"] == asset_id]
        assert sorted(mine["quantities"]) == ["electricity_energy", "gas_volume"]
