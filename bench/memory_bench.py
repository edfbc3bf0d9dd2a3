"""The API's memory under repeated heavy requests, eight at once (issue 13: raster
previews reached 4 GB with 8 at once).

Run from the repository root (PostgreSQL on 127.0.0.1:5432):

    .venv/bin/python bench/memory_bench.py --parcels 20000 --minutes 10 --clients 8

Once, it builds database ``memory_town`` (kept for later runs): the demo town generated
at ``--parcels`` parcels, its terrain registered. ``--database load_town`` reuses the
load test's 100,000-parcel town, but the server migrates the database it serves: a
branch with a new migration leaves it at a schema ``main`` does not know. Then it
starts ``smartcity serve`` (``--workers``), with rate limits raised out of the way (one
address asks everything: the limits are not what is measured), and runs
``harness/heavy_load.py``: ``--clients`` clients asking random heavy requests (previews
at every width, windows native and reprojected, past snapshots, floods and depths at
levels 300-900 cm, vector tiles at zooms 13-17) for ``--minutes``, the RSS of the
server and every process below it sampled every 5 s.

Prints one JSON document: RSS at start, peak, end, the peak of each third of the run,
each process's RSS at the end, the answers by kind and status.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import psycopg
from scratch_db import ADMIN_URL
from support import ROOT, api_server, load_town

from auth import accounts
from auth.principal import Role
from harness import heavy_load
from storage import migrations

UNLIMITED = {
    "SMARTCITY_RATE_LIMIT_HEAVY": "1000000/minute",
    "SMARTCITY_RATE_LIMIT_FLOOD_LEVELS": "1000000/minute",
    "SMARTCITY_RATE_LIMIT_FLOOD_LEVELS_PROCESS": "1000000/minute",
}


def ensure_town(name: str, parcels: int) -> str:
    """The URL of database ``name``, the demo town loaded into it first if it is not
    there (its files kept in ``var/<name>``)."""
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if exists.fetchone() is not None:
            return url
        admin.execute(f'CREATE DATABASE "{name}"')
    files = ROOT / "var" / name
    files.mkdir(parents=True, exist_ok=True)
    print(f"building {name} ({parcels} parcels) ...", file=sys.stderr)
    load_town(url, files, parcels)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="memory_town")
    parser.add_argument("--parcels", type=int, default=20_000)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--samples", type=Path, help="write every sample here as JSON")
    args = parser.parse_args()
    url = ensure_town(args.database, args.parcels)
    with psycopg.connect(url) as conn:  # a planner's key (a town built before sign-in: migrated)
        migrations.upgrade(conn)
        planner = {"X-API-Key": accounts.create_key(conn, "memory-bench", Role.PLANNER)[1]}
    with tempfile.TemporaryDirectory() as data:
        settings = UNLIMITED | {"SMARTCITY_DATA_DIR": data}
        with api_server(url, args.workers, settings) as (base, server):
            report = heavy_load.run(
                base,
                server.pid,
                args.minutes * 60,
                clients=args.clients,
                sample_s=5.0,
                headers=planner,
            )
    summary = {"database": args.database, "clients": args.clients, "workers": args.workers}
    print(json.dumps(summary | report.summary(), indent=2))
    if args.samples:
        args.samples.write_text(json.dumps(report.samples))


if __name__ == "__main__":
    main()
