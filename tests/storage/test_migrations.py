from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from storage import migrations
from storage.dead_letters import DeadLetter
from storage.readings import WRITE_METHODS, Reading, ReadingWriter


def _schema(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    return conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' ORDER BY 1, 2"
    ).fetchall()


def test_migrations_apply_to_empty_database_and_are_idempotent(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        assert migrations.applied_versions(conn) == set()
        assert migrations.upgrade(conn) == [m.version for m in migrations.MIGRATIONS]
        first = _schema(conn)
        assert migrations.upgrade(conn) == []
        assert _schema(conn) == first
        tables = {row[0] for row in first}
        assert {"devices", "assets", "layers", "features", "readings", "dead_letters"} <= tables
        assert migrations.readings_storage(conn) == "partitioned"
        kind = conn.execute("SELECT relkind FROM pg_class WHERE relname = 'readings'").fetchone()
        assert kind == ("p",)  # a partitioned table


def test_concurrent_upgrades_apply_once(pg_url: str) -> None:
    results: list[list[int]] = []

    def upgrade() -> None:
        with psycopg.connect(pg_url) as conn:
            results.append(migrations.upgrade(conn))

    threads = [threading.Thread(target=upgrade) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(len, results)) == [0, 0, len(migrations.MIGRATIONS)]


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_writes_are_idempotent_across_months_and_keep_latest(pg_url: str, method: str) -> None:
    t0 = datetime(2026, 1, 31, 23, 59, tzinfo=UTC)
    batch = [
        Reading("g1", "water_level", t0, 310.0),
        Reading("g1", "water_level", t0 + timedelta(minutes=2), 312.0),  # next month
        Reading("g1", "water_level", t0 - timedelta(days=400), -42.0),  # late, a year back
    ]
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        writer = ReadingWriter(migrations.readings_storage(conn), method)
        writer.write(conn, batch)
        assert writer.write(conn, batch[:2]) == 0  # a redelivery
        conn.commit()
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (3,)
        # a batch mixing a redelivered reading, a new one and the new one sent twice
        fresh = Reading("g1", "water_level", t0 + timedelta(minutes=1), 311.0)
        assert writer.write(conn, [batch[0], fresh, fresh]) == 1
        dead = DeadLetter.of("city/devices/x/json", b"\xff", "payload is not UTF-8", t0)
        writer.write(conn, [], [dead])
        conn.commit()
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (4,)
        partitions = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'readings'::regclass"
        ).fetchone()
        assert partitions == (3,)
        latest = conn.execute(
            "SELECT time, value FROM latest_readings WHERE device_id = 'g1'"
        ).fetchone()
        assert latest == (t0 + timedelta(minutes=2), 312.0)
        # an older reading arriving late does not replace the latest value
        writer.write(conn, [Reading("g1", "water_level", t0 - timedelta(hours=1), 1.0)])
        assert conn.execute("SELECT value FROM latest_readings").fetchone() == (312.0,)
        assert conn.execute("SELECT reason, payload FROM dead_letters").fetchone() == (
            "payload is not UTF-8",
            b"\xff",
        )


def test_drone_track_points_are_stored_once(pg_url: str) -> None:
    from storage.readings import TrackPoint

    t0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    points = [
        TrackPoint("drone-1", t0 + timedelta(seconds=s), 24.87, 43.72 + s * 1e-4, 60.0)
        for s in range(10)
    ]
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        writer = ReadingWriter(migrations.readings_storage(conn))
        writer.write(conn, [Reading("drone-1", "water_surface_level", t0, 412.0)], track=points)
        writer.write(conn, [], track=points[:3])
        assert conn.execute("SELECT count(*) FROM drone_track").fetchone() == (10,)
        joined = conn.execute(
            "SELECT r.value, t.lat FROM readings r JOIN drone_track t"
            " ON t.drone_id = r.device_id AND t.time = r.time"
        ).fetchone()
        assert joined == (412.0, 43.72)


def test_drone_samples_over_every_drone_are_read_by_time(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        conn.execute("SET enable_seqscan = off")  # an empty table: ask what could serve
        plan = conn.execute(
            "EXPLAIN SELECT * FROM drone_track"
            " WHERE time >= now() - interval '1 hour' AND time < now() ORDER BY time"
        ).fetchall()
        assert "drone_track_time" in " ".join(row[0] for row in plan)
