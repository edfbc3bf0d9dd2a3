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

A server that serves one client at a time (PGlite, the WASM build of PostgreSQL with
TimescaleDB that the tests use as their TimescaleDB engine: a single-user backend
shared by its clients in turn) cannot do that: ``pg_dump`` cannot connect while the
exporting transaction holds the server (it waits its turn, and PGlite's socket server
closes it after 60 s), and the snapshot ends with that transaction. There, the catalogue
and schema versions are read before and after ``pg_dump``, on connections of their own,
and the backup is refused if they differ. Such a server also dies on ``COPY ... FROM
STDIN`` (tests/timescale/README.md), so its dump holds rows as ``INSERT`` statements,
which any server loads; ``--inserts`` asks for them from any server.

A restore refuses a backup that does not match its manifest, one made by a newer
schema, a database that is not empty, a server without the extensions the dump needs
(TimescaleDB: without the backup's version), a dump of ``COPY`` data for a server that
cannot load it, and files that would overwrite others; only then it restores the dump
in one transaction (between ``timescaledb_pre_restore()`` and
``timescaledb_post_restore()`` where the backup has TimescaleDB, as its documentation
asks), puts the files in the new data directory, points the raster catalogue at them
and applies newer migrations. Its own connection is closed while ``pg_restore`` runs:
a server serving one client at a time would keep ``pg_restore`` waiting.
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
from psycopg import IsolationLevel, sql

from backup import manifest, pg_tools
from backup.errors import BackupError, RestoreRefused
from backup.manifest import (
    CarriedFile,
    DatabaseFacts,
    FileEntry,
    Manifest,
    Migration,
    RowsAs,
)
from storage import migrations

DUMP = "database.dump"
DATA = "data"
EXTERNAL = "external"
SKIPPED = ("pg", "spool")
"""Folders of the data directory a backup leaves out (see the module's docstring)."""
ROWS_PER_INSERT = 1000
"""Rows in each ``INSERT`` of a dump made of them: a readings statement of some 80 kB,
well within a protocol message, and a thousandth of the statements one row each makes."""


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


def serves_one_client(conn: psycopg.Connection) -> bool:
    """Whether the server serves its clients one at a time, in one shared session:
    a single-user backend such as PGlite, which lists no backend of its own in
    ``pg_stat_activity`` (every PostgreSQL server with a postmaster lists each one)."""
    found = conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = pg_backend_pid())"
    ).fetchone()
    return bool(found and found[0])


@dataclass(frozen=True)
class _Seen:
    """What the backup reads of the database beside the dump."""

    facts: DatabaseFacts
    rasters: list[tuple[str, str]]

    def same_state(self, other: _Seen) -> bool:
        """Whether ``other`` saw the same extensions, migrations and raster catalogue."""
        return (
            self.facts.extensions == other.facts.extensions
            and self.facts.migrations == other.facts.migrations
            and self.rasters == other.rasters
        )


def _seen(conn: psycopg.Connection, tool: pg_tools.PgTools, rows_as: RowsAs) -> _Seen:
    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    extensions = conn.execute(
        "SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql'"
    ).fetchall()
    applied = conn.execute(
        "SELECT version, name, variant FROM schema_migrations ORDER BY version"
    ).fetchall()
    rasters = conn.execute("SELECT raster_id, path FROM rasters ORDER BY raster_id").fetchall()
    facts = DatabaseFacts(
        dump=DUMP,
        server_version=str(conn.info.parameter_status("server_version")),
        size_bytes=int(size[0]) if size else 0,
        extensions=dict(extensions),
        migrations=[Migration(version=v, name=n, variant=f) for v, n, f in applied],
        dump_tool=str(tool.bin_dir / "pg_dump"),
        dump_tool_major=tool.major,
        rows_as=rows_as,
    )
    return _Seen(facts=facts, rasters=[(str(r), str(p)) for r, p in rasters])


