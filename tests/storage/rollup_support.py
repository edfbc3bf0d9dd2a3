"""What the rollup tests share: readings written as the ingest writer writes them, the
rollups refreshed as the ingest worker refreshes them, at a fixed moment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg

from settings import RetentionSettings
from storage import migrations, rollups
from storage.readings import Reading, ReadingWriter

NOW = datetime(2026, 3, 10, 12, 7, 30, tzinfo=UTC)
"""The moment the rollup tests are run at (a refresh rolls up what is complete then)."""


def write(conn: psycopg.Connection, readings: Sequence[Reading]) -> None:
    """Store ``readings`` and commit."""
    ReadingWriter(migrations.readings_storage(conn)).write(conn, readings)
    conn.commit()


def refresh(
    conn: psycopg.Connection, now: datetime = NOW, keep: RetentionSettings | None = None
) -> None:
    """Refresh every level until nothing is left to do at ``now``, and commit."""
    while rollups.refresh(conn, keep or RetentionSettings(), now):
        conn.commit()
    conn.commit()
