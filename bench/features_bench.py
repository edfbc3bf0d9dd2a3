"""OGC API - Features ``/items`` with a bbox and OGC API - Tiles vector tiles: our server
side by side with tipg (issue 12; ``--rival pygeoapi``: with pygeoapi, issue 4).

Run from the repository root (PostgreSQL on 127.0.0.1:5432 with PostGIS, Debian's
``postgresql-15-postgis-3``, which tipg needs; for pygeoapi, root for the one-time
``apt-get install libgdal-dev`` the GDAL bindings of its venv build against):

    .venv/bin/python bench/features_bench.py

What it does, every step in this one command:

1. Generates 100,000 cadastral parcels near Turnu Măgurele, a seeded jittered grid of
   quadrilaterals (20-30 m cells) in Stereo 70 (EPSG:3844), with ``cadastral_number``,
   ``area_m2`` (computed in Stereo 70), ``zone`` and ``land_use``, written to a
   GeoPackage (layer ``parcels``) with pyogrio.
2. Loads it into a fresh database through our importer (migrations, ``import_file``,
   ``VACUUM ANALYZE``; with PostGIS there, migration 10 keeps each parcel in Web
   Mercator and our tiles are built by ``ST_AsMVT``), publishes it as a municipality
   publishes its cadastre (every server here is read anonymously: like for like), and
   starts ``python -m hub serve`` on it (uvicorn, one process), running the code of the
   checkout this script is in.
3. tipg (default): installs tipg from PyPI into its own venv (``/tmp/tipg-venv``, created
   once; ``BENCH_TIPG_VENV`` moves it), loads the same parcels in CRS84 into a PostGIS
   table ``tipg.parcels`` (GiST-indexed) of the same database, turns JIT off for the
   database (our pool turns it off too), and serves them with tipg's app under uvicorn,
   one worker process, as ours; its per-tile feature cap is raised so that it does not
   truncate dense tiles and its tile margin set to ours (64 units; its default is 256).
   pygeoapi: installs pygeoapi into ``/tmp/pygeoapi-venv`` (``BENCH_PYGEOAPI_VENV``)
   with GDAL's Python bindings, and serves the same parcels from a GeoPackage with its
   OGR provider (the SQLiteGPKG provider ignores the GeoPackage's R-tree and scans all
   100,000 parcels on every request), reprojected to CRS84, because with a Stereo 70
   storage CRS pygeoapi mixes up the axis order and finds nothing (the script checks
   and reports that too: ``pygeoapi_epsg3844_check``).
4. Picks many bboxes in CRS84 spread over the layer, each holding 100 (or 1,000) to 10%
   more parcels, checks on a few that both servers return the same parcels (a difference
   is printed as CORRECTNESS FAILURE, with the rule each server's answer follows, and the
   run goes on), then alternates between the servers in rounds: sequential latency (p50,
   p95) with one keep-alive client, and throughput with 4 client threads (keep-alive
   httpx clients), ``limit=100`` and ``limit=1000``. Every client accepts gzip, and the
   bytes each page takes on the wire are reported beside its decoded size.
5. With tipg, cold vector tiles at zooms 13, 14 and 16 (up to ``--tiles`` tiles holding
   parcels at each zoom), in rounds alternating the order of three servers: ours
   (``ST_AsMVT``), ours on a copy of the database whose tiles are built by the hub as
   where PostGIS is missing, and tipg. Our tile cache is per import of the layer: each
   round gives the layer a new import time, as a re-import does; tipg keeps no tiles.
   The parcels in each tile are compared with tipg's on the first round.
6. Prints one JSON document (absolute figures, ratios ours/rival, the SQL time of our
   queries measured alone, machine facts), stops the servers and drops the databases.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import httpx
import mapbox_vector_tile
import morecantile
import numpy as np
import psycopg
import shapely
from psycopg import sql
from pyproj import Transformer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proc_cpu import cpu_seconds  # noqa: E402
from scratch_db import ADMIN_URL, scratch_database  # noqa: E402

from gis_layers import vector_tiles  # noqa: E402
from gis_layers.catalogue import set_public  # noqa: E402
from gis_layers.importer import import_file  # noqa: E402
from harness.live import serve_env  # noqa: E402
from hub.broker import free_port  # noqa: E402
from storage import migrations  # noqa: E402

TIPG_VENV = Path(os.environ.get("BENCH_TIPG_VENV", "/tmp/tipg-venv"))
TIPG_VERSION = os.environ.get("BENCH_TIPG_VERSION", "1.6.1")
PYGEOAPI_VENV = Path(os.environ.get("BENCH_PYGEOAPI_VENV", "/tmp/pygeoapi-venv"))
PYGEOAPI_VERSION = os.environ.get("BENCH_PYGEOAPI_VERSION", "0.24.0")
SEED = 4
CENTRE_LONLAT = (24.87, 43.75)  # Turnu Măgurele
ZONES = {  # urbanism zone code: (weight, land uses it allows)
    "L1a": (0.35, ["residential", "residential", "garden"]),
    "L2": (0.15, ["residential", "commercial"]),
    "M2": (0.10, ["commercial", "residential", "public"]),
    "ID": (0.10, ["industrial", "warehouse"]),
    "IS": (0.05, ["public", "education", "health"]),
    "V": (0.10, ["green", "sport"]),
    "A": (0.15, ["agricultural", "orchard", "pasture"]),
}
TARGET_LIMITS = {100: 10.0, 1000: 60.0}  # limit: p50 target in ms (issue 4)
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
STEREO70_URI = "http://www.opengis.net/def/crs/EPSG/0/3844"
# every client accepts gzip, as browsers, QGIS (Qt) and GDAL (curl) do
ACCEPT = {"Accept": "application/geo+json", "Accept-Encoding": "gzip"}
OURS_DESCRIPTION = (
    f"python -m hub serve: uvicorn {metadata.version('uvicorn')} (one process),"
    f" FastAPI {metadata.version('fastapi')}, PostgreSQL without PostGIS"
)
# The statements our /items runs for a bbox (api/routes/collections.py at 1c0068f, then
# gis_layers/features.py with literals for parameters), timed alone against the database
# for the profile: how much of the HTTP time is SQL.
ITEMS_SQL = """
SELECT json_build_object('type', 'Feature', 'id', feature_id,
                         'geometry', geometry, 'properties', properties)::text
