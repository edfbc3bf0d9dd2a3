"""``GET /parking/nearest``: the lots nearest a point with enough free places, by street.

The origin is a point (``lon``, ``lat``), an address point (``address``, where the town
has an ``addresses`` layer) or an asset (``asset``, which needs a signed-in caller: the
twin's assets are internal). The answer is a GeoJSON FeatureCollection of the ways to the
lots, nearest first (:mod:`parking.nearest`). Anyone may ask where the street layer is
public, as the streets themselves are (:data:`auth.policy.LAYER`).

Free places come from :func:`free_places_from_latest_readings`, an adapter over the
latest lot-counter and bay readings kept here until the parking state module exists;
the search itself takes any sequence of :class:`parking.nearest.Lot`.
"""

from __future__ import annotations

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
from parking import nearest, origins
from parking.nearest import Built, Lot, StreetGraphs
from storage.database import connect

router = APIRouter(tags=["parking"], responses=problems(503))  # it reads the database

GEOJSON = "application/geo+json"
MAX_LOTS = 50
"""The most lots one answer holds (``limit``)."""
MAX_FREE = 100_000
"""A ``min_free`` above any lot's capacity: larger values are typing errors."""


_LOTS = """
SELECT a.asset_id, a.name, a.lon, a.lat,
       CASE WHEN jsonb_typeof(a.properties->'capacity') = 'number'
            THEN (a.properties->>'capacity')::float8 END,
       bays.reported, bays.occupied, counter.value
FROM assets a
LEFT JOIN LATERAL (
    SELECT count(*) AS reported, count(*) FILTER (WHERE r.value >= 0.5) AS occupied
    FROM devices d
    JOIN latest_readings r ON r.device_id = d.device_id AND r.quantity = 'occupied'
    WHERE d.asset_id = a.asset_id AND d.kind = 'parking_bay'
) bays ON true
LEFT JOIN LATERAL (
    SELECT r.value
    FROM devices d
    JOIN latest_readings r ON r.device_id = d.device_id AND r.quantity = 'occupied_spaces'
    WHERE d.asset_id = a.asset_id AND d.kind = 'parking_counter'
    ORDER BY r.time DESC LIMIT 1
) counter ON true
WHERE a.kind = 'parking_lot'
ORDER BY a.asset_id
"""


async def free_places_from_latest_readings(conn: AsyncConnection) -> list[Lot]:
    """Every parking lot of the twin with its free places, from the latest readings.

    A stand-in for the parking state module (live state per lot, with operator
    overrides, reconciliation of counters and bays, data age): when that module is
    merged, this adapter is replaced by a call to it mapped onto :class:`Lot`, and the
    search does not change. Here, a lot's occupied places are its bays reporting
    ``occupied`` (bays that have not reported count as free), else its counter's
    ``occupied_spaces``; free is its ``capacity`` less those, never below zero, and
    unknown without a capacity or any reading."""
    rows = await (await conn.execute(_LOTS)).fetchall()
    lots = []
    for asset_id, name, lon, lat, capacity, reported, occupied_bays, counted in rows:
        occupied = occupied_bays if reported else counted
        free = None
        if capacity is not None and occupied is not None:
            free = max(0, round(capacity) - round(occupied))
        lots.append(
            Lot(
                lot_id=asset_id,
                name=name,
                lon=lon,
                lat=lat,
                free=free,
                capacity=None if capacity is None else round(capacity),
            )
        )
    return lots


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
        lots = await free_places_from_latest_readings(conn)
    graphs: StreetGraphs = request.app.state.street_graphs
    built = graphs.memoised(current)
    if built is None:  # a new street layer: its network is built once, in a thread
        built = await anyio.to_thread.run_sync(_built, request)
    document = nearest.nearest(origin, lots, built, min_free=min_free, limit=limit)
    return Response(orjson.dumps(document), media_type=GEOJSON)
