"""Air quality's alerts as a service: every station judged each tick on its last complete
hours (:func:`air.alerts.judge`), the changes handed to the alert engine, and the
engine's dispatcher delivering them (MQTT, webhooks; the API's server-sent events follow
the engine's notifications).

The memory is the engine's own: a condition is applied when its severity differs from
the open alert's (:func:`alerts.store.open_severities`), so a restart repeats nothing and
needs no state of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from psycopg import AsyncConnection

from air.alerts import HOUR, AlertRules, alert_source, escalation, judge
from air.index import hourly_means
from air.stations import stations
from alerts import store as alert_store
from alerts.delivery import Backoff, Dispatcher
from alerts.model import Escalation
from ingest_mqtt.publisher import Publisher
from settings import AirAlertSettings
from storage.database import reconnecting
from storage.rollups import floor_time

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AlertMonitor:
    """Judges every station each ``tick_s`` and feeds the alert engine; runs until stopped."""

    def __init__(
        self,
        database_url: str,
        rules: AlertRules,
        escalation: Escalation,
        *,
        tick_s: float = 300.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._url = database_url
        self._rules = rules
        self._escalation = escalation
        self._tick_s = tick_s
        self._clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        """Evaluate each tick until ``stop`` is set; reconnect if the database goes away."""
        await reconnecting(lambda: self._serve(stop), stop, "air alert monitor")

    async def _serve(self, stop: asyncio.Event) -> None:
        async with await AsyncConnection.connect(self._url, autocommit=True) as conn:
            log.info("air alert monitor judging the stations every %g s", self._tick_s)
            while not stop.is_set():
                await self.evaluate(conn)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._tick_s)

    async def evaluate(self, conn: AsyncConnection) -> list[int]:
        """Judge every station on its last complete hour, apply what changed, run the
        engine's reminder and escalation timers; the events' ids."""
        now = self._clock()
        last = floor_time(now, HOUR) - HOUR
        found = await stations(conn)
        air = alert_source({s.station_id: s.name for s in found}, self._escalation)
        ids = [s.station_id for s in found]
        start = last - (self._rules.hours - 1) * HOUR
        means = await hourly_means(conn, ids, start, last + HOUR, pollutants=("o3", "no2", "so2"))
        events: list[int] = []
        async with conn.transaction():
            for station_id in ids:
                open_now = await alert_store.open_severities(conn, air, station_id)
                for condition in judge(station_id, means[station_id], last, self._rules):
                    if condition.severity != open_now.get(condition.kind, 0):
                        events += await alert_store.apply(conn, air, condition, now)
        events += await alert_store.run_timers(conn, air, now)
        return events


async def serve(
    settings: AirAlertSettings,
    database_url: str,
    publisher: Publisher,
    stop: asyncio.Event,
) -> None:
    """Judge the stations and deliver their alerts until ``stop`` is set."""
    monitor = AlertMonitor(
        database_url,
        AlertRules.from_settings(settings),
        escalation(settings),
        tick_s=settings.air_alert_tick_s,
    )
    dispatcher = Dispatcher(
        database_url,
        alert_source({}, escalation(settings)),
        publisher,
        settings.topic_prefix,
        backoff=Backoff(max_s=settings.air_retry_max_s),
    )
    await asyncio.gather(monitor.run(stop), dispatcher.run(stop))
