"""Take the user guides' screenshots (``docs/img/*.png``) from a running hub.

Start a hub with its demo town (``make demo``, or ``smartcity demo`` against real
servers), then, from the repository's root:

    .venv/bin/python scripts/guide_screenshots.py http://127.0.0.1:8000 \
        --accounts var/demo/accounts.txt [--only admin-login ...] [--out docs/img]

Each page is opened in Debian's headless Chromium (``harness/headless_chromium.py``: no
network but loopback), signed in as a person signs in, through the hub's login page,
with the demo account of the role the shot names (``--accounts``: the file the demo
writes, one ``role<TAB>name<TAB>password`` a line), and captured at 1366×768. The
QGIS drawing (``planner-qgis-parcels.png``) is made by QGIS's own renderer through
``harness/qgis_reader.py``, with the Python that has PyQGIS (Debian's ``python3-qgis``)
and a planner's API key (``--qgis-key``); without PyQGIS it is skipped, and said so.
Every image is reduced to a 256-colour palette (Pillow) to keep the repository small.
Look at each image before committing it.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.headless_chromium import CDP, chromium, sign_in  # noqa: E402

WINDOW = (1366, 768)
"""A town hall's laptop screen."""
PYQGIS = "/usr/bin/python3"
READY_TIMEOUT_S = 60
MARGIN = 16
"""Pixels kept below a page's last drawn line."""
PRETTY_PRINT_BOX = (104, 9)
"""Where Chromium's JSON viewer draws its "Pretty-print" box (in a closed shadow root that
a script cannot reach: it is clicked, as a person does)."""


@dataclass(frozen=True)
class Shot:
    """One screenshot: the image's name, the page's path (and query), the role of the demo
    account that opens it (None: not signed in), and a CSS selector that shows the page is
    drawn (for pages that build themselves with scripts)."""

    name: str
    path: str
    role: str | None = None
    ready: str | None = None


PUBLICATION = "/opendata/datasets/{dataset_id}/publication"
CQL2 = quote("land_use = 'CC' AND area_m2 > 500")
SHOTS = (
    # planners
    Shot("planner-landing", "/?f=html"),
    Shot("planner-collections", "/collections?f=html", "planner"),
    Shot("planner-collection", "/collections/parcels?f=html", "planner"),
    Shot("planner-items-filter", f"/collections/parcels/items?f=html&limit=300&filter={CQL2}"),
    # integrators
    Shot("integrator-api-docs", "/docs", ready=".opblock"),
    Shot("integrator-devices", "/devices?kind=river_gauge", "viewer"),
    Shot("integrator-dead-letters", "/ingest/dead-letters?limit=1", "viewer"),
    Shot(
        "integrator-ngsi-ld", "/ngsi-ld/v1/entities?type=OffStreetParking&limit=1&options=keyValues"
    ),
    # administrators
    Shot("admin-login", "/auth/login"),
    # the newest decisions on a dataset's publication through the API: make one first
    # (PUT /opendata/datasets/{dataset_id}/publication with an admin's key, docs/opendata.md)
    Shot("admin-audit", f"/audit?limit=2&route={quote(PUBLICATION)}", "admin"),
    Shot("admin-opendata-catalogue", "/opendata/catalog.jsonld"),
)


def read_accounts(path: Path) -> dict[str, tuple[str, str]]:
    """The demo's accounts file: role → (account name, password)."""
    accounts = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            role, name, password = line.split("\t")
            accounts[role] = (name, password)
    return accounts


def trimmed(image: Image.Image) -> Image.Image:
    """``image`` without the empty band below a short page (the colour of its bottom right
    corner), keeping a margin."""
    background = Image.new(
        image.mode, image.size, image.getpixel((image.width - 1, image.height - 1))
    )
    box = ImageChops.difference(image, background).getbbox()
    if box is None:
        return image
    return image.crop((0, 0, image.width, min(image.height, box[3] + MARGIN)))


def small_png(png: bytes) -> bytes:
    """``png`` trimmed and reduced to a 256-colour palette, compressed as far as Pillow goes."""
    image = trimmed(Image.open(io.BytesIO(png)).convert("RGB"))
    reduced = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    reduced.save(out, format="PNG", optimize=True)
    return out.getvalue()