FROM features
WHERE layer_id = %(layer)s AND (%(bbox)s::box IS NULL OR bbox && %(bbox)s::box)
ORDER BY feature_id
LIMIT %(limit)s OFFSET 0
"""
COUNT_SQL = """
SELECT count(*) FROM features
WHERE layer_id = %(layer)s AND (%(bbox)s::box IS NULL OR bbox && %(bbox)s::box)
"""


# --- data -----------------------------------------------------------------------------


def generate_parcels(count: int, seed: int = SEED) -> gpd.GeoDataFrame:
    """``count`` parcels as a jittered grid of quadrilaterals in Stereo 70 (deterministic)."""
    rng = np.random.default_rng(seed)
    columns = int(round(np.sqrt(count * 1.6)))
    rows = -(-count // columns)
    widths = rng.uniform(20.0, 30.0, columns)
    heights = rng.uniform(20.0, 30.0, rows)
    to_stereo = Transformer.from_crs("OGC:CRS84", "EPSG:3844", always_xy=True)
    east0, north0 = to_stereo.transform(*CENTRE_LONLAT)
    xs = east0 - widths.sum() / 2 + np.concatenate([[0.0], np.cumsum(widths)])
    ys = north0 - heights.sum() / 2 + np.concatenate([[0.0], np.cumsum(heights)])
    node_x, node_y = np.meshgrid(xs, ys)  # (rows + 1, columns + 1)
    node_x = node_x + rng.uniform(-4.0, 4.0, node_x.shape)  # shared corners: no gaps, no overlaps
    node_y = node_y + rng.uniform(-4.0, 4.0, node_y.shape)
    corners = [(0, 0), (0, 1), (1, 1), (1, 0), (0, 0)]  # (row, column) offsets, closed ring
    ring_x = np.stack([node_x[r : r + rows, c : c + columns] for r, c in corners], axis=-1)
    ring_y = np.stack([node_y[r : r + rows, c : c + columns] for r, c in corners], axis=-1)
    rings = np.stack([ring_x, ring_y], axis=-1).reshape(rows * columns, 5, 2)[:count]
    geometry = shapely.polygons(rings)
    # Zones in blocks of 16 x 16 parcels, land use drawn from what each zone allows.
    codes = list(ZONES)
    weights = np.array([ZONES[c][0] for c in codes])
    blocks = rng.choice(len(codes), size=(rows // 16 + 1, columns // 16 + 1), p=weights)
    row_of, column_of = np.divmod(np.arange(count), columns)
    zone_index = blocks[row_of // 16, column_of // 16]
    pick = rng.integers(0, 3, count)
    land_use = [
        ZONES[codes[z]][1][p % len(ZONES[codes[z]][1])]
        for z, p in zip(zone_index, pick, strict=True)
    ]
    numbers = np.char.add("TM-", np.char.zfill(np.arange(1, count + 1).astype(str), 6))
    return gpd.GeoDataFrame(
        {
            "cadastral_number": numbers,
            "area_m2": np.round(shapely.area(geometry), 2),
            "zone": np.array(codes)[zone_index],
            "land_use": land_use,
        },
        geometry=geometry,
        crs="EPSG:3844",
    )


def write_geopackages(parcels: gpd.GeoDataFrame, workdir: Path) -> tuple[Path, Path]:
    """The parcels as GeoPackages (layer ``parcels``): Stereo 70, and reprojected to CRS84."""
    stereo = workdir / "parcels.gpkg"
    crs84 = workdir / "parcels_crs84.gpkg"
    # GeoPackage 1.2: pygeoapi's GDAL (Debian's 3.6) warns on every open of a 1.4 file.
    options = {"driver": "GPKG", "engine": "pyogrio", "dataset_options": {"VERSION": "1.2"}}
    parcels.to_file(stereo, layer="parcels", **options)
    parcels.to_crs("OGC:CRS84").to_file(crs84, layer="parcels", **options)
    return stereo, crs84


# --- our server -----------------------------------------------------------------------


def load_parcels(url: str, gpkg: Path) -> int:
    """Migrate, import ``gpkg`` as collection ``parcels`` through our importer and publish
    it, VACUUM ANALYZE.

    Cadastral parcels are open data: the municipality publishes them (``smartcity layers
    publish parcels``), so they are read without credentials, here as from tipg and
    pygeoapi, which know of none (like for like), and in the QGIS and map benches."""
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        (report,) = import_file(conn, gpkg, name="parcels")
        set_public(conn, "parcels", True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return report.features


def wait_for(url: str, what: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Poll ``url`` until it answers 200; fail if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f} s")
        time.sleep(0.2)


@contextmanager
def running(
    what: str, args: list[str], env: dict[str, str], cwd: Path, port: int, probe: str
) -> Iterator[tuple[str, int]]:
    """Run a server process; yield its base URL and pid once ``probe`` answers; stop it after."""
    process = subprocess.Popen(args, env=env, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + probe, what, process)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def our_server(database_url: str) -> tuple[list[str], dict[str, str], Path, int]:
    """How harness/live.py ``served`` starts ``python -m hub serve``: args, env, cwd, port."""
    port = free_port()
    # PYTHONPATH: this checkout's code, not another one installed editable
    env = serve_env(database_url, port) | {"PYTHONPATH": str(ROOT)}
    return [sys.executable, "-m", "hub", "serve"], env, ROOT, port


# --- pygeoapi -------------------------------------------------------------------------

PYGEOAPI_CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  gzip: false
  language: en-US
  cors: false
  pretty_print: false
  limits: {{default_items: 10, max_items: 10000}}
  map:
    url: https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png
    attribution: OpenStreetMap
logging:
  level: ERROR
metadata:
  identification:
    title: parcels benchmark
    description: the parcels of bench/features_bench.py
    keywords: [parcels]
    url: http://127.0.0.1:{port}
    terms_of_service: https://creativecommons.org/licenses/by/4.0/
  license: {{name: CC-BY 4.0, url: https://creativecommons.org/licenses/by/4.0/}}
  provider: {{name: bench, url: http://127.0.0.1:{port}}}
  contact:
    name: bench
    position: bench
    address: bench
    city: Turnu Magurele
    stateorprovince: Teleorman
    postalcode: "145200"
    country: Romania
    phone: "+40000000000"
    fax: "+40000000000"
    email: bench@example.org
    url: http://127.0.0.1:{port}
    hours: always
    instructions: none
    role: pointOfContact
resources:
{resources}"""

