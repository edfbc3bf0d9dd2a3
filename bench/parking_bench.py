"""Parking: the nearest lots with free places over the demo town's streets, and the live
state of many lots.

Run from the repository root (PostgreSQL on 127.0.0.1:5432, or ``BENCH_PG``):

    .venv/bin/python bench/parking_bench.py --requests 200
    .venv/bin/python bench/parking_bench.py --mode live --requests 500
    .venv/bin/python bench/parking_bench.py --mode history

Loads the demo town into a scratch database as ``smartcity demo-data`` does (its street
layer: 809 streets, 510 junctions once noded), with one simulator tick of readings so
that every lot has a counter and bays to count free places from, then:

- **nearest**: ``GET /parking/nearest?lon=&lat=&min_free=N&limit=5`` over HTTP to
  ``smartcity serve`` (one process, keep-alive client, anonymous: the street layer is
  public), from ``--requests`` origins drawn within 100 m of random street points of the
  town, ``min_free`` drawn from 1-20. The first request, which builds the network, is
  timed apart. Budget: p50 < 50 ms.
- in the same process, for where the time goes: building the network from the layer,
  and the search alone (:func:`parking.nearest.nearest`) from the same origins.

``--mode history``: a lot's year of 5-minute history by hour against the same answer
from raw readings, with 40 bays in the table (``bench/rollups_bench.py``'s defaults;
run that script for other sizes). Budget: p50 < 100 ms and >= 10x raw.

``--mode live`` instead builds a scratch twin of ``--lots`` lots (200) with ``--bays``
bays (5,000) spread evenly, a counter each, and an hour of readings (a state change and
heartbeats per bay, the latest minutes old), then times ``--requests`` sequential
``GET /parking/lots`` and ``GET /parking/lots/{id}`` (lots drawn at random, a viewer's
API key) over HTTP to ``smartcity serve`` (one process, keep-alive client), after a
warm-up of 20 each. Budget: p50 < 20 ms for each.

Prints one JSON document; BENCHMARKS.md has the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx
import numpy as np
import psycopg
import shapely
from pyproj import Transformer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rollups_bench  # noqa: E402
from scratch_db import scratch_database  # noqa: E402
from support import api_server, load_town  # noqa: E402

from auth.principal import Role  # noqa: E402
from demo_town.parcels import DEFAULT_PARCELS_TARGET  # noqa: E402
from gis_layers.stored import layer_frame  # noqa: E402
from harness.credentials import HEADER, api_key  # noqa: E402
from hub.simulate import load_devices  # noqa: E402
from ingest_mqtt.decode import Incoming, decode  # noqa: E402
from parking import nearest  # noqa: E402
from parking.nearest import Lot  # noqa: E402
from simulator.engine import Simulator  # noqa: E402
from storage import migrations  # noqa: E402
from storage.partitions import PartitionKeeper  # noqa: E402
from storage.readings import ReadingWriter  # noqa: E402

BUDGET_P50_MS = 50.0
LIVE_BUDGET_P50_MS = 20.0
WARM_UP = 20
LIMIT = 5


def percentiles(times: list[float]) -> dict[str, float]:
    """p50 / p95 / max in ms."""
    times = sorted(times)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "max_ms": round(times[-1], 2),
    }


def one_tick(url: str) -> int:
    """Every simulated device's first readings, written as the ingest worker writes them."""
    with psycopg.connect(url) as conn:
        devices = load_devices(conn)
        now = datetime.now(UTC)
        messages = [
            Incoming(m.topic, m.payload, 0, 1, now) for m in Simulator(devices, seed=42).tick(now)
        ]
        registry = {d.device_id: frozenset(d.quantities) for d in devices}
        decoded = decode(messages, "city", registry.get)
        ReadingWriter(migrations.readings_storage(conn)).write(conn, decoded.readings)
    return len(decoded.readings)


