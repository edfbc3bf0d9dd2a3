"""A town of one air-quality station for the air alert tests, on real PostgreSQL, fed
NO2 readings for chosen hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import geopandas as gpd
import psycopg
from shapely.geometry import Point

from gis_layers.importer import import_file
from storage import migrations
from storage.readings import Reading, ReadingWriter
from twin.registry import sync_from_layers

H = timedelta(hours=1)
STATION = "TR-2"


def create(url: str, tmp_path: Path) -> None:
    """Migrate the database and import the station (an asset and its sensor)."""
    assets = gpd.GeoDataFrame(
        {"asset_id": [STATION], "name": ["TR-2 Centru"], "kind": ["air_quality_station"]},
        geometry=[Point(489700, 250200)],
        crs="EPSG:3844",
    )
    sensors = gpd.GeoDataFrame(
        {
            "device_id": [STATION],
            "kind": ["air_quality"],
            "asset_id": [STATION],
            "quantities": ["pm25,pm10,no2,o3,so2"],
        },
        geometry=[Point(489700, 250200)],
        crs="EPSG:3844",
    )
    path = tmp_path / "town.gpkg"
    assets.to_file(path, layer="assets")
    sensors.to_file(path, layer="sensors")
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        import_file(conn, path)
        sync_from_layers(conn)


def no2(url: str, start: datetime, values: list[float]) -> None:
    """Readings every 20 minutes, each hour at its value, from the hour ``start``."""
    readings = [
        Reading(STATION, "no2", start + k * H + m * timedelta(minutes=20), v)
        for k, v in enumerate(values)
        for m in range(3)
    ]
    with psycopg.connect(url) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(conn, readings)
        conn.commit()
