"""Rollups and retention on a real TimescaleDB engine: continuous aggregates and chunks.

The engine (PGlite) has no background workers, so TimescaleDB's policies are set but
never run by themselves: the tests refresh explicitly (``CALL
refresh_continuous_aggregate``, as :func:`storage.rollups.refresh` does), which is what
the policies would run. The engine serves one client at a time: each connection is
closed before the next opens.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import psycopg

from settings import RetentionSettings
from storage import migrations, retention, rollups
from storage.readings import Reading, ReadingWriter
from storage.rollups import LEVELS, Bucket
from tests.storage.rollup_oracle import expected, level_rows

NOW = datetime(2026, 3, 10, 12, 7, 30, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
KEEP = RetentionSettings(raw_retention_days=14)
_COLUMNS = (
    "device_id, quantity, bucket, count, sum, min, max, first_time, first_value,"
    " last_time, last_value"
)


def _level(conn: psycopg.Connection, table: str, devices: list[str]) -> set[tuple]:
    return set(
        conn.execute(
            f"SELECT {_COLUMNS} FROM {table} WHERE device_id = ANY(%s)", (devices,)
        ).fetchall()
    )


def _series(url: str, *args: object, **kwargs: object) -> list[Bucket]:
    async def run() -> list[Bucket]:
        async with await psycopg.AsyncConnection.connect(url) as aconn:
            return await rollups.series(aconn, *args, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(run())


def _refresh(url: str, keep: RetentionSettings = KEEP) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        rollups.refresh(conn, keep, NOW)


def test_continuous_aggregates_equal_raw_and_take_a_late_reading(timescale_url: str) -> None:
    rng = random.Random(14)
    devices = ["aq-1", "aq-2", "aq-3"]
    readings = [
        Reading(
            rng.choice(devices),
            rng.choice(["pm10", "no2"]),
            NOW - timedelta(seconds=rng.randrange(-600, 3 * 86_400)),
            rng.randrange(-400, 400) / 4,
        )
        for _ in range(1500)
    ]
    readings = list({(r.device_id, r.quantity, r.time): r for r in readings}.values())
    with psycopg.connect(timescale_url) as conn:
        migrations.upgrade(conn)
        variant = conn.execute("SELECT variant FROM schema_migrations WHERE version = 17")
        assert variant.fetchone() == ("0017_rollups_timescaledb.sql",)
        assert rollups.configure(conn, KEEP)
        jobs = conn.execute(
            "SELECT hypertable_name, job_id, (config->>'start_offset')::interval,"
            " (config->>'end_offset')::interval FROM timescaledb_information.jobs"
            " WHERE proc_name = 'policy_refresh_continuous_aggregate' ORDER BY 1"
        ).fetchall()
        assert [(j[0], j[2], j[3]) for j in jobs] == [
            (level.table, timedelta(days=14), timedelta(0))
            for level in sorted(LEVELS, key=lambda lv: lv.table)
        ]
        rollups.configure(conn, KEEP)  # unchanged settings: the same jobs
        again = conn.execute(
            "SELECT hypertable_name, job_id FROM timescaledb_information.jobs"
            " WHERE proc_name = 'policy_refresh_continuous_aggregate' ORDER BY 1"
        ).fetchall()
        assert again == [(j[0], j[1]) for j in jobs]
        ReadingWriter(migrations.readings_storage(conn)).write(conn, readings)
        conn.commit()
    _refresh(timescale_url)
    with psycopg.connect(timescale_url) as conn:
        for level in LEVELS:
            assert _level(conn, level.table, devices) == level_rows(
                readings, level.width, level.floor(NOW)
            )
    start, end = NOW - 4 * DAY, NOW + HOUR
    for width in (timedelta(minutes=15), HOUR, DAY):
        for combine in (False, True):
            args = (devices[:2], "pm10", start, end, width)
            oracle = expected(
                readings, width, combine=combine, devices=devices[:2], quantity="pm10",
                start=start, end=end,
            )  # fmt: skip
            assert _series(timescale_url, *args, combine=combine) == oracle

    # a late reading in a past hour: its buckets change at the next refresh
    past_hour = rollups.floor_time(NOW - 30 * HOUR, HOUR)
    late = Reading("aq-1", "pm10", past_hour + timedelta(minutes=31), 1000.0)
    with psycopg.connect(timescale_url) as conn:
        before = {level.name: _level(conn, level.table, devices) for level in LEVELS}
        ReadingWriter("timescaledb").write(conn, [late])
        conn.commit()
    _refresh(timescale_url)
    everything = [*readings, late]
    with psycopg.connect(timescale_url) as conn:
        for level in LEVELS:
            after = _level(conn, level.table, devices)
            assert after == level_rows(everything, level.width, level.floor(NOW))
            assert {row[2] for row in after - before[level.name]} == {level.floor(late.time)}
    hour = _series(timescale_url, ["aq-1"], "pm10", past_hour, past_hour + HOUR, HOUR)
    assert hour == expected(everything, HOUR, devices=["aq-1"], quantity="pm10",
                            start=past_hour, end=past_hour + HOUR)  # fmt: skip
    assert hour[0].max == 1000.0


def test_retention_drops_chunks_without_touching_newer_data(timescale_url: str) -> None:
    start = NOW - 40 * DAY
    hourly = [
        Reading(device, quantity, start + timedelta(hours=h), float(h % 50))
        for h in range(int(40 * DAY / HOUR))
        for device, quantity in [("river-1", "water_level"), ("bay-9", "occupied")]
    ]
    devices = ["river-1", "bay-9"]
    with psycopg.connect(timescale_url) as conn:
        migrations.upgrade(conn)
        ReadingWriter("timescaledb").write(conn, hourly)
        conn.commit()
    everything = RetentionSettings(raw_retention_days=60)
    _refresh(timescale_url, everything)
    with psycopg.connect(timescale_url) as conn:
        rolled = {level.name: _level(conn, level.table, devices) for level in LEVELS}
        assert rolled["1h"] == level_rows(hourly, HOUR, LEVELS[1].floor(NOW))
        keep = RetentionSettings(
            raw_retention_days=14, raw_retention_days_by_quantity={"occupied": 7}
        )
        report = retention.apply(conn, keep, NOW)
        conn.commit()
        assert report.dropped  # whole weekly chunks before the 14 days
        cut, occupied_cut = NOW - 14 * DAY, NOW - 7 * DAY
        kept = conn.execute(
            "SELECT device_id, quantity, time, value FROM readings WHERE device_id = ANY(%s)",
            (devices,),
        ).fetchall()
        kept_set = set(kept)
        # nothing at or after a horizon was touched
        assert {
            (r.device_id, r.quantity, r.time, r.value)
            for r in hourly
            if r.time >= (occupied_cut if r.quantity == "occupied" else cut)
        } <= kept_set
        # the occupied readings before their horizon were deleted, row by row
        assert not [row for row in kept if row[1] == "occupied" and row[2] < occupied_cut]
        assert report.deleted["occupied"] > 0
        # whole chunks only: the oldest water level kept is less than a chunk before 14 days
        oldest = min(row[2] for row in kept if row[1] == "water_level")
        assert cut - timedelta(days=7) <= oldest < NOW - 13 * DAY
        assert len(kept) < len(hourly)
    # rollups are not emptied by the deletes: the refresh stays inside the 7 days
    _refresh(timescale_url, keep)
    with psycopg.connect(timescale_url) as conn:
        for level in LEVELS:
            assert _level(conn, level.table, devices) == rolled[level.name]
