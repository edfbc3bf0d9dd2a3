"""Hourly means of many stations as numpy grids: one row per station, one column per hour.

A year of 50 stations' five pollutants is 2.2 million hourly means; as Python objects
(a :class:`storage.rollups.Bucket` each) only converting them takes seconds. Here
PostgreSQL answers :func:`storage.rollups.series`' query (the hourly rollup up to its
watermark, finer levels and raw readings after it; or raw readings only, for comparison)
and packs each station's hours into two byte strings, the hours' starts
(``timestamptz_send``: big-endian microseconds since 2000-01-01) and their means
(``float8send``), which numpy reads without a Python object per value. A mean is the
bucket's ``sum / count``, the same division as :attr:`storage.rollups.Bucket.mean`, so
the grid holds exactly the values :func:`air.index.hourly_means` returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from psycopg import AsyncConnection, sql

from air.index import HOUR
from storage import rollups

_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_HOUR_US = 3_600_000_000

_PACKED = """
SELECT device_id, string_agg(timestamptz_send(hour), ''), string_agg(float8send(total / n), '')
FROM ({series}) AS hours (device_id, hour, n, total, low, high, t0, v0, t1, v1)
GROUP BY device_id
"""


@dataclass(frozen=True)
class HourGrid:
    """Hourly means of one pollutant: ``values[station, hour]`` for the hour starting
    ``start + hour`` hours; NaN where the station has no mean."""

    start: datetime
    values: np.ndarray

    @property
    def measured(self) -> np.ndarray:
        """Where a mean exists (boolean, the shape of ``values``)."""
        return ~np.isnan(self.values)


def _microseconds(moment: datetime) -> int:
    return (moment - _PG_EPOCH) // timedelta(microseconds=1)


async def hourly_grid(
    conn: AsyncConnection,
    device_ids: Sequence[str],
    pollutant: str,
    start: datetime,
    end: datetime,
    *,
    watermarks: dict[str, datetime | None],
) -> HourGrid:
    """``pollutant``'s hourly means of ``device_ids`` (the grid's rows, in this order)
    over ``[start, end)`` (on the hour). ``watermarks`` as :func:`storage.rollups.watermarks`
    gives them; empty: every hour from raw readings."""
    if rollups.floor_time(start, HOUR) != start or rollups.floor_time(end, HOUR) != end:
        raise ValueError(f"hourly grid bounds must lie on the hour: {start} to {end}")
    hours = (end - start) // HOUR
    values = np.full((len(device_ids), hours), np.nan)
    if hours <= 0 or not device_ids:
        return HourGrid(start, values)
    series = rollups.series_query(rollups.plan(watermarks, start, end, HOUR), HOUR, combine=False)
    params = {"devices": list(device_ids), "quantity": pollutant}
    cursor = await conn.execute(sql.SQL(_PACKED).format(series=series), params, binary=True)
    row_of = {device: k for k, device in enumerate(device_ids)}
    origin = _microseconds(start)
    for device, starts, means in await cursor.fetchall():
        offsets = (np.frombuffer(starts, ">i8") - origin) // _HOUR_US
        values[row_of[device], offsets] = np.frombuffer(means, ">f8")
    return HourGrid(start, values)
