"""Parking history: a lot's or zone's occupancy over time, and a lot's utilisation by
hour of week, from the derived series the hub records every 5 minutes
(:mod:`parking.history`) through the rollups.

``GET /parking/lots/{lot_id}/history``, ``GET /parking/zones/{zone}/history`` and
``GET /parking/lots/{lot_id}/utilisation``; public, as the live lots and zones are
(aggregated occupancy is open data). Bounded by :data:`parking.history.MAX_BUCKETS`
buckets per answer and :data:`parking.history.MAX_UTILISATION_RANGE`. A history's past
comes from the process's :class:`parking.history_cache.HistoryCache`; its answer
carries an ETag, and ``If-None-Match`` naming it gets ``304 Not Modified``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api import etags
from api.deps import connection
from api.openapi import problems
from api.params import UtcDateTime, period
from parking import history
from parking.history_cache import HistoryCache

router = APIRouter(tags=["parking"], responses=problems(503))  # each reads the database

_JSON = "application/json"
Step = Literal["5m", "1h", "1d"]
DEFAULT_WINDOW = {"5m": timedelta(days=1), "1h": timedelta(days=7), "1d": timedelta(days=90)}
"""The range answered when ``start`` is not given, ending at ``end``."""
_START = "RFC 3339 with offset; default: a day (5m), a week (1h) or 90 days (1d) before end"
_END = "RFC 3339 with offset; default: now"


class Bucket(BaseModel):
    """One bucket of a history: its samples' means, extremes and count."""

    start: datetime
    end: datetime
    samples: int = Field(description="5-minute samples in the bucket (an hour has 12)")
    occupied: float = Field(description="mean occupied places")
    occupied_min: float
    occupied_max: float = Field(description="peak: most places occupied at once")
    capacity: float = Field(description="mean places offered")
    free: float = Field(description="mean free places")
    occupancy: float = Field(description="mean occupied share, 0..1")
    occupancy_max: float


class HistoryAnswer(BaseModel):
    """A lot's or zone's history in buckets of ``step`` (buckets without samples left out)."""

    lot_id: str | None = None
    zone: str | None = None
    zone_kind: Literal["urbanism", "paid"] | None = None
    series: str = Field(description="the derived series' device id in the readings")
    start: datetime
    end: datetime
    step: Step
    buckets: list[Bucket]


class WeekHourCell(BaseModel):
    """One hour of the week in local time."""

    weekday: int = Field(description="0 Monday .. 6 Sunday")
    hour: int = Field(description="0..23, local time")
    hours: int = Field(description="hours of the range with samples that fell here")
    occupancy: float | None = Field(description="mean occupied share, 0..1")
    occupancy_max: float | None = Field(description="highest share at once")
    occupied_max: float | None = Field(description="most places occupied at once")


class PeakAnswer(BaseModel):
    """The range's peak occupancy and when it was first reached."""

    occupied: float
    occupancy: float = Field(description="the highest share in the peak's hour")
    at: datetime
    resolution: Literal["5m", "1h"]


class UtilisationAnswer(BaseModel):
    """A lot's utilisation by hour of week (168 cells, Monday 00:00 first) and its peak."""

    lot_id: str
    start: datetime
    end: datetime
    time_zone: str
    cells: list[WeekHourCell]
    peak: PeakAnswer | None


def _range(
    start: datetime | None, end: datetime | None, step: str
) -> tuple[datetime, datetime, timedelta]:
    width = history.step_width(step)
    start, end = period(start, end, DEFAULT_WINDOW[step])
    history.check_range(start, end, width)
    return start, end, width


def _answer(
    series: str, start: datetime, end: datetime, step: str, buckets: str
) -> dict[str, object]:
    return {
        "series": series,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "step": step,
        "buckets": orjson.Fragment(buckets),  # written by parking.history_json
    }


async def _history(
    conn: AsyncConnection,
    cache: HistoryCache,
    head: dict[str, object],
    series: str,
    span: tuple[datetime, datetime, timedelta],
    step: str,
    if_none_match: str | None,
) -> Response:
    """The history of ``series`` over ``span`` (start, end and bucket width), after
    ``head``, with its ETag (304 where ``If-None-Match`` names it)."""
    start, end, width = span
    found = await cache.series_json(conn, series, start, end, width)
    return _tagged(head | _answer(series, start, end, step, found), if_none_match)


def _json(document: object) -> Response:
    return Response(orjson.dumps(document), media_type=_JSON)


def _tagged(document: object, if_none_match: str | None) -> Response:
    """The document with its ETag, or 304 where ``If-None-Match`` names it."""
    body = orjson.dumps(document)
    headers = {"ETag": etags.etag(body)}
    if etags.matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=_JSON, headers=headers)


