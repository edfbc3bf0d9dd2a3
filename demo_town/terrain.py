"""Terrain model (DEM) of the demo town, in metres above the Constanța datum (EPSG:5781).

The shape is designed around the Danube gauge so that the INHGA defence levels give
growing flood extents on the floodplain while the town terrace stays dry:

* town terrace at about 30-35 m, a scarp down to the floodplain;
* Danube floodplain rising from 23.0 m at the bank to about 26.3 m at the scarp foot
  (attention 500 cm = 24.5 m reaches about 450 m from the bank, flood 550 cm = 25.0 m
  about 600 m, danger 650 cm = 26.0 m about 900 m);
* the port platform at 25.6 m: dry at 550 cm, under water at 650 cm;
* a levee (crest 27.6 m) downstream of the port, closing a polder whose hollows lie
  below 24.5 m but are not hydraulically connected to the river;
* channels with beds at 13 m (Danube) and 16.5 m (Olt), and the Olt's own floodplain.

The gauge zero and the whole surface are illustrative, not surveyed values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import shapely
from affine import Affine

from demo_town.geography import CRS, STUDY_BOUNDS, Site, danube_centre_y
from demo_town.noise import ValueNoise

GAUGE_ZERO_M = 19.5
"""Altitude of the Tr. Măgurele staff-gauge zero (m, Constanța datum); illustrative.

A reading of 500 cm is a water surface at 24.5 m.
"""
PIXEL_SIZE_M = 5.0
NODATA = -9999.0

BANK_ELEVATION_M = 23.0
FLOODPLAIN_RISE_M = 3.3
DANUBE_FLOODPLAIN_NORTH_M = 1_000.0
DANUBE_FLOODPLAIN_NORTH_VARIATION_M = 120.0
DANUBE_FLOODPLAIN_SOUTH_M = 200.0
OLT_FLOODPLAIN_M = 700.0
SCARP_WIDTH_M = 300.0
DANUBE_DEPTH_M = 10.0
OLT_DEPTH_M = 6.5
CHANNEL_SHOULDER = 0.35
"""Fraction of the half-width over which a channel deepens from bank to bed."""
LEVEE_CREST_M = 27.6
LEVEE_CREST_HALF_WIDTH_M = 3.0
LEVEE_SIDE_SLOPE = 1.0 / 3.0
PORT_PLATFORM_M = 25.6
HOLLOWS = (
    (492_300.0, 247_350.0, 1.8, 140.0),
    (493_300.0, 247_550.0, 1.5, 180.0),
    (488_300.0, 247_450.0, 1.2, 120.0),
)
"""Floodplain hollows as (x, y, depth m, radius m); the first two lie behind the levee."""
ROW_CHUNK = 200


@dataclass(frozen=True, eq=False)
class Dem:
    """A north-up elevation grid in EPSG:3844."""

    elevation: np.ndarray
    transform: Affine

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the elevation of the pixels containing points (x, y), clamped to the grid."""
        rows, cols = rasterio.transform.rowcol(self.transform, np.asarray(x), np.asarray(y))
        rows = np.clip(rows, 0, self.elevation.shape[0] - 1)
        cols = np.clip(cols, 0, self.elevation.shape[1] - 1)
        return self.elevation[rows, cols]


def build_dem(site: Site, rng: np.random.Generator) -> Dem:
    """Compute the DEM over the study area at ``PIXEL_SIZE_M`` resolution."""
    xmin, ymin, xmax, ymax = STUDY_BOUNDS
    width = int(round((xmax - xmin) / PIXEL_SIZE_M))
    height = int(round((ymax - ymin) / PIXEL_SIZE_M))
    transform = Affine.translation(xmin, ymax) @ Affine.scale(PIXEL_SIZE_M, -PIXEL_SIZE_M)
    surface = _Surface.create(site, rng)
    xs = xmin + (np.arange(width) + 0.5) * PIXEL_SIZE_M
    elevation = np.empty((height, width), dtype=np.float32)
    for start in range(0, height, ROW_CHUNK):
        rows = np.arange(start, min(start + ROW_CHUNK, height))
        ys = ymax - (rows + 0.5) * PIXEL_SIZE_M
        x, y = np.meshgrid(xs, ys)
        elevation[rows] = surface.elevation(x, y)
    return Dem(elevation=elevation, transform=transform)


def write_geotiff(dem: Dem, path: Path) -> None:
    """Write the DEM as a tiled, deflate-compressed float32 GeoTIFF with a nodata value."""
    height, width = dem.elevation.shape
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": dem.transform,
        "nodata": NODATA,
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(dem.elevation, 1)
        dst.update_tags(1, units="m", vertical_datum="EPSG:5781 Constanta height")


