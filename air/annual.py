"""A year of every station at once: the index's hours per band and the EU standards of
:mod:`air.exceedances`, judged over numpy grids of hourly means.

:mod:`air.exceedances` and :mod:`air.index` judge a station's hourly means one Python
object at a time: for a year of 50 stations (2.2 million hourly means) that takes many
seconds. Here the same rules run over whole grids (:mod:`air.hourly_grid`: a row per
station, a column per hour), read from the hourly rollup in one query per pollutant.

The answer is the same to the last bit, not only close: every sum is taken in the order
the Python rules take it (hour after hour; a missing hour adds nothing), the same
divisions follow, and bands are found with the same bisection (``searchsorted`` on the
left is ``bisect_left``). ``tests/air/test_annual.py`` checks both on a scripted year
and on generated ones.

Hourly means come from ``readings_1h`` up to its watermark and from finer levels and raw
readings after it (as :func:`storage.rollups.series` answers), or all from raw readings
with ``raw``, for comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from psycopg import AsyncConnection

from air.bands import LEVELS, POLLUTANTS, BandTable
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
    reading_window,
    year_bounds,
)
from air.hourly_grid import HourGrid, hourly_grids
from air.index import HOUR
from storage import rollups

_DAY_HOURS = 24
_EIGHT_HOURS = 8


@dataclass(frozen=True)
class StationYear:
    """One station's year: hours per band of the index, each standard beside its 2030
    counterpart (as :func:`air.exceedances.station_year`)."""

    hours_by_band: dict[int, int]
    standards: list[tuple[Assessment | None, Assessment | None]]


def _in_order_sum(values: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Sums over the last axis taken element after element, as Python's ``sum`` of the
    measured values takes them (numpy's own ``sum`` adds pairwise, which can differ in
    the last bit and so at a limit value)."""
    total = np.zeros(values.shape[:-1])
    if values.shape[-1] <= _DAY_HOURS:  # a few columns: added column by column
        for column in range(values.shape[-1]):
            np.add(total, values[..., column], out=total, where=measured[..., column])
        return total
    return np.cumsum(np.where(measured, values, 0.0), axis=-1)[..., -1]


def _hours_by_band(table: BandTable, year: dict[str, np.ndarray]) -> np.ndarray:
    """Per station, hours in each band (columns 0 .. 5): an hour's band is its worst
    pollutant's, an hour without any mean has none."""
    stations, hours = next(iter(year.values())).shape
    worst = np.full((stations, hours), -1, dtype=np.int64)
    for pollutant, values in year.items():
        bounds = np.asarray(table.upper[pollutant], dtype=float)
        bands = np.searchsorted(bounds, values, side="left")
        np.maximum(worst, np.where(np.isnan(values), -1, bands), out=worst)
    keys = np.arange(stations)[:, None] * len(LEVELS) + worst
    counts = np.bincount(keys[worst >= 0], minlength=stations * len(LEVELS))
    return counts.reshape(stations, len(LEVELS))


@dataclass(frozen=True)
class _Pollutant:
    """One pollutant's year at every station, reduced to what the standards need."""

    hours: np.ndarray
    """Hours with a mean, per station."""
    total: np.ndarray
    """Sum of the hourly means per station (in hour order)."""
    daily: np.ndarray
    """Per station and day, the daily mean; NaN with fewer than 18 hours."""
    values: np.ndarray
    """The hourly means (station, hour), NaN where missing."""


