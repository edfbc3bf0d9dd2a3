"""The generator is a pure function of its seed."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import shapely

from demo_town import DemoTownFiles, generate


def _contents(files: DemoTownFiles) -> tuple[dict[str, tuple[list, np.ndarray]], np.ndarray]:
    """Attributes and WKB of every layer, and the DEM values."""
    layers = {}
    for name, _ in pyogrio.list_layers(files.gpkg):
        frame = gpd.read_file(files.gpkg, layer=name)
        attributes = frame.drop(columns="geometry").astype(object)
        attributes = attributes.where(attributes.notna(), None)
        layers[name] = (
            attributes.to_numpy().tolist(),
            shapely.to_wkb(frame.geometry.to_numpy()),
        )
    with rasterio.open(files.dem) as src:
        return layers, src.read(1)


def _same(a: tuple, b: tuple) -> bool:
    layers_a, dem_a = a
    layers_b, dem_b = b
    if layers_a.keys() != layers_b.keys() or not np.array_equal(dem_a, dem_b):
        return False
    return all(
        layers_a[name][0] == layers_b[name][0]
        and np.array_equal(layers_a[name][1], layers_b[name][1])
        for name in layers_a
    )


def test_same_seed_gives_identical_contents(
    demo_files: DemoTownFiles, demo_seed: int, tmp_path: Path
) -> None:
    again = generate(tmp_path / "again", seed=demo_seed)
    assert _same(_contents(demo_files), _contents(again))


def test_different_seed_gives_different_contents(
    demo_files: DemoTownFiles, demo_seed: int, tmp_path: Path
) -> None:
    first_layers, first_dem = _contents(demo_files)
    other_layers, other_dem = _contents(generate(tmp_path / "other", seed=demo_seed + 1))
    assert not np.array_equal(first_dem, other_dem)
    for name in ("parcels", "buildings", "streets", "zones"):
        assert not np.array_equal(first_layers[name][1], other_layers[name][1]), name
