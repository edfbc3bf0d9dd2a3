"""`smartcity demo` started as a user starts it: layers listed and readings growing in 60 s,
Ctrl-C stopping it cleanly; its flood judged by the river monitor's own code."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import pytest
from typer.testing import CliRunner

from demo_town.catalogue import GAUGE_ASSET_ID
from demo_town.river import DEMO
from hub.broker import free_port
from hub.cli import FLOOD_FALL_MINUTES, FLOOD_RISE_MINUTES, app
from hub.demo import DemoFlood, FloodTooSteep, river_rules
from hub.simulate import TICK_S
from ingest_mqtt.decode import Incoming, decode
from river_monitor.conditions import Change, GaugeWatch
from river_monitor.config import GaugeConfig, load
from settings import Settings
from simulator.engine import SimDevice, Simulator
from tests import backends

READY_S = 180.0
"""How long the demo may take to be ready before the test gives up: a bound for a stuck
demo, not a speed goal (on a shared, loaded 2-core machine it has taken over a minute)."""
STOP_S = 30.0
DEMO_PEAK_CM = 620.0  # the README's example
FIRST_ALERT_MIN = 5.0  # what the README and the demo's banner promise


def _judged(gauge: GaugeConfig, flood: DemoFlood, start: datetime, seed: int) -> list[Change]:
    """The alert changes the river monitor's conditions make of the demo simulator's gauge
    readings over the wave's rise, ticked as ``smartcity simulate`` ticks, decoded as the
    ingestion worker decodes them."""
    device = SimDevice(GAUGE_ASSET_ID, "river_gauge", GAUGE_ASSET_ID, ("water_level",))
    simulator = Simulator([device], seed=seed, flood=flood.wave(start))
    watch = GaugeWatch(gauge)
    changes: list[Change] = []
    moment = start
    while moment < start + timedelta(minutes=flood.rise_minutes):
        incoming = [Incoming(m.topic, m.payload, 0, 1, moment) for m in simulator.tick(moment)]
        for reading in decode(incoming, "city", lambda _: frozenset({"water_level"})).readings:
            changes += watch.reading(reading.time, reading.value, moment)
        moment += timedelta(seconds=TICK_S)
    return changes


def _first_raised(changes: list[Change], kind: str, start: datetime) -> float | None:
    """Minutes from ``start`` to the first change raising ``kind``, None if none did."""
    raised = [c.at for c in changes if c.kind == kind and c.severity > 0]
    return (raised[0] - start).total_seconds() / 60 if raised else None


# one start a month: the wave's height, and so its steepness, follows the season's level
STARTS = [datetime(2026, month, 5, 9, tzinfo=UTC) for month in range(1, 13)]


@pytest.mark.parametrize("start", STARTS, ids=[f"{s:%b}" for s in STARTS])
def test_demo_flood_raises_a_rapid_rise_alert_and_no_spike(tmp_path: Path, start: datetime) -> None:
    settings = Settings(data_dir=tmp_path, river_config=None)
    flood = DemoFlood(DEMO_PEAK_CM, FLOOD_RISE_MINUTES, FLOOD_FALL_MINUTES)
    rules = river_rules(settings, flood, start)
    assert rules is not None and rules.is_relative_to(tmp_path)
    gauge = load(rules).gauge(GAUGE_ASSET_ID)
    assert gauge is not None and "demo rules" in gauge.name
    changes = _judged(gauge, flood, start, settings.seed)
    assert [c for c in changes if c.kind == "spike"] == []
    first = _first_raised(changes, "rise", start)
    assert first is not None and first <= FIRST_ALERT_MIN, first
    # the gauge's own rules make no rapid-rise alert of the same wave while it rises
    real = DEMO.gauge(GAUGE_ASSET_ID)
    assert real is not None
    assert _first_raised(_judged(real, flood, start, settings.seed), "rise", start) is None


LOW_WATER = datetime(2026, 11, 5, 9, tzinfo=UTC)  # the river near its gauge zero


def test_a_flood_too_steep_for_the_demo_rules_is_refused_with_its_remedy(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, river_config=None)
    steep = DemoFlood(DEMO_PEAK_CM, 5.0, FLOOD_FALL_MINUTES)
    with pytest.raises(FloodTooSteep, match="--flood-rise-minutes") as refused:
        river_rules(settings, steep, LOW_WATER)
    found = re.search(r"--flood-rise-minutes (\d+) or more", str(refused.value))
    assert found is not None, refused.value
    # the steep wave is flagged by the demo's rules; the advised rise time is not
    enough = DemoFlood(DEMO_PEAK_CM, float(found.group(1)), FLOOD_FALL_MINUTES)
    rules = river_rules(settings, enough, LOW_WATER)
    assert rules is not None
    demo_gauge = load(rules).gauge(GAUGE_ASSET_ID)
    assert demo_gauge is not None
    flagged = _judged(demo_gauge, steep, LOW_WATER, settings.seed)
    assert any(c.kind == "spike" and c.severity for c in flagged)
    judged = _judged(demo_gauge, enough, LOW_WATER, settings.seed)
    assert not any(c.kind == "spike" for c in judged)


def test_the_demo_command_refuses_a_steep_flood_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTCITY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SMARTCITY_RIVER_CONFIG", raising=False)
    result = CliRunner().invoke(app, ["demo", "--flood-peak=620", "--flood-rise-minutes=5"])
    assert result.exit_code == 2, result.output
    assert "Give --flood-rise-minutes" in result.output
    assert list(tmp_path.iterdir()) == []  # no database started, no town generated


def test_a_configured_river_file_is_used_as_it_is(tmp_path: Path) -> None:
    own = tmp_path / "river.toml"
    own.write_text(
        '[[gauges]]\ndevice_id = "gauge-tr-magurele"\nname = "Tr. Magurele"\nzero_m = 19.5\n'
        "attention_cm = 500\nflood_cm = 550\ndanger_cm = 650\nspike_cm_per_h = 5000\n"
        'contacts = ["duty"]\n',
        encoding="utf-8",
    )
    settings = Settings(data_dir=tmp_path / "data", river_config=own)
    flood = DemoFlood(DEMO_PEAK_CM, FLOOD_RISE_MINUTES, FLOOD_FALL_MINUTES)
    assert river_rules(settings, flood, LOW_WATER) is None
    assert not (tmp_path / "data").exists()
    strict_file = own.with_name("strict.toml")
    strict_file.write_text(own.read_text().replace("5000", "50"), encoding="utf-8")
    strict = settings.model_copy(update={"river_config": strict_file})
    with pytest.raises(FloodTooSteep, match="50 cm/h"):
        river_rules(strict, flood, LOW_WATER)


def _readings_total(hub: httpx.Client) -> int:
    devices = hub.get("/devices").json()["devices"]
    return sum(1 for d in devices for _ in d["latest"])


def _stored(hub: httpx.Client, device_id: str, quantity: str) -> int:
    response = hub.get(f"/devices/{device_id}/readings", params={"quantity": quantity})
    return len(response.json()["readings"])


def _signed_in(base: str, banner: str) -> httpx.Client | None:
    """A client signed in as the demo's viewer the banner names (None before the banner)."""
    found = re.search(r"^ +viewer +(\S+) +(\S+)$", banner, re.MULTILINE)
    if found is None:
        return None
    form = {"username": found[1], "password": found[2]}
    issued = httpx.post(f"{base}/auth/token", data=form, timeout=30)
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    return httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(params=["embedded", "system"])
def demo_env(request: pytest.FixtureRequest) -> Iterator[tuple[dict[str, str], list[str]]]:
    """The demo's environment and options: on embedded servers with a flood, on the
    system's without.

    The data directory is not under pytest's base directory: run as root, the embedded
    server runs as another user, who must traverse the directory's parents, and every
    pytest started on the machine resets that base directory to mode 0700.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCITY_")}
    data = tempfile.TemporaryDirectory(prefix="smartcity-demo-", ignore_cleanup_errors=True)
    env |= {"SMARTCITY_DATA_DIR": data.name, "SMARTCITY_HTTP_PORT": str(free_port())}
    if request.param == "embedded":
        with data:
            yield env, ["--flood-peak", str(DEMO_PEAK_CM)]
        return
    with (
        data,
        backends.system_postgres() as admin,
        backends.fresh_database(admin) as url,
        backends.mosquitto() as mqtt_url,
    ):
        env |= {
            "SMARTCITY_DATABASE_URL": url,
            "SMARTCITY_MQTT_URL": mqtt_url,
            "SMARTCITY_TOPIC_PREFIX": f"demo{os.getpid()}",
        }
        yield env, []


def test_demo_runs_end_to_end_and_stops_cleanly(
    demo_env: tuple[dict[str, str], list[str]], tmp_path: Path
) -> None:
    env, options = demo_env
    base = f"http://127.0.0.1:{env['SMARTCITY_HTTP_PORT']}"
    started = time.monotonic()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        # its own session, as a shell runs a command: Ctrl-C signals the whole group
        demo = subprocess.Popen(
            [sys.executable, "-m", "hub", "demo", *options],
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        layers: set[str] = set()
        public: set[str] = set()
        gauge_rows = 0
        hub: httpx.Client | None = None
        ready = {"parcels", "flood_extents"}  # the river service writes the extents
        while time.monotonic() - started < READY_S and not (ready <= layers and gauge_rows >= 2):
            assert demo.poll() is None, err.read_text()[-3000:]
            hub = hub or _signed_in(base, out.read_text())  # as the banner says
            try:
                anonymous = httpx.get(f"{base}/collections", timeout=5).json()
                public = {c["id"] for c in anonymous["collections"]}
                if hub is not None:
                    layers = {c["id"] for c in hub.get("/collections").json()["collections"]}
                    gauge_rows = _stored(hub, "gauge-tr-magurele", "water_level")
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(1)
        assert hub is not None, "the demo printed no account to sign in with"
        elapsed = time.monotonic() - started
        assert {"parcels", "zones", "buildings", "streets", "assets", "sensors"} <= layers, elapsed
        assert {"parcels", "flood_extents"} <= public and "sensors" not in public, public
        assert "flood_extents" in layers, f"the river service wrote no extents in {elapsed:.0f} s"
        assert gauge_rows >= 2, f"no gauge readings after {elapsed:.0f} s"
        assert httpx.get(f"{base}/devices", timeout=10).status_code == 401
        listed = hub.get("/devices").json()["devices"]
        silent = [d["device_id"] for d in listed if not d["latest"]]
        # every simulated device reports on the first tick: none may have been lost
        assert len(listed) > 500 and silent == [], silent[:5]
        first = _readings_total(hub)
        bays_before = _stored(hub, "gauge-tr-magurele", "water_level")
        time.sleep(12)
        assert _stored(hub, "gauge-tr-magurele", "water_level") > bays_before
        assert _readings_total(hub) >= first
        assert hub.get("/map").status_code == 200
        # the lots' history was filled with the counters' past weeks: not empty on start
        lot_id = httpx.get(f"{base}/parking/lots", timeout=10).json()["lots"][0]["lot_id"]
        days = httpx.get(f"{base}/parking/lots/{lot_id}/history?step=1d", timeout=30).json()
        assert len(days["buckets"]) >= 27 and days["buckets"][0]["samples"] > 0, days
        (gauge,) = httpx.get(f"{base}/river/gauges", timeout=10).json()["gauges"]
        assert gauge["level"] is not None
        # a demo flood is judged by demo rules, and the API says so
        assert ("demo rules" in gauge["name"]) == bool(options), gauge["name"]
        flood = httpx.get(f"{base}/river/flood", params={"level_cm": 650}, timeout=60).json()
        assert flood["summary"]["parcels"] > 0 and flood["features"]
        # the survey drone flew along the Danube at start; each point set against the gauge
        drone = hub.get("/river/drone-observations").json()["summary"]
        assert drone["observations"] > 10 and drone["compared"] > 10, drone
        assert abs(drone["median_difference_cm"]) < 10, drone
        # the carbon inventory is not empty: the buildings' meters, the imported invoices
        # (last year: every month of street lighting and fleet fuel is in)
        year = datetime.now(UTC).year - 1
        inventory = hub.get("/carbon/inventory", params={"year": year}).json()
        sectors = {s["sector"] for s in inventory["sectors"]}
        assert {"municipal_buildings", "public_lighting", "municipal_fleet"} <= sectors, sectors
        assert inventory["baseline"]["total"]["t_co2e"] > inventory["total"]["t_co2e"] > 0
    finally:
        children = psutil.Process(demo.pid).children(recursive=True) if demo.poll() is None else []
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C
        demo.wait(timeout=STOP_S)
    logged = err.read_text()
    assert demo.returncode == 0, logged[-3000:]
    assert "map          http://127.0.0.1:" in out.read_text()
    # nothing a user cannot act on: no trace, error or warning, no initdb output
    unwanted = re.compile(r"Traceback|Error|ERROR|Warning|WARNING|initdb")
    assert [line for line in logged.splitlines() if unwanted.search(line)] == []
    leftovers = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert leftovers == [], f"processes left running: {leftovers}"
    data_dir = env["SMARTCITY_DATA_DIR"]
    postgres = [
        p
        for p in psutil.process_iter(["cmdline"])
        if any(data_dir in part for part in p.info["cmdline"] or [])
    ]
    assert postgres == [], "the embedded PostgreSQL was not stopped"
