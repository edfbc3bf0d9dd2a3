"""Street network of the demo town and the street blocks ("cells") it encloses.

Town streets form a gently warped, slightly rotated grid with irregular spacing and a
few missing links; outside the town, roads lead to the port and to the neighbouring
places. Streets are split at every junction, so the layer is a noded network.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, Polygon

from demo_town.geography import CRS, PORT_DEPTH_M, PORT_X_RANGE, Site, port_edge_y
from demo_town.street_names import EAST_WEST_AXIS, NORTH_SOUTH_AXIS, STREET_NAMES

GRID_EXTENT_M = 2_400.0
LONG_SPACING_M = (110.0, 160.0)
"""Spacing between streets running along the grid's east-west axis."""
CROSS_SPACING_M = (85.0, 130.0)
"""Spacing between streets running along the grid's north-south axis."""
DROP_PROBABILITY = {"long": 0.05, "cross": 0.15}
"""Chance that a residential street is missing between two junctions."""
SECONDARY_EVERY = 4
WARP_AMPLITUDE_M = 35.0
WARP_WAVELENGTH_M = 3_500.0
DENSIFY_STEP_M = 20.0
WIDTH_RANGE_M = {
    "primary": (12.0, 16.0),
    "secondary": (9.0, 11.0),
    "residential": (6.0, 8.0),
    "service": (4.0, 5.0),
}
QUAY_ROAD_OFFSET_M = 60.0
"""Distance of the port's quay road from the river bank."""
PORT_ROAD_NAMES = ("Aleea Portului", "Cheiul Dunării")


@dataclass(frozen=True, eq=False)
class StreetNetwork:
    """Street centrelines and the cells they cut the town and the port into."""

    streets: gpd.GeoDataFrame
    """Columns ``name``, ``class``, ``width_m`` and LineString geometry."""
    town_cells: np.ndarray
    """Polygons partitioning the town outline; streets run along their edges."""
    port_cells: np.ndarray
    """Polygons partitioning the port; its service roads run along their edges."""
    grid_angle: float
    """Rotation of the street grid from east, in radians."""


@dataclass(frozen=True)
class _Line:
    """One grid line: ``kind`` is "long" (constant v) or "cross" (constant u)."""

    kind: str
    rank: int
    position: float


