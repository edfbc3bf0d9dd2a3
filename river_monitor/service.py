"""``smartcity river``: the alert engine and the notification dispatcher, one process."""

from __future__ import annotations

import asyncio
import logging
import threading

from hub.settings import Settings
from ingest_mqtt.client import make_client
from river_monitor import config as river_config
from river_monitor.monitor import Monitor
from river_monitor.notify import Backoff, Dispatcher

log = logging.getLogger(__name__)


async def _run(settings: Settings, database_url: str, mqtt_url: str, stop: threading.Event) -> None:
    config = river_config.load(settings.river_config)
    publisher = make_client(mqtt_url, "smartcity-river", protocol=settings.mqtt_protocol)
    publisher.loop_start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    threading.Thread(
        target=lambda: (stop.wait(), loop.call_soon_threadsafe(stopping.set)), daemon=True
    ).start()
    monitor = Monitor(database_url, config, tick_s=settings.river_tick_s)
    dispatcher = Dispatcher(
        database_url,
        config,
        publisher,
        settings.topic_prefix,
        backoff=Backoff(max_s=settings.river_retry_max_s),
    )
    try:
        await asyncio.gather(monitor.run(stopping), dispatcher.run(stopping))
    finally:
        publisher.disconnect()
        publisher.loop_stop()


def run(settings: Settings, database_url: str, mqtt_url: str, stop: threading.Event) -> None:
    """Watch the gauges and deliver their alerts until ``stop`` is set."""
    asyncio.run(_run(settings, database_url, mqtt_url, stop))
