"""``/items?bbox=`` decided by PostGIS against the hub's own path, 100,000 parcels (issue 16).

Run from the repository root (PostgreSQL on 127.0.0.1:5432 with PostGIS):

    .venv/bin/python bench/bbox_postgis_bench.py

The 100,000 parcels of bench/features_bench.py are imported through our importer (which,
with PostGIS, also publishes them as the view ``gis.parcels``, migration 20: the import
is timed with and without that view's partial GiST index, on two databases). Then, in
process and alternating in rounds, the same bboxes (100 and 1,000 parcels each) are
answered three ways, the page of ``limit`` features plus the count:

- ``shapely``: :func:`gis_layers.features.page`, what ``/items`` runs (with or without
  PostGIS): candidates by the GiST index on each feature's box, the geometry of those
  not inside the bbox sent to Python and decided by shapely, then the page fetched by id.
- ``postgis``: the same candidates, decided in the database by ``ST_Intersects`` on the
  served CRS84 geometry (``ST_GeomFromGeoJSON``), page and count in one statement: the
  exact rule of the ``shapely`` way, what the hub would run with PostGIS.
- ``postgis_mercator``: candidates by the GiST index on the Web
  Mercator geometry of migration 11, decided by ``ST_Intersects`` there (the bbox
  transformed; not exactly the CRS84 rule at the edges).

Then each way's throughput with 4 requests at once (one event loop, as one API process,
the hub's CPU lane of one thread), in rounds alternating the order. Every way's ids are
checked against shapely over all parcels (an STRtree) on each bbox
of the first round. One JSON document is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import psycopg
import shapely
from psycopg_pool import AsyncConnectionPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from features_bench import generate_parcels, pick_bboxes, write_geopackages  # noqa: E402
from scratch_db import scratch_database  # noqa: E402

from gis_layers import features  # noqa: E402
from gis_layers.importer import import_file  # noqa: E402
from storage import migrations  # noqa: E402

INLINE = 1000  # api.cpu.INLINE_ITEMS
FUZZ = 2e-6  # gis_layers.features._FUZZ: the inset that makes ``<@`` strict
CLIENTS = 4
"""Requests at once in the throughput part (one event loop, as one API process)."""

_CRS84 = """
WITH hit AS MATERIALIZED (
    SELECT feature_id FROM features
    WHERE layer_id = %(layer)s AND bbox && %(box)s::box
      AND (bbox <@ %(inset)s::box
           OR ST_Intersects(ST_GeomFromGeoJSON(geometry),
                            ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)))
), page AS (SELECT feature_id FROM hit ORDER BY feature_id LIMIT %(limit)s)
SELECT (SELECT count(*) FROM hit),
       (SELECT array_agg(json_build_object('type', 'Feature', 'id', f.feature_id,
                                           'geometry', f.geometry,
                                           'properties', f.properties)::text
                         ORDER BY f.feature_id)
        FROM features f JOIN page USING (feature_id) WHERE f.layer_id = %(layer)s)
"""
_MERCATOR = """
WITH hit AS MATERIALIZED (
    SELECT feature_id FROM features
    WHERE layer_id = %(layer)s
      AND ST_Intersects(geom_mercator,
                        ST_Transform(ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326), 3857))
), page AS (SELECT feature_id FROM hit ORDER BY feature_id LIMIT %(limit)s)
SELECT (SELECT count(*) FROM hit),
       (SELECT array_agg(json_build_object('type', 'Feature', 'id', f.feature_id,
                                           'geometry', f.geometry,
                                           'properties', f.properties)::text
                         ORDER BY f.feature_id)
        FROM features f JOIN page USING (feature_id) WHERE f.layer_id = %(layer)s)
