"""The Danube monitor for emergency staff: gauges, alerts with their lifecycle, live events.

``GET /river/gauges`` (level, code, water surface, trend and when it would reach the
next threshold), ``GET /river/alerts`` (open and past), ``GET /river/alerts/{id}``
(with its history), ``POST /river/alerts/{id}/ack``, ``GET /river/stream``
(server-sent events, one per alert event, as also published on MQTT and webhooks) and
``GET /river/flood`` (the area under water at a level, from the terrain model, and what
it floods) and ``GET /river/drone-observations`` (drones' water-surface observations set
against the gauge).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio.to_thread
import orjson
import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.deps import connection
from api.errors import NotFound
from api.params import UtcDateTime, period
from river_monitor import alerts, drone_surface
from river_monitor.config import GaugeConfig, RiverConfig
from river_monitor.town_flood import TownFlood
from river_monitor.trend import trend
from storage.database import connect

router = APIRouter(tags=["river"])

_JSON = "application/json"


def _json(document: object) -> Response:
    return Response(orjson.dumps(document), media_type=_JSON)


def _config(request: Request) -> RiverConfig:
    config: RiverConfig = request.app.state.river
    return config


class Acknowledgement(BaseModel):
    """Who answers for an alert, and what they are doing about it."""

    by: str = Field(min_length=1, max_length=100, description="name or call sign")
    note: str = Field(default="", max_length=2000)


async def _gauge_state(conn: AsyncConnection, gauge: GaugeConfig, hours: float) -> dict[str, Any]:
    rows = await (
        await conn.execute(
            "SELECT time, value FROM readings WHERE device_id = %s AND quantity = %s"
            " AND time > (SELECT max(time) FROM readings WHERE device_id = %s AND quantity = %s)"
            " - %s ORDER BY time",
            (gauge.device_id, gauge.quantity) * 2 + (timedelta(hours=hours),),
        )
    ).fetchall()
    readings = [(t, float(v)) for t, v in rows]
    state: dict[str, Any] = {
        "device_id": gauge.device_id,
        "name": gauge.name,
        "thresholds_cm": {
            "attention": gauge.attention_cm,
            "flood": gauge.flood_cm,
            "danger": gauge.danger_cm,
        },
        "zero_m": gauge.zero_m,
        "illustrative": list(gauge.illustrative),
        "level": None,
        "trend": None,
    }
    if not readings:
        return state
    moment, level = readings[-1]
    code = gauge.thresholds.code(level)
    state["level"] = {
        "time": moment.isoformat(),
        "cm": level,
        "surface_m": round(gauge.surface_m(level), 3),
        "code": code.name.lower(),
    }
    found = trend(readings)
    if found is not None:
        upcoming = found.next_threshold(gauge.thresholds)
        state["trend"] = {
            "kind": "trend, not a forecast",
            "method": "Theil-Sen slope",
            "hours": hours,
            "points": found.points,
            "cm_per_h": round(found.cm_per_h, 2),
            "cm_per_h_90": [round(found.low_cm_per_h, 2), round(found.high_cm_per_h, 2)],
            "next_threshold": None
            if upcoming is None
            else {"code": upcoming[0].name.lower(), "reached_at": upcoming[1].isoformat()},
        }
    return state


@router.get("/river/gauges", responses={200: {"content": {_JSON: {}}}})
async def gauges(
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    hours: Annotated[float, Query(gt=0, le=240, description="trend window")] = 12,
) -> Response:
    """Every watched gauge: thresholds, latest level and code, its trend."""
    config = _config(request)
    return _json({"gauges": [await _gauge_state(conn, g, hours) for g in config.gauges]})


@router.get("/river/alerts", responses={200: {"content": {_JSON: {}}}})
async def list_alerts(
    conn: Annotated[AsyncConnection, Depends(connection)],
    state: Annotated[alerts.Listing, Query(description="open, past (resolved) or all")] = "all",
    gauge: Annotated[str | None, Query(description="a gauge's device id")] = None,
    since: Annotated[UtcDateTime | None, Query(description="open at or after")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Alerts, newest first."""
    found = await alerts.listing(conn, which=state, gauge_id=gauge, since=since, limit=limit)
    return _json({"alerts": found, "count": len(found)})


