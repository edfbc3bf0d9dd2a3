"""Flood extent and impact from a terrain model, for a Danube water surface.

The extent follows hydraulic connectivity, as the levees downstream of Gruia require
(DOMAIN.md): a cell is flooded when its elevation is below the water surface and a
chain of such cells, stepping to the four edge neighbours only, joins it to the river.
A one-cell-wide levee drawn diagonally on the grid touches itself only at corners; with
eight neighbours water would leak through those corners, with four it cannot. The
polder behind a levee therefore stays dry until the water overtops the crest. This is
the static "bathtub with connectivity" model: no flow, no duration, no breach.

Everything that does not depend on the level is done once in ``FloodModel``: parcels
and buildings are rasterised (cell-centre rule) into lists of (cell, feature) pairs,
assets get their cell, streets are sampled into points a quarter of a cell apart, each
carrying its share of the street's length. A level is then a connected-component
labelling (``scipy.ndimage.label``) and a few ``numpy.bincount`` over those pairs.
Extents are kept in an LRU cache keyed by the water surface rounded to the centimetre
(the gauge's own resolution), and so are the impacts built from them.

Areas are counted in whole cells of the grid (a metric CRS is required): a parcel's
flooded area is its number of flooded cells times the cell area, capped at the
parcel's own area, so it is exact to about one cell along the waterline. A feature too
small to hold a cell centre is given the cell of its representative point, so no
building escapes the count. The river's own cells are water, never flooded land: they
seed the extent and are left out of the impact and of the polygons (a bridge over the
river is not a flooded street).

No library was used for the extent itself: flood tools (e.g. pysheds, whitebox) route
flow over a catchment, a different question; the connected components of
``scipy.ndimage`` are the whole algorithm here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypedDict

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from scipy import ndimage

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 32
"""Extents (and impacts) kept per model; a 5,000 x 5,000 grid costs 25 MB per extent."""
STREET_SAMPLES_PER_CELL = 4
"""Street sample points per cell size along a line: a quarter-cell error at most per end."""
REQUIRED_COLUMNS = {
    "parcels": ("cadastral_number",),
    "buildings": ("building_id", "use", "residents"),
    "assets": ("asset_id", "name", "kind"),
    "streets": ("name", "class"),
}


class FloodedParcel(TypedDict):
    """A parcel with water on at least one of its cells."""

    cadastral_number: str
    flooded_area_m2: float
    max_depth_m: float
    mean_depth_m: float


class FloodedBuilding(TypedDict):
    """A building with water on at least one cell of its footprint."""

    building_id: str
    use: str
    max_depth_m: float
    residents: int


class FloodedAsset(TypedDict):
    """A municipal asset whose cell is under water."""

    asset_id: str
    name: str
    kind: str
    depth_m: float


FloodedStreet = TypedDict("FloodedStreet", {"name": str, "class": str, "length_m": float})
"""A street (one feature of the layer) with part of its length under water."""


class FloodSummary(TypedDict):
    """Totals of a flood impact, and the same in one sentence."""

    flooded_area_m2: float
    parcels: int
    buildings: int
    assets: int
    street_length_m: float
    people_affected: int
    text: str


class FloodImpact(TypedDict):
    """What a water surface floods; JSON-serialisable as it is."""

    water_surface_m: float
    summary: FloodSummary
    parcels: list[FloodedParcel]
    buildings: list[FloodedBuilding]
    assets: list[FloodedAsset]
    streets: list[FloodedStreet]


@dataclass(frozen=True, eq=False, repr=False)
class FloodExtent:
    """Land cells under water and connected to the river, for one water surface.

    ``mask`` is a read-only boolean grid shaped like the model's terrain; the river's
    own cells are False. Extents come from ``FloodModel.extent``, which caches them.
    """

    water_surface_m: float
    mask: np.ndarray
    cell_area_m2: float

    @property
    def area_m2(self) -> float:
        """Flooded land area in square metres of the grid's CRS."""
        return float(np.count_nonzero(self.mask)) * self.cell_area_m2

    def __repr__(self) -> str:
        return f"FloodExtent(water_surface_m={self.water_surface_m}, area_m2={self.area_m2:.0f})"


