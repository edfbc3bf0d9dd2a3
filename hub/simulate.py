"""Run the telemetry simulator against the broker for every registered demo device."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
from pyproj import Transformer

from demo_town import GAUGE_ZERO_M
from demo_town.catalogue import GAUGE_ASSET_ID
from gis_layers.errors import LayerNotFound
from gis_layers.stored import layer_frame
from ingest_mqtt.client import make_client
from simulator.drone import DroneSurvey
from simulator.engine import SimDevice, Simulator
from simulator.signals import FloodWave

log = logging.getLogger(__name__)

TICK_S = 1.0
DANUBE = "Dunărea"
"""The Danube's name in the ``waterways`` layer."""
_TO_STEREO = Transformer.from_crs("OGC:CRS84", "EPSG:3844", always_xy=True)
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
    survey: DroneSurvey | None = None,
    client_id: str,
    ca_file: Path | None = None,
) -> int:
    """Publish until ``stop`` is set, connected as ``client_id``; return the number of
    messages published. With a ``survey``, its drone flies along the river every period
    over the simulated level."""
    simulator = Simulator(devices, seed=seed, topic_prefix=topic_prefix, flood=flood)
    rng = np.random.default_rng(seed)
    next_flight = datetime.now(UTC)
    client = make_client(broker_url, client_id, protocol=protocol, ca_file=ca_file)
    client.loop_start()
    published = 0
    try:
        while not client.is_connected() and not stop.wait(0.1):
            pass
        while not stop.is_set():
            started = time.monotonic()
            now = datetime.now(UTC)
            messages = simulator.tick(now)
            if survey is not None and now >= next_flight:
                surface = GAUGE_ZERO_M + simulator.river_level_cm(now) / 100.0
                messages.append(survey.flight(now, surface, rng, topic_prefix))
                next_flight = now + survey.period
            for message in messages:
                client.publish(message.topic, message.payload, qos=1)
                published += 1
            stop.wait(max(0.0, TICK_S - (time.monotonic() - started)))
    finally:
        client.disconnect()
        client.loop_stop()
    log.info("simulator published %d messages", published)
    return published


def drone_survey(conn: psycopg.Connection, gauge_id: str = GAUGE_ASSET_ID) -> DroneSurvey | None:
    """The survey of the first registered drone along the Danube around the gauge, or
    None without a drone, a gauge position or the ``waterways`` layer."""
    drone = conn.execute(
        "SELECT device_id FROM devices WHERE kind = 'drone'"
        " AND 'water_surface_level' = ANY(quantities) ORDER BY device_id LIMIT 1"
    ).fetchone()
    gauge = conn.execute(
        "SELECT lon, lat FROM devices WHERE device_id = %s AND lon IS NOT NULL", (gauge_id,)
    ).fetchone()
    if drone is None or gauge is None:
        return None
    try:
        waterways = layer_frame(conn, "waterways").to_crs("EPSG:3844")
    except LayerNotFound:
        return None
    danube = waterways[waterways["name"] == DANUBE]
    if danube.empty:
        return None
    x, y = _TO_STEREO.transform(*gauge)
    return DroneSurvey.along(drone[0], danube.union_all(), (x, y))
