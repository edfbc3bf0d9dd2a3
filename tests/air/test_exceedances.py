"""Exceedance counts on a scripted year (2025, 365 days, 8,760 hours), with the expected
figures worked out by hand in the comments; insufficient-data days and 8-hour means."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from air.exceedances import (
    Assessment,
    daily_means,
    eight_hour_means,
    max_daily_8h_means,
    station_year,
)

YEAR = 2025
START = datetime(YEAR, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def _hour(day: int, hour: int) -> datetime:
    return START + timedelta(days=day, hours=hour)


def _pm10() -> dict[datetime, float]:
    """Days 0-39 at 60 all day (40 days above 50); day 40: 18 hours at 55 (valid, above);
    day 41: 17 hours at 200 (insufficient: not counted); day 42 at exactly 50 (not above);
    days 43-49 at 46 (above 45, the 2030 value, not above 50); the other 315 days at 20."""
    values: dict[datetime, float] = {}
    for day in range(365):
        for hour in range(24):
            if day < 40:
                values[_hour(day, hour)] = 60.0
            elif day == 40:
                if hour < 18:
                    values[_hour(day, hour)] = 55.0
            elif day == 41:
                if hour < 17:
                    values[_hour(day, hour)] = 200.0
            elif day == 42:
                values[_hour(day, hour)] = 50.0
            elif day < 50:
                values[_hour(day, hour)] = 46.0
            else:
                values[_hour(day, hour)] = 20.0
    return values


def _no2() -> dict[datetime, float]:
    """30 all year, but 20 hours at 250 (above 200) and one at exactly 200; the last
    1,000 hours of the year missing: 7,760 of 8,760 hours (88.6 %)."""
    values = {START + k * H: 30.0 for k in range(8760 - 1000)}
    for k in range(20):
        values[START + (100 + 24 * k) * H] = 250.0  # one hour on 20 different days
    values[START + 5000 * H] = 200.0
    return values


def _so2() -> dict[datetime, float]:
    """5 all year; 24 hours at 400 on days 100-123 (one a day, at noon); days 200-202 at
    130 all day (3 days above 125: allowed 3)."""
    values = {START + k * H: 5.0 for k in range(8760)}
    for day in range(100, 124):
        values[_hour(day, 12)] = 400.0
    for day in range(200, 203):
        for hour in range(24):
            values[_hour(day, hour)] = 130.0
    return values


def _o3() -> dict[datetime, float]:
    """60 all year, and on days 150-179 (30 days) 130 from 10:00 to 17:59: those days'
    highest running 8-hour mean is 130 > 120; only this year has data."""
    values = {START + k * H: 60.0 for k in range(8760)}
    for day in range(150, 180):
        for hour in range(10, 18):
            values[_hour(day, hour)] = 130.0
    return values


def _pm25() -> dict[datetime, float]:
    """18 for the first half of the year's hours (4,380), 8 for the other: mean 13."""
    return {START + k * H: (18.0 if k < 4380 else 8.0) for k in range(8760)}


@pytest.fixture(scope="module")
def judged() -> dict[tuple[str, str, float, str], Assessment]:
    hourly = {"pm10": _pm10(), "no2": _no2(), "so2": _so2(), "o3": _o3(), "pm25": _pm25()}
    found = {}
    for now, later in station_year(hourly, YEAR):
        for one in (now, later):
            if one is not None:
                s = one.standard
                found[(s.pollutant, s.metric, s.value, "2030" if one is later else "now")] = one
    return found


def _get(judged: dict, pollutant: str, metric: str, value: float, law: str) -> Assessment:
    return judged[(pollutant, metric, value, law)]


def test_pm10_daily_counts_valid_days_only(judged: dict) -> None:
    now = _get(judged, "pm10", "daily_mean", 50, "now")
    # days 0-39 and day 40 above 50; day 41 has 17 hours; 364 valid days of 365
    assert (now.exceedances, now.valid, now.periods, now.status) == (41, 364, 365, "exceeded")
    later = _get(judged, "pm10", "daily_mean", 45, "2030")
    # 2030: 41 days + day 42 (50 > 45) + days 43-49 (46 > 45) = 49 > 18
    assert (later.exceedances, later.status) == (49, "exceeded")


