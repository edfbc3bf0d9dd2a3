from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from shapely.geometry import Point, box

from gis_layers.catalogue import set_public
from gis_layers.importer import import_file
from storage import migrations
from storage.readings import Reading, ReadingWriter
from twin.registry import sync_from_layers

CENTRE = (489700.0, 250200.0)  # Turnu Măgurele in Stereo 70


@pytest.fixture
def small_town(pg_url: str, tmp_path: Path) -> Iterator[str]:
    """A database holding a tiny town: parcels, assets, sensors and their latest readings."""
    build_small_town(pg_url, tmp_path)
    yield pg_url


def build_small_town(pg_url: str, tmp_path: Path) -> None:
    """Import the tiny town of :func:`small_town` into the empty database ``pg_url``."""
    x0, y0 = CENTRE
    parcels = gpd.GeoDataFrame(
        {"cadastral_number": [f"3000{i}" for i in range(16)], "land_use": ["CC"] * 16},
        geometry=[
            box(x0 + 60 * i, y0 + 60 * j, x0 + 60 * i + 55, y0 + 60 * j + 55)
            for i in range(4)
            for j in range(4)
        ],
        crs="EPSG:3844",
    )
    assets = gpd.GeoDataFrame(
        {
            "asset_id": ["hospital-municipal", "gauge-tr-magurele", "lot-centru"],
            "name": ["Spitalul Municipal", "Tr. Măgurele gauge", "Parcare Centru"],
            "kind": ["hospital", "river_gauge", "parking_lot"],
            "capacity": [300, 0, 2],
        },
        geometry=[Point(x0 + 30, y0 + 30), Point(x0 + 100, y0 - 300), Point(x0 + 200, y0 + 100)],
        crs="EPSG:3844",
    )
    sensors = gpd.GeoDataFrame(
        {
            "device_id": [
                "gauge-tr-magurele",
                "lot-centru-b001",
                "lot-centru-b002",
                "lot-centru-counter",
            ],
            "kind": ["river_gauge", "parking_bay", "parking_bay", "parking_counter"],
            "asset_id": ["gauge-tr-magurele", "lot-centru", "lot-centru", "lot-centru"],
            "quantities": [
                "water_level,water_temperature",
                "occupied",
                "occupied",
                "occupied_spaces",
            ],
        },
        geometry=[
            Point(x0 + 100, y0 - 300),
            Point(x0 + 195, y0 + 100),
            Point(x0 + 205, y0 + 100),
            Point(x0 + 200, y0 + 110),
        ],
        crs="EPSG:3844",
    )
    path = tmp_path / "town.gpkg"
    for name, frame in (("parcels", parcels), ("assets", assets), ("sensors", sensors)):
        frame.to_file(path, layer=name)
    now = datetime.now(UTC)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        import_file(conn, path)
        sync_from_layers(conn)
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn,
            [
                Reading("gauge-tr-magurele", "water_level", now, 312.0),
                Reading("lot-centru-b001", "occupied", now, 1.0),
                Reading("lot-centru-b002", "occupied", now, 0.0),
                Reading("lot-centru-counter", "occupied_spaces", now, 1.0),
            ],
        )


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo town's GeoPackage, generated once per test session (smaller than the demo)."""
    from demo_town import generate

    return generate(tmp_path_factory.mktemp("town"), seed=42, n_parcels_target=1500).gpkg


@pytest.fixture
def demo_db(pg_url: str, demo_files: Path) -> str:
    """A database with the demo town imported and one simulator tick of live readings."""
    fill_demo(pg_url, demo_files)
    return pg_url


def fill_demo(pg_url: str, demo_files: Path) -> None:
    """Import the demo town of ``demo_files`` into the empty database ``pg_url``, its
    public layers published as the demo does, with one simulator tick of readings."""
    from demo_town import PUBLIC_LAYERS
    from tests.simulator_tick import write_simulator_tick

    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        import_file(conn, demo_files)
        for layer_id in PUBLIC_LAYERS:  # as the demo publishes them
            set_public(conn, layer_id, True)
        sync_from_layers(conn)
        write_simulator_tick(conn, datetime.now(UTC))


@pytest.fixture
def service(demo_db: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, dict]]]:
    """The demo town served by ``smartcity serve`` on loopback, logging each request to
    ``tmp_path / "access.log"``; yields its URL and the collections documents anyone may
    read (the public layers), by id."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from harness.live import served
    from settings import Settings

    with served(demo_db, access_log=tmp_path / "access.log") as url:
        with TestClient(create_app(Settings(), demo_db)) as local:  # anonymous, as GDAL
            ours = {c["id"]: c for c in local.get("/collections").json()["collections"]}
        yield url, ours
