"""Raster layers (terrain models, drone orthomosaics): catalogue, and reads with rasterio.

A raster is registered by path: its cells stay in the GeoTIFF and are read by window,
never loaded whole. Questions come in CRS84 (longitude, latitude) and are reprojected to
the raster's own CRS; statistics report the area covered in square metres of that CRS
when it is projected (Stereo 70 normally), never in degrees.
"""

from __future__ import annotations

import threading
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import rasterio
import rasterio.mask
import rasterio.warp
import shapely
from cachetools import LRUCache, cached
from rasterio.io import MemoryFile
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window, from_bounds

from gis_layers.errors import LayerImportError, RasterNotFound, RasterQueryError
from gis_layers.importer import layer_id_for

CRS84 = "OGC:CRS84"
MAX_WINDOW_CELLS = 16_000_000
"""Largest window returned in one response (4,000 x 4,000 cells): read whole into memory
before it is written, 64 MB of float32 a band, about what one request may hold when a few
run at once; the demo town's whole 5 m terrain (1,800 x 1,800) fits. A larger area comes
in windows."""

_UPSERT = """
INSERT INTO rasters (raster_id, title, path, crs, width, height, bands, dtype, nodata,
                     resolution, bbox_native, bbox_crs84)
VALUES (%(id)s, %(title)s, %(path)s, %(crs)s, %(width)s, %(height)s, %(bands)s, %(dtype)s,
        %(nodata)s, %(resolution)s, %(native)s::box, %(crs84)s::box)
ON CONFLICT (raster_id) DO UPDATE SET
    title = excluded.title, path = excluded.path, crs = excluded.crs,
    width = excluded.width, height = excluded.height, bands = excluded.bands,
    dtype = excluded.dtype, nodata = excluded.nodata, resolution = excluded.resolution,
    bbox_native = excluded.bbox_native, bbox_crs84 = excluded.bbox_crs84, imported_at = now()
"""


@dataclass(frozen=True)
class RasterReport:
    """What a registration recorded."""

    raster_id: str
    crs: str
    width: int
    height: int


@dataclass(frozen=True)
class Raster:
    """A registered raster as the catalogue describes it (bounds: west, south, east, north)."""

    raster_id: str
    title: str
    path: str
    crs: str
    width: int
    height: int
    bands: int
    dtype: str
    nodata: float | None
    resolution: list[float]
    bbox: tuple[float, float, float, float]
    """In the raster's own CRS."""
    bbox_crs84: tuple[float, float, float, float]
    imported_at: datetime


_CATALOGUE = """
SELECT raster_id, title, path, crs, width, height, bands, dtype, nodata, resolution,
       (bbox_native[1])[0], (bbox_native[1])[1], (bbox_native[0])[0], (bbox_native[0])[1],
       (bbox_crs84[1])[0], (bbox_crs84[1])[1], (bbox_crs84[0])[0], (bbox_crs84[0])[1],
       imported_at
FROM rasters
"""


def _raster(row: tuple[Any, ...]) -> Raster:
    raster_id, title, path, crs, width, height, bands, dtype, nodata, resolution = row[:10]
    w, s, e, n, w84, s84, e84, n84 = row[10:18]
    return Raster(
        raster_id=raster_id,
        title=title,
        path=path,
        crs=crs,
        width=width,
        height=height,
        bands=bands,
        dtype=dtype,
        nodata=nodata,
        resolution=list(resolution),
        bbox=(w, s, e, n),
        bbox_crs84=(w84, s84, e84, n84),
        imported_at=row[18],
    )


async def all_rasters(conn: psycopg.AsyncConnection) -> list[Raster]:
    """Every registered raster, by id."""
    rows = await (await conn.execute(_CATALOGUE + " ORDER BY raster_id")).fetchall()
    return [_raster(r) for r in rows]


async def raster(conn: psycopg.AsyncConnection, raster_id: str) -> Raster:
    """The raster ``raster_id``; :class:`RasterNotFound` (404) when there is none."""
    row = await (await conn.execute(_CATALOGUE + " WHERE raster_id = %s", (raster_id,))).fetchone()
    if row is None:
        raise RasterNotFound(f"no raster {raster_id!r}; see /rasters")
    return _raster(row)


def _box(bounds: tuple[float, float, float, float]) -> str:
    return "(({},{}),({},{}))".format(*bounds)


