"""The PGlite TimescaleDB test server runs real TimescaleDB hypertables."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

pytestmark = pytest.mark.integration


def test_create_extension_timescaledb(timescale_url: str) -> None:
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        row = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
    assert row is not None and row[0].startswith("2.")


def test_hypertable_insert_select_round_trip(timescale_url: str) -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows = [("d1", "temp", start + dt.timedelta(days=day), 20.0 + day) for day in range(14)]
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        conn.execute(
            "CREATE TABLE readings (device_id text, quantity text, time timestamptz,"
            " value double precision, PRIMARY KEY (device_id, quantity, time))"
        )
        conn.execute("SELECT create_hypertable('readings', by_range('time'))")
        conn.cursor().executemany(
            "INSERT INTO readings VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            rows + rows[:3],
        )
        stored = conn.execute("SELECT * FROM readings ORDER BY time").fetchall()
        chunks = conn.execute("SELECT count(*) FROM show_chunks('readings')").fetchone()
    assert stored == rows
    assert chunks is not None and chunks[0] >= 2  # two weeks span several 7-day chunks