PYGEOAPI_COLLECTION = """\
  {name}:
    type: collection
    title: {name}
    description: 100,000 generated cadastral parcels
    keywords: [parcels]
    extents:
      spatial: {{bbox: [-180, -90, 180, 90], crs: {crs84}}}
    providers:
      - type: feature
        name: OGR
        data:
          source_type: GPKG
          source: {source}
        id_field: fid
        layer: parcels
        crs: [{crs84}, {storage}]
        storage_crs: {storage}
"""


def python_for_pygeoapi() -> str:
    """A Python >= 3.12 (pygeoapi's newest releases need it), else this one."""
    candidates = [os.environ.get("BENCH_PYGEOAPI_PYTHON", ""), "python3.12"]
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.12*/bin/python"))
    for candidate in filter(None, candidates):
        path = shutil.which(candidate)
        if not path:
            continue
        check = [path, "-c", "import sys; assert sys.version_info[:2] == (3, 12)"]
        if subprocess.run(check, capture_output=True).returncode == 0:
            return path
    return sys.executable


def ensure_pygeoapi_venv(venv: Path) -> Path:
    """pygeoapi, GDAL's bindings and our uvicorn version in their own venv; its python."""
    python = venv / "bin" / "python"
    check = "import pygeoapi, osgeo.ogr, starlette, uvicorn"
    if python.exists() and subprocess.run([python, "-c", check]).returncode == 0:
        return python
    if not shutil.which("gdal-config"):
        if os.geteuid() != 0:
            raise SystemExit("GDAL's headers are missing: apt-get install libgdal-dev (as root)")
        print("installing libgdal-dev (GDAL's bindings for pygeoapi build against it) ...")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "libgdal-dev"], check=True)
    gdal = subprocess.run(["gdal-config", "--version"], capture_output=True, text=True, check=True)
    base = python_for_pygeoapi()
    print(f"creating {venv} with {base}; pygeoapi {PYGEOAPI_VERSION}, GDAL {gdal.stdout.strip()}")
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip", "setuptools", "wheel"], check=True)
    subprocess.run(
        [
            *pip,
            f"pygeoapi=={PYGEOAPI_VERSION}",
            f"GDAL=={gdal.stdout.strip()}",
            f"uvicorn=={metadata.version('uvicorn')}",  # the version ours runs, plain as ours
            "starlette",
        ],
        check=True,
    )
    return python


def pygeoapi_versions(python: Path) -> dict[str, str]:
    """Versions of pygeoapi and what serves it, from its venv."""
    code = (
        "import json, platform, pygeoapi, starlette, uvicorn; from osgeo import gdal;"
        "print(json.dumps({'pygeoapi': pygeoapi.__version__, 'gdal': gdal.__version__,"
        " 'starlette': starlette.__version__, 'uvicorn': uvicorn.__version__,"
        " 'python': platform.python_version()}))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def pygeoapi_server(
    python: Path, workdir: Path, sources: dict[str, tuple[Path, str]]
) -> tuple[list[str], dict[str, str], Path, int]:
    """Config, OpenAPI document and the uvicorn command for pygeoapi's Starlette app.

    ``sources`` maps a collection name to its GeoPackage and storage CRS URI.
    """
    port = free_port()
    resources = "".join(
        PYGEOAPI_COLLECTION.format(name=name, source=path, storage=crs, crs84=CRS84_URI)
        for name, (path, crs) in sources.items()
    )
    config = workdir / "pygeoapi-config.yml"
    openapi = workdir / "pygeoapi-openapi.yml"
    config.write_text(PYGEOAPI_CONFIG.format(port=port, resources=resources))
    env = os.environ | {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    env.pop("PYTHONPATH", None)
    generate = [str(python.parent / "pygeoapi"), "openapi", "generate", str(config)]
    subprocess.run([*generate, "--output-file", str(openapi)], env=env, check=True)
    args = [str(python), "-m", "uvicorn", "pygeoapi.starlette_app:APP"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning"]
    return args, env, workdir, port


# --- tipg -----------------------------------------------------------------------------

TIPG_COLLECTION = "tipg.parcels"
TIPG_SETTINGS = {
    "TIPG_DB_SCHEMAS": '["tipg"]',
    # no truncation of dense tiles (its default cap is 10,000 features a tile)
    "TIPG_MAX_FEATURES_PER_TILE": "200000",
    "TIPG_MAX_FEATURES_PER_QUERY": "10000",
    # the margin our tiles keep (tipg's default is 256 units)
    "TIPG_TILE_BUFFER": str(vector_tiles.MARGIN),
}


def ensure_tipg_venv(venv: Path) -> Path:
    """tipg and our uvicorn version in their own venv; its python."""
    python = venv / "bin" / "python"
    check = "import tipg, uvicorn"
    if python.exists() and subprocess.run([python, "-c", check]).returncode == 0:
        return python
    print(f"creating {venv} with tipg {TIPG_VERSION}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, f"tipg=={TIPG_VERSION}", f"uvicorn=={metadata.version('uvicorn')}"], check=True
    )
    return python


def tipg_versions(python: Path) -> dict[str, str]:
    """Versions of tipg and what serves it, from its venv."""
    code = (
        "import json, platform; from importlib import metadata as m;"
        "print(json.dumps({p: m.version(p) for p in ('tipg', 'starlette-cramjam', 'asyncpg',"
        " 'uvicorn')} | {'python': platform.python_version()}))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def load_tipg_table(url: str, parcels: gpd.GeoDataFrame) -> None:
    """The parcels (in CRS84) as PostGIS table ``tipg.parcels`` with a GiST index, in the
    database ours serves (PostGIS enabled by our migration 10); JIT off for both servers."""
    with psycopg.connect(url) as conn:
        postgis = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
        if not postgis:
            raise SystemExit("tipg needs PostGIS: apt-get install postgresql-15-postgis-3")
        conn.execute("CREATE SCHEMA tipg")
        conn.execute(
            "CREATE TABLE tipg.parcels (fid integer PRIMARY KEY, cadastral_number text,"
            " area_m2 double precision, zone text, land_use text,"
            " geom geometry(Polygon, 4326) NOT NULL)"
        )
        conn.execute(
            "INSERT INTO tipg.parcels SELECT i, c, a, z, l, ST_GeomFromWKB(w, 4326)"
            " FROM unnest(%s::int[], %s::text[], %s::float8[], %s::text[], %s::text[],"
            " %s::bytea[]) AS t(i, c, a, z, l, w)",
            (
                list(range(1, len(parcels) + 1)),
                parcels["cadastral_number"].tolist(),
                parcels["area_m2"].tolist(),
                parcels["zone"].tolist(),
                parcels["land_use"].tolist(),
                shapely.to_wkb(parcels.geometry.values).tolist(),
            ),
        )
        conn.execute("CREATE INDEX ON tipg.parcels USING gist (geom)")
        database = url.rsplit("/", 1)[1]
        conn.execute(sql.SQL("ALTER DATABASE {} SET jit = off").format(sql.Identifier(database)))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE tipg.parcels")


def tipg_server(python: Path, url: str) -> tuple[list[str], dict[str, str], Path, int]:
    """tipg's app under uvicorn, one worker, on ``url``'s tipg schema."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPG_")}
    env |= TIPG_SETTINGS | {"DATABASE_URL": url}
    env.pop("PYTHONPATH", None)
    args = [str(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--workers", "1", "--log-level", "warning"]
    return args, env, Path(tempfile.gettempdir()), port


def copy_without_postgis(url: str, copy_url: str) -> None:
    """``copy_url``: the same database, its tiles built by the hub as where PostGIS is
    missing (migration 10's other variant records exactly this)."""
    source, copy = url.rsplit("/", 1)[1], copy_url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(copy)))
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(copy), sql.Identifier(source)
            )
        )
    with psycopg.connect(copy_url) as conn:
        conn.execute("UPDATE hub_meta SET value = 'python' WHERE key = 'vector_tiles'")


