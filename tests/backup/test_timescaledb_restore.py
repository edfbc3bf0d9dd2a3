"""``smartcity backup`` of a hub on a real TimescaleDB engine and ``smartcity restore``
into a fresh one: PGlite (PostgreSQL 17 in WASM, TimescaleDB 2.23) over a socket,
tests/timescale.

The engine serves one client at a time and dies on ``COPY ... FROM STDIN``: the backup
cannot share a snapshot with ``pg_dump`` and dumps rows as ``INSERT`` statements, and
a restore of ``COPY`` data into it is refused before anything is written. What must
come back is judged against the source engine: every row, the hypertable's chunks and
indexes, and the audit chain (``smartcity audit verify``).

Neither the system PostgreSQL nor the embedded one has TimescaleDB: a restore of this
backup there is refused (tests/backup/test_backup.py checks that refusal for PostGIS),
so the only TimescaleDB target here is a second engine. Ingestion cannot run during
the backup as it does in test_backup.py: a worker holding its connection would keep
``pg_dump`` waiting for its turn.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from auth.tokens import KEY_FILE
from backup import manifest, pg_tools
from backup.archive import Hub, create
from backup.errors import BackupError
from gis_layers.rasters import register
from hub.cli import app
from storage import devices, migrations
from storage.readings import Reading, ReadingWriter
from tests.backup.hubs import furnish, rasters, readings, tables, write_geotiff

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, tzinfo=UTC)
GAUGES = ("gauge-tr-magurele", "gauge-olt-izbiceni")


def _env(url: str, data_dir: Path) -> dict[str, str | None]:
    return {"SMARTCITY_DATABASE_URL": url, "SMARTCITY_DATA_DIR": str(data_dir)}


def _fill_readings(url: str) -> int:
    """Hourly levels of two gauges over five weeks: several weekly chunks."""
    rows = [
        Reading(gauge, "water_level", T0 + timedelta(hours=h), 400.0 + g * 50 + h % 97 / 4)
        for g, gauge in enumerate(GAUGES)
        for h in range(24 * 35)
    ]
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        devices.register(conn, [devices.Device(g, "river_gauge", ("water_level",)) for g in GAUGES])
        ReadingWriter(migrations.readings_storage(conn)).write(conn, rows)
    return len(rows)


def _timescale_state(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The hypertable as TimescaleDB and the catalogue describe it."""
    queries = {
        "chunks": "SELECT chunk_schema, chunk_name, range_start, range_end"
        " FROM timescaledb_information.chunks WHERE hypertable_name = 'readings' ORDER BY 2",
        "dimensions": "SELECT hypertable_name, column_name, time_interval"
        " FROM timescaledb_information.dimensions ORDER BY 1, 2",
        "indexes": "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes"
        " WHERE schemaname IN ('public', '_timescaledb_internal') ORDER BY 1, 2, 3",
        "triggers": "SELECT tgrelid::regclass::text, tgname FROM pg_trigger"
        " WHERE NOT tgisinternal ORDER BY 1, 2",
        "meta": "SELECT key, value FROM hub_meta ORDER BY key",
        "migrations": "SELECT version, name, variant FROM schema_migrations ORDER BY version",
    }
    with psycopg.connect(url) as conn:
        return {name: conn.execute(q).fetchall() for name, q in queries.items()}


