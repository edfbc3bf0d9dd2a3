"""A lot's hourly occupancy from its counter's raw readings: the forecast's input.

Interim source: this averages the lot counter's ``occupied_spaces`` readings per hour
straight from ``readings``. Once storage's rollups are merged, the lot's hourly rollup
replaces the query here (same answer, read from far fewer rows); the forecast takes the
Series this returns and does not care where it came from.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from psycopg import AsyncConnection

_CAPACITY = """
SELECT COALESCE((properties->>'capacity')::int, 0) FROM assets
WHERE asset_id = %s AND kind = 'parking_lot'
"""

# date_bin rather than date_trunc: hours in UTC whatever the session's time zone.
_HOURLY = """
SELECT date_bin('1 hour', r.time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS hour,
       avg(r.value)
FROM readings r JOIN devices d ON d.device_id = r.device_id
WHERE d.asset_id = %s AND d.kind = 'parking_counter' AND r.quantity = 'occupied_spaces'
  AND r.time >= %s AND r.time < %s
GROUP BY hour ORDER BY hour
"""


async def lot_capacity(conn: AsyncConnection, lot_id: str) -> int | None:
    """The lot's capacity (0 where it has none recorded), or None where no parking lot
    has this id."""
    row = await (await conn.execute(_CAPACITY, (lot_id,))).fetchone()
    return None if row is None else int(row[0])


async def hourly_occupancy(
    conn: AsyncConnection, lot_id: str, capacity: int, start: datetime, end: datetime
) -> pd.Series:
    """The lot's mean occupancy per hour in ``[start, end)``, as a fraction of
    ``capacity``, indexed by the hours' UTC starts; hours without readings are absent.

    A counter reading above capacity or below zero (a drifting counter) counts as full
    or empty: the forecast learns the lot's pattern, not its counter's faults.
    """
    rows = await (await conn.execute(_HOURLY, (lot_id, start, end))).fetchall()
    index = pd.DatetimeIndex([hour for hour, _ in rows], name="hour")
    index = index.tz_convert("UTC") if len(rows) else index.tz_localize("UTC")
    values = pd.Series([float(mean) for _, mean in rows], index=index, dtype=float)
    return (values / capacity).clip(0.0, 1.0)