def _dump(url: str, out: Path, tools_dir: Path | None, inserts: bool) -> _Seen:
    """Dump the database at ``url`` to ``out``; what was read beside it, in the same
    state of the database (see the module's docstring)."""
    with psycopg.connect(url) as conn:
        if not migrations.applied_versions(conn):
            raise BackupError("the database holds no hub schema: nothing to back up")
        one_client = serves_one_client(conn)
        conn.rollback()
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        tool = pg_tools.find(conn.info.server_version // 10000, tools_dir)
        rows_as: RowsAs = "insert" if inserts or one_client else "copy"
        per_insert = ROWS_PER_INSERT if rows_as == "insert" else None
        if not one_client:
            exported = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert exported is not None
            seen = _seen(conn, tool, rows_as)
            tool.dump(url, out, exported[0], per_insert)  # while the snapshot is held
            return seen
        before = _seen(conn, tool, rows_as)
    tool.dump(url, out, None, per_insert)
    with psycopg.connect(url) as conn:
        conn.read_only = True
        after = _seen(conn, tool, rows_as)
    if not before.same_state(after):
        raise BackupError(
            "the raster catalogue or the schema changed while the database was dumped (this"
            " server serves one client at a time, so the dump cannot share a snapshot with"
            " the backup): run the backup again"
        )
    return before


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


def create(
    hub: Hub, path: Path, tools_dir: Path | None = None, *, inserts: bool = False
) -> Manifest:
    """Back up ``hub`` into the new folder ``path`` (it must not exist, or be empty);
    with ``inserts``, the dump holds rows as ``INSERT`` statements, which a server that
    cannot take ``COPY ... FROM STDIN`` (PGlite) can restore."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{path} exists and is not an empty folder: give a new one")
    path.mkdir(parents=True, exist_ok=True)
    seen = _dump(hub.database_url, path / DUMP, tools_dir, inserts)
    files = [manifest.entry_of(path, DUMP)]
    copied: dict[Path, str] = {}
    for source in _data_files(hub.data_dir, path.resolve()):
        relative = source.relative_to(hub.data_dir).as_posix()
        entry = manifest.copy_in(source, path, f"{DATA}/{relative}")
        files.append(entry)
        copied[source.resolve()] = entry.path
    carried = {rid: _carry(p, copied, path, f"rasters/{rid}", files) for rid, p in seen.rasters}
    river = (
        _carry(str(hub.river_config), copied, path, "config", files) if hub.river_config else None
    )
    made = Manifest(
        hub_version=metadata.version("smartcity-hub"),
        created_at=datetime.now(UTC),
        database=seen.facts,
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


def refuse_other_timescaledb(conn: psycopg.Connection, version: str) -> None:
    """Refuse a server that cannot have TimescaleDB at ``version``, the backup's: its
    catalogue, in the dump, is restored as it was, and only that version reads it."""
    created = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    if created is not None and created[0] != version:
        raise RestoreRefused(
            f"the target database has TimescaleDB {created[0]} and the backup {version}:"
            f" restore into a database without the extension, on a server with {version}"
        )
    offered = [
        str(r[0])
        for r in conn.execute(
            "SELECT version FROM pg_available_extension_versions WHERE name = 'timescaledb'"
            " ORDER BY version"
        ).fetchall()
    ]
    if version not in offered:
        raise RestoreRefused(
            f"the backup's database has TimescaleDB {version}, which this server does not"
            f" offer (it has {', '.join(offered) or 'none'}): install {version} there, restore,"
            " then ALTER EXTENSION timescaledb UPDATE"
        )


def _refuse_copy_data(conn: psycopg.Connection, rows_as: RowsAs) -> None:
    """Refuse a dump of ``COPY`` data for a server serving one client at a time: PGlite's
    socket server dies on ``COPY ... FROM STDIN``."""
    if rows_as == "copy" and serves_one_client(conn):
        raise RestoreRefused(
            "this server serves one client at a time (a single-user backend such as PGlite)"
            " and cannot load the backup's COPY data: back up again with"
            " `smartcity backup --inserts`, or restore into a PostgreSQL server"
        )


def timescaledb_pre_restore(conn: psycopg.Connection, version: str | None = None) -> None:
    """TimescaleDB's step before ``pg_restore``: the extension created (at ``version``
    if given), its background workers stopped and the database in restoring mode."""
    at = sql.SQL(" VERSION {}").format(sql.Literal(version)) if version else sql.SQL("")
    conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS timescaledb{}").format(at))
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
    timescale = made.database.extensions.get("timescaledb")
    with psycopg.connect(hub.database_url, autocommit=True) as conn:
        refuse_non_empty(conn)
        _refuse_missing_extensions(conn, made.database.extensions)
        if timescale is not None:
            refuse_other_timescaledb(conn, timescale)
        _refuse_copy_data(conn, made.database.rows_as)
        least = max(conn.info.server_version // 10000, made.database.dump_tool_major)
        tool = pg_tools.find(least, tools_dir)
        if timescale is not None:
            # it sets restoring mode on the database too, for pg_restore's new session
            # (PGlite's test server resets its one shared session instead: docs/backup.md)
            timescaledb_pre_restore(conn, timescale)
    try:
        tool.restore(hub.database_url, path / made.database.dump)
    finally:
        if timescale is not None:
            with psycopg.connect(hub.database_url, autocommit=True) as conn:
                timescaledb_post_restore(conn)
    for source, target in places.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path / source, target)
    rasters = {
        rid: str(places[carried.stored].resolve())
        for rid, carried in made.rasters.items()
        if carried.stored is not None
    }
    with psycopg.connect(hub.database_url, autocommit=True) as conn:
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
