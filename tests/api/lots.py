"""A generated layer of 240 lots with attributes of every type, and an API serving it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from gis_layers.importer import import_file
from harness.credentials import signed_in
from settings import Settings
from storage import migrations
from tests import backends

N = 240


def _layer() -> gpd.GeoDataFrame:
    """Lots of 40 m x 30 m in Stereo 70 (some rotated), attributes of every type."""
    rng = np.random.default_rng(7)
    cells = []
    for k in range(N):
        x, y = 489000 + 50 * (k % 20), 250000 + 40 * (k // 20)
        cell = shapely.box(x, y, x + 40, y + 30)
        cells.append(shapely.affinity.rotate(cell, 30) if k % 7 == 0 else cell)
    owners = rng.choice(["city", "state", "private", None], N)
    return gpd.GeoDataFrame(
        {
            "land_use": rng.choice(["CC", "IS", "L", "CC-ext"], N),
            "levels": rng.integers(0, 10, N),
            "area_m2": rng.uniform(100, 5000, N).round(2),
            "public": rng.random(N) < 0.3,
            "owner": pd.array(owners, dtype=object),
            "surveyed": pd.to_datetime("2020-01-01", utc=True)
            + pd.to_timedelta(rng.integers(0, 366, N), unit="D"),
        },
        geometry=cells,
        crs="EPSG:3844",
    )


LAYER = _layer()
WGS = LAYER.to_crs("OGC:CRS84")


@contextlib.contextmanager
def lots_database(pg_server: str, folder: Path) -> Iterator[str]:
    """A fresh database holding the layer as collection ``lots`` (its file in ``folder``)."""
    path = folder / "lots.gpkg"
    LAYER.to_file(path, layer="lots")
    with backends.fresh_database(pg_server) as url:
        with psycopg.connect(url) as conn:
            migrations.upgrade(conn)
            import_file(conn, path)
        yield url


@pytest.fixture(scope="module")
def lots_client(tmp_path_factory: pytest.TempPathFactory, pg_server: str) -> Iterator[TestClient]:
    """The API over a fresh database holding the layer as collection ``lots``."""
    with lots_database(pg_server, Path(tmp_path_factory.mktemp("lots"))) as url:
        # a budget no test reaches: these tests send many filters (heavy requests) as one user
        unlimited = Settings(rate_limit_heavy="1000000/minute")
        with signed_in(create_app(unlimited, url), url) as test_client:
            yield test_client
