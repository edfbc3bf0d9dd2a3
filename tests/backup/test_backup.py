"""``smartcity backup`` of a hub while ingestion runs, and ``smartcity restore`` into a
fresh database and data directory: every reading committed before the backup, every
layer, raster, alert and audit row comes back, the rasters' paths lead to their copies,
and the audit chain verifies. On both servers (the system PostgreSQL and the embedded
one, each with its own pg_dump), and into the embedded default of a new data directory;
refused where the new server lacks an extension the dump needs."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from typer.testing import CliRunner

from auth.tokens import KEY_FILE
from hub.cli import app
from ingest_mqtt.worker import IngestWorker
from settings import Settings
from storage import migrations
from storage.embedded import EmbeddedPostgres
from tests import backends
from tests.backup.hubs import furnish, rasters, readings, tables
from tests.live_ingest import WAIT_S, wait_for

pytestmark = pytest.mark.integration


@contextmanager
def feeding(broker_url: str, prefix: str) -> Iterator[None]:
    """A gauge publishing a reading every few milliseconds (QoS 1) until the block ends."""
    host, port = broker_url.removeprefix("mqtt://").split(":")
    client_id = f"feed-{uuid.uuid4().hex[:6]}"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(client_id)  # the embedded broker refuses anonymous clients
    client.connect(host, int(port))
    client.loop_start()
    stop = threading.Event()
    start = datetime.now(UTC) - timedelta(days=2)

    def run() -> None:
        second = 0
        while not stop.is_set():
            moment = (start + timedelta(seconds=second)).isoformat()
            payload = {"time": moment, "values": {"water_level": 300 + second % 90}}
            topic = f"{prefix}/devices/gauge-tr-magurele/json"
            client.publish(topic, json.dumps(payload), qos=1).wait_for_publish(WAIT_S)
            second += 1
            stop.wait(0.005)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(WAIT_S)
        client.disconnect()
        client.loop_stop()


def _env(url: str | None, data_dir: Path, **more: str) -> dict[str, str | None]:
    # None unsets a variable the calling environment may hold
    return {"SMARTCITY_DATABASE_URL": url, "SMARTCITY_DATA_DIR": str(data_dir), **more}


@pytest.mark.parametrize("broker_url", ["mosquitto"], indirect=True)
def test_a_hub_backed_up_while_ingesting_is_restored_whole(
    pg_server: str,
    pg_url: str,
    broker_url: str,
    settings: Settings,
    worker: IngestWorker,
    tmp_path: Path,
) -> None:
    data_dir = settings.data_dir / "var"
    furnish(pg_url, data_dir, tmp_path / "elsewhere")
    river_config = tmp_path / "elsewhere" / "config" / "river.toml"
    backup_dir = tmp_path / "backup"
    runner = CliRunner()
    with feeding(broker_url, settings.topic_prefix):
        wait_for(lambda: len(readings(pg_url)) >= 100)
        committed = readings(pg_url)  # before the backup begins
        made = runner.invoke(
            app,
            ["backup", str(backup_dir)],
            env=_env(pg_url, data_dir, SMARTCITY_RIVER_CONFIG=str(river_config)),
        )
        assert made.exit_code == 0, made.output
        wait_for(lambda: len(readings(pg_url)) > len(committed) + 100)  # it went on
    source = tables(pg_url)
    assert source["audit_log"] and source["alerts"] and source["features"]

    restored_dir = tmp_path / "restored"
    with backends.fresh_database(pg_server) as target:
        done = runner.invoke(app, ["restore", str(backup_dir)], env=_env(target, restored_dir))
        assert done.exit_code == 0, done.output
        assert "audit log intact: 2 rows" in done.output
        assert committed <= readings(target) <= readings(pg_url)
        assert tables(target) == source
        before, after = rasters(pg_url), rasters(target)
        assert {k: {**v, "path": None} for k, v in after.items()} == {
            k: {**v, "path": None} for k, v in before.items()
        }
        assert after["terrain"]["path"] == str((restored_dir / "demo" / "dem.tif").resolve())
        assert after["ortho"]["path"] == str(
            (restored_dir / "external" / "rasters" / "ortho" / "ortho.tif").resolve()
        )
        for raster_id in ("terrain", "ortho"):
            copy = Path(after[raster_id]["path"]).read_bytes()
            assert copy == Path(before[raster_id]["path"]).read_bytes()
        verified = runner.invoke(app, ["audit", "verify"], env=_env(target, restored_dir))
        assert verified.exit_code == 0, verified.output
    copied = restored_dir / "external" / "config" / "river.toml"
    assert f"SMARTCITY_RIVER_CONFIG={copied.resolve()}" in done.output
    assert copied.read_text() == river_config.read_text()
    key = Path("auth") / KEY_FILE  # the hub's token signing key: sessions survive
    assert (restored_dir / key).read_bytes() == (data_dir / key).read_bytes()
    assert not (restored_dir / "spool").exists()  # in flight, the worker's own


@pytest.mark.parametrize("pg_server", ["embedded"], indirect=True)
def test_a_backup_restores_into_the_embedded_default(pg_url: str, tmp_path: Path) -> None:
    """Into the embedded server the command starts in a new data directory, as a user
    without a database server would."""
    source_dir = tmp_path / "var"
    furnish(pg_url, source_dir, tmp_path / "elsewhere")
    runner = CliRunner()
    made = runner.invoke(app, ["backup", str(tmp_path / "backup")], env=_env(pg_url, source_dir))
    assert made.exit_code == 0, made.output

    new_dir = tmp_path / "new"
    done = runner.invoke(app, ["restore", str(tmp_path / "backup")], env=_env(None, new_dir))
    assert done.exit_code == 0, done.output
    server = EmbeddedPostgres(new_dir)
    try:
        assert tables(server.url) == tables(pg_url)
        assert rasters(server.url)["terrain"]["path"] == str(
            (new_dir / "demo" / "dem.tif").resolve()
        )
    finally:
        server.stop()


@pytest.mark.parametrize("pg_server", ["system"], indirect=True)
def test_a_server_without_an_extension_the_dump_needs_is_refused(
    pg_url: str, tmp_path: Path
) -> None:
    """The system server's hub has PostGIS (vector tiles); the embedded server has none."""
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        if not conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
            pytest.skip("PostGIS is not installed on the system server")
    runner = CliRunner()
    made = runner.invoke(
        app, ["backup", str(tmp_path / "backup")], env=_env(pg_url, tmp_path / "var")
    )
    assert made.exit_code == 0, made.output
    new_dir = tmp_path / "new"
    done = runner.invoke(app, ["restore", str(tmp_path / "backup")], env=_env(None, new_dir))
    assert done.exit_code == 2
    assert "the backup's database uses postgis, which this server does not have" in done.stderr
    assert sorted(p.name for p in new_dir.iterdir()) == ["pg"]  # nothing but the server
