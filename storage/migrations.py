"""Versioned, idempotent schema migrations applied on start and by ``smartcity db upgrade``.

Migrations are numbered SQL files in ``storage/sql``. Where the schema depends on the
server (readings as a TimescaleDB hypertable or as a natively partitioned table), a
migration names one file per variant and the variant is chosen when it is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

from storage.errors import MigrationError

log = logging.getLogger(__name__)

# Any fixed 64-bit number: serialises concurrent upgraders (API and worker starting together).
_ADVISORY_LOCK_KEY = 0x5C17_1D0B


@dataclass(frozen=True)
class Migration:
    """One schema version: a SQL file name, or a chooser picking the file for this server."""

    version: int
    name: str
    choose_file: Callable[[psycopg.Connection], str]


def extension_enabled(conn: psycopg.Connection, name: str, otherwise: str) -> bool:
    """Create extension ``name`` if the server has it; report whether it is active
    (``otherwise`` says in the warning what the hub does if it cannot be enabled)."""
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = %s", (name,)
    ).fetchone()
    if not available:
        return False
    try:
        with conn.transaction():
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        log.warning("%s is installed but cannot be enabled (%s); %s", name, exc, otherwise)
        return False
    return True


def timescaledb_enabled(conn: psycopg.Connection) -> bool:
    """Create the TimescaleDB extension if the server has it; report whether it is active."""
    return extension_enabled(conn, "timescaledb", "using partitions")


def _readings_variant(conn: psycopg.Connection) -> str:
    if timescaledb_enabled(conn):
        return "0002_readings_timescaledb.sql"
    return "0002_readings_partitioned.sql"


def _rollups_variant(conn: psycopg.Connection) -> str:
    # Follows how the readings are stored, not whether the extension is there now: a
    # partitioned database stays partitioned when TimescaleDB is installed later.
    return f"0017_rollups_{readings_storage(conn)}.sql"


def _vector_tiles_variant(conn: psycopg.Connection) -> str:
    if extension_enabled(conn, "postgis", "vector tiles are built by the hub"):
        return "0011_vector_tiles_postgis.sql"
    return "0011_vector_tiles_python.sql"


def _layer_views_variant(conn: psycopg.Connection) -> str:
    if extension_enabled(conn, "postgis", "layers are not published as PostGIS views"):
        return "0020_layer_views_postgis.sql"
    return "0020_layer_views_none.sql"


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "core", lambda _conn: "0001_core.sql"),
    Migration(2, "readings", _readings_variant),
    Migration(3, "drone_track", lambda _conn: "0003_drone_track.sql"),
    Migration(4, "device_credentials", lambda _conn: "0004_device_credentials.sql"),
    Migration(5, "ingest_workers", lambda _conn: "0005_ingest_workers.sql"),
    Migration(6, "readings_c_collation", lambda _conn: "0006_readings_c_collation.sql"),
    Migration(7, "asset_places", lambda _conn: "0007_asset_places.sql"),
    Migration(8, "rasters", lambda _conn: "0008_rasters.sql"),
    Migration(9, "river_alerts", lambda _conn: "0009_river_alerts.sql"),
    Migration(10, "alerts", lambda _conn: "0010_alerts.sql"),
    Migration(11, "vector_tiles", _vector_tiles_variant),
    Migration(12, "accounts", lambda _conn: "0012_accounts.sql"),
    Migration(13, "audit", lambda _conn: "0013_audit.sql"),
    Migration(14, "dead_letters_bounded", lambda _conn: "0014_dead_letters_bounded.sql"),
    Migration(15, "empty_geometry_boxes", lambda _conn: "0015_empty_geometry_boxes.sql"),
    Migration(16, "parking", lambda _conn: "0016_parking.sql"),
    Migration(17, "rollups", _rollups_variant),
    Migration(18, "carbon", lambda _conn: "0018_carbon.sql"),
    Migration(19, "opendata", lambda _conn: "0019_opendata.sql"),
    Migration(20, "layer_views", _layer_views_variant),
    Migration(21, "rollup_revisions", lambda _conn: "0021_rollup_revisions.sql"),
    Migration(22, "hours_by_day", lambda _conn: "0022_hours_by_day.sql"),
    Migration(23, "drone_track_time", lambda _conn: "0023_drone_track_time.sql"),
    Migration(24, "hours_by_day_stats", lambda _conn: "0024_hours_by_day_stats.sql"),
)


def _read_sql(filename: str) -> str:
    return resources.files("storage").joinpath("sql", filename).read_text(encoding="utf-8")


def applied_versions(conn: psycopg.Connection) -> set[int]:
    """Versions already recorded in ``schema_migrations`` (empty for a new database)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def upgrade(conn: psycopg.Connection) -> list[int]:
    """Apply every pending migration in one transaction; return the versions applied.

    Safe to call from several processes at once and on an up-to-date database.
    """
    applied_now: list[int] = []
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_KEY,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, variant text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = applied_versions(conn)
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                filename = migration.choose_file(conn)
                log.info("applying migration %s (%s)", migration.version, filename)
                conn.execute(_read_sql(filename).encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, variant) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, filename),
                )
                applied_now.append(migration.version)
    except psycopg.Error as exc:
        raise MigrationError(f"migration failed: {exc}") from exc
    return applied_now


def readings_storage(conn: psycopg.Connection) -> str:
    """How readings are stored here: ``"timescaledb"`` or ``"partitioned"``."""
    row = conn.execute("SELECT value FROM hub_meta WHERE key = 'readings_storage'").fetchone()
    if row is None:
        raise MigrationError("database not migrated: run `smartcity db upgrade`")
    return str(row[0])


async def schema_state(conn: psycopg.AsyncConnection) -> tuple[str, int]:
    """How readings are stored (``"unknown"`` before the first migration) and the
    latest applied schema version (0 for none), for health checks."""
    storage = await (
        await conn.execute("SELECT value FROM hub_meta WHERE key = 'readings_storage'")
    ).fetchone()
    version = await (await conn.execute("SELECT max(version) FROM schema_migrations")).fetchone()
    return (
        str(storage[0]) if storage else "unknown",
        int(version[0]) if version and version[0] else 0,
    )
