"""The maps of /maps/, looked at: one live hub for the module (the demo town in real
PostgreSQL, an ingestion worker on real Mosquitto, the river monitor, the API on
loopback); headless Chromium signs in as each user group does and renders the maps,
offline. Readings published over MQTT change the open pages without a reload.

Screenshots go to ``var/screenshots/`` (not tracked); the user guides' images in
``docs/img/`` are copies of ``map-planners.png``, ``map-parking.png``,
``map-parking-phone.png`` and ``map-emergency.png`` from a passing run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest
from psycopg.types.json import Jsonb

from api.app import create_app
from auth.principal import Role
from demo_town.river import DEMO
from gis_layers.rasters import register
from harness.credentials import account, key_headers
from harness.headless_chromium import CDP, CHROMIUM, chromium, sign_in
from harness.live import live_server
from hub.demo_history import fill_meter_history
from ingest_mqtt.worker import IngestWorker
from river_monitor.monitor import Monitor
from river_monitor.town_flood import TownFlood, refresh_extents
from settings import Settings
from tests import backends
from tests.api.conftest import fill_demo
from tests.api.test_map_render import look
from tests.live_ingest import publish, wait_for

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test-deps.sh installs it)"
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
LAPTOP = (1366, 768)
PHONE = (390, 844)
MAP_RIGHT = LAPTOP[0] - 340  # the side panel's left edge
MAP_TOP = 44  # the bar's bottom
DRAWN_S = 180.0  # SwiftShader on a loaded 2-core machine
LIVE_S = 60.0


@dataclass(frozen=True)
class Hub:
    """The live hub the module's tests share."""

    url: str
    database: str
    broker: str
    topic_prefix: str
    accounts: dict[Role, tuple[str, str]]


