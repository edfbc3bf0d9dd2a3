"""The readings table family: batched idempotent writes, latest values, range queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from storage import dead_letters as letters
from storage import rollups
from storage.dead_letters import DeadLetter
from storage.partitions import PartitionKeeper


@dataclass(slots=True)
class Reading:
    """One observation: a device's quantity at a time, in the quantity's canonical unit.

    Not frozen: decoders build one per record, and a frozen dataclass takes 0.95 µs to
    construct against 0.2 µs (CPython 3.11), a fifth of a SenML record's decode time.
    """

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


# A batch first goes in as plain rows, by binary COPY ("copy") or as four binary array
# parameters to one INSERT ("unnest": works over every wire-protocol server, the
# TimescaleDB WASM engine included). Plain inserts run at about twice the rate of
# ``ON CONFLICT DO NOTHING`` here (170k vs 70k rows/s, BENCHMARKS.md). A reading's
# identity is its primary key (device, quantity, time), so a redelivered reading makes
# that attempt fail: it is rolled back to a savepoint and the batch is written again
# skipping what is stored. Redeliveries are rare (a worker restart, a reconnect), so
# the common batch pays for one plain insert.
_INSERT = "INSERT INTO readings (device_id, quantity, time, value) SELECT * FROM {source}"
_UNNEST = "unnest(%b::text[], %b::text[], %b::timestamptz[], %b::float8[])"
_SKIP_STORED = " ON CONFLICT DO NOTHING"
_COPY = "COPY readings (device_id, quantity, time, value) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = ["text", "text", "timestamptz", "float8"]

_UPSERT_LATEST = f"""
INSERT INTO latest_readings (device_id, quantity, time, value)
SELECT * FROM {_UNNEST}
ON CONFLICT (device_id, quantity) DO UPDATE
SET time = excluded.time, value = excluded.value
WHERE latest_readings.time <= excluded.time
"""

WRITE_METHODS = ("copy", "unnest")

CHANGED_CHANNEL = "readings_changed"
"""Notified on commit of each batch with its devices (comma-separated; a batch with more
than one payload holds is announced in several), or ``*`` (every device may have
changed): the API's live streams listen here."""
_NOTIFY = f"SELECT pg_notify('{CHANGED_CHANNEL}', payload) FROM unnest(%s::text[]) AS payload"
NOTIFY_MAX = 7900
"""Bytes of one notification's payload at most (PostgreSQL refuses 8,000 or more)."""

_INSERT_TRACK = """
INSERT INTO drone_track (drone_id, time, lon, lat, alt)
SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::float8[], %s::float8[], %s::float8[])
ON CONFLICT DO NOTHING
"""


def _columns(rows: Sequence[object], *names: str) -> tuple[list[object], ...]:
    """Rows of dataclass instances as one list per attribute: array parameters for unnest."""
    return tuple([getattr(row, name) for row in rows] for name in names)


def _reading_columns(readings: Sequence[Reading]) -> tuple[list[object], ...]:
    return _columns(readings, "device_id", "quantity", "time", "value")


def _latest(readings: Sequence[Reading]) -> list[Reading]:
    """The newest reading of each device and quantity in a batch."""
    newest: dict[tuple[str, str], Reading] = {}
    for r in readings:
        held = newest.get((r.device_id, r.quantity))
        if held is None or r.time > held.time:
            newest[r.device_id, r.quantity] = r
    return list(newest.values())


def changed_payloads(device_ids: Iterable[str]) -> list[str]:
    """The payloads announcing ``device_ids`` on :data:`CHANGED_CHANNEL`: the devices,
    sorted and comma-separated, in as many payloads of at most :data:`NOTIFY_MAX` bytes
    as they need.

    Listed rather than ``*`` however many: at 5,000 readings/s a batch names about a
    thousand devices, and ``*`` made every API process re-read all 10,000 assets of the
    twin (and every parking lot) several times a minute, on its event loop."""
    payloads: list[str] = []
    names: list[str] = []
    size = 0
    for device in sorted(set(device_ids)):
        length = len(device.encode()) + 1  # and its comma
        if names and size + length - 1 > NOTIFY_MAX:
            payloads.append(",".join(names))
            names, size = [], 0
        names.append(device)
        size += length
    if names:
        payloads.append(",".join(names))
    return payloads


class ReadingWriter:
    """Writes batches of readings and dead letters in one transaction per batch.

    On plain PostgreSQL the same transaction creates the month's partition if needed
    and records the 5-minute buckets the batch touched for the rollups
    (:func:`storage.rollups.invalidate`); TimescaleDB does both itself.
    """

    def __init__(self, storage_kind: str, method: str = "unnest") -> None:
        if method not in WRITE_METHODS:
            raise ValueError(f"write method must be one of {WRITE_METHODS}, got {method!r}")
        self._partitions = PartitionKeeper() if storage_kind == "partitioned" else None
        self._method = method

    def _write_readings(self, conn: psycopg.Connection, readings: Sequence[Reading]) -> int:
        try:
            with conn.transaction():  # a savepoint: see the comment on _INSERT
                if self._method == "copy":
                    with conn.cursor().copy(_COPY) as copy:
                        copy.set_types(_COPY_TYPES)
                        for r in readings:
                            copy.write_row((r.device_id, r.quantity, r.time, r.value))
                else:
                    conn.execute(_INSERT.format(source=_UNNEST), _reading_columns(readings))
            inserted = len(readings)
        except psycopg.errors.UniqueViolation:
            inserted = conn.execute(
                _INSERT.format(source=_UNNEST) + _SKIP_STORED, _reading_columns(readings)
            ).rowcount
        newest = _latest(readings)
        conn.execute(_UPSERT_LATEST, _reading_columns(newest))
        conn.execute(_NOTIFY, (changed_payloads(r.device_id for r in newest),))
        return inserted

    def write(
        self,
        conn: psycopg.Connection,
        readings: Sequence[Reading],
        dead_letters: Sequence[DeadLetter] = (),
        track: Sequence[TrackPoint] = (),
    ) -> int:
        """Store a batch atomically; return how many readings were new (duplicates skip)."""
        inserted = 0
        with conn.transaction():
            if track:
                conn.execute(
                    _INSERT_TRACK, _columns(track, "drone_id", "time", "lon", "lat", "alt")
                )
            if readings:
                if self._partitions is not None:
                    times = [r.time for r in readings]
                    self._partitions.ensure_for(conn, times)
                    rollups.invalidate(conn, times)
                inserted = self._write_readings(conn, readings)
            if dead_letters:
                letters.write(conn, dead_letters)
        return inserted


async def series(
    conn: psycopg.AsyncConnection,
    device_id: str,
    quantity: str,
    start: datetime,
    end: datetime,
    limit: int,
) -> list[tuple[datetime, float]]:
    """A device's readings of one quantity in ``[start, end)``, oldest first."""
    rows = await (
        await conn.execute(
            "SELECT time, value FROM readings WHERE device_id = %s AND quantity = %s"
            " AND time >= %s AND time < %s ORDER BY time LIMIT %s",
            (device_id, quantity, start, end, limit),
        )
    ).fetchall()
    return [(t, v) for t, v in rows]
