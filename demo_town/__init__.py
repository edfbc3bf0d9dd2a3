"""Deterministic demo town of Turnu Măgurele: a GeoPackage and a DEM in Stereo 70.

``generate(out_dir, seed)`` writes ``town.gpkg`` (layers parcels, zones, buildings,
streets, waterways, assets, parking_bays, sensors) and ``dem.tif``, all in EPSG:3844.
The data are synthetic but placed at the town's real position; see the module
docstrings for what is illustrative.
"""

from demo_town.generate import DemoTownFiles, generate
from demo_town.terrain import GAUGE_ZERO_M

PUBLIC_LAYERS = ("parcels", "zones", "buildings", "streets", "waterways", "parking_bays")
"""The layers a town publishes for anyone (cadastre, urbanism zones, buildings, streets);
its assets and sensors stay internal."""

__all__ = ["GAUGE_ZERO_M", "PUBLIC_LAYERS", "DemoTownFiles", "generate"]
