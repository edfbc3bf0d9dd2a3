"""Hourly means of many stations as numpy grids: one row per station, one column per hour.

A year of 50 stations' five pollutants is 2.2 million hourly means; as Python objects
(a :class:`storage.rollups.Bucket` each) only converting them takes seconds, and even
reading them as rows of the hourly rollup takes PostgreSQL most of a second. Each
station's hours arrive instead as two byte strings, the hours' starts
(``timestamptz_send``: big-endian microseconds since 2000-01-01) and their means
(``float8send``), which numpy reads without a Python object per value:

- up to the watermark of the hourly rollup packed by day
  (:data:`storage.rollups.HOURS_BY_DAY`, plain PostgreSQL), its rows as they are stored,
  a station's day in one row: a year is 365 rows per station and pollutant;
- after it (or everywhere on TimescaleDB, or with no watermarks: raw readings only, for
  comparison), :func:`storage.rollups.series`' query, packed by PostgreSQL.

A mean is the bucket's ``sum / count``, the same division as
:attr:`storage.rollups.Bucket.mean` on both paths, so the grid holds exactly the values
:func:`air.index.hourly_means` returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from psycopg import AsyncConnection, AsyncCursor, sql

from air.index import HOUR
from storage import hours_by_day, rollups

_HOUR_US = 3_600_000_000
_DAY = timedelta(days=1)

_PACKED = """
SELECT device_id, string_agg(timestamptz_send(hour), ''), string_agg(float8send(total / n), '')
FROM ({series}) AS hours (device_id, hour, n, total, low, high, t0, v0, t1, v1)
GROUP BY device_id
"""
# The two byte strings of every day concatenated in the same order (both aggregates of a
# group see its rows in one order); numpy places each hour by its start.
_BY_DAY = """
SELECT device_id, string_agg(hours, ''), string_agg(means, '')
FROM readings_1h_days
WHERE device_id = ANY(%(devices)s) AND quantity = %(quantity)s
  AND day >= %(low)s AND day < %(high)s
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


async def hourly_grids(
    conn: AsyncConnection,
    device_ids: Sequence[str],
    windows: Mapping[str, tuple[datetime, datetime]],
    *,
    watermarks: dict[str, datetime | None],
) -> dict[str, HourGrid]:
    """Each pollutant's hourly means of ``device_ids`` (the grids' rows, in this order)
    over its window ``[start, end)`` (on the hour), by pollutant. ``watermarks`` as
    :func:`storage.rollups.watermarks` gives them; empty: every hour from raw readings.

    The queries go out together (a pipeline): the database answers the next while the
    last answer is unpacked.
    """
    for start, end in windows.values():
        if rollups.floor_time(start, HOUR) != start or rollups.floor_time(end, HOUR) != end:
            raise ValueError(f"hourly grid bounds must lie on the hour: {start} to {end}")
    packed = watermarks.get(rollups.HOURS_BY_DAY)
    cursors: dict[str, list[AsyncCursor[Any]]] = {}
    async with conn.pipeline():
        for pollutant, (start, end) in windows.items():
            cursors[pollutant] = []
            if end <= start or not device_ids:
                continue
            params = {"devices": list(device_ids), "quantity": pollutant}
            split = start if packed is None else max(start, min(packed, end))
            if split > start:
                low, high = rollups.floor_time(start, _DAY), rollups.ceil_time(split, _DAY)
                by_day = params | {"low": low, "high": high}
                cursors[pollutant].append(await conn.execute(_BY_DAY, by_day, binary=True))
            if end > split:
                segments = rollups.plan(watermarks, split, end, HOUR)
                series = rollups.series_query(segments, HOUR, combine=False)
                query = sql.SQL(_PACKED).format(series=series)
                cursors[pollutant].append(await conn.execute(query, params, binary=True))
        row_of = {device: k for k, device in enumerate(device_ids)}
        found = {}
        for pollutant, (start, end) in windows.items():
            hours = max(0, (end - start) // HOUR)
            values = np.full((len(device_ids), hours), np.nan)
            origin = hours_by_day.microseconds(start)
            for cursor in cursors[pollutant]:
                for device, starts, means in await cursor.fetchall():
                    offsets = (np.frombuffer(starts, ">i8") - origin) // _HOUR_US
                    inside = (offsets >= 0) & (offsets < hours)  # days overlap the window
                    values[row_of[device], offsets[inside]] = np.frombuffer(means, ">f8")[inside]
            found[pollutant] = HourGrid(start, values)
    return found
