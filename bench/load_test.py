"""The API under load: planners, emergency staff and parking operators (locust, headless)
while ingestion runs, with 1 and 2 API processes.

Run from the repository root (PostgreSQL on 127.0.0.1:5432, Mosquitto installed, the
``bench`` extra installed: ``pip install -e '.[bench]'``):

    .venv/bin/python bench/load_test.py --workers 1 2 --users 200 --minutes 10 \\
        --ramp 50,50,45,600

Once, it builds database ``load_town`` (kept for later runs): the demo town generated
at 100,000 parcels (terrain, layers, twin) and the twin bench's 10,000 assets with
5,500 sensors and a day of hourly readings. Before the runs it makes an API key for each
user in ``load_town`` (roles ``planner``, ``emergency``, ``parking_operator``), which the
user sends with every request (``bench/load_users.py`` says which routes and why), and
revokes them after. Then, for each ``--workers`` count (from the same database: the
readings earlier runs ingested are deleted first):

1. starts a private Mosquitto, an ingestion worker and a publisher sending the sensors'
   readings at ``--rate`` readings/s (compact JSON, a device's quantities per message),
   and ``smartcity serve --workers N``;
2. runs ``bench/load_users.py`` (the user groups; one request in ten heavy) with
   ``--users`` users for ``--minutes``, sampling the API processes' memory (RSS of the
   supervisor, its workers and their helpers) and the load average every 30 s, and
   the CPU time the API processes spent per request;
3. runs the ramp (``start,step,every_s,end`` users) and finds the users at which the
   light routes' p95, over a step, passes 1 s;
4. counts the readings stored meanwhile.

Prints one JSON document: requests/s, p50/p95/p99 and errors per route, the light
routes together, memory, load, the ingestion rate achieved, the ramp's steps.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from scratch_db import ADMIN_URL
from support import (
    ROOT,
    add_assets,
    api_server,
    cpu_seconds,
    load_town,
    paced_readings,
    rss_mib,
    start_mosquitto,
    start_workers,
    stop,
)

from auth import accounts
from auth.principal import Role
from storage import migrations
from storage.meta import get_meta, set_meta

DATABASE = "load_town"
PARCELS = 100_000
ASSETS = 10_000
HOURS = 24
SAMPLE_S = 30
LIGHT_LIMIT_MS = 1000
TOWN_FILES = ROOT / "var" / DATABASE
GENERATED_UNTIL = "load_town_readings_until"
WATCHED_GAUGE = ("gauge-tr-magurele", ("water_level",))
GROUPS = {Role.PLANNER: 2, Role.EMERGENCY: 1, Role.PARKING_OPERATOR: 1}
"""The user groups of ``load_users.py``, each signed in as its role, with their weights
(the share of the users in each)."""


def ensure_town() -> str:
    """The URL of ``load_town``, built first if it is not there. Its files (the terrain
    GeoTIFF the raster catalogue points to) are kept in :data:`TOWN_FILES` for later runs."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        exists = found.fetchone() is not None
        if not exists:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"
    if exists:
        with psycopg.connect(url) as conn:
            finished = get_meta(conn, "load_town") == f"{PARCELS}:{ASSETS}"
        if not finished:
            raise SystemExit(f"database {DATABASE} exists but is not a finished build: drop it")
        if not (TOWN_FILES / "dem.tif").exists():
            raise SystemExit(f"{TOWN_FILES} (the terrain of {DATABASE}) is gone: drop {DATABASE}")
        return url
    print(f"building {DATABASE}: the demo town at {PARCELS:,} parcels ...", flush=True)
    load_town(url, TOWN_FILES, PARCELS)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    print(f"  and {ASSETS:,} assets: {add_assets(url, ASSETS, HOURS, end)}", flush=True)
    with psycopg.connect(url) as conn:
        set_meta(conn, "load_town", f"{PARCELS}:{ASSETS}")
        set_meta(conn, GENERATED_UNTIL, end.isoformat())
    return url


def reset_readings(url: str) -> int:
    """Delete the readings earlier runs ingested (newer than the generated day), so that
    every run starts from the same database: the zone summaries aggregate the last day's
    readings, and 3 million more per 10-minute run made each later run slower."""
    with psycopg.connect(url, autocommit=True) as conn:
        until = get_meta(conn, GENERATED_UNTIL)
        if until is None:
            raise SystemExit(f"{DATABASE} does not say when its generated readings end: drop it")
        cursor = conn.execute("DELETE FROM readings WHERE time > %s", (until,))
        conn.execute("VACUUM ANALYZE readings")
        return cursor.rowcount


