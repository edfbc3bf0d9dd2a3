"""The carbon tables (migration 18) and the meter readings behind an inventory.

Imported files live in ``carbon_imports`` and their rows in ``carbon_activity``
(:func:`insert_import`, one transaction with the caller's). Meter consumption is read
from the readings' rollups (``storage.rollups.series``, daily buckets summed per UTC
month): the daily level is kept for ever by default, so a baseline year stays
computable after its raw readings are gone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg import AsyncConnection

from carbon.activity import ActivityRow
from carbon.meters import METER_QUANTITIES
from carbon.model import Activity, Asset, Source
from carbon.sectors import Sector, sector_of_asset
from storage import rollups

_METER_DEVICES = """
SELECT device_id, asset_id, quantities FROM devices
WHERE asset_id IS NOT NULL AND quantities && %(quantities)s::text[]
"""
_IMPORTED = """
SELECT asset_id, carrier, month, quantity, unit, sector FROM carbon_activity
WHERE month >= %(start)s AND month < %(end)s
"""
_ASSETS = """
SELECT asset_id, name, kind, properties, lon, lat FROM assets
WHERE %(ids)s::text[] IS NULL OR asset_id = ANY(%(ids)s)
"""


def known_assets(conn: psycopg.Connection, asset_ids: Iterable[str]) -> set[str]:
    """The ids among ``asset_ids`` that are twin assets."""
    rows = conn.execute(
        "SELECT asset_id FROM assets WHERE asset_id = ANY(%s)", (sorted(set(asset_ids)),)
    ).fetchall()
    return {row[0] for row in rows}


def imported_before(conn: psycopg.Connection, sha256: str) -> tuple[str, datetime] | None:
    """The name and time of an earlier import of a file with this digest, if any."""
    row = conn.execute(
        "SELECT file_name, imported_at FROM carbon_imports WHERE sha256 = %s", (sha256,)
    ).fetchone()
    return None if row is None else (row[0], row[1])


def insert_import(
    conn: psycopg.Connection,
    file_name: str,
    sha256: str,
    rows: Sequence[ActivityRow],
    imported_by: str | None,
) -> int:
    """Record a file and its rows; return its import id. The caller holds the
    transaction (nothing is stored unless all of it is)."""
    found = conn.execute(
        "INSERT INTO carbon_imports (file_name, sha256, row_count, imported_by)"
        " VALUES (%s, %s, %s, %s) RETURNING import_id",
        (file_name, sha256, len(rows), imported_by),
    ).fetchone()
    assert found is not None  # INSERT ... RETURNING returns its row
    import_id = int(found[0])
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO carbon_activity"
            " (import_id, line, asset_id, carrier, month, quantity, unit, sector, reference)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    import_id,
                    r.line,
                    r.asset_id,
                    r.carrier.value,
                    r.month,
                    r.quantity,
                    r.unit,
                    None if r.sector is None else r.sector.value,
                    r.reference,
                )
                for r in rows
            ],
        )
    return import_id


async def imported_activity(conn: AsyncConnection, start: date, end: date) -> list[Activity]:
    """Imported consumptions of the months in ``[start, end)``."""
    rows = await (await conn.execute(_IMPORTED, {"start": start, "end": end})).fetchall()
    return [
        Activity(
            asset_id,
            carrier,
            month,
            quantity,
            unit,
            Source.IMPORT,
            None if sector is None else Sector(sector),
        )
        for asset_id, carrier, month, quantity, unit, sector in rows
    ]


async def metered_activity(conn: AsyncConnection, start: date, end: date) -> list[Activity]:
    """Meter consumptions of the months in ``[start, end)``, one per device, quantity and
    month with readings (a device's readings count for the asset it is attached to)."""
    quantities = sorted(METER_QUANTITIES)
    devices = await (await conn.execute(_METER_DEVICES, {"quantities": quantities})).fetchall()
    asset_of = {device_id: asset_id for device_id, asset_id, _ in devices}
    low = datetime(start.year, start.month, 1, tzinfo=UTC)
    high = datetime(end.year, end.month, 1, tzinfo=UTC)
    out: list[Activity] = []
    for quantity in quantities:
        ids = sorted(d for d, _, qs in devices if quantity in qs)
        if not ids:
            continue
        meter = METER_QUANTITIES[quantity]
        sums: dict[tuple[str, date], float] = defaultdict(float)
        for bucket in await rollups.series(conn, ids, quantity, low, high, timedelta(days=1)):
            assert bucket.device_id is not None  # per device, not combined
            sums[(bucket.device_id, bucket.start.date().replace(day=1))] += bucket.sum
        out.extend(
            Activity(asset_of[device], meter.carrier, month, total, meter.unit, Source.METER)
            for (device, month), total in sums.items()
        )
    return out


async def assets(conn: AsyncConnection, asset_ids: Sequence[str] | None = None) -> dict[str, Asset]:
    """Twin assets by id (all, or those of ``asset_ids``), with their inventory sector."""
    params = {"ids": None if asset_ids is None else list(asset_ids)}
    rows = await (await conn.execute(_ASSETS, params)).fetchall()
    return {
        asset_id: Asset(asset_id, name, kind, sector_of_asset(kind, properties or {}), lon, lat)
        for asset_id, name, kind, properties, lon, lat in rows
    }