"""


def _params(bbox: tuple[float, float, float, float], limit: int) -> dict[str, object]:
    w, s, e, n = bbox
    return {
        "layer": "parcels",
        "box": f"(({w},{s}),({e},{n}))",
        "inset": f"(({w + FUZZ},{s + FUZZ}),({e - FUZZ},{n - FUZZ}))",
        "w": w,
        "s": s,
        "e": e,
        "n": n,
        "limit": limit,
    }


def _ids(pages: list[str]) -> list[int]:
    return [json.loads(p)["id"] for p in pages]


async def _run(url: str, bboxes: dict[int, list], rounds: int) -> dict[str, object]:
    lane = anyio.CapacityLimiter(1)
    out: dict[str, object] = {}
    async with AsyncConnectionPool(url, min_size=CLIENTS, max_size=CLIENTS, open=False) as pool:
        await pool.open()

        async def hub(bbox: tuple, limit: int) -> tuple[list[int], int]:
            query = features.ItemsQuery("parcels", area=shapely.box(*bbox), limit=limit)
            found, matched = await features.page(pool, query, lane, INLINE)
            return _ids(found), matched

        def in_db(statement: str) -> object:
            async def run(bbox: tuple, limit: int) -> tuple[list[int], int]:
                async with pool.connection() as conn:
                    row = await (await conn.execute(statement, _params(bbox, limit))).fetchone()
                assert row is not None
                return _ids(row[1] or []), int(row[0])

            return run

        ways = {"shapely": hub, "postgis": in_db(_CRS84), "postgis_mercator": in_db(_MERCATOR)}
        for limit, boxes in bboxes.items():
            times: dict[str, list[float]] = {name: [] for name in ways}
            wrong: dict[str, int] = dict.fromkeys(ways, 0)
            for round_ in range(rounds):
                order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
                for bbox, expected in boxes:
                    for name in order:
                        began = time.perf_counter()
                        ids, matched = await ways[name](bbox, limit)
                        times[name].append(time.perf_counter() - began)
                        if round_ == 0 and (
                            matched != len(expected) or ids != sorted(expected)[:limit]
                        ):
                            wrong[name] += 1
            per_second = {name: [] for name in ways}
            for round_ in range(rounds):
                order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
                for name in order:
                    per_second[name].append(await _throughput(ways[name], boxes, limit))
            out[f"limit={limit}"] = {
                name: {
                    "p50_ms": round(1000 * statistics.median(t), 2),
                    "p95_ms": round(1000 * float(np.percentile(t, 95)), 2),
                    "bboxes_differing_from_shapely": wrong[name],
                    f"requests_per_s_{CLIENTS}_at_once": round(
                        statistics.median(per_second[name]), 1
                    ),
                }
                for name, t in times.items()
            }
    return out


async def _throughput(way: Any, boxes: list, limit: int) -> float:
    """Requests a second with :data:`CLIENTS` at once, each client through every bbox."""
    began = time.perf_counter()
    async with anyio.create_task_group() as group:
        for client in range(CLIENTS):

            async def go(shift: int = client) -> None:
                for k in range(len(boxes)):
                    await way(boxes[(k + shift) % len(boxes)][0], limit)

            group.start_soon(go)
    return CLIENTS * len(boxes) / (time.perf_counter() - began)


def _import(url: str, gpkg: Path, with_views: bool) -> float:
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        if not with_views:  # as before migration 20: no view, no per-layer index
            conn.execute("DROP TRIGGER layers_gis_added ON layers")
            conn.execute("DROP TRIGGER layers_gis_changed ON layers")
        conn.commit()
        began = time.perf_counter()
        import_file(conn, gpkg, name="parcels")
        conn.commit()
        took = time.perf_counter() - began
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return took


def main() -> None:
    """Generate, import, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--bboxes", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    parcels = generate_parcels(args.parcels)
    crs84 = np.asarray(parcels.to_crs("OGC:CRS84").geometry.values)
    tree = shapely.STRtree(crs84)
    rng = np.random.default_rng(16)
    bboxes = {}
    for limit in (100, 1000):
        boxes = pick_bboxes(tree, limit, args.bboxes, rng)
        bboxes[limit] = [
            (b, [int(i) + 1 for i in tree.query(shapely.box(*b), predicate="intersects")])
            for b in boxes
        ]
    with tempfile.TemporaryDirectory() as work:
        stereo, _ = write_geopackages(parcels, Path(work))
        with (
            scratch_database("bench_bbox_postgis") as url,
            scratch_database("bench_bbox_noviews") as plain,
        ):
            import_with = _import(url, stereo, with_views=True)
            import_without = _import(plain, stereo, with_views=False)
            result = asyncio.run(_run(url, bboxes, args.rounds))
    print(
        json.dumps(
            {
                "parcels": args.parcels,
                "bboxes_per_limit": args.bboxes,
                "rounds": args.rounds,
                "import_s": {
                    "with_gis_view_and_index": round(import_with, 1),
                    "without": round(import_without, 1),
                },
                "load_average": os.getloadavg(),
                "cpus": os.cpu_count(),
                **result,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
