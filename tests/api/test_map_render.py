"""The map, looked at: headless Chromium signs in on the hub's login page as a user does
and renders /map from a live server, offline (driven over the DevTools Protocol)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import numpy as np
import psycopg
import pytest
import rasterio
from pyproj import Transformer

from api.app import create_app
from auth.principal import Role
from demo_town.river import DEMO
from gis_layers.rasters import register
from harness.credentials import account, key_headers
from harness.headless_chromium import CDP, CHROMIUM, WINDOW, chromium, sign_in
from harness.live import live_server
from river_monitor.town_flood import TownFlood, refresh_extents
from settings import Settings

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed (scripts/test-deps.sh installs it)",
    ),
    # What the browser draws does not depend on the database server (every API route the
    # page reads is tested on both): once, on the system server, as tests/api/test_maps_render.py.
    pytest.mark.parametrize("pg_server", ["system"], indirect=True),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MERCATOR = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)
# virtual milliseconds a page gets before it is looked at, as --virtual-time-budget gave it;
# SwiftShader on a loaded 2-core machine: 40 s of real time is usual, 120 s was seen
BUDGET_MS = 15_000


@pytest.fixture
def server(demo_db: str, demo_files: Path) -> Iterator[str]:
    with psycopg.connect(demo_db, autocommit=True) as conn:  # the flood extents layer too
        register(conn, demo_files.with_name("dem.tif"), name="terrain")
        refresh_extents(conn, TownFlood(DEMO), DEMO)
    with live_server(create_app(Settings(), demo_db)) as url:
        yield url


@pytest.fixture
def planner(demo_db: str) -> tuple[str, str]:
    """A planner's local account: name and password."""
    return account(demo_db, Role.PLANNER)


def sign_in_at(cdp: CDP, server: str, path: str, planner: tuple[str, str]) -> None:
    """Open ``path`` as someone not signed in yet: the login page, the account's name and
    password typed in, and back at ``path`` (its ``#map=`` view too)."""
    login = f"{server}/auth/login?{urlencode({'next': urlsplit(path).path})}"
    view = urlsplit(path).fragment
    assert cdp.navigate(f"{server}{path}") == login + (f"#{view}" if view else "")
    assert sign_in(cdp, *planner) == f"{server}{path}"


def look(cdp: CDP, out: Path, budget_ms: int | None = BUDGET_MS) -> np.ndarray:
    """The page's pixels (rows, columns, RGB) after ``budget_ms`` of its time (then its
    time stands still), saved to ``out`` to be looked at."""
    if budget_ms:
        cdp.settle(budget_ms)
    # a layer deck.gl cannot build is only a console error: the rest of the map draws
    errors = [m for m in cdp.messages() if "rror" in m]
    assert errors == [], errors
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(cdp.screenshot())
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


def test_map_renders_the_town_with_live_sensors(
    server: str, planner: tuple[str, str], demo_db: str, tmp_path: Path
) -> None:
    with chromium(tmp_path) as cdp:
        sign_in_at(cdp, server, "/map", planner)
        pixels = look(cdp, SCREENSHOTS / "map.png")
        status = cdp.evaluate("document.getElementById('status').textContent")
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
    assert re.match(r"Live sensors: \d{3,} ", status), status

    # a view in the address (#map=zoom/lat/lon), close enough for parcel outlines: the
    # middle of those fields at zoom 14.5 (2.4 m a pixel), opened from a shared link by
    # someone not signed in yet (the view outlives the way through the login page)
    deck = httpx.get(f"{server}/map/deck.json", headers=key_headers(demo_db, Role.VIEWER))
    lon, lat = pixel_to_lonlat(deck.json()["initialViewState"], (950, 550))
    with chromium(tmp_path) as cdp:
        sign_in_at(cdp, server, f"/map#map=14.5/{lat:.5f}/{lon:.5f}", planner)
        close = look(cdp, SCREENSHOTS / "map-zoom-14.5.png")
    # the middle 600 x 400 pixels: 1.5 x 1 km of fields, 180 x 120 pixels of those above
    outlines = thin_dark_lines(close[200:600, 300:900]).mean()
    assert outlines > 0.002, f"parcel outlines missing at zoom 14.5 ({outlines:.2%})"


def test_the_login_page_renders_and_signs_in_to_the_map(
    server: str, planner: tuple[str, str], tmp_path: Path
) -> None:
    name, password = planner
    with chromium(tmp_path) as cdp:
        assert cdp.navigate(f"{server}/map") == f"{server}/auth/login?next=%2Fmap"
        page = look(cdp, SCREENSHOTS / "login.png", budget_ms=None)  # a still page
        # the form: a white card on the page's grey, with the heading and labels drawn
        grey = np.all(page == [0xF3, 0xF5, 0xF7], axis=-1).mean()
        card = np.all(page[:, WINDOW[0] // 2] == 255, axis=-1).mean()
        assert grey > 0.5 and card > 0.2, f"no login card ({grey:.0%} page, {card:.0%} card)"
        ink = page[: WINDOW[1] // 2].mean(axis=-1) < 100
        assert ink.sum() > 500, "the heading and labels are not drawn"
        heading = cdp.evaluate("document.querySelector('h1').textContent")
        assert heading == "Sign in to the smart-city hub"

        # a wrong password: the login page again, saying so, and no session
        assert sign_in(cdp, name, "not the password") == f"{server}/auth/login"
        notice = cdp.evaluate("document.querySelector('.error').textContent")
        assert notice == "Unknown account or wrong password."
        refusal = (
            "log.error: Failed to load resource: the server responded with a status of 401"
            f" (Unauthorized) {server}/auth/login"
        )
        assert cdp.messages() == [refusal]  # the page came with 401
        assert cdp.navigate(f"{server}/map") == f"{server}/auth/login?next=%2Fmap"

        assert sign_in(cdp, name, password) == f"{server}/map"
        assert "smartcity_session" not in cdp.evaluate("document.cookie")  # HttpOnly
        who = cdp.evaluate("fetch('/auth/me').then(r => r.json())")  # the page's session
        assert who["subject"] == name and who["method"] == "session"
        pixels = look(cdp, SCREENSHOTS / "map-after-sign-in.png")
    drawn = np.any(np.abs(pixels - np.array([0xE8, 0xE4, 0xDA])) > 6, axis=-1).mean()
    assert drawn > 0.15, f"only {drawn:.0%} of the map is drawn after signing in"
