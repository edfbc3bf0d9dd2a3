"""A small lot for the parking alert tests: four bays and a counter, on real PostgreSQL,
fed readings at chosen times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import psycopg

from parking.alerts import AlertRules
from storage import devices, migrations
from storage.readings import Reading, ReadingWriter

LOT = "lot-test"
BAYS = tuple(f"{LOT}-b{i}" for i in range(4))
COUNTER = f"{LOT}-counter"
RULES = AlertRules(
    fill_share=0.75,
    fill_clear_share=0.5,
    fill_for=timedelta(minutes=10),
    drift_for=timedelta(minutes=5),
)
"""Capacity 4: full at 3 bays of 4; a counter drifts beyond max(2, 5 % of 4) = 2."""


def create(pg_url: str) -> None:
    """Migrate the database and register the lot, its bays and its counter."""
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        conn.execute(
            "INSERT INTO assets (asset_id, name, kind, lon, lat, properties)"
            " VALUES (%s, 'Parcare Test', 'parking_lot', 24.87, 43.75, '{\"capacity\": 4}')",
            (LOT,),
        )
        devices.register(
            conn,
            [devices.Device(COUNTER, "parking_counter", ("occupied_spaces",), LOT)]
            + [devices.Device(b, "parking_bay", ("occupied",), LOT) for b in BAYS],
        )


def report(pg_url: str, at: datetime, bays: Sequence[int], counter: int) -> None:
    """Every bay's state (1 occupied) and the counter's figure, taken at ``at``."""
    readings = [Reading(b, "occupied", at, float(v)) for b, v in zip(BAYS, bays, strict=True)]
    readings.append(Reading(COUNTER, "occupied_spaces", at, float(counter)))
    with psycopg.connect(pg_url) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(conn, readings)
