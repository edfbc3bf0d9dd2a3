"""Live layers: refreshed when their features are read, written once for a list."""

from __future__ import annotations

from datetime import datetime

import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.live_layers import LiveLayers
from tests.backends import SYSTEM_PG

pytestmark = pytest.mark.anyio


async def test_a_list_writes_a_live_layer_once_and_reading_it_refreshes_it() -> None:
    calls: list[str] = []

    async def lots(conn: AsyncConnection, now: datetime) -> None:
        await conn.execute("SELECT 1")
        calls.append("lots")

    async def stations(conn: AsyncConnection, now: datetime) -> None:
        calls.append("stations")

    layers = LiveLayers({"lots": lots, "bays": lots, "stations": stations}, max_age_s=0.0)
    async with AsyncConnectionPool(SYSTEM_PG, min_size=1, max_size=1, open=False) as pool:
        await layers.ensure_all(pool)
        assert calls == ["lots", "stations"]  # one refresher writes two layers: once
        await layers.ensure_all(pool)  # stale at once (max age 0), yet not written again
        assert calls == ["lots", "stations"]
        await layers.fresh(pool, "bays")  # reading a layer's features refreshes it
        assert calls == ["lots", "stations", "lots"]
        layers.invalidate()  # a write: every live layer is written at its next read
        await layers.ensure_all(pool)
        assert calls == ["lots", "stations", "lots", "lots", "stations"]
