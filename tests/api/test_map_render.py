"""The map, looked at: headless Chromium renders /map from a live server, offline."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
import rasterio

from api.app import create_app
from gis_layers.rasters import register
from hub.settings import Settings
from river_monitor.config import DEMO
from river_monitor.town_flood import TownFlood, refresh_extents
from tests.api.live import live_server
from tests.headless_chromium import CHROMIUM, command

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test-deps.sh installs it)"
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def server(demo_db: str, demo_files: Path) -> Iterator[str]:
    with psycopg.connect(demo_db, autocommit=True) as conn:  # the flood extents layer too
        register(conn, demo_files.with_name("dem.tif"), name="terrain")
        refresh_extents(conn, TownFlood(DEMO), DEMO)
    with live_server(create_app(Settings(), demo_db)) as url:
        yield url


def chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on ``url`` with no network but loopback (the page's console
    goes to stderr)."""
    return subprocess.run(
        [
            *command(tmp_path / "chromium"),
            "--virtual-time-budget=15000",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,  # SwiftShader on a loaded 2-core machine: 40 s is usual, 120 s was seen
    )


def test_map_renders_the_town_with_live_sensors(server: str, tmp_path: Path) -> None:
    out = SCREENSHOTS / "map.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    chromium(f"{server}/map", tmp_path, f"--screenshot={out}")
    with rasterio.open(out) as png:
        pixels = np.moveaxis(png.read()[:3], 0, -1).astype(int)
    background = np.array([0xE8, 0xE4, 0xDA])
    drawn = np.any(np.abs(pixels - background) > 6, axis=-1).mean()
    assert drawn > 0.15, f"only {drawn:.0%} of the map is drawn"
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
    assert red.sum() > 10, "hospital and occupied-bay markers are missing"
    blue = (pixels[..., 2] > 170) & (pixels[..., 2] - pixels[..., 0] > 50)
    assert blue.mean() > 0.01, "the Danube is not drawn"
    # the fields south-east of the town hold nothing but parcels, drawn from tiles
    fields = np.any(np.abs(pixels[450:650, 800:1100] - background) > 6, axis=-1).mean()
    assert fields > 0.01, f"parcel outlines missing in the fields ({fields:.1%} drawn)"
    run = chromium(f"{server}/map", tmp_path, "--dump-dom")
    dom = run.stdout
    # a layer deck.gl cannot build is only a console error: the rest of the map draws
    errors = [line for line in run.stderr.splitlines() if ":CONSOLE" in line and "rror" in line]
    assert errors == [], errors
    status = re.search(r'<div id="status">([^<]*)</div>', dom)
    assert status and re.match(r"Live sensors: \d{3,} ", status.group(1)), status
