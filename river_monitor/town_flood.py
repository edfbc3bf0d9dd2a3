"""The town's flood model from the database, its answers, and the threshold extents layer.

The model is built from the raster catalogue's ``terrain`` and the layers ``parcels``,
``buildings``, ``assets``, ``streets`` and ``waterways`` (the river seeds the flood), in
their stored native CRS (Stereo 70). It is rebuilt when any of them is re-imported: the
version is their import times. Answers (GeoJSON with the impact) are memoised per
version and centimetre of water surface; the three threshold levels of each gauge are
computed as soon as a model is built, so asking for them is a cache hit.

The extents at the thresholds and at each gauge's latest level are also written as the
vector layer ``flood_extents`` (served by the OGC API like any other), rewritten when
the terrain, those layers, a gauge's thresholds or zero, or its latest level change
(:func:`refresh_extents`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import psycopg
from cachetools import LRUCache
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from gis_layers.errors import LayerNotFound
from gis_layers.importer import write_layer
from gis_layers.rasters import geotiff
from gis_layers.stored import layer_frame
from river_monitor.config import GaugeConfig, RiverConfig
from river_monitor.flood import FloodModel
from storage.meta import get_meta, set_meta

log = logging.getLogger(__name__)

TERRAIN = "terrain"
LAYERS = ("parcels", "buildings", "assets", "streets", "waterways")
EXTENTS_LAYER = "flood_extents"
_EXTENTS_KEY = "flood_extents_version"
ANSWERS = 16
"""Memoised answers (documents of a few hundred kB each)."""


class FloodUnavailable(LookupError):
    """The flood model cannot be built here; the message says what is missing."""

    status_code = 404
    title = "Not found"


Version = tuple[tuple[str, datetime], ...]


_VERSION = (
    "SELECT 'raster:' || raster_id, imported_at FROM rasters WHERE raster_id = %s"
    " UNION ALL SELECT layer_id, imported_at FROM layers WHERE layer_id = ANY(%s)"
    " ORDER BY 1"
)


def version(conn: psycopg.Connection) -> Version:
    """Import times of the terrain and the layers the model is built from."""
    rows = conn.execute(_VERSION, (TERRAIN, list(LAYERS))).fetchall()
    return tuple((str(name), moment) for name, moment in rows)


async def current_version(conn: psycopg.AsyncConnection) -> Version:
    """:func:`version`, on an asynchronous connection (the API's pool)."""
    rows = await (await conn.execute(_VERSION, (TERRAIN, list(LAYERS)))).fetchall()
    return tuple((str(name), moment) for name, moment in rows)


def build(conn: psycopg.Connection) -> FloodModel:
    """The flood model of the town as the database holds it now."""
    row = conn.execute("SELECT path FROM rasters WHERE raster_id = %s", (TERRAIN,)).fetchone()
    if row is None:
        raise FloodUnavailable(
            f"no raster {TERRAIN!r} in the catalogue: import the terrain model with"
            f" `smartcity rasters import DEM.tif --name {TERRAIN}`"
        )
    try:
        layers = {name: layer_frame(conn, name) for name in LAYERS}
    except LayerNotFound as exc:
        raise FloodUnavailable(str(exc)) from exc
    return FloodModel.from_layers(Path(row[0]), layers, river_layer="waterways")


class TownFlood:
    """One process's flood model of the town, rebuilt when its sources change."""

    def __init__(self, config: RiverConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        """Held while the model is built and while an answer is made: one at a time."""
        self._model: FloodModel | None = None
        self._version: Version | None = None
        self._answers: LRUCache[tuple[Version, str, int], bytes] = LRUCache(ANSWERS)
        self._answers_lock = threading.Lock()
        """Held for a look-up or an insertion only: a memoised answer never waits for
        another level being computed."""

    def model(self, conn: psycopg.Connection) -> tuple[FloodModel, Version]:
        """The current model (built, or rebuilt, if the sources changed)."""
        current = version(conn)
        with self._lock:
            if self._model is None or current != self._version:
                log.info("building the flood model (%s)", ", ".join(n for n, _ in current))
                self._model, self._version = build(conn), current
                for gauge in self._config.gauges:
                    for level in (gauge.attention_cm, gauge.flood_cm, gauge.danger_cm):
                        self._answer(gauge, level)
            return self._model, current

    def memoised(self, current: Version, gauge: GaugeConfig, level_cm: float) -> bytes | None:
        """The answer at a gauge level if it was made for the sources at ``current``
        (see :func:`current_version`): no database, no waiting."""
        with self._answers_lock:
            return self._answers.get((current, gauge.device_id, round(level_cm)))

    def answer(self, conn: psycopg.Connection, gauge: GaugeConfig, level_cm: float) -> bytes:
        """The flood at a gauge level as a GeoJSON FeatureCollection with its impact."""
        self.model(conn)
        with self._lock:
            return self._answer(gauge, level_cm)

    def depth(self, conn: psycopg.Connection, gauge: GaugeConfig, level_cm: float) -> bytes | None:
        """The depth raster at a gauge level (see :func:`depth_geotiff`)."""
        model, _ = self.model(conn)
        with self._lock:
            return depth_geotiff(model, gauge.surface_m(round(level_cm)))

    def _answer(self, gauge: GaugeConfig, level_cm: float) -> bytes:
        assert self._model is not None and self._version is not None
        key = (self._version, gauge.device_id, round(level_cm))
        with self._answers_lock:
            found = self._answers.get(key)
        if found is not None:
            return found
        surface = gauge.surface_m(round(level_cm))
        extent = self._model.extent(surface)
        impact = self._model.impact(extent)
        feature = self._model.geojson(extent)
        feature["properties"].update(gauge_id=gauge.device_id, level_cm=round(level_cm))
        document = {
            "type": "FeatureCollection",
            "gauge": {"device_id": gauge.device_id, "name": gauge.name, "zero_m": gauge.zero_m},
            "level_cm": round(level_cm),
            "code": gauge.thresholds.code(level_cm).name.lower(),
            "water_surface_m": surface,
            "model": "static, 4-connected to the river (no flow, duration or breach)",
            "summary": impact["summary"],
            "impact": {k: impact[k] for k in ("parcels", "buildings", "assets", "streets")},
            "features": [feature] if extent.mask.any() else [],
        }
        body = orjson.dumps(document)
        with self._answers_lock:
            self._answers[key] = body
        return body


def depth_geotiff(model: FloodModel, surface_m: float) -> bytes | None:
    """The water depth (m) where the land is flooded, cropped to the flooded cells, as a
    GeoTIFF in the terrain's CRS (nodata where dry); None if nothing is flooded."""
    extent = model.extent(surface_m)
    rows, cols = np.nonzero(extent.mask)
    if not len(rows):
        return None
    window = Window.from_slices(
        (int(rows.min()), int(rows.max()) + 1), (int(cols.min()), int(cols.max()) + 1)
    )
    depth = model.depth(extent)[window.toslices()]
    return geotiff(
        depth[np.newaxis],
        model.crs.to_wkt(),
        window_transform(window, model.transform),
        float("nan"),
    )


def _latest_levels(conn: psycopg.Connection, config: RiverConfig) -> dict[str, float]:
    """Each gauge's latest level, rounded to the cm (gauges without a reading left out)."""
    rows = conn.execute(
        "SELECT device_id, value FROM latest_readings"
        " WHERE (device_id, quantity) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
        ([g.device_id for g in config.gauges], [g.quantity for g in config.gauges]),
    ).fetchall()
    return {str(device): float(round(value)) for device, value in rows}


def _extents_version(current: Version, config: RiverConfig, latest: dict[str, float]) -> str:
    parts = [f"{n}={t.isoformat()}" for n, t in current] + [
        f"{g.device_id}:{g.zero_m}:{g.attention_cm}:{g.flood_cm}:{g.danger_cm}:"
        f"{latest.get(g.device_id)}"
        for g in config.gauges
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def refresh_extents(conn: psycopg.Connection, flood: TownFlood, config: RiverConfig) -> bool:
    """Rewrite ``flood_extents`` if the terrain, the layers, a gauge's thresholds or zero,
    or its latest level (to the cm) changed since it was written; True if rewritten.

    One feature per gauge and warning level (``level`` attention, flood, danger) and one
    for the gauge's latest level (``level`` current), each with its area and impact.
    """
    model, current = flood.model(conn)
    latest = _latest_levels(conn, config)
    wanted = _extents_version(current, config, latest)
    if get_meta(conn, _EXTENTS_KEY) == wanted:
        return False
    rows: list[dict[str, Any]] = []
    geometries = []
    for gauge in config.gauges:
        levels = [
            ("attention", gauge.attention_cm),
            ("flood", gauge.flood_cm),
            ("danger", gauge.danger_cm),
        ]
        if gauge.device_id in latest:
            levels.append(("current", latest[gauge.device_id]))
        for name, level in levels:
            extent = model.extent(gauge.surface_m(level))
            summary = model.impact(extent)["summary"]
            rows.append(
                {
                    "gauge_id": gauge.device_id,
                    "level": name,
                    "code": gauge.thresholds.code(level).name.lower(),
                    "level_cm": level,
                    "water_surface_m": gauge.surface_m(level),
                    "area_m2": round(extent.area_m2, 1),
                    "parcels": summary["parcels"],
                    "buildings": summary["buildings"],
                    "people_affected": summary["people_affected"],
                }
            )
            geometries.append(model.polygons(extent))
    frame = gpd.GeoDataFrame(rows, geometry=geometries, crs=model.crs)
    with conn.transaction():
        title = "Flood extents at the warning levels and the latest level"
        write_layer(conn, EXTENTS_LAYER, frame, title=title, public=True)  # for anyone
        set_meta(conn, _EXTENTS_KEY, wanted)
    log.info("flood extents rewritten for %d gauge(s)", len(config.gauges))
    return True
