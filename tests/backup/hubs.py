"""A hub's state for backup tests: a layer, rasters inside and outside the data
directory, a river alert, audit rows, sign-in keys, a spool and a river configuration;
and the tables a restore must bring back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import psycopg
import rasterio
from psycopg.rows import dict_row
from rasterio.transform import from_origin
from shapely.geometry import box

from api.app import create_app
from auth.principal import Role
from gis_layers.importer import import_file
from gis_layers.rasters import register
from harness.credentials import signed_in
from settings import Settings
from storage import migrations
from tests.river_alerts import raise_alert

X0, Y0 = 489700.0, 250200.0  # Turnu Măgurele in Stereo 70


def write_geotiff(path: Path, seed: int) -> None:
    """A small terrain-like GeoTIFF in Stereo 70."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = np.random.default_rng(seed).uniform(20, 40, (40, 50)).astype("float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=50,
        height=40,
        count=1,
        dtype="float32",
        crs="EPSG:3844",
        transform=from_origin(X0, Y0, 5.0, 5.0),
        nodata=-9999.0,
    ) as dst:
        dst.write(cells, 1)


def furnish(url: str, data_dir: Path, outside: Path, pool_size: int | None = None) -> None:
    """Give the hub at ``url`` (files in ``data_dir``) something of every kind a backup
    must carry; ``outside`` is a folder outside the data directory. ``pool_size`` caps
    the API's connections (1 for a server serving one client at a time)."""
    zones = gpd.GeoDataFrame(
        {"code": ["CC", "L1", "ID"], "name": ["Centru", "Locuinte", "Industrie"]},
        geometry=[box(X0 + 100 * i, Y0, X0 + 100 * i + 90, Y0 + 90) for i in range(3)],
        crs="EPSG:3844",
    )
    (outside / "sources").mkdir(parents=True, exist_ok=True)
    zones.to_file(outside / "sources" / "zones.gpkg", layer="zones")
    write_geotiff(data_dir / "demo" / "dem.tif", seed=1)
    write_geotiff(outside / "drone" / "ortho.tif", seed=2)
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        import_file(conn, outside / "sources" / "zones.gpkg")
        register(conn, data_dir / "demo" / "dem.tif", name="terrain")
        register(conn, outside / "drone" / "ortho.tif", name="ortho")
        conn.commit()
    alert_id = raise_alert(url)
    # the hub's signing key is made in data_dir/auth/ as the API starts
    settings = Settings(data_dir=data_dir)
    if pool_size is not None:
        settings = Settings(data_dir=data_dir, db_pool_max_size=pool_size)
    with signed_in(create_app(settings, url), url, Role.EMERGENCY) as client:
        ack = client.post(f"/river/alerts/{alert_id}/ack", json={"note": "ok"})
        assert ack.status_code == 200, ack.text
        assert client.post(f"/river/alerts/{alert_id}/ack", json={}).status_code == 409
    (data_dir / "spool" / "ingest").mkdir(parents=True, exist_ok=True)
    (data_dir / "spool" / "ingest" / "000001.batch").write_bytes(b"in flight")
    (outside / "config").mkdir(parents=True, exist_ok=True)
    (outside / "config" / "river.toml").write_text("[[gauges]]\n")


TABLES = {
    "layers": "layer_id",
    "features": "layer_id, feature_id",
    "alerts": "alert_id",
    "alert_events": "event_id",
    "audit_log": "audit_id",
    "devices": "device_id",
}


def tables(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables a restore must bring back as they were."""
    with psycopg.connect(url) as conn:
        cur = conn.cursor(row_factory=dict_row)
        return {
            name: cur.execute(f"SELECT * FROM {name} ORDER BY {key}").fetchall()
            for name, key in TABLES.items()
        }


def readings(url: str) -> set[tuple[str, str, Any, float]]:
    """Every reading: device, quantity, time and value."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT device_id, quantity, time, value FROM readings").fetchall()
    return {(r[0], r[1], r[2], r[3]) for r in rows}


def rasters(url: str) -> dict[str, dict[str, Any]]:
    """The raster catalogue by id."""
    with psycopg.connect(url) as conn:
        cur = conn.cursor(row_factory=dict_row)
        return {r["raster_id"]: r for r in cur.execute("SELECT * FROM rasters").fetchall()}
