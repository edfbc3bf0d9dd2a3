"""Air quality: the European Air Quality Index per station and hour, EU limit values per
station and year, and the index per urbanism zone (:mod:`air`).

``GET /air/bands`` (the index's band tables and their sources), ``GET /air/stations``
(each station's latest index), ``GET /air/stations/{id}/history`` (hourly index and
concentrations, from the rollups), ``GET /air/exceedances?year=`` (limit and target
values, 2030 values beside them), ``GET /air/zones`` (per urbanism zone) and ``GET
/air/drone-samples`` (drones' samples as GeoJSON points with their index). All public:
air quality is open data. ``table`` picks the band table (``2024``, the default, or
``pre-2024`` to recompute a report as it was published).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from psycopg import AsyncConnection

from air import annual, bands, drone_samples, exceedances, stations, zones
from air.errors import InvalidPeriod
from air.exceedances import Assessment
from api.deps import connection
from api.openapi import problems
from api.params import UtcDateTime, period

router = APIRouter(tags=["air"], responses=problems(503))  # each reads the database

_JSON = "application/json"
_TABLE_HELP = "band table: 2024 (default) or pre-2024"
MAX_DRONE_SAMPLES = 10_000
"""The most drone samples one answer holds (``limit``), which bounds the answer's size (one
GeoJSON feature each); longer spans come by periods (``start``, ``end``)."""
HISTORY_MAX = timedelta(days=366)
"""The longest period a history or zone summary covers (a year of hours)."""
FIRST_YEAR = 2000
EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
"""Periods are asked within these bounds (a running mean reads hours before the first)."""


def _json(document: object) -> Response:
    return Response(orjson.dumps(document), media_type=_JSON)


Table = Annotated[str, Query(description=_TABLE_HELP)]


def _period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    start, end = period(start, end)
    if start < EARLIEST or end > LATEST:
        raise InvalidPeriod(
            f"ask for a period from {EARLIEST.date()} to {LATEST.date()}, not"
            f" {start.isoformat()} to {end.isoformat()}"
        )
    if end - start > HISTORY_MAX:
        raise InvalidPeriod(
            f"the period spans {end - start}; ask for at most {HISTORY_MAX.days} days at once"
        )
    return start, end


@router.get("/air/bands", responses={200: {"content": {_JSON: {}}}})
async def band_tables() -> Response:
    """The index's band tables, each with its source; the default first."""
    tables = sorted(bands.TABLES.values(), key=lambda t: t.version != bands.DEFAULT)
    return _json({"default": bands.DEFAULT, "tables": [t.describe() for t in tables]})


@router.get("/air/stations", responses={200: {"content": {_JSON: {}}}, **problems(400)})
async def station_list(
    conn: Annotated[AsyncConnection, Depends(connection)], table: Table = bands.DEFAULT
) -> Response:
    """Every station with its latest index: the newest hour within 3 hours with a value
    (the hour under way counts with its readings so far), the overall band, the dominant
    pollutant and each pollutant's sub-index; ``index`` is null without one."""
    chosen = bands.table(table)
    now = datetime.now(UTC)
    found = await stations.stations(conn)
    latest = await stations.latest(conn, chosen, [s.station_id for s in found], now)
    documents = [
        s.document()
        | {"index": None if (i := latest[s.station_id]) is None else stations.index_document(i)}
        for s in found
    ]
    body = {"as_of": now.isoformat(), "table": chosen.version, "stations": documents}
    return _json(body | {"count": len(documents)})


@router.get(
    "/air/stations/{station_id}/history",
    responses={200: {"content": {_JSON: {}}}, **problems(400, 404)},
)
async def station_history(
    station_id: str,
    conn: Annotated[AsyncConnection, Depends(connection)],
    start: Annotated[UtcDateTime | None, Query(description="default: 24 h before end")] = None,
    end: Annotated[UtcDateTime | None, Query(description="default: now")] = None,
    table: Table = bands.DEFAULT,
) -> Response:
    """A station's index per hour over ``[start, end)`` (at most 366 days) with its hourly
    mean concentrations (µg/m³), from the rollups; hours without readings are absent."""
    chosen = bands.table(table)
    start, end = _period(start, end)
    found = await stations.station(conn, station_id)
    indices, hourly = await stations.history(conn, chosen, station_id, start, end)
    by_hour = {i.hour: i for i in indices}
    hours = [
        {
            "hour": hour.isoformat(),
            "concentrations": {p: round(v, 2) for p, v in hourly.get(hour, {}).items()},
        }
        | (
            {}
            if (i := by_hour.get(hour)) is None
            else {k: v for k, v in stations.index_document(i).items() if k != "hour"}
        )
        for hour in sorted(set(hourly) | set(by_hour))
    ]
    return _json(
        found.document()
        | {"table": chosen.version, "start": start.isoformat(), "end": end.isoformat()}
        | {"hours": hours, "count": len(hours)}
    )