@contextmanager
def user_keys(url: str, users: int) -> Iterator[dict[str, list[str]]]:
    """An API key for each of up to ``users`` users of every group (role -> keys), made
    in ``url`` for these runs as an operator makes them (``smartcity api-keys create``),
    and revoked after them. Each user has a key of its own: the API's rate limits count
    a signed-in caller by subject, and a town's users do not share one."""
    total = sum(GROUPS.values())
    made: dict[Role, list[tuple[accounts.ApiKey, str]]] = {}
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)  # a load_town built before sign-in existed
        for role, weight in GROUPS.items():
            wanted = math.ceil(users * weight / total) + 5  # locust rounds the shares
            made[role] = [
                accounts.create_key(conn, f"load-{role.value}-{k}", role) for k in range(wanted)
            ]
    try:
        yield {role.value: [key for _, key in keys] for role, keys in made.items()}
    finally:
        with psycopg.connect(url) as conn:
            for keys in made.values():
                for meta, _ in keys:
                    accounts.revoke_key(conn, meta.key_id)


def sensors(url: str) -> list[tuple[str, tuple[str, ...]]]:
    """The generated sensors with their quantities, and the watched gauge."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT device_id, quantities FROM devices WHERE device_id ~ '^da[0-9]+$'"
            " ORDER BY device_id"
        ).fetchall()
    return [(d, tuple(q)) for d, q in rows] + [WATCHED_GAUGE]


def _flood_ready(client: httpx.Client, timeout_s: float = 60) -> None:
    """Wait until ``/river/flood`` answers at the gauge's current level (its first
    reading comes from the publisher; the earlier runs' readings were deleted), which
    also builds the flood model."""
    deadline = time.monotonic() + timeout_s
    while (answer := client.get("/river/flood")).status_code == 404:
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    answer.raise_for_status()


def _percentile(ms: list[float], q: float) -> float:
    ordered = sorted(ms)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def summarise(samples: list[list[Any]], seconds: float) -> dict[str, Any]:
    """Per route and for the light routes together: requests/s, percentiles, errors."""
    routes: dict[str, list[list[Any]]] = defaultdict(list)
    for sample in samples:
        routes[sample[1]].append(sample)
    light = [s for s in samples if not s[4] and s[1] != "river stream (to ready)"]
    summary: dict[str, Any] = {"requests": len(samples), "req_per_s": len(samples) / seconds}
    for name, group in sorted([*routes.items(), ("LIGHT ROUTES", light)]):
        ms = [s[2] for s in group]
        summary[name] = {
            "n": len(group),
            "req_per_s": round(len(group) / seconds, 2),
            "p50_ms": _percentile(ms, 0.5),
            "p95_ms": _percentile(ms, 0.95),
            "p99_ms": _percentile(ms, 0.99),
            "errors": sum(1 for s in group if s[3] is not None),
        }
    summary["errors"] = sum(1 for s in samples if s[3] is not None)
    kinds = Counter(f"{s[1]}: {s[3]}" for s in samples if s[3] is not None)
    summary["error_kinds"] = dict(kinds.most_common(20))
    return summary


def ramp_steps(samples: list[list[Any]], every_s: int, start: int, step: int) -> list[dict]:
    """The light routes' p95 in each ``every_s`` step of a run, ``start`` users in the
    first and ``step`` more in each next (0 for the steady run, minute by minute)."""
    if not samples:
        return []
    t0 = min(s[0] for s in samples)
    steps: dict[int, list[float]] = defaultdict(list)
    errors: dict[int, int] = defaultdict(int)
    for moment, name, ms, error, heavy in samples:
        k = int((moment - t0) // every_s)
        if not heavy and name != "river stream (to ready)":
            steps[k].append(ms)
        errors[k] += error is not None
    return [
        {
            "users": start + step * k,
            "light_n": len(ms),
            "light_p95_ms": _percentile(ms, 0.95),
            "errors": errors[k],
        }
        for k, ms in sorted(steps.items())
    ]


class Sampler(threading.Thread):
    """The API processes' RSS (MiB) and the load average every :data:`SAMPLE_S`."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.rows: list[tuple[float, float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.done.is_set():
            self.rows.append(
                (round(time.monotonic() - started), round(rss_mib(self.pid), 1), os.getloadavg()[0])
            )
            self.done.wait(SAMPLE_S)


def locust(base: str, samples: Path, args: list[str], env: dict[str, str]) -> list[list[Any]]:
    """Run ``load_users.py`` headless against ``base``; its samples."""
    command = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "load_users.py")]
    # --stop-timeout: requests still in flight when the time is up finish (not counted as
    # connection errors); the users then stop.
    command += ["--headless", "--host", base, "--only-summary", "--loglevel", "WARNING"]
    command += ["--stop-timeout", "60", *args]
    subprocess.run(command, env={**os.environ, "LOAD_SAMPLES": str(samples), **env}, check=False)
    return [json.loads(line) for line in samples.read_text().splitlines()]


