"""A lot's or zone's history as the API's JSON text: its buckets gathered as numpy columns
and written by orjson.

A year by hour is 8,760 objects. Written by PostgreSQL (``format`` and ``string_agg``)
they took 60 % of an answer's 34-51 ms, and reading the hourly rollup's 26,280 rows of
the three quantities most of the rest; this way takes 15-27 ms (``BENCHMARKS.md``).
Here the buckets come as byte strings that numpy reads without a Python object per
value:

- for hourly buckets, up to the watermark of the hours packed by day
  (:data:`storage.rollups.HOURS_BY_DAY`, plain PostgreSQL): a quantity's day in one row
  (:mod:`storage.hours_by_day`), 1,095 rows for a year;
- the rest (every other width, everything on TimescaleDB, the newest edge, or all of it
  from raw readings for comparison): :func:`storage.rollups.wide_query` as planned by
  :func:`storage.rollups.plan`, its columns packed by PostgreSQL;

and orjson writes the objects. Both sources carry each bucket's exact count, sum,
minimum and maximum, and one function rounds and writes them, so an answer does not
depend on where its buckets were read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
from psycopg import AsyncConnection, sql

from parking.history import CAPACITY, OCCUPANCY, OCCUPIED, QUANTITIES
from storage import hours_by_day, rollups

_HOUR, _DAY, _US = timedelta(hours=1), timedelta(days=1), timedelta(microseconds=1)
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The wide rows of a complete sample (its three readings commit together), their
# columns packed as byte strings in one order.
_PACKED_WIDE = """
SELECT string_agg(timestamptz_send(merged), ''), string_agg(int8send(n), ''),
       string_agg(float8send(occupied), ''), string_agg(float8send(least_), ''),
       string_agg(float8send(most), ''), string_agg(float8send(offered), ''),
       string_agg(float8send(share), ''), string_agg(float8send(top), '')
FROM ({wide}) AS w (merged, n, occupied, least_, most, n_offered, offered, o_min, o_max,
                    n_share, share, s_min, top)
WHERE n_offered = n AND n_share = n"""


def _stamps(start: datetime, width: timedelta, count: int) -> list[str]:
    """The UTC times ``start + k * width`` for ``0 <= k < count`` (at least one) as the
    API writes them (``2026-03-02T09:00:00+00:00``), ``width`` dividing a day: a date
    and a time of day from two small tables (numpy's ``datetime_as_string`` of every
    stamp measured 3x slower for a year by hour)."""
    day, step = _DAY // _US, width // _US
    times = (start - _UNIX_EPOCH) // _US + np.arange(count, dtype=np.int64) * step
    days, of_day = np.divmod(times, day)
    first = int(days[0])
    span = np.arange(first, int(days[-1]) + 1).astype("datetime64[D]")
    dates = np.datetime_as_string(span).tolist()
    clock = [(_UNIX_EPOCH + k * width).strftime("T%H:%M:%S+00:00") for k in range(day // step)]
    return [
        dates[d] + clock[t]
        for d, t in zip((days - first).tolist(), (of_day // step).tolist(), strict=True)
    ]


@dataclass
class _Grid:
    """The buckets of ``width`` in ``[low, high)`` (on the ``width`` grid), one slot each:
    its sample count (0: no bucket) and the three quantities' sums and extremes."""

    low: datetime
    high: datetime
    width: timedelta
    samples: np.ndarray = field(init=False)
    occupied: np.ndarray = field(init=False)
    occupied_min: np.ndarray = field(init=False)
    occupied_max: np.ndarray = field(init=False)
    offered: np.ndarray = field(init=False)
    share: np.ndarray = field(init=False)
    share_max: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        size = (self.high - self.low) // self.width
        self.samples = np.zeros(size, np.int64)
        self.occupied, self.occupied_min, self.occupied_max = (np.zeros(size) for _ in range(3))
        self.offered, self.share, self.share_max = (np.zeros(size) for _ in range(3))

    def slots(self, starts: np.ndarray) -> np.ndarray:
        """The slots of buckets starting at ``starts`` (``timestamptz_send`` microseconds)."""
        return (starts - hours_by_day.microseconds(self.low)) // (self.width // _US)

    def place_wide(self, row: Sequence[bytes]) -> None:
        """Fill the slots of :data:`_PACKED_WIDE`'s row."""
        starts, counts, *values = row
        at = self.slots(np.frombuffer(starts, ">i8").astype(np.int64))
        self.samples[at] = np.frombuffer(counts, ">i8")
        columns = (self.occupied, self.occupied_min, self.occupied_max, self.offered)
        for column, packed in zip((*columns, self.share, self.share_max), values, strict=True):
            column[at] = np.frombuffer(packed, ">f8")

    def place_hours(self, found: dict[str, hours_by_day.HourColumns]) -> None:
        """Fill the slots of the hours packed by day: a bucket where all three quantities
        have the same count (as :data:`_PACKED_WIDE` keeps them)."""
        if len(found) < len(QUANTITIES):
            return
        size = len(self.samples)
        counts, sums, mins, maxes = {}, {}, {}, {}
        for quantity, columns in found.items():
            at = self.slots(columns.starts)
            counts[quantity] = np.zeros(size, np.int64)
            sums[quantity], mins[quantity], maxes[quantity] = (np.zeros(size) for _ in range(3))
            counts[quantity][at] = columns.counts
            sums[quantity][at] = columns.sums
            mins[quantity][at] = columns.mins
            maxes[quantity][at] = columns.maxes
        n = counts[OCCUPIED]
        whole = (n > 0) & (counts[CAPACITY] == n) & (counts[OCCUPANCY] == n)
        self.samples[whole] = n[whole]
        self.occupied[whole] = sums[OCCUPIED][whole]
        self.occupied_min[whole] = mins[OCCUPIED][whole]
        self.occupied_max[whole] = maxes[OCCUPIED][whole]
        self.offered[whole] = sums[CAPACITY][whole]
        self.share[whole] = sums[OCCUPANCY][whole]
        self.share_max[whole] = maxes[OCCUPANCY][whole]

    def objects(self) -> tuple[np.ndarray, list[dict[str, object]]]:
        """The slots holding a bucket, and their objects as the API answers them: times
        in UTC (``+00:00``), means rounded to 2 places and shares to 4 (as PostgreSQL's
        ``round``: half to even)."""
        at = np.flatnonzero(self.samples)
        if not len(at):
            return at, []
        n = self.samples[at]
        occupied, offered = self.occupied[at], self.offered[at]
        first = int(at[0])  # a bucket's start and end: stamps[k - first], stamps[k - first + 1]
        stamps = _stamps(self.low + first * self.width, self.width, int(at[-1]) + 2 - first)
        columns = (
            at - first,
            n,
            np.round(100 * occupied / n) / 100,
            self.occupied_min[at],
            self.occupied_max[at],
            np.round(100 * offered / n) / 100,
            np.round(100 * (offered - occupied) / n) / 100,
            np.round(10000 * self.share[at] / n) / 10000,
            np.round(10000 * self.share_max[at]) / 10000,
        )
        found = [
            {
                "start": stamps[k],
                "end": stamps[k + 1],
                "samples": samples,
                "occupied": mean,
                "occupied_min": least,
                "occupied_max": most,
                "capacity": capacity,
                "free": free,
                "occupancy": share,
                "occupancy_max": top,
            }
            for k, samples, mean, least, most, capacity, free, share, top in zip(
                *(c.tolist() for c in columns), strict=True
            )
        ]
        return at, found