def _reduce(values: np.ndarray) -> _Pollutant:
    measured = ~np.isnan(values)
    stations, hours = values.shape
    by_day = values.reshape(stations, hours // _DAY_HOURS, _DAY_HOURS)
    day_measured = measured.reshape(by_day.shape)
    day_hours = day_measured.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        daily = _in_order_sum(by_day, day_measured) / day_hours
    daily[day_hours < DAILY_MIN_HOURS] = np.nan
    return _Pollutant(measured.sum(axis=-1), _in_order_sum(values, measured), daily, values)


def _counted(standard: Standard, reduced: _Pollutant, row: int) -> Assessment:
    """A count of hours or days above the standard's value."""
    assert standard.allowed is not None
    if standard.metric == "hourly":
        values = reduced.values[row]
        valid, above = int(reduced.hours[row]), int(np.count_nonzero(values > standard.value))
        periods = values.shape[-1]
    else:
        means = reduced.daily[row]
        valid = int(np.count_nonzero(~np.isnan(means)))
        above = int(np.count_nonzero(means > standard.value))
        periods = means.shape[-1]
    status = count_status(above, standard.allowed, valid, periods)
    return Assessment(standard, status, periods, valid, exceedances=above)


def _annual(standard: Standard, reduced: _Pollutant, row: int) -> Assessment:
    periods = reduced.values.shape[-1]
    hours = int(reduced.hours[row])
    if hours < ANNUAL_MIN_CAPTURE * periods:
        return Assessment(standard, "insufficient data", periods, hours)
    mean = float(reduced.total[row]) / hours
    status: Status = "exceeded" if mean > standard.value else "within"
    return Assessment(standard, status, periods, hours, value=mean)


@dataclass(frozen=True)
class _Ozone:
    """Per station and year of the three: days with a valid maximum daily 8-hour mean,
    days above the target, days in the year (oldest year first)."""

    valid: np.ndarray
    above: np.ndarray
    days: list[int]


def _ozone_days(grid: HourGrid, years: Sequence[int], target: float) -> _Ozone:
    """Running 8-hour means ending with each hour of ``years`` (the grid starts 7 hours
    before the first), each day's highest, and the days counted per year. Days before
    any station's first O3 hour have no mean and are not computed."""
    values = grid.values
    stations, width = values.shape
    back_hours = _EIGHT_HOURS - 1
    measured_at = np.flatnonzero(~np.isnan(values).all(axis=0))
    total_days = (width - back_hours) // _DAY_HOURS
    first_hour = measured_at[0] if measured_at.size else width
    skipped = min(total_days, max(0, first_hour - back_hours) // _DAY_HOURS)
    first_end = skipped * _DAY_HOURS + back_hours  # grid column of the first end computed
    ends = width - first_end
    total = np.zeros((stations, ends))
    count = np.zeros((stations, ends), dtype=np.int64)
    for back in range(_EIGHT_HOURS):  # the hour itself first, as the Python rule sums
        window = values[:, first_end - back : width - back]
        measured = ~np.isnan(window)
        np.add(total, window, out=total, where=measured)  # a missing hour adds nothing
        count += measured
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(count >= EIGHT_HOUR_MIN_HOURS, total / count, np.nan)
    by_day = means.reshape(stations, ends // _DAY_HOURS, _DAY_HOURS)
    valid_means = (~np.isnan(by_day)).sum(axis=-1)
    highest = np.full((stations, total_days), np.nan)
    highest[:, skipped:] = np.fmax.reduce(by_day, axis=-1)
    highest[:, skipped:][valid_means < MAX_8H_MIN_MEANS] = np.nan
    valid, above, days = [], [], []
    first = 0
    for year in years:
        start, end = year_bounds(year)
        length = (end - start).days
        span = highest[:, first : first + length]
        valid.append((~np.isnan(span)).sum(axis=-1))
        above.append((span > target).sum(axis=-1))
        days.append(length)
        first += length
    return _Ozone(np.stack(valid, axis=1), np.stack(above, axis=1), days)


def _ozone(standard: Standard, days: _Ozone, row: int) -> Assessment:
    """Days above the target this year, averaged over the years (of the three) with 90 %
    of their days valid, this one included."""
    assert standard.allowed is not None
    valid, above, periods = int(days.valid[row, -1]), int(days.above[row, -1]), days.days[-1]
    counts = [
        int(a)
        for v, a, p in zip(days.valid[row], days.above[row], days.days, strict=True)
        if v >= ANNUAL_MIN_CAPTURE * p
    ]
    if valid < ANNUAL_MIN_CAPTURE * periods or not counts:
        return Assessment(standard, "insufficient data", periods, valid, above)
    mean = sum(counts) / len(counts)
    status: Status = "exceeded" if mean > standard.allowed else "within"
    return Assessment(standard, status, periods, valid, above, mean)


def _assess(
    standard: Standard, reduced: dict[str, _Pollutant], ozone: _Ozone, row: int
) -> Assessment:
    match standard.metric:
        case "hourly" | "daily_mean":
            return _counted(standard, reduced[standard.pollutant], row)
        case "annual_mean":
            return _annual(standard, reduced[standard.pollutant], row)
        case _:
            return _ozone(standard, ozone, row)


def _o3_target() -> float:
    (target,) = (s.value for pair in STANDARDS for s in pair if s and s.pollutant == "o3")
    return target


def judge(
    table: BandTable, device_ids: Sequence[str], grids: dict[str, HourGrid], year: int
) -> dict[str, StationYear]:
    """Every station's year from its hourly means: ``grids`` by pollutant, rows in the
    order of ``device_ids``, O3's from 7 hours before the first of its three years
    (:func:`air.exceedances.reading_window`), the others' from the year's first hour,
    all to its end."""
    start, end = year_bounds(year)
    window_start, _ = reading_window(year)
    o3_skip = (start - window_start) // HOUR
    year_values = {p: g.values[:, o3_skip:] if p == "o3" else g.values for p, g in grids.items()}
    bands = _hours_by_band(table, year_values)
    reduced = {p: _reduce(v) for p, v in year_values.items()}
    years = list(range(year - O3_YEARS + 1, year + 1))
    ozone = _ozone_days(grids["o3"], years, _o3_target())
    any_mean = {p: g.measured.sum(axis=-1) > 0 for p, g in grids.items()}

    found = {}
    for row, device in enumerate(device_ids):
        standards = []
        for now, later in STANDARDS:
            pollutant = (now or later).pollutant  # type: ignore[union-attr]
            if not any_mean[pollutant][row]:
                continue
            standards.append(
                tuple(None if s is None else _assess(s, reduced, ozone, row) for s in (now, later))
            )
        hours = {band: int(n) for band, n in enumerate(bands[row]) if n}
        found[device] = StationYear(hours, standards)  # type: ignore[arg-type]
    return found


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
    ids = list(dict.fromkeys(device_ids))
    start, end = year_bounds(year)
    window_start, _ = reading_window(year)
    marks: dict[str, datetime | None] = {} if raw else await rollups.watermarks(conn)
    windows = {p: (window_start if p == "o3" else start, end) for p in POLLUTANTS}
    grids = await hourly_grids(conn, ids, windows, watermarks=marks)
    return judge(table, ids, grids, year)
