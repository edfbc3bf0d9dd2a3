"""The index at every band boundary of both tables, just below, at and just above, with
the bounds copied by hand from ``../shared/DOMAIN.md`` (not read from the code); the
dominant pollutant; the pre-2024 table's 24-hour running PM means and their data capture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from air import bands
from air.errors import UnknownBandTable
from air.index import averaged, hourly_index, index_of

HOUR = datetime(2026, 3, 2, 8, tzinfo=UTC)
NAMES = ["good", "fair", "moderate", "poor", "very poor", "extremely poor"]

# DOMAIN.md, "Air quality": upper bounds of good .. very poor, µg/m³
DOMAIN_2024 = {
    "pm25": [5, 15, 50, 90, 140],
    "pm10": [15, 45, 120, 195, 270],
    "no2": [10, 25, 60, 100, 150],
    "o3": [60, 100, 120, 160, 180],
    "so2": [20, 40, 125, 190, 275],
}
DOMAIN_PRE_2024 = {
    "pm25": [10, 20, 25, 50, 75],
    "pm10": [20, 40, 50, 100, 150],
    "no2": [40, 90, 120, 230, 340],
    "o3": [50, 100, 130, 240, 380],
    "so2": [100, 200, 350, 500, 750],
}


def _boundaries(version: str, table: dict[str, list[int]]) -> list[tuple[str, str, float, str]]:
    """(version, pollutant, value, expected level) just below, at and just above each bound:
    at a bound the band is still the lower one ("0-5" is good up to 5 included)."""
    cases = []
    for pollutant, bounds in table.items():
        for k, bound in enumerate(bounds):
            cases.append((version, pollutant, bound - 0.01, NAMES[k]))
            cases.append((version, pollutant, float(bound), NAMES[k]))
            cases.append((version, pollutant, bound + 0.01, NAMES[k + 1]))
    return cases


CASES = _boundaries("2024", DOMAIN_2024) + _boundaries("pre-2024", DOMAIN_PRE_2024)


@pytest.mark.parametrize(("version", "pollutant", "value", "level"), CASES)
def test_a_value_at_each_boundary_falls_in_the_published_band(
    version: str, pollutant: str, value: float, level: str
) -> None:
    index = index_of(bands.table(version), HOUR, {pollutant: value})
    assert index.sub_indices[pollutant].level == level
    assert index.level == level
    assert index.dominant == pollutant


def test_the_boundary_cases_cover_both_tables_whole() -> None:
    assert len(CASES) == 2 * 5 * 5 * 3


@pytest.mark.parametrize(
    ("version", "values", "level"),
    [
        ("2024", {"pm25": 0.0}, "good"),
        ("2024", {"pm25": 1000.0}, "extremely poor"),
        # the same air, two tables: 2024 is stricter
        ("2024", {"pm25": 12.0, "no2": 30.0, "o3": 70.0}, "moderate"),
        ("pre-2024", {"pm25": 12.0, "no2": 30.0, "o3": 70.0}, "fair"),
        ("2024", {"so2": 276.0}, "extremely poor"),
        ("pre-2024", {"so2": 276.0}, "moderate"),
    ],
)
def test_the_station_index_is_its_worst_pollutants_band(
    version: str, values: dict[str, float], level: str
) -> None:
    assert index_of(bands.table(version), HOUR, values).level == level


@pytest.mark.parametrize(
    ("values", "band", "dominant"),
    [
        # both moderate (15-50, 25-60): PM2.5 (40-15)/35 = 0.71 in, NO2 (55-25)/35 = 0.86
        ({"pm25": 40.0, "no2": 55.0, "o3": 30.0}, "moderate", "no2"),
        # both extremely poor: O3 190/180 = 1.06, PM10 300/270 = 1.11
        ({"o3": 190.0, "pm10": 300.0}, "extremely poor", "pm10"),
        # both fair, each half-way in (10 in 5-15, 30 in 15-45): the first listed
        ({"pm10": 30.0, "pm25": 10.0}, "fair", "pm25"),
        # both poor: PM2.5 (60-50)/40 = 0.25, SO2 (130-125)/65 = 0.08
        ({"so2": 130.0, "pm25": 60.0}, "poor", "pm25"),
        # a worse band wins whatever the depth: NO2 101 is very poor
        ({"so2": 189.0, "pm25": 89.0, "no2": 101.0}, "very poor", "no2"),
    ],
)
def test_the_dominant_pollutant(values: dict[str, float], band: str, dominant: str) -> None:
    index = index_of(bands.EAQI_2024, HOUR, values)
    assert (index.level, index.dominant) == (band, dominant)


def test_an_hour_without_pollutants_has_no_index() -> None:
    index = index_of(bands.EAQI_2024, HOUR, {"temperature": 21.0})
    assert (index.band, index.level, index.dominant, dict(index.sub_indices)) == (
        None,
        None,
        None,
        {},
    )


def test_pre_2024_pm_is_a_24_hour_running_mean_with_18_hours_at_least() -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    hours = [start + timedelta(hours=k) for k in range(24)]
    # 17 hours at 30, then one at 54: the 18th hour is the first with a running mean
    pm25 = {h: 30.0 for h in hours[:17]} | {hours[17]: 54.0}
    means = averaged(bands.EAQI_PRE_2024, "pm25", pm25)
    assert hours[16] not in means  # 17 hours: not enough
    assert means[hours[17]] == pytest.approx((17 * 30 + 54) / 18)  # 31.33: poor (25-50)
    # the window ending 24 hours after the last value still holds 18 of them (hours 6-23
    # are 12 values: no), hours[17] + 6 h holds hours 0..17 (18 values: yes)
    assert hours[17] + timedelta(hours=6) in means
    assert hours[17] + timedelta(hours=7) not in means
    index = hourly_index(bands.EAQI_PRE_2024, {"pm25": pm25, "no2": {hours[3]: 50.0}})
    by_hour = {i.hour: i for i in index}
    assert by_hour[hours[3]].level == "fair"  # NO2 50 (40-90); PM has no mean yet
    assert by_hour[hours[3]].sub_indices.keys() == {"no2"}
    assert by_hour[hours[17]].level == "poor"
    assert by_hour[hours[17]].dominant == "pm25"


def test_2024_pm_is_hourly() -> None:
    pm25 = {HOUR: 16.0}
    assert hourly_index(bands.EAQI_2024, {"pm25": pm25})[0].level == "moderate"


def test_an_unknown_table_names_those_there_are() -> None:
    with pytest.raises(UnknownBandTable, match="2024, pre-2024"):
        bands.table("2019")


def test_tables_carry_their_source() -> None:
    for version in ("2024", "pre-2024"):
        described = bands.table(version).describe()
        assert "EEA" in str(described["source"])
    assert bands.table(None).version == "2024"