@router.get("/river/alerts/{alert_id}", responses={200: {"content": {_JSON: {}}}})
async def one_alert(
    alert_id: int, conn: Annotated[AsyncConnection, Depends(connection)]
) -> Response:
    """An alert and its full history."""
    return _json(await alerts.get(conn, alert_id))


@router.post("/river/alerts/{alert_id}/ack", responses={200: {"content": {_JSON: {}}}})
async def acknowledge(
    alert_id: int,
    body: Acknowledgement,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
) -> Response:
    """Answer for an active alert: its reminders and escalation stop, until it worsens."""
    found = await alerts.acknowledge(
        conn, _config(request), alert_id, body.by, body.note, datetime.now(UTC)
    )
    return _json(found)


@router.get("/river/stream", response_class=EventSourceResponse)
async def stream(request: Request) -> AsyncIterator[ServerSentEvent]:
    """Alert events as they happen: ``ready``, then one ``alert`` event per event."""
    url: str = request.app.state.database_url
    async with await AsyncConnection.connect(url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {alerts.EVENTS_CHANNEL}")
        yield ServerSentEvent(event="ready", data={})
        async for note in listener.notifies():
            async with request.app.state.pool.connection() as conn:
                document = await alerts.event_document(conn, int(note.payload))
            if document is not None:
                yield ServerSentEvent(event="alert", id=document["id"], data=document)


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


async def _level(request: Request, gauge: GaugeConfig, level_cm: float | None) -> float:
    """The asked level, or the gauge's latest (no pooled connection is held past this)."""
    if level_cm is not None:
        return level_cm
    async with request.app.state.pool.connection() as conn:
        row = await (
            await conn.execute(
                "SELECT value FROM latest_readings WHERE device_id = %s AND quantity = %s",
                (gauge.device_id, gauge.quantity),
            )
        ).fetchone()
    if row is None:
        raise NotFound(f"gauge {gauge.device_id!r} has no reading yet; give level_cm")
    return float(row[0])


_LEVEL = Query(ge=-1000, le=3000, description="level on the staff gauge; default: the latest")
_GAUGE = Query(description="a watched gauge; default: the first")


@router.get("/river/flood", responses={200: {"content": {"application/geo+json": {}}}})
async def flood(
    request: Request,
    level_cm: Annotated[float | None, _LEVEL] = None,
    gauge: Annotated[str | None, _GAUGE] = None,
) -> Response:
    """The area under water at a level (cells below the water surface connected to the
    river), as GeoJSON in CRS84, with the parcels, buildings, assets, streets and people
    it reaches."""
    watched = _gauge(_config(request), gauge)
    level = await _level(request, watched, level_cm)
    body = await anyio.to_thread.run_sync(_flooded, request, TownFlood.answer, watched, level)
    return Response(body, media_type="application/geo+json")


@router.get("/river/flood/depth.tif", responses={200: {"content": {"image/tiff": {}}}})
async def flood_depth(
    request: Request,
    level_cm: Annotated[float | None, _LEVEL] = None,
    gauge: Annotated[str | None, _GAUGE] = None,
) -> Response:
    """Water depth (m) on the flooded land at a level, a GeoTIFF in the terrain's CRS
    cropped to the flood (nodata where dry)."""
    watched = _gauge(_config(request), gauge)
    level = await _level(request, watched, level_cm)
    body = await anyio.to_thread.run_sync(_flooded, request, TownFlood.depth, watched, level)
    return Response(body, media_type="image/tiff; application=geotiff")


@router.get("/river/drone-observations", responses={200: {"content": {"application/geo+json": {}}}})
async def drone_observations(
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    start: Annotated[UtcDateTime | None, Query(description="default: 24 h before end")] = None,
    end: Annotated[UtcDateTime | None, Query(description="default: now")] = None,
    gauge: Annotated[str | None, _GAUGE] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    """Drones' water-surface observations over ``[start, end)``, each with the gauge's
    surface at that moment, the difference and the distance from the gauge."""
    watched = _gauge(_config(request), gauge)
    start, end = period(start, end)
    document = await drone_surface.compared(conn, watched, start, end, limit)
    return Response(orjson.dumps(document), media_type="application/geo+json")