def tiles_builder(url: str) -> str:
    """Who builds our vector tiles in this database (``hub_meta.vector_tiles``)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT value FROM hub_meta WHERE key = 'vector_tiles'").fetchone()
    return str(row[0]) if row else "unknown"


# --- cold vector tiles ------------------------------------------------------------------

TILE_ZOOMS = (13, 14, 16)
TMS_ID = vector_tiles.TILE_MATRIX_SET


def pick_tiles(tree: shapely.STRtree, zoom: int, count: int) -> list[morecantile.Tile]:
    """Up to ``count`` tiles at ``zoom`` holding parcels, spread over the layer."""
    tms = vector_tiles.TMS
    west, south, east, north = (float(v) for v in shapely.total_bounds(tree.geometries))
    found = [
        t
        for t in tms.tiles(west, south, east, north, [zoom])
        if len(tree.query(shapely.box(*tms.bounds(t))))
    ]
    step = max(1, len(found) // count)
    return found[::step][:count]


def tile_url(server: str, base: str, tile: morecantile.Tile) -> str:
    """A tile's URL on one of the servers (ours: row then column; tipg: x then y)."""
    if server == "tipg":
        return (
            f"{base}/collections/{TIPG_COLLECTION}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
        )
    return f"{base}/collections/parcels/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"


def tile_parcels(body: bytes) -> set[str]:
    """The cadastral numbers of a decoded MVT's features."""
    layers = mapbox_vector_tile.decode(body) if body else {}
    return {
        f["properties"]["cadastral_number"] for layer in layers.values() for f in layer["features"]
    }


def compare_tiles(
    servers: dict[str, tuple[str, str]], tree: shapely.STRtree, args: argparse.Namespace
) -> dict[str, object]:
    """Cold tiles at each zoom from every server, in rounds that alternate their order:
    ours are made cold by a new import time of the layer before each round (the cache is
    per import, so this is what a re-import does); tipg keeps no tiles. Each tile once a
    round from each server, one keep-alive client accepting gzip; the tiles' parcels are
    compared on the first round."""
    tiles = {z: pick_tiles(tree, z, args.tiles) for z in TILE_ZOOMS}
    latencies: dict[str, dict[int, list[float]]] = {s: {z: [] for z in tiles} for s in servers}
    sent: dict[str, dict[int, list[int]]] = {s: {z: [] for z in tiles} for s in servers}
    parcels: dict[str, dict[int, list[set[str]]]] = {s: {z: [] for z in tiles} for s in servers}
    names = list(servers)
    with httpx.Client(timeout=120, headers={"Accept-Encoding": "gzip"}) as client:
        for r in range(args.rounds):
            for url, _ in servers.values():
                with psycopg.connect(url) as conn:
                    conn.execute("UPDATE layers SET imported_at = clock_timestamp()")
            for z, chosen in tiles.items():
                for name in names if r % 2 == 0 else names[::-1]:
                    print(f"round {r + 1}/{args.rounds}: {len(chosen)} cold z{z} tiles, {name}")
                    for tile in chosen:
                        began = time.perf_counter()
                        answer = client.get(tile_url(name, servers[name][1], tile))
                        answer.raise_for_status()
                        latencies[name][z].append(time.perf_counter() - began)
                        sent[name][z].append(answer.num_bytes_downloaded)
                        if r == 0:
                            parcels[name][z].append(tile_parcels(answer.content))
    out: dict[str, object] = {
        "tiles_per_zoom": {f"z{z}": len(t) for z, t in tiles.items()},
        "rounds": args.rounds,
    }
    for z in tiles:
        figures = {
            name: {
                "p50_ms": _ms(latencies[name][z], 50),
                "p95_ms": _ms(latencies[name][z], 95),
                "sent_kb_median": round(float(np.median(sent[name][z])) / 1000, 1),
                "features_median": int(np.median([len(p) for p in parcels[name][z]])),
            }
            for name in names
        }
        tipg = figures["tipg"]["p50_ms"]
        out[f"z{z}"] = figures | {
            "ratios_over_tipg_p50": {
                n: round(figures[n]["p50_ms"] / tipg, 3) for n in names if n != "tipg"
            },
            "same_parcels_as_tipg": {
                n: [
                    {"only_ours": len(a - b), "only_tipg": len(b - a)}
                    for a, b in zip(parcels[n][z], parcels["tipg"][z], strict=True)
                    if a != b
                ]
                or "all tiles"
                for n in names
                if n != "tipg"
            },
        }
    return out


