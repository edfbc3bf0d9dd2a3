"""Make a backup of a running hub, and bring one up in an empty database.

A backup is a folder::

    smartcity-backup.json      the manifest (written last: without it, the backup is unfinished)
    database.dump              pg_dump's custom format
    data/...                   the data directory's files (the demo town, its river rules,
                               the sign-in keys in auth/), but not the embedded server's
                               cluster (pg/: the dump holds the database) nor the ingest
                               spool (spool/: batches in flight, owned by their worker)
    external/rasters/ID/...    rasters the catalogue points to outside the data directory
    external/config/...        the river configuration (SMARTCITY_RIVER_CONFIG)

The database is dumped from a snapshot exported by a repeatable-read transaction, and
the raster catalogue and schema versions are read in that same snapshot: what the
backup carries matches the dump, whatever the running hub writes meanwhile. Every
reading committed before the backup began is in it.

A restore refuses a backup that does not match its manifest, one made by a newer
schema, a database that is not empty, a server without the extensions the dump needs
and files that would overwrite others; only then it restores the dump in one
transaction (between ``timescaledb_pre_restore()`` and ``timescaledb_post_restore()``
where the backup has TimescaleDB, as its documentation asks), puts the files in the
new data directory, points the raster catalogue at them and applies newer migrations.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import psycopg
from psycopg import IsolationLevel

from backup import manifest, pg_tools
from backup.errors import BackupError, RestoreRefused
from backup.manifest import CarriedFile, DatabaseFacts, FileEntry, Manifest, Migration
from storage import migrations

DUMP = "database.dump"
DATA = "data"
EXTERNAL = "external"
SKIPPED = ("pg", "spool")
"""Folders of the data directory a backup leaves out (see the module's docstring)."""


@dataclass(frozen=True)
class Hub:
    """Where a hub keeps its state: its database and its files."""

    database_url: str
    data_dir: Path
    river_config: Path | None = None


@dataclass(frozen=True)
class Restored:
    """What a restore did: the backup's manifest, the files put in place, each raster's
    new path, and where the river configuration's copy is (to point
    ``SMARTCITY_RIVER_CONFIG`` at)."""

    manifest: Manifest
    files: int
    rasters: dict[str, str]
    river_config: Path | None


def _data_files(data_dir: Path, leave_out: Path) -> Iterator[Path]:
    """The data directory's files, less :data:`SKIPPED`, ``leave_out`` (the backup
    being made) and earlier backups kept there."""
    for folder, subfolders, names in os.walk(data_dir):
        here = Path(folder)
        subfolders[:] = sorted(
            d
            for d in subfolders
            if not (here == data_dir and d in SKIPPED)
            and (here / d).resolve() != leave_out
            and not (here / d / manifest.NAME).exists()
        )
        yield from (here / n for n in sorted(names) if (here / n).is_file())


def _database_facts(conn: psycopg.Connection, tool: pg_tools.PgTools) -> DatabaseFacts:
    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    extensions = conn.execute(
        "SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql'"
    ).fetchall()
    applied = conn.execute(
        "SELECT version, name, variant FROM schema_migrations ORDER BY version"
    ).fetchall()
    return DatabaseFacts(
        dump=DUMP,
        server_version=str(conn.info.parameter_status("server_version")),
        size_bytes=int(size[0]) if size else 0,
        extensions=dict(extensions),
        migrations=[Migration(version=v, name=n, variant=f) for v, n, f in applied],
        dump_tool=str(tool.bin_dir / "pg_dump"),
        dump_tool_major=tool.major,
    )


def _carry(
    original: str, copied: dict[Path, str], root: Path, external: str, files: list[FileEntry]
) -> CarriedFile:
    """The copy of a file the hub points to: the data directory's copy when it lives
    there, else a new one under ``external``; None when it is gone."""
    source = Path(original).resolve()
    if source in copied:
        return CarriedFile(original=original, stored=copied[source])
    if not source.is_file():
        return CarriedFile(original=original, stored=None)
    entry = manifest.copy_in(source, root, f"{EXTERNAL}/{external}/{source.name}")
    files.append(entry)
    return CarriedFile(original=original, stored=entry.path)


def create(hub: Hub, path: Path, tools_dir: Path | None = None) -> Manifest:
    """Back up ``hub`` into the new folder ``path`` (it must not exist, or be empty)."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{path} exists and is not an empty folder: give a new one")
    path.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(hub.database_url) as conn:
        if not migrations.applied_versions(conn):
            raise BackupError("the database holds no hub schema: nothing to back up")
        conn.rollback()
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        exported = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert exported is not None
        tool = pg_tools.find(conn.info.server_version // 10000, tools_dir)
        facts = _database_facts(conn, tool)
        rasters = conn.execute("SELECT raster_id, path FROM rasters ORDER BY raster_id").fetchall()
        tool.dump(hub.database_url, exported[0], path / DUMP)  # while the snapshot is held
    files = [manifest.entry_of(path, DUMP)]
    copied: dict[Path, str] = {}
    for source in _data_files(hub.data_dir, path.resolve()):
        relative = source.relative_to(hub.data_dir).as_posix()
        entry = manifest.copy_in(source, path, f"{DATA}/{relative}")
        files.append(entry)
        copied[source.resolve()] = entry.path
    carried = {rid: _carry(p, copied, path, f"rasters/{rid}", files) for rid, p in rasters}
    river = (
        _carry(str(hub.river_config), copied, path, "config", files) if hub.river_config else None
    )
    made = Manifest(
        hub_version=metadata.version("smartcity-hub"),
        created_at=datetime.now(UTC),
        database=facts,
        rasters=carried,
        river_config=river,
        files=files,
    )
    manifest.write(path, made)
    return made


def _destination(backup_path: str, data_dir: Path) -> Path:
    """Where a file of the backup goes in the new data directory: the data directory's
    files where they were, the others under ``external/``."""
    if backup_path.startswith(f"{DATA}/"):
        return data_dir / backup_path.removeprefix(f"{DATA}/")
    return data_dir / backup_path


def refuse_non_empty(conn: psycopg.Connection) -> None:
    """Refuse a database holding any table, view or sequence of its own (an extension's
    objects, PostGIS's ``spatial_ref_sys`` say, do not count)."""
    found = conn.execute(
        "SELECT c.oid::regclass::text FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg\\_toast%%'"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass"
        "                 AND d.objid = c.oid AND d.deptype = 'e')"
        " ORDER BY 1 LIMIT 5"
    ).fetchall()
    if found:
        names = ", ".join(r[0] for r in found)
        raise RestoreRefused(
            f"the target database is not empty (it holds {names}): restore into a new,"
            " empty database"
        )


def _refuse_missing_extensions(conn: psycopg.Connection, wanted: dict[str, str]) -> None:
    available = {r[0] for r in conn.execute("SELECT name FROM pg_available_extensions").fetchall()}
    if missing := sorted(set(wanted) - available):
        raise RestoreRefused(
            f"the backup's database uses {', '.join(missing)}, which this server does not"
            " have: install it there first"
        )


def timescaledb_pre_restore(conn: psycopg.Connection) -> None:
    """TimescaleDB's step before ``pg_restore``: the extension created, its background
    workers stopped and its catalogue in restoring mode."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    conn.execute("SELECT timescaledb_pre_restore()")


def timescaledb_post_restore(conn: psycopg.Connection) -> None:
    """TimescaleDB's step after ``pg_restore``: restoring mode off, workers back."""
    conn.execute("SELECT timescaledb_post_restore()")


def restore(path: Path, hub: Hub, tools_dir: Path | None = None) -> Restored:
    """Bring the backup at ``path`` up in ``hub``'s empty database and data directory."""
    made = manifest.read_checked(path)
    known = {m.version for m in migrations.MIGRATIONS}
    if newer := sorted({m.version for m in made.database.migrations} - known):
        raise RestoreRefused(
            f"the backup's schema has migrations this hub does not know ({newer}): it was"
            f" made by a newer hub ({made.hub_version}); restore it with that version"
        )
    places = {
        f.path: _destination(f.path, hub.data_dir)
        for f in made.files
        if f.path != made.database.dump
    }
    if taken := sorted(str(p) for p in places.values() if p.exists()):
        raise RestoreRefused(
            f"restoring would overwrite {', '.join(taken[:5])}: give an empty data directory"
        )
    timescale = "timescaledb" in made.database.extensions
    with psycopg.connect(hub.database_url, autocommit=True) as conn:
        refuse_non_empty(conn)
        _refuse_missing_extensions(conn, made.database.extensions)
        least = max(conn.info.server_version // 10000, made.database.dump_tool_major)
        tool = pg_tools.find(least, tools_dir)
        if timescale:
            timescaledb_pre_restore(conn)
        try:
            tool.restore(hub.database_url, path / made.database.dump)
        finally:
            if timescale:
                timescaledb_post_restore(conn)
        for source, target in places.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path / source, target)
        rasters = {
            rid: str(places[carried.stored].resolve())
            for rid, carried in made.rasters.items()
            if carried.stored is not None
        }
        with conn.transaction():
            for rid, new_path in rasters.items():
                conn.execute("UPDATE rasters SET path = %s WHERE raster_id = %s", (new_path, rid))
        migrations.upgrade(conn)
    river = made.river_config
    return Restored(
        manifest=made,
        files=len(places),
        rasters=rasters,
        river_config=places[river.stored].resolve() if river and river.stored else None,
    )
