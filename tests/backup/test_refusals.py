"""What a restore refuses, before it touches anything, and says why: a backup altered,
incomplete, unfinished or from a newer hub, a database that is not empty, files it
would overwrite; and a backup into a folder already in use."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from backup import manifest
from backup.archive import Hub, create, restore, serves_one_client
from backup.errors import BackupError, RestoreRefused
from gis_layers.rasters import register
from hub.cli import app
from storage import migrations
from tests import backends
from tests.backup.hubs import write_geotiff

pytestmark = pytest.mark.integration


@pytest.fixture
def made(pg_url: str, tmp_path: Path) -> Path:
    """A backup of a small hub (a raster in its data directory)."""
    data_dir = tmp_path / "var"
    write_geotiff(data_dir / "demo" / "dem.tif", seed=3)
    (data_dir / "demo" / "river-rules.toml").write_text("[[gauges]]\n")
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        register(conn, data_dir / "demo" / "dem.tif", name="terrain")
        conn.commit()
    create(Hub(pg_url, data_dir), tmp_path / "backup")
    return tmp_path / "backup"


@pytest.fixture
def target(pg_server: str, tmp_path: Path) -> Iterator[Hub]:
    with backends.fresh_database(pg_server) as url:
        yield Hub(url, tmp_path / "new")


def _relations(url: str) -> int:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'spatial_ref_sys'"
        ).fetchone()
    return found[0] if found else 0


def _flip_a_byte(backup: Path) -> None:
    dump = backup / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))


def _edit_manifest(backup: Path) -> None:
    document = json.loads((backup / manifest.NAME).read_text())
    document["database"]["migrations"].append({"version": 999, "name": "x", "variant": "x.sql"})
    (backup / manifest.NAME).write_text(json.dumps(document))


REFUSALS: list[tuple[Callable[[Path], object], str]] = [
    (_flip_a_byte, "altered or damaged: database.dump does not match its size and checksum"),
    (
        lambda b: (b / "data" / "demo" / "dem.tif").unlink(),
        "the backup is incomplete: missing data/demo/dem.tif",
    ),
    (
        lambda b: (b / "data" / "notes.txt").write_text("?"),
        "holds files its manifest does not list: data/notes.txt",
    ),
    (lambda b: (b / manifest.NAME).unlink(), "not a hub backup, or an unfinished one"),
    (lambda b: (b / manifest.NAME).write_text("{}"), "is not a valid manifest"),
    (_edit_manifest, "migrations this hub does not know ([999])"),
]


@pytest.mark.parametrize(("spoil", "message"), REFUSALS)
def test_a_spoilt_backup_is_refused_and_nothing_restored(
    made: Path, target: Hub, spoil: Callable[[Path], object], message: str
) -> None:
    spoil(made)
    with pytest.raises(RestoreRefused, match=re.escape(message)):
        restore(made, target)
    assert _relations(target.database_url) == 0
    assert not target.data_dir.exists()


def test_a_database_that_is_not_empty_is_refused(made: Path, pg_url: str, tmp_path: Path) -> None:
    with pytest.raises(RestoreRefused, match="the target database is not empty"):
        restore(made, Hub(pg_url, tmp_path / "new"))
    assert not (tmp_path / "new").exists()


def test_files_already_in_the_data_directory_are_not_overwritten(made: Path, target: Hub) -> None:
    (target.data_dir / "demo").mkdir(parents=True)
    (target.data_dir / "demo" / "dem.tif").write_bytes(b"mine")
    with pytest.raises(RestoreRefused, match="would overwrite .*dem.tif"):
        restore(made, target)
    assert (target.data_dir / "demo" / "dem.tif").read_bytes() == b"mine"
    assert _relations(target.database_url) == 0


def test_the_command_says_why_and_exits_2(made: Path, target: Hub) -> None:
    _flip_a_byte(made)
    env = {
        "SMARTCITY_DATABASE_URL": target.database_url,
        "SMARTCITY_DATA_DIR": str(target.data_dir),
    }
    result = CliRunner().invoke(app, ["restore", str(made)], env=env)
    assert result.exit_code == 2
    assert "error: the backup was altered or damaged: database.dump" in result.stderr


def test_a_backup_goes_into_a_new_or_empty_folder_only(pg_url: str, made: Path) -> None:
    with pytest.raises(BackupError, match="exists and is not an empty folder"):
        create(Hub(pg_url, made.parent / "var"), made)


def test_a_restored_backup_is_as_made(made: Path, target: Hub) -> None:
    """The control for the refusals above: the same backup, unspoilt, restores."""
    done = restore(made, target)
    assert _relations(target.database_url) > 0
    assert done.rasters == {"terrain": str((target.data_dir / "demo" / "dem.tif").resolve())}
    assert (target.data_dir / "demo" / "river-rules.toml").read_text() == "[[gauges]]\n"


def test_a_server_with_a_backend_per_client_is_told_apart(pg_url: str) -> None:
    """The control for tests/backup/test_timescaledb.py's engine serving one client at a
    time: a backup here shares its snapshot with pg_dump and dumps COPY data."""
    with psycopg.connect(pg_url) as conn:
        assert not serves_one_client(conn)
