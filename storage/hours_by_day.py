"""The hourly rollup packed by day (``readings_1h_days``), read as numpy columns.

Per device, quantity and UTC day the table holds the day's hours as byte strings in one
order: their starts (``timestamptz_send``: big-endian microseconds since 2000-01-01 UTC),
counts (``int8send``), sums, minima, maxima and means (``float8send``). Kept by
:mod:`storage.rollups` with the daily level, so it answers hours before the watermark
:data:`storage.rollups.HOURS_BY_DAY`; on TimescaleDB it stays empty. A year of one
series is 365 rows instead of 8,760, unpacked without a Python object per hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from psycopg import AsyncConnection

from storage.rollups import ceil_time, floor_time

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
"""Where ``timestamptz_send``'s microseconds count from."""
_DAY = timedelta(days=1)

# Rows as they are stored (joining them here measured faster than string_agg); numpy
# places each hour by its start, so their order does not matter.
_READ = """
SELECT quantity, hours, counts, sums, mins, maxes
FROM readings_1h_days
WHERE device_id = %(device)s AND quantity = ANY(%(quantities)s)
  AND day >= %(low)s AND day < %(high)s
"""


@dataclass(frozen=True)
class HourColumns:
    """One quantity's hourly buckets, position by position (not necessarily in order)."""

    starts: np.ndarray
    """The hours' starts, microseconds since :data:`PG_EPOCH` (int64)."""
    counts: np.ndarray
    sums: np.ndarray
    mins: np.ndarray
    maxes: np.ndarray


def microseconds(moment: datetime) -> int:
    """``moment`` as ``timestamptz_send`` counts it: microseconds since :data:`PG_EPOCH`."""
    return (moment - PG_EPOCH) // timedelta(microseconds=1)


async def read(
    conn: AsyncConnection,
    device_id: str,
    quantities: Sequence[str],
    start: datetime,
    end: datetime,
) -> dict[str, HourColumns]:
    """The packed hours of ``device_id``'s ``quantities`` starting in ``[start, end)``, by
    quantity (a quantity without any left out). Ask only before the
    :data:`storage.rollups.HOURS_BY_DAY` watermark: after it the table has no rows yet."""
    params = {
        "device": device_id,
        "quantities": list(quantities),
        "low": floor_time(start, _DAY),
        "high": ceil_time(end, _DAY),
    }
    rows = await (await conn.execute(_READ, params, binary=True)).fetchall()
    by_quantity: dict[str, list[Sequence[bytes]]] = {}
    for quantity, *packed in rows:
        by_quantity.setdefault(quantity, []).append(packed)
    low, high = microseconds(start), microseconds(end)
    found = {}
    for quantity, days in by_quantity.items():
        starts, counts, sums, mins, maxes = (b"".join(column) for column in zip(*days, strict=True))
        hours = np.frombuffer(starts, ">i8").astype(np.int64)
        inside = (hours >= low) & (hours < high)  # whole days overlap the range's ends
        found[quantity] = HourColumns(
            hours[inside],
            np.frombuffer(counts, ">i8").astype(np.int64)[inside],
            *(np.frombuffer(b, ">f8").astype(np.float64)[inside] for b in (sums, mins, maxes)),
        )
    return found