@dataclass(frozen=True, eq=False)
class _Surface:
    """The terrain as a function of position."""

    site: Site
    floodplain_noise: ValueNoise
    terrace_noise: ValueNoise
    terrace_detail: ValueNoise
    floodplain_phase: float

    @classmethod
    def create(cls, site: Site, rng: np.random.Generator) -> _Surface:
        """Draw the random parts of the surface (noise fields, floodplain width phase)."""
        return cls(
            site=site,
            floodplain_noise=ValueNoise.create(rng, STUDY_BOUNDS, 250.0, 0.3),
            terrace_noise=ValueNoise.create(rng, STUDY_BOUNDS, 700.0, 0.9),
            terrace_detail=ValueNoise.create(rng, STUDY_BOUNDS, 150.0, 0.2),
            floodplain_phase=float(rng.uniform(0.0, 2.0 * np.pi)),
        )

    def elevation(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Elevation (m) at points (x, y)."""
        danube, olt = self.site.danube, self.site.olt
        bank_d = _distance_to_polyline(x, y, danube.centreline) - danube.half_width_m
        bank_o = _distance_to_polyline(x, y, olt.centreline) - olt.half_width_m
        north = y > danube_centre_y(x)
        width_d = np.where(
            north,
            DANUBE_FLOODPLAIN_NORTH_M
            + DANUBE_FLOODPLAIN_NORTH_VARIATION_M
            * np.sin(2.0 * np.pi * x / 2_600.0 + self.floodplain_phase),
            DANUBE_FLOODPLAIN_SOUTH_M,
        )
        # Position across the floodplain: 0 at a bank, 1 at the scarp foot.
        across = np.clip(np.minimum(bank_d / width_d, bank_o / OLT_FLOODPLAIN_M), 0.0, 1.0)
        floodplain = BANK_ELEVATION_M + FLOODPLAIN_RISE_M * across + self.floodplain_noise(x, y)
        for hx, hy, depth, radius in HOLLOWS:
            floodplain -= depth * np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2.0 * radius**2))
        terrace = (
            np.clip(30.8 + (y - 248_300.0) / 1_000.0, 30.5, 35.0)
            + self.terrace_noise(x, y)
            + self.terrace_detail(x, y)
        )
        beyond = np.minimum(bank_d - width_d, bank_o - OLT_FLOODPLAIN_M)
        w = _smoothstep(beyond / SCARP_WIDTH_M)
        z = floodplain * (1.0 - w) + terrace * w
        z = np.minimum(z, _channel(bank_d, danube.half_width_m, DANUBE_DEPTH_M))
        z = np.minimum(z, _channel(bank_o, olt.half_width_m, OLT_DEPTH_M))
        z = np.maximum(z, self._levee(x, y))
        return np.where(self._on_port(x, y), np.maximum(z, PORT_PLATFORM_M), z)

    def _levee(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Levee crest and side slopes; -inf away from the levee.

        Distances are computed only near the levee because the polyline has many
        vertices and the embankment is narrow.
        """
        reach = LEVEE_CREST_HALF_WIDTH_M + LEVEE_CREST_M / LEVEE_SIDE_SLOPE
        xmin, ymin, xmax, ymax = self.site.levee.buffer(reach).bounds
        near = (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
        levee = np.full(np.shape(x), -np.inf)
        distance = _distance_to_polyline(x[near], y[near], self.site.levee)
        levee[near] = LEVEE_CREST_M - LEVEE_SIDE_SLOPE * np.maximum(
            distance - LEVEE_CREST_HALF_WIDTH_M, 0.0
        )
        return levee

    def _on_port(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Points inside the port polygon (tested only within its bounding box, for speed)."""
        xmin, ymin, xmax, ymax = self.site.port.bounds
        near = (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
        inside = np.zeros(np.shape(x), dtype=bool)
        inside[near] = shapely.contains_xy(self.site.port, x[near], y[near])
        return inside


def _channel(bank_distance: np.ndarray, half_width: float, depth: float) -> np.ndarray:
    """Channel bed under water (negative bank distance); +inf outside the channel."""
    inside = -bank_distance / (CHANNEL_SHOULDER * half_width)
    bed = BANK_ELEVATION_M - depth * _smoothstep(inside)
    return np.where(bank_distance < 0.0, bed, np.inf)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _distance_to_polyline(x: np.ndarray, y: np.ndarray, line: shapely.LineString) -> np.ndarray:
    """Euclidean distance from points to a polyline, segment by segment in numpy."""
    coords = np.asarray(line.coords)
    best = np.full(np.shape(x), np.inf)
    for (ax, ay), (bx, by) in zip(coords[:-1], coords[1:], strict=True):
        dx, dy = bx - ax, by - ay
        t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        best = np.minimum(best, (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2)
    return np.sqrt(best)
