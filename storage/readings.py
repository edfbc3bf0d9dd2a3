"""The readings table family: batched idempotent writes, latest values, range queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from storage.partitions import PartitionKeeper, month_start


@dataclass(frozen=True, slots=True)
class Reading:
    """One observation: a device's quantity at a time, in the quantity's canonical unit."""

    device_id: str
    quantity: str
    time: datetime
    value: float


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """Where a drone (or other mobile sensor) was at a time, in WGS 84 (lon, lat, metres)."""

    drone_id: str
    time: datetime
    lon: float
    lat: float
    alt: float | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message, or one record of it, that could not be stored, with the reason."""

    topic: str
    payload: bytes
    reason: str
    received_at: datetime
    record_index: int | None = None


# A batch reaches the server either as four binary array parameters ("unnest": one
# round trip, works over every wire-protocol server, TimescaleDB in WASM included) or by
# binary COPY into a temporary table ("copy"). Both end in the same INSERT ... SELECT,
# idempotent through the primary key (device, quantity, time): redeliveries are dropped.
_UNNEST = "unnest(%b::text[], %b::text[], %b::timestamptz[], %b::float8[]) AS b(d, q, t, v)"
_STAGED = "(SELECT device_id, quantity, time, value FROM readings_in) AS b(d, q, t, v)"

_INSERT_READINGS = """
INSERT INTO readings (device_id, quantity, time, value)
SELECT d, q, t, v FROM {source}
ON CONFLICT DO NOTHING
"""

_UPSERT_LATEST = """
INSERT INTO latest_readings (device_id, quantity, time, value)
SELECT DISTINCT ON (d, q) d, q, t, v FROM {source}
ORDER BY d, q, t DESC
ON CONFLICT (device_id, quantity) DO UPDATE
SET time = excluded.time, value = excluded.value
WHERE latest_readings.time <= excluded.time
"""

_STAGING_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS readings_in (
    device_id text, quantity text, time timestamptz, value float8
)
"""
_COPY = "COPY readings_in (device_id, quantity, time, value) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = ["text", "text", "timestamptz", "float8"]

WRITE_METHODS = ("copy", "unnest")

_INSERT_TRACK = """
INSERT INTO drone_track (drone_id, time, lon, lat, alt)
SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::float8[], %s::float8[], %s::float8[])
ON CONFLICT DO NOTHING
"""

_INSERT_DEAD = """
INSERT INTO dead_letters (received_at, topic, payload, reason, record_index)
SELECT * FROM unnest(%s::timestamptz[], %s::text[], %s::bytea[], %s::text[], %s::int[])
"""


def _columns(rows: Sequence[object], *names: str) -> tuple[list[object], ...]:
    """Rows of dataclass instances as one list per attribute: array parameters for unnest."""
    return tuple([getattr(row, name) for row in rows] for name in names)


class ReadingWriter:
    """Writes batches of readings and dead letters in one transaction per batch."""

    def __init__(self, storage_kind: str, method: str = "unnest") -> None:
        if method not in WRITE_METHODS:
            raise ValueError(f"write method must be one of {WRITE_METHODS}, got {method!r}")
        self._partitions = PartitionKeeper() if storage_kind == "partitioned" else None
        self._method = method
        self._staged_on: int | None = None

    def _write_readings(self, conn: psycopg.Connection, readings: Sequence[Reading]) -> None:
        if self._method == "unnest":
            columns = _columns(readings, "device_id", "quantity", "time", "value")
            conn.execute(_INSERT_READINGS.format(source=_UNNEST), columns)
            conn.execute(_UPSERT_LATEST.format(source=_UNNEST), columns)
            return
        if self._staged_on != conn.info.backend_pid:
            conn.execute(_STAGING_TABLE)
            self._staged_on = conn.info.backend_pid
        with conn.cursor() as cur:
            with cur.copy(_COPY) as copy:
                copy.set_types(_COPY_TYPES)
                for r in readings:
                    copy.write_row((r.device_id, r.quantity, r.time, r.value))
            cur.execute(_INSERT_READINGS.format(source=_STAGED))
            cur.execute(_UPSERT_LATEST.format(source=_STAGED))
            cur.execute("TRUNCATE readings_in")

    def write(
        self,
        conn: psycopg.Connection,
        readings: Sequence[Reading],
        dead_letters: Sequence[DeadLetter] = (),
        track: Sequence[TrackPoint] = (),
    ) -> None:
        """Store a batch atomically; duplicates of stored readings are ignored."""
        with conn.transaction():
            if track:
                conn.execute(
                    _INSERT_TRACK, _columns(track, "drone_id", "time", "lon", "lat", "alt")
                )
            if readings:
                if self._partitions is not None:
                    self._partitions.ensure_months(conn, {month_start(r.time) for r in readings})
                self._write_readings(conn, readings)
            if dead_letters:
                conn.execute(
                    _INSERT_DEAD,
                    _columns(
                        dead_letters, "received_at", "topic", "payload", "reason", "record_index"
                    ),
                )