def register(
    conn: psycopg.Connection, path: Path, name: str | None = None, crs: str | None = None
) -> RasterReport:
    """Add (or replace) a raster in the catalogue; a file without CRS needs ``crs``."""
    if not path.exists():
        raise LayerImportError(f"{path}: no such file")
    try:
        with rasterio.open(path) as src:
            source_crs = src.crs
            if source_crs is None:
                if crs is None:
                    raise LayerImportError(
                        f"{path}: the raster has no coordinate reference system; pass --crs"
                        " (e.g. --crs EPSG:3844 for Stereo 70)"
                    )
                source_crs = rasterio.crs.CRS.from_user_input(crs)
            elif crs is not None and source_crs != rasterio.crs.CRS.from_user_input(crs):
                raise LayerImportError(
                    f"{path}: the raster declares {source_crs.to_string()}, not {crs}"
                )
            bounds = tuple(src.bounds)
            info = {
                "width": src.width,
                "height": src.height,
                "bands": src.count,
                "dtype": src.dtypes[0],
                "nodata": src.nodata,
                "resolution": list(src.res),
            }
    except rasterio.errors.RasterioIOError as exc:
        raise LayerImportError(f"{path}: cannot be read as a raster: {exc}") from None
    crs84 = rasterio.warp.transform_bounds(source_crs, CRS84, *bounds, densify_pts=21)
    raster_id = layer_id_for(name or path.stem)
    conn.execute(
        _UPSERT,
        {
            "id": raster_id,
            "title": name or path.stem,
            "path": str(path.resolve()),
            "crs": source_crs.to_string(),
            "native": _box(bounds),  # type: ignore[arg-type]
            "crs84": _box(crs84),
            **info,
        },
    )
    return RasterReport(raster_id, source_crs.to_string(), info["width"], info["height"])


def _to_raster_crs(src: Any, geometry: shapely.Geometry) -> shapely.Geometry:
    mapped = rasterio.warp.transform_geom(CRS84, src.crs, shapely.geometry.mapping(geometry))
    return shapely.geometry.shape(mapped)


def _metres_per_unit(src: Any) -> float | None:
    return None if src.crs.is_geographic else float(src.crs.linear_units_factor[1])


def value_at(path: str, lon: float, lat: float) -> dict[str, Any]:
    """Band values at a CRS84 point (None outside the raster or on nodata)."""
    with rasterio.open(path) as src:
        (x,), (y,) = rasterio.warp.transform(CRS84, src.crs, [lon], [lat])
        row, col = src.index(x, y)
        values: list[float | None] = [None] * src.count
        if 0 <= row < src.height and 0 <= col < src.width:
            cells = src.read(window=Window(col, row, 1, 1))[:, 0, 0]
            values = [
                None if (src.nodata is not None and v == src.nodata) or np.isnan(v) else float(v)
                for v in cells.astype(np.float64)
            ]
        return {
            "x": x,
            "y": y,
            "crs": src.crs.to_string(),
            "row": row,
            "col": col,
            "values": values,
        }


def _near(src: Any, area: shapely.Geometry) -> shapely.Geometry:
    """The part of a CRS84 area around the raster (its CRS84 bounds and a tenth more each
    way): the rest holds none of its cells, and may not exist in the raster's CRS (a
    stereographic projection such as Stereo 70 sends the far side of the Earth to
    infinity)."""
    west, south, east, north = rasterio.warp.transform_bounds(
        src.crs, CRS84, *src.bounds, densify_pts=21
    )
    pad_x, pad_y = (east - west) / 10, (north - south) / 10
    around = shapely.box(west - pad_x, south - pad_y, east + pad_x, north + pad_y)
    return shapely.intersection(area, around)


def stats_within(path: str, area: shapely.Geometry) -> dict[str, Any]:
    """Statistics of band 1 over the cells whose centre lies in a CRS84 polygon."""
    with rasterio.open(path) as src:
        near = _near(src, area)
        masked = np.ma.masked_all((0,))
        if not near.is_empty:
            try:
                masked, _ = rasterio.mask.mask(
                    src,
                    [shapely.geometry.mapping(_to_raster_crs(src, near))],
                    crop=True,
                    filled=False,
                    indexes=1,
                )
            except ValueError:  # the polygon misses the raster
                pass
        cells = masked.compressed().astype(np.float64)
        cells = cells[~np.isnan(cells)]
        if src.nodata is not None:
            cells = cells[cells != src.nodata]
        scale = _metres_per_unit(src)
        cell_area = abs(src.res[0] * src.res[1]) * scale**2 if scale else None
        summary: dict[str, Any] = {"cells": int(cells.size), "crs": src.crs.to_string()}
        if cells.size:
            summary |= {
                "min": float(cells.min()),
                "max": float(cells.max()),
                "mean": float(cells.mean()),
                "std": float(cells.std()),
            }
        summary["area_m2"] = None if cell_area is None else round(cells.size * cell_area, 3)
        return summary


def window(path: str, bbox: tuple[float, float, float, float], crs: str | None) -> bytes:
    """The cells within ``bbox`` (given in ``crs``, default the raster's own) as a GeoTIFF
    in that CRS: reprojected on the fly when it is not the raster's."""
    with rasterio.open(path) as src:
        target = rasterio.crs.CRS.from_user_input(crs) if crs else src.crs
        with WarpedVRT(src, crs=target) if target != src.crs else nullcontext(src) as view:
            win = from_bounds(*bbox, transform=view.transform).round_offsets().round_lengths()
            try:
                win = win.intersection(Window(0, 0, view.width, view.height))
            except rasterio.errors.WindowError:
                raise RasterQueryError(f"bbox {bbox} does not meet the raster") from None
            if win.width * win.height > MAX_WINDOW_CELLS:
                raise RasterQueryError(
                    f"window of {int(win.width)} x {int(win.height)} cells is larger than"
                    f" {MAX_WINDOW_CELLS:,} cells; ask for a smaller bbox"
                )
            data = view.read(window=win)
            return geotiff(data, view.crs, view.window_transform(win), view.nodata)


