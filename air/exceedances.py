"""EU limit and target values per station and calendar year, counted as the directives
count them, with the values of Directive (EU) 2024/2881 (from 2030) beside them.

Values from ``../shared/DOMAIN.md`` (Directive 2008/50/EC, in force):

- PM10: daily mean 50 µg/m³, at most 35 days a year; annual mean 40;
- PM2.5: annual mean 25;
- NO2: hourly 200, at most 18 hours a year; annual mean 40;
- SO2: hourly 350, at most 24 hours a year; daily 125, at most 3 days;
- O3: target value, maximum daily 8-hour mean 120, at most 25 days a year averaged over
  three years.

From 2030 (Directive (EU) 2024/2881, as DOMAIN.md gives them): PM2.5 annual 10, PM10
annual 20 and daily 45 (18 days), NO2 annual 20 and daily 50 (18 days). The directive's
other 2030 values (NO2 and SO2 hourly 3 times, SO2 daily 50 on 18 days and annual 20) are
not in DOMAIN.md and are marked ``confirmed: false``: shown, to be checked against the
directive's Annex I before a report relies on them.

Data capture (Directive 2008/50/EC Annex VII, DOMAIN.md): a daily mean needs 18 of its 24
hourly means; an 8-hour mean 6 of its 8; a maximum daily 8-hour mean 18 of the day's 24
running 8-hour means; an annual mean 90 % of the year's hours (planned maintenance is not
recorded by the hub, so it is not deducted). A period without enough data has no value
("insufficient data") and is not counted either way; a count is "within" only when 90 %
of the year's periods are valid, and "exceeded" as soon as the exceedances counted pass
the allowed number, whatever the capture. Exceeding means strictly above the value.

Days are UTC days; each running 8-hour mean belongs to the day on which it ends. Hourly
means are taken as they are: the hub does not know a sensor's reporting interval, so an
hour with few readings counts as one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from psycopg import AsyncConnection

from air.bands import POLLUTANTS
from air.index import HOUR, hourly_means

DAILY_MIN_HOURS = 18
"""Hourly means a daily mean needs (75 % of 24)."""
EIGHT_HOUR_MIN_HOURS = 6
"""Hourly means an 8-hour mean needs (75 % of 8)."""
MAX_8H_MIN_MEANS = 18
"""Running 8-hour means a maximum daily 8-hour mean needs (75 % of 24)."""
ANNUAL_MIN_CAPTURE = 0.90
"""Share of the year's hours (or days) an annual figure needs."""
O3_YEARS = 3
"""Years over which the O3 target value's exceedance days are averaged."""

Status = Literal["within", "exceeded", "insufficient data"]
Metric = Literal["hourly", "daily_mean", "max_daily_8h_mean", "annual_mean"]
Hourly = Mapping[datetime, float]


@dataclass(frozen=True)
class Standard:
    """One limit or target value: what is averaged, the value, how many periods may exceed
    it in a year (None: an annual mean, none), under which law and whether DOMAIN.md
    confirms it."""

    pollutant: str
    metric: Metric
    value: float
    allowed: int | None
    law: str
    kind: Literal["limit value", "target value"] = "limit value"
    confirmed: bool = True


D2008 = "Directive 2008/50/EC"
D2030 = "Directive (EU) 2024/2881, from 2030"

STANDARDS: tuple[tuple[Standard | None, Standard | None], ...] = (
    (Standard("pm10", "daily_mean", 50, 35, D2008), Standard("pm10", "daily_mean", 45, 18, D2030)),
    (
        Standard("pm10", "annual_mean", 40, None, D2008),
        Standard("pm10", "annual_mean", 20, None, D2030),
    ),
    (
        Standard("pm25", "annual_mean", 25, None, D2008),
        Standard("pm25", "annual_mean", 10, None, D2030),
    ),
    (
        Standard("no2", "hourly", 200, 18, D2008),
        Standard("no2", "hourly", 200, 3, D2030, confirmed=False),
    ),
    (None, Standard("no2", "daily_mean", 50, 18, D2030)),
    (
        Standard("no2", "annual_mean", 40, None, D2008),
        Standard("no2", "annual_mean", 20, None, D2030),
    ),
    (
        Standard("so2", "hourly", 350, 24, D2008),
        Standard("so2", "hourly", 350, 3, D2030, confirmed=False),
    ),
    (
        Standard("so2", "daily_mean", 125, 3, D2008),
        Standard("so2", "daily_mean", 50, 18, D2030, confirmed=False),
    ),
    (None, Standard("so2", "annual_mean", 20, None, D2030, confirmed=False)),
    (Standard("o3", "max_daily_8h_mean", 120, 25, D2008, kind="target value"), None),
)
"""Each value in force beside its 2030 counterpart (None where one of them has none)."""


