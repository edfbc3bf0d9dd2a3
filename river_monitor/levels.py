"""A gauge's levels as stored readings: the latest, a recent window, what came after a
point; and its state for the emergency staff (level, code, water surface, trend)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from river_monitor.config import GaugeConfig
from river_monitor.trend import trend

Level = tuple[datetime, float]


async def latest(conn: AsyncConnection, gauge: GaugeConfig) -> float | None:
    """The gauge's latest level (cm), or None before its first reading."""
    row = await (
        await conn.execute(
            "SELECT value FROM latest_readings WHERE device_id = %s AND quantity = %s",
            (gauge.device_id, gauge.quantity),
        )
    ).fetchone()
    return None if row is None else float(row[0])


async def latest_time(conn: AsyncConnection, gauge: GaugeConfig) -> datetime | None:
    """When the gauge's latest reading was taken, or None before its first."""
    row = await (
        await conn.execute(
            "SELECT max(time) FROM readings WHERE device_id = %s AND quantity = %s",
            (gauge.device_id, gauge.quantity),
        )
    ).fetchone()
    return None if row is None else row[0]


async def before_latest(
    conn: AsyncConnection, gauge: GaugeConfig, window: timedelta
) -> list[Level]:
    """The levels within ``window`` of the latest reading (which is included), in time order."""
    rows = await (
        await conn.execute(
            "SELECT time, value FROM readings WHERE device_id = %s AND quantity = %s"
            " AND time > (SELECT max(time) FROM readings WHERE device_id = %s AND quantity = %s)"
            " - %s ORDER BY time",
            (gauge.device_id, gauge.quantity) * 2 + (window,),
        )
    ).fetchall()
    return [(t, float(v)) for t, v in rows]


async def between(
    conn: AsyncConnection, gauge: GaugeConfig, after: datetime, until: datetime
) -> list[Level]:
    """The levels read in ``(after, until]``, in time order."""
    rows = await (
        await conn.execute(
            "SELECT time, value FROM readings WHERE device_id = %s AND quantity = %s"
            " AND time > %s AND time <= %s ORDER BY time",
            (gauge.device_id, gauge.quantity, after, until),
        )
    ).fetchall()
    return [(t, float(v)) for t, v in rows]


async def after(
    conn: AsyncConnection, gauge: GaugeConfig, after: datetime | None, limit: int
) -> list[Level]:
    """The first ``limit`` levels read after ``after`` (None: from the first), in time order."""
    rows = await (
        await conn.execute(
            "SELECT time, value FROM readings WHERE device_id = %s AND quantity = %s"
            " AND time > coalesce(%s, '-infinity'::timestamptz)"
            " ORDER BY time LIMIT %s",
            (gauge.device_id, gauge.quantity, after, limit),
        )
    ).fetchall()
    return [(t, float(v)) for t, v in rows]


async def gauge_state(conn: AsyncConnection, gauge: GaugeConfig, hours: float) -> dict[str, Any]:
    """The gauge as the staff see it: thresholds, latest level with its code and water
    surface, and the trend over the last ``hours`` with when it would reach the next
    threshold if it held."""
    readings = await before_latest(conn, gauge, timedelta(hours=hours))
    found: dict[str, Any] = {
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
        return found
    moment, level = readings[-1]
    code = gauge.thresholds.code(level)
    found["level"] = {
        "time": moment.isoformat(),
        "cm": level,
        "surface_m": round(gauge.surface_m(level), 3),
        "code": code.name.lower(),
    }
    slope = trend(readings)
    if slope is not None:
        upcoming = slope.next_threshold(gauge.thresholds)
        found["trend"] = {
            "kind": "trend, not a forecast",
            "method": "Theil-Sen slope",
            "hours": hours,
            "points": slope.points,
            "cm_per_h": round(slope.cm_per_h, 2),
            "cm_per_h_90": [round(slope.low_cm_per_h, 2), round(slope.high_cm_per_h, 2)],
            "next_threshold": None
            if upcoming is None
            else {"code": upcoming[0].name.lower(), "reached_at": upcoming[1].isoformat()},
        }
    return found
