"""The European Air Quality Index per station and hour: sub-index per pollutant, overall
band and dominant pollutant.

Each pollutant's concentration, averaged as the table says (:class:`air.bands.BandTable`:
the hour itself, or a 24-hour running mean of hourly means for PM in the pre-2024
table), falls in a band: its *sub-index*. The station's index for the hour is the worst
sub-index ("the index of a station is its worst pollutant's band"); the *dominant*
pollutant is the one in that band. Where several share it, the one furthest into the
band (its concentration's position between the band's bounds; in the open top band, its
concentration over the band's lower bound) dominates, then the first in
:data:`air.bands.POLLUTANTS`.

A pollutant without a value for the hour has no sub-index, and an hour with none has no
index: nothing is invented. A 24-hour running mean needs 18 of its 24 hourly means (the
directive's 75 % data capture for a daily mean), or it has no value.

Hourly means come from the rollups (:func:`storage.rollups.series`), which answer a year
of hours without reading the raw readings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg import AsyncConnection

from air.bands import LEVELS, POLLUTANTS, BandTable
from storage import rollups

HOUR = timedelta(hours=1)
RUNNING_MEAN_MIN_HOURS = 18
"""Hourly means a 24-hour running mean needs (75 % of 24, Directive 2008/50/EC Annex VII)."""

Hourly = Mapping[str, Mapping[datetime, float]]
"""Hourly means by pollutant, then by the hour's start."""


@dataclass(frozen=True)
class SubIndex:
    """One pollutant's part of the index: the concentration judged and its band."""

    pollutant: str
    concentration: float
    band: int

    @property
    def level(self) -> str:
        """The band's name."""
        return LEVELS[self.band]


@dataclass(frozen=True)
class Index:
    """A station's index for one hour: every pollutant's sub-index, the worst band and the
    pollutant in it (None where no pollutant has a value)."""

    hour: datetime
    table: str
    sub_indices: Mapping[str, SubIndex]
    band: int | None
    dominant: str | None

    @property
    def level(self) -> str | None:
        """The overall band's name."""
        return None if self.band is None else LEVELS[self.band]


def sub_index(table: BandTable, pollutant: str, concentration: float) -> SubIndex:
    """The sub-index of ``concentration`` (µg/m³, averaged as ``table`` asks)."""
    return SubIndex(pollutant, concentration, table.band(pollutant, concentration))


def _depth(table: BandTable, sub: SubIndex) -> float:
    """How far into its band a concentration lies: 0 at the lower bound, 1 at the upper;
    in the open top band the concentration over its lower bound (from 1 up)."""
    bounds = table.upper[sub.pollutant]
    low = 0.0 if sub.band == 0 else bounds[sub.band - 1]
    if sub.band == len(bounds):
        return sub.concentration / low
    return (sub.concentration - low) / (bounds[sub.band] - low)


def overall(table: BandTable, hour: datetime, subs: Mapping[str, SubIndex]) -> Index:
    """The index of one hour from its sub-indices: the worst band and the dominant
    pollutant (see the module's docstring)."""
    if not subs:
        return Index(hour, table.version, {}, None, None)
    worst = max(sub.band for sub in subs.values())
    tied = [subs[p] for p in POLLUTANTS if p in subs and subs[p].band == worst]
    dominant = max(tied, key=lambda sub: _depth(table, sub))  # first of equals wins
    ordered = {p: subs[p] for p in POLLUTANTS if p in subs}
    return Index(hour, table.version, ordered, worst, dominant.pollutant)


def index_of(table: BandTable, hour: datetime, values: Mapping[str, float]) -> Index:
    """The index of one hour from concentrations already averaged as ``table`` asks
    (pollutants the index does not use are ignored)."""
    subs = {p: sub_index(table, p, v) for p, v in values.items() if p in table.upper}
    return overall(table, hour, subs)


def averaged(
    table: BandTable, pollutant: str, hourly: Mapping[datetime, float]
) -> dict[datetime, float]:
    """``pollutant``'s concentrations as ``table`` judges them, by hour: the hourly means
    themselves, or running means ending with each hour that has enough hours in its
    window (:data:`RUNNING_MEAN_MIN_HOURS` of 24)."""
    hours = table.averaging_hours[pollutant]
    if hours == 1:
        return dict(hourly)
    need = round(hours * RUNNING_MEAN_MIN_HOURS / 24)
    found: dict[datetime, float] = {}
    ends = sorted({h + k * HOUR for h in hourly for k in range(hours)})
    for end in ends:
        window = [hourly[t] for k in range(hours) if (t := end - k * HOUR) in hourly]
        if len(window) >= need:
            found[end] = sum(window) / len(window)
    return found


def hourly_index(
    table: BandTable, hourly: Hourly, start: datetime | None = None, end: datetime | None = None
) -> list[Index]:
    """The index of every hour in ``[start, end)`` (all hours if None) for which some
    pollutant has a value, oldest first."""
    judged = {p: averaged(table, p, hourly[p]) for p in POLLUTANTS if p in hourly}
    hours = sorted({h for values in judged.values() for h in values})
    return [
        index_of(table, hour, {p: values[hour] for p, values in judged.items() if hour in values})
        for hour in hours
        if (start is None or hour >= start) and (end is None or hour < end)
    ]


def lookback(table: BandTable) -> timedelta:
    """How much earlier than the first hour asked the hourly means must be read (the
    longest running mean's window less its last hour)."""
    return (max(table.averaging_hours.values()) - 1) * HOUR


async def hourly_means(
    conn: AsyncConnection,
    device_ids: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    pollutants: Sequence[str] = POLLUTANTS,
    raw: bool = False,
) -> dict[str, dict[str, dict[datetime, float]]]:
    """Hourly means of each device's pollutants in ``[start, end)``: by device, then
    pollutant, then hour. From the rollups (or the raw readings with ``raw``, for
    comparison)."""
    found: dict[str, dict[str, dict[datetime, float]]] = {d: {} for d in device_ids}
    for pollutant in pollutants:
        buckets = await rollups.series(conn, device_ids, pollutant, start, end, HOUR, raw=raw)
        for bucket in buckets:
            assert bucket.device_id is not None  # per device, not combined
            found[bucket.device_id].setdefault(pollutant, {})[bucket.start] = bucket.mean
    return found


async def station_hours(
    conn: AsyncConnection,
    table: BandTable,
    device_ids: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    raw: bool = False,
) -> dict[str, list[Index]]:
    """Every station's index per hour in ``[start, end)``, by device id."""
    means = await hourly_means(conn, device_ids, start - lookback(table), end, raw=raw)
    return {
        device: hourly_index(table, hourly, rollups.floor_time(start, HOUR), end)
        for device, hourly in means.items()
    }
