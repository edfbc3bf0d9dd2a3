"""OGC API - Features Part 2 (CRS by reference): the CRSs served and the reprojection.

Features are stored in CRS84 (longitude, latitude); a request may ask for another of
:data:`SUPPORTED` with ``crs`` and give its ``bbox`` in one with ``bbox-crs``. Output
coordinates follow the axis order the CRS defines, as Part 2 requires: EPSG:4326 is
latitude first, Stereo 70 (EPSG:3844) is northing first in the EPSG registry but GIS
software (and GDAL's OAPIF driver) exchange it easting first, so projected CRSs are
served easting, northing, as ``always_xy`` does.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import mapping, shape

from api.errors import InvalidParameter
from api.ogc import CRS84

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
SUPPORTED = [CRS84, f"{EPSG}4326", f"{EPSG}3844", f"{EPSG}3857"]
_LAT_FIRST = {f"{EPSG}4326"}


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

    return Transformer.from_crs(crs(source), crs(target), always_xy=True)


def bbox_to_crs84(values: list[float], bbox_crs: str) -> list[float]:
    """A bbox given in ``bbox_crs`` as a CRS84 bbox (lon/lat) covering it."""
    if bbox_crs == CRS84:
        return values
    minx, miny, maxx, maxy = values
    if bbox_crs in _LAT_FIRST:
        minx, miny, maxx, maxy = miny, minx, maxy, maxx
    return list(_transformer(bbox_crs, CRS84).transform_bounds(minx, miny, maxx, maxy))


def reproject_features(features: list[str], target: str) -> list[str]:
    """GeoJSON features (serialised, CRS84) with their geometry in ``target``."""
    if target == CRS84:
        return features
    transformer = _transformer(CRS84, target)
    out = []
    for text in features:
        feature = json.loads(text)
        if feature.get("geometry"):
            geometry = shapely.transform(
                shape(feature["geometry"]),
                lambda xy: _project(xy, transformer, target in _LAT_FIRST),
            )
            feature["geometry"] = mapping(geometry)
        out.append(json.dumps(feature))
    return out


def _project(xy: Any, transformer: Transformer, lat_first: bool) -> Any:
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack((y, x) if lat_first else (x, y))


def content_crs(uri: str) -> dict[str, str]:
    """The ``Content-Crs`` response header."""
    return {"Content-Crs": f"<{uri}>"}
