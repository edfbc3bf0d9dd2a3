"""The ``hub_meta`` key-value table: facts about this hub's database and its processes."""

from __future__ import annotations

import psycopg


def set_meta(conn: psycopg.Connection, key: str, value: str) -> None:
    """Insert or replace one key."""
    conn.execute(
        "INSERT INTO hub_meta (key, value) VALUES (%s, %s)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def get_meta(conn: psycopg.Connection, key: str) -> str | None:
    """The value of ``key``, or None."""
    row = conn.execute("SELECT value FROM hub_meta WHERE key = %s", (key,)).fetchone()
    return None if row is None else str(row[0])


def subscribed_key(client_id: str) -> str:
    """The key under which an ingestion worker records when its subscription took effect."""
    return f"ingest_subscribed:{client_id}"
