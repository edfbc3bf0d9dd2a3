"""The digital twin: assets with their parcel, zone, sensors and state; spatial questions;
history playback.

``GET /twin/assets`` (filters: ``kind``, ``zone``, ``within`` a polygon, ``near`` a
point with ``distance`` in metres or the ``nearest`` N), ``GET /twin/assets/{id}``,
``GET /twin/snapshot?at=`` (every asset's state at a moment, default now),
``GET /twin/zones?start=&end=`` (per-zone summaries over a period) and
``GET /twin/stream``: server-sent events, one per asset whose state a committed reading
changed. The ingest writer notifies PostgreSQL channel ``readings_changed`` in the
batch's own transaction, so an event follows the commit by one notification and one
query, not a polling interval. The snapshot and the list of assets (without a moment or
a spatial question) come from the same live twin, in each API process, made once and
reused while fresh (:mod:`api.live_answers`: readings within a second, an operator's
change at once).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from weakref import WeakKeyDictionary

import anyio.to_thread
import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from psycopg import AsyncConnection

from api import cpu, live_answers, rate_limits
from api.deps import connection
from api.errors import InvalidParameter, NotFound, Unavailable
from api.etags import NOT_MODIFIED
from api.openapi import problems
from api.params import UtcDateTime, period, wkt_polygon
from api.refreshed import Refreshed
from twin import state, zones
from twin.live import LiveTwin, compact

router = APIRouter(tags=["twin"], responses=problems(503))  # each reads the database

_JSON = "application/json"
LIVE_WAIT_S = 5.0
_AT_HELP = "a past moment (RFC 3339 with offset) to play back; default now"


def _json(document: object) -> Response:
    return Response(orjson.dumps(document), media_type=_JSON)


def _prefixes(request: Request) -> dict[str, str]:
    """Each place's feature URL less its id. One url_for per layer, not per asset: it
    walks the routes (2,500 parking lots took 300 ms of the event loop that way)."""
    return {
        key: str(request.url_for("feature", collectionId=layer, feature_id="0"))[:-1]
        for key, layer in (("parcel", "parcels"), ("zone", "zones"))
    }


def _linked(asset: dict[str, Any], prefixes: dict[str, str]) -> dict[str, Any]:
    """The asset with links to its parcel and zone features (a new document: the live
    twin's are shared)."""
    return asset | {
        key: {**place, "href": f"{prefix}{place['feature_id']}"}
        for key, prefix in prefixes.items()
        if (place := asset.get(key))
    }


_encoded: WeakKeyDictionary[LiveTwin, dict[str, tuple[dict[str, Any], str, bytes]]]
_encoded = WeakKeyDictionary()
"""Each live twin's linked documents as JSON, with the document and links they were
made from: the twin replaces a document when its asset changes, so an answer of 2,500
parking lots serialises only the lots that changed (all of them took 40-60 ms)."""


def _live_documents(request: Request, live: LiveTwin, assets: list[dict[str, Any]]) -> bytes:
    """``{"assets": [...], "count": n}`` of the live twin's documents, linked."""
    prefixes = _prefixes(request)
    key = "|".join(prefixes.values())
    held = _encoded.setdefault(live, {})
    parts = []
    for asset in assets:
        found = held.get(asset["asset_id"])
        if found is None or found[0] is not asset or found[1] != key:
            found = held[asset["asset_id"]] = (asset, key, orjson.dumps(_linked(asset, prefixes)))
        parts.append(found[2])
    return b'{"assets":[' + b",".join(parts) + b'],"count":' + str(len(parts)).encode() + b"}"


def _snapshot_body(at: datetime, assets: bytes) -> bytes:
    return b'{"at":' + orjson.dumps(at.isoformat()) + b',"assets":' + assets + b"}"


def _snapshot_now(live: LiveTwin) -> bytes:
    """The snapshot now: its moment is when the states were taken."""
    return _snapshot_body(datetime.now(UTC), live.snapshot())


def _near(raw: str | None, distance: float | None, nearest: int | None) -> state.Near | None:
    if raw is None:
        if distance is not None or nearest is not None:
            raise InvalidParameter("distance and nearest need near=lon,lat")
        return None
    try:
        lon, lat = (float(v) for v in raw.split(","))
    except ValueError:
        raise InvalidParameter(f"near must be lon,lat in CRS84, got {raw!r}") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidParameter(f"near {raw!r} is outside lon -180..180, lat -90..90")
    return state.Near(lon, lat, distance, nearest)


@router.get("/twin/assets", responses={200: {"content": {_JSON: {}}}, **NOT_MODIFIED})
async def list_assets(
    request: Request,
    kind: Annotated[str | None, Query(description="asset kind, e.g. school")] = None,
    zone: Annotated[str | None, Query(description="urbanism zone code")] = None,
    within: Annotated[str | None, Query(description="a WKT (Multi)Polygon in CRS84")] = None,
    near: Annotated[str | None, Query(description="lon,lat in CRS84")] = None,
    distance: Annotated[
        float | None, Query(gt=0, le=100_000, description="metres from near")
    ] = None,
    nearest: Annotated[int | None, Query(ge=1, le=10_000, description="the N nearest")] = None,
    at: Annotated[UtcDateTime | None, Query(description=_AT_HELP)] = None,
) -> Response:
    """Assets answering the question, nearest first when ``near`` is given."""
    point = _near(near, distance, nearest)
    area = None if within is None else wkt_polygon(within)
    if at is None and area is None and point is None and (live := await _live(request)) is not None:
        # the live twin's documents: 2,500 parking lots read and assembled from the
        # database took 200-450 ms of the event loop, their filtering takes one
        # made once and reused while fresh (api.live_answers): the links are absolute
        return await live_answers.of(request).respond(
            request,
            live,
            ("assets", kind, zone, str(request.base_url)),
            lambda: _live_documents(request, live, live.documents(kind=kind, zone=zone)),
        )
    distances: dict[str, float | None] | None = None
    ids = None
    async with request.app.state.pool.connection() as conn:
        if area is not None or point is not None:
            found = await state.located(conn, area, point)
            distances = dict(found)
            ids = list(distances)
        result = await state.assets(conn, at=at, asset_ids=ids, kind=kind, zone=zone)
    if distances is not None:
        order = {asset_id: k for k, asset_id in enumerate(distances)}
        result.sort(key=lambda a: order[a["asset_id"]])
        if point is not None:
            for asset in result:
                asset["distance_m"] = distances[asset["asset_id"]]
    prefixes = _prefixes(request)
    return _json({"assets": [_linked(a, prefixes) for a in result], "count": len(result)})


@router.get("/twin/assets/{asset_id}", responses={200: {"content": {_JSON: {}}}, **problems(404)})
async def one_asset(
    asset_id: str,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    at: Annotated[UtcDateTime | None, Query(description=_AT_HELP)] = None,
) -> Response:
    """The asset, its sensors and their latest values, its parcel and zone, its status."""
    found = await state.assets(conn, at=at, asset_ids=[asset_id])
    if not found:
        raise NotFound(f"no asset {asset_id!r}; see /twin/assets")
    return _json(_linked(found[0], _prefixes(request)))


async def _live(request: Request) -> LiveTwin | None:
    """The API's live twin once it has loaded (a few seconds at most), else None."""
    live: LiveTwin = request.app.state.live_twin
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(live.ready.wait(), LIVE_WAIT_S)
    return live if live.ready.is_set() else None


@router.get("/twin/stream", response_class=EventSourceResponse)
async def stream(request: Request) -> AsyncIterator[ServerSentEvent]:
    """Live asset states: a ``ready`` event, then an ``asset`` event (the snapshot entry)
    whenever a committed reading changes an asset's status or values."""
    live = await _live(request)
    if live is None:
        raise Unavailable("the live twin cannot reach the database; retry shortly")
    queue = live.subscribe()
    try:
        yield ServerSentEvent(event="ready", data={"assets": len(live)})
        while (entry := await queue.get()) is not None:
            yield ServerSentEvent(event="asset", id=entry["asset_id"], data=entry)
    finally:
        live.unsubscribe(queue)


@router.get(
    "/twin/snapshot",
    responses=rate_limits.responses({200: {"content": {_JSON: {}}}, **NOT_MODIFIED}),
)
async def snapshot(
    request: Request,
    at: Annotated[UtcDateTime | None, Query(description=_AT_HELP)] = None,
) -> Response:
    """Every asset's state at a moment: status and the values it was derived from."""
    now = datetime.now(UTC)
    if at is not None and at > now:
        raise InvalidParameter(f"at {at.isoformat()} is in the future")
    if at is not None:
        await rate_limits.charge(request)
    pool = request.app.state.pool  # no connection held here: values_at takes its own
    if (live := await _live(request)) is not None:
        if at is None:  # made once and reused while fresh (api.live_answers)
            return await live_answers.of(request).respond(
                request, live, ("snapshot",), lambda: _snapshot_now(live), dated=True
            )
        # 13,000 index probes and tens of milliseconds of CPU: a heavy request
        async with cpu.heavy(request):
            values = await state.values_at(pool, at)
            assets = await anyio.to_thread.run_sync(live.snapshot, values)
        return Response(_snapshot_body(at, assets), media_type=_JSON)
    async with pool.connection() as conn:
        found = await state.assets(conn, at=at)
    return _json({"at": (at or now).isoformat(), "assets": [compact(a) for a in found]})


ZONES_FRESH_S = 60.0
"""How old the default summaries (the last 24 hours) may get before they are remade.
Aggregating a day of every sensor's readings costs PostgreSQL more as the day fills: at
5,000 readings/s (the load benchmark) a day holds 432 million; with 19 million, the
aggregate took 4.1 s with two parallel workers, once per period and per API process,
which is what remaking it every 10 s cost the light routes' latency as the benchmark's
day filled. A day's means move little in a minute. (Rollups, issue 14, will make this
cheap.)"""


@router.get("/twin/zones", responses=rate_limits.responses({200: {"content": {_JSON: {}}}}))
async def zone_summaries(
    request: Request,
    start: Annotated[UtcDateTime | None, Query(description="default: 24 h before end")] = None,
    end: Annotated[UtcDateTime | None, Query(description="default: now")] = None,
) -> Response:
    """Per urbanism zone (every zone, with zeros where it has no assets): assets by kind,
    sensors, parking capacity and mean occupancy, and air quality over ``[start, end)``
    (by default the last 24 hours, as of at most a minute ago: the default summaries are
    remade in the background once ``ZONES_FRESH_S`` old); ``outside_zones`` summarises the
    assets in no zone."""
    if start is not None or end is not None:
        await rate_limits.charge(request)
        body = await _zones(request, start, end)
    else:
        recent: Refreshed = request.app.state.recent_zones
        body = await recent.get(lambda: _zones(request, None, None))
    return Response(body, media_type=_JSON)


async def _zones(request: Request, start: datetime | None, end: datetime | None) -> bytes:
    start, end = period(start, end)
    async with request.app.state.pool.connection() as conn:
        found, outside = await zones.summaries(conn, start, end)
    return orjson.dumps(
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "zones": found,
            "outside_zones": outside,
        }
    )
