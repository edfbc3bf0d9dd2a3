"""A year of a parking lot's 5-minute history by hour: from the rollups and from raw readings.

Run from the repository root (PostgreSQL on 127.0.0.1:5432, or ``BENCH_PG``):

    nice .venv/bin/python bench/rollups_bench.py --bays 40 --runs 30 --raw-runs 5

Writes one year (ending now) of 5-minute readings for one lot: its counter
(``occupied_spaces``, a weekday/weekend daily cycle), ``--bays`` bay sensors
(``occupied`` 0/1, a heartbeat every 5 minutes) and the lot's history series as the
history recorder writes it (:mod:`parking.history`: occupied, capacity and occupancy
every 5 minutes), through the ingestion writer, and
refreshes the rollups the way the ingest worker does (plain PostgreSQL: invalidated
buckets, a day per pass). Then times, side by side in one loop, the same
``storage.rollups.series`` requests answered from the rollups and with ``raw=True``
from the raw readings:

- the counter, one year by hour (8,760 buckets);
- the bays combined, one year by hour (skipped with ``--bays 0``);
- the lot's history, one year by hour: the JSON ``GET /parking/lots/{id}/history?step=1h``
  answers (three quantities of one series), three ways in turn: computed whole from
  the rollups (:func:`parking.history_json.series_json`: a process's first request, or the
  cache off), as the route answers it (:class:`parking.history_cache.HistoryCache`:
  the complete chunks held from the previous request, the rest computed) and computed
  whole from the same series' raw readings (``raw=True``). The three answers are
  checked equal first.

Prints p50 / p95 in ms and the ratio raw / rollups, and the load and refresh rates.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scratch_db import scratch_database  # noqa: E402

from parking import history, history_json  # noqa: E402
from parking.history_cache import HistoryCache  # noqa: E402
from settings import RetentionSettings  # noqa: E402
from storage import migrations, rollups  # noqa: E402
from storage.readings import Reading, ReadingWriter  # noqa: E402

STEP = timedelta(minutes=5)
HOUR = timedelta(hours=1)
CAPACITY = 140


def _occupancy(moment: datetime) -> float:
    """Share of the lot occupied: a working-day peak at 11:00, lower at weekends."""
    hour = moment.hour + moment.minute / 60
    peak = 0.85 if moment.weekday() < 5 else 0.45
    return 0.1 + (peak - 0.1) * math.exp(-(((hour - 11) / 4) ** 2))


def load(url: str, bays: int, days: int) -> tuple[int, float, float]:
    """Write the lot's history and refresh the rollups; readings, load s, refresh s."""
    end = rollups.floor_time(datetime.now(UTC), STEP)
    start = end - timedelta(days=days)
    keep = RetentionSettings(raw_retention_days=max(days + 30, 365))
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
            while moment < min(day + timedelta(days=1), end):
                share = _occupancy(moment)
                spaces = float(round(share * CAPACITY))
                batch.append(Reading("lot-1-counter", "occupied_spaces", moment, spaces))
                batch += history.figure_samples(
                    moment, {"lot-1": (int(spaces), CAPACITY)}, {"lot-1": None}
                )
                for b in range(bays):
                    # bay b is taken while the lot is fuller than its rank (b / bays)
                    taken = share > (b + 0.5) / bays
                    batch.append(Reading(f"lot-1-bay-{b:03d}", "occupied", moment, float(taken)))
                moment += STEP
            writer.write(conn, batch)
            conn.commit()
            total += len(batch)
            day += timedelta(days=1)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        while rollups.refresh(conn, keep, end + STEP):
            conn.commit()
        conn.commit()
        refreshed = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return total, loaded, refreshed