def wait_for(cdp: CDP, selector: str) -> None:
    """Wait (real time) until the page holds an element matching ``selector``."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    check = f"document.querySelector({selector!r}) !== null"
    while not cdp.evaluate(check):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{selector} did not appear within {READY_TIMEOUT_S} s")
        time.sleep(0.25)
    time.sleep(0.5)  # the last styles and fonts


def pretty_print(cdp: CDP) -> None:
    """Tick Chromium's "Pretty-print" box where the page is a JSON document it shows."""
    if cdp.evaluate("document.querySelector('.json-formatter-container') !== null"):
        for kind in ("mousePressed", "mouseReleased"):
            x, y = PRETTY_PRINT_BOX
            cdp.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
        time.sleep(0.5)


def take(
    base: str, shots: Iterable[Shot], accounts: dict[str, tuple[str, str]], out: Path
) -> list[Path]:
    """Capture ``shots`` from the hub at ``base`` into ``out``: one browser per role, signed
    in once; the images written."""
    written = []
    by_role: dict[str | None, list[Shot]] = {}
    for shot in shots:
        by_role.setdefault(shot.role, []).append(shot)
    with tempfile.TemporaryDirectory(prefix="guide-shots-") as work:
        for role, group in by_role.items():
            with chromium(Path(work), WINDOW) as cdp:
                if role is not None:
                    if role not in accounts:
                        raise SystemExit(f"no {role} account in the accounts file")
                    cdp.navigate(f"{base}/auth/login?next={quote(group[0].path)}")
                    landed = sign_in(cdp, *accounts[role])
                    if "/auth/login" in landed:
                        raise SystemExit(f"the {role} account could not sign in: {landed}")
                for shot in group:
                    cdp.navigate(f"{base}{shot.path}")
                    if shot.ready:
                        wait_for(cdp, shot.ready)
                    pretty_print(cdp)
                    path = out / f"{shot.name}.png"
                    path.write_bytes(small_png(cdp.screenshot()))
                    written.append(path)
                    print(f"{path}: {shot.path}", flush=True)
    return written


def qgis_drawing(base: str, key: str | None, out: Path) -> Path | None:
    """The parcels layer as QGIS draws it from the hub's OGC API (``harness/qgis_reader.py``,
    with PyQGIS's Python); None, said on stderr, where PyQGIS is missing."""
    probe = subprocess.run([PYQGIS, "-c", "import qgis.core"], capture_output=True, check=False)
    if probe.returncode != 0:
        print(f"skipped the QGIS drawing: {PYQGIS} has no PyQGIS", file=sys.stderr)
        return None
    env = dict(os.environ)
    if key:
        env["HUB_API_KEY"] = key
    with tempfile.TemporaryDirectory(prefix="guide-qgis-") as work:
        reader = str(ROOT / "harness" / "qgis_reader.py")
        subprocess.run(
            [PYQGIS, reader, base, work, "parcels", "--draw", "parcels"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        drawn = (Path(work) / "qgis-parcels-features.png").read_bytes()
    path = out / "planner-qgis-parcels.png"
    path.write_bytes(small_png(drawn))
    print(f"{path}: parcels drawn by QGIS", flush=True)
    return path


def main() -> None:
    """Parse the command line and take the screenshots it asks for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the hub's base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--accounts", type=Path, required=True, help="the demo's accounts file")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--only", nargs="*", help="names of the shots to take (default: all)")
    parser.add_argument("--qgis-key", help="a planner's API key, for the QGIS drawing")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    wanted = set(args.only or [])
    known = {s.name for s in SHOTS} | {"planner-qgis-parcels"}
    if wanted - known:
        parser.error(f"unknown shots {sorted(wanted - known)}; known: {sorted(known)}")
    args.out.mkdir(parents=True, exist_ok=True)
    shots = [s for s in SHOTS if not wanted or s.name in wanted]
    take(base, shots, read_accounts(args.accounts), args.out)
    if not wanted or "planner-qgis-parcels" in wanted:
        qgis_drawing(base, args.qgis_key, args.out)


if __name__ == "__main__":
    main()
