"""Import vector files (GeoPackage, Shapefile, GeoJSON, ...) into the layer catalogue.

A layer is read with pyogrio, refused if it has no CRS (unless one is given), its
invalid geometries are repaired with a report of which feature and why, and it replaces
any layer of the same id in one transaction.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pyogrio
import shapely
from psycopg.types.json import Jsonb
from shapely.validation import explain_validity

from gis_layers.errors import LayerImportError

log = logging.getLogger(__name__)

CRS84 = "OGC:CRS84"
CHUNK = 5000
_LAYER_ID = re.compile(r"[^a-z0-9_\-]+")


@dataclass
class ImportReport:
    """What an import did: the layer id, its feature count and the repairs made."""

    layer_id: str
    features: int
    source_crs: str
    repaired: list[str] = field(default_factory=list)


def layer_id_for(name: str) -> str:
    """A URL-safe collection id from a layer or file name."""
    slug = _LAYER_ID.sub("-", name.strip().lower()).strip("-")
    if not slug:
        raise LayerImportError(f"cannot derive a layer id from {name!r}; pass --name")
    return slug


def list_layers(path: Path) -> list[str]:
    """The vector layers in a file."""
    try:
        return [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:
        raise LayerImportError(f"{path}: cannot be read as a vector file: {exc}") from exc


def read_layer(path: Path, layer: str | None = None, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read one layer; refuse a layer without CRS unless ``crs`` is given."""
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:
        raise LayerImportError(f"{path}: cannot read layer {layer!r}: {exc}") from exc
    if crs is not None:
        if frame.crs is not None and not frame.crs.equals(crs):
            raise LayerImportError(
                f"{path}: layer {layer!r} declares {frame.crs.to_string()}, not {crs};"
                " reproject it first or drop --crs"
            )
        frame = frame.set_crs(crs, allow_override=True)
    if frame.crs is None:
        raise LayerImportError(
            f"{path}: layer {layer!r} has no coordinate reference system; pass --crs"
            " (e.g. --crs EPSG:3844 for Stereo 70)"
        )
    return frame


