"""``smartcity river``: the gauge monitor, the delivery of its alerts (the alert engine's
dispatcher for the ``river`` domain) and the keeper of the threshold flood extents, one
process; the other domains' alert services (``also``: parking's) run in it beside them,
on its broker connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Sequence

import psycopg

from alerts.delivery import Backoff, Dispatcher
from ingest_mqtt.publisher import Publisher
from river_monitor.config import RiverConfig
from river_monitor.monitor import Monitor
from river_monitor.town_flood import FloodUnavailable, TownFlood, refresh_extents
from settings import RiverSettings
from storage.database import connect
from storage.errors import StorageError

log = logging.getLogger(__name__)

EXTENTS_CHECK_S = 60.0

AlertService = Callable[[Publisher, asyncio.Event], Awaitable[None]]
"""Another domain's alert service: it publishes through the given publisher and runs
until the event is set."""


def _refresh_extents(database_url: str, flood: TownFlood, config: RiverConfig) -> None:
    with connect(database_url, autocommit=True) as conn:
        refresh_extents(conn, flood, config)


async def _keep_extents(database_url: str, config: RiverConfig, stop: asyncio.Event) -> None:
    """Rewrite the flood extents layer whenever its sources change (checked each minute)."""
    flood = TownFlood(config)
    missing = None
    while not stop.is_set():
        try:
            await asyncio.to_thread(_refresh_extents, database_url, flood, config)
        except FloodUnavailable as exc:
            if str(exc) != missing:
                log.warning("no flood extents: %s", exc)
            missing = str(exc)
        except (StorageError, psycopg.OperationalError) as exc:
            log.warning("flood extents not refreshed: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), EXTENTS_CHECK_S)


async def _run(
    settings: RiverSettings,
    config: RiverConfig,
    database_url: str,
    publisher: Publisher,
    stop: threading.Event,
    also: Sequence[AlertService],
) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    threading.Thread(
        target=lambda: (stop.wait(), loop.call_soon_threadsafe(stopping.set)), daemon=True
    ).start()
    monitor = Monitor(database_url, config, tick_s=settings.river_tick_s)
    dispatcher = Dispatcher(
        database_url,
        config.alert_source,
        publisher,
        settings.topic_prefix,
        backoff=Backoff(max_s=settings.river_retry_max_s),
    )
    await asyncio.gather(
        monitor.run(stopping),
        dispatcher.run(stopping),
        _keep_extents(database_url, config, stopping),
        *(service(publisher, stopping) for service in also),
    )


def run(
    settings: RiverSettings,
    config: RiverConfig,
    database_url: str,
    mqtt_url: str,
    stop: threading.Event,
    also: Sequence[AlertService] = (),
) -> None:
    """Watch the configured gauges and deliver their alerts, and run the services
    ``also`` names, until ``stop`` is set."""
    # An id of its own: a broker drops a client when another connects with its id, so
    # two river services on one broker (two hubs, two test runs) would take turns; the
    # outbox in PostgreSQL, not an MQTT session, keeps what is left to deliver.
    client_id = settings.client_id(f"river-{uuid.uuid4().hex[:6]}")
    with Publisher(
        mqtt_url, client_id, protocol=settings.mqtt_protocol, ca_file=settings.mqtt_ca_file
    ) as publisher:
        asyncio.run(_run(settings, config, database_url, publisher, stop, also))
