"""The map, looked at: headless Chromium renders /map from a live server, offline."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest
import rasterio
from pyproj import Transformer

from api.app import create_app
from demo_town.river import DEMO
from gis_layers.rasters import register
from harness.headless_chromium import CHROMIUM, command
from harness.live import live_server
from river_monitor.town_flood import TownFlood, refresh_extents
from settings import Settings

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test-deps.sh installs it)"
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WINDOW = (1200, 800)  # headless_chromium.command's default window
MERCATOR = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)


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


def screenshot(url: str, out: Path, tmp_path: Path) -> np.ndarray:
    """The page's pixels (rows, columns, RGB), saved to ``out`` to be looked at."""
    out.parent.mkdir(parents=True, exist_ok=True)
    run = chromium(url, tmp_path, f"--screenshot={out}")
    # a layer deck.gl cannot build is only a console error: the rest of the map draws
    errors = [line for line in run.stderr.splitlines() if ":CONSOLE" in line and "rror" in line]
    assert errors == [], errors
    with rasterio.open(out) as png:
        return np.moveaxis(png.read()[:3], 0, -1).astype(int)


def thin_dark_lines(pixels: np.ndarray, reach: int = 2, contrast: float = 20) -> np.ndarray:
    """Pixels darker than both neighbours ``reach`` pixels away, across or down: lines a
    few pixels wide such as parcel outlines (not fills, nor their edges, nor streets,
    which are light)."""
    lum = pixels.mean(axis=-1)
    centre = lum[reach:-reach, reach:-reach]
    across = (lum[reach:-reach, : -2 * reach] - centre > contrast) & (
        lum[reach:-reach, 2 * reach :] - centre > contrast
    )
    down = (lum[: -2 * reach, reach:-reach] - centre > contrast) & (
        lum[2 * reach :, reach:-reach] - centre > contrast
    )
    return across | down


def pixel_to_lonlat(view: dict[str, float], pixel: tuple[int, int]) -> tuple[float, float]:
    """Where a pixel of the screenshot lies, as deck.gl's Web Mercator view puts it (a
    zoom counts 512-pixel worlds)."""
    x, y = MERCATOR.transform(view["longitude"], view["latitude"])
    metres = 2 * np.pi * 6378137 / (512 * 2 ** view["zoom"])
    column, row = pixel
    return MERCATOR.transform(
        x + (column - WINDOW[0] / 2) * metres,
        y - (row - WINDOW[1] / 2) * metres,
        direction="INVERSE",
    )


def test_map_renders_the_town_with_live_sensors(server: str, tmp_path: Path) -> None:
    pixels = screenshot(f"{server}/map", SCREENSHOTS / "map.png", tmp_path)
    background = np.array([0xE8, 0xE4, 0xDA])
    drawn = np.any(np.abs(pixels - background) > 6, axis=-1).mean()
    assert drawn > 0.15, f"only {drawn:.0%} of the map is drawn"
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
    assert red.sum() > 10, "hospital and occupied-bay markers are missing"
    blue = (pixels[..., 2] > 170) & (pixels[..., 2] - pixels[..., 0] > 50)
    assert blue.mean() > 0.01, "the Danube is not drawn"
    # the fields south-east of the town hold nothing but parcels, drawn from tiles and
    # filled by land use (outlines only from zoom 14)
    fields = np.any(np.abs(pixels[450:650, 800:1100] - background) > 6, axis=-1).mean()
    assert fields > 0.5, f"parcels missing in the fields ({fields:.1%} drawn)"
    assert thin_dark_lines(pixels[450:650, 800:1100]).mean() < 0.002, "outlines at town zoom"

    # a view in the address (#map=zoom/lat/lon), close enough for parcel outlines: the
    # middle of those fields at zoom 14.5 (2.4 m a pixel)
    initial = httpx.get(f"{server}/map/deck.json").json()["initialViewState"]
    lon, lat = pixel_to_lonlat(initial, (950, 550))
    view = f"#map=14.5/{lat:.5f}/{lon:.5f}"
    close = screenshot(f"{server}/map{view}", SCREENSHOTS / "map-zoom-14.5.png", tmp_path)
    # the middle 600 x 400 pixels: 1.5 x 1 km of fields, 180 x 120 pixels of those above
    outlines = thin_dark_lines(close[200:600, 300:900]).mean()
    assert outlines > 0.002, f"parcel outlines missing at zoom 14.5 ({outlines:.2%})"

    dom = chromium(f"{server}/map", tmp_path, "--dump-dom").stdout
    status = re.search(r'<div id="status">([^<]*)</div>', dom)
    assert status and re.match(r"Live sensors: \d{3,} ", status.group(1)), status
