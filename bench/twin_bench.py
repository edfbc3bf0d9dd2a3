"""``/twin/snapshot`` and ``/twin/assets/{id}`` over HTTP for a twin of 10,000 assets.

Run from the repository root (PostgreSQL on 127.0.0.1:5432):

    .venv/bin/python bench/twin_bench.py --assets 10000 --hours 24 --requests 30

Generates the assets (a quarter parking lots with a counter, a quarter air-quality
stations with four pollutants, a tenth gauges, the rest without sensors), their
devices and ``--hours`` hourly readings of every quantity, then runs ``smartcity serve``
as its own process and times sequential requests with a keep-alive client: the
snapshot now (from ``latest_readings``), the snapshot at past moments (a different one
per request; each sensor quantity's last reading before it, from ``readings``), and
single assets. The client is a planner's script: it sends an API key (``X-API-Key``,
role ``planner``, made in the scratch database) with every request, the public zone
summaries included; the server checks the key's Argon2id hash once and then
remembers it (``auth/authenticator.py``), as in production.
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

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scratch_db import scratch_database  # noqa: E402
from support import add_assets, api_server  # noqa: E402

from auth.principal import Role  # noqa: E402
from harness.credentials import key_headers  # noqa: E402


def timed(
    client: httpx.Client, path: str, params: list[dict[str, str]], n: int
) -> dict[str, float]:
    """p50 / p95 / max in ms of ``n`` sequential requests (after one warm-up), taking
    the query parameters in turn from ``params``."""
    client.get(path, params=params[-1]).raise_for_status()
    times = []
    for k in range(n):
        started = time.perf_counter()
        response = client.get(path, params=params[k % len(params)])
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with scratch_database(f"twin_{uuid.uuid4().hex[:8]}") as url:
        print("building the twin ...", flush=True)
        results: dict[str, object] = {"machine": f"{os.cpu_count()} cores"}
        results["rows"] = add_assets(url, args.assets, args.hours, end)
        print(f"  {results['rows']}", flush=True)
        planner = key_headers(url, Role.PLANNER)
        with (
            api_server(url) as (base, _),
            httpx.Client(base_url=base, timeout=60, headers=planner) as client,
        ):
            # a different past moment for each request (playback steps through time)
            past = [
                {"at": (end - timedelta(hours=args.hours // 2, minutes=7 * k)).isoformat()}
                for k in range(args.requests)
            ]
            for label, path, params in (
                ("snapshot_now", "/twin/snapshot", [{}]),
                ("snapshot_past", "/twin/snapshot", past),
                ("asset_now", "/twin/assets/a4", [{}]),
                ("asset_past", "/twin/assets/a4", past),
                ("zones_24h", "/twin/zones", [{}]),
            ):
                results[label] = timed(client, path, params, args.requests)
                print(f"  {label}: {results[label]}", flush=True)
            count = len(client.get("/twin/snapshot").json()["assets"])
            assert count == args.assets, f"snapshot has {count} assets, not {args.assets}"
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
