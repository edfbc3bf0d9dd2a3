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

from collections.abc import Mapping, Sequence
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
    params = {"devices": list(device_ids)}
    cursors = {}
    async with conn.pipeline():
        for pollutant, (start, end) in windows.items():
            if end <= start or not device_ids:
                continue
            segments = rollups.plan(watermarks, start, end, HOUR)
            series = rollups.series_query(segments, HOUR, combine=False)
            cursors[pollutant] = await conn.execute(
                sql.SQL(_PACKED).format(series=series),
                params | {"quantity": pollutant},
                binary=True,
            )
        row_of = {device: k for k, device in enumerate(device_ids)}
        found = {}
        for pollutant, (start, end) in windows.items():
            values = np.full((len(device_ids), max(0, (end - start) // HOUR)), np.nan)
            origin = _microseconds(start)
            if pollutant in cursors:
                for device, starts, means in await cursors[pollutant].fetchall():
                    offsets = (np.frombuffer(starts, ">i8") - origin) // _HOUR_US
                    values[row_of[device], offsets] = np.frombuffer(means, ">f8")
            found[pollutant] = HourGrid(start, values)
    return found
