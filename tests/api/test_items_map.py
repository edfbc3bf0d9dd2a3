"""The items page's map: features drawn as SVG shapes in the drawing's pixels."""

from __future__ import annotations

import json
import re

from shapely.geometry import LineString, MultiPoint, Point, Polygon, mapping

from api.items_map import MAX_HEIGHT, WIDTH, items_map


def _feature(feature_id: int, geometry: object) -> str:
    return json.dumps(
        {"type": "Feature", "id": feature_id, "geometry": geometry and mapping(geometry)}
    )


def _numbers(d: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]


def test_polygons_with_holes_lines_and_points_fit_the_drawing() -> None:
    square = Polygon(
        [(24.86, 43.75), (24.87, 43.75), (24.87, 43.76), (24.86, 43.76)],
        [[(24.864, 43.754), (24.866, 43.754), (24.866, 43.756), (24.864, 43.756)]],
    )
    street = LineString([(24.85, 43.74), (24.88, 43.77)])
    wells = MultiPoint([(24.855, 43.745), (24.875, 43.765)])
    drawing = items_map(
        [_feature(1, square), _feature(2, street), _feature(3, wells), _feature(4, None)]
    )
    assert drawing is not None
    assert drawing.width == WIDTH and drawing.height <= MAX_HEIGHT
    polygon, line, *points = drawing.shapes
    assert polygon.d.count("M") == 2 and polygon.d.count("Z") == 2 and not polygon.line
    assert line.line and "Z" not in line.d
    # the street spans the whole extent: from the lower left corner to the upper right
    x1, y1, x2, y2 = _numbers(line.d)
    assert x1 < x2 and y1 > y2
    assert [p.feature_id for p in points] == ["3", "3"]
    for shape in drawing.shapes:
        xs = _numbers(shape.d)[0::2] if shape.d else [shape.cx]
        ys = _numbers(shape.d)[1::2] if shape.d else [shape.cy]
        assert all(0 <= x <= drawing.width for x in xs if x is not None)
        assert all(0 <= y <= drawing.height for y in ys if y is not None)


def test_a_single_point_is_centred_and_no_geometry_draws_nothing() -> None:
    drawing = items_map([_feature(7, Point(24.87, 43.75))])
    assert drawing is not None
    (point,) = drawing.shapes
    assert point.cx == WIDTH / 2 and point.cy == drawing.height / 2
    assert items_map([_feature(8, None)]) is None
    assert items_map([]) is None
