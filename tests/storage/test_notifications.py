"""One listening connection per process on real PostgreSQL: every subscriber gets every
notification of its channel in order, a slow one is dropped without holding the others
back, and a lost connection ends every subscription, then listens again."""

from __future__ import annotations

import asyncio

import pytest
from psycopg import AsyncConnection

from storage.notifications import Notifications, Subscription

QUEUE = 4


async def _listeners(conn: AsyncConnection) -> list[int]:
    rows = await (
        await conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
        )
    ).fetchall()
    return [int(r[0]) for r in rows]


async def _notify(conn: AsyncConnection, channel: str, payloads: range) -> None:
    for n in payloads:
        await conn.execute("SELECT pg_notify(%s, %s)", (channel, str(n)))


async def _read(subscription: Subscription) -> list[str]:
    return [payload async for payload in subscription]


def test_every_subscriber_gets_its_channel_in_order_from_one_connection(pg_url: str) -> None:
    async def run() -> None:
        notifications = Notifications(pg_url, ["river_events", "other"], queue_size=QUEUE)
        await notifications.start()
        async with (
            await AsyncConnection.connect(pg_url, autocommit=True) as conn,
            notifications.subscribe("river_events") as first,
            notifications.subscribe("river_events") as second,
            notifications.subscribe("other") as other,
        ):
            assert len(await _listeners(conn)) == 1
            await _notify(conn, "river_events", range(3))
            await _notify(conn, "other", range(10, 11))
            got = [[await anext(s) for _ in range(n)] for s, n in ((first, 3), (second, 3))]
            assert got == [["0", "1", "2"], ["0", "1", "2"]]
            assert await anext(other) == "10"
            with pytest.raises(ValueError, match=r"not listening to 'nobody' \(listening to: "):
                async with notifications.subscribe("nobody"):
                    pass
        await notifications.stop()

    asyncio.run(run())


def test_a_subscriber_that_falls_behind_is_dropped_alone(pg_url: str) -> None:
    async def run() -> None:
        notifications = Notifications(pg_url, ["river_events"], queue_size=QUEUE)
        await notifications.start()
        async with (
            await AsyncConnection.connect(pg_url, autocommit=True) as conn,
            notifications.subscribe("river_events") as slow,
            notifications.subscribe("river_events") as keeping_up,
        ):
            kept: list[str] = []
            for n in range(3 * QUEUE):
                await _notify(conn, "river_events", range(n, n + 1))
                kept.append(await asyncio.wait_for(anext(keeping_up), 10))
            assert kept == [str(n) for n in range(3 * QUEUE)]
            # the slow one had QUEUE waiting when the next came: its stream ends, unread
            assert await asyncio.wait_for(_read(slow), 10) == []
        await notifications.stop()

    asyncio.run(run())


def test_a_lost_connection_ends_every_subscription_and_listens_again(pg_url: str) -> None:
    async def run() -> None:
        notifications = Notifications(pg_url, ["river_events"], queue_size=QUEUE)
        await notifications.start()
        async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:
            async with notifications.subscribe("river_events") as before:
                (listener,) = await _listeners(conn)
                await conn.execute("SELECT pg_terminate_backend(%s)", (listener,))
                assert await asyncio.wait_for(_read(before), 10) == []
            # reconnected (after its retry delay): a new subscription hears what follows
            async with notifications.subscribe("river_events") as after:
                await _notify(conn, "river_events", range(1))
                assert await asyncio.wait_for(anext(after), 10) == "0"
        await notifications.stop()
        with pytest.raises(RuntimeError, match="not started"):
            async with notifications.subscribe("river_events"):
                pass

    asyncio.run(run())
