"""Large-scale layout of the demo town: the town outline, the rivers, the levee and the port.

Positions follow the real Turnu Măgurele (see ``/work/shared/DOMAIN.md``): centre at
43.7517 N, 24.8708 E, the Danube to the south, the Olt joining from the north-west with
its mouth 4-5 km south-west of the centre. The river, levee and port geometry is an
illustrative design, not surveyed data. Everything is in Stereo 70 (EPSG:3844).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon, box

CRS = "EPSG:3844"
CENTRE_LON_LAT = (24.8708, 43.7517)
STUDY_BOUNDS = (485_000.0, 245_000.0, 494_000.0, 254_000.0)
"""Area covered by the demo data and the DEM (xmin, ymin, xmax, ymax), in EPSG:3844."""

DANUBE_CENTRELINE = (
    (484_000.0, 246_900.0),
    (486_000.0, 246_700.0),
    (487_500.0, 246_450.0),
    (489_700.0, 246_450.0),
    (491_500.0, 246_300.0),
    (493_000.0, 246_400.0),
    (495_500.0, 246_550.0),
)
DANUBE_HALF_WIDTH_M = 450.0
OLT_CENTRELINE = (
    (483_800.0, 253_200.0),
    (485_200.0, 251_500.0),
    (485_700.0, 250_000.0),
    (486_100.0, 248_700.0),
    (486_450.0, 247_700.0),
    (486_750.0, 246_750.0),
)
OLT_HALF_WIDTH_M = 90.0

LEVEE_START_X = 491_200.0
"""The levee protects the floodplain downstream (east) of this easting."""
LEVEE_NORTH_Y = 248_400.0
"""Northern end of the cross levee, tied into the town terrace."""
LEVEE_SETBACK_M = 120.0
"""Distance of the river levee from the Danube's north bank."""

PORT_X_RANGE = (489_200.0, 490_600.0)
PORT_DEPTH_M = 450.0
PORT_BANK_GAP_M = 5.0
GAUGE_X = 489_050.0

TOWN_ORIGIN_OFFSET = (250.0, 50.0)
"""Offset of the town outline's centre from the town centre, metres east and north."""
TOWN_RADII_M = (1_450.0, 1_350.0)
TOWN_SOUTH_LIMIT_Y = 248_500.0
"""The built-up area stays north of this line, on the terrace above the scarp."""


@dataclass(frozen=True)
class River:
    """A river drawn as a centreline with a constant channel half-width."""

    name: str
    centreline: LineString
    half_width_m: float

    def channel(self) -> Polygon:
        """Return the channel polygon (the centreline buffered by the half-width)."""
        return self.centreline.buffer(self.half_width_m, cap_style="flat")


@dataclass(frozen=True)
class Site:
    """Fixed geography of the demo town, in EPSG:3844."""

    centre: Point
    study_area: Polygon
    territory: Polygon
    town: Polygon
    danube: River
    olt: River
    levee: LineString
    port: Polygon
    gauge: Point


def centre_stereo70() -> Point:
    """Return the town centre (43.7517 N, 24.8708 E) projected to EPSG:3844."""
    to_stereo70 = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = to_stereo70.transform(*CENTRE_LON_LAT)
    return Point(x, y)


def danube_centre_y(x: np.ndarray | float) -> np.ndarray:
    """Return the northing of the Danube centreline at the given eastings."""
    xs, ys = np.asarray(DANUBE_CENTRELINE).T
    return np.interp(x, xs, ys)


def build_site(rng: np.random.Generator) -> Site:
    """Lay out the demo town; only the town outline depends on ``rng``."""
    centre = centre_stereo70()
    study_area = box(*STUDY_BOUNDS)
    danube = River("Dunărea", LineString(DANUBE_CENTRELINE), DANUBE_HALF_WIDTH_M)
    olt = River("Olt", LineString(OLT_CENTRELINE), OLT_HALF_WIDTH_M)
    return Site(
        centre=centre,
        study_area=study_area,
        territory=_territory(study_area),
        town=_town_outline(centre, rng),
        danube=danube,
        olt=olt,
        levee=_levee(),
        port=_port(),
        gauge=Point(GAUGE_X, float(danube_centre_y(GAUGE_X)) + DANUBE_HALF_WIDTH_M + 4.0),
    )


def _territory(study_area: Polygon) -> Polygon:
    """Land north of the Danube's centreline (the state border) inside the study area."""
    south = Polygon([*DANUBE_CENTRELINE, (495_500.0, 240_000.0), (484_000.0, 240_000.0)])
    return study_area.difference(south)


def _town_outline(centre: Point, rng: np.random.Generator) -> Polygon:
    """Irregular oval built-up area around the centre, cut off above the scarp."""
    phi = np.linspace(0.0, 2.0 * np.pi, 180, endpoint=False)
    harmonics = np.arange(2, 6)[:, None]
    amplitude = rng.uniform(0.015, 0.04, (4, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, (4, 1))
    scale = 1.0 + (amplitude * np.cos(harmonics * phi + phase)).sum(axis=0)
    ox = centre.x + TOWN_ORIGIN_OFFSET[0]
    oy = centre.y + TOWN_ORIGIN_OFFSET[1]
    outline = Polygon(
        np.column_stack(
            [ox + TOWN_RADII_M[0] * scale * np.cos(phi), oy + TOWN_RADII_M[1] * scale * np.sin(phi)]
        )
    )
    clipped = outline.intersection(box(0.0, TOWN_SOUTH_LIMIT_Y, 1e7, 1e7))
    return shapely.normalize(clipped)


def _levee() -> LineString:
    """Cross levee from the terrace down to the bank, then along the river to the east."""
    xs = np.arange(LEVEE_START_X, STUDY_BOUNDS[2] + 600.0, 200.0)
    ys = danube_centre_y(xs) + DANUBE_HALF_WIDTH_M + LEVEE_SETBACK_M
    return LineString([(LEVEE_START_X, LEVEE_NORTH_Y), *zip(xs, ys, strict=True)])


def _port() -> Polygon:
    """Port platform: a strip along the Danube's north bank south of the town."""
    xs = np.linspace(*PORT_X_RANGE, 15)
    bank = danube_centre_y(xs) + DANUBE_HALF_WIDTH_M
    near = np.column_stack([xs, bank + PORT_BANK_GAP_M])
    far = np.column_stack([xs, bank + PORT_DEPTH_M])
    return Polygon(np.vstack([near, far[::-1]]))


def port_edge_y(x: float, *, offset_m: float) -> float:
    """Return the northing ``offset_m`` north of the Danube's north bank at easting ``x``."""
    return float(danube_centre_y(x)) + DANUBE_HALF_WIDTH_M + offset_m
