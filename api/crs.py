"""OGC API - Features Part 2 (CRS by reference): the CRSs served and the reprojection.

Features are stored in CRS84 (longitude, latitude); a request may ask for another of
:data:`SUPPORTED` with ``crs`` and give its ``bbox`` in one with ``bbox-crs``. Both use
the axis order the CRS defines in the EPSG registry, as Part 2 requires and GDAL's OAPIF
driver (QGIS) reads them: EPSG:4326 is latitude, longitude; Stereo 70 (EPSG:3844) is
northing, easting; EPSG:3857 is easting, northing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import orjson
import shapely
from pyproj import CRS, Transformer

from api.errors import InvalidParameter
from api.ogc import CRS84

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
SUPPORTED = [CRS84, f"{EPSG}4326", f"{EPSG}3844", f"{EPSG}3857"]


def checked(uri: str | None, parameter: str) -> str:
    """``uri`` if this service serves it (CRS84 when absent), else a 400 naming the choice."""
    if uri is None:
        return CRS84
    if uri not in SUPPORTED:
        raise InvalidParameter(f"{parameter} {uri!r} is not served; use one of {SUPPORTED}")
    return uri


@cache
def _transformer(source: str, target: str) -> Transformer:
    def crs(uri: str) -> CRS:
        return CRS.from_user_input("OGC:CRS84" if uri == CRS84 else f"EPSG:{uri.rsplit('/', 1)[1]}")

    return Transformer.from_crs(crs(source), crs(target))  # each CRS in its own axis order


def bbox_area(values: list[float], bbox_crs: str) -> shapely.Polygon:
    """A bbox given in ``bbox_crs`` as the CRS84 area it covers; its edges are densified
    first, so that a Stereo 70 box keeps its shape in longitude and latitude."""
    area = shapely.box(*values)
    if bbox_crs == CRS84:
        return area
    side = max(values[2] - values[0], values[3] - values[1])
    return to_crs84(bbox_crs)(shapely.segmentize(area, side / 32 or 1.0))


def _reprojected(geometry: shapely.Geometry | np.ndarray, transformer: Transformer) -> Any:
    """``geometry`` (one, or an array of them) reprojected: one PROJ call for every
    coordinate of them all."""
    return shapely.transform(
        geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def to_crs84(source: str) -> Callable[[shapely.Geometry], shapely.Geometry]:
    """Reprojection of geometries given in ``source`` (e.g. a filter's) to CRS84."""
    if source == CRS84:
        return lambda geometry: geometry
    transformer = _transformer(source, CRS84)
    return lambda geometry: _reprojected(geometry, transformer)


def reproject_features(features: list[str], target: str) -> list[str]:
    """GeoJSON features (serialised, CRS84) with their geometry in ``target``.

    Every geometry is read, transformed and written by one vectorised call each (GEOS
    and PROJ, which release the GIL): 10,000 parcels take a twentieth of the time they
    took one feature at a time through ``shape``/``mapping`` and the ``json`` module.
    orjson reads the features exactly: their numbers are the importer's 64-bit integers
    and doubles.
    """
    if target == CRS84:
        return features
    parsed = [orjson.loads(text) for text in features]
    geometries = shapely.from_geojson(
        [orjson.dumps(f["geometry"]) if f.get("geometry") else None for f in parsed]
    )
    written = shapely.to_geojson(_reprojected(geometries, _transformer(CRS84, target)))
    for feature, geometry in zip(parsed, written, strict=True):
        if geometry is not None:
            feature["geometry"] = orjson.Fragment(geometry)
    return [orjson.dumps(f).decode() for f in parsed]


def content_crs(uri: str) -> dict[str, str]:
    """The ``Content-Crs`` response header."""
    return {"Content-Crs": f"<{uri}>"}
