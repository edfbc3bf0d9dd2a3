"""A year of 50 air-quality stations: the index's hours per band and the EU standards,
from the rollups and from raw readings.

Run from the repository root (PostgreSQL on 127.0.0.1:5432, or ``BENCH_PG``):

    nice .venv/bin/python bench/air_bench.py --stations 50 --interval-min 10 --runs 10

Writes calendar year 2025 for ``--stations`` stations, each reporting PM2.5, PM10, NO2,
O3 and SO2 every ``--interval-min`` minutes (daily cycles, a station's own level and
pollution episodes), through the ingestion writer, and refreshes the rollups the way the
ingest worker does. Then times, alternately, :func:`air.annual.stations_year` for every
station answered from the rollups (the hours packed by day, ``readings_1h_days``), from
the hourly rollup's rows (the code before the packed days) and from the raw readings
(the same function, grids and rules; only the hourly means' source differs), after
checking that the answers agree, and once the rules applied hour by hour in Python
(:func:`air.exceedances.stations_year` and :func:`air.index.hourly_index`, the
reference), whose answer must be the same exactly.

``--database NAME`` keeps the loaded database (and reuses it, loading nothing, when it
already holds the readings): loading and rolling up 50 stations every 10 minutes took
about 3 minutes on a quiet 2-core machine, every hour (``--interval-min 60``, the
issue's hourly data) 36 s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proc_cpu import cpu_seconds  # noqa: E402
from scratch_db import ADMIN_URL, scratch_database  # noqa: E402

from air import annual, exceedances  # noqa: E402
from air.bands import EAQI_2024, POLLUTANTS  # noqa: E402
from air.hourly_grid import hourly_grids  # noqa: E402
from air.index import hourly_index, hourly_means  # noqa: E402
from settings import RetentionSettings  # noqa: E402
from storage import migrations, rollups  # noqa: E402
from storage.readings import Reading, ReadingWriter  # noqa: E402

YEAR = 2025
BASE = {"pm25": 12.0, "pm10": 22.0, "no2": 28.0, "o3": 60.0, "so2": 8.0}


def _value(pollutant: str, station: int, moment: datetime) -> float:
    """A station's concentration: daily cycle (traffic peaks for NO2/PM, afternoon for O3),
    a level of its own, and an episode of a few days each month."""
    hour = moment.hour + moment.minute / 60
    traffic = math.exp(-(((hour - 8) / 2) ** 2)) + math.exp(-(((hour - 18) / 2.5) ** 2))
    sun = max(0.0, math.sin(math.pi * (hour - 6) / 14)) if 6 <= hour <= 20 else 0.0
    level = 0.7 + 0.6 * (station % 7) / 6
    episode = 2.5 if moment.day in (station % 27 + 1, station % 27 + 2) else 1.0
    shape = {"o3": 0.5 + 1.6 * sun, "so2": 1.0 + 0.3 * traffic}.get(pollutant, 0.6 + traffic)
    return round(BASE[pollutant] * level * episode * shape, 2)


def load(url: str, stations: int, interval: timedelta) -> tuple[int, float, float]:
    """Write the year and refresh the rollups; readings, load s, refresh s."""
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    end = datetime(YEAR + 1, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    keep = RetentionSettings(raw_retention_days=(now - start).days + 30, rollup_5m_retention_days=0)
    ids = [f"aq-{k:02d}" for k in range(stations)]
    total = 0
    with psycopg.connect(url) as conn:
        migrations.upgrade(conn)
        conn.commit()
        writer = ReadingWriter(migrations.readings_storage(conn), "copy")
        started = time.perf_counter()
        day = start
        while day < end:
            batch = []
            moment = day
            while moment < day + timedelta(days=1):
                for k, station in enumerate(ids):
                    for pollutant in BASE:
                        batch.append(
                            Reading(station, pollutant, moment, _value(pollutant, k, moment))
                        )
                moment += interval
            writer.write(conn, batch)
            conn.commit()
            total += len(batch)
            day += timedelta(days=1)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        # the whole year's buckets in one pass (the worker does a day per pass as data
        # arrives; a year loaded at once would take hundreds of passes)
        rollups.REFRESH_BUCKETS_PER_PASS = 200_000
        while rollups.refresh(conn, keep, now):
            conn.commit()
        conn.commit()
        refreshed = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return total, loaded, refreshed


def _summary(found: dict[str, annual.StationYear]) -> dict[str, object]:
    """What must not differ between two answers (means may, in their last digits)."""
    return {
        station: (
            year.hours_by_band,
            [(a.status, a.valid, a.exceedances) if a else None for p in year.standards for a in p],
        )
        for station, year in found.items()
    }


async def _reference(
    conn: psycopg.AsyncConnection, ids: list[str]
) -> tuple[dict[str, annual.StationYear], float]:
    """The rules hour by hour in Python over hourly means from the rollups, and its ms."""
    started = time.perf_counter()
    standards = await exceedances.stations_year(conn, ids, YEAR)
    means = await hourly_means(conn, ids, *exceedances.year_bounds(YEAR))
    found = {}
    for station in ids:
        bands = Counter(i.band for i in hourly_index(EAQI_2024, means[station]))
        found[station] = annual.StationYear(dict(sorted(bands.items())), standards[station])  # type: ignore[arg-type]
    return found, (time.perf_counter() - started) * 1000


async def _from_hourly_level(
    conn: psycopg.AsyncConnection, ids: list[str], year: int
) -> dict[str, annual.StationYear]:
    """:func:`air.annual.stations_year` with the hours read from the hourly rollup's rows
    instead of the hours packed by day (the code before them), for the ratio between."""
    marks = await rollups.watermarks(conn)
    marks.pop(rollups.HOURS_BY_DAY)
    start, end = exceedances.year_bounds(year)
    window_start, _ = exceedances.reading_window(year)
    windows = {p: (window_start if p == "o3" else start, end) for p in POLLUTANTS}
    grids = await hourly_grids(conn, ids, windows, watermarks=marks)
    return annual.judge(EAQI_2024, ids, grids, year)


async def timings(url: str, stations: int, runs: int, raw_runs: int) -> dict[str, list[float]]:
    """Milliseconds per year of every station, rollups and raw alternating (wall time,
    and the CPU time of this process and of its PostgreSQL backend)."""
    ids = [f"aq-{k:02d}" for k in range(stations)]
    times: dict[str, list[float]] = defaultdict(list)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        fast = await annual.stations_year(conn, EAQI_2024, ids, YEAR)
        slow = await annual.stations_year(conn, EAQI_2024, ids, YEAR, raw=True)
        assert _summary(fast) == _summary(slow), "rollups and raw readings disagree"
        backend = (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0]  # type: ignore[index]
        hourly = await _from_hourly_level(conn, ids, YEAR)
        assert _summary(fast) == _summary(hourly), "the two rollup paths disagree"
        for k in range(runs):
            for key in ("rollups", "hourly", "raw"):
                if key == "raw" and k >= raw_runs:
                    continue
                started, client, server = (
                    time.perf_counter(),
                    time.process_time(),
                    cpu_seconds([backend]),
                )
                if key == "hourly":
                    await _from_hourly_level(conn, ids, YEAR)
                else:
                    await annual.stations_year(conn, EAQI_2024, ids, YEAR, raw=key == "raw")
                times[key].append((time.perf_counter() - started) * 1000)
                times[f"{key} client cpu"].append((time.process_time() - client) * 1000)
                times[f"{key} server cpu"].append((cpu_seconds([backend]) - server) * 1000)
        reference, elapsed = await _reference(conn, ids)
        times["python"].append(elapsed)
        assert reference == fast, "the grid rules and the hour-by-hour rules disagree"
    return times


def _loaded(url: str) -> bool:
    """Whether the database already holds rolled-up readings."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('readings_1h')").fetchone() == (None,):
            return False
        return conn.execute("SELECT EXISTS (SELECT FROM readings_1h)").fetchone() == (True,)


