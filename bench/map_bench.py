"""The town map with 100,000 parcels in headless Chromium: vector tiles against GeoJSON (issue 4).

Run from the repository root (PostgreSQL on 127.0.0.1:5432, Debian's chromium):

    .venv/bin/python bench/map_bench.py

What it does, every step in this one command:

1. Generates the 100,000 parcels of ``bench/features_bench.py`` (Stereo 70) and imports
   them as collection ``parcels`` into a scratch database through our importer, with one
   asset, a town hall at the parcels' centre: ``/map/deck.json`` centres the view on the
   assets and, with none, on (0, 0), far from any parcel.
2. Serves it with ``smartcity serve`` as its own process, logging every request
   (``harness/live.py`` ``served``).
3. Starts a fresh headless Chromium per run (software WebGL: SwiftShader) and drives it
   over the Chrome DevTools Protocol (``harness/headless_chromium.py``): it signs in on
   the hub's login page as a planner (a local account made in the scratch database),
   then opens ``GET /map`` with its session cookie; a script injected
   before the page's own keeps the ``Deck`` that the page's ``createDeck`` returns and
   times every frame deck.gl draws (``onAfterRender``). Four variants of the same page:

   - ``mvt``: the page as served: parcels by deck.gl's MVTLayer over our Mapbox Vector
     Tiles, decoded into binary arrays in the web worker the hub serves, filled by land
     use, outlines (a second MVTLayer over the same tiles) from zoom 14;
   - ``mvt-outlines-everywhere``: the same with outlines at every zoom, as the map drew
     them before (what the outline rule saves);
   - ``geojson-tiles``: both layers as TileLayers over the GeoJSON encoding of the same
     tiles (``?f=geojson``: unclipped features, parsed on the main thread; what the map
     used before; what MVT and the worker save);
   - ``geojson``: the naive baseline, the fills as one GeoJsonLayer of all parcels, which
     the injected script assembles from ``/collections/parcels/items`` pages (``limit``
     is capped at 10,000) fetched in parallel and hands to deck.gl as one GeoJSON text,
     as a single file would be; outlines as served.

4. Per run: the time from navigation to the first frame drawn after the parcels layer
   reports ``isLoaded`` (every selected tile, or the one GeoJSON, loaded and its
   sublayers built) at the initial view, with the requests and bytes (Resource Timing
   ``transferSize``) it took; then two 5-second motions stepped each
   ``requestAnimationFrame`` through ``deck.setProps({viewState})`` - the whole town
   (zoom 11.95-12.45) and a street view with thousands of parcels on screen (zoom
   15.15-15.45), both circling the centre - counting the frames deck.gl drew and their
   intervals (p50, p95, max), the main thread's long tasks, and the data requested.
   While moving, each frame is waited for (a one-pixel ``readPixels`` after it):
   WebGL only queues commands, and SwiftShader draws them seconds later, so frames
   submitted but not yet drawn would otherwise count as frames seen. Apart from that
   wait, each frame's main-thread work is timed: the layer manager's updates (new tiles'
   sublayers and their attributes) and the draw (``onBeforeRender`` to
   ``onAfterRender``: deck.gl's JavaScript and handing the draw calls over), which is
   what a frame costs the CPU on a machine whose GPU draws it. Decoding tiles is not a
   frame's work: in the worker (MVT) or in the fetch callback (GeoJSON).
5. One warm-up run of each variant (the server's tile cache is cold: reported apart),
   then ``--repeats`` rounds alternating the variants; prints one JSON document with
   medians and ranges, ratios of each baseline to ``mvt`` and a markdown table; saves a
   screenshot of each variant at the initial view to ``/tmp/map_bench_{variant}.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features_bench import generate_parcels, load_parcels, write_geopackages  # noqa: E402
from scratch_db import ADMIN_URL, scratch_database  # noqa: E402

from auth.principal import Role  # noqa: E402
from gis_layers.importer import import_file  # noqa: E402
from harness.credentials import account  # noqa: E402
from harness.headless_chromium import CHROMIUM, WINDOW, chromium, sign_in  # noqa: E402
from harness.live import served  # noqa: E402
from twin.registry import sync_from_layers  # noqa: E402

VARIANTS = ("mvt", "mvt-outlines-everywhere", "geojson-tiles", "geojson")
SERVED = VARIANTS[0]
SCREENSHOT = "/tmp/map_bench_{variant}.png"


@dataclass(frozen=True)
class Motion:
    """A view path: one circle of ``radius_m`` round the centre while the zoom swings
    ``zoom`` +- ``swing`` twice, in ``seconds``."""

    name: str
    zoom: float
    swing: float
    radius_m: float
    seconds: float = 5.0


MOTIONS = (
    # deck.gl zooms count 512-pixel worlds: 7.9 m a pixel at zoom 12.8 here. The town is
    # about 10 x 6.3 km, all of it in a 1200 x 800 view at zoom 11.95-12.45 (z12 tiles)
    Motion("town", zoom=12.2, swing=0.25, radius_m=500),
    # 2.0-2.5 m a pixel: 3,500-5,500 parcels (2.4-3 x 1.6-2 km) on screen (z15 tiles)
    Motion("street", zoom=15.3, swing=0.15, radius_m=600),
)

# Injected before the page's scripts (Page.addScriptToEvaluateOnNewDocument). The page
# keeps its Deck in a closure; the bundle's UMD wrapper assigns window.createDeck, so a
# setter hands the page a createDeck that also keeps the Deck for the bench.
HOOK_JS = r"""
(() => {
  const VARIANT = %(variant)s;
  const ALL_PARCELS = '/bench/all-parcels.geojson';
  const PAGE = 10000;  // MAX_LIMIT of /items
  performance.setResourceTimingBufferSize(100000);
  const bench = window.__bench = {renders: [], drawnAt: null, longTasks: [], deck: null};
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) bench.longTasks.push([e.startTime, e.duration]);
  }).observe({type: 'longtask', buffered: true});

  function parcels() {
    const deck = bench.deck;
    if (!deck || !deck.layerManager) return null;
    return deck.layerManager.getLayers().find(l => l.id === 'parcels') || null;
  }
  // GeoJSON tiles hold features; binary MVT tiles hold polygons with a feature id per
  // vertex, counted only when reported (not while polling: it walks every vertex)
  const count = t => !t.content ? 0 : t.content.features ? t.content.features.length
    : t.content.polygons ? new Set(t.content.polygons.featureIds.value).size : 0;
  bench.parcelsState = function (counted) {
    const layer = parcels();
    if (!layer) return {loaded: false, features: 0, tiles: 0};
    if (layer.state && layer.state.tileset) {
      const tiles = layer.state.tileset.selectedTiles || [];
      const features = counted ? tiles.reduce((n, t) => n + count(t), 0) : null;
      return {loaded: layer.isLoaded && tiles.length > 0, features, tiles: tiles.length};
    }
    const data = layer.props.data;
    const features = data && data.features ? data.features.length : 0;
    return {loaded: layer.isLoaded && features > 0, features, tiles: 0};
  };
  // WebGL calls only queue commands for the GPU process (SwiftShader here, seconds a
  // frame): reading a pixel waits until every queued command has been executed.
  bench.finish = function () {
    const gl = bench.deck && bench.deck.device && bench.deck.device.gl;
    if (gl) gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
  };
  // The main thread's work for a frame: updating the layers (new tiles' sublayers and
  // their attributes, in the layer manager) and drawing them (deck.gl's JavaScript and
  // handing the draw calls to the GPU process), not the GPU's execution of them.
  bench.submits = [];
  let updating = 0;
  function timed(manager, name) {
    const original = manager[name].bind(manager);
    manager[name] = (...args) => {
      const t = performance.now();
      try { return original(...args); } finally { updating += performance.now() - t; }
    };
  }
  function onBeforeRender() {
    const manager = bench.deck.layerManager;
    if (manager && !manager.__timed) {
      timed(manager, 'updateLayers');
      timed(manager, 'setLayers');
      manager.__timed = true;
    }
    bench.frameStart = performance.now();
  }
  function onAfterRender() {
    const submitted = performance.now();
    bench.submits.push([submitted, submitted - bench.frameStart + updating]);
    updating = 0;
    // while moving, each frame is waited for: without it deck.gl queues frames far
    // faster than SwiftShader draws them, and a frame counted is not a frame seen
    if (bench.syncFrames) bench.finish();
    const now = performance.now();
    bench.renders.push(now);
    if (bench.drawnAt === null && bench.parcelsState().loaded) {
      bench.submittedAt = now;
      bench.finish();
      bench.drawnAt = performance.now();
    }
  }
  let realCreate;
  Object.defineProperty(window, 'createDeck', {
    configurable: true,
    set(fn) { realCreate = fn; },
    get() {
      return realCreate && function (options) {
        const deck = realCreate(options);
        bench.deck = deck;
        deck.setProps({onBeforeRender, onAfterRender});
        return deck;
      };
    },
  });

  if (VARIANT === 'mvt') return;
  const realFetch = window.fetch.bind(window);
  async function allParcels() {
    // our FeatureCollection ends with "features": [...]}: splice the arrays, parse nothing
    const page = async offset => {
      const answer = await realFetch(`/collections/parcels/items?limit=${PAGE}&offset=${offset}`);
      if (!answer.ok) throw new Error('items: HTTP ' + answer.status);
      return answer.text();
    };
    const first = await page(0);
    const matched = Number(/"numberMatched":\s*(\d+)/.exec(first)[1]);
    const offsets = [];
    for (let o = PAGE; o < matched; o += PAGE) offsets.push(o);
    const pages = [first, ...(await Promise.all(offsets.map(page)))];
    const inner = pages.map(text => {
      const start = text.indexOf('"features": [') + '"features": ['.length;
      return text.slice(start, text.lastIndexOf(']}'));
    }).filter(s => s.length);
    return '{"type": "FeatureCollection", "features": [' + inner.join(',') + ']}';
  }
  window.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input.url;
    if (url.includes('/map/deck.json')) {
      const json = await (await realFetch(input, init)).json();
      json.layers = json.layers.map(layer => {
        if (layer.id !== 'parcels' && layer.id !== 'parcels-outlines') return layer;
        if (VARIANT === 'mvt-outlines-everywhere') {
          return layer.id === 'parcels-outlines' ? {...layer, minZoom: 0} : layer;
        }
        const {binary, loadOptions, ...style} = layer;
        if (VARIANT === 'geojson-tiles') {
          return {...style, '@@type': 'TileLayer', data: layer.data + '?f=geojson'};
        }
        if (layer.id === 'parcels-outlines') return layer;  // geojson: outlines as served
        const {minZoom, maxZoom, ...fills} = style;
        return {...fills, '@@type': 'GeoJsonLayer', data: ALL_PARCELS};
      });
      return new Response(JSON.stringify(json), {headers: {'Content-Type': 'application/json'}});
    }
    if (url.includes(ALL_PARCELS)) {
      return new Response(await allParcels(), {headers: {'Content-Type': 'application/geo+json'}});
    }
    return realFetch(input, init);
  };
})();
"""

# Evaluated in the page, awaited: resolves when the parcels are drawn at the initial view.
DRAWN_JS = r"""
(async (timeoutMs) => {
  const bench = window.__bench;
  const t0 = performance.now();
  while (bench.drawnAt === null) {
    if (performance.now() - t0 > timeoutMs) {
      throw new Error('parcels not drawn: ' + JSON.stringify(bench.parcelsState()));
    }
    await new Promise(r => setTimeout(r, 20));
  }
  const drawn = bench.drawnAt;
  const resources = performance.getEntriesByType('resource');
  const deckJson = resources.find(e => e.name.includes('/map/deck.json'));
  const data = resources
    .filter(e => /\/collections\/parcels\//.test(e.name) && e.responseEnd <= drawn);
  return {
    drawn_ms: drawn,
    submitted_ms: bench.submittedAt,
    deck_json_ms: deckJson ? deckJson.responseEnd : null,
    requests: data.length,
    bytes: data.reduce((n, e) => n + e.transferSize, 0),
    data_done_ms: data.reduce((m, e) => Math.max(m, e.responseEnd), 0),
    long_tasks_ms: bench.longTasks.filter(([s]) => s <= drawn).reduce((n, [, d]) => n + d, 0),
    heap_mb: performance.memory ? performance.memory.usedJSHeapSize / 1e6 : null,
    ...bench.parcelsState(true),
  };
})(%(timeout)d)
"""

# Evaluated in the page, awaited: settle at the motion's start, then step it every frame.
MOTION_JS = r"""
(async (m, timeoutMs) => {
  const bench = window.__bench, deck = bench.deck;
  const degLon = 111320 * Math.cos(m.lat * Math.PI / 180), degLat = 110540;
  const view = f => ({
    longitude: m.lon + m.radius_m / degLon * Math.cos(2 * Math.PI * f),
    latitude: m.lat + m.radius_m / degLat * Math.sin(2 * Math.PI * f),
    zoom: m.zoom + m.swing * Math.sin(4 * Math.PI * f), pitch: 0, bearing: 0,
  });
  deck.setProps({viewState: view(0)});
  const s0 = performance.now();
  let settled = false;
  while (performance.now() - s0 < timeoutMs) {
    await new Promise(r => setTimeout(r, 50));
    if (bench.parcelsState().loaded) { deck.redraw(true); settled = true; break; }
  }
  await new Promise(r => setTimeout(r, 500));
  bench.finish();
  bench.syncFrames = true;
  const t0 = performance.now(), duration = m.seconds * 1000;
  const ticks = [];
  await new Promise(resolve => {
    function step(now) {
      const t = performance.now() - t0;
      ticks.push(performance.now());
      if (t >= duration) return resolve();
      deck.setProps({viewState: view(t / duration)});
      requestAnimationFrame(step);
    }
    requestAnimationFrame(step);
  });
  bench.syncFrames = false;
  const t1 = performance.now();
  const renders = bench.renders.filter(r => r >= t0 && r <= t1);
  const gaps = [];
  let previous = t0;
  for (const r of renders) { gaps.push(r - previous); previous = r; }
  gaps.push(t1 - previous);
  const data = performance.getEntriesByType('resource')
    .filter(e => /\/collections\/parcels\//.test(e.name) && e.startTime >= t0 && e.startTime <= t1);
  return {
    settled, settle_ms: t0 - 500 - s0,
    seconds: (t1 - t0) / 1000,
    frames: renders.length,
    raf_ticks: ticks.length,
    gaps_ms: gaps,
    submit_ms: bench.submits.filter(([s]) => s >= t0 && s <= t1).map(([, d]) => d),
    long_tasks_ms: bench.longTasks
      .filter(([s]) => s >= t0 && s <= t1).reduce((n, [, d]) => n + d, 0),
    requests: data.length,
    bytes: data.reduce((n, e) => n + e.transferSize, 0),
    end_state: bench.parcelsState(true),
  };
})(%(motion)s, %(timeout)d)
"""


# --- data -----------------------------------------------------------------------------


def prepare(url: str, count: int, workdir: Path) -> dict[str, object]:
    """Parcels as collection ``parcels`` and one asset at their centre (the map's centre)."""
    parcels = generate_parcels(count)
    stereo, _ = write_geopackages(parcels, workdir)
    began = time.perf_counter()
    imported = load_parcels(url, stereo)
    centre = shapely.box(*parcels.total_bounds).centroid
    assets = gpd.GeoDataFrame(
        {"asset_id": ["town-hall"], "name": ["Town hall"], "kind": ["town_hall"]},
        geometry=[centre],
        crs=parcels.crs,
    )
    assets_file = workdir / "assets.gpkg"
    assets.to_file(assets_file, layer="assets", driver="GPKG", engine="pyogrio")
    with psycopg.connect(url) as conn:
        import_file(conn, assets_file, name="assets")
        sync_from_layers(conn)
    lonlat = gpd.GeoSeries([centre], crs=parcels.crs).to_crs("OGC:CRS84").iloc[0]
    extent = parcels.to_crs("OGC:CRS84").total_bounds
    return {
        "parcels": imported,
        "extent_crs84": [round(float(v), 5) for v in extent],
        "centre_crs84": [round(lonlat.x, 5), round(lonlat.y, 5)],
        "import_s": round(time.perf_counter() - began, 1),
    }


# --- one run ----------------------------------------------------------------------------


@dataclass
class AccessLog:
    """The server's access log, read a run at a time."""

    path: Path
    offset: int = 0

    def since_last(self) -> dict[str, object]:
        """Requests the server answered since the last call: parcel tiles and items pages."""
        time.sleep(0.3)  # the server logs after it answers
        with self.path.open() as log:
            log.seek(self.offset)
            text = log.read()
            self.offset = log.tell()
        answered = re.findall(r'"GET (\S+) HTTP/[\d.]+" (\d{3})', text)
        tiles = [status for path, status in answered if "/collections/parcels/tiles/" in path]
        items = [status for path, status in answered if "/collections/parcels/items" in path]
        return {
            "parcel_tiles": len(tiles),
            "parcel_items_pages": len(items),
            "not_200": sorted({f"{p} {s}" for p, s in answered if s != "200"})[:10],
        }


def run_once(
    base: str,
    variant: str,
    centre: tuple[float, float],
    workdir: Path,
    screenshot: Path | None,
    planner: tuple[str, str],
) -> dict[str, Any]:
    """Load /map in a fresh Chromium as ``variant``; time the first draw and the motions.

    The browser signs in first, on the login page as a user does, landing on
    ``/auth/me`` (whose JSON page makes the browser ask for ``/favicon.ico``: one 404
    in each run's server log); the timed load of /map is then a navigation of a
    signed-in browser (the session cookie on every request), timed from its start as
    before sign-in existed, with the server's tile cache as the previous runs left it."""
    with chromium(workdir) as cdp:
        cdp.navigate(f"{base}/auth/login?next=/auth/me")
        if sign_in(cdp, *planner) != f"{base}/auth/me":
            raise RuntimeError(f"{planner[0]} could not sign in")
        cdp.call(
            "Page.addScriptToEvaluateOnNewDocument",
            source=HOOK_JS % {"variant": json.dumps(variant)},
        )
        cdp.navigate(f"{base}/map", timeout=60)
        out: dict[str, Any] = {"initial": cdp.evaluate(DRAWN_JS % {"timeout": 300_000}, 310)}
        if screenshot is not None:
            screenshot.write_bytes(cdp.screenshot())
        time.sleep(1.0)
        for motion in MOTIONS:
            spec = {
                "lon": centre[0],
                "lat": centre[1],
                "zoom": motion.zoom,
                "swing": motion.swing,
                "radius_m": motion.radius_m,
                "seconds": motion.seconds,
            }
            out[motion.name] = cdp.evaluate(
                MOTION_JS % {"motion": json.dumps(spec), "timeout": 180_000}, 400
            )
        out["messages"] = cdp.messages()
    return out


# --- summary ----------------------------------------------------------------------------


def drawn_s(run: dict[str, Any]) -> float:
    """Seconds from navigation to the parcels drawn at the initial view, in one run."""
    return float(run["initial"]["drawn_ms"]) / 1000


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def frame_stats(motion: dict[str, Any]) -> dict[str, float]:
    """Frames per second and frame intervals of one motion run."""
    gaps = motion["gaps_ms"]
    submits = motion["submit_ms"] or [float("nan")]
    return {
        "fps": motion["frames"] / motion["seconds"],
        "frame_p50_ms": percentile(gaps, 0.50),
        "frame_p95_ms": percentile(gaps, 0.95),
        "frame_max_ms": max(gaps),
        "cpu_frame_p50_ms": percentile(submits, 0.50),
        "cpu_frame_p95_ms": percentile(submits, 0.95),
        "long_tasks_ms": motion["long_tasks_ms"],
        "requests": motion["requests"],
        "mb": motion["bytes"] / 1e6,
    }


def spread(values: list[float]) -> dict[str, float]:
    """Median and range of repeated measurements."""
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


@dataclass
class Results:
    """Per variant, every run's figures, by metric."""

    runs: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {v: [] for v in VARIANTS})

    def metrics(self, variant: str) -> dict[str, list[float]]:
        """Each metric's values over the variant's runs."""
        table: dict[str, list[float]] = {}
        for run in self.runs[variant]:
            initial = run["initial"]
            flat = {
                "initial_drawn_s": initial["drawn_ms"] / 1000,
                "initial_requests": initial["requests"],
                "initial_mb": initial["bytes"] / 1e6,
                "initial_long_tasks_s": initial["long_tasks_ms"] / 1000,
                "initial_heap_mb": initial["heap_mb"] or 0.0,
            }
            for motion in MOTIONS:
                flat |= {f"{motion.name}_{k}": v for k, v in frame_stats(run[motion.name]).items()}
            for key, value in flat.items():
                table.setdefault(key, []).append(float(value))
        return table

    def summary(self) -> dict[str, object]:
        """Medians and ranges per variant, and each baseline's medians over the served map's."""
        per = {v: {k: spread(vals) for k, vals in self.metrics(v).items()} for v in VARIANTS}
        ratios = {
            variant: {
                key: round(per[variant][key]["median"] / per[SERVED][key]["median"], 3)
                for key in per[SERVED]
                if per[SERVED][key]["median"]
            }
            for variant in VARIANTS[1:]
        }
        return {**per, "ratio_over_served": ratios}


def markdown(summary: dict[str, Any]) -> str:
    """The summary as the table of BENCHMARKS.md."""
    rows = [
        ("initial view: parcels drawn (s)", "initial_drawn_s"),
        ("initial view: parcel requests", "initial_requests"),
        ("initial view: parcel data (MB)", "initial_mb"),
        ("initial view: long tasks (s)", "initial_long_tasks_s"),
        ("JS heap when drawn (MB)", "initial_heap_mb"),
    ]
    for motion in MOTIONS:
        label = (
            f"{motion.name} (zoom {motion.zoom - motion.swing:g}-{motion.zoom + motion.swing:g})"
        )
        rows += [
            (f"{label}: frames/s", f"{motion.name}_fps"),
            (f"{label}: frame p50 (ms)", f"{motion.name}_frame_p50_ms"),
            (f"{label}: frame p95 (ms)", f"{motion.name}_frame_p95_ms"),
            (f"{label}: frame max (ms)", f"{motion.name}_frame_max_ms"),
            (f"{label}: main thread per frame p50 (ms)", f"{motion.name}_cpu_frame_p50_ms"),
            (f"{label}: main thread per frame p95 (ms)", f"{motion.name}_cpu_frame_p95_ms"),
            (f"{label}: long tasks (ms)", f"{motion.name}_long_tasks_ms"),
            (f"{label}: parcel requests", f"{motion.name}_requests"),
        ]

    def cell(s: dict[str, float]) -> str:
        return f"{s['median']:g} ({s['min']:g}-{s['max']:g})"

    baselines = VARIANTS[1:]
    lines = [
        f"| measure | {' | '.join(VARIANTS)} | "
        + " | ".join(f"{b} / {SERVED}" for b in baselines)
        + " |",
        "|---" * (1 + len(VARIANTS) + len(baselines)) + "|",
    ]
    for label, key in rows:
        cells = [cell(summary[v][key]) for v in VARIANTS]
        ratios = [str(summary["ratio_over_served"][b].get(key, "-")) for b in baselines]
        lines.append(f"| {label} | {' | '.join(cells + ratios)} |")
    return "\n".join(lines)


def machine_facts() -> dict[str, object]:
    """What the figures were measured on."""
    version = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True).stdout
    with psycopg.connect(ADMIN_URL) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": row[0] if row else None,
        "chromium": version.strip(),
        "webgl": "SwiftShader (software), --use-angle=swiftshader --disable-gpu",
        "window": f"{WINDOW[0]}x{WINDOW[1]}",
        "loadavg_at_start": [round(v, 2) for v in os.getloadavg()],
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --- main -------------------------------------------------------------------------------


def run(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    """Data, server, warm-up, then the alternating runs; everything started here stops here."""
    out: dict[str, object] = {"machine": machine_facts()}
    os.environ["PYTHONUNBUFFERED"] = "1"  # the served process's access log, line by line
    with scratch_database(f"map_bench_{os.getpid()}") as url:
        print(f"generating and importing {args.parcels:,} parcels ...", flush=True)
        data = prepare(url, args.parcels, workdir)
        out["data"] = data
        centre = (data["centre_crs84"][0], data["centre_crs84"][1])  # type: ignore[index]
        planner = account(url, Role.PLANNER)
        log = AccessLog(workdir / "access.log")
        with served(url, access_log=log.path) as base:
            results = Results()
            warm_up: dict[str, dict[str, Any]] = {}
            for variant in VARIANTS:
                print(f"warm-up {variant} (server tile cache cold) ...", flush=True)
                shot = Path(SCREENSHOT.format(variant=variant))
                run_ = run_once(base, variant, centre, workdir, shot, planner)
                run_["server"] = log.since_last()
                warm_up[variant] = run_
                print(f"  drawn in {drawn_s(run_):.1f} s", flush=True)
            for round_ in range(args.repeats):
                order = VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]
                for variant in order:
                    print(f"round {round_ + 1}/{args.repeats}: {variant} ...", flush=True)
                    run_ = run_once(base, variant, centre, workdir, None, planner)
                    run_["server"] = log.since_last()
                    results.runs[variant].append(run_)
                    fps = "  ".join(
                        f"{m.name} {frame_stats(run_[m.name])['fps']:.1f} fps" for m in MOTIONS
                    )
                    print(f"  drawn in {drawn_s(run_):.1f} s; {fps}", flush=True)
    summary = results.summary()
    out["summary"] = summary
    out["warm_up_cold_tile_cache"] = {
        v: {
            "initial_drawn_s": round(r["initial"]["drawn_ms"] / 1000, 2),  # type: ignore[index]
            "initial_requests": r["initial"]["requests"],  # type: ignore[index]
            "initial_mb": round(r["initial"]["bytes"] / 1e6, 2),  # type: ignore[index]
        }
        for v, r in warm_up.items()
    }
    out["screenshots"] = [SCREENSHOT.format(variant=v) for v in VARIANTS]
    for variant in VARIANTS:
        for run_ in results.runs[variant]:
            for motion in MOTIONS:
                stats = {k: round(v, 2) for k, v in frame_stats(run_[motion.name]).items()}
                run_[motion.name] = {k: v for k, v in run_[motion.name].items() if k != "gaps_ms"}
                run_[motion.name]["stats"] = stats
    out["runs"] = results.runs
    out["warm_up_runs"] = {
        v: {k: r[k] for k in ("initial", "server", "messages")}  # type: ignore[index]
        for v, r in warm_up.items()
    }
    out["table"] = markdown(summary)
    return out


def main() -> None:
    """Parse the arguments, run the bench, print (and optionally write) the JSON result."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2, help="rounds alternating the variants")
    parser.add_argument("--out", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="map-bench-") as tmp:
        results = run(args, Path(tmp))
    results["machine"]["loadavg_at_end"] = [round(v, 2) for v in os.getloadavg()]  # type: ignore[index]
    text = json.dumps(results, indent=2)
    print(text)
    print()
    print(results["table"])
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
