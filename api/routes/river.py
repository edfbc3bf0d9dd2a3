"""The Danube monitor for emergency staff: gauges, alerts with their lifecycle, live events.

``GET /river/gauges`` (level, code, water surface, trend and when it would reach the
next threshold), ``GET /river/alerts`` (open and past), ``GET /river/alerts/{id}``
(with its history), ``POST /river/alerts/{id}/ack``, ``GET /river/stream``
(server-sent events, one per alert event, as also published on MQTT and webhooks) and
``GET /river/flood`` (the area under water at a level, from the terrain model, and what
it floods) and ``GET /river/drone-observations`` (drones' water-surface observations set
against the gauge). The alerts are the river domain's in the alert engine (:mod:`alerts`);
the SQL lives there and in :mod:`river_monitor.levels`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

import anyio.to_thread
import orjson
import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from psycopg import AsyncConnection

from alerts import store
from alerts.model import AlertSource, Listing
from api import alert_routes, rate_limits
from api.deps import connection
from api.errors import NotFound
from api.openapi import problems
from api.params import UtcDateTime, period
from river_monitor import drone_surface, levels, town_flood
from river_monitor.config import GaugeConfig, RiverConfig
from river_monitor.town_flood import TownFlood
from storage.database import connect

router = APIRouter(tags=["river"], responses=problems(503))  # each reads the database

_JSON = "application/json"
MAX_ALERTS = 1000
"""The most alerts one listing holds (``limit``), which bounds the answer's size; earlier
ones are asked for with ``since``."""
MAX_OBSERVATIONS = 10_000
"""The most drone observations one answer holds (``limit``), which bounds the answer's
size (one GeoJSON feature each); longer spans come by periods (``start``, ``end``)."""


def _json(document: object) -> Response:
    return Response(orjson.dumps(document), media_type=_JSON)


def _config(request: Request) -> RiverConfig:
    config: RiverConfig = request.app.state.river
    return config


def _alerts(request: Request) -> AlertSource:
    return _config(request).alert_source


@router.get("/river/gauges", responses={200: {"content": {_JSON: {}}}})
async def gauges(
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    hours: Annotated[float, Query(gt=0, le=240, description="trend window")] = 12,
) -> Response:
    """Every watched gauge: thresholds, latest level and code, its trend."""
    config = _config(request)
    return _json({"gauges": [await levels.gauge_state(conn, g, hours) for g in config.gauges]})


@router.get("/river/alerts", responses={200: {"content": {_JSON: {}}}})
async def list_alerts(
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    state: Annotated[Listing, Query(description="open, past (resolved) or all")] = "all",
    gauge: Annotated[str | None, Query(description="a gauge's device id")] = None,
    since: Annotated[UtcDateTime | None, Query(description="open at or after")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ALERTS)] = 100,
) -> Response:
    """Alerts, newest first."""
    found = await store.listing(
        conn, _alerts(request), which=state, subject_id=gauge, since=since, limit=limit
    )
    return _json({"alerts": found, "count": len(found)})


@router.get("/river/alerts/{alert_id}", responses={200: {"content": {_JSON: {}}}, **problems(404)})
async def one_alert(
    alert_id: int, request: Request, conn: Annotated[AsyncConnection, Depends(connection)]
) -> Response:
    """An alert and its full history."""
    return _json(await store.get(conn, _alerts(request), alert_id))


@router.post(
    "/river/alerts/{alert_id}/ack",
    responses={200: {"content": {_JSON: {}}}, **problems(404, 409)},
)
async def acknowledge(
    alert_id: int,
    body: alert_routes.Acknowledgement,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
) -> Response:
    """Answer for an active alert as the signed-in user: its reminders and escalation
    stop, until it worsens."""
    return _json(await alert_routes.acknowledge(request, conn, _alerts(request), alert_id, body))


@router.get("/river/stream", response_class=EventSourceResponse)
async def stream(request: Request) -> AsyncIterator[ServerSentEvent]:
    """Alert events as they happen: ``ready``, then one ``alert`` event per event. The
    stream ends if it falls behind (its page reconnects)."""
    async for event in alert_routes.events(request, _alerts(request)):
        yield event


def _gauge(config: RiverConfig, device_id: str | None) -> GaugeConfig:
    if device_id is None:
        return config.gauges[0]
    gauge = config.gauge(device_id)
    if gauge is None:
        watched = ", ".join(g.device_id for g in config.gauges)
        raise NotFound(f"gauge {device_id!r} is not watched (watched: {watched})")
    return gauge


def _flooded(
    request: Request,
    make: Callable[[TownFlood, psycopg.Connection, GaugeConfig, float], bytes | None],
    gauge: GaugeConfig,
    level_cm: float,
) -> bytes:
    """``make`` of the process's flood model at a level, on a connection of its own (in a
    thread: the model's lock lets one extent be computed at a time, and a level already
    asked is answered from its memo)."""
    with connect(request.app.state.database_url, autocommit=True) as conn:
        found = make(request.app.state.flood, conn, gauge, level_cm)
    if found is None:
        raise NotFound(f"nothing is flooded at {level_cm:g} cm on {gauge.device_id}")
    return found


async def _level(conn: AsyncConnection, gauge: GaugeConfig, level_cm: float | None) -> float:
    """The asked level, or the gauge's latest."""
    if level_cm is not None:
        return level_cm
    latest = await levels.latest(conn, gauge)
    if latest is None:
        raise NotFound(f"gauge {gauge.device_id!r} has no reading yet; give level_cm")
    return latest


