"""The lots' live states held in the process (:mod:`parking.live`) against the database's
(:func:`parking.store.lots`, read afresh each time) as time passes, operators act and
readings arrive, on real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection

from parking import store
from parking.live import LiveLots
from tests.parking import alert_lot
from tests.parking.alert_lot import LOT

MINUTE = timedelta(minutes=1)
WAIT_S = 20.0


def test_live_states_are_the_databases_as_time_passes_operators_act_and_readings_come(
    pg_url: str,
) -> None:
    alert_lot.create(pg_url)
    t0 = datetime.now(UTC).replace(microsecond=0) - MINUTE
    alert_lot.report(pg_url, t0, [1, 1, 0, 0], 2)

    async def scenario() -> None:
        live = LiveLots(pg_url)
        await live.start()
        try:
            await asyncio.wait_for(live.ready.wait(), WAIT_S)
            async with await AsyncConnection.connect(pg_url, autocommit=True) as conn:

                async def same_at(minutes: float) -> None:
                    at = t0 + minutes * MINUTE
                    expected = await store.lots(conn, at)
                    assert live.documents(at) == [x.document() for x in expected], minutes
                    statuses = [x.state.status for x in expected]
                    assert [x.state.status for x in live.lots(at)] == statuses, minutes

                # the counter turns stale after 5 minutes, the bays fall silent after 15
                for minutes in (1, 3, 5.5, 6, 10, 15.5, 16, 30):
                    await same_at(minutes)
                assert live.documents(t0 + 16 * MINUTE)[0]["status"] == "sensor_fault"
                # an operator closes the lot for ten minutes: seen at once, no waiting for
                # the notification
                now = datetime.now(UTC)
                await store.close_lot(conn, LOT, "works", now + 10 * MINUTE, "tester", now)
                assert await live.current(conn)
                assert live.documents(now)[0]["status"] == "closed"
                closed_from = (now - t0) / MINUTE
                for minutes in (closed_from, closed_from + 9.9, closed_from + 10.1):
                    await same_at(minutes)
                # a reading: followed within the notification's delay
                await asyncio.to_thread(alert_lot.report, pg_url, now, [1, 1, 1, 1], 4)
                deadline = time.monotonic() + WAIT_S
                while live.documents(now)[0]["bays_occupied"] != 4:
                    assert time.monotonic() < deadline, "the reading was not followed"
                    await asyncio.sleep(0.05)
                await same_at((now + MINUTE - t0) / MINUTE)
        finally:
            await live.stop()

    asyncio.run(scenario())