# --- bboxes and correctness -----------------------------------------------------------

Bbox = tuple[float, float, float, float]


def pick_bboxes(
    tree: shapely.STRtree, target: int, count: int, rng: np.random.Generator
) -> list[Bbox]:
    """``count`` square CRS84 bboxes at random over the layer, each intersecting ``target`` to
    ``1.1 * target`` parcels (by geometry), so that both servers fill a page of ``target``."""
    minx, miny, maxx, maxy = shapely.total_bounds(tree.geometries)
    cell = float(np.sqrt(np.median(shapely.area(tree.geometries))))  # degrees, calibrated below
    aspect = float(np.cos(np.radians((miny + maxy) / 2)))  # a degree of longitude is shorter
    found: list[Bbox] = []
    while len(found) < count:
        half = cell * np.sqrt(target) / 2
        cx = rng.uniform(minx + 2 * half / aspect, maxx - 2 * half / aspect)
        cy = rng.uniform(miny + 2 * half, maxy - 2 * half)
        for _ in range(12):
            box = (cx - half / aspect, cy - half, cx + half / aspect, cy + half)
            hits = len(tree.query(shapely.box(*box), predicate="intersects"))
            if target <= hits <= 1.1 * target:
                west, south, east, north = (round(float(v), 7) for v in box)
                found.append((west, south, east, north))
                break
            half *= np.sqrt(1.05 * target / max(hits, 1))
    return found


# PostgreSQL compares geometric types (box &&) with a tolerance, EPSILON in geo_decls.h:
# in degrees, about 11 cm north-south and 8 cm east-west here.
PG_EPSILON = 1.0e-6


@dataclass(frozen=True)
class Truth:
    """The parcels a bbox selects under three rules, computed here with shapely."""

    intersects: set[int]
    """Geometry intersects the bbox: what OGC API - Features requires."""
    bbox_overlaps: set[int]
    """The parcel's own bounding box overlaps the bbox."""
    bbox_overlaps_fuzzy: set[int]
    """As PostgreSQL's ``box && box`` decides: overlaps within :data:`PG_EPSILON`."""


def truth(tree: shapely.STRtree, bbox: Bbox) -> Truth:
    """Which parcels (indices, 0-based in ``tree``) ``bbox`` selects under each rule."""
    window = shapely.box(*bbox)
    grown = shapely.box(*np.add(bbox, [-PG_EPSILON, -PG_EPSILON, PG_EPSILON, PG_EPSILON]))
    return Truth(
        set(tree.query(window, predicate="intersects").tolist()),
        set(tree.query(window).tolist()),
        set(tree.query(grown).tolist()),
    )


def _numbers(indices: set[int]) -> set[str]:
    return {f"TM-{i + 1:06d}" for i in indices}


def _params(bbox: Bbox, limit: int) -> dict[str, str | int]:
    return {"bbox": ",".join(map(str, bbox)), "limit": limit}


def get_page(client: httpx.Client, url: str, bbox: Bbox, limit: int) -> httpx.Response:
    """One ``/items`` request, raising on an error status."""
    answer = client.get(url, params=_params(bbox, limit), headers=ACCEPT)
    answer.raise_for_status()
    return answer


def cadastral_numbers(client: httpx.Client, url: str, bbox: Bbox) -> set[str]:
    """Every parcel a server returns for ``bbox`` (one page of up to 10,000)."""
    features = get_page(client, url, bbox, 10_000).json()["features"]
    return {f["properties"]["cadastral_number"] for f in features}


def _rule_of(found: set[str], expected: Truth) -> str:
    """Which rule a server's answer follows exactly, if any."""
    for rule in ("intersects", "bbox_overlaps", "bbox_overlaps_fuzzy"):
        if found == _numbers(getattr(expected, rule)):
            return rule
    return "none of them"


def check_same_features(
    ours_url: str, theirs_url: str, tree: shapely.STRtree, bboxes: list[Bbox], rival: str
) -> dict[str, object]:
    """For each bbox, whether both servers return the same parcels, and which rule each
    follows (a parcel ours returns beyond the rival's is named with why)."""
    checks = []
    with httpx.Client(timeout=120) as client:
        for bbox in bboxes:
            expected = truth(tree, bbox)
            ours = cadastral_numbers(client, ours_url, bbox)
            theirs = cadastral_numbers(client, theirs_url, bbox)
            check = {
                "bbox": bbox,
                "geometry_intersects": len(expected.intersects),
                "ours": len(ours),
                rival: len(theirs),
                "same": ours == theirs,
                "ours_follows": _rule_of(ours, expected),
                f"{rival}_follows": _rule_of(theirs, expected),
                "only_ours": sorted(ours - theirs),
                f"only_{rival}": sorted(theirs - ours),
            }
            checks.append(check)
            print(
                f"  {bbox}: ours {len(ours)}, {rival} {len(theirs)},"
                f" geometry intersects {len(expected.intersects)}"
                + (
                    ""
                    if check["same"]
                    else f" -> CORRECTNESS FAILURE: only ours {check['only_ours']},"
                    f" only {rival} {check[f'only_{rival}']}; ours follows"
                    f" {check['ours_follows']}, {rival} {check[f'{rival}_follows']}"
                ),
                flush=True,
            )
    return {"all_same": all(c["same"] for c in checks), "bboxes": checks}


