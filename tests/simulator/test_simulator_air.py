"""Air-quality model: traffic and heating peaks, summer ozone, bands, non-negativity."""

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from simulator.signals import AirQualityModel, AirSample

LOCAL = ZoneInfo("Europe/Bucharest")
MODEL = AirQualityModel.from_seed(11)
STATIONS = {name: MODEL.station(name) for name in ("TR-2", "TR-3", "TR-4")}

# Upper bounds of the EEA "moderate" band, µg/m³ (DOMAIN.md).
MODERATE_MAX = {"pm25": 25.0, "pm10": 50.0, "no2": 120.0, "o3": 130.0}


def sample(station: str, local: datetime) -> AirSample:
    return MODEL.sample(local.replace(tzinfo=LOCAL).astimezone(UTC), STATIONS[station])


def days(start: datetime, n: int, weekdays: bool | None = None) -> list[datetime]:
    """``n`` consecutive days from ``start``, optionally only working days or weekends."""
    out = [start + timedelta(days=i) for i in range(n)]
    if weekdays is None:
        return out
    return [d for d in out if (d.weekday() < 5) == weekdays]


@pytest.mark.parametrize("station", sorted(STATIONS))
def test_no2_peaks_with_the_morning_rush_on_working_days(station: str) -> None:
    for day in days(datetime(2024, 1, 1), 366, weekdays=True):
        rush = sample(station, day.replace(hour=8)).no2
        night = sample(station, day.replace(hour=3)).no2
        assert rush > 1.5 * night, day


def test_no2_evening_peak_and_quieter_weekends() -> None:
    weekdays = days(datetime(2024, 3, 1), 60, weekdays=True)
    weekends = days(datetime(2024, 3, 1), 60, weekdays=False)
    evening = np.mean([sample("TR-2", d.replace(hour=18)).no2 for d in weekdays])
    afternoon = np.mean([sample("TR-2", d.replace(hour=14)).no2 for d in weekdays])
    weekend_rush = np.mean([sample("TR-2", d.replace(hour=8)).no2 for d in weekends])
    weekday_rush = np.mean([sample("TR-2", d.replace(hour=8)).no2 for d in weekdays])
    assert evening > 1.3 * afternoon
    assert weekday_rush > 1.5 * weekend_rush


def test_ozone_is_higher_on_summer_afternoons_than_winter_afternoons() -> None:
    summer = [sample("TR-3", d.replace(hour=15)).o3 for d in days(datetime(2024, 7, 1), 31)]
    winter = [sample("TR-3", d.replace(hour=15)).o3 for d in days(datetime(2024, 1, 1), 31)]
    assert np.mean(summer) > 2 * np.mean(winter)
    assert min(summer) > max(winter)


def test_ozone_is_titrated_where_no2_is_high() -> None:
    # Same season and hour, different traffic: the weekday rush has more NO2 and
    # less O3 than the Sunday morning next to it.
    for monday in days(datetime(2024, 6, 3), 56, weekdays=True)[::5]:
        sunday = monday - timedelta(days=1)
        weekday_08, sunday_08 = (
            sample("TR-2", monday.replace(hour=8)),
            sample("TR-2", sunday.replace(hour=8)),
        )
        assert weekday_08.no2 > sunday_08.no2
        assert weekday_08.o3 < sunday_08.o3


def test_winter_heating_raises_evening_pm() -> None:
    january = [sample("TR-4", d.replace(hour=20)).pm25 for d in days(datetime(2024, 1, 1), 31)]
    july = [sample("TR-4", d.replace(hour=20)).pm25 for d in days(datetime(2024, 7, 1), 31)]
    assert np.mean(january) > 1.8 * np.mean(july)
    january_noon = [sample("TR-4", d.replace(hour=13)).pm25 for d in days(datetime(2024, 1, 1), 31)]
    assert np.mean(january) > 1.5 * np.mean(january_noon)


def hourly_year(station: str) -> np.ndarray:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    return np.array(
        [MODEL.sample(start + timedelta(hours=h), STATIONS[station]) for h in range(24 * 365)]
    )


@pytest.mark.parametrize("station", sorted(STATIONS))
def test_values_are_finite_non_negative_and_mostly_good_to_moderate(station: str) -> None:
    year = hourly_year(station)
    assert np.isfinite(year).all()
    assert (year >= 0).all()
    daily = year.reshape(365, 24, 4).mean(axis=1)
    # PM bands apply to 24-hour means, gases to hourly values.
    within = {
        "pm25": daily[:, 0] <= MODERATE_MAX["pm25"],
        "pm10": daily[:, 1] <= MODERATE_MAX["pm10"],
        "no2": year[:, 2] <= MODERATE_MAX["no2"],
        "o3": year[:, 3] <= MODERATE_MAX["o3"],
    }
    for pollutant, ok in within.items():
        assert ok.mean() > 0.9, pollutant
    # ...with occasional poor episodes: winter PM and summer ozone.
    assert 0 < (~within["pm25"]).sum() < 40
    assert 0 < (~within["o3"]).sum() < 24 * 20


def test_stations_differ_smoothly() -> None:
    t = datetime(2024, 2, 7, 8, tzinfo=UTC)
    values = [MODEL.sample(t, s).no2 for s in STATIONS.values()]
    assert len(set(values)) == len(values)
    assert max(values) < 2.5 * min(values)
    # A minute later, nothing has jumped.
    later = [MODEL.sample(t + timedelta(minutes=1), s).no2 for s in STATIONS.values()]
    for before, after in zip(values, later, strict=True):
        assert math.isclose(before, after, rel_tol=0.02)


def test_same_seed_same_station() -> None:
    assert AirQualityModel.from_seed(11).station("TR-2") == STATIONS["TR-2"]
    assert AirQualityModel.from_seed(12).station("TR-2") != STATIONS["TR-2"]
