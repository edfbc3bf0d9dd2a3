"""QGIS itself, as planners use it, opening the demo town from a live server.

QGIS's own OGC API - Features provider (not GDAL's driver, tested beside it) and its
vector tile layer, run by Debian's PyQGIS in its own Python (harness/qgis_reader.py).
What QGIS reports is compared with the demo town's GeoPackage read here by geopandas.
The layers a municipality publishes as open data are read without credentials; the
internal ones with an API key, configured in QGIS as docs/qgis.md tells planners to.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import geopandas as gpd
import httpx
import psycopg
import pyogrio
import pytest
import shapely

from air import layers as air_layers
from auth.principal import Role
from demo_town import PUBLIC_LAYERS
from gis_layers.catalogue import set_public
from harness.credentials import api_key, key_headers
from parking import layers as parking_layers

QGIS_PYTHON = "/usr/bin/python3"  # Debian's, where python3-qgis installs PyQGIS
READER = Path(__file__).resolve().parents[2] / "harness" / "qgis_reader.py"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SUBSET = "land_use = 'CC' AND area_m2 > 500"
# What the municipality publishes (the demo's choice, demo_town.PUBLIC_LAYERS): its
# cadastre, the urbanism plan's zones (public by law), buildings, streets, waters and
# parking bays. Assets and sensors (where each device is) stay internal.


def _qgis_python() -> str:
    probe = subprocess.run(
        [QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        reason = "PyQGIS (Debian python3-qgis) is not installed; scripts/test-deps.sh installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return QGIS_PYTHON


def _read(
    url: str, collections: list[str], *options: str, env: dict[str, str] | None = None
) -> dict:
    """What harness/qgis_reader.py reports of ``collections`` on the hub at ``url``."""
    python = _qgis_python()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [python, str(READER), url, str(SCREENSHOTS), *collections, *options],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "XDG_RUNTIME_DIR": "/tmp", **(env or {})},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def _same_as_the_source(seen: dict, ours: dict[str, dict], demo_files: Path) -> None:
    """Every collection QGIS opened has the count, CRS and attributes of its source layer."""
    for collection, layer in seen["collections"].items():
        assert layer["valid"], collection
        assert layer["count"] == ours[collection]["numberOfFeatures"], collection
        assert layer["crs"] == "EPSG:4326", collection  # QGIS's name for CRS84 axes, lon/lat
        source = {str(f) for f in pyogrio.read_info(demo_files, layer=collection)["fields"]}
        if collection == parking_layers.BAYS_LAYER:  # the live state merged in
            source |= set(parking_layers.BAY_ATTRIBUTES)
        assert set(layer["fields"]) == source, collection


@pytest.fixture
def town(service: tuple[str, dict[str, dict]], demo_db: str) -> tuple[str, dict[str, dict]]:
    """The served demo town with its open-data layers published; its URL and every
    collection's document as a signed-in planner gets it."""
    url = service[0]
    with psycopg.connect(demo_db) as conn:
        for layer in PUBLIC_LAYERS:
            set_public(conn, layer, True)
    listed = httpx.get(f"{url}/collections", headers=key_headers(demo_db, Role.PLANNER))
    return url, {c["id"]: c for c in listed.json()["collections"]}


def test_qgis_opens_reads_filters_and_draws_the_town(
    town: tuple[str, dict[str, dict]], demo_files: Path
) -> None:
    url, ours = town
    seen = _read(url, list(PUBLIC_LAYERS), "--draw", "parcels", "--subset", SUBSET)
    # every public collection opens without credentials, as its source layer
    assert sorted(seen["collections"]) == sorted(PUBLIC_LAYERS)
    _same_as_the_source(seen, ours, demo_files)

    parcels = gpd.read_file(demo_files, layer="parcels")
    assert parcels.crs.to_epsg() == 3844
    # QGIS measures the served parcels in Stereo 70 as the source draws them
    areas = seen["areas_m2"]
    assert sorted(areas) == sorted(parcels["cadastral_number"])
    expected = dict(zip(parcels["cadastral_number"], parcels.area, strict=True))
    worst = max(abs(areas[k] - a) / a for k, a in expected.items())
    assert worst < 1e-6, f"an area differs by {worst:.2e} of itself"
    # an exact rectangle (a quarter of the extent, in CRS84) and a subset string
    crs84 = parcels.to_crs("OGC:CRS84")
    quarter = shapely.box(*seen["quarter"])
    assert seen["in_quarter"] == sorted(crs84[crs84.intersects(quarter)]["cadastral_number"])
    wanted = parcels[(parcels["land_use"] == "CC") & (parcels["area_m2"] > 500)]
    assert 0 < len(seen["subset"]) < len(parcels)
    assert seen["subset"] == sorted(wanted["cadastral_number"])

    # drawn from features and from vector tiles: the same town (screenshots kept)
    assert seen["tiles_valid"]
    assert seen["drawn_fraction"]["features"] > 0.3
    assert seen["drawn_fraction"]["tiles"] > 0.3
    assert seen["drawn_agreement"] > 0.99


def test_qgis_reads_internal_layers_with_an_api_key(
    town: tuple[str, dict[str, dict]], demo_db: str, demo_files: Path, tmp_path: Path
) -> None:
    url, ours = town
    # parking_lots and air_quality_stations are made by the hub, public, from the live
    # state (no source file)
    live = {parking_layers.LOTS_LAYER, air_layers.LAYER}
    internal = sorted(set(ours) - set(PUBLIC_LAYERS) - live)
    assert internal == ["assets", "sensors"]
    key = api_key(demo_db, Role.PLANNER, name="qgis")
    # a fresh QGIS authentication database, where the key is kept (QGIS >= 3.26)
    env = {"HUB_API_KEY": key, "QGIS_AUTH_DB_DIR_PATH": str(tmp_path)}
    seen = _read(url, internal, "--draw", "sensors", env=env)
    assert seen["anonymous_valid"] == {c: False for c in internal}  # refused without it
    assert "APIHeader" in seen["sends_key_by"] or seen["qgis_version"] < 32600, seen
    assert sorted(seen["collections"]) == internal
    _same_as_the_source(seen, ours, demo_files)
    # the sensors drawn from their features; their vector tiles sent to QGIS too (with
    # the key: no tile refused; the service fixture logs every request to access.log)
    assert seen["drawn_fraction"]["features"] > 0.001
    assert seen["tiles_valid"]
    log = (tmp_path / "access.log").read_text()
    tiles = re.findall(r'"GET /collections/sensors/tiles/\S+ HTTP/1.1" (\d+)', log)
    assert tiles and set(tiles) == {"200"}, tiles
