"""Run the telemetry simulator against the broker for every registered demo device."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import psycopg

from ingest_mqtt.client import make_client
from simulator.engine import SimDevice, Simulator
from simulator.signals import FloodWave

log = logging.getLogger(__name__)

TICK_S = 1.0
# The demo lots' ids name the place; the profile gives the lot its daily rhythm.
_LOT_PROFILE_WORDS = {
    "centru": "centre",
    "piata": "market",
    "spital": "hospital",
    "gara": "station",
    "port": "port",
    "stadion": "stadium",
}


def lot_profile(asset_id: str | None) -> str:
    """The parking profile of a lot, from the words in its id (``centre`` by default)."""
    for word, profile in _LOT_PROFILE_WORDS.items():
        if asset_id and word in asset_id:
            return profile
    return "centre"


def load_devices(conn: psycopg.Connection) -> list[SimDevice]:
    """Simulated devices for every registered device of a kind the simulator knows."""
    rows = conn.execute(
        "SELECT device_id, kind, asset_id, quantities FROM devices"
        " WHERE kind IN ('river_gauge', 'parking_bay', 'parking_counter', 'air_quality')"
        " ORDER BY device_id"
    ).fetchall()
    return [
        SimDevice(
            device_id=device_id,
            kind=kind,
            asset_id=asset_id or device_id,
            quantities=tuple(quantities),
            lot_kind=lot_profile(asset_id) if kind.startswith("parking") else None,
        )
        for device_id, kind, asset_id, quantities in rows
    ]


def run(
    devices: list[SimDevice],
    broker_url: str,
    stop: threading.Event,
    *,
    seed: int,
    topic_prefix: str,
    flood: FloodWave | None = None,
    protocol: str = "5",
) -> int:
    """Publish until ``stop`` is set; return the number of messages published."""
    simulator = Simulator(devices, seed=seed, topic_prefix=topic_prefix, flood=flood)
    client = make_client(broker_url, f"smartcity-simulator-{seed}", protocol=protocol)
    client.loop_start()
    published = 0
    try:
        while not client.is_connected() and not stop.wait(0.1):
            pass
        while not stop.is_set():
            started = time.monotonic()
            for message in simulator.tick(datetime.now(UTC)):
                client.publish(message.topic, message.payload, qos=1)
                published += 1
            stop.wait(max(0.0, TICK_S - (time.monotonic() - started)))
    finally:
        client.disconnect()
        client.loop_stop()
    log.info("simulator published %d messages", published)
    return published
