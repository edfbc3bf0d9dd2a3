"""Ingestion workers' metric snapshots: written by each worker, read by the API's /metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

Snapshot = list[dict[str, Any]]
"""Metric families as plain data: name, type, help and samples [name, labels, value]."""


def report(conn: psycopg.Connection, client_id: str, snapshot: Snapshot) -> None:
    """Replace the worker's last report."""
    conn.execute(
        "INSERT INTO ingest_workers (client_id, reported_at, metrics) VALUES (%s, now(), %s)"
        " ON CONFLICT (client_id) DO UPDATE"
        " SET reported_at = excluded.reported_at, metrics = excluded.metrics",
        (client_id, Jsonb(snapshot)),
    )


async def reports(conn: AsyncConnection) -> list[tuple[str, datetime, Snapshot]]:
    """Every worker's last report, by client id."""
    cur = await conn.execute(
        "SELECT client_id, reported_at, metrics FROM ingest_workers ORDER BY client_id"
    )
    return [(row[0], row[1], row[2]) for row in await cur.fetchall()]