def stored_since(url: str, since: datetime) -> int:
    """Readings stored with a time at or after ``since``."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM readings WHERE time >= %s", (since,)).fetchone()
    return int(row[0]) if row else 0


def run(
    url: str, workdir: Path, workers: int, args: argparse.Namespace, keys: dict[str, list[str]]
) -> dict[str, Any]:
    """One configuration: ingestion, the API with ``workers`` processes, steady, ramp;
    the users signed in with ``keys`` (role -> their API keys)."""
    ramp = [int(v) for v in args.ramp.split(",")] if args.ramp else None
    ramp_s = (ramp[3] - ramp[0]) // ramp[1] * ramp[2] + ramp[2] if ramp else 0
    total_s = args.minutes * 60 + ramp_s + 120
    print(f"  {reset_readings(url):,} readings of earlier runs deleted", flush=True)
    broker, port = start_mosquitto(workdir)
    ingest, _ = start_workers(
        port, url, workdir, 1, {"SMARTCITY_INGEST_CLIENT_ID": f"load-{workers}",
                                "SMARTCITY_INGEST_SHARED_GROUP": ""},
    )  # fmt: skip
    publisher = mp.Process(target=paced_readings, args=(port, sensors(url), args.rate, total_s))
    result: dict[str, Any] = {
        "workers": workers, "users": args.users, "rate": args.rate, "pool": args.pool_size
    }  # fmt: skip
    try:
        pool = {"SMARTCITY_DB_POOL_MAX_SIZE": str(args.pool_size)}
        with api_server(url, workers, pool) as (base, server):
            planner = {"X-API-Key": keys[Role.PLANNER.value][-1]}  # a spare user's key
            publisher.start()  # the gauge's first reading gives the flood a current level
            with httpx.Client(base_url=base, timeout=120, headers=planner) as client:
                for path in ("/health", "/twin/snapshot"):  # connections, the live twin
                    client.get(path).raise_for_status()
                _flood_ready(client)
            started = datetime.now(UTC)
            time.sleep(10)  # ingestion under way
            sampler = Sampler(server.pid)
            sampler.start()
            cpu_before = cpu_seconds(server.pid)
            signed_in = {"LOAD_API_KEYS": json.dumps(keys)}
            steady = locust(
                base,
                workdir / f"steady-{workers}.jsonl",
                ["-u", str(args.users), "-r", "20", "-t", f"{round(args.minutes * 60)}s"],
                signed_in,
            )
            sampler.done.set()
            result["steady"] = summarise(steady, args.minutes * 60)
            # minute by minute: whether the p95 is the whole run's or its first minute's
            # (every user's first request checks its key with Argon2id)
            result["steady_by_minute"] = ramp_steps(steady, 60, args.users, 0)
            result["api_cpu_ms_per_request"] = round(
                (cpu_seconds(server.pid) - cpu_before) * 1000 / max(1, len(steady)), 1
            )
            result["memory_mib"] = [r[1] for r in sampler.rows]
            result["load_average"] = [round(r[2], 2) for r in sampler.rows]
            result["memory_at_end_mib"] = round(rss_mib(server.pid), 1)
            if ramp:
                samples = locust(base, workdir / f"ramp-{workers}.jsonl", [], {
                    "LOAD_RAMP": args.ramp, **signed_in})  # fmt: skip
                steps = ramp_steps(samples, ramp[2], ramp[0], ramp[1])
                result["ramp"] = steps
                result["users_at_light_p95_over_1s"] = next(
                    (s["users"] for s in steps if s["light_p95_ms"] > LIGHT_LIMIT_MS), None
                )
            elapsed = (datetime.now(UTC) - started).total_seconds()
            result["ingested_per_s"] = round(stored_since(url, started) / elapsed)
    finally:
        if publisher.is_alive():
            publisher.terminate()
        stop(ingest)
        broker.terminate()
        broker.wait()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=5000, help="readings/s ingested")
    parser.add_argument("--ramp", default="50,50,45,600", help="start,step,every_s,end")
    parser.add_argument(
        "--pool-size", type=int, default=16, help="database connections per API process"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = ensure_town()
        most = max(args.users, int(args.ramp.split(",")[3]) if args.ramp else 0)
        print(f"making API keys for {most} users ...", flush=True)
        with user_keys(url, most) as keys:
            for workers in args.workers:
                print(f"{workers} API process(es) ...", flush=True)
                results["runs"].append(run(url, workdir, workers, args, keys))
                print(json.dumps(results["runs"][-1]), flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
