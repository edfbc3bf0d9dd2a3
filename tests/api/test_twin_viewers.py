"""200 live-twin viewers hold no database connection each: the API's one listener fans
each change out to every ``/twin/stream``, and every viewer gets it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from auth.principal import Role
from harness.credentials import key_headers
from harness.live import served
from storage import migrations
from storage.readings import Reading, ReadingWriter

pytestmark = pytest.mark.integration

VIEWERS = 200


def _server_connections(url: str) -> int:
    """Sessions PostgreSQL holds on the database, this one's excluded."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def _viewer(client: httpx.AsyncClient, ready: asyncio.Queue[None]) -> dict:
    """The first ``asset`` event a ``/twin/stream`` viewer receives."""
    async with client.stream("GET", "/twin/stream") as stream:
        event = None
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
                if event == "ready":
                    ready.put_nowait(None)
            elif line.startswith("data: ") and event == "asset":
                return dict(json.loads(line.removeprefix("data: ")))
    raise AssertionError("the stream ended before an asset event")


def test_two_hundred_viewers_share_one_listener_and_all_get_the_change(small_town: str) -> None:
    async def run(url: str) -> tuple[int, int, list[dict]]:
        limits = httpx.Limits(max_connections=VIEWERS + 10)
        viewer = key_headers(small_town, Role.VIEWER)
        async with httpx.AsyncClient(
            base_url=url, timeout=60, limits=limits, headers=viewer
        ) as client:
            (await client.get("/twin/snapshot")).raise_for_status()  # the twin is loaded
            before = _server_connections(small_town)
            ready: asyncio.Queue[None] = asyncio.Queue()
            viewers = [asyncio.create_task(_viewer(client, ready)) for _ in range(VIEWERS)]
            for _ in range(VIEWERS):
                await asyncio.wait_for(ready.get(), 60)
            during = _server_connections(small_town)
            with psycopg.connect(small_town) as conn:
                ReadingWriter(migrations.readings_storage(conn)).write(
                    conn, [Reading("gauge-tr-magurele", "water_level", datetime.now(UTC), 655.0)]
                )
            return before, during, await asyncio.wait_for(asyncio.gather(*viewers), 60)

    with served(small_town) as url:
        before, during, events = asyncio.run(run(url))
    assert during <= before + 1, f"{before} sessions before {VIEWERS} viewers, {during} with them"
    assert len(events) == VIEWERS
    assert {(e["asset_id"], e["values"]["gauge-tr-magurele"]["water_level"]) for e in events} == {
        ("gauge-tr-magurele", 655.0)
    }
