"""Flood extent and impact: a synthetic terrain checked by hand and by a plain BFS, and the
demo town at the gauge thresholds."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import LineString, MultiLineString, Point, box

from demo_town import GAUGE_ZERO_M, generate
from demo_town.geography import PORT_X_RANGE, port_edge_y
from demo_town.terrain import HOLLOWS, LEVEE_CREST_M, PORT_PLATFORM_M
from river_monitor.flood import FloodExtent, FloodModel, gauge_water_surface_m
from river_monitor.thresholds import TURNU_MAGURELE

# --- a synthetic terrain ---------------------------------------------------------------
# 30 x 40 cells of 10 m. Rows 26-29 are the river (bed 10 m); the land rises 0.2 m a row
# northwards from 20.0 m at row 25 to 25.0 m at row 0. Two hollows at 19 m: a polder
# behind a square levee and one behind a diamond levee one cell wide, whose cells touch
# only at their corners. One land cell has no data, nor has the river's east end, the
# only way into a pocket walled off on the bank (columns 38-39, rows 20-25).
X0, Y0, CELL = 500_000.0, 300_000.0, 10.0
ROWS, COLS = 30, 40
TRANSFORM = Affine.translation(X0, Y0) @ Affine.scale(CELL, -CELL)
CRS = "EPSG:3844"
LEVEE_M, HOLLOW_M = 30.0, 19.0
POLDER_ROWS, POLDER_COLS = (14, 22), (26, 36)  # the levee ring, inclusive
DIAMOND_CENTRE, DIAMOND_RADIUS = (19, 10), 4
NODATA_CELL = (17, 20)
RIVER_VOID = (slice(26, ROWS), slice(38, COLS))
POCKET = (slice(20, 26), slice(38, COLS))
SURFACE = 22.05  # floods rows 15-25 of the slope (20.0 + 0.2 * 10 = 22.0 < 22.05)


def cell_box(row: int, col: int) -> shapely.Polygon:
    return box(X0 + col * CELL, Y0 - (row + 1) * CELL, X0 + (col + 1) * CELL, Y0 - row * CELL)


def cells_box(rows: tuple[int, int], cols: tuple[int, int]) -> shapely.Polygon:
    """The cells of rows and cols, both inclusive ranges."""
    return box(
        X0 + cols[0] * CELL,
        Y0 - (rows[1] + 1) * CELL,
        X0 + (cols[1] + 1) * CELL,
        Y0 - rows[0] * CELL,
    )


def cell_centre(row: int, col: int) -> Point:
    return Point(X0 + (col + 0.5) * CELL, Y0 - (row + 0.5) * CELL)


def slope(row: int) -> float:
    return 20.0 + 0.2 * (25 - row)


def synthetic_elevation() -> np.ndarray:
    rows = np.arange(ROWS)[:, None] * np.ones(COLS)
    elevation = np.where(rows <= 25, 20.0 + 0.2 * (25 - rows), 10.0)
    r, c = np.mgrid[:ROWS, :COLS]
    (r0, r1), (c0, c1) = POLDER_ROWS, POLDER_COLS
    in_square = (r >= r0) & (r <= r1) & (c >= c0) & (c <= c1)
    on_ring = in_square & ((r == r0) | (r == r1) | (c == c0) | (c == c1))
    elevation[in_square] = HOLLOW_M
    elevation[on_ring] = LEVEE_M
    manhattan = np.abs(r - DIAMOND_CENTRE[0]) + np.abs(c - DIAMOND_CENTRE[1])
    elevation[manhattan < DIAMOND_RADIUS] = HOLLOW_M
    elevation[manhattan == DIAMOND_RADIUS] = LEVEE_M
    elevation[19:26, 37] = LEVEE_M
    elevation[19, 37:] = LEVEE_M
    elevation[NODATA_CELL] = -9999.0
    elevation[RIVER_VOID] = -9999.0
    return elevation.astype(np.float32)


RIVER = cells_box((26, 29), (0, COLS - 1))


def bfs_flooded(elevation: np.ndarray, surface: float) -> np.ndarray:
    """Land under water reachable from the river through edge neighbours (a plain BFS)."""
    river = np.zeros((ROWS, COLS), dtype=bool)
    river[26:] = True
    wet = ((elevation < surface) & (elevation != -9999.0)) | river
    seen = np.zeros_like(wet)
    queue = deque((r, c) for r in range(26, ROWS) for c in range(COLS))
    for r, c in queue:
        seen[r, c] = True
    while queue:
        r, c = queue.popleft()
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < ROWS and 0 <= nc < COLS and wet[nr, nc] and not seen[nr, nc]:
                seen[nr, nc] = True
                queue.append((nr, nc))
    return seen & ~river


def flooded_cells_polygon(mask: np.ndarray) -> shapely.Geometry:
    return shapely.union_all([cell_box(r, c) for r, c in zip(*np.nonzero(mask), strict=True)])


PARCELS = {
    "P-slope": cells_box((20, 25), (16, 25)),  # all flooded at SURFACE
    "P-edge": cells_box((10, 19), (16, 25)),  # rows 15-19 flooded but the nodata cell
    "P-polder": cells_box((16, 20), (28, 34)),
    "P-terrace": cells_box((0, 5), (0, 39)),
    "P-tiny": box(X0 + 301, Y0 - 249, X0 + 304, Y0 - 246),  # in cell (24, 30), no centre
}
BUILDINGS = {  # id: (geometry, use, residents)
    "B-bank": (cells_box((24, 25), (2, 3)), "residential", 10),
    "B-hill": (cells_box((2, 3), (5, 6)), "apartment_block", 50),
    "B-shed": (box(X0 + 201, Y0 - 239, X0 + 204, Y0 - 236), "residential", 4),  # cell (23, 20)
    "B-diamond": (cell_box(19, 10), "residential", 7),
}
ASSETS = {  # id: (cell, kind)
    "hospital": ((2, 5), "hospital"),
    "school": ((18, 30), "school"),  # in the polder
    "pump": ((25, 38), "pumping_station"),
    "kindergarten": (DIAMOND_CENTRE, "kindergarten"),
}
STREETS = {
    "Strada Pantei": LineString([(X0 + 5, Y0 - 255), (X0 + 395, Y0 - 145)]),  # crosses the polder
    "Strada Dealului": LineString([(X0 + 5, Y0 - 15), (X0 + 395, Y0 - 25)]),  # on the terrace
    "Strada Scurtă": LineString([(X0 + 45, Y0 - 155), (X0 + 45, Y0 - 145)]),  # 5 m wet
    "Podul": MultiLineString(  # a bridge over the river and its ramp on the bank
        [[(X0 + 155, Y0 - 295), (X0 + 155, Y0 - 262)], [(X0 + 155, Y0 - 258), (X0 + 155, Y0 - 240)]]
    ),
}


def synthetic_layers(crs: str = CRS) -> dict[str, gpd.GeoDataFrame]:
    layers = {
        "parcels": gpd.GeoDataFrame(
            {"cadastral_number": list(PARCELS), "land_use": "agricultural"},
            geometry=list(PARCELS.values()),
            crs=CRS,
        ),
        "buildings": gpd.GeoDataFrame(
            {
                "building_id": list(BUILDINGS),
                "use": [use for _, use, _ in BUILDINGS.values()],
                "levels": 1,
                "residents": [residents for _, _, residents in BUILDINGS.values()],
            },
            geometry=[geometry for geometry, _, _ in BUILDINGS.values()],
            crs=CRS,
        ),
        "assets": gpd.GeoDataFrame(
            {
                "asset_id": list(ASSETS),
                "name": [f"The {name}" for name in ASSETS],
                "kind": [kind for _, kind in ASSETS.values()],
            },
            geometry=[cell_centre(*cell) for cell, _ in ASSETS.values()],
            crs=CRS,
        ),
        "streets": gpd.GeoDataFrame(
            {"name": list(STREETS), "class": "residential"},
            geometry=list(STREETS.values()),
            crs=CRS,
        ),
    }
    return {name: frame.to_crs(crs) for name, frame in layers.items()}


@pytest.fixture(scope="module")
def model() -> FloodModel:
    return FloodModel(
        synthetic_elevation(), TRANSFORM, CRS, RIVER, nodata=-9999.0, **synthetic_layers()
    )


@pytest.mark.parametrize("surface", [15.0, 20.1, 21.0, SURFACE, 24.3, 29.0, 30.5])
def test_extent_is_the_bfs_from_the_river(model: FloodModel, surface: float) -> None:
    extent = model.extent(surface)
    np.testing.assert_array_equal(extent.mask, bfs_flooded(synthetic_elevation(), surface))
    assert extent.area_m2 == extent.mask.sum() * CELL * CELL


def test_slope_floods_up_to_the_water_surface(model: FloodModel) -> None:
    mask = model.extent(SURFACE).mask
    assert mask[15:26, :5].all() and not mask[:15].any()
    assert not mask[NODATA_CELL]
    assert not mask[26:].any()  # the river is water, not flooded land
    assert mask[POCKET].all()  # reached through the river, where the terrain has no data
    depth = model.depth(model.extent(SURFACE))
    assert depth[25, 0] == pytest.approx(2.05, abs=1e-5)
    assert depth[15, 0] == pytest.approx(0.05, abs=1e-5)
    assert np.isnan(depth[14, 0]) and np.isnan(depth[NODATA_CELL])


def test_polder_stays_dry_until_the_levee_is_overtopped(model: FloodModel) -> None:
    (r0, r1), (c0, c1) = POLDER_ROWS, POLDER_COLS
    inside = (slice(r0 + 1, r1), slice(c0 + 1, c1))
    assert not model.extent(LEVEE_M - 0.01).mask[inside].any()
    over = model.extent(LEVEE_M + 0.5)
    assert over.mask[inside].all()
    assert model.depth(over)[inside] == pytest.approx(LEVEE_M + 0.5 - HOLLOW_M, abs=1e-5)


def test_diagonal_levee_one_cell_wide_does_not_leak(model: FloodModel) -> None:
    r, c = np.mgrid[:ROWS, :COLS]
    hollow = np.abs(r - DIAMOND_CENTRE[0]) + np.abs(c - DIAMOND_CENTRE[1]) < DIAMOND_RADIUS
    assert not model.extent(SURFACE).mask[hollow].any()
    assert not model.extent(LEVEE_M - 0.01).mask[hollow].any()
    assert model.extent(LEVEE_M + 0.01).mask[hollow].all()


def test_parcels_by_hand_and_by_cell_centres(model: FloodModel) -> None:
    impact = model.impact(model.extent(SURFACE))
    parcels = {p["cadastral_number"]: p for p in impact["parcels"]}
    assert set(parcels) == {"P-slope", "P-edge", "P-tiny"}
    # By hand: rows 20-25 x 10 columns, depths 0.05 + 0.2 * (row - 15).
    assert parcels["P-slope"] == {
        "cadastral_number": "P-slope",
        "flooded_area_m2": 6_000.0,
        "max_depth_m": 2.05,
        "mean_depth_m": 1.55,
    }
    # By the cells of the BFS whose centres lie in the parcel.
    elevation = synthetic_elevation()
    mask = bfs_flooded(elevation, SURFACE)
    cells = [
        (r, c)
        for r, c in zip(*np.nonzero(mask), strict=True)
        if PARCELS["P-edge"].contains(cell_centre(r, c))
    ]
    depths = [SURFACE - float(elevation[r, c]) for r, c in cells]
    assert len(cells) == 5 * 10 - 1
    assert parcels["P-edge"]["flooded_area_m2"] == len(cells) * CELL * CELL
    assert parcels["P-edge"]["max_depth_m"] == pytest.approx(max(depths), abs=0.005)
    assert parcels["P-edge"]["mean_depth_m"] == pytest.approx(np.mean(depths), abs=0.005)
    # Smaller than a cell: the cell of its representative point, the area capped at its own.
    assert parcels["P-tiny"]["flooded_area_m2"] == 9.0
    assert parcels["P-tiny"]["max_depth_m"] == pytest.approx(SURFACE - slope(24), abs=0.005)


def test_buildings_assets_and_people(model: FloodModel) -> None:
    impact = model.impact(model.extent(SURFACE))
    buildings = {b["building_id"]: b for b in impact["buildings"]}
    assert set(buildings) == {"B-bank", "B-shed"}
    assert buildings["B-bank"]["max_depth_m"] == pytest.approx(SURFACE - slope(25), abs=0.005)
    assert buildings["B-shed"]["max_depth_m"] == pytest.approx(SURFACE - slope(23), abs=0.005)
    assert impact["summary"]["people_affected"] == 10 + 4
    assert impact["assets"] == [
        {"asset_id": "pump", "name": "The pump", "kind": "pumping_station", "depth_m": 2.05}
    ]
    below = model.impact(model.extent(LEVEE_M - 0.01))  # the whole slope, not the hollows
    assert {a["asset_id"] for a in below["assets"]} == {"hospital", "pump"}
    assert below["summary"]["people_affected"] == 10 + 4 + 50
    over = model.impact(model.extent(LEVEE_M + 0.5))
    assert {a["asset_id"] for a in over["assets"]} == set(ASSETS)
    assert over["summary"]["people_affected"] == 10 + 4 + 50 + 7
    assert over["summary"]["parcels"] == len(PARCELS)


def test_street_length_is_the_intersection_with_the_flooded_cells(model: FloodModel) -> None:
    mask = model.extent(SURFACE).mask
    water = flooded_cells_polygon(bfs_flooded(synthetic_elevation(), SURFACE))
    impact = model.impact(model.extent(SURFACE))
    streets = {s["name"]: s["length_m"] for s in impact["streets"]}
    expected = STREETS["Strada Pantei"].intersection(water).length
    assert 100 < expected < STREETS["Strada Pantei"].length - 100  # the polder stays dry
    assert streets["Strada Pantei"] == pytest.approx(expected, abs=CELL / 4)
    assert "Strada Dealului" not in streets
    assert streets["Strada Scurtă"] == 5.0  # pieces aligned with the cells: exact
    assert streets["Podul"] == pytest.approx(STREETS["Podul"].intersection(water).length, abs=1)
    assert streets["Podul"] < 25  # the bridge over the river is not flooded street
    assert impact["summary"]["street_length_m"] == pytest.approx(sum(streets.values()), abs=0.1)
    assert impact["summary"]["flooded_area_m2"] == mask.sum() * CELL * CELL


def test_impact_is_json_and_the_same_in_another_crs(model: FloodModel) -> None:
    impact = model.impact(model.extent(SURFACE))
    assert json.loads(json.dumps(impact)) == impact
    layers = synthetic_layers("EPSG:4326")
    elevation = synthetic_elevation()
    other = FloodModel(elevation, TRANSFORM, CRS, RIVER, nodata=-9999.0, **layers)
    assert elevation.flags.writeable  # the caller's grid is copied, not changed
    np.testing.assert_array_equal(elevation, synthetic_elevation())
    again = other.impact(other.extent(SURFACE))
    assert again["parcels"] == impact["parcels"]
    assert again["buildings"] == impact["buildings"]
    assert again["assets"] == impact["assets"]
    assert again["summary"]["street_length_m"] == pytest.approx(
        impact["summary"]["street_length_m"], abs=0.5
    )


def test_refuses_what_it_cannot_measure() -> None:
    layers = synthetic_layers()
    with pytest.raises(ValueError, match="not projected in metres"):
        FloodModel(synthetic_elevation(), TRANSFORM, "EPSG:4326", RIVER, **layers)
    with pytest.raises(ValueError, match="has no CRS"):
        FloodModel(
            synthetic_elevation(),
            TRANSFORM,
            CRS,
            RIVER,
            **{**layers, "streets": layers["streets"].set_crs(None, allow_override=True)},
        )
    with pytest.raises(ValueError, match="residents"):
        FloodModel(
            synthetic_elevation(),
            TRANSFORM,
            CRS,
            RIVER,
            **{**layers, "buildings": layers["buildings"].drop(columns="residents")},
        )
    with pytest.raises(ValueError, match="river holds no cell"):
        FloodModel(synthetic_elevation(), TRANSFORM, CRS, box(0, 0, 10, 10), **layers)


def test_extents_and_impacts_are_cached_by_the_centimetre(model: FloodModel) -> None:
    first = model.extent(21.3)
    assert model.extent(21.3001) is first
    assert model.extent(21.2951) is first
    assert first.water_surface_m == 21.3
    assert model.extent(21.31) is not first
    hits = model.cache_info()["extents"]["hits"]
    model.extent(21.3)
    assert model.cache_info()["extents"]["hits"] == hits + 1
    assert model.assess(21.3) is model.assess(21.30004)
    assert model.assess(21.3) == model.impact(first)
    with pytest.raises(ValueError, match="finite"):
        model.extent(float("nan"))


def test_polygons_and_geojson(model: FloodModel) -> None:
    extent = model.extent(SURFACE)
    exact = model.polygons(extent, simplify_m=0)
    assert exact.is_valid
    assert exact.area == pytest.approx(extent.area_m2)
    assert exact.symmetric_difference(flooded_cells_polygon(extent.mask)).area < 1e-6
    simple = model.polygons(extent)
    assert simple.is_valid
    assert simple.area == pytest.approx(extent.area_m2, rel=0.05)
    assert len(shapely.get_coordinates(simple)) < len(shapely.get_coordinates(exact))
    feature = model.geojson(extent)
    assert feature["geometry"]["type"] == "MultiPolygon"
    lon, lat = shapely.get_coordinates(shapely.geometry.shape(feature["geometry"])).T
    assert (24.9 < lon).all() and (lon < 25.1).all() and (44.1 < lat).all() and (lat < 44.3).all()
    assert json.loads(json.dumps(feature))["properties"]["flooded_area_m2"] == extent.area_m2


def test_a_foreign_extent_is_refused(model: FloodModel) -> None:
    with pytest.raises(ValueError, match="not this model's"):
        model.impact(FloodExtent(22.0, np.zeros((3, 3), dtype=bool), 100.0))


# --- the demo town -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory: pytest.TempPathFactory) -> FloodModel:
    files = generate(tmp_path_factory.mktemp("flood_town"), seed=42, n_parcels_target=1500)
    return FloodModel.from_files(files.dem, files.gpkg)


def at(model: FloodModel, cm: float) -> FloodExtent:
    return model.extent(gauge_water_surface_m(cm, GAUGE_ZERO_M))


def cell_of(model: FloodModel, point: Point) -> tuple[int, int]:
    row, col = rasterio.transform.rowcol(model.transform, point.x, point.y)
    return int(row), int(col)


def test_demo_attention_level(demo_model: FloodModel) -> None:
    attention = TURNU_MAGURELE.attention_cm
    mask = at(demo_model, attention).mask
    surface = gauge_water_surface_m(attention, GAUGE_ZERO_M)
    for x, y, _, _ in HOLLOWS[:2]:  # the polder behind the levee
        cell = cell_of(demo_model, Point(x, y))
        assert demo_model.elevation[cell] < surface
        assert not mask[cell]
        assert not at(demo_model, TURNU_MAGURELE.danger_cm).mask[cell]
    bank = Point(488_000.0, port_edge_y(488_000.0, offset_m=50.0))
    assert mask[cell_of(demo_model, bank)]
    impact = demo_model.assess(surface)
    assert impact["buildings"] == [] and impact["summary"]["people_affected"] == 0
    assert "hospital" not in {a["kind"] for a in impact["assets"]}


def test_demo_terrace_and_hospital_stay_dry(demo_model: FloodModel) -> None:
    danger = demo_model.assess(gauge_water_surface_m(TURNU_MAGURELE.danger_cm, GAUGE_ZERO_M))
    assert {a["asset_id"] for a in danger["assets"]} <= {"gauge-tr-magurele", "lot-port"}
    assert {b["use"] for b in danger["buildings"]} == {"industrial"}
    centre = Point(489_700.0, 250_200.0)
    assert not at(demo_model, TURNU_MAGURELE.danger_cm).mask[cell_of(demo_model, centre)]


def test_demo_extents_grow_with_the_level(demo_model: FloodModel) -> None:
    attention, flood, danger = (
        at(demo_model, cm).mask
        for cm in (TURNU_MAGURELE.attention_cm, TURNU_MAGURELE.flood_cm, TURNU_MAGURELE.danger_cm)
    )
    assert not (attention & ~flood).any() and not (flood & ~danger).any()
    assert attention.sum() < flood.sum() < danger.sum()


def test_demo_port_platform(demo_model: FloodModel) -> None:
    x = sum(PORT_X_RANGE) / 2
    cell = cell_of(demo_model, Point(x, port_edge_y(x, offset_m=225.0)))
    assert demo_model.elevation[cell] == pytest.approx(PORT_PLATFORM_M, abs=0.01)
    assert not at(demo_model, TURNU_MAGURELE.flood_cm).mask[cell]
    assert at(demo_model, TURNU_MAGURELE.danger_cm).mask[cell]
    assert LEVEE_CREST_M > gauge_water_surface_m(TURNU_MAGURELE.danger_cm, GAUGE_ZERO_M)


def test_demo_geojson_is_crs84(demo_model: FloodModel) -> None:
    feature = demo_model.geojson(at(demo_model, TURNU_MAGURELE.flood_cm))
    lon, lat = shapely.get_coordinates(shapely.geometry.shape(feature["geometry"])).T
    assert 24.7 < lon.min() and lon.max() < 25.0 and 43.6 < lat.min() and lat.max() < 43.8


def test_from_files_needs_a_crs(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="float32",
        transform=TRANSFORM,
    ) as dst:
        dst.write(np.zeros((1, 2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="has no CRS"):
        FloodModel.from_layers(path, {})
