"""The live layers' shared writing (``gis_layers/live.py``) on real PostgreSQL: a layer
of points created, rewritten (its publication kept, its time moved on), emptied, and one
refresh at a time behind the advisory lock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import AsyncConnection

from gis_layers.live import CRS84, try_lock, write_points
from storage import migrations

T0 = datetime(2026, 5, 1, 8, tzinfo=UTC)
ATTRIBUTES = {"name": "object", "free": "int64"}


def _migrated(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)


async def _write(url: str, points: list[Any], now: datetime, public: bool = False) -> None:
    async with await AsyncConnection.connect(url) as conn, conn.transaction():
        await write_points(
            conn,
            "live_test",
            "Live test",
            public=public,
            attributes=ATTRIBUTES,
            points=points,
            now=now,
        )


def _layer(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT title, geometry_type, source_crs, feature_count, bbox_crs84::text,"
            " bbox_native::text, attributes, imported_at, public FROM layers"
            " WHERE layer_id = 'live_test'"
        ).fetchone()
        assert row is not None
        features = conn.execute(
            "SELECT feature_id, properties, geometry->'coordinates', bbox::text FROM features"
            " WHERE layer_id = 'live_test' ORDER BY feature_id"
        ).fetchall()
    return (*row, features)


def test_a_live_layer_is_created_rewritten_and_emptied(pg_url: str) -> None:
    _migrated(pg_url)
    points = [
        (21.9, 43.9, {"name": "Centru", "free": 3}),
        (22.0, 44.0, {"name": "Gara", "free": 0}),
    ]
    asyncio.run(_write(pg_url, points, T0))
    *entry, features = _layer(pg_url)
    assert entry == [
        "Live test",
        "Point",
        CRS84,
        2,
        "(22,44),(21.9,43.9)",
        "(22,44),(21.9,43.9)",
        ATTRIBUTES,
        T0,
        False,
    ]
    assert features == [
        (1, {"name": "Centru", "free": 3}, [21.9, 43.9], "(21.9,43.9),(21.9,43.9)"),
        (2, {"name": "Gara", "free": 0}, [22.0, 44.0], "(22,44),(22,44)"),
    ]

    # published since: a rewrite keeps it so, even asked to create it private
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE layers SET public = true WHERE layer_id = 'live_test'")
    later = T0 + timedelta(seconds=5)
    asyncio.run(_write(pg_url, [(22.1, 44.1, {"name": "Nord", "free": 7})], later))
    *entry, features = _layer(pg_url)
    assert (entry[3], entry[4], entry[7], entry[8]) == (1, "(22.1,44.1),(22.1,44.1)", later, True)
    assert features == [(1, {"name": "Nord", "free": 7}, [22.1, 44.1], "(22.1,44.1),(22.1,44.1)")]

    asyncio.run(_write(pg_url, [], later + timedelta(seconds=5)))
    *entry, features = _layer(pg_url)
    assert (entry[3], entry[4], entry[7], features) == (0, None, later + timedelta(seconds=5), [])


def test_one_refresh_at_a_time_holds_the_lock_until_its_transaction_ends(pg_url: str) -> None:
    _migrated(pg_url)

    async def run() -> list[bool]:
        taken = []
        async with (
            await AsyncConnection.connect(pg_url) as first,
            await AsyncConnection.connect(pg_url) as second,
        ):
            async with first.transaction():
                taken.append(await try_lock(first, 0x5C17_7E57))
                async with second.transaction():
                    taken.append(await try_lock(second, 0x5C17_7E57))  # held: skipped
                    taken.append(await try_lock(second, 0x5C17_7E58))  # another layer's
            async with second.transaction():
                taken.append(await try_lock(second, 0x5C17_7E57))  # released at commit
        return taken

    assert asyncio.run(run()) == [True, False, True, True]
