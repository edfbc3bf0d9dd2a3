"""TimescaleDB's restore procedure on a real TimescaleDB engine (PGlite over a socket,
tests/timescale): restoring mode on and off around a restore, a database holding only
the extension's own objects counted as empty, one with the hub's hypertable not, the
engine told apart as one serving one client at a time, and a backup of another
TimescaleDB version refused. The whole backup and restore on this engine:
tests/backup/test_timescaledb_restore.py.
"""

from __future__ import annotations

import psycopg
import pytest

from backup.archive import (
    refuse_non_empty,
    refuse_other_timescaledb,
    serves_one_client,
    timescaledb_post_restore,
    timescaledb_pre_restore,
)
from backup.errors import RestoreRefused
from storage import migrations

pytestmark = pytest.mark.integration


def _restoring(conn: psycopg.Connection) -> str:
    found = conn.execute("SHOW timescaledb.restoring").fetchone()
    return str(found[0]) if found else ""


def test_the_restore_procedure_and_the_emptiness_check(timescale_url: str) -> None:
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        assert serves_one_client(conn)
        offered = "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
        version = str(conn.execute(offered).fetchone()[0])  # type: ignore[index]
        refuse_other_timescaledb(conn, version)
        with pytest.raises(RestoreRefused, match="TimescaleDB 2.1.0, which this server does not"):
            refuse_other_timescaledb(conn, "2.1.0")

        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        refuse_non_empty(conn)  # the extension's catalogue is not the hub's
        refuse_other_timescaledb(conn, version)
        with pytest.raises(RestoreRefused, match=f"has TimescaleDB {version} and the backup 2.1"):
            refuse_other_timescaledb(conn, "2.1.0")

        timescaledb_pre_restore(conn)
        assert _restoring(conn) == "on"
        timescaledb_post_restore(conn)
        assert _restoring(conn) == "off"

        migrations.upgrade(conn)
        assert migrations.readings_storage(conn) == "timescaledb"
        with pytest.raises(RestoreRefused, match="the target database is not empty"):
            refuse_non_empty(conn)
