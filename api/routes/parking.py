"""Parking: live occupancy per lot, bay and zone, and the operators' actions.

``GET /parking/lots`` (public: aggregated occupancy is open data), ``GET
/parking/lots/{lot_id}`` (signed-in: with its bays and recent actions), ``GET
/parking/zones`` (public: by urbanism zone and paid parking zone). Actions need the
``parking_operator`` role, answer the lot's new state and are logged twice: the audit
trail records the call, the lot's history its values (:mod:`parking.store`). The live
layers ``parking_lots`` and ``parking_bays`` are served under ``/collections``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from api import live_answers, security
from api.deps import connection
from api.errors import InvalidParameter
from api.openapi import problems
from api.params import UtcDateTime, period
from parking import occupancy, store, turnover, zones
from parking.live import LiveLots

router = APIRouter(tags=["parking"], responses=problems(503))  # each reads the database

_JSON = "application/json"
_REASON_HELP = "why, for the lot's history (shown to the public with a closure)"
_UNTIL_HELP = "RFC 3339 with offset; none: until undone"


def _json(document: object) -> Response:
    return Response(orjson.dumps(document), media_type=_JSON)


async def _live(request: Request, conn: AsyncConnection) -> LiveLots | None:
    """The process's live lots, caught up with the operators' latest actions; None
    while they are not ready (the database is read instead)."""
    live: LiveLots = request.app.state.live_lots
    return live if await live.current(conn) else None


class _Body(BaseModel):
    # a field an action does not know (a licence plate, say) is refused, not dropped
    model_config = ConfigDict(extra="forbid")


class Closing(_Body):
    """Close a lot: why, and until when."""

    reason: str = Field(max_length=store.MAX_REASON, description=_REASON_HELP)
    until: datetime | None = Field(None, description=_UNTIL_HELP)


class Reopening(_Body):
    """Reopen a closed lot."""

    reason: str | None = Field(None, max_length=store.MAX_REASON, description=_REASON_HELP)


class CapacityChange(_Body):
    """A lot's capacity (null: back to its layer's)."""

    capacity: int | None = Field(description="places, at least 1; null: the layer's")
    reason: str = Field(max_length=store.MAX_REASON, description=_REASON_HELP)


class CounterCorrection(_Body):
    """How many places are occupied now, counted by the operator."""

    occupied: int = Field(description="occupied places now, 0..capacity")
    reason: str = Field(max_length=store.MAX_REASON, description=_REASON_HELP)


class OutOfService(_Body):
    """Take a bay out of service."""

    reason: str = Field(max_length=store.MAX_REASON, description=_REASON_HELP)
    until: datetime | None = Field(None, description=_UNTIL_HELP)


class InService(_Body):
    """Put a bay back in service."""

    reason: str | None = Field(None, max_length=store.MAX_REASON, description=_REASON_HELP)


def _by(request: Request) -> str | None:
    caller = security.principal(request)
    return None if caller is None else caller.subject


@router.get("/parking/lots", responses={200: {"content": {_JSON: {}}}})
async def lots(request: Request, conn: Annotated[AsyncConnection, Depends(connection)]) -> Response:
    """Every lot's live state: capacity, occupied, free, status (open, closed, full,
    sensor_fault, unknown), source (bays, counter, both), data age and flags."""
    live = await _live(request, conn)
    if live is None:
        now = datetime.now(UTC)
        return _json(_lots_document(now, [x.document() for x in await store.lots(conn, now)]))
    held = live

    def make() -> bytes:
        now = datetime.now(UTC)
        return orjson.dumps(_lots_document(now, held.documents(now)))

    # every lot's state, made once and reused for a moment (api.live_answers)
    return await live_answers.of(request).respond(
        request, live, ("parking lots",), make, dated=True
    )


def _lots_document(now: datetime, documents: list[dict[str, Any]]) -> dict[str, Any]:
    return {"as_of": now.isoformat(), "lots": documents, "count": len(documents)}


@router.get("/parking/lots/{lot_id}", responses={200: {"content": {_JSON: {}}}, **problems(404)})
async def one_lot(
    lot_id: str, request: Request, conn: Annotated[AsyncConnection, Depends(connection)]
) -> Response:
    """A lot's live state with each bay (state, since when, last heard) and the
    operators' latest actions."""
    live = await _live(request, conn)
    now = datetime.now(UTC)
    held = None if live is None else live.held(lot_id)
    if held is not None:  # when each bay's state began is read apart: it is not held
        since = await store.bays_since(conn, [b.device_id for b in held.input.bays], now)
        found = replace(held, input=occupancy.with_since(held.input, since)).at(now)
    else:
        found = await store.lot(conn, lot_id, now)
    actions = await store.recent_actions(conn, lot_id)
    return _json({"as_of": now.isoformat()} | found.document(with_bays=True) | {"actions": actions})


TURNOVER_MAX = timedelta(days=31)
"""The longest period turnover is computed over from raw bay events."""


