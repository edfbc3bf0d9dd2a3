"""The year aggregated in PostgreSQL (:mod:`air.annual`) against the rules applied in
Python to hourly means (:mod:`air.exceedances`, :mod:`air.index`, whose figures
``test_exceedances.py`` works out by hand): the same answer on the scripted year, from
the rollups and from raw readings."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
from psycopg import AsyncConnection

from air import annual, exceedances
from air.bands import EAQI_2024
from air.hourly_grid import HourGrid, hourly_grids
from air.index import hourly_index, hourly_means
from settings import RetentionSettings
from storage import migrations, rollups
from storage.readings import Reading, ReadingWriter
from tests.air import test_exceedances as scripted

H = timedelta(hours=1)
STATIONS = ["s1", "s2"]


def _readings() -> list[Reading]:
    found = []
    series = {
        "pm10": scripted._pm10(),
        "no2": scripted._no2(),
        "so2": scripted._so2(),
        "o3": scripted._o3(),
        "pm25": scripted._pm25(),
    }
    for pollutant, values in series.items():
        # two readings per hour whose mean is the hour's value
        for t, v in values.items():
            found.append(Reading("s1", pollutant, t + timedelta(minutes=1), v - 1))
            found.append(Reading("s1", pollutant, t + timedelta(minutes=2), v + 1))
    # s2: O3 in 2024 and 2025, ten days above 120 in 2024, thirty in 2025; 2023 empty
    for year, days in ((2024, 10), (2025, 30)):
        start = datetime(year, 1, 1, tzinfo=UTC)
        hours = (datetime(year + 1, 1, 1, tzinfo=UTC) - start) // H
        for k in range(hours):
            t = start + k * H
            high = t.timetuple().tm_yday <= days and 10 <= t.hour < 18
            found.append(Reading("s2", "o3", t + timedelta(minutes=3), 130.0 if high else 60.0))
    return found


@pytest.fixture
def year_db(pg_url: str) -> str:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        conn.commit()
        ReadingWriter(migrations.readings_storage(conn), "copy").write(conn, _readings())
        conn.commit()
    return pg_url


def _python(url: str) -> tuple[dict, dict]:
    async def run() -> tuple[dict, dict]:
        async with await AsyncConnection.connect(url) as conn:
            judged = await exceedances.stations_year(conn, STATIONS, scripted.YEAR)
            start, end = exceedances.year_bounds(scripted.YEAR)
            means = await hourly_means(conn, STATIONS, start, end)
            bands = {
                s: dict(sorted(Counter(i.band for i in hourly_index(EAQI_2024, means[s])).items()))
                for s in STATIONS
            }
            return judged, bands

    return asyncio.run(run())


def _sql(url: str, *, raw: bool) -> dict[str, annual.StationYear]:
    async def run() -> dict[str, annual.StationYear]:
        async with await AsyncConnection.connect(url) as conn:
            return await annual.stations_year(conn, EAQI_2024, STATIONS, scripted.YEAR, raw=raw)

    return asyncio.run(run())


def _same(a: exceedances.Assessment | None, b: exceedances.Assessment | None) -> bool:
    if a is None or b is None:
        return a is b
    return (
        (a.standard, a.status, a.periods, a.valid, a.exceedances)
        == (
            b.standard,
            b.status,
            b.periods,
            b.valid,
            b.exceedances,
        )
        and (a.value == pytest.approx(b.value))
        and (a.averaged == pytest.approx(b.averaged))
    )


def _roll_up(url: str) -> None:
    """Roll the readings up as the ingest worker does (the hours packed by day too)."""
    keep = RetentionSettings(raw_retention_days=1200, rollup_5m_retention_days=0)
    with psycopg.connect(url) as conn:
        while rollups.refresh(conn, keep):
            conn.commit()
        conn.commit()
        assert conn.execute("SELECT count(*) FROM readings_1h").fetchone()[0] > 8760
        if migrations.readings_storage(conn) == "partitioned":
            assert conn.execute("SELECT count(*) FROM readings_1h_days").fetchone()[0] > 365


def test_grids_read_across_the_packed_days_watermark_equal_those_from_raw_readings(
    year_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollups, "REFRESH_BUCKETS_PER_PASS", 100_000)
    _roll_up(year_db)
    # windows starting and ending inside a day, so that packed days overlap their edges
    windows = {
        "no2": (datetime(2025, 3, 10, 5, tzinfo=UTC), datetime(2025, 11, 20, 17, tzinfo=UTC)),
        "o3": (datetime(2024, 12, 31, 17, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
    }

    async def run() -> list[dict[str, HourGrid]]:
        async with await AsyncConnection.connect(year_db) as conn:
            marks = await rollups.watermarks(conn)
            # the packed days end inside the windows: the rest comes from the hourly level
            split = marks | {rollups.HOURS_BY_DAY: datetime(2025, 7, 1, tzinfo=UTC)}
            return [
                await hourly_grids(conn, STATIONS, windows, watermarks=w)
                for w in (marks, split, {})
            ]

    packed, split, raw = asyncio.run(run())
    for pollutant in windows:
        assert not np.isnan(raw[pollutant].values).all()
        np.testing.assert_array_equal(packed[pollutant].values, raw[pollutant].values)
        np.testing.assert_array_equal(split[pollutant].values, raw[pollutant].values)


def test_the_database_aggregates_judge_as_python_does(
    year_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a refresh pass takes every bucket of two years at once, not a day at a time
    monkeypatch.setattr(rollups, "REFRESH_BUCKETS_PER_PASS", 100_000)
    judged, bands = _python(year_db)
    for raw in (True, False):
        if not raw:
            _roll_up(year_db)
        found = _sql(year_db, raw=raw)
        for station in STATIONS:
            assert found[station].hours_by_band == bands[station]
            assert len(found[station].standards) == len(judged[station])
            for (a_now, a_later), (b_now, b_later) in zip(
                found[station].standards, judged[station], strict=True
            ):
                assert _same(a_now, b_now), (a_now, b_now)
                assert _same(a_later, b_later), (a_later, b_later)
    # the hand-worked figures of test_exceedances.py, and s2's two years of O3
    pm10_daily = found["s1"].standards[0][0]
    assert pm10_daily is not None and pm10_daily.exceedances == 41
    # s2: 30 days in 2025, 10 in 2024, 2023 without data: (30 + 10) / 2 = 20 <= 25
    ((o3, _),) = found["s2"].standards
    assert o3 is not None and (o3.exceedances, o3.averaged, o3.status) == (30, 20.0, "within")