def origins(url: str, n: int, seed: int) -> list[dict[str, float | int]]:
    """Query parameters: points within 100 m of random points of the town's streets."""
    rng = np.random.default_rng(seed)
    with psycopg.connect(url) as conn:
        streets = layer_frame(conn, "streets")
    town = streets[streets["class"] != "service"].geometry.to_numpy()
    picked = town[rng.integers(0, len(town), n)]
    along = shapely.line_interpolate_point(picked, rng.uniform(0, 1, n), normalized=True)
    xs = shapely.get_x(along) + rng.uniform(-100, 100, n)
    ys = shapely.get_y(along) + rng.uniform(-100, 100, n)
    lons, lats = Transformer.from_crs(streets.crs, "OGC:CRS84", always_xy=True).transform(xs, ys)
    return [
        {"lon": float(lon), "lat": float(lat), "min_free": int(m), "limit": LIMIT}
        for lon, lat, m in zip(lons, lats, rng.integers(1, 21, n), strict=True)
    ]


def in_process(url: str, params: list[dict[str, float | int]]) -> dict[str, object]:
    """Building the network, and the search alone, in this process."""
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        built = nearest.build(conn)
        build_ms = (time.perf_counter() - started) * 1000
        rows = conn.execute(
            "SELECT asset_id, name, lon, lat FROM assets WHERE kind = 'parking_lot'"
        ).fetchall()
    assert built.graph is not None
    lots = [Lot(a, n, lon, lat, free=50, capacity=100) for a, n, lon, lat in rows]
    times = []
    for p in params:
        started = time.perf_counter()
        nearest.nearest((float(p["lon"]), float(p["lat"])), lots, built, int(p["min_free"]))
        times.append((time.perf_counter() - started) * 1000)
    return {
        "build_ms": round(build_ms, 1),
        "nodes": len(built.graph.nodes),
        "edges": len(built.graph.edges),
        "search": percentiles(times),
    }


_LIVE_TWIN = """
INSERT INTO assets (asset_id, name, kind, lon, lat, properties)
SELECT 'lot' || g, 'Lot ' || g, 'parking_lot', 24.80 + (g %% 20) * 0.002,
       43.70 + (g / 20) * 0.002, jsonb_build_object('capacity', %(per_lot)s)
FROM generate_series(0, %(lots)s - 1) g;

INSERT INTO asset_places (asset_id, zone_feature_id, zone_code, zone_name)
SELECT asset_id, 1 + abs(hashtext(asset_id)) %% 12, 'Z' || (1 + abs(hashtext(asset_id)) %% 12),
       'Zone ' || (1 + abs(hashtext(asset_id)) %% 12)
FROM assets;

INSERT INTO devices (device_id, kind, asset_id, quantities, properties)
SELECT 'bay' || b, 'parking_bay', 'lot' || (b %% %(lots)s), ARRAY['occupied'],
       jsonb_build_object('bay_id', 'B' || b)
FROM generate_series(0, %(bays)s - 1) b
UNION ALL
SELECT 'counter' || g, 'parking_counter', 'lot' || g, ARRAY['occupied_spaces'], '{}'::jsonb
FROM generate_series(0, %(lots)s - 1) g;

INSERT INTO readings (device_id, quantity, time, value)
SELECT device_id, 'occupied', %(end)s - (60 - m) * interval '1 minute' - b * interval '1 ms',
       CASE WHEN m < 30 + b %% 30 THEN (b %% 2)::float8 ELSE ((b + 1) %% 2)::float8 END
FROM (SELECT device_id, substr(device_id, 4)::int AS b FROM devices
      WHERE kind = 'parking_bay') d,
     generate_series(0, 55, 5) m;

INSERT INTO readings (device_id, quantity, time, value)
SELECT device_id, 'occupied_spaces', %(end)s - (60 - m) * interval '1 minute',
       (%(per_lot)s / 2)::float8
FROM devices d, generate_series(0, 59) m WHERE kind = 'parking_counter';

INSERT INTO latest_readings (device_id, quantity, time, value)
SELECT DISTINCT ON (device_id, quantity) device_id, quantity, time, value
FROM readings ORDER BY device_id, quantity, time DESC
ON CONFLICT (device_id, quantity) DO NOTHING
"""
"""``lots`` parking lots with ``bays`` bays dealt round them, a counter each, an hour of
readings up to ``end``: each bay changes state once and beats every 5 minutes, each
counter reports every minute."""


