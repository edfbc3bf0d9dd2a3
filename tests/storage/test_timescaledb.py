"""The same schema and queries on a real TimescaleDB engine: readings become a hypertable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from api.app import create_app
from harness.credentials import signed_in
from settings import Settings
from storage import devices, migrations
from storage.readings import Reading, ReadingWriter


def test_readings_are_a_hypertable_and_the_api_reads_them(timescale_url: str) -> None:
    t0 = datetime(2026, 4, 1, tzinfo=UTC)
    hourly = [
        Reading("gauge-tr-magurele", "water_level", t0 + timedelta(hours=h), 480.0 + h)
        for h in range(24 * 20)
    ]
    with psycopg.connect(timescale_url) as conn:
        assert migrations.upgrade(conn) == [m.version for m in migrations.MIGRATIONS]
        assert migrations.upgrade(conn) == []
        assert migrations.readings_storage(conn) == "timescaledb"
        variant = conn.execute("SELECT variant FROM schema_migrations WHERE version = 2").fetchone()
        assert variant == ("0002_readings_timescaledb.sql",)
        devices.register(
            conn, [devices.Device("gauge-tr-magurele", "river_gauge", ("water_level",))]
        )
        writer = ReadingWriter(migrations.readings_storage(conn))
        writer.write(conn, hourly)
        writer.write(conn, hourly[:100])  # redelivered: ignored
        conn.commit()
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (len(hourly),)
        chunks = conn.execute(
            "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'readings'"
        ).fetchone()[0]
        assert chunks >= 3  # 20 days in 7-day chunks
        bucketed = conn.execute(
            "SELECT time_bucket('1 day', time) AS day, max(value) FROM readings"
            " GROUP BY day ORDER BY day LIMIT 1"
        ).fetchone()
        assert bucketed == (t0, 503.0)
    # the engine serves one client at a time
    app = create_app(Settings(db_pool_max_size=1), timescale_url)
    with signed_in(app, timescale_url) as client:
        assert client.get("/health").json()["readings_storage"] == "timescaledb"
        series = client.get(
            "/devices/gauge-tr-magurele/readings",
            params={
                "quantity": "water_level",
                "start": "2026-04-02T00:00:00Z",
                "end": "2026-04-02T03:00:00Z",
            },
        ).json()
        assert [r["value"] for r in series["readings"]] == [504.0, 505.0, 506.0]
        latest = client.get("/devices").json()["devices"][0]["latest"]["water_level"]
        assert latest["value"] == hourly[-1].value