async def _grids(
    conn: AsyncConnection,
    series: str,
    ranges: Sequence[tuple[datetime, datetime]],
    width: timedelta,
    watermarks: dict[str, datetime | None],
) -> list[_Grid]:
    """The buckets of each range (on the ``width`` grid), read as ``watermarks`` say
    (empty: all from raw readings)."""
    packed = watermarks.get(rollups.HOURS_BY_DAY) if width == _HOUR else None
    params = {"device": series, "quantities": list(QUANTITIES)}
    grids = [_Grid(low, high, width) for low, high in ranges]
    for grid in grids:
        split = grid.low if packed is None else max(grid.low, min(packed, grid.high))
        if split > grid.low:
            grid.place_hours(await hours_by_day.read(conn, series, QUANTITIES, grid.low, split))
        if grid.high > split:
            segments = rollups.plan(watermarks, split, grid.high, width)
            query = sql.SQL(_PACKED_WIDE).format(
                wide=rollups.wide_query(segments, width, QUANTITIES)
            )
            row = await (await conn.execute(query, params, binary=True)).fetchone()
            if row is not None and row[0] is not None:  # else no bucket
                grid.place_wide(row)
    return grids


async def series_json(
    conn: AsyncConnection,
    series: str,
    start: datetime,
    end: datetime,
    width: timedelta,
    *,
    raw: bool = False,
) -> str:
    """A derived series' buckets of ``width`` overlapping ``[start, end)`` as the API's
    JSON array, oldest first: an object per bucket with the fields of
    :class:`parking.history.HistoryBucket`. From the rollups, or the raw readings with
    ``raw`` (for comparison: the same answer, slower)."""
    low, high = rollups.floor_time(start, width), rollups.ceil_time(end, width)
    watermarks = {} if raw else await rollups.watermarks(conn)
    (grid,) = await _grids(conn, series, [(low, high)], width, watermarks)
    return orjson.dumps(grid.objects()[1]).decode()


async def chunks_json(
    conn: AsyncConnection,
    series: str,
    ranges: Sequence[tuple[datetime, datetime]],
    width: timedelta,
    chunk: timedelta,
    watermarks: dict[str, datetime | None],
) -> dict[datetime, str]:
    """The objects of :func:`series_json` for the buckets of ``width`` in each of
    ``ranges`` (on the ``width`` grid), comma-separated per chunk of ``chunk`` (a
    multiple of ``width``, aligned on the rollups' origin): chunk start → text. A chunk
    without buckets is left out."""
    found: dict[datetime, str] = {}
    for grid in await _grids(conn, series, ranges, width, watermarks):
        at, objects = grid.objects()
        # each bucket's chunk, counted from the origin; a chunk's buckets are consecutive
        origin = hours_by_day.microseconds(rollups.ORIGIN)
        starts = hours_by_day.microseconds(grid.low) + at * (width // _US)
        chunks = (starts - origin) // (chunk // _US)
        bounds = [0, *(np.flatnonzero(np.diff(chunks)) + 1).tolist(), len(objects)]
        for first, last in zip(bounds, bounds[1:], strict=False):
            if last > first:
                key = rollups.ORIGIN + int(chunks[first]) * chunk
                found[key] = orjson.dumps(objects[first:last]).decode()[1:-1]
    return found
