"""Generate the demo town and load it the way a town's own files are loaded."""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path

from gis_layers.catalogue import set_public
from gis_layers.importer import import_file
from gis_layers.rasters import register
from storage import devices, migrations
from storage.database import connect
from storage.meta import get_meta, set_meta
from twin.registry import sync_from_layers

log = logging.getLogger(__name__)

SURVEY_DRONE = "drone-danube-1"


def demo_loaded(url: str, seed: int) -> bool:
    """True when the demo town of this seed is already in the database."""
    with connect(url) as conn:
        migrations.upgrade(conn)
        return get_meta(conn, "demo_seed") == str(seed)


def load_demo_town(url: str, out_dir: Path, seed: int, parcels: int | None = None) -> None:
    """Write the demo town's GeoPackage and GeoTIFF, import the layers, register the twin;
    ``parcels``: about how many parcels (default the demo's)."""
    from demo_town import PUBLIC_LAYERS, generate
    from demo_town.generate import DEFAULT_PARCELS_TARGET

    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    log.info("generating the demo town (seed %d) in %s", seed, out_dir)
    files = generate(out_dir, seed=seed, n_parcels_target=parcels or DEFAULT_PARCELS_TARGET)
    log.info("generated in %.1f s; importing %s", time.monotonic() - started, files.gpkg)
    with connect(url) as conn:
        migrations.upgrade(conn)
        for report in import_file(conn, files.gpkg):
            log.info("layer %s: %d features", report.layer_id, report.features)
        for layer_id in PUBLIC_LAYERS:
            set_public(conn, layer_id, True)
        result = sync_from_layers(conn)
        # a survey drone measuring the Danube's surface (mobile: not in the sensors layer)
        devices.register(conn, [devices.Device(SURVEY_DRONE, "drone", ("water_surface_level",))])
        with conn.transaction():
            register(conn, files.dem, name="terrain")
        with conn.transaction():
            set_meta(conn, "demo_seed", str(seed))
            set_meta(conn, "dem_path", str(files.dem.resolve()))
    log.info(
        "demo town ready: %d assets, %d devices (%.1f s)",
        result.assets,
        result.devices,
        time.monotonic() - started,
    )


DEMO_ACCOUNTS = "accounts.txt"
"""In the demo's directory: one account per role, with the password made for it."""


def demo_accounts(url: str, out_dir: Path) -> list[tuple[str, str, str]]:
    """The demo's accounts, one per role (made with random passwords, kept in
    ``out_dir/accounts.txt`` readable by its owner only): role, name, password."""
    from auth import accounts
    from auth.principal import Role

    path = out_dir / DEMO_ACCOUNTS
    kept = (
        [tuple(line.split("\t")) for line in path.read_text().splitlines()] if path.exists() else []
    )
    with connect(url) as conn:
        existing = {a.name for a in accounts.all_accounts(conn)}
        if len(kept) == len(Role) and all(name in existing for _, name, _ in kept):
            return [(r, n, p) for r, n, p in kept]
        made = []
        for role in Role:
            name, password = f"demo-{role.value.replace('_', '-')}", secrets.token_urlsafe(12)
            if name in existing:
                accounts.set_password(conn, name, password)
                accounts.set_role(conn, name, role)
            else:
                accounts.add(conn, name, role, password)
            made.append((role.value, name, password))
    out_dir.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text("".join("\t".join(row) + "\n" for row in made))
    return made