def _assessment(one: Assessment | None) -> dict[str, Any] | None:
    if one is None:
        return None
    s = one.standard
    return {
        "value": s.value,
        "kind": s.kind,
        "allowed": s.allowed,
        "law": s.law,
        "confirmed": s.confirmed,
        "status": one.status,
        "exceedances": one.exceedances,
        "exceedances_averaged": one.averaged,
        "annual_mean": None if one.value is None else round(one.value, 2),
        "periods": one.periods,
        "valid_periods": one.valid,
        "capture": round(one.capture, 4),
    }


@router.get("/air/exceedances", responses={200: {"content": {_JSON: {}}}, **problems(400, 404)})
async def exceedance_counts(
    conn: Annotated[AsyncConnection, Depends(connection)],
    year: Annotated[int | None, Query(description="calendar year (UTC); default this one")] = None,
    station: Annotated[str | None, Query(description="one station's id; default all")] = None,
) -> Response:
    """EU limit and target values per station over a calendar year: exceedances counted
    against the allowed numbers, annual means, the directive's data capture, and the
    values of Directive (EU) 2024/2881 (from 2030) beside those in force, and the hours
    the station spent in each band of the index (2024 table). A period without enough
    data is "insufficient data", never a made-up value."""
    this_year = datetime.now(UTC).year
    year = this_year if year is None else year
    if not FIRST_YEAR <= year <= this_year:
        raise InvalidPeriod(f"year {year}: ask for one from {FIRST_YEAR} to {this_year}")
    found = (
        await stations.stations(conn)
        if station is None
        else [await stations.station(conn, station)]
    )
    ids = [s.station_id for s in found]
    judged = await annual.stations_year(conn, bands.EAQI_2024, ids, year)
    documents = []
    for one in found:
        standards = []
        for now, later in judged[one.station_id].standards:
            standard = (now or later).standard  # type: ignore[union-attr]
            standards.append(
                {
                    "pollutant": standard.pollutant,
                    "metric": standard.metric,
                    "in_force": _assessment(now),
                    "from_2030": _assessment(later),
                }
            )
        hours = {bands.LEVELS[b]: n for b, n in judged[one.station_id].hours_by_band.items()}
        documents.append(one.document() | {"index_hours": hours, "standards": standards})
    rules = {
        "daily_mean_min_hours": exceedances.DAILY_MIN_HOURS,
        "eight_hour_mean_min_hours": exceedances.EIGHT_HOUR_MIN_HOURS,
        "max_daily_8h_mean_min_means": exceedances.MAX_8H_MIN_MEANS,
        "annual_min_capture": exceedances.ANNUAL_MIN_CAPTURE,
        "days": "UTC",
    }
    return _json({"year": year, "rules": rules, "stations": documents, "count": len(documents)})


@router.get("/air/zones", responses={200: {"content": {_JSON: {}}}, **problems(400)})
async def zone_list(
    conn: Annotated[AsyncConnection, Depends(connection)],
    start: Annotated[UtcDateTime | None, Query(description="default: 24 h before end")] = None,
    end: Annotated[UtcDateTime | None, Query(description="default: now")] = None,
    table: Table = bands.DEFAULT,
) -> Response:
    """Per urbanism zone holding a station, over ``[start, end)`` (at most 366 days): its
    stations, hours in each band of the index (a zone's hour is its worst station's), the
    worst and latest band and each pollutant's mean of hourly means."""
    chosen = bands.table(table)
    start, end = _period(start, end)
    found = await zones.zone_summaries(conn, chosen, start, end)
    body = {"start": start.isoformat(), "end": end.isoformat(), "table": chosen.version}
    return _json(body | {"zones": found, "count": len(found)})


@router.get(
    "/air/drone-samples",
    responses={200: {"content": {"application/geo+json": {}}}, **problems(400)},
)
async def drone_sample_points(
    conn: Annotated[AsyncConnection, Depends(connection)],
    start: Annotated[UtcDateTime | None, Query(description="default: 24 h before end")] = None,
    end: Annotated[UtcDateTime | None, Query(description="default: now")] = None,
    drone: Annotated[str | None, Query(description="one drone's id; default all")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_DRONE_SAMPLES)] = 1000,
    table: Table = bands.DEFAULT,
) -> Response:
    """Drones' air samples over ``[start, end)`` (at most 366 days), oldest first: a
    GeoJSON point (CRS84) per drone and time with its concentrations (µg/m³), each
    pollutant's sub-index, the overall band and the dominant pollutant. Spot samples
    judged with the hourly bands: indicative (``docs/air.md``); the pre-2024 table,
    which judges PM on 24-hour means, is refused."""
    chosen = bands.table(table)
    start, end = _period(start, end)
    document = await drone_samples.samples(conn, chosen, start, end, limit, drone)
    return Response(orjson.dumps(document), media_type="application/geo+json")
