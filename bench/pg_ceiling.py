"""PostgreSQL's own ceiling for storing readings on this machine, with no client work at all.

Run from the repository root (PostgreSQL on 127.0.0.1:5432, superuser, trust auth):

    .venv/bin/python bench/pg_ceiling.py --rows 2000000

The rows have the SenML benchmark's shape (500 devices ``bench-N``, quantity
``water_level``, millisecond times). They are written to server-side files in
PostgreSQL's binary COPY format first; then ``--sessions`` sessions each load one file
with a server-side ``COPY ... FROM 'file'`` at the same time, so the server does all the
work: no MQTT, no decoding, no client encoding, no network. Whatever rate this reaches
is an upper bound for any ingestion path into the same table on the same machine.

Two tables are loaded side by side: the hub's ``readings`` (migrations applied; text
device and quantity in the primary key) and, for comparison, the same rows with
``smallint`` device and quantity numbers, to show what narrower keys would buy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scratch_db import scratch_database  # noqa: E402

from storage import migrations  # noqa: E402
from storage.partitions import PartitionKeeper, month_start  # noqa: E402

DEVICES = 500
MONTH = datetime(2026, 11, 1, tzinfo=UTC)  # every row falls in this month

_NARROW = """
CREATE TABLE readings_narrow (
    device smallint NOT NULL, quantity smallint NOT NULL, time timestamptz NOT NULL,
    value double precision NOT NULL, PRIMARY KEY (device, quantity, time)
)
"""

# Row g of file f: device g % 500, one reading per device every millisecond of a day.
_ROWS = """
SELECT {device}, {quantity},
       timestamptz '2026-11-0{day}' + (g / {devices}) * interval '1 ms', (g % 400)::float8
FROM generate_series(0, {count} - 1) g
"""
_SHAPES = {
    "readings": ("'bench-' || (g % {devices})", "'water_level'"),
    "readings_narrow": ("(g % {devices})::smallint", "1::smallint"),
}


def _load(url: str, table: str, path: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"COPY {table} FROM '{path}' (FORMAT BINARY)")


def ceiling(url: str, table: str, rows: int, sessions: int, workdir: str) -> float:
    """Rows/s for ``sessions`` concurrent server-side binary COPYs of ``rows`` rows in all."""
    device, quantity = (s.format(devices=DEVICES) for s in _SHAPES[table])
    paths = [f"{workdir}/{table}_{k}.bin" for k in range(sessions)]
    with psycopg.connect(url, autocommit=True) as conn:
        for k, path in enumerate(paths):
            select = _ROWS.format(
                device=device,
                quantity=quantity,
                day=k + 1,
                devices=DEVICES,
                count=rows // sessions,
            )
            conn.execute(f"COPY ({select}) TO '{path}' (FORMAT BINARY)")
        conn.execute("CHECKPOINT")
    start = time.perf_counter()
    with ThreadPoolExecutor(sessions) as pool:
        list(pool.map(lambda p: _load(url, table, p), paths))
    return rows // sessions * sessions / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--sessions", type=int, default=2)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="pg-ceiling-") as workdir,
        scratch_database(f"ceiling_{uuid.uuid4().hex[:8]}") as url,
    ):
        os.chmod(workdir, 0o777)  # the server process writes and reads the files
        with psycopg.connect(url) as conn:
            migrations.upgrade(conn)
            PartitionKeeper().ensure_months(conn, [month_start(MONTH)])
            conn.execute(_NARROW)
        results = {
            table: round(ceiling(url, table, args.rows, args.sessions, workdir))
            for table in _SHAPES
        }
        results |= {"rows": args.rows, "sessions": args.sessions, "cpus": os.cpu_count()}
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
