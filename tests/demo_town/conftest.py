"""Fixtures: the demo town generated once per test session."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio

from demo_town import DemoTownFiles, generate


@pytest.fixture(scope="session")
def demo_seed() -> int:
    """Seed of the session's demo town."""
    return 42


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory, demo_seed: int) -> DemoTownFiles:
    """The demo town for ``demo_seed`` and the default parcel target."""
    return generate(tmp_path_factory.mktemp("demo_town"), seed=demo_seed)


@pytest.fixture(scope="session")
def layers(demo_files: DemoTownFiles) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the GeoPackage, keyed by name."""
    names = [name for name, _ in pyogrio.list_layers(demo_files.gpkg)]
    return {name: gpd.read_file(demo_files.gpkg, layer=name) for name in names}


@pytest.fixture(scope="session")
def dem(demo_files: DemoTownFiles) -> tuple[np.ndarray, rasterio.Affine]:
    """The DEM band and its transform."""
    with rasterio.open(demo_files.dem) as src:
        return src.read(1), src.transform