@dataclass(frozen=True)
class Assessment:
    """One standard judged over one year at one station.

    ``exceedances``: periods (hours, days) above the value, among ``valid`` of ``periods``;
    for O3, the days of this year, with ``averaged`` over the (up to three) years with
    data. ``value``: an annual mean, None with insufficient data.
    """

    standard: Standard
    status: Status
    periods: int
    valid: int
    exceedances: int | None = None
    averaged: float | None = None
    value: float | None = None

    @property
    def capture(self) -> float:
        """Share of the year's periods with a valid value."""
        return self.valid / self.periods if self.periods else 0.0


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The calendar year ``[1 January, 1 January next)`` in UTC."""
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def _hours_in(year: int) -> int:
    start, end = year_bounds(year)
    return (end - start) // HOUR


def _days_in(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def daily_means(hourly: Hourly) -> dict[date, float | None]:
    """Each UTC day's mean of its hourly means; None for a day with fewer than
    :data:`DAILY_MIN_HOURS` (insufficient data)."""
    days: dict[date, list[float]] = defaultdict(list)
    for hour, value in hourly.items():
        days[hour.astimezone(UTC).date()].append(value)
    return {
        day: (sum(v) / len(v) if len(v) >= DAILY_MIN_HOURS else None)
        for day, v in sorted(days.items())
    }


def eight_hour_means(hourly: Hourly) -> dict[datetime, float | None]:
    """The running 8-hour mean ending with each hour (the hour ``h`` holds hours ``h-7``
    to ``h``) wherever the window holds a value; None with fewer than 6 hourly means."""
    ends = sorted({h + k * HOUR for h in hourly for k in range(8)})
    found: dict[datetime, float | None] = {}
    for end in ends:
        window = [hourly[t] for k in range(8) if (t := end - k * HOUR) in hourly]
        found[end] = sum(window) / len(window) if len(window) >= EIGHT_HOUR_MIN_HOURS else None
    return found


def max_daily_8h_means(hourly: Hourly) -> dict[date, float | None]:
    """Each UTC day's highest running 8-hour mean (a mean belongs to the day on which its
    last hour lies); None for a day with fewer than 18 valid running means."""
    days: dict[date, list[float]] = defaultdict(list)
    seen: set[date] = set()
    for end, value in eight_hour_means(hourly).items():
        day = end.astimezone(UTC).date()
        seen.add(day)
        if value is not None:
            days[day].append(value)
    return {
        day: (max(days[day]) if len(days[day]) >= MAX_8H_MIN_MEANS else None)
        for day in sorted(seen)
    }


def _in_year(values: Mapping[datetime, float], year: int) -> dict[datetime, float]:
    start, end = year_bounds(year)
    return {t: v for t, v in values.items() if start <= t < end}


def count_status(exceedances: int, allowed: int, valid: int, periods: int) -> Status:
    """A count's status: exceeded past the allowed number, else within only with 90 % of
    the periods valid."""
    if exceedances > allowed:
        return "exceeded"
    if valid < ANNUAL_MIN_CAPTURE * periods:
        return "insufficient data"
    return "within"


def _counted(
    standard: Standard, values: Mapping[date, float | None] | Mapping[datetime, float], year: int
) -> Assessment:
    """A count of periods above the standard's value in ``year``."""
    assert standard.allowed is not None
    inside = {k: v for k, v in values.items() if k.year == year}
    valid = [v for v in inside.values() if v is not None]
    above = sum(1 for v in valid if v > standard.value)
    periods = _hours_in(year) if standard.metric == "hourly" else _days_in(year)
    status = count_status(above, standard.allowed, len(valid), periods)
    return Assessment(standard, status, periods, len(valid), exceedances=above)


