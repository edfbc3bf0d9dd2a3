"""A lot's occupancy forecast: ``GET /parking/lots/{lot_id}/forecast?hours=1..6``.

Each lot's forecast is made once per hour, when an hour of readings has completed, and
served from memory until the next one (:class:`LotForecasts`): the model's input
changes only then. Its training window is read, then the model fitted in the API's
lane for heavy work (:mod:`api.cpu`), never on the event loop. The model and its
evaluation against the seasonal naive forecast are in :mod:`parking.forecast` and
``bench/forecast_bench.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field

from api import cpu
from api.errors import NotFound
from api.openapi import problems
from parking.forecast import (
    MAX_HORIZON_H,
    MAX_TRAINING_WEEKS,
    WEEK_H,
    LotForecast,
    forecast_lot,
)
from parking.hourly_occupancy import hourly_occupancy, lot_capacity

router = APIRouter(tags=["parking"], responses=problems(503))  # each reads the database


class Interval(BaseModel):
    """A prediction interval of the hour's occupancy."""

    level: int = Field(description="per cent of hours expected inside it")
    occupied_lower: float
    occupied_upper: float
    free_lower: float
    free_upper: float


class ForecastRow(BaseModel):
    """One hour ahead: its mean occupied and free places."""

    start: datetime = Field(description="the hour's start (UTC)")
    end: datetime
    horizon_h: int = Field(description="hours after the last hour with readings")
    occupied: float = Field(description="mean occupied places over the hour")
    free: float
    intervals: list[Interval]


class ForecastModel(BaseModel):
    """The model that made the forecast and the hours it learnt from."""

    name: str
    training_start: datetime
    training_end: datetime = Field(description="end of the last hour with readings")


class ForecastAnswer(BaseModel):
    """A lot's forecast, hour by hour."""

    lot_id: str
    capacity: int
    issued_at: datetime = Field(description="when the forecast was made")
    model: ForecastModel
    forecast: list[ForecastRow]


class LotForecasts:
    """Each lot's latest forecast, with the hour it was made in; one making per lot at a
    time (a burst of requests at the top of the hour fits the model once)."""

    def __init__(self) -> None:
        """An empty memory."""
        self._made: dict[str, tuple[datetime, datetime, LotForecast]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, request: Request, lot_id: str) -> tuple[datetime, LotForecast]:
        """The lot's forecast for the current hour and when it was issued: remembered,
        or made now. Raises NotFound for an id that is no parking lot, and the
        forecast's own errors (not enough history, a silent counter) as they come."""
        now = datetime.now(UTC)
        hour = now.replace(minute=0, second=0, microsecond=0)
        lock = self._locks.setdefault(lot_id, asyncio.Lock())
        async with lock:
            held = self._made.get(lot_id)
            if held is not None and held[0] == hour:
                return held[1], held[2]
            pool: AsyncConnectionPool = request.app.state.pool
            async with pool.connection() as conn:
                capacity = await lot_capacity(conn, lot_id)
                if capacity is None:
                    self._locks.pop(lot_id, None)
                    raise NotFound(f"there is no parking lot {lot_id!r}")
                start = hour - timedelta(hours=MAX_TRAINING_WEEKS * WEEK_H)
                history = await hourly_occupancy(conn, lot_id, max(capacity, 1), start, hour)
            made = await cpu.run(
                request, lambda: forecast_lot(history, capacity, MAX_HORIZON_H, now=now)
            )
            self._made[lot_id] = (hour, now, made)
            return now, made


def _answer(lot_id: str, issued_at: datetime, made: LotForecast, hours: int) -> ForecastAnswer:
    """The first ``hours`` rows of a lot's forecast, with free places beside occupied."""
    cap = made.capacity
    return ForecastAnswer(
        lot_id=lot_id,
        capacity=cap,
        issued_at=issued_at,
        model=ForecastModel(
            name=made.model, training_start=made.training_start, training_end=made.training_end
        ),
        forecast=[
            ForecastRow(
                start=row.start,
                end=row.start + timedelta(hours=1),
                horizon_h=row.horizon_h,
                occupied=row.occupied,
                free=round(cap - row.occupied, 1),
                intervals=[
                    Interval(
                        level=level,
                        occupied_lower=lower,
                        occupied_upper=upper,
                        free_lower=round(cap - upper, 1),
                        free_upper=round(cap - lower, 1),
                    )
                    for level, (lower, upper) in sorted(row.intervals.items())
                ],
            )
            for row in made.rows[:hours]
        ],
    )


@router.get(
    "/parking/lots/{lot_id}/forecast",
    response_model=ForecastAnswer,
    responses=problems(404, 409),
)
async def lot_forecast(
    lot_id: str,
    request: Request,
    hours: Annotated[
        int, Query(ge=1, le=MAX_HORIZON_H, description="how many hours ahead, from this one")
    ] = MAX_HORIZON_H,
) -> ForecastAnswer:
    """The lot's mean occupied and free places for this hour and the next ones, with
    their 80 % and 95 % prediction intervals, from its counter's last weeks of readings.

    409 when the lot has fewer than two weeks of readings or its counter has been silent
    for more than six hours; the detail says which."""
    forecasts: LotForecasts = request.app.state.lot_forecasts
    issued_at, made = await forecasts.get(request, lot_id)
    return _answer(lot_id, issued_at, made, hours)