@pytest.fixture(scope="module")
def hub(
    demo_files: Path, mosquitto_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    with contextlib.ExitStack() as stack:
        try:
            admin = stack.enter_context(backends.system_postgres())
        except backends.BackendMissing as exc:
            pytest.skip(str(exc))
        url = stack.enter_context(backends.fresh_database(admin))
        fill_demo(url, demo_files)
        with psycopg.connect(url, autocommit=True) as conn:
            register(conn, demo_files.with_name("dem.tif"), name="terrain")
            refresh_extents(conn, TownFlood(DEMO), DEMO)
            fill_meter_history(conn, 42, datetime.now(UTC), days=40)  # carbon by asset
        run = uuid.uuid4().hex[:8]
        settings = Settings(
            topic_prefix=f"test{run}",
            ingest_client_id=f"ingest-{run}",
            ingest_batch_interval_ms=50,
            mqtt_protocol="5",
            data_dir=tmp_path_factory.mktemp("maps-hub"),
        )
        stop = threading.Event()
        worker = IngestWorker(settings, url, mosquitto_url)
        threading.Thread(target=worker.run, args=(stop,), daemon=True).start()
        stack.callback(stop.set)
        assert worker.subscribed.wait(20), "the ingestion worker did not subscribe"
        monitor_stop = asyncio.Event()
        loop = asyncio.new_event_loop()
        monitor = threading.Thread(
            target=loop.run_until_complete,
            args=(Monitor(url, DEMO, tick_s=0.2).run(monitor_stop),),
            daemon=True,
        )
        monitor.start()
        stack.callback(lambda: loop.call_soon_threadsafe(monitor_stop.set))
        server = stack.enter_context(live_server(create_app(settings, url)))
        roles = (Role.PLANNER, Role.PARKING_OPERATOR, Role.EMERGENCY)
        yield Hub(
            server, url, mosquitto_url, settings.topic_prefix, {r: account(url, r) for r in roles}
        )


def open_map(cdp: CDP, hub: Hub, name: str, role: Role) -> None:
    """Sign in on the login page as ``role`` and wait until ``/maps/{name}`` is drawn."""
    path = f"/maps/{name}"
    assert cdp.navigate(f"{hub.url}{path}") == f"{hub.url}/auth/login?next=%2Fmaps%2F{name}"
    assert sign_in(cdp, *hub.accounts[role]) == f"{hub.url}{path}"
    wait_page(cdp, "HubMap.drawn()", DRAWN_S)


def wait_page(cdp: CDP, expression: str, timeout: float) -> None:
    """Wait until ``expression`` is true in the page."""
    deadline = time.monotonic() + timeout
    while not cdp.evaluate(expression):
        if time.monotonic() > deadline:
            state = cdp.evaluate(
                "JSON.stringify({loads: HubMap.ctx.loads, error: HubMap.ctx.error,"
                " loading: !!HubMap.ctx.loading, live: document.getElementById('live').textContent,"
                " streams: Object.values(HubMap.ctx.streams).map(s => s.readyState)})"
            )
            raise AssertionError(f"timed out waiting for {expression}; the page: {state}")
        time.sleep(0.25)


def settled(cdp: CDP, out: Path) -> np.ndarray:
    """The page once drawn (and its labels thinned), saved to ``out``."""
    wait_page(cdp, "HubMap.drawn()", DRAWN_S)
    time.sleep(1.5)  # a frame after the last data arrived
    return look(cdp, out, budget_ms=None)


def near(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 12) -> np.ndarray:
    """Pixels within ``tolerance`` of ``colour`` on every channel."""
    return np.all(np.abs(pixels - np.array(colour)) <= tolerance, axis=-1)


def map_area(pixels: np.ndarray) -> np.ndarray:
    return pixels[MAP_TOP:, :MAP_RIGHT]


def layer_data(cdp: CDP, layer_id: str) -> list:
    """The data a layer of the map's deck is drawn from now."""
    return list(
        cdp.evaluate(
            "(() => { const l = HubMap.ctx.deck.layerManager.getLayers()"
            f".find(x => x.id === {json.dumps(layer_id)}); const d = l.props.data;"
            " return Array.isArray(d) ? d : d.features; })()"
        )
    )


def test_the_town_map_draws_the_flood_now_and_not_the_threshold_extents(
    hub: Hub, tmp_path: Path
) -> None:
    """/map drew the three threshold extents at every level (at 78 cm the south looked
    flooded): the town map drawn without them must look the same as with them. First in
    the module, on the hub as it starts (virtual time, which this page is rendered in,
    stands still while any request is pending)."""

    def town_map(out: Path) -> np.ndarray:
        with chromium(tmp_path, LAPTOP) as cdp:
            assert cdp.navigate(f"{hub.url}/map").startswith(f"{hub.url}/auth/login")
            assert sign_in(cdp, *hub.accounts[Role.PLANNER]) == f"{hub.url}/map"
            return look(cdp, out)

    with psycopg.connect(hub.database) as conn:
        bands = conn.execute(
            "SELECT count(*) FROM features WHERE layer_id = 'flood_extents'"
            " AND properties->>'level' <> 'current'"
        ).fetchone()
    assert bands is not None and bands[0] == 3  # attention, flood, danger
    with_bands = town_map(SCREENSHOTS / "maps-town-with-bands.png")
    with psycopg.connect(hub.database) as conn:
        kept = conn.execute(
            "DELETE FROM features WHERE layer_id = 'flood_extents'"
            " AND properties->>'level' <> 'current'"
            " RETURNING layer_id, feature_id, properties, geometry, geom_native, bbox"
        ).fetchall()
    try:
        without = town_map(SCREENSHOTS / "maps-town-without-bands.png")
    finally:  # back, for the emergency map's toggle
        with psycopg.connect(hub.database) as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO features (layer_id, feature_id, properties, geometry,"
                " geom_native, bbox) VALUES (%s, %s, %s, %s, %s, %s)",
                [(r[0], r[1], Jsonb(r[2]), Jsonb(r[3]), r[4], r[5]) for r in kept],
            )
    differing = np.any(np.abs(with_bands - without) > 10, axis=-1).mean()
    assert differing < 0.005, f"the threshold extents change {differing:.1%} of /map"


def test_the_planners_map_draws_every_layer_and_replays_the_past(hub: Hub, tmp_path: Path) -> None:
    with chromium(tmp_path, LAPTOP) as cdp:
        open_map(cdp, hub, "planners", Role.PLANNER)
        pixels = settled(cdp, SCREENSHOTS / "map-planners.png")
        as_of = cdp.evaluate("document.getElementById('as-of').textContent")
        assert as_of.startswith("Data of ") and as_of.endswith("(Europe/Bucharest)"), as_of
        assert "EET" in as_of or "GMT+2" in as_of, as_of  # December: winter time
        background = np.array([0xE8, 0xE4, 0xDA])
        drawn = np.any(np.abs(map_area(pixels) - background) > 6, axis=-1).mean()
        assert drawn > 0.6, f"only {drawn:.0%} of the map is drawn"
        assert near(map_area(pixels), (220, 30, 30)).sum() > 20, "the hospital is not drawn"
        area = map_area(pixels)
        blue = (area[..., 2] > 170) & (area[..., 2] - area[..., 0] > 50)
        assert blue.mean() > 0.005, "the rivers are not drawn"
        # carbon by asset: the demo's buildings' meters give them tonnes this year
        carbon = layer_data(cdp, "carbon")
        assert len(carbon) >= 3 and all(row["radius"] > 0 for row in carbon)
        legend = cdp.evaluate(
            "[...document.querySelectorAll('#legend .group > label')]"
            ".map(l => l.textContent.trim())"
        )
        for group in ("Parcels by land use", "Urbanism zones (PUG)", "Carbon by asset (this year)"):
            assert group in legend
        # the parcels' toggle hides them: the fields south of the town turn background
        cdp.evaluate("document.querySelector('input[data-group=\"Parcels by land use\"]').click()")
        hidden = settled(cdp, SCREENSHOTS / "maps-planners-no-parcels.png")
        still = np.any(np.abs(map_area(hidden) - background) > 6, axis=-1).mean()
        assert still < drawn - 0.1, f"parcels toggled off, yet {still:.0%} drawn (was {drawn:.0%})"
        # the air-quality index by zone, off when the page opens, on
        assert not cdp.evaluate(
            "document.querySelector('input[data-group^=\"Air-quality\"]').checked"
        )
        cdp.evaluate("document.querySelector('input[data-group^=\"Air-quality\"]').click()")
        air = settled(cdp, SCREENSHOTS / "maps-planners-air.png")
        moderate = near(map_area(air), (240, 230, 65), 40).sum()
        assert moderate > near(map_area(hidden), (240, 230, 65), 40).sum() + 500

        # the time control: a day back, without a page reload
        cdp.evaluate("window.sameDocument = true")
        loads = cdp.evaluate("HubMap.ctx.loads")
        cdp.evaluate(
            "(() => { const s = document.getElementById('replay');"
            " s.value = String(Number(s.max) - 96); s.dispatchEvent(new Event('input')); })()"
        )
        wait_page(cdp, f"HubMap.ctx.loads > {loads} && !HubMap.ctx.loading", LIVE_S)
        settled(cdp, SCREENSHOTS / "maps-planners-replay.png")
        replay = cdp.evaluate("HubMap.ctx.view.panel.replay")
        shown_at = datetime.fromisoformat(cdp.evaluate("HubMap.ctx.view.as_of"))
        assert replay["at"] is not None
        assert abs(datetime.now(UTC) - timedelta(days=1) - shown_at) < timedelta(minutes=20)
        assert cdp.evaluate("document.getElementById('live').textContent") == "not live"
        assert cdp.evaluate("window.sameDocument") is True


def test_the_parking_map_follows_the_bays_live_and_draws_the_way_to_a_lot(
    hub: Hub, tmp_path: Path
) -> None:
    anyone = httpx.get(f"{hub.url}/parking/lots").json()["lots"]
    with chromium(tmp_path, LAPTOP) as cdp:
        open_map(cdp, hub, "parking", Role.PARKING_OPERATOR)
        pixels = settled(cdp, SCREENSHOTS / "maps-parking-first.png")
        shown = dict(
            cdp.evaluate(
                "[...document.querySelectorAll('tr[id^=lot-]')]"
                ".map(r => [r.id.slice(4), r.dataset.free])"
            )
        )
        assert shown == {lot["lot_id"]: str(lot["free"]) for lot in anyone}
        green = near(map_area(pixels), (40, 170, 60)).sum()
        assert green > 100, f"open lots' dots missing ({green} px)"
        labels = layer_data(cdp, "lot-labels")
        assert labels and all(row["text"].endswith(" free") for row in labels)
        wait_page(cdp, "document.getElementById('live').textContent === 'live'", LIVE_S)

        # five free bays of the central lot taken, over MQTT: the page follows
        lot = httpx.get(
            f"{hub.url}/parking/lots/lot-centru", headers=key_headers(hub.database, Role.VIEWER)
        ).json()
        free_bays = [b for b in lot["bays"] if b["status"] == "free"][:5]
        assert len(free_bays) == 5
        cdp.evaluate("window.sameDocument = true")
        now = datetime.now(UTC).isoformat()
        publish(
            hub.broker,
            [
                (
                    f"{hub.topic_prefix}/devices/{bay['device_id']}/json",
                    json.dumps({"time": now, "values": {"occupied": 1}}).encode(),
                )
                for bay in free_bays
            ],
        )
        expected = lot["free"] - 5

        def centre_free() -> int:
            lots = httpx.get(f"{hub.url}/parking/lots").json()["lots"]
            return int(next(x["free"] for x in lots if x["lot_id"] == "lot-centru"))

        wait_for(lambda: centre_free() == expected, LIVE_S)
        wait_page(
            cdp,
            f"document.getElementById('lot-lot-centru').dataset.free === '{expected}'",
            LIVE_S,
        )
        assert cdp.evaluate("window.sameDocument") is True
        answer = {
            x["lot_id"]: x["free"] for x in httpx.get(f"{hub.url}/parking/lots").json()["lots"]
        }
        assert answer["lot-centru"] == expected
        wait_page(cdp, "HubMap.drawn()", DRAWN_S)
        texts = [row["text"] for row in layer_data(cdp, "lot-labels")]
        assert any(t.endswith(f" · {expected} free") for t in texts), texts

        # the way from a click in the map to the nearest lot with free places
        for kind in ("mousePressed", "mouseReleased"):
            cdp.call(
                "Input.dispatchMouseEvent", type=kind, x=300, y=600, button="left", clickCount=1
            )
        wait_page(cdp, "(HubMap.ctx.extra['nearest-route'] || []).length === 1", LIVE_S)
        route = settled(cdp, SCREENSHOTS / "map-parking.png")
        blue = near(map_area(route), (0, 110, 255), 20).sum()
        assert blue > 150, f"the way to the nearest lot is not drawn ({blue} px)"
        nearest = cdp.evaluate("document.getElementById('nearest').textContent")
        assert " m along the streets, " in nearest, nearest


def test_the_parking_map_reads_on_a_phone(hub: Hub, tmp_path: Path) -> None:
    with chromium(tmp_path, PHONE) as cdp:
        open_map(cdp, hub, "parking", Role.PARKING_OPERATOR)
        pixels = settled(cdp, SCREENSHOTS / "map-parking-phone.png")
        assert cdp.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
        assert cdp.evaluate("getComputedStyle(document.getElementById('panel')).display") == "none"
        assert near(pixels, (40, 170, 60)).sum() > 50, "no lot drawn at a phone width"
        cdp.click("#panel-toggle")  # the legend and the lots, on demand
        assert cdp.evaluate("document.getElementById('panel').getBoundingClientRect().height") > 200


def test_the_emergency_map_raises_a_flood_alert_live_and_only_emergency_staff_acknowledge(
    hub: Hub, tmp_path: Path
) -> None:
    with chromium(tmp_path, LAPTOP) as cdp, chromium(tmp_path, LAPTOP) as planner:
        open_map(cdp, hub, "emergency", Role.EMERGENCY)
        open_map(planner, hub, "emergency", Role.PLANNER)
        before = settled(cdp, SCREENSHOTS / "maps-emergency-calm.png")
        assert cdp.evaluate("document.getElementById('banner').hidden") is True
        assert layer_data(cdp, "flood-now") == []  # the demo's level floods nothing
        bands = cdp.evaluate(
            "HubMap.ctx.deck.layerManager.getLayers()"
            ".find(l => l.id === 'flood-bands').props.visible"
        )
        assert bands is False  # the threshold extents: a toggle, off by default
        for page in (cdp, planner):
            wait_page(page, "document.getElementById('live').textContent === 'live'", LIVE_S)
        page_marks = [p.evaluate("window.sameDocument = true") for p in (cdp, planner)]
        assert page_marks == [True, True]

        # the Danube over its flood level (550 cm), as the gauge publishes it; three
        # readings in a row, as the monitor takes a jump only once confirmed
        start = datetime.now(UTC) - timedelta(seconds=30)
        publish(
            hub.broker,
            [
                (
                    f"{hub.topic_prefix}/devices/gauge-tr-magurele/json",
                    json.dumps(
                        {
                            "time": (start + timedelta(seconds=10 * k)).isoformat(),
                            "values": {"water_level": 560},
                        }
                    ).encode(),
                )
                for k in range(4)
            ],
        )
        for page in (cdp, planner):
            wait_page(page, "!document.getElementById('banner').hidden", LIVE_S)
            wait_page(page, "document.getElementById('level').textContent === '560 cm'", LIVE_S)
            assert page.evaluate("window.sameDocument") is True
        banner = cdp.evaluate("document.getElementById('banner').textContent")
        assert "orange code" in banner and "not acknowledged" in banner, banner
        assert cdp.evaluate("document.querySelectorAll('#banner button.ack').length") >= 1
        # a planner sees the alert, and no button to acknowledge it
        assert planner.evaluate("document.querySelectorAll('button.ack').length") == 0

        after = settled(cdp, SCREENSHOTS / "map-emergency.png")
        orange = near(after[MAP_TOP : MAP_TOP + 60, :MAP_RIGHT], (224, 106, 0), 10).mean()
        assert orange > 0.4, f"the alert banner is not drawn ({orange:.0%})"
        flooded = layer_data(cdp, "flood-now")
        assert len(flooded) == 1
        water = near(map_area(after), (0, 70, 200), 60).sum()
        calm = near(map_area(before), (0, 70, 200), 60).sum()
        assert water > calm + 2000, f"the flood extent now is not drawn ({calm} -> {water} px)"

        # the emergency role acknowledges from the banner
        cdp.click("#banner button.ack")
        wait_page(
            cdp,
            "document.getElementById('banner').textContent.includes('acknowledged by')",
            LIVE_S,
        )
        # the extents at the warning levels: a toggle, drawn under the extent now
        now_only = settled(cdp, SCREENSHOTS / "maps-emergency-acknowledged.png")
        cdp.evaluate("document.querySelector('input[data-group^=\"Extents at\"]').click()")
        with_bands = settled(cdp, SCREENSHOTS / "maps-emergency-bands.png")
        changed = np.any(np.abs(map_area(with_bands) - map_area(now_only)) > 10, axis=-1).mean()
        assert changed > 0.02, f"the warning levels' extents are not drawn ({changed:.1%})"
    name = hub.accounts[Role.EMERGENCY][0]
    alerts = httpx.get(
        f"{hub.url}/river/alerts",
        params={"state": "open"},
        headers=key_headers(hub.database, Role.VIEWER),
    ).json()["alerts"]
    assert alerts and all(a["acknowledged_by"] == name for a in alerts if a["kind"] == "level")
