"""Air quality per urbanism zone, for planners: a zone's hour is its worst station's.

Per zone (the stations' places, :mod:`twin.places`) over ``[start, end)``: its stations,
the hours spent in each band of the index, the worst and the latest hour's band, and
each pollutant's mean over the zone's hourly means. Zones without a station are not
listed (``GET /twin/zones`` lists every zone); stations in no zone are grouped under a
null zone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from statistics import fmean
from typing import Any

from psycopg import AsyncConnection

from air.bands import LEVELS, POLLUTANTS, BandTable
from air.index import HOUR, hourly_index, hourly_means, lookback
from air.stations import Station, stations
from storage.rollups import floor_time


async def zone_summaries(
    conn: AsyncConnection, table: BandTable, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """One summary per zone holding a station, in code order (the null zone last)."""
    found = await stations(conn)
    by_zone: dict[str | None, list[Station]] = defaultdict(list)
    for one in found:
        by_zone[one.zone_code].append(one)
    means = await hourly_means(conn, [s.station_id for s in found], start - lookback(table), end)
    first = floor_time(start, HOUR)
    summaries = []
    for code in sorted(by_zone, key=lambda c: (c is None, c or "")):
        members = by_zone[code]
        worst: dict[datetime, int] = {}
        values: dict[str, list[float]] = defaultdict(list)
        for member in members:
            hourly = means[member.station_id]
            for index in hourly_index(table, hourly, first, end):
                if index.band is not None:
                    worst[index.hour] = max(worst.get(index.hour, 0), index.band)
            for pollutant in POLLUTANTS:
                values[pollutant] += [
                    v for h, v in hourly.get(pollutant, {}).items() if first <= h < end
                ]
        latest = worst[max(worst)] if worst else None
        summaries.append(
            {
                "zone": code,
                "name": members[0].zone_name,
                "stations": [m.station_id for m in members],
                "table": table.version,
                "hours": len(worst),
                "hours_by_level": {
                    LEVELS[b]: n for b, n in sorted(Counter(worst.values()).items())
                },
                "worst": LEVELS[max(worst.values())] if worst else None,
                "latest": None
                if latest is None
                else {"hour": max(worst).isoformat(), "level": LEVELS[latest]},
                "means": {p: round(fmean(v), 2) for p, v in values.items() if v},
            }
        )
    return summaries