async def _new_level(request: Request) -> None:
    """Charge a flood computation (about 100 ms of CPU) to the client and the process."""
    limits: rate_limits.RateLimits = request.app.state.rate_limits
    await rate_limits.charge(
        request, limits.heavy, limits.flood_levels, limits.flood_levels_process
    )


_LEVEL = Query(ge=-1000, le=3000, description="level on the staff gauge; default: the latest")
_GAUGE = Query(description="a watched gauge; default: the first")


@router.get(
    "/river/flood",
    responses=rate_limits.responses(
        {200: {"content": {"application/geo+json": {}}}, **problems(404)}
    ),
)
async def flood(
    request: Request,
    level_cm: Annotated[float | None, _LEVEL] = None,
    gauge: Annotated[str | None, _GAUGE] = None,
) -> Response:
    """The area under water at a level (cells below the water surface connected to the
    river), as GeoJSON in CRS84, with the parcels, buildings, assets, streets and people
    it reaches."""
    watched = _gauge(_config(request), gauge)
    async with request.app.state.pool.connection() as conn:
        level = await _level(conn, watched, level_cm)
        current = await town_flood.current_version(conn)
    body = request.app.state.flood.memoised(current, watched, level)
    if body is None:  # a level not asked yet, or new sources: made in a thread
        await _new_level(request)
        body = await anyio.to_thread.run_sync(_flooded, request, TownFlood.answer, watched, level)
    return Response(body, media_type="application/geo+json")


@router.get(
    "/river/flood/depth.tif",
    responses=rate_limits.responses({200: {"content": {"image/tiff": {}}}, **problems(404)}),
)
async def flood_depth(
    request: Request,
    level_cm: Annotated[float | None, _LEVEL] = None,
    gauge: Annotated[str | None, _GAUGE] = None,
) -> Response:
    """Water depth (m) on the flooded land at a level, a GeoTIFF in the terrain's CRS
    cropped to the flood (nodata where dry)."""
    watched = _gauge(_config(request), gauge)
    async with request.app.state.pool.connection() as conn:
        level = await _level(conn, watched, level_cm)
    await _new_level(request)  # depths are not memoised
    body = await anyio.to_thread.run_sync(_flooded, request, TownFlood.depth, watched, level)
    return Response(body, media_type="image/tiff; application=geotiff")


@router.get(
    "/river/drone-observations",
    responses={200: {"content": {"application/geo+json": {}}}, **problems(404)},
)
async def drone_observations(
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    start: Annotated[UtcDateTime | None, Query(description="default: 24 h before end")] = None,
    end: Annotated[UtcDateTime | None, Query(description="default: now")] = None,
    gauge: Annotated[str | None, _GAUGE] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_OBSERVATIONS)] = 1000,
) -> Response:
    """Drones' water-surface observations over ``[start, end)``, each with the gauge's
    surface at that moment, the difference and the distance from the gauge."""
    watched = _gauge(_config(request), gauge)
    start, end = period(start, end)
    document = await drone_surface.compared(conn, watched, start, end, limit)
    return Response(orjson.dumps(document), media_type="application/geo+json")
