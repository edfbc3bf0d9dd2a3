"""The gauges watched as a service: every committed reading evaluated, in order.

The ingest writer announces each committed batch's devices on ``readings_changed``;
the monitor then reads the watched gauges' new readings (after its stored place in
each, ``river_gauge_state``) and hands the condition changes to the alert engine
(:func:`alerts.store.apply`) in the same transaction as it moves its place, so a
restart neither misses nor repeats a reading.
Each second it also lets time pass: silence, and the acknowledgement and reminder
timers. Readings that arrive older than the monitor's place (beyond ``SETTLE_S``) are
stored by ingestion but do not move the alert state (a level cannot be raised in the
past).

A reading dated ahead of its arrival (a wrong clock: :func:`conditions.dated_ahead`,
judged when the monitor reads it, a fraction of a second after the commit) is evaluated
at once, as of its arrival, but does not move the place: the genuine readings dated
before it that arrive next are still read. It is remembered so as to be evaluated once,
until the place passes its date (after a restart, once more).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection

from alerts import store
from river_monitor import levels
from river_monitor.alerting import condition
from river_monitor.conditions import Change, GaugeWatch, dated_ahead
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
        self._source = config.alert_source
        self._tick_s = tick_s
        self._clock = clock
        self._watches: dict[str, GaugeWatch] = {}
        self._places: dict[str, datetime | None] = {}
        self._ahead: dict[str, set[datetime]] = {}

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
            last = await levels.latest_time(conn, gauge)
            place = None if last is None else last - timedelta(hours=gauge.rise_window_h)
            arrival = last
            await conn.execute(
                "INSERT INTO river_gauge_state (gauge_id, last_time, last_arrival)"
                " VALUES (%s, %s, %s) ON CONFLICT (gauge_id) DO NOTHING",
                (gauge.device_id, place, arrival),
            )
        else:
            place, arrival = row
        recent: list[levels.Level] = []
        if place is not None:
            window_start = place - timedelta(hours=gauge.rise_window_h)
            recent = await levels.between(conn, gauge, window_start, place)
        severities = await store.open_severities(conn, self._source, gauge.device_id)
        self._watches[gauge.device_id] = GaugeWatch(gauge, severities, recent, arrival)
        self._places[gauge.device_id] = place

    async def _read_new(self, conn: AsyncConnection, gauge_ids: set[str]) -> None:
        for gauge_id in sorted(gauge_ids):
            watch = self._watches[gauge_id]
            ahead = self._ahead.setdefault(gauge_id, set())
            while True:
                place = self._places[gauge_id]
                rows = await levels.after(conn, watch.config, place, BATCH)
                if not rows:
                    break
                now = self._clock()
                async with conn.transaction():
                    for moment, value in rows:
                        early = dated_ahead(moment, now)
                        if not early:
                            place = moment
                        if moment in ahead:
                            continue  # evaluated when it arrived
                        if early:
                            ahead.add(moment)
                            log.warning(
                                "gauge %s: reading of %g cm dated %s arrived at %s; its clock"
                                " runs ahead, it is evaluated as of its arrival",
                                gauge_id,
                                value,
                                moment.isoformat(),
                                now.isoformat(),
                            )
                        await self._apply(conn, watch, watch.reading(moment, value, now), now)
                    await conn.execute(
                        "INSERT INTO river_gauge_state (gauge_id, last_time, last_arrival)"
                        " VALUES (%s, %s, %s) ON CONFLICT (gauge_id) DO UPDATE"
                        " SET last_time = excluded.last_time, last_arrival = excluded.last_arrival",
                        (gauge_id, place, watch.last_arrival),
                    )
                self._places[gauge_id] = place
                if place is not None:
                    ahead -= {moment for moment in ahead if moment <= place}
                if len(rows) < BATCH or dated_ahead(rows[-1][0], now):
                    break  # what is left is ahead of the clock and evaluated already

    async def _tick(self, conn: AsyncConnection) -> None:
        now = self._clock()
        for watch in self._watches.values():
            changes = watch.tick(now)
            if changes:
                async with conn.transaction():
                    await self._apply(conn, watch, changes, now)
        await store.run_timers(conn, self._source, now)

    async def _apply(
        self, conn: AsyncConnection, watch: GaugeWatch, changes: list[Change], now: datetime
    ) -> None:
        for change in changes:
            await store.apply(conn, self._source, condition(watch.config, change), now)
