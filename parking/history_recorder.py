"""Records every lot's and zone's occupancy each 5 minutes: the parking history's writer.

Runs beside the parking alert monitor (``smartcity river``), which already judges every
lot each tick. At the first tick of each 5-minute slot it reads the lots' live states as
the API does (:func:`parking.store.lots`) and writes their samples
(:func:`parking.history.samples`), stamped with the slot's start, through the ingestion
writer: the rollups keep them like any reading (on plain PostgreSQL the same
transaction invalidates their bucket).

One writer whatever runs: the write takes a transaction-scoped advisory lock and skips
when another process holds it, and a sample already stored for a slot is never written
twice (the readings' primary key; the writer skips duplicates). A slot the recorder was
not running in stays empty: the past's live state cannot be recomputed faithfully (an
operator's closure then, a bay's silence), so nothing is invented; a bucket's
``samples`` shows the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import psycopg
from psycopg import AsyncConnection

from parking import history, store, zones
from parking.model import Thresholds
from storage import migrations, rollups
from storage.database import reconnecting
from storage.readings import Reading, ReadingWriter

log = logging.getLogger(__name__)

TICK_S = 20.0
"""How often the recorder looks whether a new slot has begun: a sample is taken at most
this long after its slot's start."""
_LOCK_KEY = 0x5C17_0014
"""Serialises the writes of recorders in several processes."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def write(database_url: str, readings: Sequence[Reading]) -> int:
    """Store one slot's samples unless another recorder is writing; how many were new."""
    if not readings:
        return 0
    with psycopg.connect(database_url) as conn, conn.transaction():
        locked = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_LOCK_KEY,)).fetchone()
        if locked is None or not locked[0]:
            return 0
        writer = ReadingWriter(migrations.readings_storage(conn))
        return writer.write(conn, readings)


async def paid_zone_lots(conn: AsyncConnection, lots: list[store.Lot]) -> dict[str, list[str]]:
    """Each paid parking zone's lots now, by zone code (none without the layer)."""
    found = await zones.by_paid_zone(conn, lots)
    return {} if found is None else {z["zone"]: z["lots"] for z in found if z["zone"]}


class HistoryRecorder:
    """Samples every lot and zone at the start of each 5-minute slot until stopped."""

    def __init__(
        self,
        database_url: str,
        *,
        tick_s: float = TICK_S,
        clock: Callable[[], datetime] = _utc_now,
        thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen
    ) -> None:
        self._url = database_url
        self._tick_s = tick_s
        self._clock = clock
        self._thresholds = thresholds
        self._last: datetime | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Record each slot until ``stop`` is set; reconnect if the database goes away."""
        await reconnecting(lambda: self._serve(stop), stop, "parking history recorder")

    async def _serve(self, stop: asyncio.Event) -> None:
        async with await AsyncConnection.connect(self._url, autocommit=True) as conn:
            log.info("parking history: sampling every lot each %s", history.SAMPLE_EVERY)
            while not stop.is_set():
                await self.record(conn)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._tick_s)

    async def record(self, conn: AsyncConnection) -> int:
        """Sample the lots if this slot has no sample yet from this recorder; how many
        readings were stored."""
        now = self._clock()
        slot = rollups.floor_time(now, history.SAMPLE_EVERY)
        if slot == self._last:
            return 0
        lots = await store.lots(conn, now, thresholds=self._thresholds)
        readings = history.samples(lots, slot, await paid_zone_lots(conn, lots))
        stored = await asyncio.to_thread(write, self._url, readings)
        self._last = slot
        return stored