def _annual(standard: Standard, hourly: Hourly, year: int) -> Assessment:
    inside = _in_year(hourly, year)
    periods = _hours_in(year)
    if len(inside) < ANNUAL_MIN_CAPTURE * periods:
        return Assessment(standard, "insufficient data", periods, len(inside))
    mean = sum(inside.values()) / len(inside)
    status: Status = "exceeded" if mean > standard.value else "within"
    return Assessment(standard, status, periods, len(inside), value=mean)


def _ozone(standard: Standard, hourly: Hourly, year: int) -> Assessment:
    """Days with a maximum daily 8-hour mean above the target in ``year`` and averaged over
    it and the two years before (those with 90 % of their days valid; at least this one)."""
    assert standard.allowed is not None
    maxima = max_daily_8h_means(hourly)
    this = _counted(standard, maxima, year)
    counts = []
    for past in range(year - O3_YEARS + 1, year + 1):
        judged = _counted(standard, maxima, past)
        if judged.valid >= ANNUAL_MIN_CAPTURE * judged.periods:
            counts.append(judged.exceedances or 0)
    if this.valid < ANNUAL_MIN_CAPTURE * this.periods or not counts:
        return Assessment(standard, "insufficient data", this.periods, this.valid, this.exceedances)
    mean = sum(counts) / len(counts)
    status: Status = "exceeded" if mean > standard.allowed else "within"
    return Assessment(standard, status, this.periods, this.valid, this.exceedances, mean)


def assess(standard: Standard, hourly: Hourly, year: int) -> Assessment:
    """``standard`` judged over ``year`` from a station's hourly means of its pollutant
    (for O3, those of the two years before too)."""
    match standard.metric:
        case "hourly":
            return _counted(standard, _in_year(hourly, year), year)
        case "daily_mean":
            return _counted(standard, daily_means(_in_year(hourly, year)), year)
        case "annual_mean":
            return _annual(standard, hourly, year)
        case _:
            return _ozone(standard, hourly, year)


def station_year(
    hourly: Mapping[str, Hourly], year: int
) -> list[tuple[Assessment | None, Assessment | None]]:
    """Every standard at one station over ``year``, in force beside 2030, for the
    pollutants the station measures (by pollutant, its hourly means)."""
    found = []
    for now, later in STANDARDS:
        pollutant = (now or later).pollutant  # type: ignore[union-attr]
        values = hourly.get(pollutant)
        if not values:
            continue
        found.append(
            (
                None if now is None else assess(now, values, year),
                None if later is None else assess(later, values, year),
            )
        )
    return found


def reading_window(year: int) -> tuple[datetime, datetime]:
    """The hours to read to judge ``year``: the two years before it too (the O3 target's
    three-year average), and the 7 hours before those (the first 8-hour means)."""
    start, end = year_bounds(year)
    return year_bounds(year - O3_YEARS + 1)[0] - 7 * HOUR, end


async def stations_year(
    conn: AsyncConnection, device_ids: Sequence[str], year: int, *, raw: bool = False
) -> dict[str, list[tuple[Assessment | None, Assessment | None]]]:
    """Every station's standards over ``year``, from hourly means of the rollups (or the raw
    readings with ``raw``, for comparison), by device id."""
    start, end = reading_window(year)
    year_start = year_bounds(year)[0]
    others = tuple(p for p in POLLUTANTS if p != "o3")
    means = await hourly_means(conn, device_ids, year_start, end, pollutants=others, raw=raw)
    ozone = await hourly_means(conn, device_ids, start, end, pollutants=("o3",), raw=raw)
    for device, hourly in ozone.items():
        means[device] |= hourly
    return {device: station_year(hourly, year) for device, hourly in means.items()}
