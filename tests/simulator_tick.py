"""One tick of the simulator written to a database, as ingestion would store it: the
live readings of a demo town without a broker or an ingestion worker."""

from __future__ import annotations

from datetime import datetime

import psycopg

from storage import migrations
from storage.readings import ReadingWriter


def write_simulator_tick(conn: psycopg.Connection, now: datetime, seed: int = 42) -> None:
    """Store one simulator tick at ``now`` of every simulated device registered in the
    database, decoded as the ingestion worker decodes MQTT messages (none refused)."""
    from hub.simulate import load_devices
    from ingest_mqtt.decode import Incoming, decode
    from simulator.engine import Simulator

    devices = load_devices(conn)
    messages = [
        Incoming(m.topic, m.payload, 0, 1, now) for m in Simulator(devices, seed=seed).tick(now)
    ]
    registry = {d.device_id: frozenset(d.quantities) for d in devices}
    decoded = decode(messages, "city", registry.get)
    assert decoded.dead_letters == []
    ReadingWriter(migrations.readings_storage(conn)).write(conn, decoded.readings)
