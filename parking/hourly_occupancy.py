"""A lot's hourly occupancy from its counters' hourly rollups: the forecast's input.

The mean of the lot counters' ``occupied_spaces`` per UTC hour, from
:func:`storage.rollups.series` (the hourly rollup where it is complete, raw readings for
the newest hour); the forecast takes the Series this returns and does not care where it
came from.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from psycopg import AsyncConnection

from storage import rollups

_CAPACITY = """
SELECT COALESCE((properties->>'capacity')::int, 0) FROM assets
WHERE asset_id = %s AND kind = 'parking_lot'
"""

_COUNTERS = """
SELECT device_id FROM devices WHERE asset_id = %s AND kind = 'parking_counter'
ORDER BY device_id
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
    counters = [row[0] for row in await (await conn.execute(_COUNTERS, (lot_id,))).fetchall()]
    hours = await rollups.series(
        conn, counters, "occupied_spaces", start, end, timedelta(hours=1), combine=True
    )
    index = pd.DatetimeIndex([hour.start for hour in hours], name="hour")
    index = index.tz_convert("UTC") if len(hours) else index.tz_localize("UTC")
    values = pd.Series([hour.mean for hour in hours], index=index, dtype=float)
    return (values / capacity).clip(0.0, 1.0)
