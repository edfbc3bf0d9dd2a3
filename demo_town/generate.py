"""Generate the demo town: a GeoPackage of vector layers and a GeoTIFF terrain model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np

from demo_town.assets import build_assets
from demo_town.bays import build_bays
from demo_town.buildings import build_buildings
from demo_town.geography import CRS, build_site
from demo_town.parcels import DEFAULT_PARCELS_TARGET, build_parcels
from demo_town.sensors import build_sensors
from demo_town.streets import build_streets
from demo_town.terrain import build_dem, write_geotiff
from demo_town.zones import zone_cells, zones_layer

GPKG_NAME = "town.gpkg"
DEM_NAME = "dem.tif"
LAYER_COLUMNS = {
    "parcels": ["cadastral_number", "land_use", "area_m2", "intravilan"],
    "zones": ["code", "name", "utr"],
    "buildings": ["building_id", "use", "levels", "residents"],
    "streets": ["name", "class", "width_m"],
    "waterways": ["name", "kind"],
    "assets": ["asset_id", "name", "kind", "capacity", "building_id"],
    "parking_bays": ["bay_id", "asset_id"],
    "sensors": ["device_id", "kind", "asset_id", "quantities", "bay_id"],
}
"""Public columns of each GeoPackage layer (geometry besides)."""


@dataclass(frozen=True)
class DemoTownFiles:
    """Paths of the generated files."""

    gpkg: Path
    dem: Path


def generate(
    out_dir: Path, seed: int = 42, n_parcels_target: int = DEFAULT_PARCELS_TARGET
) -> DemoTownFiles:
    """Generate the demo town of Turnu Măgurele into ``out_dir``.

    The output depends only on ``seed`` (a non-negative integer) and
    ``n_parcels_target``: the same arguments give identical layer contents and DEM
    values. Existing files of the same names are replaced. A target of only a few
    hundred parcels is rejected with a ``ValueError``: roads, waters, fields and public
    land need parcels of their own.

    Example:
        >>> files = generate(Path("/tmp/demo"), seed=42)  # doctest: +SKIP
        >>> gpd.read_file(files.gpkg, layer="assets")  # doctest: +SKIP
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if n_parcels_target < 1:
        raise ValueError(f"n_parcels_target must be positive, got {n_parcels_target}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = {
        name: np.random.default_rng(child)
        for name, child in zip(
            ("site", "terrain", "streets", "zones", "parcels", "buildings", "bays"),
            np.random.SeedSequence(seed).spawn(7),
            strict=True,
        )
    }
    site = build_site(rng["site"])
    dem = build_dem(site, rng["terrain"])
    network = build_streets(site, rng["streets"])
    cells = zone_cells(network, site, rng["zones"])
    parcels = build_parcels(site, network, cells, dem, n_parcels_target, rng["parcels"])
    buildings = build_buildings(parcels, rng["buildings"])
    bays = build_bays(parcels, rng["bays"])
    assets = build_assets(site, network.streets, buildings, bays)
    layers = {
        "parcels": parcels,
        "zones": zones_layer(cells),
        "buildings": buildings,
        "streets": network.streets,
        "waterways": gpd.GeoDataFrame(
            {
                "name": [site.danube.name, site.olt.name],
                "kind": "river",
                "geometry": [
                    site.danube.channel().intersection(site.study_area),
                    site.olt.channel()
                    .difference(site.danube.channel())
                    .intersection(site.study_area),
                ],
            },
            crs=CRS,
        ),
        "assets": assets,
        "parking_bays": bays,
        "sensors": build_sensors(assets, bays),
    }
    files = DemoTownFiles(gpkg=out_dir / GPKG_NAME, dem=out_dir / DEM_NAME)
    files.gpkg.unlink(missing_ok=True)
    for name, frame in layers.items():
        public = gpd.GeoDataFrame(frame[LAYER_COLUMNS[name]], geometry=frame.geometry, crs=CRS)
        public.to_file(files.gpkg, layer=name, driver="GPKG", engine="pyogrio")
    write_geotiff(dem, files.dem)
    return files
