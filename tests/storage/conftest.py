"""The storage tests' shared fixture: a connection to a migrated database."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from storage import migrations


@pytest.fixture
def conn(pg_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        conn.commit()
        yield conn
