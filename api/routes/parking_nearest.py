"""``GET /parking/nearest``: the lots nearest a point with enough free places, by street.

The origin is a point (``lon``, ``lat``), an address point (``address``, where the town
has an ``addresses`` layer) or an asset (``asset``, which needs a signed-in caller: the
twin's assets are internal). The answer is a GeoJSON FeatureCollection of the ways to the
lots, nearest first (:mod:`parking.nearest`). Anyone may ask where the street layer is
public, as the streets themselves are (:data:`auth.policy.LAYER`).

Free places come from the parking state (:func:`lots_with_free_places`); the search
itself takes any sequence of :class:`parking.nearest.Lot`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import anyio.to_thread
import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from psycopg import AsyncConnection

from api import security
from api.deps import readable
from api.errors import InvalidParameter
from api.openapi import problems
from auth.policy import SIGNED_IN
from gis_layers import catalogue
from gis_layers.errors import LayerNotFound
from parking import nearest, origins, store
from parking.model import LotStatus
from parking.nearest import Built, Lot, StreetGraphs
from storage.database import connect

router = APIRouter(tags=["parking"], responses=problems(503))  # it reads the database

GEOJSON = "application/geo+json"
MAX_LOTS = 50
"""The most lots one answer holds (``limit``)."""
MAX_FREE = 100_000
"""A ``min_free`` above any lot's capacity: larger values are typing errors."""


async def lots_with_free_places(conn: AsyncConnection) -> list[Lot]:
    """Every parking lot with its free places now, from the parking state
    (:func:`parking.store.lots`: counters and bays reconciled, operators' decisions
    applied). A closed lot has no free places, whatever its sensors say; a lot whose
    occupancy is unknown qualifies only for ``min_free`` 0."""
    found = await store.lots(conn, datetime.now(UTC))
    return [
        Lot(
            lot_id=lot.state.lot_id,
            name=lot.state.name,
            lon=lot.lon,
            lat=lot.lat,
            free=0 if lot.state.status is LotStatus.CLOSED else lot.state.free,
            capacity=lot.state.capacity,
        )
        for lot in found
    ]


def _built(request: Request) -> Built:
    """The process's street network, built on a connection of its own (in a thread)."""
    graphs: StreetGraphs = request.app.state.street_graphs
    with connect(request.app.state.database_url, autocommit=True) as conn:
        return graphs.built(conn)


async def _origin(
    conn: AsyncConnection,
    request: Request,
    lon: float | None,
    lat: float | None,
    address: str | None,
    asset: str | None,
) -> tuple[float, float]:
    """The one origin the request gives, as (lon, lat)."""
    given = [
        name
        for name, present in (
            ("lon/lat", lon is not None or lat is not None),
            ("address", address is not None),
            ("asset", asset is not None),
        )
        if present
    ]
    if len(given) != 1:
        raise InvalidParameter(
            "give one origin: lon and lat, or address, or asset"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if asset is not None:
        security.check(SIGNED_IN, security.principal(request), "an asset as origin")
        return await origins.asset_origin(conn, asset)
    if address is not None:
        return await origins.address_origin(conn, address)
    if lon is None or lat is None:
        raise InvalidParameter("lon and lat go together: give both")
    return lon, lat


@router.get(
    "/parking/nearest",
    responses={200: {"content": {GEOJSON: {}}}, **problems(400, 404, 409)},
)
async def nearest_lots(
    request: Request,
    lon: Annotated[
        float | None, Query(ge=-180, le=180, description="origin longitude (CRS84)")
    ] = None,
    lat: Annotated[
        float | None, Query(ge=-90, le=90, description="origin latitude (CRS84)")
    ] = None,
    address: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="origin: an address point's address"),
    ] = None,
    asset: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="origin: an asset's id (signed in)"),
    ] = None,
    min_free: Annotated[
        int, Query(ge=0, le=MAX_FREE, description="free places a lot must have at least")
    ] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LOTS, description="lots in the answer")] = 5,
) -> Response:
    """The ``limit`` lots nearest the origin with at least ``min_free`` free places, by
    distance along the streets (straight-line where the town has no street layer, as
    ``method`` says), each with the way there as a line and its metres."""
    async with request.app.state.pool.connection() as conn:
        try:
            streets = await catalogue.layer(conn, nearest.STREETS_LAYER)
        except LayerNotFound:
            current = None
        else:
            readable(streets, request)
            current = streets.imported_at
        origin = await _origin(conn, request, lon, lat, address, asset)
        lots = await lots_with_free_places(conn)
    graphs: StreetGraphs = request.app.state.street_graphs
    built = graphs.memoised(current)
    if built is None:  # a new street layer: its network is built once, in a thread
        built = await anyio.to_thread.run_sync(_built, request)
    document = nearest.nearest(origin, lots, built, min_free=min_free, limit=limit)
    return Response(orjson.dumps(document), media_type=GEOJSON)
