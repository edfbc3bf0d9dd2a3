"""A year of every station at once, aggregated in PostgreSQL: the index's hours per band
and the EU standards of :mod:`air.exceedances`, from the hourly rollup.

:mod:`air.exceedances` and :mod:`air.index` judge a station's hourly means in Python;
for a year of 50 stations (2.2 million hourly means) fetching those means alone takes
seconds, so here the database reduces them to what the rules need (per station,
pollutant and UTC day: hours measured, their sum, hours above the hourly limit; per
station and hour: the worst band; O3's running 8-hour means per day) and Python applies
the same rules to those few rows. Both give the same answer (``tests/air/test_annual.py``
checks one against the other on a scripted year).

Hourly means come from ``readings_1h`` up to its watermark and from raw readings after
it (as :func:`storage.rollups.series` answers), or all from raw readings with ``raw``,
for comparison.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from psycopg import AsyncConnection, sql

from air.bands import POLLUTANTS, BandTable
from air.exceedances import (
    ANNUAL_MIN_CAPTURE,
    DAILY_MIN_HOURS,
    EIGHT_HOUR_MIN_HOURS,
    MAX_8H_MIN_MEANS,
    O3_YEARS,
    STANDARDS,
    Assessment,
    Standard,
    Status,
    count_status,
    year_bounds,
)
from air.index import HOUR
from storage import rollups

_HOURLY = """
SELECT device_id, quantity, bucket AS hour, sum / count AS mean FROM readings_1h
WHERE bucket >= %(h0)s AND bucket < %(h1)s
  AND device_id = ANY(%(devices)s) AND quantity = ANY(%(quantities)s)
UNION ALL
SELECT device_id, quantity, date_bin('1 hour', time, %(origin)s), avg(value) FROM readings
WHERE time >= %(r0)s AND time < %(r1)s
  AND device_id = ANY(%(devices)s) AND quantity = ANY(%(quantities)s)
GROUP BY 1, 2, 3
"""
"""Hourly means of some devices and quantities: the rollup, then raw readings."""

_DAILY = """
WITH hourly AS ({hourly}),
limits AS (SELECT * FROM unnest(%(limit_q)s::text[], %(limit_v)s::float8[]) AS l(quantity, v))
SELECT h.device_id, h.quantity, (h.hour AT TIME ZONE 'UTC')::date, count(*), sum(h.mean),
       count(*) FILTER (WHERE h.mean > l.v)
FROM hourly h LEFT JOIN limits l USING (quantity)
GROUP BY 1, 2, 3
"""
"""Per device, pollutant and UTC day: hours measured, their sum, hours above the
pollutant's hourly limit value (none for pollutants without one)."""

_BANDS = """
WITH hourly AS ({hourly})
SELECT device_id, band, count(*) FROM (
    SELECT device_id, hour, max(CASE {cases} END) AS band FROM hourly GROUP BY 1, 2
) AS hours GROUP BY 1, 2
"""
"""Per device, the hours in each band of the index (an hour's band is its worst
pollutant's)."""

_OZONE = """
WITH hourly AS ({hourly}),
span AS (SELECT device_id, min(hour) AS first, max(hour) + interval '7 hours' AS last
         FROM hourly GROUP BY device_id),
grid AS (
    SELECT s.device_id, g.hour, h.mean
    FROM span s CROSS JOIN LATERAL generate_series(s.first, s.last, interval '1 hour') AS g(hour)
    LEFT JOIN hourly h ON h.device_id = s.device_id AND h.hour = g.hour
),
running AS (
    SELECT device_id, hour, count(mean) OVER w AS n, avg(mean) OVER w AS m
    FROM grid WINDOW w AS (PARTITION BY device_id ORDER BY hour ROWS 7 PRECEDING)
)
SELECT device_id, (hour AT TIME ZONE 'UTC')::date AS day, count(*), max(m)
FROM running WHERE n >= %(min_hours)s GROUP BY 1, 2
"""
"""Per device and UTC day: its valid running 8-hour means (6 of 8 hours; each belongs
to the day on which it ends) and the highest."""


@dataclass(frozen=True)
class StationYear:
    """One station's year: hours per band of the index, each standard beside its 2030
    counterpart (as :func:`air.exceedances.station_year`)."""

    hours_by_band: dict[int, int]
    standards: list[tuple[Assessment | None, Assessment | None]]


def _hourly(params: dict[str, object], start: datetime, end: datetime, upto: datetime) -> None:
    """Fill the hourly source's bounds: the rollup over ``[start, upto)``, raw readings
    over ``[upto, end)``."""
    upto = min(max(upto, start), end)
    params |= {"h0": start, "h1": upto, "r0": upto, "r1": end, "origin": rollups.ORIGIN}


def _cases(table: BandTable) -> sql.Composable:
    """``WHEN quantity = 'pm25' THEN (bands below the mean) ...``: a value equal to a
    bound stays in the lower band."""
    whens = []
    for pollutant in POLLUTANTS:
        counts = sql.SQL(" + ").join(
            sql.SQL("(mean > {})::int").format(sql.Literal(float(b)))
            for b in table.upper[pollutant]
        )
        whens.append(sql.SQL("WHEN quantity = {} THEN {}").format(sql.Literal(pollutant), counts))
    return sql.SQL(" ").join(whens)


