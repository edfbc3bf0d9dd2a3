"""TimescaleDB's restore procedure on a real TimescaleDB engine (PGlite over a socket,
tests/timescale): restoring mode on and off around a restore, and a database holding
only the extension's own objects counted as empty, one with the hub's hypertable not.

The engine serves one client at a time and dies on ``COPY ... FROM STDIN``: a backup
(``pg_dump`` on the snapshot a second, open connection exported) and ``pg_restore``
(which loads data with ``COPY FROM STDIN``) cannot run against it. The full backup and
restore are tested on PostgreSQL 15 and 18 (tests/backup/test_backup.py).
"""

from __future__ import annotations

import psycopg
import pytest

from backup.archive import refuse_non_empty, timescaledb_post_restore, timescaledb_pre_restore
from backup.errors import RestoreRefused
from storage import migrations

pytestmark = pytest.mark.integration


def _restoring(conn: psycopg.Connection) -> str:
    found = conn.execute("SHOW timescaledb.restoring").fetchone()
    return str(found[0]) if found else ""


def test_the_restore_procedure_and_the_emptiness_check(timescale_url: str) -> None:
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        refuse_non_empty(conn)  # the extension's catalogue is not the hub's

        timescaledb_pre_restore(conn)
        assert _restoring(conn) == "on"
        timescaledb_post_restore(conn)
        assert _restoring(conn) == "off"

        migrations.upgrade(conn)
        assert migrations.readings_storage(conn) == "timescaledb"
        with pytest.raises(RestoreRefused, match="the target database is not empty"):
            refuse_non_empty(conn)
