"""The DEM: format, the terrace, the river and flood extents at the gauge thresholds."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.features import rasterize, shapes
from shapely.geometry import Point, shape

from demo_town import GAUGE_ZERO_M, DemoTownFiles

ATTENTION_CM, FLOOD_CM, DANGER_CM = 500, 550, 650


def _stage(level_cm: int) -> float:
    return GAUGE_ZERO_M + level_cm / 100.0


def _elevation_at(dem: tuple[np.ndarray, rasterio.Affine], point: Point) -> float:
    band, transform = dem
    row, col = rasterio.transform.rowcol(transform, point.x, point.y)
    return float(band[row, col])


def _connected(
    dem: tuple[np.ndarray, rasterio.Affine], level_m: float, source: Point, connectivity: int = 8
) -> np.ndarray:
    """Cells below ``level_m`` connected to the cell containing ``source``."""
    band, transform = dem
    below = band < level_m
    for geometry, _ in shapes(
        below.astype(np.uint8), mask=below, connectivity=connectivity, transform=transform
    ):
        region = shape(geometry)
        if region.contains(source):
            return rasterize([region], out_shape=band.shape, transform=transform).astype(bool)
    raise AssertionError("the source point is not below the level")


@pytest.fixture(scope="module")
def river_point(layers: dict[str, gpd.GeoDataFrame]) -> Point:
    return layers["waterways"].set_index("name").geometry["Dunărea"].representative_point()


def test_geotiff_profile(demo_files: DemoTownFiles) -> None:
    with rasterio.open(demo_files.dem) as src:
        assert src.crs.to_epsg() == 3844
        assert src.dtypes == ("float32",)
        assert src.res == (5.0, 5.0)
        assert src.nodata is not None
        assert src.compression is not None and src.compression.value == "DEFLATE"
        band = src.read(1)
        assert (band != src.nodata).all()
        assert band.min() > 5 and band.max() < 50


def test_dem_covers_the_data(
    demo_files: DemoTownFiles, layers: dict[str, gpd.GeoDataFrame]
) -> None:
    with rasterio.open(demo_files.dem) as src:
        left, bottom, right, top = src.bounds
    for name in ("parcels", "assets", "buildings"):
        xmin, ymin, xmax, ymax = layers[name].total_bounds
        assert left <= xmin and xmax <= right and bottom <= ymin and ymax <= top, name


def test_terrace_and_river(dem: tuple[np.ndarray, rasterio.Affine], river_point: Point) -> None:
    centre = Point(
        Transformer.from_crs("EPSG:4326", "EPSG:3844", always_xy=True).transform(24.8708, 43.7517)
    )
    assert _elevation_at(dem, centre) > 29.0
    assert _elevation_at(dem, river_point) < GAUGE_ZERO_M
    band, _ = dem
    assert np.abs(np.diff(band, axis=0)).max() < 5.0


def test_flood_extent_grows_with_the_gauge_level(
    dem: tuple[np.ndarray, rasterio.Affine], river_point: Point
) -> None:
    extents = [_connected(dem, _stage(cm), river_point).sum() for cm in (500, 550, 650)]
    assert extents[0] < extents[1] < extents[2]
    assert _connected(dem, 24.5, river_point).sum() < _connected(dem, 26.0, river_point).sum()


def test_hollow_behind_the_levee_is_not_connected(
    dem: tuple[np.ndarray, rasterio.Affine],
    river_point: Point,
    layers: dict[str, gpd.GeoDataFrame],
) -> None:
    band, transform = dem
    level = _stage(ATTENTION_CM)
    isolated = (band < level) & ~_connected(dem, level, river_point)
    rows, cols = np.nonzero(isolated)
    xs, _ = rasterio.transform.xy(transform, rows, cols)
    gauge = layers["assets"].set_index("asset_id").geometry["gauge-tr-magurele"]
    downstream = np.asarray(xs) > gauge.x
    assert downstream.sum() * 25.0 > 10_000  # at least 1 ha of unconnected low ground


def test_port_floods_at_danger_level_and_town_stays_dry(
    dem: tuple[np.ndarray, rasterio.Affine],
    river_point: Point,
    layers: dict[str, gpd.GeoDataFrame],
) -> None:
    band, transform = dem
    buildings = layers["buildings"]
    points = buildings.representative_point()
    rows, cols = rasterio.transform.rowcol(transform, points.x.to_numpy(), points.y.to_numpy())
    flooded = {
        cm: _connected(dem, _stage(cm), river_point)[np.asarray(rows), np.asarray(cols)]
        for cm in (ATTENTION_CM, FLOOD_CM, DANGER_CM)
    }
    assert not flooded[ATTENTION_CM].any()
    assert flooded[DANGER_CM].sum() > flooded[FLOOD_CM].sum()
    assert set(buildings.loc[flooded[DANGER_CM], "use"]) == {"industrial"}
    assert (
        band[np.asarray(rows), np.asarray(cols)][
            buildings["use"].isin(["residential", "apartment_block"]).to_numpy()
        ].min()
        > _stage(DANGER_CM) + 2.0
    )
