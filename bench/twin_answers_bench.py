"""CPU per request of the live twin's big answers, made anew each time or reused.

Run from the repository root (PostgreSQL on 127.0.0.1:5432):

    .venv/bin/python bench/twin_answers_bench.py --assets 10000 --requests 300

Builds the twin of :mod:`bench.twin_bench` (2,500 parking lots among 10,000 assets), then
serves it from two API processes side by side, on the same database: one with
``SMARTCITY_LIVE_ANSWER_REUSE_S=0`` (every answer made and compressed anew, as before
:mod:`api.live_answers`) and one with the default reuse. A signed-in client asking for
gzip sends ``--requests`` requests of each route to each server, alternating between the
servers in rounds of 20, and the CPU time each server process used is divided by its
requests. Twice: with the twin quiet, and with it changing ``--changes`` times a second
(a committed reading of a parking counter each time, as the ingest writer's batches do;
under the load test the twin changes several times a second), the client's requests
back to back (100-200 a second); and with the twin changing and the requests paced at
``--pace`` a second (the load test asks for the lots 13 times a second, the snapshot 4):
then about one answer a second is made anew. The client also times zlib-ng's compression
of each body alone, in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scratch_db import scratch_database  # noqa: E402
from support import add_assets, api_server, cpu_seconds  # noqa: E402

from api import compression  # noqa: E402
from auth.principal import Role  # noqa: E402
from harness.credentials import key_headers  # noqa: E402
from storage import migrations  # noqa: E402
from storage.readings import Reading, ReadingWriter  # noqa: E402

ROUTES = {
    "parking_lots": ("/twin/assets", {"kind": "parking_lot"}),
    "snapshot_now": ("/twin/snapshot", {}),
}
ROUND = 20


def changing(url: str, per_second: float, stop: threading.Event) -> None:
    """Commit a reading of one parking counter after another, ``per_second`` a second."""
    with psycopg.connect(url) as conn:
        writer = ReadingWriter(migrations.readings_storage(conn))
        k = 0
        while not stop.wait(1 / per_second):
            now = datetime.now(UTC)
            writer.write(conn, [Reading(f"da{4 * (k % 2500)}", "occupied_spaces", now, k % 50)])
            conn.commit()
            k += 1


def measure(
    clients: dict[str, tuple[httpx.Client, int]],
    path: str,
    params: dict[str, str],
    n: int,
    pace: float | None,
) -> dict[str, float]:
    """Each server's CPU ms per request of ``n`` requests, alternating in rounds, back to
    back or ``pace`` a second."""
    used = dict.fromkeys(clients, 0.0)
    for _ in range(n // ROUND):
        for label, (client, pid) in clients.items():
            before = cpu_seconds(pid)
            started = time.monotonic()
            for k in range(ROUND):
                if pace:
                    time.sleep(max(0.0, started + k / pace - time.monotonic()))
                client.get(path, params=params).raise_for_status()
            used[label] += cpu_seconds(pid) - before
    return {label: round(seconds / n * 1000, 2) for label, seconds in used.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--changes", type=float, default=10.0, help="twin changes a second")
    parser.add_argument(
        "--pace", type=float, default=15.0, help="requests a second in the paced condition"
    )
    args = parser.parse_args()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with scratch_database(f"twin_answers_{uuid.uuid4().hex[:8]}") as url:
        results: dict[str, object] = {
            "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start"
        }
        results["rows"] = add_assets(url, args.assets, 1, end)
        headers = key_headers(url, Role.PLANNER) | {"Accept-Encoding": "gzip"}
        with (
            api_server(url, extra={"SMARTCITY_LIVE_ANSWER_REUSE_S": "0"}) as (anew, p0),
            api_server(url) as (reused, p1),
            httpx.Client(base_url=anew, timeout=60, headers=headers) as c0,
            httpx.Client(base_url=reused, timeout=60, headers=headers) as c1,
        ):
            clients = {"made_anew": (c0, p0.pid), "reused": (c1, p1.pid)}
            for label, (path, params) in ROUTES.items():
                bodies = [c.get(path, params=params) for c, _ in clients.values()]
                assert all(b.headers["content-encoding"] == "gzip" for b in bodies)
                assert len(bodies[0].json()["assets"]) == len(bodies[1].json()["assets"])
                results[f"{label}_bytes"] = len(bodies[0].content)
                results[f"{label}_gzip_bytes"] = bodies[0].num_bytes_downloaded
                started = time.process_time()  # the compression alone, in this process
                for _ in range(20):
                    compression.gzip_body(bodies[0].content)
                results[f"{label}_gzip_ms"] = round((time.process_time() - started) / 20 * 1000, 2)
            for condition, rate, pace in (
                ("quiet", 0.0, None),
                ("changing", args.changes, None),
                ("changing_paced", args.changes, args.pace),
            ):
                stop = threading.Event()
                writer = threading.Thread(target=changing, args=(url, rate, stop), daemon=True)
                if rate:
                    writer.start()
                try:
                    for label, (path, params) in ROUTES.items():
                        cpu = measure(clients, path, params, args.requests, pace)
                        results[f"{label}_{condition}_cpu_ms"] = cpu
                        print(f"  {label}, twin {condition}: {cpu}", flush=True)
                finally:
                    stop.set()
                    if rate:
                        writer.join()
        results["load_at_end"] = round(os.getloadavg()[0], 1)
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
