"""Debian's Chromium, headless and offline, as the map tests and the map bench start it."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium")


def command(profile: Path, width: int = 1200, height: int = 800) -> list[str]:
    """Chromium with its own profile, software WebGL and no network but loopback (every
    other host is unreachable: the map must need no CDN); add the URL and extra flags."""
    return [
        CHROMIUM or "/usr/bin/chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        f"--window-size={width},{height}",
    ]
