"""Raster layers through the API, on a synthetic terrain whose every cell is known.

Cell (row, col) holds ``row * 1000 + col``; a corner block is nodata. Expected values
and statistics are read off that formula, points and polygons are placed on cell
centres and edges in Stereo 70 and sent in CRS84 as a client would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
import rasterio
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from rasterio.io import MemoryFile
from rasterio.transform import from_origin

from api.app import create_app
from gis_layers.rasters import register
from harness.credentials import signed_in
from settings import Settings
from storage import migrations

X0, Y0, CELL = 489000.0, 251000.0, 10.0  # top-left corner in Stereo 70, 10 m cells
ROWS, COLS, NODATA = 80, 100, -9999.0
TO_CRS84 = Transformer.from_crs("EPSG:3844", "OGC:CRS84", always_xy=True)


def _cells() -> np.ndarray:
    values = np.add.outer(np.arange(ROWS) * 1000.0, np.arange(COLS)).astype(np.float32)
    values[:10, 90:] = NODATA
    return values


def _centre(row: int, col: int) -> tuple[float, float]:
    return X0 + (col + 0.5) * CELL, Y0 - (row + 0.5) * CELL


@pytest.fixture
def terrain(pg_url: str, tmp_path: Path) -> Iterator[TestClient]:
    path = tmp_path / "dem.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=COLS,
        height=ROWS,
        count=1,
        dtype="float32",
        crs="EPSG:3844",
        transform=from_origin(X0, Y0, CELL, CELL),
        nodata=NODATA,
    ) as dst:
        dst.write(_cells(), 1)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        assert register(conn, path, name="terrain").width == COLS
    with signed_in(create_app(Settings(), pg_url), pg_url) as client:
        yield client


def test_catalogue_describes_the_raster(terrain: TestClient) -> None:
    [raster] = terrain.get("/rasters").json()["rasters"]
    assert raster["id"] == "terrain" and raster["crs"] == "EPSG:3844"
    assert (raster["width"], raster["height"], raster["resolution"]) == (COLS, ROWS, [10.0, 10.0])
    assert raster["bbox"] == [X0, Y0 - ROWS * CELL, X0 + COLS * CELL, Y0]
    west, south, east, north = raster["bbox_crs84"]
    assert 24.8 < west < east < 25.0 and 43.7 < south < north < 43.8
    assert terrain.get("/rasters/terrain").json()["id"] == "terrain"


@pytest.mark.parametrize(("row", "col"), [(0, 0), (37, 12), (79, 99), (50, 3)])
def test_value_at_a_point_given_in_crs84(terrain: TestClient, row: int, col: int) -> None:
    lon, lat = TO_CRS84.transform(*_centre(row, col))
    answer = terrain.get("/rasters/terrain/value", params={"lon": lon, "lat": lat}).json()
    assert (answer["row"], answer["col"]) == (row, col)
    assert answer["values"] == [row * 1000.0 + col]


def test_nodata_and_outside_are_null(terrain: TestClient) -> None:
    for x, y in (_centre(5, 95), (X0 - 50, Y0 + 50)):
        lon, lat = TO_CRS84.transform(x, y)
        answer = terrain.get("/rasters/terrain/value", params={"lon": lon, "lat": lat}).json()
        assert answer["values"] == [None]


def test_statistics_inside_a_polygon(terrain: TestClient) -> None:
    """Rows 20-29, cols 40-59 (edges on cell edges), sent as a CRS84 polygon."""
    box = shapely.box(X0 + 40 * CELL, Y0 - 30 * CELL, X0 + 60 * CELL, Y0 - 20 * CELL)
    ring = [TO_CRS84.transform(x, y) for x, y in shapely.segmentize(box, 5).exterior.coords]
    stats = terrain.get(
        "/rasters/terrain/stats", params={"within": shapely.Polygon(ring).wkt}
    ).json()
    expected = _cells()[20:30, 40:60]
    assert stats["cells"] == expected.size == 200
    assert stats["min"] == expected.min() and stats["max"] == expected.max()
    assert stats["mean"] == pytest.approx(expected.mean())
    assert stats["area_m2"] == pytest.approx(200 * CELL * CELL)
    # nodata cells are not counted
    corner = shapely.box(X0 + 85 * CELL, Y0 - 15 * CELL, X0 + 100 * CELL, Y0)
    ring = [TO_CRS84.transform(x, y) for x, y in shapely.segmentize(corner, 5).exterior.coords]
    stats = terrain.get(
        "/rasters/terrain/stats", params={"within": shapely.Polygon(ring).wkt}
    ).json()
    assert stats["cells"] == 15 * 15 - 10 * 10


TOWN = "24 43, 25 43, 25 44, 24 44, 24 43"  # a degree around the raster
FAR_SIDE = "-160 -50, -150 -50, -150 -40, -160 -50"  # where Stereo 70 has no place


@pytest.mark.parametrize(
    "within",
    [
        "POLYGON((-180 -90, 180 -90, 180 90, -180 90, -180 -90))",
        f"MULTIPOLYGON((({TOWN})), (({FAR_SIDE})))",
        f"POLYGON(({FAR_SIDE}))",
    ],
    ids=["the world", "the town and the far side", "the far side"],
)
def test_statistics_inside_a_huge_polygon_count_every_cell_it_holds(
    terrain: TestClient, within: str
) -> None:
    """Much of such a polygon has no place in Stereo 70 (the probe's was a 500)."""
    response = terrain.get("/rasters/terrain/stats", params={"within": within})
    assert response.status_code == 200, response.text
    cells = _cells()
    valid = cells[cells != NODATA]
    centres = shapely.points(
        [TO_CRS84.transform(*_centre(r, c)) for r in range(ROWS) for c in range(COLS)]
    )
    inside = shapely.contains_xy(shapely.from_wkt(within), shapely.get_coordinates(centres))
    expected = cells.ravel()[inside & (cells.ravel() != NODATA)]
    assert response.json()["cells"] == expected.size
    if expected.size == valid.size:
        assert response.json()["min"] == valid.min() and response.json()["max"] == valid.max()


def test_window_native_and_reprojected(terrain: TestClient) -> None:
    bbox = f"{X0 + 10 * CELL},{Y0 - 25 * CELL},{X0 + 30 * CELL},{Y0 - 5 * CELL}"
    response = terrain.get("/rasters/terrain/window", params={"bbox": bbox})
    assert response.headers["content-type"].startswith("image/tiff")
    with MemoryFile(response.content) as memory, memory.open() as tile:
        assert tile.crs.to_epsg() == 3844
        np.testing.assert_array_equal(tile.read(1), _cells()[5:25, 10:30])
    # the same area asked in Web Mercator comes back in Web Mercator, values resampled
    to_3857 = Transformer.from_crs("EPSG:3844", "EPSG:3857", always_xy=True)
    x0, y0 = to_3857.transform(X0 + 10 * CELL, Y0 - 25 * CELL)
    x1, y1 = to_3857.transform(X0 + 30 * CELL, Y0 - 5 * CELL)
    response, by_name = (
        terrain.get("/rasters/terrain/window", params={"bbox": f"{x0},{y0},{x1},{y1}", "crs": crs})
        for crs in ("http://www.opengis.net/def/crs/EPSG/0/3857", "EPSG:3857")
    )
    assert by_name.content == response.content
    with MemoryFile(response.content) as memory, memory.open() as tile:
        assert tile.crs.to_epsg() == 3857
        cells = tile.read(1)
        inside = cells[cells != NODATA]
        assert inside.size > 100
        assert (
            inside.min() >= _cells()[4:26, 9:31].min()
            and inside.max() <= _cells()[4:26, 9:31].max()
        )


def _preview_rgba(terrain: TestClient, width: int) -> np.ndarray:
    """The preview at ``width`` as a viewer shows it: rows x columns x RGBA."""
    response = terrain.get("/rasters/terrain/preview.png", params={"width": width})
    assert response.headers["content-type"] == "image/png"
    with MemoryFile(response.content) as memory, memory.open() as image:
        assert image.count == 1  # a palette image
        palette = np.array([image.colormap(1)[i] for i in range(256)], dtype=np.uint8)
        return palette[image.read(1)]


def test_png_preview(terrain: TestClient) -> None:
    rgba = _preview_rgba(terrain, 200)
    assert rgba.shape == (160, 200, 4)
    alpha = rgba[..., 3]
    assert (alpha[:20, 180:] == 0).all() and (alpha[40:, :] == 255).all()  # nodata clear
    red = rgba[..., 0]
    assert red[5, 5] != red[150, 5]  # a ramp from top to bottom rows


def test_previews_of_every_width_share_their_colours(terrain: TestClient) -> None:
    # one stretch for the whole band, not one per width: a pixel has one colour
    small, large = _preview_rgba(terrain, 50), _preview_rgba(terrain, 200)
    assert (small == large[2::4, 2::4]).all()


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/rasters/nowhere", {}, 404),
        ("/rasters/terrain/value", {"lon": "200", "lat": "0"}, 400),
        ("/rasters/terrain/stats", {"within": "POINT(1 1)"}, 400),
        ("/rasters/terrain/window", {"bbox": "3,2,1,0"}, 400),
        ("/rasters/terrain/window", {"bbox": "0,0,1,1"}, 400),  # nowhere near it
        ("/rasters/terrain/window", {"bbox": "0,0,1,1", "crs": "EPSG:1"}, 400),
        ("/rasters/terrain/preview.png", {"width": "5"}, 400),
        # found by the probe (issue 13): each was a 500
        ("/rasters/terrain/window", {"bbox": "nan,nan,nan,nan"}, 400),
        ("/rasters/terrain/window", {"bbox": "nan,0,1,1"}, 400),
        ("/rasters/terrain/window", {"bbox": "-inf,-inf,inf,inf"}, 400),
        ("/rasters/terrain/window", {"bbox": "0,0,inf,inf"}, 400),
        ("/rasters/terrain/stats", {"within": "POLYGON EMPTY"}, 400),
        ("/rasters/terrain/stats", {"within": "MULTIPOLYGON EMPTY"}, 400),
        ("/rasters/terrain/stats", {"within": "POLYGON((0 0, 1e300 0, 1e300 1e300, 0 0))"}, 400),
    ],
)
def test_bad_raster_requests(terrain: TestClient, path: str, params: dict, status: int) -> None:
    response = terrain.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