def rule_differences(tree: shapely.STRtree, bboxes: list[Bbox]) -> dict[str, int]:
    """Over the timed bboxes: parcels the looser rules add to the standard's."""
    every = [truth(tree, b) for b in bboxes]
    return {
        "bboxes": len(bboxes),
        "bboxes_where_rules_differ": sum(t.bbox_overlaps_fuzzy != t.intersects for t in every),
        "parcels_added_by_bbox_overlap": sum(len(t.bbox_overlaps - t.intersects) for t in every),
        "parcels_added_by_postgresql_epsilon": sum(
            len(t.bbox_overlaps_fuzzy - t.bbox_overlaps) for t in every
        ),
    }


def validate_pages(url: str, bboxes: list[Bbox], limit: int) -> dict[str, int]:
    """Check every timed request returns a full page of ``limit``; the median response
    size, as sent to a client accepting gzip and decoded."""
    sent, decoded = [], []
    with httpx.Client(timeout=120) as client:
        for bbox in bboxes:
            answer = get_page(client, url, bbox, limit)
            returned = len(answer.json()["features"])
            if returned != limit:
                raise SystemExit(f"FAILURE: {url} returned {returned} features for {bbox}")
            sent.append(answer.num_bytes_downloaded)
            decoded.append(len(answer.content))
    return {"sent_gzip": int(np.median(sent)), "decoded": int(np.median(decoded))}


def epsg3844_check(base: str, bbox: Bbox, expected: int) -> dict[str, object]:
    """What pygeoapi returns from the Stereo 70 GeoPackage itself (``storage_crs`` EPSG:3844)."""
    with httpx.Client(timeout=120) as client:
        found = len(cadastral_numbers(client, f"{base}/collections/parcels_epsg3844/items", bbox))
    verdict = "works" if found == expected else "wrong features (Stereo 70 axis order)"
    print(f"  pygeoapi on the Stereo 70 GeoPackage: {found} parcels of {expected} -> {verdict}")
    return {"bbox": bbox, "parcels": found, "expected": expected, "verdict": verdict}


# --- measurement ----------------------------------------------------------------------


def backends_of(database: str) -> Callable[[], list[int]]:
    """The PostgreSQL backends now connected to ``database`` (our server's pool)."""

    def pids() -> list[int]:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
            ).fetchall()
        return [int(r[0]) for r in rows]

    return pids


@dataclass
class Server:
    """One server under test: its ``/items`` URL and the processes doing its work."""

    name: str
    items_url: str
    pids: dict[str, Callable[[], list[int]]]
    """Party (``server``, ``postgresql``) -> its processes now (the pool may add backends)."""

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each party, and of this client process."""
        spent = {party: cpu_seconds(pids()) for party, pids in self.pids.items()}
        return spent | {"client": time.process_time()}


@dataclass
class Samples:
    """What one server did for one page size, added up over the rounds."""

    latencies: list[float] = field(default_factory=list)
    sequential_cpu: dict[str, float] = field(default_factory=dict)
    completed: int = 0
    elapsed: float = 0.0
    loaded_latencies: list[float] = field(default_factory=list)
    loaded_cpu: dict[str, float] = field(default_factory=dict)


def _add(total: dict[str, float], before: dict[str, float], after: dict[str, float]) -> None:
    for party in after:
        total[party] = total.get(party, 0.0) + after[party] - before[party]


def sequential(
    server: Server, bboxes: list[Bbox], limit: int, n: int, start: int, into: Samples
) -> None:
    """``n`` requests one after another on one keep-alive connection, each timed."""
    with httpx.Client(timeout=120) as client:
        get_page(client, server.items_url, bboxes[start % len(bboxes)], limit)  # connect
        before = server.cpu()
        for k in range(n):
            began = time.perf_counter()
            get_page(client, server.items_url, bboxes[(start + k) % len(bboxes)], limit)
            into.latencies.append(time.perf_counter() - began)
        _add(into.sequential_cpu, before, server.cpu())


def concurrent(
    server: Server, bboxes: list[Bbox], limit: int, seconds: float, threads: int, into: Samples
) -> float:
    """``threads`` keep-alive clients sending requests for ``seconds``; their requests/s."""
    clients = [httpx.Client(timeout=120) for _ in range(threads)]
    for client in clients:  # connect before the clock starts
        get_page(client, server.items_url, bboxes[0], limit)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    finished = [0.0] * threads
    failures: list[BaseException] = []
    start = threading.Barrier(threads + 1)

    def work(k: int) -> None:
        start.wait()
        deadline = time.perf_counter() + seconds
        i = k * len(bboxes) // threads
        try:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                get_page(clients[k], server.items_url, bboxes[i % len(bboxes)], limit)
                latencies[k].append(time.perf_counter() - began)
                i += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finished[k] = time.perf_counter()

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    before = server.cpu()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    _add(into.loaded_cpu, before, server.cpu())
    for client in clients:
        client.close()
    if failures:
        raise RuntimeError(f"{server.name}: {failures[0]!r}")
    done = sum(len(t) for t in latencies)
    elapsed = max(finished) - began  # requests in flight at the deadline finish and count
    into.completed += done
    into.elapsed += elapsed
    into.loaded_latencies += [t for per_thread in latencies for t in per_thread]
    return done / elapsed


def measure(
    servers: list[Server], bboxes: dict[int, list[Bbox]], args: argparse.Namespace
) -> dict[int, dict[str, Samples]]:
    """Sequential latency, then throughput, each in rounds that alternate the servers' order."""
    samples = {limit: {s.name: Samples() for s in servers} for limit in bboxes}
    per_round = args.requests // args.rounds
    seconds = args.seconds / args.rounds
    for r in range(args.rounds):
        order = servers if r % 2 == 0 else servers[::-1]
        for limit, boxes in bboxes.items():
            for server in order:
                print(
                    f"round {r + 1}/{args.rounds}, limit={limit}: {server.name},"
                    f" {per_round} sequential requests",
                    flush=True,
                )
                sequential(
                    server, boxes, limit, per_round, r * per_round, samples[limit][server.name]
                )
    for r in range(args.rounds):
        order = servers if r % 2 == 0 else servers[::-1]
        for limit, boxes in bboxes.items():
            for server in order:
                rate = concurrent(
                    server, boxes, limit, seconds, args.threads, samples[limit][server.name]
                )
                print(
                    f"round {r + 1}/{args.rounds}, limit={limit}: {server.name},"
                    f" {args.threads} clients for {seconds:.1f} s: {rate:,.1f} requests/s",
                    flush=True,
                )
    return samples