@router.get(
    "/parking/lots/{lot_id}/turnover",
    responses={200: {"content": {_JSON: {}}}, **problems(400, 404)},
)
async def lot_turnover(
    lot_id: str,
    conn: Annotated[AsyncConnection, Depends(connection)],
    start: Annotated[UtcDateTime | None, Query(description="default: 24 h before end")] = None,
    end: Annotated[UtcDateTime | None, Query(description="default: now")] = None,
) -> Response:
    """Arrivals per bay per day and dwell times (median, 90th percentile, minutes) of
    the lot and of each bay over ``[start, end)`` (at most 31 days), from bay events."""
    start, end = period(start, end)
    if end - start > TURNOVER_MAX:
        raise InvalidParameter(f"the period is longer than {TURNOVER_MAX.days} days")
    readings, before = await store.bay_events(conn, lot_id, start, end)
    bays = turnover.by_bay(readings, before, start, end)
    return _json(
        {
            "lot_id": lot_id,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "lot": turnover.turnover(bays, start, end).document(),
            "bays": [
                {"bay_id": b.bay_id} | turnover.turnover([b], start, end).document() for b in bays
            ],
        }
    )


@router.get("/parking/zones", responses={200: {"content": {_JSON: {}}}})
async def parking_zones(
    request: Request, conn: Annotated[AsyncConnection, Depends(connection)]
) -> Response:
    """Live totals by urbanism zone and by paid parking zone (``paid_zones`` is null
    when the town has no layer of them)."""
    live = await _live(request, conn)
    if live is None:
        now = datetime.now(UTC)
        return _json(await _zones_document(conn, now, await store.lots(conn, now)))
    held = live

    async def make() -> bytes:
        now = datetime.now(UTC)
        return orjson.dumps(await _zones_document(conn, now, held.lots(now)))

    # the totals of every lot's state, made once and reused for a moment (api.live_answers)
    return await live_answers.of(request).respond(
        request, live, ("parking zones",), make, dated=True
    )


async def _zones_document(
    conn: AsyncConnection, now: datetime, found: list[store.Lot]
) -> dict[str, Any]:
    return {
        "as_of": now.isoformat(),
        "urbanism_zones": zones.by_urbanism_zone(found),
        "paid_zones": await zones.by_paid_zone(conn, found),
        "paid_zones_layer": zones.PAID_ZONES_LAYER,
    }


async def _answer(request: Request, conn: AsyncConnection, lot_id: str) -> Response:
    """The lot's new state after an action (the live layers follow at their next read)."""
    request.app.state.live_layers.invalidate()
    now = datetime.now(UTC)
    found = await store.lot(conn, lot_id, now)
    return _json({"as_of": now.isoformat()} | found.document(with_bays=True))


_WRITE = {200: {"content": {_JSON: {}}}, **problems(400, 404, 409)}


@router.post("/parking/lots/{lot_id}/close", responses=_WRITE)
async def close_lot(
    lot_id: str,
    body: Closing,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
) -> Response:
    """Close a lot until ``until`` (or until reopened): it is reported closed whatever
    its sensors say. Answers its new state."""
    await store.close_lot(conn, lot_id, body.reason, body.until, _by(request), datetime.now(UTC))
    return await _answer(request, conn, lot_id)


@router.post("/parking/lots/{lot_id}/reopen", responses=_WRITE)
async def reopen_lot(
    lot_id: str,
    body: Reopening,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
) -> Response:
    """Reopen a closed lot (409 when it is not closed)."""
    await store.reopen_lot(conn, lot_id, body.reason, _by(request), datetime.now(UTC))
    return await _answer(request, conn, lot_id)


@router.put("/parking/lots/{lot_id}/capacity", responses=_WRITE)
async def set_capacity(
    lot_id: str,
    body: CapacityChange,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
) -> Response:
    """Set a lot's capacity (at least 1), or null to go back to its layer's."""
    await store.set_capacity(conn, lot_id, body.capacity, body.reason, _by(request))
    return await _answer(request, conn, lot_id)


@router.post("/parking/lots/{lot_id}/counter-correction", responses=_WRITE)
async def correct_counter(
    lot_id: str,
    body: CounterCorrection,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
) -> Response:
    """Say how many places are occupied now: the lot's counter is offset to match from
    here on (409 for a lot without counter readings)."""
    await store.correct_counter(conn, lot_id, body.occupied, body.reason, _by(request))
    return await _answer(request, conn, lot_id)


@router.post("/parking/bays/{bay_id}/out-of-service", responses=_WRITE)
async def bay_out_of_service(
    bay_id: str,
    body: OutOfService,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
) -> Response:
    """Take a bay out of service (until ``until``, or until put back): it counts neither
    as a place nor as a reading. Answers its lot's new state."""
    now = datetime.now(UTC)
    lot_id = await store.set_bay_service(
        conn, bay_id, False, body.reason, body.until, _by(request), now
    )
    return await _answer(request, conn, lot_id)


@router.post("/parking/bays/{bay_id}/in-service", responses=_WRITE)
async def bay_in_service(
    bay_id: str,
    body: InService,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
) -> Response:
    """Put a bay back in service (409 when it is not out of service)."""
    now = datetime.now(UTC)
    lot_id = await store.set_bay_service(conn, bay_id, True, body.reason, None, _by(request), now)
    return await _answer(request, conn, lot_id)
