"""``smartcity layers import`` and ``smartcity rasters import`` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Point, box
from typer.testing import CliRunner

from hub.cli import app


def test_layer_and_raster_imports_and_the_twin_follows(pg_url: str, tmp_path: Path) -> None:
    env = {"SMARTCITY_DATABASE_URL": pg_url, "SMARTCITY_DATA_DIR": str(tmp_path / "var")}
    town = tmp_path / "town.gpkg"
    gpd.GeoDataFrame(
        {"cadastral_number": ["101", "102"]},
        geometry=[box(489000, 250000, 489050, 250050), box(489050, 250000, 489100, 250050)],
        crs="EPSG:3844",
    ).to_file(town, layer="parcels")
    gpd.GeoDataFrame(
        {"asset_id": ["school-1"], "name": ["Școala 1"], "kind": ["school"]},
        geometry=[Point(489070, 250020)],
        crs="EPSG:3844",
    ).to_file(town, layer="assets")
    dem = tmp_path / "dem.tif"
    with rasterio.open(
        dem,
        "w",
        driver="GTiff",
        width=4,
        height=3,
        count=1,
        dtype="float32",
        transform=from_origin(489000, 250050, 25, 25),
    ) as dst:  # no CRS, as some exports come
        dst.write(np.arange(12, dtype="float32").reshape(3, 4), 1)

    runner = CliRunner()
    layers = runner.invoke(app, ["layers", "import", str(town)], env=env)
    assert layers.exit_code == 0, layers.output
    assert "parcels: 2 features (EPSG:3844), 0 repaired" in layers.stdout
    assert "twin: 1 assets, 0 devices, 1 placed" in layers.stdout

    refused = runner.invoke(app, ["rasters", "import", str(dem)], env=env)
    assert refused.exit_code != 0 and "pass --crs" in refused.output
    raster = runner.invoke(
        app, ["rasters", "import", str(dem), "--name", "terrain", "--crs", "EPSG:3844"], env=env
    )
    assert raster.exit_code == 0, raster.output
    assert "terrain: 4 x 3 cells (EPSG:3844)" in raster.stdout
    with psycopg.connect(pg_url) as conn:
        place = conn.execute("SELECT cadastral_number FROM asset_places").fetchone()
        stored = conn.execute("SELECT width, height, crs FROM rasters").fetchone()
    assert place == ("102",) and stored == (4, 3, "EPSG:3844")
