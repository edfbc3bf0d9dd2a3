"""Air quality's alerts as a service: every station judged each tick on its last complete
hours (:func:`air.alerts.judge`) by the shared monitor (:mod:`alerts.monitor`), the
changes handed to the alert engine, and the engine's dispatcher delivering them (MQTT,
the webhooks of ``SMARTCITY_AIR_WEBHOOKS_FILE``; the API's server-sent events follow
the engine's notifications).

The memory is the engine's own: a condition is applied when its severity differs from
the open alert's (:func:`alerts.store.open_severities`), so a restart repeats nothing and
needs no state of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime

from psycopg import AsyncConnection

from air.alerts import HOUR, KINDS, AlertRules, alert_source, escalation, judge
from air.index import hourly_means
from air.stations import stations
from alerts import monitor
from alerts.model import AlertSource, Escalation, Webhook
from ingest_mqtt.publisher import Publisher
from settings import AirAlertSettings
from storage.rollups import floor_time


async def station_names(conn: AsyncConnection) -> dict[str, str]:
    """Every station's name, by id: the air-quality alerts' subjects."""
    return {s.station_id: s.name for s in await stations(conn)}


async def source(
    conn: AsyncConnection, escalation: Escalation, webhooks: tuple[Webhook, ...] = ()
) -> AlertSource:
    """Air quality as the alert engine's client, with the stations there are now."""
    return alert_source(await station_names(conn), escalation, webhooks)


class StationConditions:
    """The stations' conditions (:class:`alerts.monitor.Conditions`) on their last
    complete hours; no memory of their own."""

    subjects = "stations"
    changes_only = True  # every condition judged; the engine's open alerts are the memory

    def __init__(
        self, rules: AlertRules, escalation: Escalation, webhooks: tuple[Webhook, ...] = ()
    ) -> None:
        """``webhooks``: where events are owed besides MQTT (the dispatcher delivering
        them must know the same ones)."""
        self._rules = rules
        self._escalation = escalation
        self._webhooks = webhooks

    def source(self, names: Mapping[str, str]) -> AlertSource:
        """Air quality as the engine's client, with the stations ``names``."""
        return alert_source(names, self._escalation, self._webhooks)

    async def names(self, conn: AsyncConnection) -> dict[str, str]:
        """Every station's name, by id."""
        return await station_names(conn)

    async def resume(self, conn: AsyncConnection, source: AlertSource) -> None:
        """Nothing to take up: the open alerts are read as each tick is applied."""

    async def judge(self, conn: AsyncConnection, now: datetime) -> monitor.Judged:
        """Every station on its last complete hour."""
        last = floor_time(now, HOUR) - HOUR
        names = await station_names(conn)
        start = last - (self._rules.hours - 1) * HOUR
        means = await hourly_means(conn, list(names), start, last + HOUR, pollutants=KINDS)
        found = [c for sid in names for c in judge(sid, means[sid], last, self._rules)]
        return monitor.Judged(names, found)


async def serve(
    settings: AirAlertSettings,
    webhooks: tuple[Webhook, ...],
    database_url: str,
    publisher: Publisher,
    stop: asyncio.Event,
) -> None:
    """Judge the stations and deliver their alerts, on MQTT and to ``webhooks`` (those of
    ``settings.air_webhooks_file``, read by the caller so that a bad file is refused
    before anything starts), until ``stop`` is set."""
    air = StationConditions(AlertRules.from_settings(settings), escalation(settings), webhooks)
    watch = monitor.AlertMonitor(database_url, air, tick_s=settings.air_alert_tick_s)
    await monitor.serve(watch, publisher, settings.topic_prefix, settings.air_retry_max_s, stop)
