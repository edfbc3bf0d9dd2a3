"""Signing in costs the API little: items at limit 100 anonymously, with the hub's own
bearer token and with an API key, side by side on one server (issue 13's target: with a
token, at least 0.9 of the anonymous throughput).

Run from the repository root, after ``bench/load_test.py`` built ``load_town`` (or with
``--database`` naming another town with a ``parcels`` layer):

    .venv/bin/python bench/auth_bench.py --seconds 15 --rounds 3 --clients 8

``smartcity serve`` (one process) over the town, ``parcels`` made public for the
anonymous rounds. ``--clients`` threads each send requests back to back for
``--seconds``, in rounds that alternate the three ways of calling (anonymous, bearer
token from ``POST /auth/token``, ``X-API-Key``) so that drift of the machine falls on
all three. Every request is a page of 100 parcels in a random 200 m box of the town.
Prints JSON: per way, requests/s and p50/p95 latency per round and their medians, and
the ratios to anonymous.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import threading
import time
from typing import Any

import httpx
import psycopg
from support import api_server

from auth import accounts
from auth.principal import Role
from gis_layers.catalogue import set_public
from storage import migrations

WEST, SOUTH, EAST, NORTH = 24.812, 43.717, 24.924, 43.786  # the town at 100,000 parcels


def _box() -> str:
    x = random.uniform(WEST, EAST - 0.0025)
    y = random.uniform(SOUTH, NORTH - 0.0018)
    return f"{x:.5f},{y:.5f},{x + 0.0025:.5f},{y + 0.0018:.5f}"


def _round(base: str, headers: dict[str, str], clients: int, seconds: float) -> dict[str, float]:
    """``clients`` threads asking pages for ``seconds``: requests/s and latencies."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        nonlocal failures
        with httpx.Client(base_url=base, timeout=60, headers=headers) as http:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                answer = http.get(
                    "/collections/parcels/items", params={"limit": 100, "bbox": _box()}
                )
                ms = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(ms)
                    failures += answer.status_code != 200

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95)], 2),
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/load_town")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with psycopg.connect(args.database) as conn:
        migrations.upgrade(conn)
        set_public(conn, "parcels", True)
        name, password = f"bench-{os.getpid()}", "a bench password, long enough"
        accounts.add(conn, name, Role.PLANNER, password)
        _, key = accounts.create_key(conn, f"bench-{os.getpid()}", Role.PLANNER)
    results: dict[str, list[dict[str, float]]] = {"anonymous": [], "bearer": [], "api_key": []}
    with api_server(args.database, 1) as (base, _):
        form = {"username": name, "password": password}
        token = httpx.post(f"{base}/auth/token", data=form, timeout=60).json()["access_token"]
        ways = {
            "anonymous": {},
            "bearer": {"Authorization": f"Bearer {token}"},
            "api_key": {"X-API-Key": key},
        }
        for headers in ways.values():  # warm: connections, the key's first verification
            _round(base, headers, 2, 2)
        for _ in range(args.rounds):
            for way, headers in ways.items():
                results[way].append(_round(base, headers, args.clients, args.seconds))
    summary: dict[str, Any] = {
        way: {
            "rounds": rounds,
            "req_per_s": statistics.median(r["req_per_s"] for r in rounds),
            "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        }
        for way, rounds in results.items()
    }
    anonymous = summary["anonymous"]["req_per_s"]
    for way in ("bearer", "api_key"):
        summary[way]["throughput_vs_anonymous"] = round(summary[way]["req_per_s"] / anonymous, 3)
    summary["load_average"] = os.getloadavg()
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