def _cache(request: Request) -> HistoryCache:
    cache: HistoryCache = request.app.state.history_cache
    return cache


_IF_NONE_MATCH = Header(description="an ETag of an earlier answer: 304 while it is the same")
# the histories' shared parameters and answers
_Start = Annotated[UtcDateTime | None, Query(description=_START)]
_End = Annotated[UtcDateTime | None, Query(description=_END)]
_Step = Annotated[Step, Query(description="bucket width; days are UTC days")]
_IfNoneMatch = Annotated[str | None, _IF_NONE_MATCH]
_HISTORY_RESPONSES = problems(400, 404) | etags.NOT_MODIFIED


@router.get(
    "/parking/lots/{lot_id}/history",
    response_model=HistoryAnswer,
    responses=_HISTORY_RESPONSES,
)
async def lot_history(
    lot_id: str,
    conn: Annotated[AsyncConnection, Depends(connection)],
    cache: Annotated[HistoryCache, Depends(_cache)],
    start: _Start = None,
    end: _End = None,
    step: _Step = "1h",
    if_none_match: _IfNoneMatch = None,
) -> Response:
    """The lot's occupancy in buckets of 5 minutes, an hour or a day over ``[start,
    end)``: mean, least and most occupied places, mean capacity and free places, mean
    and highest occupied share, and the number of samples. At most 10,000 buckets."""
    span = _range(start, end, step)
    await history.require_lot(conn, lot_id)
    series = history.lot_series(lot_id)
    return await _history(conn, cache, {"lot_id": lot_id}, series, span, step, if_none_match)


@router.get(
    "/parking/zones/{zone}/history",
    response_model=HistoryAnswer,
    responses=_HISTORY_RESPONSES,
)
async def zone_history(
    zone: str,
    conn: Annotated[AsyncConnection, Depends(connection)],
    cache: Annotated[HistoryCache, Depends(_cache)],
    start: _Start = None,
    end: _End = None,
    step: _Step = "1h",
    kind: Annotated[
        Literal["urbanism", "paid"],
        Query(description="an urbanism zone's code, or a paid parking zone's"),
    ] = "urbanism",
    if_none_match: _IfNoneMatch = None,
) -> Response:
    """The zone's total over its lots (those open with a figure at each sample), as a
    lot's history: occupied places are the lots' sum at each sample."""
    span = _range(start, end, step)
    paid = kind == "paid"
    await history.require_zone(conn, zone, paid)
    series = history.zone_series(zone, paid)
    head: dict[str, object] = {"zone": zone, "zone_kind": kind}
    return await _history(conn, cache, head, series, span, step, if_none_match)


@router.get(
    "/parking/lots/{lot_id}/utilisation",
    response_model=UtilisationAnswer,
    responses=problems(400, 404),
)
async def lot_utilisation(
    lot_id: str,
    conn: Annotated[AsyncConnection, Depends(connection)],
    start: Annotated[
        UtcDateTime | None, Query(description="RFC 3339 with offset; default: 4 weeks before end")
    ] = None,
    end: _End = None,
    tz: Annotated[
        str,
        Query(max_length=64, description="IANA time zone whose hours of the week are counted"),
    ] = history.DEFAULT_TIME_ZONE,
) -> Response:
    """The lot's mean and highest occupancy for each of the week's 168 hours (local
    time), over ``[start, end)`` (at most about 3 years), and the range's peak: the
    most places occupied at once and when that was first reached."""
    zone = history.time_zone(tz)
    start, end = period(start, end, timedelta(weeks=4))
    if end - start > history.MAX_UTILISATION_RANGE:
        raise history.InvalidHistoryRequest(
            f"the range is longer than {history.MAX_UTILISATION_RANGE.days} days; ask a shorter one"
        )
    history.check_calendar(start, end, history.STEPS["1h"])
    await history.require_lot(conn, lot_id)
    series = history.lot_series(lot_id)
    hours = await history.series_history(conn, series, start, end, history.STEPS["1h"])
    peak = await history.peak(conn, series, hours)
    cells = history.by_hour_of_week(hours, zone)
    return _json(
        {
            "lot_id": lot_id,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "time_zone": tz,
            "cells": [
                {
                    "weekday": c.weekday,
                    "hour": c.hour,
                    "hours": c.hours,
                    "occupancy": None if c.occupancy is None else round(c.occupancy, 4),
                    "occupancy_max": c.occupancy_max,
                    "occupied_max": c.occupied_max,
                }
                for c in cells
            ],
            "peak": None
            if peak is None
            else {
                "occupied": peak.occupied,
                "occupancy": peak.occupancy,
                "at": peak.at.isoformat(),
                "resolution": peak.resolution,
            },
        }
    )
