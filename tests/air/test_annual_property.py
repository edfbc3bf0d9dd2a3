"""The grid rules of :mod:`air.annual` against the straightforward ones (:mod:`air.index`
and :mod:`air.exceedances`, one hourly mean at a time) on generated years: the same
answer exactly — hours per band, every status, count and valid period, annual means and
O3's averaged days bit for bit.

The years mix values drawn at random with values on every band bound and limit value
(and a hair either side), whole days at one value (so that a daily mean lands exactly
on a limit), hours dropped at random (days around the 18-of-24 rule, 8-hour windows
around 6 of 8) and whole years missing (O3's three-year average).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from air import annual, exceedances
from air.bands import EAQI_2024, POLLUTANTS
from air.hourly_grid import HourGrid
from air.index import HOUR, hourly_index

YEAR = 2024  # a leap year: 8,784 hours; O3 reaches back over 2022 and 2023
STATIONS = ["a", "b"]


def _palette(pollutant: str) -> np.ndarray:
    """Values that sit on a rule's edge: band bounds and limit values, and either side."""
    edges = list(EAQI_2024.upper[pollutant])
    edges += [
        s.value for pair in exceedances.STANDARDS for s in pair if s and s.pollutant == pollutant
    ]
    found = [0.0]
    for edge in edges:
        found += [edge, np.nextafter(edge, 0), np.nextafter(edge, np.inf), edge - 0.1, edge + 0.1]
    return np.asarray(found)


def _series(rng: np.random.Generator, pollutant: str, hours: int, gaps: float) -> np.ndarray:
    """An hourly series: random values, runs of edge values, whole days at one value,
    hours dropped with probability ``gaps`` and now and then a run of days dropped."""
    top = EAQI_2024.upper[pollutant][-1] * 1.3
    values = np.round(rng.uniform(0, top, hours), rng.integers(0, 4))
    edges = _palette(pollutant)
    picked = rng.random(hours) < 0.3
    values[picked] = rng.choice(edges, picked.sum())
    for _ in range(rng.integers(0, 40)):  # days at one edge value
        day = rng.integers(0, hours // 24)
        values[day * 24 : day * 24 + 24] = rng.choice(edges)
    values[rng.random(hours) < gaps] = np.nan
    for _ in range(rng.integers(0, 3)):
        first = rng.integers(0, hours)
        values[first : first + rng.integers(24, 24 * 60)] = np.nan
    return values


def _grids(seed: int, gaps: float, skip_years: int) -> dict[str, HourGrid]:
    rng = np.random.default_rng(seed)
    start, end = exceedances.year_bounds(YEAR)
    window_start, _ = exceedances.reading_window(YEAR)
    found = {}
    for pollutant in POLLUTANTS:
        first = window_start if pollutant == "o3" else start
        hours = (end - first) // HOUR
        rows = [_series(rng, pollutant, hours, gaps) for _ in STATIONS]
        if pollutant == "o3" and skip_years:  # b, or both: the first years without O3
            cut = (exceedances.year_bounds(YEAR - 3 + skip_years)[0] - first) // HOUR
            for row in rows[rng.integers(0, 2) :]:
                row[: cut + rng.integers(0, 30)] = np.nan
        if rng.random() < 0.1:  # now and then a pollutant a station does not measure
            rows[0][:] = np.nan
        grid = np.vstack(rows)
        found[pollutant] = HourGrid(first, grid)
    return found


def _hourly(grids: dict[str, HourGrid], row: int) -> dict[str, dict[datetime, float]]:
    """A station's hourly means as :func:`air.index.hourly_means` gives them (Python floats,
    hour order, missing hours absent)."""
    found: dict[str, dict[datetime, float]] = {}
    for pollutant, grid in grids.items():
        values = grid.values[row]
        for k in np.flatnonzero(~np.isnan(values)):
            found.setdefault(pollutant, {})[grid.start + int(k) * HOUR] = float(values[k])
    return found


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    gaps=st.sampled_from([0.0, 0.05, 0.2, 0.3]),
    skip_years=st.integers(0, 2),
)
def test_the_grid_rules_judge_as_the_hour_by_hour_ones(
    seed: int, gaps: float, skip_years: int
) -> None:
    grids = _grids(seed, gaps, skip_years)
    found = annual.judge(EAQI_2024, STATIONS, grids, YEAR)
    start, end = exceedances.year_bounds(YEAR)
    for row, station in enumerate(STATIONS):
        hourly = _hourly(grids, row)
        in_year = {p: {h: v for h, v in s.items() if h >= start} for p, s in hourly.items()}
        bands = Counter(i.band for i in hourly_index(EAQI_2024, in_year, start, end))
        assert found[station].hours_by_band == dict(sorted(bands.items()))
        # O3 over its three-year window, the others over the year (as the grids hold them)
        assert found[station].standards == exceedances.station_year(hourly, YEAR)