def test_a_hub_on_timescaledb_is_restored_whole_into_a_fresh_engine(
    timescale_url: str, spare_timescale_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"
    stored = _fill_readings(timescale_url)
    furnish(timescale_url, data_dir, tmp_path / "elsewhere", pool_size=1)
    source, source_readings = tables(timescale_url), readings(timescale_url)
    assert len(source_readings) == stored
    assert source["audit_log"] and source["alerts"] and source["features"]
    assert len(_timescale_state(timescale_url)["chunks"]) >= 5  # 35 days in 7-day chunks

    runner = CliRunner()
    backup_dir = tmp_path / "backup"
    made = runner.invoke(app, ["backup", str(backup_dir)], env=_env(timescale_url, data_dir))
    assert made.exit_code == 0, made.output
    facts = manifest.read_checked(backup_dir).database
    assert facts.rows_as == "insert"
    assert facts.extensions == {"timescaledb": "2.23.0-dev"}

    restored_dir = tmp_path / "restored"
    done = runner.invoke(
        app, ["restore", str(backup_dir)], env=_env(spare_timescale_url, restored_dir)
    )
    assert done.exit_code == 0, done.output
    assert f"audit log intact: {len(source['audit_log'])} rows" in done.output

    assert readings(spare_timescale_url) == source_readings
    assert tables(spare_timescale_url) == source
    assert _timescale_state(spare_timescale_url) == _timescale_state(timescale_url)
    before, after = rasters(timescale_url), rasters(spare_timescale_url)
    assert {k: {**v, "path": None} for k, v in after.items()} == {
        k: {**v, "path": None} for k, v in before.items()
    }
    assert after["terrain"]["path"] == str((restored_dir / "demo" / "dem.tif").resolve())
    key = Path("auth") / KEY_FILE
    assert (restored_dir / key).read_bytes() == (data_dir / key).read_bytes()
    verified = runner.invoke(app, ["audit", "verify"], env=_env(spare_timescale_url, restored_dir))
    assert verified.exit_code == 0, verified.output

    with psycopg.connect(spare_timescale_url) as conn:
        # out of restoring mode, and the hypertable makes new chunks where none was
        assert conn.execute("SHOW timescaledb.restoring").fetchone() == ("off",)
        kept = conn.execute(  # timescaledb_pre_restore() sets it on the database too
            "SELECT count(*) FROM pg_db_role_setting"
            " WHERE array_to_string(setconfig, ',') LIKE '%timescaledb.restoring%'"
        ).fetchone()
        assert kept == (0,)
        later = Reading(GAUGES[0], "water_level", T0 + timedelta(days=70), 512.0)
        assert ReadingWriter("timescaledb").write(conn, [later]) == 1
    state = _timescale_state(spare_timescale_url)
    assert len(state["chunks"]) == len(_timescale_state(timescale_url)["chunks"]) + 1


@pytest.mark.parametrize("pg_server", ["embedded"], indirect=True)
def test_copy_data_is_refused_by_an_engine_that_cannot_load_it(
    pg_url: str, spare_timescale_url: str, tmp_path: Path
) -> None:
    """A backup of PostgreSQL 18 in COPY form: the engine would die on its first COPY."""
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
    create(Hub(pg_url, tmp_path / "var"), tmp_path / "backup")
    runner = CliRunner()
    done = runner.invoke(
        app, ["restore", str(tmp_path / "backup")], env=_env(spare_timescale_url, tmp_path / "new")
    )
    assert done.exit_code == 2
    assert "cannot load the backup's COPY data" in done.stderr
    assert "smartcity backup --inserts" in done.stderr
    with psycopg.connect(spare_timescale_url) as conn:  # alive, and nothing written
        found = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert found.fetchone() == (0,)


def test_a_backup_is_refused_if_the_catalogue_changed_around_the_dump(
    spare_timescale_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a shared snapshot, another client's turn between the backup's reads and
    ``pg_dump`` could leave the manifest describing another database than the dump."""
    url = spare_timescale_url
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
    write_geotiff(tmp_path / "late.tif", seed=4)
    dump = pg_tools.PgTools.dump

    def dump_then_another_client(self: pg_tools.PgTools, *args: Any, **kwargs: Any) -> None:
        dump(self, *args, **kwargs)
        with psycopg.connect(url) as conn:
            register(conn, tmp_path / "late.tif", name="late")
            conn.commit()

    monkeypatch.setattr(pg_tools.PgTools, "dump", dump_then_another_client)
    with pytest.raises(BackupError, match="changed while the database was dumped"):
        create(Hub(url, tmp_path / "var"), tmp_path / "backup")
