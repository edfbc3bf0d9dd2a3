"""Rollups and retention on plain PostgreSQL (both real servers); the oracle is Python."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from settings import RetentionSettings
from storage import migrations, retention, rollups
from storage.readings import Reading
from storage.rollups import LEVELS, Bucket, Segment
from tests.storage.rollup_oracle import expected, level_rows
from tests.storage.rollup_support import NOW, refresh, write

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
_LEVEL_COLUMNS = (
    "device_id, quantity, bucket, count, sum, min, max, first_time, first_value,"
    " last_time, last_value"
)


def _level(conn: psycopg.Connection, table: str) -> set[tuple]:
    return set(conn.execute(f"SELECT {_LEVEL_COLUMNS} FROM {table}").fetchall())


_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _hours_by_day(conn: psycopg.Connection) -> set[tuple]:
    """``readings_1h_days`` unpacked: (device, quantity, hour, mean, count, sum, min, max),
    each hour checked to lie in its row's day and to follow the one before."""
    found = set()
    rows = conn.execute(
        "SELECT device_id, quantity, day, hours, means, counts, sums, mins, maxes"
        " FROM readings_1h_days"
    )
    for device, quantity, day, hours, *packed in rows.fetchall():
        starts = struct.unpack(f">{len(hours) // 8}q", hours)
        assert list(starts) == sorted(set(starts)) != []
        means, counts, sums, mins, maxes = (
            struct.unpack(f">{len(b) // 8}{'q' if k == 1 else 'd'}", b)
            for k, b in enumerate(packed)
        )
        for microseconds, *values in zip(starts, means, counts, sums, mins, maxes, strict=True):
            hour = _PG_EPOCH + timedelta(microseconds=microseconds)
            assert day <= hour < day + DAY
            found.add((device, quantity, hour, *values))
    return found


def _hours_by_day_expected(readings: Sequence[Reading], before: datetime) -> set[tuple]:
    """The oracle's hours of the days before ``before``, each with its mean, count, sum,
    minimum and maximum."""
    return {
        (device, quantity, hour, total / count, count, total, least, most)
        for device, quantity, hour, count, total, least, most, *_ in level_rows(
            readings, HOUR, before
        )
    }


