"""The carbon inventory of 1,000 assets for a year of monthly meter data (issue 15: < 500 ms).

Run from the repository root (PostgreSQL on 127.0.0.1:5432, or ``BENCH_PG``):

    nice .venv/bin/python bench/carbon_bench.py --assets 1000 --runs 20

Registers ``--assets`` municipal buildings, each with an electricity and a gas meter
reporting once a month (a reading on the 28th at 12:00 UTC: the month's consumption),
plus an imported invoice row per asset and month (street lighting), for last year;
writes the readings through the ingestion writer. Then times ``carbon.store.
load_inventory`` (meters from the readings, files from ``carbon_activity``, the
inventory computed) and the JSON document, first before the rollups exist (raw
readings), then after refreshing them as the ingest worker does (daily rollups).
Prints p50 / p95 in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proc_cpu import cpu_seconds  # noqa: E402
from scratch_db import scratch_database  # noqa: E402

from carbon import report, store  # noqa: E402
from carbon.activity import ActivityRow  # noqa: E402
from carbon.factors import Carrier, default_table  # noqa: E402
from carbon.sectors import Sector  # noqa: E402
from settings import RetentionSettings  # noqa: E402
from storage import devices, migrations, rollups  # noqa: E402
from storage.readings import Reading, ReadingWriter  # noqa: E402


def load(url: str, assets: int, year: int) -> int:
    """Write the assets, meters, readings and imported rows; return the readings written."""
    readings = [
        Reading(f"b{a:04d}-{q}", q, datetime(year, m, 28, 12, tzinfo=UTC), 1000.0 + a + m)
        for a in range(assets)
        for q in ("electricity_energy", "gas_volume")
        for m in range(1, 13)
    ]
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO assets (asset_id, name, kind, lon, lat)"
                " VALUES (%s, %s, 'school', %s, %s)",
                [(f"b{a:04d}", f"Building {a}", 24.85 + a * 1e-5, 43.75) for a in range(assets)],
            )
        devices.register(
            conn,
            [
                devices.Device(f"b{a:04d}-{q}", "energy_meter", (q,), f"b{a:04d}")
                for a in range(assets)
                for q in ("electricity_energy", "gas_volume")
            ],
        )
        ReadingWriter(migrations.readings_storage(conn), "copy").write(conn, readings)
        rows = [
            ActivityRow(
                line=2 + a * 12 + m - 1,
                asset_id=f"b{a:04d}",
                carrier=Carrier.ELECTRICITY,
                month=date(year, m, 1),
                quantity=500.0,
                unit="kWh",
                sector=Sector.PUBLIC_LIGHTING,
            )
            for a in range(assets)
            for m in range(1, 13)
        ]
        store.insert_import(conn, "bench.csv", "0" * 64, rows, "bench")
        conn.commit()
    return len(readings)


def refresh(url: str) -> None:
    """Bring the rollups up to date, as the ingest workers do."""
    keep = RetentionSettings(raw_retention_days=730)  # last year is in the refresh window
    with psycopg.connect(url) as conn:
        while rollups.refresh(conn, keep) > 0:
            conn.commit()
        conn.commit()


async def timed(
    url: str, year: int, runs: int
) -> tuple[list[float], list[float], int, tuple[float, float]]:
    """Times (ms) of the inventory and of inventory + JSON document, the line count, and
    the mean CPU ms per inventory + document in this process and in its PostgreSQL
    backend (what the work costs whatever else runs on the machine)."""
    table = default_table()
    inventory_ms, document_ms = [], []
    lines = 0
    async with await psycopg.AsyncConnection.connect(url) as conn:
        backend = (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0]  # type: ignore[index]
        client, server = time.process_time(), cpu_seconds([backend])
        for _ in range(runs):
            started = time.perf_counter()
            found = await store.load_inventory(conn, year, table)
            middle = time.perf_counter()
            report.document(found)
            ended = time.perf_counter()
            inventory_ms.append((middle - started) * 1000)
            document_ms.append((ended - started) * 1000)
            lines = len(found.lines)
        cpu = (
            (time.process_time() - client) * 1000 / runs,
            (cpu_seconds([backend]) - server) * 1000 / runs,
        )
    return inventory_ms, document_ms, lines, cpu


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    year = datetime.now(UTC).year - 1
    with scratch_database("sc_bench_carbon") as url:
        started = time.perf_counter()
        written = load(url, args.assets, year)
        print(
            f"{args.assets} assets, {written} meter readings, {args.assets * 12} imported rows"
            f" ({time.perf_counter() - started:.1f} s to load)"
        )
        for label, before in (("raw readings", None), ("daily rollups", refresh)):
            if before is not None:
                before(url)
            inventory_ms, document_ms, lines, cpu = asyncio.run(timed(url, year, args.runs))
            print(
                f"{label}: {lines} lines; inventory p50 {_p(inventory_ms, 50):.0f} ms,"
                f" p95 {_p(inventory_ms, 95):.0f} ms; with the JSON document p50"
                f" {_p(document_ms, 50):.0f} ms, p95 {_p(document_ms, 95):.0f} ms; CPU per"
                f" inventory + document {cpu[0]:.0f} ms in Python + {cpu[1]:.0f} ms in"
                f" PostgreSQL; load average {os.getloadavg()[0]:.1f}"
            )


if __name__ == "__main__":
    main()
