"""Parking's alerts as a service: every lot judged each tick by the shared monitor
(:mod:`alerts.monitor`), the changes handed to the alert engine, and the engine's
dispatcher delivering them (MQTT, the webhooks of ``SMARTCITY_PARKING_WEBHOOKS_FILE``;
the API's server-sent events follow the engine's notifications).

The lots' live states are read as the API reads them (:func:`parking.store.lots`, with
when each bay's state began) and judged by :func:`parking.alerts.evaluate`, whose waits
are parking's own memory. On start the open alerts are taken up again (open, with
nothing pending): a wait under way when the service stopped starts over, which can only
delay an alert by one wait, never raise or resolve one early.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime

from psycopg import AsyncConnection

from alerts import monitor
from alerts import store as alert_store
from alerts.model import AlertSource, Escalation, Webhook
from ingest_mqtt.publisher import Publisher
from parking import store
from parking.alerts import KINDS, AlertRules, Hold, Holds, alert_source, escalation, evaluate
from parking.history_recorder import HistoryRecorder
from parking.model import LotState
from settings import ParkingAlertSettings


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


class LotConditions:
    """The lots' conditions (:class:`alerts.monitor.Conditions`), with the waits under
    way between ticks."""

    subjects = "lots"
    changes_only = False  # the holds remember what the engine was told

    def __init__(
        self, rules: AlertRules, escalation: Escalation, webhooks: tuple[Webhook, ...] = ()
    ) -> None:
        """``webhooks``: where events are owed besides MQTT (the dispatcher delivering
        them must know the same ones)."""
        self._rules = rules
        self._escalation = escalation
        self._webhooks = webhooks
        self._holds: Holds = {}

    def source(self, names: Mapping[str, str]) -> AlertSource:
        """Parking as the engine's client, with the lots ``names``."""
        return alert_source(names, self._escalation, self._webhooks)

    async def names(self, conn: AsyncConnection) -> dict[str, str]:
        """Every lot's name, by id."""
        return await lot_names(conn)

    async def resume(self, conn: AsyncConnection, source: AlertSource) -> None:
        """Take up the open alerts stored: open, nothing pending."""
        holds: dict[tuple[str, str], Hold] = {}
        for lot_id in source.subjects:
            for kind in await alert_store.open_severities(conn, source, lot_id):
                if kind in KINDS:
                    holds[(lot_id, kind)] = Hold(open=True)
        self._holds = holds

    async def judge(self, conn: AsyncConnection, now: datetime) -> monitor.Judged:
        """Every lot's live state at ``now``, judged against the waits under way (kept
        once the changes are committed)."""
        lots = await lot_states(conn, now, self._rules)
        holds, changes = evaluate(lots, now, self._holds, self._rules)

        def committed() -> None:
            self._holds = holds

        return monitor.Judged({lot.lot_id: lot.name for lot in lots}, changes, committed)


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
    lots = LotConditions(rules, escalation(settings), webhooks)
    watch = monitor.AlertMonitor(database_url, lots, tick_s=settings.parking_alert_tick_s)
    # the lots' history is sampled here too: this service already ticks every lot, and
    # runs once per deployment
    recorder = HistoryRecorder(database_url, thresholds=rules.thresholds)
    await asyncio.gather(
        monitor.serve(watch, publisher, settings.topic_prefix, settings.parking_retry_max_s, stop),
        recorder.run(stop),
    )