def _series(url: str, *args: object, **kwargs: object) -> list[Bucket]:
    async def run() -> list[Bucket]:
        async with await psycopg.AsyncConnection.connect(url) as aconn:
            return await rollups.series(aconn, *args, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(run())


# -- the rollups equal an aggregate over the raw readings ----------------------------

_readings = st.lists(
    st.builds(
        Reading,
        st.sampled_from(["d1", "d2", "d3"]),
        st.sampled_from(["pm10", "occupied"]),
        st.integers(-3 * 86_400, 600).map(lambda s: NOW + timedelta(seconds=s)),
        st.integers(-400, 400).map(lambda v: v / 4),  # exact in binary: sums compare exactly
    ),
    min_size=1,
    max_size=60,
    unique_by=lambda r: (r.device_id, r.quantity, r.time),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    readings=_readings,
    cuts=st.lists(st.integers(0, 60), max_size=3),
    width=st.sampled_from(
        [timedelta(minutes=5), timedelta(minutes=15), HOUR, 2 * HOUR, DAY, 7 * DAY]
    ),
    span=st.tuples(st.integers(-4 * 86_400, 0), st.integers(1, 5 * 86_400)),
)
def test_rollups_and_series_equal_an_aggregate_over_raw_readings(
    conn: psycopg.Connection,
    pg_url: str,
    readings: list[Reading],
    cuts: list[int],
    width: timedelta,
    span: tuple[int, int],
) -> None:
    conn.execute(
        "TRUNCATE readings, latest_readings, readings_5m, readings_1h, readings_1d,"
        " readings_1h_days, rollup_invalidations"
    )
    conn.commit()
    # in batches, refreshed in between: later batches bring late readings to past buckets
    edges = [0, *sorted(cuts), len(readings)]
    for low, high in zip(edges, edges[1:], strict=False):
        if readings[low:high]:
            write(conn, readings[low:high])
            refresh(conn)
    for level in LEVELS:
        assert _level(conn, level.table) == level_rows(readings, level.width, level.floor(NOW))
    # the hours packed by day: those of the days the daily level holds
    assert _hours_by_day(conn) == _hours_by_day_expected(readings, LEVELS[-1].floor(NOW))
    start = NOW + timedelta(seconds=span[0])
    end = start + timedelta(seconds=span[1])
    url = pg_url
    for combine in (False, True):
        args = (["d1", "d2"], "pm10", start, end, width)
        oracle = expected(
            readings, width, combine=combine, devices=["d1", "d2"], quantity="pm10",
            start=start, end=end,
        )  # fmt: skip
        assert _series(url, *args, combine=combine) == oracle
        assert _series(url, *args, combine=combine, raw=True) == oracle


# -- a late reading changes a past hour ----------------------------------------------


def test_a_late_reading_changes_its_past_hour_and_nothing_else(
    conn: psycopg.Connection, pg_url: str
) -> None:
    history = [
        Reading("gauge", "water_level", NOW - timedelta(minutes=10 * i), 400.0 + i)
        for i in range(1, 300)
    ]
    write(conn, history)
    refresh(conn)
    before = {level.name: _level(conn, level.table) for level in LEVELS}
    packed_before = _hours_by_day(conn)
    past_hour = rollups.floor_time(NOW - timedelta(hours=20), HOUR)
    late = Reading("gauge", "water_level", past_hour + timedelta(minutes=7, seconds=3), 999.0)
    write(conn, [late])
    pending = conn.execute("SELECT level, bucket FROM rollup_invalidations").fetchall()
    assert ("5m", past_hour + timedelta(minutes=5)) in pending
    refresh(conn)
    everything = [*history, late]
    for level in LEVELS:
        after = _level(conn, level.table)
        assert after == level_rows(everything, level.width, level.floor(NOW))
        changed = {row[2] for row in after - before[level.name]}
        assert changed == {level.floor(late.time)}  # its own bucket, at every level
    # and in the hours packed by day, its hour alone
    assert _hours_by_day(conn) - packed_before == {
        row for row in _hours_by_day_expected(everything, NOW) if row[2] == past_hour
    }
    hourly = _series(pg_url, ["gauge"], "water_level", past_hour, past_hour + HOUR, HOUR)
    assert [(b.count, b.max) for b in hourly] == [(7, 999.0)]  # 6 readings + the late one


# -- the query reads the rollups -------------------------------------------------------


def test_plan_takes_the_coarsest_level_then_finer_ones_then_raw() -> None:
    t = datetime(2026, 3, 10, tzinfo=UTC)
    marks: dict[str, datetime | None] = {
        "5m": t + timedelta(hours=13, minutes=5),
        "1h": t + timedelta(hours=12),
        "1d": t,
    }
    year = t - timedelta(days=365)
    assert rollups.plan(marks, year, t + DAY, HOUR) == [
        Segment("readings_1h", year, t + timedelta(hours=12)),
        Segment("readings_5m", t + timedelta(hours=12), marks["5m"]),  # type: ignore[arg-type]
        Segment("readings", marks["5m"], t + DAY),  # type: ignore[arg-type]
    ]
    assert rollups.plan(marks, year, t + DAY, DAY)[0] == Segment("readings_1d", year, t)
    assert rollups.plan(marks, year, t, timedelta(minutes=1)) == [Segment("readings", year, t)]
    assert rollups.plan({"5m": None, "1h": None, "1d": None}, year, t, HOUR) == [
        Segment("readings", year, t)
    ]


def test_series_answers_from_the_rollups_once_raw_readings_are_gone(
    conn: psycopg.Connection, pg_url: str
) -> None:
    five_minutely = [
        Reading("lot-7", "occupied_spaces", NOW - timedelta(minutes=5 * i), float(i % 140))
        for i in range(12 * 24 * 10)  # the newest, at NOW, is in a bucket not yet complete
    ]
    write(conn, five_minutely)
    refresh(conn)
    url = pg_url
    args = (["lot-7"], "occupied_spaces", NOW - 10 * DAY, NOW, HOUR)
    hourly = _series(url, *args)
    assert hourly == expected(five_minutely, HOUR, start=NOW - 10 * DAY, end=NOW)
    # The raw readings below the rollups' watermark go: the answer stays, the raw one not.
    conn.execute("DELETE FROM readings WHERE time < %s", (LEVELS[0].floor(NOW),))
    conn.commit()
    assert _series(url, *args) == hourly
    assert len(_series(url, *args, raw=True)) == 1  # the newest, unrolled edge only


# -- an existing database is rolled up by the migration --------------------------------


def test_the_migration_rolls_up_the_readings_already_stored(conn: psycopg.Connection) -> None:
    now = datetime.now(UTC)
    stored = [
        Reading(f"aq-{i % 3}", "pm25", now - timedelta(minutes=7 * i), float(i)) for i in range(500)
    ]
    write(conn, stored)
    conn.execute(
        "DROP TABLE readings_5m, readings_1h, readings_1d, rollup_invalidations,"
        " readings_1h_days; DROP INDEX readings_time_brin;"
        " DELETE FROM schema_migrations WHERE version IN (17, 22, 24)"
    )
    conn.commit()
    assert migrations.upgrade(conn) == [17, 22, 24]  # 24 repacks what 22 packed
    conn.commit()
    # what was complete at the migration is rolled up and packed
    day = LEVELS[-1].floor(now)
    assert _hours_by_day(conn) == _hours_by_day_expected(stored, day) != set()
    # a refresh adds the newest bucket
    refresh(conn, now)
    for level in LEVELS:
        assert _level(conn, level.table) == level_rows(stored, level.width, level.floor(now))
    assert _hours_by_day(conn) == _hours_by_day_expected(stored, day)


# -- retention -------------------------------------------------------------------------


def test_retention_drops_old_partitions_without_touching_newer_data(
    conn: psycopg.Connection,
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    hourly = [
        Reading(device, quantity, start + timedelta(hours=h), float(h % 50))
        for h in range(int((NOW - start) / HOUR))
        for device, quantity in [("aq-1", "pm10"), ("bay-1", "occupied")]
    ]
    write(conn, hourly)
    refresh(conn)
    rolled = {level.name: _level(conn, level.table) for level in LEVELS}
    keep = RetentionSettings(
        raw_retention_days=30,  # before 8 Feb: January's partition goes whole
        raw_retention_days_by_quantity={"occupied": 10},  # before 28 Feb, row by row
        rollup_5m_retention_days=40,  # before 29 Jan
    )
    report = retention.apply(conn, keep, NOW)
    conn.commit()
    assert report.dropped == ["readings_2026_01"]
    pm10_cut, occupied_cut = NOW - 30 * DAY, NOW - 10 * DAY
    assert report.deleted == {
        "occupied": sum(
            1
            for r in hourly
            if r.quantity == "occupied"
            and datetime(2026, 2, 1, tzinfo=UTC) <= r.time < occupied_cut
        )
    }
    kept = set(conn.execute("SELECT device_id, quantity, time, value FROM readings").fetchall())
    assert kept == {
        (r.device_id, r.quantity, r.time, r.value)
        for r in hourly
        if r.time >= datetime(2026, 2, 1, tzinfo=UTC)
        and (r.quantity == "pm10" or r.time >= occupied_cut)
    }
    assert pm10_cut > datetime(2026, 2, 1, tzinfo=UTC)  # February's pm10 is kept whole
    partitions = conn.execute(
        "SELECT relname FROM pg_inherits JOIN pg_class ON oid = inhrelid"
        " WHERE inhparent = 'readings'::regclass ORDER BY 1"
    ).fetchall()
    assert partitions == [("readings_2026_02",), ("readings_2026_03",)]
    # rollups outlive raw readings: the hours and days stay, the 5 minutes go at 40 days
    assert report.rollups["5m"] > 0
    assert _level(conn, "readings_5m") == {row for row in rolled["5m"] if row[2] >= NOW - 40 * DAY}
    for name in ("1h", "1d"):
        assert _level(conn, f"readings_{name}") == rolled[name]
    assert _hours_by_day(conn) == _hours_by_day_expected(hourly, LEVELS[-1].floor(NOW))
    # a refresh after the deletes leaves the rollups as they were
    refresh(conn)
    assert _level(conn, "readings_1h") == rolled["1h"]
    # a late reading for the dropped month finds its partition again
    write(conn, [Reading("aq-1", "pm10", datetime(2026, 1, 15, tzinfo=UTC), 1.0)])
    assert retention.apply(conn, keep, NOW).dropped == ["readings_2026_01"]
    # the hours packed by day go with the hours (before 24 Jan 12:07: to the 12:00 bucket),
    # that day's remaining hours repacked
    shorter = keep.model_copy(update={"rollup_1h_retention_days": 45})
    assert retention.apply(conn, shorter, NOW).rollups["1h"] > 0
    conn.commit()
    assert _hours_by_day(conn) == {
        row
        for row in _hours_by_day_expected(hourly, LEVELS[-1].floor(NOW))
        if row[2] >= datetime(2026, 1, 24, 13, tzinfo=UTC)
    }
    assert conn.execute("SELECT min(bucket) FROM readings_1h").fetchone() == (
        datetime(2026, 1, 24, 13, tzinfo=UTC),
    )


def test_retention_settings_refuse_rollups_kept_shorter_than_their_source() -> None:
    with pytest.raises(ValidationError, match="ROLLUP_5M_RETENTION_DAYS=100 is shorter"):
        RetentionSettings(raw_retention_days=365, rollup_5m_retention_days=100)
    with pytest.raises(ValidationError, match="ROLLUP_1D_RETENTION_DAYS=800 is shorter"):
        RetentionSettings(rollup_1h_retention_days=900, rollup_1d_retention_days=800)
    with pytest.raises(ValidationError, match="at least 7 days"):
        RetentionSettings(raw_retention_days_by_quantity={"occupied": 2})
    longer = RetentionSettings(
        raw_retention_days_by_quantity={"water_level": 3650}, rollup_5m_retention_days=0
    )
    assert (longer.longest_raw_retention_days, longer.shortest_raw_retention_days) == (3650, 365)
    with pytest.raises(ValidationError, match="shorter than the longest raw retention"):
        RetentionSettings(raw_retention_days_by_quantity={"water_level": 3650})


# -- one device's quantities side by side ----------------------------------------------


def _wide(url: str, *args: object, **kwargs: object) -> list[tuple]:
    async def run() -> list[tuple]:
        async with await psycopg.AsyncConnection.connect(url) as aconn:
            return await rollups.series_wide(aconn, *args, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(run())


def test_series_wide_puts_a_devices_quantities_side_by_side(
    conn: psycopg.Connection, pg_url: str
) -> None:
    # three days of 5-minute readings up to NOW (the newest edge unrolled); "b" misses
    # every third reading and the whole of one hour, "a" misses another hour
    times = [NOW - timedelta(minutes=5 * i) for i in range(12 * 24 * 3)]
    gap_a, gap_b = NOW.replace(minute=0) - 5 * HOUR, NOW.replace(minute=0) - 30 * HOUR
    readings = [
        Reading("lot-w", "a", t, float(i % 17))
        for i, t in enumerate(times)
        if not gap_a <= t < gap_a + HOUR
    ] + [
        Reading("lot-w", "b", t, float(i % 5))
        for i, t in enumerate(times)
        if i % 3 and not gap_b <= t < gap_b + HOUR
    ]
    readings.append(Reading("other", "a", NOW - HOUR, 99.0))  # another device: not counted
    write(conn, readings)
    refresh(conn)
    start, end = NOW - 3 * DAY, NOW + timedelta(seconds=1)
    of = {q: [r for r in readings if r.device_id == "lot-w" and r.quantity == q] for q in "ab"}
    for width in (timedelta(minutes=15), HOUR, DAY):
        by = {
            q: {b.start: b for b in expected(of[q], width, start=start, end=end)}
            for q in ("a", "b")
        }
        want = [
            (moment, a.count, a.sum, a.min, a.max)
            + (
                (None,) * 4
                if moment not in by["b"]
                else (
                    by["b"][moment].count,
                    by["b"][moment].sum,
                    by["b"][moment].min,
                    by["b"][moment].max,
                )
            )
            for moment, a in sorted(by["a"].items())
        ]
        assert any(row[5] is None for row in want) or width == DAY  # the gap shows
        assert gap_a not in {row[0] for row in want} or width == DAY  # "a" leads
        assert _wide(pg_url, "lot-w", ["a", "b"], start, end, width) == want, width
        assert _wide(pg_url, "lot-w", ["a", "b"], start, end, width, raw=True) == want, width
