"""QGIS itself, as planners use it, opening the demo town from a live server.

QGIS's own OGC API - Features provider (not GDAL's driver, tested beside it) and its
vector tile layer, run by Debian's PyQGIS in its own Python (harness/qgis_reader.py).
What QGIS reports is compared with the demo town's GeoPackage read here by geopandas.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

QGIS_PYTHON = "/usr/bin/python3"  # Debian's, where python3-qgis installs PyQGIS
READER = Path(__file__).resolve().parents[2] / "harness" / "qgis_reader.py"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SUBSET = "land_use = 'CC' AND area_m2 > 500"


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


def test_qgis_opens_reads_filters_and_draws_the_town(
    service: tuple[str, dict[str, dict]], demo_files: Path
) -> None:
    python = _qgis_python()
    url, ours = service
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [python, str(READER), url, str(SCREENSHOTS), SUBSET, *sorted(ours)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "XDG_RUNTIME_DIR": "/tmp"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])

    # every collection opens, with the count, CRS and attributes of its source layer
    for collection, document in ours.items():
        layer = seen["collections"][collection]
        assert layer["valid"], collection
        assert layer["count"] == document["numberOfFeatures"], collection
        assert layer["crs"] == "EPSG:4326", collection  # QGIS's name for CRS84 axes, lon/lat
        source = [str(f) for f in pyogrio.read_info(demo_files, layer=collection)["fields"]]
        assert set(layer["fields"]) == set(source), collection

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