def live_twin(url: str, lots: int, bays: int, end: datetime) -> dict[str, int]:
    """Fill a new database with :data:`_LIVE_TWIN`; the tables' row counts."""
    params = {"lots": lots, "bays": bays, "per_lot": -(-bays // lots), "end": end}
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        PartitionKeeper().ensure_for(conn, [end - timedelta(hours=h) for h in range(3)])
        for statement in _LIVE_TWIN.split(";\n\n"):
            conn.execute(statement, params)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        return {
            table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in ("assets", "devices", "readings", "latest_readings")
        }


def timed(client: httpx.Client, paths: list[str], headers: dict[str, str]) -> list[float]:
    """Each GET's time in ms, in order (after :data:`WARM_UP` untimed ones)."""
    for path in paths[:WARM_UP]:
        client.get(path, headers=headers).raise_for_status()
    times = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def live_state(args: argparse.Namespace, results: dict[str, object]) -> None:
    """``--mode live``: ``/parking/lots`` and ``/parking/lots/{id}`` over HTTP."""
    with scratch_database(f"parking_live_{uuid.uuid4().hex[:8]}") as url:
        results["rows"] = live_twin(url, args.lots, args.bays, datetime.now(UTC))
        viewer = {HEADER: api_key(url, Role.VIEWER, "bench")}
        rng = np.random.default_rng(args.seed)
        one = [f"/parking/lots/lot{k}" for k in rng.integers(0, args.lots, args.requests)]
        with api_server(url) as (base, _), httpx.Client(base_url=base, timeout=60) as client:
            answer = client.get("/parking/lots").json()
            assert answer["count"] == args.lots, answer["count"]
            statuses = [lot["status"] for lot in answer["lots"]]
            results["statuses"] = {s: statuses.count(s) for s in sorted(set(statuses))}
            results["lots_bytes"] = len(client.get("/parking/lots").content)
            for name, paths in (("lots", ["/parking/lots"] * args.requests), ("lot", one)):
                found = percentiles(timed(client, paths, viewer))
                results[name] = {
                    **found,
                    "requests": len(paths),
                    "p50_against_budget": round(found["p50_ms"] / LIVE_BUDGET_P50_MS, 3),
                }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--parcels", type=int, default=DEFAULT_PARCELS_TARGET, help="the demo's")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=("nearest", "live", "history"), default="nearest")
    parser.add_argument("--lots", type=int, default=200, help="live mode")
    parser.add_argument("--bays", type=int, default=5000, help="live mode")
    args = parser.parse_args()
    if args.mode == "history":
        rollups_bench.run(bays=40, days=365, runs=30, raw_runs=5)
        return
    results: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.mode == "live":
        live_state(args, results)
        results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(results, indent=2))
        return
    with (
        TemporaryDirectory() as workdir,
        scratch_database(f"parking_{uuid.uuid4().hex[:8]}") as url,
    ):
        print("loading the demo town ...", file=sys.stderr, flush=True)
        load_town(url, Path(workdir), args.parcels)
        results["readings"] = one_tick(url)
        params = origins(url, args.requests, args.seed)
        with api_server(url) as (base, _), httpx.Client(base_url=base, timeout=60) as client:
            started = time.perf_counter()
            first = client.get("/parking/nearest", params=params[0])
            first.raise_for_status()
            results["first_request_ms"] = round((time.perf_counter() - started) * 1000, 1)
            times, found = [], []
            for p in params:
                started = time.perf_counter()
                response = client.get("/parking/nearest", params=p)
                times.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                found.append(response.json()["numberReturned"])
        nearest_http = percentiles(times)
        results["nearest"] = {
            **nearest_http,
            "requests": len(times),
            "lots_returned_mean": round(statistics.fmean(found), 2),
            "p50_against_budget": round(nearest_http["p50_ms"] / BUDGET_P50_MS, 3),
        }
        results["in_process"] = in_process(url, params)
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