def repair(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Drop empty geometries and make invalid ones valid, reporting each by index."""
    notes: list[str] = []
    geoms = frame.geometry
    missing = geoms.isna() | geoms.is_empty
    for index in frame.index[missing]:
        notes.append(f"feature {index}: empty geometry, skipped")
    frame = frame[~missing]
    invalid = ~frame.geometry.is_valid
    if invalid.any():
        for index, geom in frame.geometry[invalid].items():
            notes.append(f"feature {index}: {explain_validity(geom)}; repaired")
        frame = frame.copy()
        frame.loc[invalid, frame.geometry.name] = shapely.make_valid(frame.geometry[invalid].values)
    return frame, notes


def _properties(frame: gpd.GeoDataFrame) -> list[str]:
    attributes = frame.drop(columns=frame.geometry.name)
    # pandas serialises numpy scalars, NaN (as null) and timestamps (ISO 8601) for us.
    return [
        json.dumps(r) for r in json.loads(attributes.to_json(orient="records", date_format="iso"))
    ]


def write_layer(
    conn: psycopg.Connection,
    layer_id: str,
    frame: gpd.GeoDataFrame,
    *,
    title: str | None = None,
    source_path: str | None = None,
    public: bool | None = None,
) -> int:
    """Replace ``layer_id`` with ``frame`` in one transaction; return the feature count.

    ``public``: whether anonymous callers may read it; ``None`` keeps what the layer was
    (a new layer is not public)."""
    if frame.crs is None:
        raise LayerImportError(f"layer {layer_id!r} has no CRS")
    frame = frame.reset_index(drop=True)
    log.info("%s: reprojecting and encoding %d features", layer_id, len(frame))
    wgs84 = frame.to_crs(CRS84)
    native = np.asarray(frame.geometry.values)
    geographic = np.asarray(wgs84.geometry.values)
    minx, miny, maxx, maxy = _boxes(geographic)
    geojson = shapely.to_geojson(geographic).tolist()
    wkb = shapely.to_wkb(native).tolist()
    props = _properties(frame)
    total = _total_bounds(geographic)
    total_native = _total_bounds(native)
    types = sorted(set(frame.geometry.geom_type.dropna()))
    attributes = {str(c): str(t) for c, t in frame.dtypes.items() if c != frame.geometry.name}
    with conn.transaction():
        was = conn.execute(
            "DELETE FROM layers WHERE layer_id = %s RETURNING public", (layer_id,)
        ).fetchone()
        conn.execute(
            "INSERT INTO layers (layer_id, title, geometry_type, source_crs, source_path,"
            " feature_count, bbox_crs84, bbox_native, attributes, public)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s::box, %s::box, %s, %s)",
            (
                layer_id,
                title or layer_id,
                ",".join(types) or "Unknown",
                frame.crs.to_string(),
                source_path,
                len(frame),
                None if total is None else "(({},{}),({},{}))".format(*total),
                None if total_native is None else "(({},{}),({},{}))".format(*total_native),
                Jsonb(attributes),
                public if public is not None else bool(was and was[0]),
            ),
        )
        for start in range(0, len(frame), CHUNK):
            stop = start + CHUNK
            if len(frame) > CHUNK:
                log.info(
                    "%s: writing features %d-%d of %d",
                    layer_id,
                    start + 1,
                    min(stop, len(frame)),
                    len(frame),
                )
            conn.execute(
                "INSERT INTO features (layer_id, feature_id, properties, geometry, geom_native,"
                " bbox) SELECT %s::text, i, p, g, w, box(point(x0, y0), point(x1, y1))"
                " FROM unnest(%s::int[], %s::jsonb[], %s::jsonb[], %s::bytea[], %s::float8[],"
                " %s::float8[], %s::float8[], %s::float8[]) AS t(i, p, g, w, x0, y0, x1, y1)",
                (
                    layer_id,
                    list(range(start + 1, min(stop, len(frame)) + 1)),
                    props[start:stop],
                    geojson[start:stop],
                    wkb[start:stop],
                    minx[start:stop],
                    miny[start:stop],
                    maxx[start:stop],
                    maxy[start:stop],
                ),
            )
    return len(frame)


def _boxes(geometries: np.ndarray) -> list[list[float | None]]:
    """Each geometry's west, south, east and north as four columns; None for an empty
    geometry (the flood extent where nothing is flooded), whose box is then NULL. Its
    bounds are NaN, and a NaN box in the GiST index hides other features' boxes from
    searches (a town-wide bbox found 4,918 of 4,996 parcels)."""
    bounds = shapely.bounds(geometries).astype(object)
    bounds[shapely.is_empty(geometries)] = None
    return [bounds[:, i].tolist() for i in range(4)]


def _total_bounds(geometries: np.ndarray) -> np.ndarray | None:
    """The bounds of the geometries that are not empty; None if none is."""
    present = geometries[~shapely.is_empty(geometries)]
    return shapely.total_bounds(present) if len(present) else None


def closed_lines_as_polygons(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Closed line strings as polygons, as cadastral DXF exports draw parcels; return the
    frame and how many were turned."""
    geoms = frame.geometry.values
    closed = (shapely.get_type_id(geoms) == 1) & shapely.is_closed(geoms)
    closed &= shapely.get_num_points(geoms) >= 4
    if not closed.any():
        return frame, 0
    frame = frame.copy()
    frame.loc[closed, frame.geometry.name] = shapely.polygons(
        shapely.linearrings(
            shapely.get_coordinates(geoms[closed]), indices=_ring_index(geoms[closed])
        )
    )
    return frame, int(closed.sum())


def _ring_index(lines: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(lines)), shapely.get_num_points(lines))


def import_file(
    conn: psycopg.Connection,
    path: Path,
    *,
    name: str | None = None,
    crs: str | None = None,
    polygons: bool = False,
) -> list[ImportReport]:
    """Import every layer of ``path`` (or its only layer under ``name``); with
    ``polygons``, closed lines become polygons (cadastral DXF exports)."""
    if not path.exists():
        raise LayerImportError(f"{path}: no such file")
    layers = list_layers(path)
    if name is not None and len(layers) > 1:
        raise LayerImportError(
            f"{path} holds {len(layers)} layers ({', '.join(layers)}); --name needs a single one"
        )
    reports = []
    for layer in layers:
        log.info("%s: reading layer %s", path.name, layer)
        frame = read_layer(path, layer, crs)
        log.info("%s: %d features read; checking geometries", layer, len(frame))
        turned = 0
        if polygons:
            frame, turned = closed_lines_as_polygons(frame)
        frame, notes = repair(frame)
        if turned:
            notes.insert(0, f"{turned} closed lines made polygons")
        layer_id = layer_id_for(name or layer)
        count = write_layer(conn, layer_id, frame, source_path=str(path))
        for note in notes:
            log.warning("%s/%s: %s", path.name, layer, note)
        reports.append(ImportReport(layer_id, count, frame.crs.to_string(), notes))
    return reports