def _counted(
    standard: Standard, daily: dict[date, tuple[int, float, int]], year: int
) -> Assessment:
    """A standard counted over hours or days from the days' aggregates."""
    assert standard.allowed is not None
    days = {d: v for d, v in daily.items() if d.year == year}
    start, end = year_bounds(year)
    if standard.metric == "hourly":
        valid = sum(hours for hours, _, _ in days.values())
        above = sum(over for _, _, over in days.values())
        periods = (end - start) // HOUR
    else:
        means = [total / hours for hours, total, _ in days.values() if hours >= DAILY_MIN_HOURS]
        valid, above = len(means), sum(1 for m in means if m > standard.value)
        periods = (end - start).days
    status = count_status(above, standard.allowed, valid, periods)
    return Assessment(standard, status, periods, valid, exceedances=above)


def _annual(standard: Standard, daily: dict[date, tuple[int, float, int]], year: int) -> Assessment:
    days = [v for d, v in daily.items() if d.year == year]
    start, end = year_bounds(year)
    periods = (end - start) // HOUR
    hours = sum(h for h, _, _ in days)
    if hours < ANNUAL_MIN_CAPTURE * periods:
        return Assessment(standard, "insufficient data", periods, hours)
    mean = sum(t for _, t, _ in days) / hours
    status: Status = "exceeded" if mean > standard.value else "within"
    return Assessment(standard, status, periods, hours, value=mean)


def _ozone(standard: Standard, maxima: dict[date, tuple[int, float]], year: int) -> Assessment:
    assert standard.allowed is not None
    judged: dict[int, tuple[int, int, int]] = {}
    for past in range(year - O3_YEARS + 1, year + 1):
        start, end = year_bounds(past)
        days = [m for d, (n, m) in maxima.items() if d.year == past and n >= MAX_8H_MIN_MEANS]
        above_in = sum(1 for m in days if m > standard.value)
        judged[past] = (len(days), above_in, (end - start).days)
    valid, above, periods = judged[year]
    counts = [a for v, a, p in judged.values() if v >= ANNUAL_MIN_CAPTURE * p]
    if valid < ANNUAL_MIN_CAPTURE * periods or not counts:
        return Assessment(standard, "insufficient data", periods, valid, above)
    mean = sum(counts) / len(counts)
    status: Status = "exceeded" if mean > standard.allowed else "within"
    return Assessment(standard, status, periods, valid, above, mean)


def _assess(
    standard: Standard,
    daily: dict[date, tuple[int, float, int]],
    maxima: dict[date, tuple[int, float]],
    year: int,
) -> Assessment:
    match standard.metric:
        case "hourly" | "daily_mean":
            return _counted(standard, daily, year)
        case "annual_mean":
            return _annual(standard, daily, year)
        case _:
            return _ozone(standard, maxima, year)


async def stations_year(
    conn: AsyncConnection,
    table: BandTable,
    device_ids: Sequence[str],
    year: int,
    *,
    raw: bool = False,
) -> dict[str, StationYear]:
    """Every station's year (UTC): the index's hours per band (``table``) and the EU
    standards, by device id."""
    if any(hours != 1 for hours in table.averaging_hours.values()):
        raise ValueError(f"table {table.version} uses running means: use air.index instead")
    start, end = year_bounds(year)
    marks = {} if raw else await rollups.watermarks(conn)
    upto = start if raw else (marks.get("1h") or start)
    hourly_limits = {
        (s.pollutant, s.value) for pair in STANDARDS for s in pair if s and s.metric == "hourly"
    }
    limits = dict(hourly_limits)
    assert len(limits) == len(hourly_limits), "one hourly value per pollutant is counted"
    params: dict[str, object] = {
        "devices": list(device_ids),
        "quantities": list(POLLUTANTS),
        "limit_q": list(limits),
        "limit_v": list(limits.values()),
    }
    _hourly(params, start, end, upto)
    hourly = sql.SQL(_HOURLY)
    daily_rows = await (
        await conn.execute(sql.SQL(_DAILY).format(hourly=hourly), params)
    ).fetchall()
    band_rows = await (
        await conn.execute(sql.SQL(_BANDS).format(hourly=hourly, cases=_cases(table)), params)
    ).fetchall()
    ozone_start = year_bounds(year - O3_YEARS + 1)[0] - 7 * HOUR
    ozone: dict[str, object] = {
        "devices": list(device_ids),
        "quantities": ["o3"],
        "min_hours": EIGHT_HOUR_MIN_HOURS,
    }
    _hourly(ozone, ozone_start, end, ozone_start if raw else (marks.get("1h") or ozone_start))
    ozone_rows = await (await conn.execute(sql.SQL(_OZONE).format(hourly=hourly), ozone)).fetchall()

    daily: dict[tuple[str, str], dict[date, tuple[int, float, int]]] = defaultdict(dict)
    for device, quantity, day, hours, total, over in daily_rows:
        daily[(device, quantity)][day] = (hours, total, over)
    bands: dict[str, dict[int, int]] = defaultdict(dict)
    for device, band, hours in band_rows:
        bands[device][band] = hours
    maxima: dict[str, dict[date, tuple[int, float]]] = defaultdict(dict)
    for device, day, n, highest in ozone_rows:
        maxima[device][day] = (n, highest)

    found = {}
    for device in device_ids:
        standards = []
        for now, later in STANDARDS:
            pollutant = (now or later).pollutant  # type: ignore[union-attr]
            days = daily.get((device, pollutant), {})
            if not days and not (pollutant == "o3" and maxima.get(device)):
                continue
            standards.append(
                tuple(
                    None if s is None else _assess(s, days, maxima.get(device, {}), year)
                    for s in (now, later)
                )
            )
        found[device] = StationYear(dict(sorted(bands[device].items())), standards)  # type: ignore[arg-type]
    return found
