"""The device registry table: which devices exist and which quantities each reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class Device:
    """A registered device: its id, kind, the asset it is attached to and its quantities."""

    device_id: str
    kind: str
    quantities: tuple[str, ...]
    asset_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    properties: dict[str, object] = field(default_factory=dict)


def register(conn: psycopg.Connection, devices: Iterable[Device]) -> int:
    """Insert or update devices by id; return how many were written."""
    rows = [
        (d.device_id, d.kind, d.asset_id, list(d.quantities), d.lon, d.lat, Jsonb(d.properties))
        for d in devices
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO devices (device_id, kind, asset_id, quantities, lon, lat, properties)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (device_id) DO UPDATE SET kind = excluded.kind,"
            " asset_id = excluded.asset_id, quantities = excluded.quantities,"
            " lon = excluded.lon, lat = excluded.lat, properties = excluded.properties",
            rows,
        )
    return len(rows)


def quantities_by_device(conn: psycopg.Connection) -> dict[str, frozenset[str]]:
    """The registry as the ingestion worker needs it: device id to allowed quantities."""
    return {
        device_id: frozenset(quantities)
        for device_id, quantities in conn.execute("SELECT device_id, quantities FROM devices")
    }


_WITH_LATEST = """
SELECT d.device_id, d.kind, d.asset_id, d.quantities, d.lon, d.lat,
       coalesce(json_object_agg(l.quantity, json_build_object('time', l.time, 'value', l.value))
                FILTER (WHERE l.quantity IS NOT NULL), '{}'::json)
FROM devices d LEFT JOIN latest_readings l USING (device_id)
WHERE (%(kind)s::text IS NULL OR d.kind = %(kind)s)
GROUP BY d.device_id
ORDER BY d.device_id
"""


async def with_latest(conn: psycopg.AsyncConnection, kind: str | None = None) -> list[dict]:
    """Every registered device (of ``kind``, if given), by id, with its latest value per
    quantity as ``{quantity: {"time", "value"}}``."""
    rows = await (await conn.execute(_WITH_LATEST, {"kind": kind})).fetchall()
    names = ("device_id", "kind", "asset_id", "quantities", "lon", "lat", "latest")
    return [dict(zip(names, row, strict=True)) for row in rows]


async def quantities_of(conn: psycopg.AsyncConnection, device_id: str) -> list[str] | None:
    """The quantities ``device_id`` reports; None when it is not registered."""
    row = await (
        await conn.execute("SELECT quantities FROM devices WHERE device_id = %s", (device_id,))
    ).fetchone()
    return None if row is None else list(row[0])