@contextmanager
def _database(name: str | None) -> Iterator[str]:
    """A scratch database, or ``name`` kept (created if missing)."""
    if name is None:
        with scratch_database("bench_air") as url:
            yield url
        return
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    """Load, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--interval-min", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--raw-runs", type=int, default=3)
    parser.add_argument("--database", help="keep the loaded data in this database, reuse it")
    args = parser.parse_args()
    interval = timedelta(minutes=args.interval_min)
    with _database(args.database) as url:
        if args.database and _loaded(url):
            print(f"reusing the year loaded in {args.database}")
        else:
            total, loaded, refreshed = load(url, args.stations, interval)
            print(
                f"{total:,} readings ({args.stations} stations x 5 pollutants, {YEAR} every"
                f" {args.interval_min:g} min): written in {loaded:.0f} s"
                f" ({total / loaded:,.0f}/s), rollups refreshed in {refreshed:.0f} s;"
                f" load average {os.getloadavg()[0]:.1f}"
            )
        print(f"load average before timing: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        times = asyncio.run(timings(url, args.stations, args.runs, args.raw_runs))
    fast, hourly, slow = times["rollups"], times["hourly"], times["raw"]
    p50, p50_hourly, p50_raw = (statistics.median(t) for t in (fast, hourly, slow))
    print(
        f"index + exceedances, {args.stations} stations, {YEAR}: rollups p50 {p50:.0f} ms"
        f" (min {min(fast):.0f}, max {max(fast):.0f}, n={len(fast)}); the hourly level's rows"
        f" p50 {p50_hourly:.0f} ms; raw p50 {p50_raw:.0f} ms (n={len(slow)}); raw / rollups"
        f" {p50_raw / p50:.1f}x, hourly rows / rollups {p50_hourly / p50:.1f}x; the rules in"
        f" Python from hourly means (rollups): {times['python'][0]:.0f} ms; load average"
        f" {os.getloadavg()[0]:.1f}"
    )
    # CPU time is what the work costs whatever else runs: on an idle machine one request
    # takes about its client and server CPU time added (they run one after the other)
    for key in ("rollups", "hourly", "raw"):
        client = statistics.mean(times[f"{key} client cpu"])
        server = statistics.mean(times[f"{key} server cpu"])
        print(
            f"{key}: CPU per request {client:.0f} ms in Python + {server:.0f} ms in PostgreSQL"
            f" = {client + server:.0f} ms"
        )


if __name__ == "__main__":
    main()