# --- profile of our server ------------------------------------------------------------


def _pg_box(bbox: Bbox) -> str:
    return "(({},{}),({},{}))".format(*bbox)


def _plan_outline(node: dict[str, object]) -> str:
    """A plan as ``Limit > Sort > Bitmap Heap Scan > Bitmap Index Scan (index)``."""
    label = str(node["Node Type"]) + (f" ({node['Index Name']})" if "Index Name" in node else "")
    children = node.get("Plans")
    return label + (" > " + _plan_outline(children[0]) if isinstance(children, list) else "")


def sql_profile(url: str, bboxes: list[Bbox], limit: int, n: int) -> dict[str, object]:
    """Our ``/items`` statements alone, from psycopg on this machine bound as the server binds
    them: p50 of the page and of the count, and one EXPLAIN ANALYZE of each."""
    page_s, count_s = [], []
    with psycopg.connect(url, autocommit=True) as conn:
        for k in range(n):
            params = {"layer": "parcels", "bbox": _pg_box(bboxes[k % len(bboxes)]), "limit": limit}
            began = time.perf_counter()
            conn.execute(ITEMS_SQL, params).fetchall()
            middle = time.perf_counter()
            conn.execute(COUNT_SQL, params).fetchone()
            page_s.append(middle - began)
            count_s.append(time.perf_counter() - middle)
        params = {"layer": "parcels", "bbox": _pg_box(bboxes[0]), "limit": limit}
        explained = {}
        for name, statement in (("page", ITEMS_SQL), ("count", COUNT_SQL)):
            explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)" + statement
            row = psycopg.ClientCursor(conn).execute(explain, params).fetchone()
            plan = row[0][0] if row else {}
            explained[name] = {
                "execution_ms": round(plan["Execution Time"], 3),
                "planning_ms": round(plan["Planning Time"], 3),
                "plan": _plan_outline(plan["Plan"]),
            }
    return {
        "page_sql_p50_ms": round(1000 * statistics.median(page_s), 3),
        "count_sql_p50_ms": round(1000 * statistics.median(count_s), 3),
        "explain_analyze": explained,
    }


# --- report ---------------------------------------------------------------------------


def _ms(seconds: list[float], q: float) -> float:
    return round(1000 * float(np.percentile(seconds, q)), 2)


def _per_request(cpu: dict[str, float], requests: int) -> dict[str, float]:
    return {party: round(1000 * spent / requests, 2) for party, spent in cpu.items()}


def summarise(samples: Samples, response_bytes: dict[str, int]) -> dict[str, object]:
    """Absolute figures of one server for one page size."""
    return {
        "sequential_requests": len(samples.latencies),
        "p50_ms": _ms(samples.latencies, 50),
        "p95_ms": _ms(samples.latencies, 95),
        "mean_ms": round(1000 * statistics.fmean(samples.latencies), 2),
        "throughput_rps": round(samples.completed / samples.elapsed, 1),
        "throughput_requests": samples.completed,
        "under_load_p50_ms": _ms(samples.loaded_latencies, 50),
        "under_load_p95_ms": _ms(samples.loaded_latencies, 95),
        "cpu_ms_per_request_sequential": _per_request(
            samples.sequential_cpu, len(samples.latencies)
        ),
        "cpu_ms_per_request_under_load": _per_request(samples.loaded_cpu, samples.completed),
        "response_bytes_median": response_bytes,
        "response_kb_ratio_sent_over_decoded": round(
            response_bytes["sent_gzip"] / response_bytes["decoded"], 3
        ),
    }


def report(
    samples: dict[int, dict[str, Samples]],
    sizes: dict[int, dict[str, dict[str, int]]],
    rival: str,
) -> dict[str, object]:
    """Per page size: both servers' figures, the ratios ours/rival and issue 4's targets."""
    out: dict[str, object] = {}
    for limit, by_server in samples.items():
        ours = by_server["ours"]
        theirs = by_server[rival]
        p50 = (_ms(ours.latencies, 50), _ms(theirs.latencies, 50))
        p95 = (_ms(ours.latencies, 95), _ms(theirs.latencies, 95))
        rates = (ours.completed / ours.elapsed, theirs.completed / theirs.elapsed)
        out[f"limit_{limit}"] = {
            "ours": summarise(ours, sizes[limit]["ours"]),
            rival: summarise(theirs, sizes[limit][rival]),
            f"ratios_ours_over_{rival}": {
                "p50_latency": round(p50[0] / p50[1], 3),
                "p95_latency": round(p95[0] / p95[1], 3),
                "throughput": round(rates[0] / rates[1], 2),
                "bytes_sent_gzip": round(
                    sizes[limit]["ours"]["sent_gzip"] / sizes[limit][rival]["sent_gzip"], 3
                ),
            },
            "targets": {
                "p50_ms_under": TARGET_LIMITS[limit],
                "p50_met": p50[0] < TARGET_LIMITS[limit],
                f"throughput_at_least_2x_{rival}": rates[0] >= 2 * rates[1],
            },
        }
    return out


def machine_facts() -> dict[str, object]:
    """What the figures were measured on."""
    with psycopg.connect(ADMIN_URL) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": row[0] if row else None,
        "loadavg_at_start": [round(v, 2) for v in os.getloadavg()],
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --- main -----------------------------------------------------------------------------


