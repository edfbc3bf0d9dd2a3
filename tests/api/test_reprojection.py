"""Features reprojected in one vectorised pass keep everything but their coordinates,
which match PROJ's own transformation of each point."""

from __future__ import annotations

import json

import pytest
from pyproj import Transformer

from api.crs import EPSG, reproject_features

FEATURES = [
    {
        "type": "Feature",
        "id": 1,
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[24.87, 43.75], [24.88, 43.75], [24.88, 43.76], [24.87, 43.75]]],
        },
        "properties": {"cadastral_number": "30001", "area_m2": 512.25, "owners": 9007199254740993},
    },
    {"type": "Feature", "id": 2, "geometry": None, "properties": {"note": "fără geometrie"}},
    {
        "type": "Feature",
        "id": 3,
        "geometry": {
            "type": "MultiLineString",
            "coordinates": [[[24.86, 43.74], [24.861, 43.741]], [[24.9, 43.7], [24.91, 43.71]]],
        },
        "properties": {"nested": {"a": [1, 2, None]}, "flag": True},
    },
    {
        "type": "Feature",
        "id": 4,
        "geometry": {"type": "Point", "coordinates": [24.8654, 43.7512]},
        "properties": {},
    },
]


def _points(coordinates: object) -> list[tuple[float, float]]:
    if isinstance(coordinates[0], float | int):  # type: ignore[index]
        return [tuple(coordinates)]  # type: ignore[arg-type, list-item]
    return [p for part in coordinates for p in _points(part)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("epsg", ["4326", "3844", "3857"])
def test_reprojected_features_keep_all_but_their_coordinates(epsg: str) -> None:
    proj = Transformer.from_crs("OGC:CRS84", f"EPSG:{epsg}")  # the CRS's own axis order
    found = [
        json.loads(t) for t in reproject_features([json.dumps(f) for f in FEATURES], EPSG + epsg)
    ]
    for before, after in zip(FEATURES, found, strict=True):
        assert {k: v for k, v in after.items() if k != "geometry"} == {
            k: v for k, v in before.items() if k != "geometry"
        }
        if before["geometry"] is None:
            assert after["geometry"] is None
            continue
        assert after["geometry"]["type"] == before["geometry"]["type"]
        expected = [proj.transform(x, y) for x, y in _points(before["geometry"]["coordinates"])]
        got = _points(after["geometry"]["coordinates"])
        assert len(got) == len(expected)
        for point, oracle in zip(got, expected, strict=True):
            assert point == pytest.approx(oracle, abs=1e-6)