def gauge_water_surface_m(level_cm: float, gauge_zero_m: float) -> float:
    """Water surface altitude (m) of a staff-gauge reading in cm above the gauge zero."""
    return gauge_zero_m + level_cm / 100.0


@dataclass(frozen=True, eq=False)
class _Cells:
    """Which grid cells the features of a layer cover: parallel arrays, one pair per entry.

    ``cell`` holds flat indices into the grid, ``feature`` row numbers of the layer;
    ``value`` is the cell's elevation for polygons and points, the street length
    sampled in that cell for lines. ``count`` is the number of features of the layer.
    """

    cell: np.ndarray
    feature: np.ndarray
    value: np.ndarray
    count: int


class FloodModel:
    """A terrain grid and the town's layers, prepared once for many water surfaces.

    Example:
        >>> model = FloodModel.from_files(Path("dem.tif"), Path("town.gpkg"))  # doctest: +SKIP
        >>> extent = model.extent(gauge_water_surface_m(550, 19.5))  # doctest: +SKIP
        >>> model.impact(extent)["summary"]["text"]  # doctest: +SKIP
    """

    def __init__(
        self,
        elevation: np.ndarray,
        transform: Affine,
        crs: Any,
        river: shapely.Geometry,
        *,
        parcels: gpd.GeoDataFrame,
        buildings: gpd.GeoDataFrame,
        assets: gpd.GeoDataFrame,
        streets: gpd.GeoDataFrame,
        nodata: float | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        """Prepare the model.

        ``elevation`` is a 2-D grid in metres; nodata cells are NaN, masked (a numpy
        masked array) or equal to ``nodata``. ``crs`` (anything pyproj accepts) must be
        projected in metres. ``river`` is a shapely geometry in that CRS: its cells seed
        the flood and count as water even where the terrain model has no value there.
        The layers are GeoDataFrames with the columns of ``REQUIRED_COLUMNS``; a layer
        in another CRS is reprojected to the grid's, a layer without a CRS is refused.
        """
        self.crs = _metric_crs(crs)
        grid = np.ma.filled(np.ma.asarray(elevation).astype(np.float32), np.nan)  # a copy
        if grid.ndim != 2:
            raise ValueError(f"elevation must be a 2-D grid, got shape {grid.shape}")
        if nodata is not None:
            grid[grid == nodata] = np.nan
        self.transform = transform
        self.shape: tuple[int, int] = (int(grid.shape[0]), int(grid.shape[1]))
        self.cell_area_m2 = abs(transform.determinant)
        self.cell_size_m = math.sqrt(self.cell_area_m2)

        self.river = rasterio.features.rasterize(
            [river], out_shape=self.shape, transform=transform, dtype=np.uint8
        ).astype(bool)
        if not self.river.any():
            raise ValueError(
                "the river holds no cell centre of the grid: check that the river geometry "
                "is in the grid's CRS and overlaps it"
            )
        # Water surfaces in a river void of the DEM are unknown, but the river is water.
        grid[self.river & np.isnan(grid)] = -np.inf
        grid.setflags(write=False)
        self.elevation = grid
        self._seeds = np.flatnonzero(self.river)

        layers = {
            name: _checked_layer(name, frame, self.crs)
            for name, frame in (
                ("parcels", parcels),
                ("buildings", buildings),
                ("assets", assets),
                ("streets", streets),
            )
        }
        self._parcels = layers["parcels"].reset_index(drop=True)
        self._buildings = layers["buildings"].reset_index(drop=True)
        self._assets = layers["assets"].reset_index(drop=True)
        self._streets = layers["streets"].reset_index(drop=True)
        self._parcel_area = shapely.area(self._parcels.geometry.to_numpy())
        self._residents = (
            self._buildings["residents"].fillna(0).to_numpy(dtype=np.float64).astype(np.int64)
        )
        self._parcel_cells = self._polygon_cells(self._parcels.geometry)
        self._building_cells = self._polygon_cells(self._buildings.geometry)
        self._asset_cells = self._point_cells(self._assets.geometry)
        self._street_cells = self._line_cells(self._streets.geometry)

        # Made once: building a transformer costs milliseconds, a level's outline less.
        self._to_crs84 = Transformer.from_crs(self.crs, "OGC:CRS84", always_xy=True)
        self._extent_at_cm = lru_cache(maxsize=cache_size)(self._compute_extent)
        self._impact_at_cm = lru_cache(maxsize=cache_size)(self._compute_impact)

    @classmethod
    def from_files(
        cls,
        dem_path: Path,
        gpkg_path: Path,
        *,
        river_layer: str = "waterways",
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> FloodModel:
        """Prepare a model from a GeoTIFF terrain model and a GeoPackage of the town."""
        layers = {
            name: gpd.read_file(gpkg_path, layer=name)
            for name in ("parcels", "buildings", "assets", "streets", river_layer)
        }
        return cls.from_layers(dem_path, layers, river_layer=river_layer, cache_size=cache_size)

    @classmethod
    def from_layers(
        cls,
        dem_path: Path,
        layers: Mapping[str, gpd.GeoDataFrame],
        *,
        river_layer: str = "waterways",
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> FloodModel:
        """Prepare a model from a GeoTIFF terrain model and the town's layers by name.

        The river is the union of the ``river_layer`` polygons (the demo town's
        ``waterways``: the Danube and the Olt). The DEM's CRS is the model's.
        """
        with rasterio.open(dem_path) as src:
            elevation = src.read(1, masked=True)
            transform, crs = src.transform, src.crs
        if crs is None:
            raise ValueError(f"{dem_path} has no CRS: set it (e.g. gdal_edit -a_srs EPSG:3844)")
        river = shapely.union_all(_checked_layer(river_layer, layers[river_layer], crs).geometry)
        return cls(
            elevation,
            transform,
            crs,
            river,
            parcels=layers["parcels"],
            buildings=layers["buildings"],
            assets=layers["assets"],
            streets=layers["streets"],
            cache_size=cache_size,
        )

    def extent(self, water_surface_m: float) -> FloodExtent:
        """The flood extent for a water surface (m), rounded to the cm; cached."""
        return self._extent_at_cm(_to_cm(water_surface_m))

    def assess(self, water_surface_m: float) -> FloodImpact:
        """``impact(extent(water_surface_m))``, cached like the extent."""
        return self._impact_at_cm(_to_cm(water_surface_m))

    def cache_info(self) -> dict[str, Any]:
        """Hits, misses and sizes of the extent and impact caches."""
        return {
            "extents": self._extent_at_cm.cache_info()._asdict(),
            "impacts": self._impact_at_cm.cache_info()._asdict(),
        }

    def depth(self, extent: FloodExtent) -> np.ndarray:
        """Water depth (m) on the flooded cells of ``extent``, NaN elsewhere (float32)."""
        self._check(extent)
        return np.where(
            extent.mask, np.float32(extent.water_surface_m) - self.elevation, np.float32(np.nan)
        )

    def impact(self, extent: FloodExtent) -> FloodImpact:
        """Parcels, buildings, assets and streets under water, and the people affected.

        People affected are the residents of every building with water on at least one
        cell of its footprint, whatever the depth: the people to warn or evacuate, an
        upper bound of those actually harmed. Depths are in m rounded to the cm, areas
        in m² to 0.1 m², lengths in m to 0.1 m.
        """
        self._check(extent)
        flooded = extent.mask.ravel()
        surface = extent.water_surface_m
        parcel_count, parcel_sum, parcel_max = _depth_stats(self._parcel_cells, flooded, surface)
        parcel_area = np.minimum(parcel_count * extent.cell_area_m2, self._parcel_area)
        hit = np.flatnonzero(parcel_count)
        parcels = [
            FloodedParcel(
                cadastral_number=str(number),
                flooded_area_m2=round(area, 1),
                max_depth_m=round(deepest, 2),
                mean_depth_m=round(total / count, 2),
            )
            for number, area, deepest, total, count in zip(
                self._parcels["cadastral_number"].to_numpy()[hit].tolist(),
                parcel_area[hit].tolist(),
                parcel_max[hit].tolist(),
                parcel_sum[hit].tolist(),
                parcel_count[hit].tolist(),
                strict=True,
            )
        ]
        building_count, _, building_max = _depth_stats(self._building_cells, flooded, surface)
        hit = np.flatnonzero(building_count)
        buildings = [
            FloodedBuilding(
                building_id=str(building_id),
                use=str(use),
                max_depth_m=round(deepest, 2),
                residents=residents,
            )
            for building_id, use, deepest, residents in zip(
                self._buildings["building_id"].to_numpy()[hit].tolist(),
                self._buildings["use"].to_numpy()[hit].tolist(),
                building_max[hit].tolist(),
                self._residents[hit].tolist(),
                strict=True,
            )
        ]
        wet = flooded[self._asset_cells.cell]
        rows = self._asset_cells.feature[wet]
        depths = surface - self._asset_cells.value[wet]
        assets = [
            FloodedAsset(
                asset_id=str(asset_id), name=str(name), kind=str(kind), depth_m=round(d, 2)
            )
            for asset_id, name, kind, d in zip(
                self._assets["asset_id"].to_numpy()[rows].tolist(),
                self._assets["name"].to_numpy()[rows].tolist(),
                self._assets["kind"].to_numpy()[rows].tolist(),
                depths.tolist(),
                strict=True,
            )
        ]
        wet = flooded[self._street_cells.cell]
        lengths = np.bincount(
            self._street_cells.feature[wet],
            weights=self._street_cells.value[wet],
            minlength=self._street_cells.count,
        )
        hit = np.flatnonzero(lengths)
        streets = [
            FloodedStreet({"name": str(name), "class": str(kind), "length_m": round(length, 1)})
            for name, kind, length in zip(
                self._streets["name"].to_numpy()[hit].tolist(),
                self._streets["class"].to_numpy()[hit].tolist(),
                lengths[hit].tolist(),
                strict=True,
            )
        ]
        parcels.sort(key=lambda p: -p["flooded_area_m2"])
        buildings.sort(key=lambda b: -b["max_depth_m"])
        assets.sort(key=lambda a: -a["depth_m"])
        streets.sort(key=lambda s: -s["length_m"])
        area = round(extent.area_m2, 1)
        street_length = round(float(lengths.sum()), 1)
        people = sum(b["residents"] for b in buildings)
        text = (
            f"Water at {surface:.2f} m: {area / 10_000:.1f} ha flooded, {len(parcels)} parcels,"
            f" {len(buildings)} buildings ({people} residents), {len(assets)} municipal assets"
            f" and {street_length / 1000:.2f} km of streets under water."
        )
        return FloodImpact(
            water_surface_m=surface,
            summary=FloodSummary(
                flooded_area_m2=area,
                parcels=len(parcels),
                buildings=len(buildings),
                assets=len(assets),
                street_length_m=street_length,
                people_affected=people,
                text=text,
            ),
            parcels=parcels,
            buildings=buildings,
            assets=assets,
            streets=streets,
        )

    def polygons(
        self, extent: FloodExtent, *, simplify_m: float | None = None
    ) -> shapely.MultiPolygon:
        """The flooded land as polygons in the grid's CRS.

        The cell outlines are simplified by ``simplify_m`` (default half a cell, which
        takes the staircase off diagonal waterlines) while keeping the parts apart.
        """
        self._check(extent)
        tolerance = self.cell_size_m / 2.0 if simplify_m is None else simplify_m
        # Only the rows and columns that hold flooded cells are traced: a small flood on
        # a big grid is then traced in a fraction of the time.
        rows = np.flatnonzero(extent.mask.any(axis=1))
        cols = np.flatnonzero(extent.mask.any(axis=0))
        if rows.size == 0:
            return shapely.MultiPolygon()
        window = extent.mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        parts = [
            shapely.geometry.shape(geometry)
            for geometry, _ in rasterio.features.shapes(
                window.view(np.uint8),
                mask=window,
                connectivity=4,
                transform=self.transform * Affine.translation(int(cols[0]), int(rows[0])),
            )
        ]
        merged = shapely.MultiPolygon(parts)
        if tolerance > 0:
            merged = shapely.simplify(merged, tolerance, preserve_topology=True)
        return (
            merged if isinstance(merged, shapely.MultiPolygon) else shapely.MultiPolygon([merged])
        )

    def geojson(self, extent: FloodExtent, *, simplify_m: float | None = None) -> dict[str, Any]:
        """The flooded land as an RFC 7946 GeoJSON Feature (CRS84, lon/lat)."""
        to_crs84 = self._to_crs84
        geometry = shapely.transform(
            self.polygons(extent, simplify_m=simplify_m),
            # 7 decimals of a degree are about 1 cm: no false precision, smaller documents.
            lambda xy: np.round(np.column_stack(to_crs84.transform(xy[:, 0], xy[:, 1])), 7),
        )
        return {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(geometry),
            "properties": {
                "water_surface_m": extent.water_surface_m,
                "flooded_area_m2": round(extent.area_m2, 1),
            },
        }

    def _compute_extent(self, surface_cm: int) -> FloodExtent:
        surface = surface_cm / 100.0
        below = self.elevation < np.float32(surface)  # NaN (nodata) is never below
        labels, _ = ndimage.label(below)  # the default structure: four edge neighbours
        connected = np.zeros(labels.max() + 1, dtype=bool)
        connected[labels.ravel()[self._seeds]] = True
        connected[0] = False  # label 0 is the dry ground
        mask = connected[labels]
        mask &= ~self.river
        mask.setflags(write=False)
        return FloodExtent(surface, mask, self.cell_area_m2)

    def _compute_impact(self, surface_cm: int) -> FloodImpact:
        return self.impact(self._extent_at_cm(surface_cm))

    def _check(self, extent: FloodExtent) -> None:
        if extent.mask.shape != self.shape:
            raise ValueError(
                f"the extent's grid {extent.mask.shape} is not this model's {self.shape}"
            )

    def _flat_cells(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat cell index of each point, and which points fall inside the grid."""
        x, y, inverse = shapely.get_x(points), shapely.get_y(points), ~self.transform
        cols = np.floor(inverse.a * x + inverse.b * y + inverse.c).astype(np.intp)
        rows = np.floor(inverse.d * x + inverse.e * y + inverse.f).astype(np.intp)
        inside = (rows >= 0) & (rows < self.shape[0]) & (cols >= 0) & (cols < self.shape[1])
        return np.where(inside, rows * self.shape[1] + cols, -1), inside

    def _polygon_cells(self, geometry: gpd.GeoSeries) -> _Cells:
        """Cells of each polygon by the cell-centre rule, plus the representative point's
        cell for polygons too small to hold a cell centre."""
        geoms = geometry.to_numpy()
        present = np.flatnonzero(_present(geoms))
        grid = rasterio.features.rasterize(
            zip(geoms[present], present.tolist(), strict=True),
            out_shape=self.shape,
            transform=self.transform,
            fill=-1,
            dtype=np.int32,
        ).ravel()
        cell = np.flatnonzero(grid >= 0)
        feature = grid[cell].astype(np.intp)
        covered = np.bincount(feature, minlength=len(geoms)) > 0
        missing = present[~covered[present]]
        extra, inside = self._flat_cells(shapely.point_on_surface(geoms[missing]))
        cell = np.concatenate([cell, extra[inside]])
        feature = np.concatenate([feature, missing[inside]])
        return _Cells(cell, feature, self.elevation.ravel()[cell], len(geoms))

    def _point_cells(self, geometry: gpd.GeoSeries) -> _Cells:
        """The cell of each point (its representative point for other geometries)."""
        geoms = geometry.to_numpy()
        present = np.flatnonzero(_present(geoms))
        cell, inside = self._flat_cells(shapely.point_on_surface(geoms[present]))
        return _Cells(
            cell[inside], present[inside], self.elevation.ravel()[cell[inside]], len(geoms)
        )

    def _line_cells(self, geometry: gpd.GeoSeries) -> _Cells:
        """Street length per (cell, street), from points sampled along each line.

        Each part of a line is cut into equal pieces of at most a quarter cell; the
        middle of each piece stands for the piece's length.
        """
        geoms = geometry.to_numpy()
        parts, feature = shapely.get_parts(geoms, return_index=True)
        lengths = shapely.length(parts)
        parts, feature, lengths = parts[lengths > 0], feature[lengths > 0], lengths[lengths > 0]
        pieces = np.ceil(lengths * STREET_SAMPLES_PER_CELL / self.cell_size_m).astype(np.intp)
        part = np.repeat(np.arange(len(parts)), pieces)
        start = np.cumsum(pieces) - pieces
        position = (np.arange(part.size) - start[part] + 0.5) / pieces[part]
        points = shapely.line_interpolate_point(parts[part], position, normalized=True)
        cell, inside = self._flat_cells(points)
        size = self.elevation.size
        pairs, where = np.unique(feature[part][inside] * size + cell[inside], return_inverse=True)
        length = np.bincount(where, weights=(lengths / pieces)[part][inside])
        return _Cells(pairs % size, pairs // size, length, len(geoms))


def _depth_stats(
    cells: _Cells, flooded: np.ndarray, surface: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per feature: flooded cells, sum of their depths and the deepest."""
    wet = flooded[cells.cell]
    feature = cells.feature[wet]
    depth = surface - cells.value[wet]
    count = np.bincount(feature, minlength=cells.count)
    total = np.bincount(feature, weights=depth, minlength=cells.count)
    deepest = np.zeros(cells.count, dtype=depth.dtype)
    np.maximum.at(deepest, feature, depth)
    return count, total, deepest


def _present(geoms: np.ndarray) -> np.ndarray:
    """Which geometries are neither missing nor empty."""
    return ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))


def _to_cm(water_surface_m: float) -> int:
    if not math.isfinite(water_surface_m):
        raise ValueError(f"the water surface must be a finite altitude, got {water_surface_m}")
    return round(water_surface_m * 100.0)


def _metric_crs(crs: Any) -> CRS:
    """The grid's CRS, which must be projected in metres for areas and lengths."""
    if crs is None:
        raise ValueError("the terrain grid has no CRS: give one, e.g. EPSG:3844")
    parsed = CRS.from_user_input(crs)
    units = {axis.unit_name for axis in parsed.axis_info}
    if not parsed.is_projected or units != {"metre"}:
        raise ValueError(
            f"the terrain grid's CRS {parsed.to_string()} is not projected in metres: "
            "reproject the grid, e.g. to EPSG:3844 (Stereo 70)"
        )
    return parsed


def _checked_layer(name: str, frame: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """The layer in the grid's CRS, with its required columns."""
    if frame.crs is None:
        raise ValueError(f"layer {name!r} has no CRS: set it with set_crs() before use")
    missing = [c for c in REQUIRED_COLUMNS.get(name, ()) if c not in frame.columns]
    if missing:
        raise ValueError(f"layer {name!r} lacks the columns {missing}")
    if CRS.from_user_input(frame.crs) != crs:
        logger.info("reprojecting layer %r from %s to %s", name, frame.crs, crs.to_string())
        return frame.to_crs(crs)
    return frame
