"""The map, looked at: headless Chromium renders /map from a live server, offline."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
import uvicorn

from api.app import create_app
from hub.broker import free_port, port_answers
from hub.settings import Settings

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test-deps.sh installs it)"
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def server(small_town: str) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(Settings(), small_town), host="127.0.0.1", port=port, log_level="warning"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not port_answers("127.0.0.1", port):
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


def screenshot(url: str, out: Path, tmp_path: Path) -> np.ndarray:
    """Render ``url`` in headless Chromium with no network but loopback; return RGB pixels."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium'}",
            # every host but loopback is unreachable: the map must need no CDN
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--use-angle=swiftshader",
            "--enable-unsafe-swiftshader",
            "--window-size=1200,800",
            "--virtual-time-budget=15000",
            f"--screenshot={out}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with rasterio.open(out) as png:
        return np.moveaxis(png.read()[:3], 0, -1)


def test_map_renders_layers_and_sensors(server: str, tmp_path: Path) -> None:
    pixels = screenshot(f"{server}/map", SCREENSHOTS / "map.png", tmp_path)
    colours = {tuple(int(c) for c in p) for p in pixels.reshape(-1, 3)[::7]}
    background = (0xE8, 0xE4, 0xDA)
    share_background = np.all(pixels == background, axis=-1).mean()
    # drawn: parcels outlines, the hospital (red), free/occupied bays, text labels
    assert share_background < 0.995, "nothing was drawn on the map"
    assert len(colours) > 20
    reds = (pixels[..., 0] > 180) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    assert reds.sum() > 10, "the hospital / occupied bay markers are missing"
