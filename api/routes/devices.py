"""The device registry with latest values, and a device's readings over a time range."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from psycopg import AsyncConnection
from pydantic import BaseModel

from api.deps import connection
from api.errors import InvalidParameter, NotFound
from api.openapi import problems
from api.params import UtcDateTime, period
from storage import devices as registry
from storage import readings

router = APIRouter(tags=["devices"], responses=problems(503))  # each reads the database

DEFAULT_WINDOW = timedelta(hours=24)
MAX_READINGS = 100_000
"""The most readings one answer holds (``limit``): a day of a sensor reporting every
second (86,400) fits; longer series come by periods (``start``, ``end``)."""


class LatestValue(BaseModel):
    """A quantity's most recent reading."""

    time: datetime
    value: float


class DeviceOut(BaseModel):
    """A registered device, the quantities it reports and their latest values."""

    device_id: str
    kind: str
    asset_id: str | None
    quantities: list[str]
    lon: float | None
    lat: float | None
    latest: dict[str, LatestValue]


class DeviceList(BaseModel):
    """Every registered device."""

    devices: list[DeviceOut]
    count: int


class ReadingOut(BaseModel):
    """One stored reading."""

    time: datetime
    value: float


class ReadingSeries(BaseModel):
    """A device's readings of one quantity over ``[start, end)``."""

    device_id: str
    quantity: str
    start: datetime
    end: datetime
    readings: list[ReadingOut]


@router.get("/devices", response_model=DeviceList)
async def list_devices(
    conn: Annotated[AsyncConnection, Depends(connection)],
    kind: Annotated[str | None, Query(description="only devices of this kind")] = None,
) -> DeviceList:
    """The device registry: ids, kinds, quantities and latest readings."""
    devices = [DeviceOut(**row) for row in await registry.with_latest(conn, kind)]
    return DeviceList(devices=devices, count=len(devices))


@router.get("/devices/{device_id}/readings", response_model=ReadingSeries, responses=problems(404))
async def device_readings(
    device_id: str,
    conn: Annotated[AsyncConnection, Depends(connection)],
    quantity: Annotated[str, Query(min_length=1, description="e.g. water_level")],
    start: Annotated[UtcDateTime | None, Query(description="inclusive; default end - 24 h")] = None,
    end: Annotated[UtcDateTime | None, Query(description="exclusive; default now")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_READINGS)] = 10_000,
) -> ReadingSeries:
    """A device's readings of one quantity in ``[start, end)``, oldest first."""
    reported = await registry.quantities_of(conn, device_id)
    if reported is None:
        raise NotFound(f"no device {device_id!r}; see /devices")
    if quantity not in reported:
        raise InvalidParameter(
            f"device {device_id!r} does not report {quantity!r}; it reports {sorted(reported)}"
        )
    start, end = period(start, end, DEFAULT_WINDOW)
    rows = await readings.series(conn, device_id, quantity, start, end, limit)
    return ReadingSeries(
        device_id=device_id,
        quantity=quantity,
        start=start,
        end=end,
        readings=[ReadingOut(time=t, value=v) for t, v in rows],
    )
