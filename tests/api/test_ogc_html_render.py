"""The items page, looked at: headless Chromium, offline, signs in as a planner and opens
a collection's items as a browser does (``Accept: text/html``); the small map shows
every feature of the page over the attribute table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from api.app import create_app
from auth.principal import Role
from gis_layers.importer import import_file
from harness.credentials import account
from harness.headless_chromium import CHROMIUM, chromium
from harness.live import live_server
from settings import Settings
from storage import migrations
from tests.api.test_map_render import SCREENSHOTS, look, sign_in_at
from tests.api.test_ogc_html import ATTACK, PARCELS, plots

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test-deps.sh installs it)"
)

# the map's plot fill, rgba(26, 95, 180, 0.35), over its background #e8e4da
PLOT = np.array([160, 181, 205])


@pytest.fixture
def server(pg_url: str, tmp_path: Path) -> Iterator[str]:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        import_file(conn, plots(tmp_path))
    with live_server(create_app(Settings(), pg_url)) as url:
        yield url


def test_the_items_page_draws_its_features_on_a_map(
    server: str, pg_url: str, tmp_path: Path
) -> None:
    with chromium(tmp_path) as cdp:
        sign_in_at(cdp, server, "/collections/plots/items", account(pg_url, Role.PLANNER))
        pixels = look(cdp, SCREENSHOTS / "ogc-items.png", budget_ms=None)  # no script
        box = cdp.evaluate(
            "(() => { const r = document.getElementById('items-map').getBoundingClientRect();"
            " return [r.left, r.top, r.right, r.bottom].map(Math.round); })()"
        )
        rows = cdp.evaluate("document.querySelectorAll('#items tbody tr').length")
        owner = cdp.evaluate(
            "(() => { const names = [...document.querySelectorAll('#items th')]"
            ".map(th => th.textContent);"
            " const row = document.querySelector('#items tbody tr');"
            " return row.children[names.indexOf('owner')].textContent; })()"
        )
        scripts = cdp.evaluate("document.scripts.length")
    left, top, right, bottom = box
    assert right - left > 400 and bottom - top > 200, f"the map is {box}"
    plotted = np.all(np.abs(pixels - PLOT) <= 4, axis=-1)
    inside = plotted[top:bottom, left:right].mean()
    assert inside > 0.3, f"plots fill only {inside:.0%} of the map"
    assert plotted.sum() - plotted[top:bottom, left:right].sum() == 0, "fill outside the map"
    # twelve plots in a 4 x 3 grid: four columns of fill across the map's middle row
    middle = plotted[(top + bottom) // 2, left:right].astype(int)
    assert np.count_nonzero(np.diff(middle) == 1) == 4
    assert rows == PARCELS and owner == ATTACK and scripts == 0