@dataclass(frozen=True)
class _Grid:
    """Maps grid coordinates (u, v) to Stereo 70 through a rotation and a smooth warp."""

    origin: Point
    angle: float
    phases: tuple[float, float]

    def to_world(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Stereo 70 coordinates (n, 2) of grid points."""
        k = 2.0 * np.pi / WARP_WAVELENGTH_M
        p_u, p_v = self.phases
        # Subtracting the warp at the origin keeps the main crossing on the centre.
        uu = u + WARP_AMPLITUDE_M * (np.sin(v * k + p_u) - np.sin(p_u))
        vv = v + WARP_AMPLITUDE_M * (np.sin(u * k + p_v) - np.sin(p_v))
        cos, sin = np.cos(self.angle), np.sin(self.angle)
        return np.column_stack(
            [self.origin.x + uu * cos - vv * sin, self.origin.y + uu * sin + vv * cos]
        )

    def line(self, line: _Line, start: float, end: float) -> LineString:
        """The stretch of a grid line between two positions along it, densified."""
        steps = max(2, int(np.ceil(abs(end - start) / DENSIFY_STEP_M)) + 1)
        along = np.linspace(start, end, steps)
        fixed = np.full(steps, line.position)
        if line.kind == "long":
            return LineString(self.to_world(along, fixed))
        return LineString(self.to_world(fixed, along))


def build_streets(site: Site, rng: np.random.Generator) -> StreetNetwork:
    """Draw the town grid, the outer roads and the port roads."""
    grid = _Grid(
        origin=site.centre,
        angle=float(rng.uniform(-0.2, -0.05)),
        phases=(float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi))),
    )
    long_positions = _positions(rng, LONG_SPACING_M)
    cross_positions = _positions(rng, CROSS_SPACING_M)
    town = _town_streets(site, grid, long_positions, cross_positions, rng)
    axis = _Line("cross", 0, 0.0)
    avenue = _Line("long", 0, 0.0)
    northern = _Line("cross", -SECONDARY_EVERY, float(cross_positions[-SECONDARY_EVERY]))
    north_south = grid.line(axis, -GRID_EXTENT_M, GRID_EXTENT_M)
    east_west = grid.line(avenue, -GRID_EXTENT_M, GRID_EXTENT_M)
    south_exit, north_exit = _exits(north_south, site.town)
    west_exit, east_exit = _exits(east_west, site.town)
    _, ciuperceni_exit = _exits(grid.line(northern, -GRID_EXTENT_M, GRID_EXTENT_M), site.town)
    entrance_x = float(np.clip(south_exit.x, PORT_X_RANGE[0] + 200, PORT_X_RANGE[1] - 200))
    entrance_x = PORT_X_RANGE[0] + 100.0 * round((entrance_x - PORT_X_RANGE[0]) / 100.0)
    entrance = Point(entrance_x, port_edge_y(entrance_x, offset_m=PORT_DEPTH_M))
    outer = [
        ("Drumul Portului", "primary", _road(south_exit, entrance, bend=(150.0, 0.0))),
        ("Șoseaua Alexandriei", "primary", _road(north_exit, Point(493_000, 254_300), (400, 0))),
        ("Șoseaua Corabiei", "primary", _road(west_exit, Point(484_700, 250_900), (0, 250))),
        ("Șoseaua Zimnicei", "secondary", _road(east_exit, Point(494_300, 249_600), (0, 200))),
        (
            "Drumul Ciupercenilor",
            "secondary",
            _road(ciuperceni_exit, Point(488_400, 254_300), (-200, 0)),
        ),
    ]
    outer_rows = [
        (name, cls, part)
        for name, cls, road in outer
        for part in _explode_lines(road.intersection(site.study_area).difference(site.town))
    ]
    port_roads = _port_roads(entrance)
    port_rows = [
        (name, "service", road) for name, road in zip(PORT_ROAD_NAMES, port_roads, strict=True)
    ]
    outer_frame = _roads_frame(outer_rows + port_rows, rng)
    streets = gpd.GeoDataFrame(pd.concat([town, outer_frame], ignore_index=True), crs=CRS)
    town_cells = _cells([*town.geometry, site.town.exterior])
    port_cells = _cells([*port_roads, site.port.exterior])
    return StreetNetwork(
        streets=streets,
        town_cells=town_cells,
        port_cells=port_cells,
        grid_angle=grid.angle,
    )


def _positions(rng: np.random.Generator, spacing: tuple[float, float]) -> dict[int, float]:
    """Grid line offsets keyed by rank: 0 through the centre, negative west/south."""
    positions = {0: 0.0}
    for sign in (1, -1):
        rank, offset = 0, 0.0
        while offset < GRID_EXTENT_M:
            rank += sign
            offset += float(rng.uniform(*spacing))
            positions[rank] = sign * offset
    return dict(sorted(positions.items()))


def _street_class(rank: int) -> str:
    if rank == 0:
        return "primary"
    if rank % SECONDARY_EVERY == 0:
        return "secondary"
    return "residential"


def _town_streets(
    site: Site,
    grid: _Grid,
    long_positions: dict[int, float],
    cross_positions: dict[int, float],
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Grid streets between consecutive junctions, clipped to the town outline."""
    lines = [_Line("long", r, p) for r, p in long_positions.items()]
    lines += [_Line("cross", r, p) for r, p in cross_positions.items()]
    names = _line_names(lines, rng)
    widths = {line: _width(_street_class(line.rank), rng) for line in lines}
    rows = []
    for line in lines:
        junctions = list((cross_positions if line.kind == "long" else long_positions).values())
        cls = _street_class(line.rank)
        for start, end in zip(junctions[:-1], junctions[1:], strict=True):
            if cls == "residential" and rng.random() < DROP_PROBABILITY[line.kind]:
                continue
            for part in _explode_lines(grid.line(line, start, end).intersection(site.town)):
                rows.append((names[line], cls, widths[line], part))
    return gpd.GeoDataFrame(
        rows, columns=["name", "class", "width_m", "geometry"], geometry="geometry", crs=CRS
    )


def _line_names(lines: list[_Line], rng: np.random.Generator) -> dict[_Line, str]:
    ordinary = [line for line in lines if line.rank != 0]
    if len(ordinary) > len(STREET_NAMES):
        raise ValueError(
            f"{len(ordinary)} streets but only {len(STREET_NAMES)} names; "
            "add names to demo_town/street_names.py or widen the grid spacing"
        )
    drawn = rng.permutation(len(STREET_NAMES))
    names = {line: STREET_NAMES[i] for line, i in zip(ordinary, drawn, strict=False)}
    for line in lines:
        if line.rank == 0:
            names[line] = NORTH_SOUTH_AXIS if line.kind == "cross" else EAST_WEST_AXIS
    return names


def _width(cls: str, rng: np.random.Generator) -> float:
    """Street width rounded to half a metre."""
    return float(np.round(rng.uniform(*WIDTH_RANGE_M[cls]) * 2.0) / 2.0)


def _exits(line: LineString, town: Polygon) -> tuple[Point, Point]:
    """Where a grid line leaves the town outline, first and last along the line."""
    crossings = list(shapely.get_parts(line.intersection(town.exterior)))
    crossings.sort(key=line.project)
    return crossings[0], crossings[-1]


def _road(start: Point, end: Point, bend: tuple[float, float]) -> LineString:
    """Quadratic Bézier from ``start`` to ``end``, its control point offset from the middle."""
    control = np.array([(start.x + end.x) / 2.0 + bend[0], (start.y + end.y) / 2.0 + bend[1]])
    t = np.linspace(0.0, 1.0, 40)[:, None]
    a, b = np.array(start.coords[0]), np.array(end.coords[0])
    return LineString((1 - t) ** 2 * a + 2 * (1 - t) * t * control + t**2 * b)


def _port_roads(entrance: Point) -> tuple[LineString, LineString]:
    """Access road from the port gate to the quay, and the quay road along the bank."""
    xs = np.linspace(*PORT_X_RANGE, 15)
    quay = LineString([(x, port_edge_y(x, offset_m=QUAY_ROAD_OFFSET_M)) for x in xs])
    access = LineString(
        [entrance.coords[0], (entrance.x, port_edge_y(entrance.x, offset_m=QUAY_ROAD_OFFSET_M))]
    )
    return access, quay


def _roads_frame(
    rows: list[tuple[str, str, LineString]], rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Roads as a streets frame; every part of a named road gets the same width."""
    widths = {name: _width(cls, rng) for name, cls, _ in rows}
    return gpd.GeoDataFrame(
        [(name, cls, widths[name], geom) for name, cls, geom in rows],
        columns=["name", "class", "width_m", "geometry"],
        geometry="geometry",
        crs=CRS,
    )


def _explode_lines(geometry: shapely.Geometry) -> list[LineString]:
    """LineString parts of a geometry, dropping points and stubs shorter than a metre."""
    return [
        part
        for part in shapely.get_parts(geometry)
        if isinstance(part, LineString) and part.length >= 1.0
    ]


def _cells(lines: list[shapely.Geometry]) -> np.ndarray:
    """Faces of the planar graph formed by the lines (noded first)."""
    noded = shapely.union_all(lines)
    return shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
