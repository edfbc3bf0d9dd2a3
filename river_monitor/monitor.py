"""The alert engine as a service: every committed gauge reading evaluated, in order.

The ingest writer announces each committed batch's devices on ``readings_changed``;
the monitor then reads the watched gauges' new readings (after its stored place in
each, ``river_gauge_state``) and applies the condition changes in the same
transaction as it moves its place, so a restart neither misses nor repeats a reading.
Each second it also lets time pass: silence, and the acknowledgement and reminder
timers. Readings that arrive older than the monitor's place (beyond ``SETTLE_S``) are
stored by ingestion but do not move the alert state (a level cannot be raised in the
past).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection

from river_monitor import alerts
from river_monitor.conditions import GaugeWatch
from river_monitor.config import GaugeConfig, RiverConfig
from storage.database import reconnecting
from storage.readings import CHANGED_CHANNEL

log = logging.getLogger(__name__)

BATCH = 5_000
SETTLE_S = 0.25
"""After a gauge's commit, how long other commits may still come before its new readings
are read in time order: ingestion workers sharing a subscription commit concurrently, so
a gauge's consecutive readings can commit out of time order."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Monitor:
    """Watches the configured gauges' readings; runs until stopped."""

    def __init__(
        self,
        database_url: str,
        config: RiverConfig,
        *,
        tick_s: float = 1.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._url = database_url
        self._config = config
        self._tick_s = tick_s
        self._clock = clock
        self._watches: dict[str, GaugeWatch] = {}
        self._places: dict[str, datetime | None] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Evaluate readings as they are committed until ``stop`` is set; reconnect
        (resuming from the stored places) if the database goes away."""
        await reconnecting(lambda: self._serve(stop), stop, "river monitor")

    async def _serve(self, stop: asyncio.Event) -> None:
        async with (
            await AsyncConnection.connect(self._url, autocommit=True) as listener,
            await AsyncConnection.connect(self._url, autocommit=True) as conn,
        ):
            await listener.execute(f"LISTEN {CHANGED_CHANNEL}")
            for gauge in self._config.gauges:  # after LISTEN: nothing slips between
                await self._resume(conn, gauge)
            await self._read_new(conn, set(self._watches))
            log.info("river monitor watching %s", ", ".join(self._watches))
            while not stop.is_set():
                due = await self._notified(listener, self._tick_s)
                if due:  # let the readings in flight with these commit too
                    due |= await self._notified(listener, SETTLE_S, stop_after=None)
                    await self._read_new(conn, due)
                await self._tick(conn)

    async def _notified(
        self, listener: AsyncConnection, timeout: float, stop_after: int | None = 1
    ) -> set[str]:
        """Watched gauges among the devices notified within ``timeout``."""
        due: set[str] = set()
        async for note in listener.notifies(timeout=timeout, stop_after=stop_after):
            devices = self._watches if note.payload == "*" else note.payload.split(",")
            due |= set(devices) & set(self._watches)
        return due

    async def _resume(self, conn: AsyncConnection, gauge: GaugeConfig) -> None:
        """The gauge's watch as the stored state left it: open alerts' severities, the
        readings of the rise window up to its place, when the last one arrived."""
        row = await (
            await conn.execute(
                "SELECT last_time, last_arrival FROM river_gauge_state WHERE gauge_id = %s",
                (gauge.device_id,),
            )
        ).fetchone()
        if row is None:
            # first start: from the rise window before the latest reading, if any
            latest = await (
                await conn.execute(
                    "SELECT max(time) FROM readings WHERE device_id = %s AND quantity = %s",
                    (gauge.device_id, gauge.quantity),
                )
            ).fetchone()
            last = latest[0] if latest else None
            place = None if last is None else last - timedelta(hours=gauge.rise_window_h)
            arrival = last
            await conn.execute(
                "INSERT INTO river_gauge_state (gauge_id, last_time, last_arrival)"
                " VALUES (%s, %s, %s) ON CONFLICT (gauge_id) DO NOTHING",
                (gauge.device_id, place, arrival),
            )
        else:
            place, arrival = row
        recent: list[tuple[datetime, float]] = []
        if place is not None:
            rows = await (
                await conn.execute(
                    "SELECT time, value FROM readings WHERE device_id = %s AND quantity = %s"
                    " AND time > %s AND time <= %s ORDER BY time",
                    (
                        gauge.device_id,
                        gauge.quantity,
                        place - timedelta(hours=gauge.rise_window_h),
                        place,
                    ),
                )
            ).fetchall()
            recent = [(t, float(v)) for t, v in rows]
        severities = await alerts.open_severities(conn, gauge.device_id)
        self._watches[gauge.device_id] = GaugeWatch(gauge, severities, recent, arrival)
        self._places[gauge.device_id] = place

    async def _read_new(self, conn: AsyncConnection, gauge_ids: set[str]) -> None:
        for gauge_id in sorted(gauge_ids):
            watch = self._watches[gauge_id]
            while True:
                place = self._places[gauge_id]
                rows = await (
                    await conn.execute(
                        "SELECT time, value FROM readings WHERE device_id = %s AND quantity = %s"
                        " AND time > coalesce(%s, '-infinity'::timestamptz)"
                        " ORDER BY time LIMIT %s",
                        (gauge_id, watch.config.quantity, place, BATCH),
                    )
                ).fetchall()
                if not rows:
                    break
                now = self._clock()
                async with conn.transaction():
                    for moment, value in rows:
                        for change in watch.reading(moment, float(value), now):
                            await alerts.apply(conn, self._config, change, now)
                    place = rows[-1][0]
                    await conn.execute(
                        "INSERT INTO river_gauge_state (gauge_id, last_time, last_arrival)"
                        " VALUES (%s, %s, %s) ON CONFLICT (gauge_id) DO UPDATE"
                        " SET last_time = excluded.last_time, last_arrival = excluded.last_arrival",
                        (gauge_id, place, watch.last_arrival),
                    )
                self._places[gauge_id] = place
                if len(rows) < BATCH:
                    break

    async def _tick(self, conn: AsyncConnection) -> None:
        now = self._clock()
        for watch in self._watches.values():
            changes = watch.tick(now)
            if changes:
                async with conn.transaction():
                    for change in changes:
                        await alerts.apply(conn, self._config, change, now)
        await alerts.run_timers(conn, self._config, now)
