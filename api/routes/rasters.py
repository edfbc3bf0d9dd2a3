"""Raster layers: the catalogue, a value at a point, statistics inside a polygon, a
window as GeoTIFF (reprojected on request) and a PNG preview.

Points and polygons are given in CRS84; rasterio reads run in the process's CPU lane
(``api/cpu.py``), with no database connection held meanwhile.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from psycopg import AsyncConnection

from api import cpu, rate_limits
from api import crs as crs_ref
from api.deps import connection
from api.errors import InvalidParameter
from api.ogc import link
from api.openapi import problems
from api.params import four_numbers, wkt_polygon
from gis_layers import rasters

router = APIRouter(tags=["rasters"], responses=problems(503))  # each reads the database

_JSON = "application/json"
_GEOTIFF = "image/tiff; application=geotiff"


def _describe(request: Request, raster: rasters.Raster) -> dict[str, Any]:
    raster_id = raster.raster_id
    return {
        "id": raster_id,
        "title": raster.title,
        "crs": raster.crs,
        "width": raster.width,
        "height": raster.height,
        "bands": raster.bands,
        "dtype": raster.dtype,
        "nodata": raster.nodata,
        "resolution": raster.resolution,
        "bbox": list(raster.bbox),
        "bbox_crs84": list(raster.bbox_crs84),
        "imported_at": raster.imported_at.isoformat(),
        "links": [
            link(request.url_for("raster", raster_id=raster_id), "self", _JSON).model_dump(
                exclude_none=True
            ),
            link(
                request.url_for("raster_preview", raster_id=raster_id), "preview", "image/png"
            ).model_dump(exclude_none=True),
        ],
    }


async def _path(request: Request, raster_id: str) -> str:
    async with request.app.state.pool.connection() as conn:
        return (await rasters.raster(conn, raster_id)).path


@router.get("/rasters")
async def list_rasters(
    request: Request, conn: Annotated[AsyncConnection, Depends(connection)]
) -> dict[str, Any]:
    """Every raster layer of the hub."""
    return {"rasters": [_describe(request, r) for r in await rasters.all_rasters(conn)]}


@router.get("/rasters/{raster_id}", name="raster", responses=problems(404))
async def one_raster(
    raster_id: str, request: Request, conn: Annotated[AsyncConnection, Depends(connection)]
) -> dict[str, Any]:
    """A raster's size, CRS, resolution and extent."""
    return _describe(request, await rasters.raster(conn, raster_id))


@router.get("/rasters/{raster_id}/value", responses=problems(404))
async def raster_value(
    raster_id: str,
    request: Request,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
) -> dict[str, Any]:
    """The band values at a point (null outside the raster or on nodata)."""
    return await cpu.run(request, rasters.value_at, await _path(request, raster_id), lon, lat)


@router.get(
    "/rasters/{raster_id}/stats",
    dependencies=[Depends(rate_limits.heavy)],
    responses=rate_limits.responses(problems(404)),
)
async def raster_stats(
    raster_id: str,
    request: Request,
    within: Annotated[str, Query(description="a WKT (Multi)Polygon in CRS84")],
) -> dict[str, Any]:
    """Minimum, maximum, mean and deviation of band 1 over the cells whose centre lies
    in the polygon, with their area in square metres."""
    area = wkt_polygon(within)
    return await cpu.run(request, rasters.stats_within, await _path(request, raster_id), area)


@router.get(
    "/rasters/{raster_id}/window",
    response_class=Response,
    dependencies=[Depends(rate_limits.heavy)],
    responses=rate_limits.responses({200: {"content": {_GEOTIFF: {}}}, **problems(404)}),
)
async def raster_window(
    raster_id: str,
    request: Request,
    bbox: Annotated[
        str,
        Query(description="minx,miny,maxx,maxy in crs, x first (easting or longitude)"),
    ],
    crs: Annotated[
        str | None,
        Query(description="CRS of bbox and of the result; default the raster's own CRS"),
    ] = None,
) -> Response:
    """The cells inside ``bbox`` as a GeoTIFF, reprojected to ``crs`` if given."""
    values = four_numbers(bbox)
    if values[0] >= values[2] or values[1] >= values[3]:
        raise InvalidParameter("bbox must be minx,miny,maxx,maxy with min < max")
    target = None if crs is None else _epsg(crs_ref.checked(crs, "crs"))
    body = await cpu.run(request, rasters.window, await _path(request, raster_id), values, target)
    return Response(body, media_type=_GEOTIFF)


def _epsg(uri: str) -> str:
    """A CRS URI of the API as rasterio reads it (rasters use x = easting/longitude)."""
    return "OGC:CRS84" if uri.endswith("/CRS84") else f"EPSG:{uri.rsplit('/', 1)[1]}"


@router.get(
    "/rasters/{raster_id}/preview.png",
    name="raster_preview",
    response_class=Response,
    dependencies=[Depends(rate_limits.heavy)],
    responses=rate_limits.responses({200: {"content": {"image/png": {}}}, **problems(404)}),
)
async def raster_preview(
    raster_id: str,
    request: Request,
    width: Annotated[int, Query(ge=16, le=rasters.PREVIEW_MAX_PX)] = 512,
) -> Response:
    """A colour-ramped preview of band 1; nodata transparent."""
    path = await _path(request, raster_id)
    body = await cpu.run_apart(request, rasters.preview_png, path, width)
    return Response(body, media_type="image/png")