def geotiff(data: np.ndarray, crs: Any, transform: Any, nodata: float | None) -> bytes:
    """Bands (bands, rows, cols) as a deflate-compressed GeoTIFF file's bytes."""
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "compress": "deflate",
    }
    with MemoryFile() as memory:
        with memory.open(**profile) as out:
            out.write(data)
        return bytes(memory.read())


# A terrain ramp: water blue, lowland green, terrace yellow-brown, high ground white.
_RAMP = np.array(
    [[40, 90, 170], [90, 160, 90], [200, 190, 110], [150, 110, 70], [245, 245, 245]],
    dtype=np.float64,
)
_SHADES = 255
"""Shades of the ramp; palette index 255 is nodata (transparent)."""
_NODATA = 255
# The ramp sampled at 255 shades (channels x shades), as a PNG palette with nodata clear.
_TABLE = (
    np.stack(
        [
            np.interp(np.linspace(0, len(_RAMP) - 1, _SHADES), np.arange(len(_RAMP)), channel)
            for channel in _RAMP.T
        ]
    )
    .round()
    .astype(np.uint8)
)
_PALETTE = {i: (*(int(c) for c in _TABLE[:, i]), 255) for i in range(_SHADES)} | {
    _NODATA: (0, 0, 0, 0)
}
PREVIEW_MAX_PX = 2048
"""The widest preview (the route's limit), and the most pixels a side of a preview's base."""
PREVIEW_CACHE_BYTES = 64 * 2**20
"""Previews kept per process (a 2,048-pixel terrain preview is about 300 KB)."""
PNG_LEVEL = 6
"""zlib's level for previews (GDAL's default)."""


@dataclass(frozen=True)
class _PreviewBase:
    """A raster's band 1 as palette indices, read once for previews of every width."""

    shades: np.ndarray
    """uint8, at most :data:`PREVIEW_MAX_PX` a side; :data:`_NODATA` where there is none."""
    width: int
    height: int
    """The raster's own size, for the previews' proportions."""


def _file_version(path: str, *_: object) -> tuple[str, int]:
    return path, Path(path).stat().st_mtime_ns


@cached(LRUCache(maxsize=8), key=_file_version, lock=threading.Lock())
def _preview_base(path: str) -> _PreviewBase:
    """Band 1 read at most :data:`PREVIEW_MAX_PX` a side (decimated), stretched between
    its 2nd and 98th percentiles into the ramp's shades. Memoised per file version: a
    preview at a new width is then a nearest-neighbour resampling of this, not a read."""
    with rasterio.open(path) as src:
        scale = min(1.0, PREVIEW_MAX_PX / max(src.width, src.height))
        shape = (max(1, round(src.height * scale)), max(1, round(src.width * scale)))
        data = src.read(1, out_shape=shape, masked=True)
        width, height = src.width, src.height
    values = data.astype(np.float32).filled(np.nan)
    valid = np.isfinite(values)
    shades = np.full(shape, _NODATA, dtype=np.uint8)
    if valid.any():
        low, high = np.percentile(values[valid], [2, 98])
        stretch = (_SHADES - 1) / ((high - low) or 1.0)
        shades[valid] = np.clip((values[valid] - low) * stretch, 0, _SHADES - 1).round()
    shades.setflags(write=False)
    return _PreviewBase(shades, width, height)


def _preview_key(path: str, width: int) -> tuple[str, int, int]:
    return (*_file_version(path), width)


@cached(
    LRUCache(maxsize=PREVIEW_CACHE_BYTES, getsizeof=len), key=_preview_key, lock=threading.Lock()
)
def preview_png(path: str, width: int) -> bytes:
    """A colour-ramped PNG of band 1, ``width`` pixels wide (nearest neighbour), nodata
    transparent; stretched between the 2nd and 98th percentiles of the whole band, so
    previews of every width have the same colours. Memoised per file version and width.

    A palette PNG (one byte a pixel, the ramp's colours and a clear nodata): a quarter
    of the pixels' bytes of an RGBA image to compress, about half the file size."""
    base = _preview_base(path)
    height = max(1, round(base.height * width / base.width))
    rows, cols = base.shades.shape
    pick_rows = ((np.arange(height) + 0.5) * (rows / height)).astype(np.intp)
    pick_cols = ((np.arange(width) + 0.5) * (cols / width)).astype(np.intp)
    image = base.shades[pick_rows[:, np.newaxis], pick_cols]
    with MemoryFile() as memory, warnings.catch_warnings():
        # a preview image carries no georeference, by design
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with memory.open(
            driver="PNG", width=width, height=height, count=1, dtype="uint8", ZLEVEL=PNG_LEVEL
        ) as out:
            out.write(image, 1)
            out.write_colormap(1, _PALETTE)
        return bytes(memory.read())
