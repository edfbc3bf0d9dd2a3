"""A red river alert raised in a database as the monitor would, for tests of what
follows it (acknowledgement, audit, backups)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from psycopg import AsyncConnection

from alerts import store
from demo_town.river import DEMO
from river_monitor.alerting import condition
from river_monitor.conditions import Change

GAUGE = DEMO.gauges[0]  # the API's river configuration when none is given


def raise_alert(url: str) -> int:
    """Raise an open level alert on the demo gauge; its id."""

    async def run() -> int:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            now = datetime.now(UTC)
            async with conn.transaction():
                change = Change(GAUGE.device_id, "level", 2, now, 590.0)
                await store.apply(conn, DEMO.alert_source, condition(GAUGE, change), now)
            (alert,) = await store.listing(conn, DEMO.alert_source, which="open")
            return int(alert["alert_id"])

    return asyncio.run(run())
