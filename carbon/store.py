"""The carbon tables (migration 18) and the meter readings behind an inventory.

Imported files live in ``carbon_imports`` and their rows in ``carbon_activity``
(:func:`insert_import`, one transaction with the caller's). Meter consumption is read
from the readings' rollups (daily buckets summed per UTC month, :func:`metered_activity`):
the daily level is kept for ever by default, so a baseline year stays computable after
its raw readings are gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg import AsyncConnection, sql

from carbon.activity import ActivityRow
from carbon.factors import Carrier, FactorTable
from carbon.inventory import Inventory, compute
from carbon.meters import METER_QUANTITIES
from carbon.model import Activity, Asset, Source
from carbon.sectors import Sector, sector_of_asset
from storage import rollups

_CARRIERS = {c.value: c for c in Carrier}
_SECTORS = {s.value: s for s in Sector}
_METER_DEVICES = """
SELECT device_id FROM devices
WHERE asset_id IS NOT NULL AND quantities && %(quantities)s::text[]
"""
_QUANTITIES = sorted(METER_QUANTITIES)
_ROLLUP_PART = """
SELECT device_id, quantity, bucket AS at, sum AS amount FROM {table}
WHERE bucket >= {start} AND bucket < {end}
  AND device_id = ANY(%(devices)s) AND quantity = ANY(%(quantities)s)"""
_RAW_PART = """
SELECT device_id, quantity, time AS at, value AS amount FROM readings
WHERE time >= {start} AND time < {end}
  AND device_id = ANY(%(devices)s) AND quantity = ANY(%(quantities)s)"""
# months are UTC months (docs/carbon.md); meters of one asset and quantity add up
_METER_MONTHS = """
SELECT d.asset_id, p.quantity, date_trunc('month', p.at AT TIME ZONE 'UTC')::date, sum(p.amount)
FROM ({parts}) AS p JOIN devices d USING (device_id)
GROUP BY 1, 2, 3"""
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
            _CARRIERS[carrier],
            month,
            quantity,
            unit,
            Source.IMPORT,
            None if sector is None else _SECTORS[sector],
        )
        for asset_id, carrier, month, quantity, unit, sector in rows
    ]


async def metered_activity(conn: AsyncConnection, start: date, end: date) -> list[Activity]:
    """Meter consumptions of the months in ``[start, end)``: per asset, quantity and
    month, the sum of its meters' readings.

    Summed in PostgreSQL from the coarsest rollup level that holds each part of the
    range (``storage.rollups.plan`` with daily buckets: the daily level up to its
    watermark, then the finer ones, then the raw readings), so that no reading counts
    twice and a year of a thousand meters is a few thousand rows, not their days."""
    meters = await (await conn.execute(_METER_DEVICES, {"quantities": _QUANTITIES})).fetchall()
    if not meters:
        return []
    low = datetime(start.year, start.month, 1, tzinfo=UTC)
    high = datetime(end.year, end.month, 1, tzinfo=UTC)
    segments = rollups.plan(await rollups.watermarks(conn), low, high, timedelta(days=1))
    if not segments:
        return []
    parts = sql.SQL(" UNION ALL ").join(
        sql.SQL(_RAW_PART if segment.source == rollups.RAW else _ROLLUP_PART).format(
            table=sql.Identifier(segment.source),
            start=sql.Literal(segment.start),
            end=sql.Literal(segment.end),
        )
        for segment in segments
    )
    params = {"devices": [row[0] for row in meters], "quantities": _QUANTITIES}
    rows = await (await conn.execute(sql.SQL(_METER_MONTHS).format(parts=parts), params)).fetchall()
    out = []
    for asset_id, quantity, month, total in rows:
        meter = METER_QUANTITIES[quantity]
        out.append(Activity(asset_id, meter.carrier, month, total, meter.unit, Source.METER))
    return out


async def assets(conn: AsyncConnection, asset_ids: Sequence[str] | None = None) -> dict[str, Asset]:
    """Twin assets by id (all, or those of ``asset_ids``), with their inventory sector."""
    params = {"ids": None if asset_ids is None else list(asset_ids)}
    rows = await (await conn.execute(_ASSETS, params)).fetchall()
    return {
        asset_id: Asset(asset_id, name, kind, sector_of_asset(kind, properties or {}), lon, lat)
        for asset_id, name, kind, properties, lon, lat in rows
    }


async def activity(conn: AsyncConnection, year: int) -> list[Activity]:
    """Every consumption of ``year``: imported rows and meter readings."""
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    return await imported_activity(conn, start, end) + await metered_activity(conn, start, end)


async def load_inventory(conn: AsyncConnection, year: int, table: FactorTable) -> Inventory:
    """The inventory of ``year`` from the database, with ``table``'s factors of that year.

    Raises:
        FactorNotFound: a carrier consumed that year has no factor for it in ``table``.
    """
    consumed = await activity(conn, year)
    found = await assets(conn, sorted({a.asset_id for a in consumed}))
    return compute(year, consumed, found, table)