def test_pm10_annual_mean_by_hand(judged: dict) -> None:
    now = _get(judged, "pm10", "annual_mean", 40, "now")
    total = 40 * 24 * 60 + 18 * 55 + 17 * 200 + 24 * 50 + 7 * 24 * 46 + 315 * 24 * 20
    hours = 8760 - 6 - 7  # day 40 lacks 6 hours, day 41 lacks 7
    assert now.valid == hours
    assert now.value == pytest.approx(total / hours)  # 25.4: within 40
    assert now.status == "within"
    later = _get(judged, "pm10", "annual_mean", 20, "2030")
    assert later.status == "exceeded"  # 25.4 > 20


def test_no2_hours_counted_despite_missing_data_but_no_annual_mean(judged: dict) -> None:
    hourly = _get(judged, "no2", "hourly", 200, "now")
    # 20 hours at 250; the hour at exactly 200 is not above
    assert (hourly.exceedances, hourly.valid, hourly.status) == (20, 7760, "exceeded")
    annual = _get(judged, "no2", "annual_mean", 40, "now")
    # 7,760 / 8,760 = 88.6 % < 90 %: no mean is made up
    assert (annual.value, annual.status, annual.valid) == (None, "insufficient data", 7760)
    daily = _get(judged, "no2", "daily_mean", 50, "2030")
    # each of the 20 days: (250 + 23 x 30) / 24 = 39.2, not above 50
    assert daily.exceedances == 0
    # 7,760 hours: 323 whole days (the 324th has 8 hours), under 90 % of 365: undecided
    assert daily.status == "insufficient data"


def test_so2_at_the_allowed_numbers_is_within(judged: dict) -> None:
    hourly = _get(judged, "so2", "hourly", 350, "now")
    assert (hourly.exceedances, hourly.status) == (24, "within")  # 24 allowed
    daily = _get(judged, "so2", "daily_mean", 125, "now")
    # days 100-123: (400 + 23 x 5) / 24 = 21.5; days 200-202: 130 > 125
    assert (daily.exceedances, daily.status) == (3, "within")  # 3 allowed
    later = _get(judged, "so2", "hourly", 350, "2030")
    assert (later.exceedances, later.status, later.standard.confirmed) == (24, "exceeded", False)


def test_o3_target_days_from_8_hour_means(judged: dict) -> None:
    o3 = _get(judged, "o3", "max_daily_8h_mean", 120, "now")
    # 30 days with 8 hours at 130; only one year has data, so it is the average
    assert (o3.exceedances, o3.averaged, o3.status) == (30, 30.0, "exceeded")
    # 1 January has no hours before it: its running means ending 00:00-04:00 hold 1-5
    # hours (invalid), those ending 05:00-23:00 6-8 (valid): 19 of 24, a valid day
    assert o3.valid == 365


def test_pm25_annual_mean(judged: dict) -> None:
    now = _get(judged, "pm25", "annual_mean", 25, "now")
    assert (now.value, now.status) == (pytest.approx(13.0), "within")
    later = _get(judged, "pm25", "annual_mean", 10, "2030")
    assert later.status == "exceeded"


def test_a_day_with_17_hours_has_no_mean() -> None:
    day = date(2025, 3, 1)
    base = datetime(2025, 3, 1, tzinfo=UTC)
    means = daily_means({base + k * H: 10.0 for k in range(17)})
    assert means == {day: None}
    means = daily_means({base + k * H: 10.0 + k for k in range(18)})
    assert means[day] == pytest.approx(sum(10 + k for k in range(18)) / 18)  # 18.5


def test_an_8_hour_mean_needs_6_hours() -> None:
    base = datetime(2025, 6, 1, 10, tzinfo=UTC)
    five = {base + k * H: 100.0 for k in range(5)}
    assert all(v is None for v in eight_hour_means(five).values())
    six = five | {base + 5 * H: 160.0}
    means = eight_hour_means(six)
    # the window ending 15:00 holds 10:00-15:00, six hours: (5 x 100 + 160) / 6 = 110
    assert means[base + 5 * H] == pytest.approx(110.0)
    # ending 17:00: 10:00-17:00 still holds all six; ending 18:00: five
    assert means[base + 7 * H] == pytest.approx(110.0)
    assert means[base + 8 * H] is None
    # a day with only these hours has 3 valid running means of 24: no maximum
    assert max_daily_8h_means(six) == {date(2025, 6, 1): None}
