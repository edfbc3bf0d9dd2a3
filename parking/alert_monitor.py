"""Parking's alerts as a service: every lot judged each tick, the changes handed to the
alert engine, and the engine's dispatcher delivering them (MQTT, the webhooks of
``SMARTCITY_PARKING_WEBHOOKS_FILE``; the API's server-sent events follow the engine's
notifications).

The lots' live states are read as the API reads them (:func:`parking.store.lots`, with
when each bay's state began) and judged by :func:`parking.alerts.evaluate`; the changes
are applied in one transaction. On start the open alerts are taken up again (open, with
nothing pending): a wait under way when the service stopped starts over, which can only
delay an alert by one wait, never raise or resolve one early.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from psycopg import AsyncConnection

from alerts import store as alert_store
from alerts.delivery import Backoff, Dispatcher
from alerts.model import AlertSource, Escalation, Webhook
from ingest_mqtt.publisher import Publisher
from parking import store
from parking.alerts import KINDS, AlertRules, Hold, Holds, alert_source, escalation, evaluate
from parking.history_recorder import HistoryRecorder
from parking.model import LotState
from settings import ParkingAlertSettings
from storage.database import reconnecting

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def lot_states(conn: AsyncConnection, now: datetime, rules: AlertRules) -> list[LotState]:
    """Every lot's live state at ``now``, with when each bay's state began."""
    found = await store.lots(conn, now, with_since=True, thresholds=rules.thresholds)
    return [lot.state for lot in found]


async def lot_names(conn: AsyncConnection) -> dict[str, str]:
    """Every lot's name, by id: the parking alerts' subjects."""
    rows = await (
        await conn.execute("SELECT asset_id, name FROM assets WHERE kind = 'parking_lot'")
    ).fetchall()
    return {lot_id: name for lot_id, name in rows}


async def source(
    conn: AsyncConnection, escalation: Escalation, webhooks: tuple[Webhook, ...] = ()
) -> AlertSource:
    """Parking as the alert engine's client, with the lots there are now."""
    return alert_source(await lot_names(conn), escalation, webhooks)


class AlertMonitor:
    """Judges every lot each ``tick_s`` and feeds the alert engine; runs until stopped."""

    def __init__(
        self,
        database_url: str,
        rules: AlertRules,
        escalation: Escalation,
        *,
        webhooks: tuple[Webhook, ...] = (),
        tick_s: float = 60.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """``webhooks``: where events are owed besides MQTT (the dispatcher delivering
        them must know the same ones)."""
        self._url = database_url
        self._rules = rules
        self._escalation = escalation
        self._webhooks = webhooks
        self._tick_s = tick_s
        self._clock = clock
        self._holds: Holds = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Evaluate each tick until ``stop`` is set; reconnect (taking the open alerts up
        again) if the database goes away."""
        await reconnecting(lambda: self._serve(stop), stop, "parking alert monitor")

    async def _serve(self, stop: asyncio.Event) -> None:
        async with await AsyncConnection.connect(self._url, autocommit=True) as conn:
            await self.resume(conn)
            log.info(
                "parking alert monitor judging the lots every %g s (%d alerts open)",
                self._tick_s,
                len(self._holds),
            )
            while not stop.is_set():
                await self.evaluate(conn)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._tick_s)

    async def resume(self, conn: AsyncConnection) -> None:
        """Take up the open alerts stored: open, nothing pending."""
        parking = await source(conn, self._escalation, self._webhooks)
        holds: dict[tuple[str, str], Hold] = {}
        for lot_id in parking.subjects:
            for kind in await alert_store.open_severities(conn, parking, lot_id):
                if kind in KINDS:
                    holds[(lot_id, kind)] = Hold(open=True)
        self._holds = holds

    async def evaluate(self, conn: AsyncConnection) -> list[int]:
        """Judge every lot now, apply the changes, run the engine's reminder and
        escalation timers; the events' ids."""
        now = self._clock()
        lots = await lot_states(conn, now, self._rules)
        names = {lot.lot_id: lot.name for lot in lots}
        parking = alert_source(names, self._escalation, self._webhooks)
        holds, changes = evaluate(lots, now, self._holds, self._rules)
        events: list[int] = []
        async with conn.transaction():
            for change in changes:
                events += await alert_store.apply(conn, parking, change, now)
        self._holds = holds  # only once the changes are committed
        events += await alert_store.run_timers(conn, parking, now)
        return events


async def serve(
    settings: ParkingAlertSettings,
    webhooks: tuple[Webhook, ...],
    database_url: str,
    publisher: Publisher,
    stop: asyncio.Event,
) -> None:
    """Judge the lots and deliver their alerts, on MQTT and to ``webhooks`` (those of
    ``settings.parking_webhooks_file``, read by the caller so that a bad file is refused
    before anything starts), and record the lots' history
    (:mod:`parking.history_recorder`), until ``stop`` is set."""
    rules = AlertRules.from_settings(settings)
    monitor = AlertMonitor(
        database_url,
        rules,
        escalation(settings),
        webhooks=webhooks,
        tick_s=settings.parking_alert_tick_s,
    )
    # the dispatcher's subjects: documents are written when events are, so it only
    # needs the domain's name, channel and webhooks
    dispatcher = Dispatcher(
        database_url,
        alert_source({}, escalation(settings), webhooks),
        publisher,
        settings.topic_prefix,
        backoff=Backoff(max_s=settings.parking_retry_max_s),
    )
    # the lots' history is sampled here too: this service already ticks every lot, and
    # runs once per deployment
    recorder = HistoryRecorder(database_url, thresholds=rules.thresholds)
    await asyncio.gather(monitor.run(stop), dispatcher.run(stop), recorder.run(stop))
