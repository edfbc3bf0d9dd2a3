"""Parking history: each lot's and zone's occupancy as one derived series, and what is
read from it (history at 5 minutes, an hour or a day; utilisation by hour of week; the
peak).

Every 5 minutes the hub records each lot's live state (:mod:`parking.occupancy`:
bays and counter reconciled, the operators' capacity and bays out of service applied)
as ordinary readings of a derived series, and each zone's total the same way
(:mod:`parking.history_recorder`). A lot's history is then *one* series that the
rollups (:mod:`storage.rollups`) keep like any other: a year by hour reads 8,760 rows
of one series instead of combining a counter and every bay (measured in
``BENCHMARKS.md``). The series:

==========================  ==================================================
device id                   what
==========================  ==================================================
``parking-lot:{lot_id}``    a lot
``parking-zone:{code}``     an urbanism zone's lots (the twin's places)
``parking-paid:{code}``     a paid parking zone's lots (layer ``parking_zones``)
==========================  ==================================================

each with three quantities per sample: :data:`OCCUPIED` (places), :data:`CAPACITY`
(places offered) and :data:`OCCUPANCY` (their ratio, 0..1, so that its bucket minimum
and maximum are exact). The ``:`` cannot occur in a sensor's id (``ingest_mqtt/topics``)
so a derived series never mixes with a device's readings, and none is registered as a
device: they are the hub's, not a sensor's.

A sample is recorded only for a lot that offers places and has a figure: a closed lot
or one with no data or no capacity records nothing then (the bucket's ``samples`` shows
the gap), exactly the lots a zone's live total counts (:func:`parking.zones.summary`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from psycopg import AsyncConnection

from parking.errors import LotNotFound, ParkingError
from parking.model import LotStatus
from parking.store import Lot
from parking.zones import PAID_ZONES_LAYER
from storage import rollups
from storage.readings import Reading

OCCUPIED = "parking_occupied"
CAPACITY = "parking_capacity"
OCCUPANCY = "parking_occupancy"
QUANTITIES = (OCCUPIED, CAPACITY, OCCUPANCY)

LOT_PREFIX = "parking-lot:"
ZONE_PREFIX = "parking-zone:"
PAID_PREFIX = "parking-paid:"

SAMPLE_EVERY = timedelta(minutes=5)
"""How often lots are sampled: the finest rollup level, one sample per bucket."""

STEPS = {"5m": timedelta(minutes=5), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
"""The bucket widths a history is asked in (days are UTC days, as the rollups')."""
MAX_BUCKETS = 10_000
"""The most buckets one history answers: 34 days by 5 minutes, 416 days by hour,
27 years by day."""
MAX_UTILISATION_RANGE = timedelta(days=3 * 366)
"""The longest range utilisation by hour of week is computed over (from hourly buckets)."""
DEFAULT_TIME_ZONE = "Europe/Bucharest"
"""Whose hours of the week utilisation is counted in, unless asked otherwise."""


class InvalidHistoryRequest(ParkingError):
    """A history asked with a range or step that cannot be answered; the message says
    what to ask instead."""

    status_code = 400
    title = "Invalid parameter"


class ZoneNotFound(ParkingError):
    """No zone has this code (among the lots' urbanism zones or the paid parking zones)."""

    status_code = 404
    title = "Not found"


def lot_series(lot_id: str) -> str:
    """The derived series' device id of a lot."""
    return LOT_PREFIX + lot_id


def zone_series(code: str, paid: bool = False) -> str:
    """The derived series' device id of an urbanism zone, or of a paid parking zone."""
    return (PAID_PREFIX if paid else ZONE_PREFIX) + code


# --- recording -------------------------------------------------------------------


def _sample(series: str, at: datetime, occupied: int, capacity: int) -> list[Reading]:
    return [
        Reading(series, OCCUPIED, at, float(occupied)),
        Reading(series, CAPACITY, at, float(capacity)),
        Reading(series, OCCUPANCY, at, occupied / capacity),
    ]


def counted(lot: Lot) -> tuple[int, int] | None:
    """A lot's (occupied, capacity) as its history records it, or None when it records
    nothing: closed, or without a figure or a capacity."""
    state = lot.state
    if state.status in (LotStatus.CLOSED, LotStatus.UNKNOWN):
        return None
    if state.occupied is None or not state.capacity:
        return None
    return state.occupied, state.capacity


def samples(
    lots: Iterable[Lot], at: datetime, paid_zones: Mapping[str, Sequence[str]] | None = None
) -> list[Reading]:
    """The readings that record ``lots`` at ``at``: each lot's, each urbanism zone's
    total over its lots, and each paid zone's (``paid_zones``: zone code → its lots'
    ids). A zone none of whose lots counts records nothing."""
    figures: dict[str, tuple[int, int]] = {}
    zone_of: dict[str, str | None] = {}
    for lot in lots:
        figure = counted(lot)
        if figure is not None:
            figures[lot.state.lot_id] = figure
            zone_of[lot.state.lot_id] = lot.zone_code
    return figure_samples(at, figures, zone_of, paid_zones)


def figure_samples(
    at: datetime,
    figures: Mapping[str, tuple[int, int]],
    zone_of: Mapping[str, str | None],
    paid_zones: Mapping[str, Sequence[str]] | None = None,
) -> list[Reading]:
    """The readings of lots' (occupied, capacity) ``figures`` at ``at`` (by lot id; the
    lots that record nothing left out), with their urbanism zones' (``zone_of``) and
    paid zones' totals."""
    found: list[Reading] = []
    zones: dict[str, list[tuple[int, int]]] = {}
    for lot_id, figure in sorted(figures.items()):
        found += _sample(lot_series(lot_id), at, *figure)
        code = zone_of.get(lot_id)
        if code is not None:
            zones.setdefault(code, []).append(figure)
    for code, held in sorted(zones.items()):
        found += _sample(zone_series(code), at, *_total(held))
    for code, lot_ids in sorted((paid_zones or {}).items()):
        held = [figures[i] for i in lot_ids if i in figures]
        if held:
            found += _sample(zone_series(code, paid=True), at, *_total(held))
    return found


def _total(figures: Sequence[tuple[int, int]]) -> tuple[int, int]:
    return sum(o for o, _ in figures), sum(c for _, c in figures)


# --- reading ---------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryBucket:
    """One bucket of a lot's or zone's history."""

    start: datetime
    end: datetime
    samples: int
    """How many 5-minute samples the bucket holds (a full hour: 12)."""
    occupied: float
    """Mean occupied places."""
    occupied_min: float
    occupied_max: float
    """The peak: most places occupied at once."""
    capacity: float
    """Mean places offered."""
    free: float
    """Mean free places (mean capacity less mean occupied)."""
    occupancy: float
    """Mean occupied share (0..1)."""
    occupancy_max: float


def step_width(step: str) -> timedelta:
    """The bucket width a step names; :class:`InvalidHistoryRequest` for another."""
    if step not in STEPS:
        raise InvalidHistoryRequest(f"step {step!r} is not one of {', '.join(STEPS)}")
    return STEPS[step]


def bucket_count(start: datetime, end: datetime, width: timedelta) -> int:
    """How many buckets of ``width`` overlap ``[start, end)`` (the grid's, whole)."""
    first = rollups.floor_time(start, width)
    last = rollups.floor_time(end - timedelta.resolution, width)
    return (last - first) // width + 1


def check_calendar(start: datetime, end: datetime, width: timedelta) -> None:
    """Refuse a range whose buckets (and their local days) would leave Python's calendar
    (years 1 to 9999): they could not be computed."""
    try:
        rollups.floor_time(start, width) - timedelta(days=2)
        rollups.floor_time(end, width) + width + timedelta(days=2)
    except OverflowError:
        raise InvalidHistoryRequest(
            f"the range {start.isoformat()} .. {end.isoformat()} reaches the calendar's"
            " limits: ask one within the years 1 to 9999, a few days from either end"
        ) from None


def check_range(start: datetime, end: datetime, width: timedelta) -> None:
    """Refuse an empty range, one outside the calendar and one of more than
    :data:`MAX_BUCKETS` buckets, naming the step that would do."""
    if start >= end:
        raise InvalidHistoryRequest(
            f"start {start.isoformat()} must be before end {end.isoformat()}"
        )
    check_calendar(start, end, width)
    buckets = bucket_count(start, end, width)
    if buckets > MAX_BUCKETS:
        fits = [
            name
            for name, wider in STEPS.items()
            if wider > width and bucket_count(start, end, wider) <= MAX_BUCKETS
        ]
        remedy = f"ask step={fits[0]}" if fits else "ask a shorter range"
        raise InvalidHistoryRequest(
            f"{buckets} buckets of {width} asked; at most {MAX_BUCKETS}: {remedy}"
        )


async def series_history(
    conn: AsyncConnection,
    series: str,
    start: datetime,
    end: datetime,
    width: timedelta,
    *,
    raw: bool = False,
) -> list[HistoryBucket]:
    """A derived series' buckets of ``width`` overlapping ``[start, end)``, oldest first
    (buckets without samples left out); from the rollups, or the raw readings with
    ``raw`` (for comparison)."""
    rows = await rollups.series_wide(conn, series, QUANTITIES, start, end, width, raw=raw)
    found = []
    for row in rows:
        moment, n, occupied, least, most, n_offered, offered, _, _, n_share, share, _, top = row
        if not n or n_offered != n or n_share != n:
            continue  # a sample being written: its three readings commit together
        found.append(
            HistoryBucket(
                start=moment,
                end=moment + width,
                samples=n,
                occupied=occupied / n,
                occupied_min=least,
                occupied_max=most,
                capacity=offered / n,
                free=(offered - occupied) / n,
                occupancy=share / n,
                occupancy_max=top,
            )
        )
    return found


async def require_lot(conn: AsyncConnection, lot_id: str) -> None:
    """:class:`LotNotFound` unless a parking lot has this id."""
    row = await (
        await conn.execute(
            "SELECT 1 FROM assets WHERE asset_id = %s AND kind = 'parking_lot'", (lot_id,)
        )
    ).fetchone()
    if row is None:
        raise LotNotFound(f"no parking lot {lot_id!r}; see /parking/lots")


_ZONE_KNOWN = """
SELECT EXISTS (SELECT 1 FROM asset_places p JOIN assets a USING (asset_id)
               WHERE a.kind = 'parking_lot' AND p.zone_code = %(code)s)
    OR EXISTS (SELECT 1 FROM latest_readings WHERE device_id = %(series)s)
"""
_PAID_ZONE_KNOWN = """
SELECT EXISTS (SELECT 1 FROM features WHERE layer_id = %(layer)s
               AND properties->>'code' = %(code)s)
    OR EXISTS (SELECT 1 FROM latest_readings WHERE device_id = %(series)s)
"""


async def require_zone(conn: AsyncConnection, code: str, paid: bool) -> None:
    """:class:`ZoneNotFound` unless the zone holds a lot now (urbanism), is in the paid
    zones' layer (paid), or has a history."""
    query = _PAID_ZONE_KNOWN if paid else _ZONE_KNOWN
    params = {"code": code, "series": zone_series(code, paid), "layer": PAID_ZONES_LAYER}
    row = await (await conn.execute(query, params)).fetchone()
    if row is None or not row[0]:
        kind = "paid parking zone" if paid else "urbanism zone with parking lots"
        raise ZoneNotFound(f"no {kind} {code!r}; see /parking/zones")


# --- utilisation by hour of week -------------------------------------------------


@dataclass(frozen=True)
class WeekHour:
    """One hour of the week (local time): its mean occupancy over the range, its peak."""

    weekday: int
    """0 Monday .. 6 Sunday."""
    hour: int
    hours: int
    """How many hours of the range with samples fell on it."""
    occupancy: float | None
    """Mean occupied share over those hours' samples (None: no samples)."""
    occupancy_max: float | None
    occupied_max: float | None


@dataclass(frozen=True)
class Peak:
    """The most places occupied at once over a range, and when (the first time)."""

    occupied: float
    occupancy: float
    at: datetime
    resolution: str
    """``5m`` where the 5-minute rollups still hold the peak's hour, else ``1h``."""


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; :class:`InvalidHistoryRequest` for another name (only
    the database's names are looked up: no file path reaches the loader)."""
    if name not in _zone_names():
        raise InvalidHistoryRequest(
            f"time zone {name!r} is not an IANA name such as {DEFAULT_TIME_ZONE}"
        )
    return ZoneInfo(name)


def by_hour_of_week(hours: Sequence[HistoryBucket], zone: ZoneInfo) -> list[WeekHour]:
    """168 cells, Monday 00:00 first, from hourly buckets: each hour counts in the
    local hour of the week it starts in (the zone's offsets are whole hours), its
    samples weighted by their number."""
    sums = [0.0] * 168
    counts = [0] * 168
    n_hours = [0] * 168
    top: list[float | None] = [None] * 168
    top_places: list[float | None] = [None] * 168
    for bucket in hours:
        local = bucket.start.astimezone(zone)
        cell = local.weekday() * 24 + local.hour
        sums[cell] += bucket.occupancy * bucket.samples
        counts[cell] += bucket.samples
        n_hours[cell] += 1
        top[cell] = max(top[cell] or 0.0, bucket.occupancy_max)
        top_places[cell] = max(top_places[cell] or 0.0, bucket.occupied_max)
    return [
        WeekHour(
            cell // 24,
            cell % 24,
            n_hours[cell],
            sums[cell] / counts[cell] if counts[cell] else None,
            top[cell],
            top_places[cell],
        )
        for cell in range(168)
    ]


async def peak(conn: AsyncConnection, series: str, hours: Sequence[HistoryBucket]) -> Peak | None:
    """The range's peak from its hourly buckets, placed at its first 5-minute sample."""
    if not hours:
        return None
    best = max(hours, key=lambda b: (b.occupied_max, -b.start.timestamp()))
    fine = await rollups.series(conn, [series], OCCUPIED, best.start, best.end, STEPS["5m"])
    for bucket in fine:
        if bucket.max == best.occupied_max:
            at = bucket.first_time if bucket.first_value == bucket.max else bucket.start
            return Peak(best.occupied_max, best.occupancy_max, at, "5m")
    return Peak(best.occupied_max, best.occupancy_max, best.start, "1h")
