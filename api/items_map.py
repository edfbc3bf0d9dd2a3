"""The small map of an items page: the page's features as an SVG drawn by the server.

The town map draws with deck.gl and WebGL; a page of items (10,000 features at most)
needs neither. An SVG written here is offline by construction (no script, no
CDN, no tiles), readable without JavaScript, and shows in a browser at once, where
deck.gl on a machine without a GPU takes seconds to tens of seconds. Geometries are
projected equirectangularly about the page's mean latitude (a town's extent: the
distortion is below a pixel) and simplified to half a pixel, so 10,000 parcels stay a
few hundred kilobytes. Only numbers are written into the drawing; titles and links go
through the template, which escapes them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import orjson
import shapely

WIDTH = 640
"""The map's width in CSS pixels; its height follows the extent, up to :data:`MAX_HEIGHT`."""
MAX_HEIGHT = 420
_MARGIN = 8
_SIMPLIFY_PX = 0.5
_POINTS = (0, 4)  # shapely's type ids: Point, MultiPoint
_LINES = (1, 2, 5)  # LineString, LinearRing, MultiLineString
_LEAST_DEGREES = 0.0005
"""The least extent drawn, about 50 m: a single point is drawn amid that much ground."""


@dataclass(frozen=True)
class Shape:
    """One feature as drawn: an SVG path (``d``) or, for a point, a circle's centre."""

    feature_id: str
    d: str = ""
    cx: float | None = None
    cy: float | None = None
    line: bool = False
    """Drawn as a stroke, unfilled."""


@dataclass(frozen=True)
class ItemsMap:
    """What the template draws: the drawing's size and its shapes."""

    width: int
    height: int
    shapes: list[Shape]


_LIST = re.compile(r"\(([^()]+)\)")
"""A ring's or a line's coordinates in WKT: the innermost parenthesised lists."""


def _path(wkt: str, closed: bool) -> str:
    """SVG path data of a (multi)polygon or (multi)line from its WKT in pixels: SVG reads
    WKT's ``x y, x y`` as the points of a path after its first move."""
    end = "Z" if closed else ""
    return " ".join(f"M{points}{end}" for points in _LIST.findall(wkt))


def items_map(features: list[str]) -> ItemsMap | None:
    """The drawing of ``features`` (serialised GeoJSON in CRS84); None when none of them
    has a geometry."""
    parsed = [orjson.loads(text) for text in features]
    geometries = shapely.from_geojson(
        [orjson.dumps(f["geometry"]) if f.get("geometry") else None for f in parsed]
    )
    drawn = [(f, g) for f, g in zip(parsed, geometries, strict=True) if g is not None]
    if not drawn:
        return None
    west, south, east, north = shapely.total_bounds([g for _, g in drawn])
    # one point, or points in a row: some ground around them
    if east - west < _LEAST_DEGREES:
        west, east = west - _LEAST_DEGREES / 2, east + _LEAST_DEGREES / 2
    if north - south < _LEAST_DEGREES:
        south, north = south - _LEAST_DEGREES / 2, north + _LEAST_DEGREES / 2
    squeeze = math.cos(math.radians((south + north) / 2))
    across = (east - west) * squeeze
    down = north - south
    scale = min((WIDTH - 2 * _MARGIN) / across, (MAX_HEIGHT - 2 * _MARGIN) / down)
    height = math.ceil(down * scale + 2 * _MARGIN)
    x0 = (WIDTH - across * scale) / 2
    y0 = _MARGIN

    def to_pixels(lonlat: np.ndarray) -> np.ndarray:
        return np.column_stack(
            (
                x0 + (lonlat[:, 0] - west) * squeeze * scale,
                y0 + (north - lonlat[:, 1]) * scale,
            )
        )

    # every geometry transformed, simplified and written by one vectorised call each
    on_page = shapely.simplify(
        shapely.transform(np.array([g for _, g in drawn]), to_pixels),
        _SIMPLIFY_PX,
        preserve_topology=True,
    )
    written = shapely.to_wkt(on_page, rounding_precision=1, trim=True)
    shapes = []
    for (feature, _), geometry, wkt in zip(drawn, on_page, written, strict=True):
        feature_id = str(feature.get("id", ""))
        kind = shapely.get_type_id(geometry)
        if kind in _POINTS:
            for x, y in shapely.get_coordinates(geometry):
                shapes.append(Shape(feature_id, cx=round(x, 1), cy=round(y, 1)))
        else:
            line = kind in _LINES
            shapes.append(Shape(feature_id, d=_path(wkt, closed=not line), line=line))
    return ItemsMap(WIDTH, height, shapes)
