"""`smartcity demo` started as a user starts it: layers listed and readings growing in 60 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from hub.broker import free_port
from tests import backends

READY_S = 60.0
STOP_S = 30.0


def _readings_total(base: str) -> int:
    devices = httpx.get(f"{base}/devices", timeout=10).json()["devices"]
    return sum(1 for d in devices for _ in d["latest"])


def _stored(base: str, device_id: str, quantity: str) -> int:
    response = httpx.get(
        f"{base}/devices/{device_id}/readings", params={"quantity": quantity}, timeout=10
    )
    return len(response.json()["readings"])


@pytest.fixture(params=["embedded", "system"])
def demo_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCITY_")}
    env |= {"SMARTCITY_DATA_DIR": str(tmp_path / "data"), "SMARTCITY_HTTP_PORT": str(free_port())}
    if request.param == "embedded":
        yield env
        return
    with (
        backends.system_postgres() as admin,
        backends.fresh_database(admin) as url,
        backends.mosquitto() as mqtt_url,
    ):
        env |= {
            "SMARTCITY_DATABASE_URL": url,
            "SMARTCITY_MQTT_URL": mqtt_url,
            "SMARTCITY_TOPIC_PREFIX": f"demo{os.getpid()}",
        }
        yield env


def test_demo_runs_end_to_end_and_stops_cleanly(demo_env: dict[str, str]) -> None:
    base = f"http://127.0.0.1:{demo_env['SMARTCITY_HTTP_PORT']}"
    started = time.monotonic()
    demo = subprocess.Popen(
        [sys.executable, "-m", "hub", "demo"],
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        layers: set[str] = set()
        gauge_rows = 0
        ready = {"parcels", "flood_extents"}  # the river service writes the extents
        while time.monotonic() - started < READY_S and not (ready <= layers and gauge_rows >= 2):
            assert demo.poll() is None, demo.stdout.read() if demo.stdout else ""
            try:
                body = httpx.get(f"{base}/collections", timeout=5).json()
                layers = {c["id"] for c in body["collections"]}
                gauge_rows = _stored(base, "gauge-tr-magurele", "water_level")
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(1)
        elapsed = time.monotonic() - started
        assert {"parcels", "zones", "buildings", "streets", "assets", "sensors"} <= layers, elapsed
        assert "flood_extents" in layers, f"the river service wrote no extents in {elapsed:.0f} s"
        assert gauge_rows >= 2, f"no gauge readings after {elapsed:.0f} s"
        listed = httpx.get(f"{base}/devices", timeout=10).json()["devices"]
        silent = [d["device_id"] for d in listed if not d["latest"]]
        # every simulated device reports on the first tick: none may have been lost
        assert len(listed) > 500 and silent == [], silent[:5]
        first = _readings_total(base)
        bays_before = _stored(base, "gauge-tr-magurele", "water_level")
        time.sleep(12)
        assert _stored(base, "gauge-tr-magurele", "water_level") > bays_before
        assert _readings_total(base) >= first
        page = httpx.get(f"{base}/map", timeout=10)
        assert page.status_code == 200
        (gauge,) = httpx.get(f"{base}/river/gauges", timeout=10).json()["gauges"]
        assert gauge["level"] is not None
        flood = httpx.get(f"{base}/river/flood", params={"level_cm": 650}, timeout=60).json()
        assert flood["summary"]["parcels"] > 0 and flood["features"]
        # the survey drone flew along the Danube at start; each point set against the gauge
        drone = httpx.get(f"{base}/river/drone-observations", timeout=10).json()["summary"]
        assert drone["observations"] > 10 and drone["compared"] > 10, drone
        assert abs(drone["median_difference_cm"]) < 10, drone
    finally:
        children = psutil.Process(demo.pid).children(recursive=True) if demo.poll() is None else []
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=STOP_S)
    assert demo.returncode == 0, output[-3000:]
    assert "map          http://127.0.0.1:" in output
    leftovers = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert leftovers == [], f"processes left running: {leftovers}"
    data_dir = demo_env["SMARTCITY_DATA_DIR"]
    postgres = [
        p
        for p in psutil.process_iter(["cmdline"])
        if any(data_dir in part for part in p.info["cmdline"] or [])
    ]
    assert postgres == [], "the embedded PostgreSQL was not stopped"
