"""Flood extent and impact on a 5,000 x 5,000-cell terrain, side by side with a vector overlay
(issue 5).

Run from the repository root (no database, nothing downloaded):

    .venv/bin/python bench/flood_bench.py

What it does, in this one command:

1. Generates a terrain model of 5,000 x 5,000 cells of 2 m (10 x 10 km in Stereo 70,
   EPSG:3844) in the demo town's style: a meandering Danube channel in the south, a
   floodplain rising from 23.0 m at the bank to 26.3 m 3 km away, a scarp up to a 31-35 m
   terrace, a port platform at 25.6 m and a levee (crest 27.6 m) closing a polder whose
   hollows lie below the attention level. Seeded, so every run measures the same ground.
2. Takes the 100,000 parcels of ``bench/features_bench.py`` (``generate_parcels``: a
   jittered grid of 20-30 m quadrilaterals around Turnu Măgurele, 10.2 x 6.2 km, which
   the terrain is placed to cover, from the floodplain to the terrace), puts a building on
   20,000 of them, lays a street network of about 5,600 segments and 500 assets.
3. Prepares ``river_monitor.flood.FloodModel`` (timed once), then for gauge levels never
   asked before times ``extent`` + ``impact`` (a miss of the cache: labelling the grid and
   aggregating), then the same levels again (the extent from the cache, the impact
   recomputed) and ``assess`` (extent and impact both memoised), each several times.
4. Times a naive per-level baseline in the same run, at the highest levels (the most to
   overlay): the same extent turned into
   polygons (``rasterio.features.shapes``), then ``geopandas.overlay`` with the parcels
   and the streets and ``sjoin`` with the buildings. It computes flooded areas, lengths
   and the buildings touched, but no depths, so it does less than ours; its flooded
   parcel area is compared with ours (the raster counts whole cells).
5. Prints one JSON document: medians and ranges, the ratio baseline/ours, machine facts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio.features
import shapely
from affine import Affine
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from features_bench import generate_parcels  # noqa: E402

from demo_town.noise import ValueNoise  # noqa: E402
from river_monitor.flood import FloodModel, gauge_water_surface_m  # noqa: E402
from river_monitor.thresholds import TURNU_MAGURELE  # noqa: E402

CRS = "EPSG:3844"
SEED = 5
GAUGE_ZERO_M = 19.5
CELLS = 5_000
CELL_M = 2.0
X0, Y_TOP = 484_600.0, 254_000.0
BOUNDS = (X0, Y_TOP - CELLS * CELL_M, X0 + CELLS * CELL_M, Y_TOP)
RIVER_Y, RIVER_WAVE_M, RIVER_HALF_WIDTH_M = 245_500.0, 150.0, 400.0
FLOODPLAIN_M, SCARP_M = 3_000.0, 300.0
LEVEE_X, LEVEE_NORTH_Y, LEVEE_SETBACK_M, LEVEE_CREST_M = 491_000.0, 249_600.0, 150.0, 27.6
PORT = (489_000.0, 490_400.0, 450.0, 25.6)  # x from, x to, depth from the bank, platform m
HOLLOWS = ((492_500.0, 247_000.0, 1.8, 150.0), (493_500.0, 247_300.0, 1.5, 200.0))
TARGETS_S = {"new_level": 2.0, "cached_level": 0.1}


def river_y(x: np.ndarray) -> np.ndarray:
    return RIVER_Y + RIVER_WAVE_M * np.sin(2 * np.pi * x / 4_000.0)


def smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def generate_terrain(rng: np.random.Generator) -> np.ndarray:
    """Elevation (m, float32) over ``BOUNDS``, row 0 in the north."""
    floodplain_noise = ValueNoise.create(rng, BOUNDS, 250.0, 0.3)
    terrace_noise = ValueNoise.create(rng, BOUNDS, 700.0, 0.9)
    xs = X0 + (np.arange(CELLS) + 0.5) * CELL_M
    elevation = np.empty((CELLS, CELLS), dtype=np.float32)
    for start in range(0, CELLS, 250):
        ys = Y_TOP - (np.arange(start, min(start + 250, CELLS)) + 0.5) * CELL_M
        x, y = np.meshgrid(xs, ys)
        centre = river_y(x)
        bank = np.abs(y - centre) - RIVER_HALF_WIDTH_M  # vertical distance: a gentle meander
        floodplain = 23.0 + 3.3 * np.clip(bank / FLOODPLAIN_M, 0, 1) + floodplain_noise(x, y)
        for hx, hy, depth, radius in HOLLOWS:
            floodplain -= depth * np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2 * radius**2))
        terrace = np.clip(31.0 + (y - 249_000.0) / 1_000.0, 31.0, 35.0) + terrace_noise(x, y)
        z = floodplain + (terrace - floodplain) * smoothstep((bank - FLOODPLAIN_M) / SCARP_M)
        bed = 23.0 - 10.0 * smoothstep(-bank / (0.35 * RIVER_HALF_WIDTH_M))
        z = np.where(bank < 0, np.minimum(z, bed), z)
        levee_y = centre + RIVER_HALF_WIDTH_M + LEVEE_SETBACK_M
        cross = np.where((y >= levee_y) & (y <= LEVEE_NORTH_Y), np.abs(x - LEVEE_X), np.inf)
        along = np.where(x >= LEVEE_X, np.abs(y - levee_y), np.inf)
        levee = LEVEE_CREST_M - np.maximum(np.minimum(cross, along) - 3.0, 0.0) / 3.0
        z = np.maximum(z, levee)
        x_from, x_to, depth, platform_m = PORT
        port = (x >= x_from) & (x <= x_to) & (bank > 5.0) & (bank < depth) & (y > centre)
        elevation[start : start + len(ys)] = np.where(port, np.maximum(z, platform_m), z)
    return elevation


def river_polygon() -> shapely.Polygon:
    xs = np.linspace(BOUNDS[0] - 100, BOUNDS[2] + 100, 400)
    north = np.column_stack([xs, river_y(xs) + RIVER_HALF_WIDTH_M])
    south = np.column_stack([xs, river_y(xs) - RIVER_HALF_WIDTH_M])
    return shapely.Polygon(np.vstack([north, south[::-1]]))


def generate_layers(
    parcels: gpd.GeoDataFrame, rng: np.random.Generator, buildings: int, assets: int
) -> dict[str, gpd.GeoDataFrame]:
    """Buildings on random parcels, a jittered street grid over the parcels, random assets."""
    chosen = rng.choice(len(parcels), size=buildings, replace=False)
    centres = shapely.centroid(parcels.geometry.to_numpy()[chosen])
    half = rng.uniform(4.0, 8.0, (buildings, 2))
    cx, cy = shapely.get_x(centres), shapely.get_y(centres)
    building_layer = gpd.GeoDataFrame(
        {
            "building_id": [f"bld-{i:06d}" for i in range(buildings)],
            "use": rng.choice(
                ["residential", "apartment_block", "industrial", "public"], buildings
            ),
            "levels": rng.integers(1, 5, buildings),
            "residents": rng.integers(0, 30, buildings),
        },
        geometry=shapely.box(cx - half[:, 0], cy - half[:, 1], cx + half[:, 0], cy + half[:, 1]),
        crs=CRS,
    )
    xmin, ymin, xmax, ymax = parcels.total_bounds
    gx = np.arange(xmin, xmax, 150.0)
    gy = np.arange(ymin, ymax, 150.0)
    nx, ny = np.meshgrid(gx, gy)
    nx = nx + rng.uniform(-20, 20, nx.shape)
    ny = ny + rng.uniform(-20, 20, ny.shape)
    segments = [
        *(
            ((nx[j, i], ny[j, i]), (nx[j, i + 1], ny[j, i + 1]))
            for j in range(len(gy))
            for i in range(len(gx) - 1)
        ),
        *(
            ((nx[j, i], ny[j, i]), (nx[j + 1, i], ny[j + 1, i]))
            for j in range(len(gy) - 1)
            for i in range(len(gx))
        ),
    ]
    street_layer = gpd.GeoDataFrame(
        {
            "name": [f"Strada {i}" for i in range(len(segments))],
            "class": rng.choice(["residential", "secondary", "primary"], len(segments)),
        },
        geometry=shapely.linestrings(np.asarray(segments)),
        crs=CRS,
    )
    asset_layer = gpd.GeoDataFrame(
        {
            "asset_id": [f"asset-{i:04d}" for i in range(assets)],
            "name": [f"Asset {i}" for i in range(assets)],
            "kind": rng.choice(["school", "kindergarten", "hospital", "parking_lot"], assets),
        },
        geometry=shapely.points(rng.uniform(xmin, xmax, assets), rng.uniform(ymin, ymax, assets)),
        crs=CRS,
    )
    return {
        "parcels": parcels,
        "buildings": building_layer,
        "streets": street_layer,
        "assets": asset_layer,
    }


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def stats(seconds: list[float]) -> dict[str, float | int]:
    return {
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "min_ms": round(min(seconds) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
        "runs": len(seconds),
    }


def baseline_level(
    elevation: np.ndarray,
    transform: Affine,
    river: np.ndarray,
    layers: dict[str, gpd.GeoDataFrame],
    surface: float,
) -> dict[str, Any]:
    """The naive way: the extent as polygons, overlaid with the vector layers at every level."""
    labels, _ = ndimage.label(elevation < surface)
    keep = np.zeros(labels.max() + 1, dtype=bool)
    keep[np.unique(labels[river])] = True
    keep[0] = False
    mask = keep[labels] & ~river
    flood = gpd.GeoDataFrame(
        geometry=[
            shapely.geometry.shape(g)
            for g, _ in rasterio.features.shapes(
                mask.view(np.uint8), mask=mask, transform=transform
            )
        ],
        crs=CRS,
    )
    parcels = gpd.overlay(
        layers["parcels"][["cadastral_number", "geometry"]], flood, how="intersection"
    )
    area = parcels.geometry.area.groupby(parcels["cadastral_number"]).sum()
    buildings = gpd.sjoin(layers["buildings"], flood, predicate="intersects")
    streets = gpd.overlay(
        layers["streets"][["name", "geometry"]], flood, how="intersection", keep_geom_type=True
    )
    return {
        "parcels": int(len(area)),
        "parcel_area_m2": float(area.sum()),
        "buildings": int(buildings["building_id"].nunique()),
        "street_length_m": float(streets.geometry.length.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--buildings", type=int, default=20_000)
    parser.add_argument("--assets", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=7, help="levels timed per measure")
    parser.add_argument("--baseline-repeats", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)

    generation_s, elevation = timed(lambda: generate_terrain(rng))
    transform = Affine.translation(X0, Y_TOP) @ Affine.scale(CELL_M, -CELL_M)
    river = river_polygon()
    parcels = generate_parcels(args.parcels)
    layers = generate_layers(parcels, rng, args.buildings, args.assets)
    centres = shapely.get_coordinates(shapely.centroid(parcels.geometry.to_numpy()))
    inside = shapely.contains_xy(shapely.box(*BOUNDS), centres[:, 0], centres[:, 1])

    prepare_s, model = timed(lambda: FloodModel(elevation, transform, CRS, river, **layers))

    # Levels never asked before (cache misses), spread between attention and danger.
    levels = np.linspace(TURNU_MAGURELE.attention_cm, TURNU_MAGURELE.danger_cm + 30, args.repeats)
    surfaces = [gauge_water_surface_m(round(cm), GAUGE_ZERO_M) for cm in levels]
    new_extent, new_impact, new_total, impacts = [], [], [], []
    for surface in surfaces:
        extent_s, extent = timed(lambda s=surface: model.extent(s))
        impact_s, impact = timed(lambda e=extent: model.impact(e))
        new_extent.append(extent_s)
        new_impact.append(impact_s)
        new_total.append(extent_s + impact_s)
        impacts.append(impact)
    cached_total = [timed(lambda s=s: model.impact(model.extent(s)))[0] for s in surfaces]
    assessed = [timed(lambda s=s: model.assess(s))[0] for s in surfaces]  # fills the memo
    memo = [timed(lambda s=s: model.assess(s))[0] for s in surfaces]
    polygon_s = [timed(lambda s=s: model.geojson(model.extent(s)))[0] for s in surfaces[:3]]

    # The baseline at the highest levels, where it has most to overlay.
    compared = range(len(surfaces) - args.baseline_repeats, len(surfaces))
    baseline_s, baseline = [], []
    for i in compared:
        seconds, outcome = timed(
            lambda s=surfaces[i]: baseline_level(model.elevation, transform, model.river, layers, s)
        )
        baseline_s.append(seconds)
        baseline.append(outcome | {"water_surface_m": surfaces[i]})
    ours_area = [sum(p["flooded_area_m2"] for p in impacts[i]["parcels"]) for i in compared]

    result = {
        "benchmark": "flood extent and impact (issue 5)",
        "grid": {"cells": f"{CELLS} x {CELLS}", "cell_m": CELL_M, "crs": CRS},
        "layers": {
            "parcels": len(parcels),
            "parcels_centroid_on_grid": int(inside.sum()),
            "buildings": len(layers["buildings"]),
            "streets": len(layers["streets"]),
            "street_km": round(float(layers["streets"].length.sum()) / 1000, 1),
            "assets": len(layers["assets"]),
        },
        "terrain_generation_s": round(generation_s, 2),
        "prepare_s": round(prepare_s, 2),
        "levels_cm": [round(cm) for cm in levels],
        "new_level": {
            "extent_plus_impact": stats(new_total),
            "extent": stats(new_extent),
            "impact": stats(new_impact),
        },
        "cached_level": {
            "extent_cached_impact_recomputed": stats(cached_total),
            "assess_first_call_on_cached_extent": stats(assessed),
            "assess_memoised": stats(memo),
        },
        "geojson_crs84_per_level": stats(polygon_s),
        "impact_by_level": [
            {k: v for k, v in i["summary"].items() if k != "text"} | {"water_surface_m": s}
            for i, s in zip(impacts, surfaces, strict=True)
        ],
        "baseline_vector_overlay": {
            "per_level": stats(baseline_s),
            "results": baseline,
            "flooded_parcel_area_ours_vs_overlay": [
                round(ours / b["parcel_area_m2"], 4) if b["parcel_area_m2"] else None
                for ours, b in zip(ours_area, baseline, strict=True)
            ],
            "ratio_baseline_over_ours_new_level": round(
                statistics.median(baseline_s) / statistics.median([new_total[i] for i in compared]),
                1,
            ),
        },
        "targets": {
            "new_level_under_2s": statistics.median(new_total) < TARGETS_S["new_level"],
            "cached_level_under_100ms": statistics.median(cached_total) < TARGETS_S["cached_level"],
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            **{
                p: metadata.version(p)
                for p in ("numpy", "scipy", "rasterio", "shapely", "geopandas")
            },
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