async def timings(
    url: str, bays: int, days: int, runs: int, raw_runs: int
) -> dict[str, list[float]]:
    """Milliseconds per request, rollups and raw alternating in one loop."""
    end = datetime.now(UTC)
    start = end - timedelta(days=days)
    counter = (["lot-1-counter"], "occupied_spaces", start, end, HOUR)
    bay_ids = [f"lot-1-bay-{b:03d}" for b in range(bays)]
    combined = (bay_ids, "occupied", start, end, HOUR)
    lot = history.lot_series("lot-1")
    names = ("counter", "counter raw", "bays", "bays raw", "lot", "lot raw", "lot cached")
    times: dict[str, list[float]] = {k: [] for k in names}
    cache = HistoryCache(64 * 2**20)
    series = [("counter", counter, False)] + ([("bays", combined, True)] if bays else [])
    async with await psycopg.AsyncConnection.connect(url) as conn:
        answers = {
            "lot": lambda: history_json.series_json(conn, lot, start, end, HOUR),
            "lot cached": lambda: cache.series_json(conn, lot, start, end, HOUR),
            "lot raw": lambda: history_json.series_json(conn, lot, start, end, HOUR, raw=True),
        }
        # warm-up, and the same answer both ways
        for _, args, combine in series:
            fast = await rollups.series(conn, *args, combine=combine)
            slow = await rollups.series(conn, *args, combine=combine, raw=True)
            assert fast == slow, "rollups and raw readings disagree"
        fast_lot = await history.series_history(conn, lot, start, end, HOUR)
        slow_lot = await history.series_history(conn, lot, start, end, HOUR, raw=True)
        assert len(fast_lot) == len(slow_lot) >= days * 24, "lot history: rollups and raw differ"
        whole, held, raw_json = [await answer() for answer in answers.values()]
        assert whole == held == await answers["lot cached"](), "the cache's answer differs"
        assert [b["start"] for b in orjson.loads(whole)] == [
            b["start"] for b in orjson.loads(raw_json)
        ], "lot history JSON: rollups and raw differ"
        for k in range(runs):
            for name, args, combine in series:
                for raw in (False, True):
                    if raw and k >= raw_runs:
                        continue
                    started = time.perf_counter()
                    await rollups.series(conn, *args, combine=combine, raw=raw)
                    times[name + (" raw" if raw else "")].append(
                        (time.perf_counter() - started) * 1000
                    )
            for name, answer in answers.items():
                if name.endswith("raw") and k >= raw_runs:
                    continue
                started = time.perf_counter()
                await answer()
                times[name].append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    """Load, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bays", type=int, default=40)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--raw-runs", type=int, default=5)
    args = parser.parse_args()
    run(args.bays, args.days, args.runs, args.raw_runs)


def run(bays: int, days: int, runs: int, raw_runs: int) -> None:
    """Load a scratch database, time, print (``bench/parking_bench.py --mode history``
    calls this with the defaults)."""
    with scratch_database("bench_rollups") as url:
        total, loaded, refreshed = load(url, bays, days)
        print(
            f"{total:,} readings ({bays} bays + 1 counter + the lot's history series,"
            f" {days} days of 5 min):"
            f" written in {loaded:.0f} s ({total / loaded:,.0f}/s), rollups refreshed in"
            f" {refreshed:.0f} s ({total / refreshed:,.0f} readings/s)"
        )
        print("load average at the start:", " ".join(f"{x:.1f}" for x in os.getloadavg()))
        times = asyncio.run(timings(url, bays, days, runs, raw_runs))
    for name, raw_name in (
        ("counter", "counter raw"),
        ("bays", "bays raw"),
        ("lot", "lot raw"),
        ("lot cached", "lot raw"),
    ):
        fast, slow = times[name], times[raw_name]
        if not fast:
            continue
        p50, p50_raw = statistics.median(fast), statistics.median(slow)
        print(
            f"{name}, one year by hour: rollups p50 {p50:.1f} ms"
            f" (p95 {statistics.quantiles(fast, n=20)[-1]:.1f}, n={len(fast)});"
            f" raw p50 {p50_raw:.0f} ms (n={len(slow)}); raw / rollups {p50_raw / p50:.1f}x"
        )
    print("load average at the end:", " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