def compare(
    url: str,
    ours_base: str,
    theirs: tuple[str, str, int],
    pid: int,
    tree: shapely.STRtree,
    args: argparse.Namespace,
) -> dict[str, object]:
    """Bboxes, correctness, then the measurement and our SQL profile, both servers running;
    ``theirs`` is the rival's name, its items URL and its process."""
    rival, theirs_items, theirs_pid = theirs
    rng = np.random.default_rng(SEED)
    bboxes = {limit: pick_bboxes(tree, limit, args.bboxes, rng) for limit in TARGET_LIMITS}
    servers = [
        Server(
            "ours",
            f"{ours_base}/collections/parcels/items",
            {"server": lambda: [pid], "postgresql": backends_of(url.rsplit("/", 1)[1])},
        ),
        Server(rival, theirs_items, {"server": lambda: [theirs_pid]}),
    ]
    results: dict[str, object] = {}
    print(
        "correctness: the parcels each server returns for a few bboxes (limit=10000) ...",
        flush=True,
    )
    checks = check_same_features(
        servers[0].items_url, theirs_items, tree, bboxes[100][:6] + bboxes[1000][:3], rival
    )
    checks["timed_bboxes"] = {f"limit_{k}": rule_differences(tree, b) for k, b in bboxes.items()}
    results["correctness"] = checks
    if rival == "pygeoapi":
        reference = checks["bboxes"][0]  # type: ignore[index]
        results["pygeoapi_epsg3844_check"] = epsg3844_check(
            theirs_items.rsplit("/collections/", 1)[0], reference["bbox"], reference["pygeoapi"]
        )
    sizes = {}
    for limit, boxes in bboxes.items():
        print(
            f"checking the {len(boxes)} bboxes of limit={limit} give full pages (warm-up) ...",
            flush=True,
        )
        sizes[limit] = {s.name: validate_pages(s.items_url, boxes, limit) for s in servers}
    results["results"] = report(measure(servers, bboxes, args), sizes, rival)
    print("profile: our SQL alone ...", flush=True)
    results["profile_ours_sql_alone"] = {
        f"limit_{limit}": sql_profile(url, boxes, limit, args.requests)
        for limit, boxes in bboxes.items()
    }
    return results


def run(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    """Data, the servers, the comparison; everything started here is stopped here."""
    results: dict[str, object] = {"machine": machine_facts()}
    print(f"generating {args.parcels:,} parcels ...", flush=True)
    began = time.perf_counter()
    parcels = generate_parcels(args.parcels)
    stereo, crs84 = write_geopackages(parcels, workdir)
    tree = shapely.STRtree(parcels.to_crs("OGC:CRS84").geometry.values)
    print(
        f"  {time.perf_counter() - began:.1f} s, {stereo.stat().st_size / 1e6:.1f} MB", flush=True
    )
    python = (ensure_tipg_venv if args.rival == "tipg" else ensure_pygeoapi_venv)(
        TIPG_VENV if args.rival == "tipg" else PYGEOAPI_VENV
    )
    name = f"features_bench_{os.getpid()}"
    with scratch_database(name) as url, scratch_database(f"{name}_nopostgis") as plain_url:
        print("importing through gis_layers.importer ...", flush=True)
        began = time.perf_counter()
        imported = load_parcels(url, stereo)
        print(
            f"  {imported:,} parcels in {time.perf_counter() - began:.1f} s (with VACUUM ANALYZE)",
            flush=True,
        )
        results["data"] = {
            "parcels": imported,
            "crs": "EPSG:3844",
            "extent_crs84": [round(v, 5) for v in shapely.total_bounds(tree.geometries)],
            "median_area_m2": float(np.median(parcels["area_m2"])),
            "gpkg_mb": round(stereo.stat().st_size / 1e6, 1),
            "import_s": round(time.perf_counter() - began, 1),
            "vector_tiles_built_by": tiles_builder(url),
        }
        results["servers"] = {"ours": OURS_DESCRIPTION}
        probe = "/collections/parcels"
        if args.rival == "pygeoapi":
            results["servers"]["pygeoapi"] = pygeoapi_versions(python) | {  # type: ignore[index]
                "provider": "OGR (GDAL's GeoPackage driver, R-tree spatial filter)",
                "server": "pygeoapi.starlette_app:APP under uvicorn --workers 1",
                "data": "parcels_crs84.gpkg: the same parcels reprojected to CRS84",
            }
            sources = {"parcels": (crs84, CRS84_URI), "parcels_epsg3844": (stereo, STEREO70_URI)}
            rival = pygeoapi_server(python, workdir, sources)
            rival_items = "/collections/parcels/items"
        else:
            load_tipg_table(url, parcels.to_crs("OGC:CRS84"))
            results["servers"]["tipg"] = tipg_versions(python) | {  # type: ignore[index]
                "server": "tipg.main:app under uvicorn --workers 1",
                "data": "table tipg.parcels: the same parcels in EPSG:4326, GiST-indexed",
                "settings": TIPG_SETTINGS,
            }
            rival = tipg_server(python, url)
            probe_rival = f"/collections/{TIPG_COLLECTION}"
            rival_items = f"/collections/{TIPG_COLLECTION}/items"
            copy_without_postgis(url, plain_url)
        with (
            running("our server", *our_server(url), probe) as (ours_base, ours_pid),
            running(args.rival, *rival, probe if args.rival == "pygeoapi" else probe_rival) as (
                theirs_base,
                theirs_pid,
            ),
        ):
            results |= compare(
                url,
                ours_base,
                (args.rival, theirs_base + rival_items, theirs_pid),
                ours_pid,
                tree,
                args,
            )
            if args.rival == "tipg":
                with running("our server without PostGIS", *our_server(plain_url), probe) as (
                    plain_base,
                    _,
                ):
                    results["tiles"] = compare_tiles(
                        {
                            "ours": (url, ours_base),
                            "ours_without_postgis": (plain_url, plain_base),
                            "tipg": (url, theirs_base),
                        },
                        tree,
                        args,
                    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--bboxes", type=int, default=50, help="different bboxes per page size")
    parser.add_argument("--requests", type=int, default=200, help="sequential, per server and size")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="throughput, per server and size"
    )
    parser.add_argument("--threads", type=int, default=4, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=4, help="alternations between the servers")
    parser.add_argument("--rival", choices=["tipg", "pygeoapi"], default="tipg")
    parser.add_argument("--tiles", type=int, default=30, help="cold tiles per zoom and round")
    parser.add_argument("--out", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="features-bench-") as tmp:
        results = run(args, Path(tmp))
    results["machine"]["loadavg_at_end"] = [round(v, 2) for v in os.getloadavg()]  # type: ignore[index]
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
