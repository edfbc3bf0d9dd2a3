"""A year of hourly data for every sensor of a dataset, streamed: never built in memory.

The town holds 41 lot counters with a year of hourly rollups (359,160 rows, about 22 MB
of CSV). Held in memory, the rows alone would take over 100 MB (a tuple, two strings, a
datetime and four numbers each); streamed, one batch of 5,000 rows is held at a time.
Checked twice: in the process with tracemalloc (every Python allocation, psycopg's rows
included), and over HTTP against ``smartcity serve``, whose answer must arrive in chunks
(no ``Content-Length``) while its resident memory stays flat.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import pytest
from psycopg_pool import AsyncConnectionPool

from harness.live import serving
from opendata import series
from opendata.datasets import SeriesDataset, built_in
from tests.opendata.conftest import EXTRA_COUNTERS, HOURS, UNLIMITED

pytestmark = [
    pytest.mark.integration,
    # Streaming and its memory are the hub's, whichever server answers; the embedded
    # server's series downloads are tested in test_downloads.py. A year of rows with
    # tracemalloc on is minutes, so once.
    pytest.mark.parametrize("pg_server", ["system"], indirect=True),
]

ROWS = (EXTRA_COUNTERS + 1) * HOURS
PEAK_BYTES = 12 * 2**20
"""Python's allocations while streaming: a few batches' worth, not the year's rows."""
RSS_GROWTH = 40 * 2**20
"""How much the server's resident memory may grow while it sends ~22 MB of CSV (its
allocator keeps freed batches' pages; the year's rows would be over 100 MB)."""


async def _consume(url: str, make: str) -> tuple[int, int, int]:
    """Bytes and lines of the year as CSV or Parquet, and the peak traced allocation."""
    dataset = built_in("parking-occupancy")
    assert isinstance(dataset, SeriesDataset)
    async with AsyncConnectionPool(url, min_size=1, max_size=2, open=False) as pool:
        async with pool.connection() as conn:
            ids = await series.devices(conn, dataset)
        span = series.period("2025-01-01", "2026-01-01", "hour")
        tracemalloc.start()
        try:
            rows = series.batches(pool, dataset, ids, span)
            stream: AsyncIterator[bytes] = (
                series.csv_stream(rows) if make == "csv" else series.parquet_stream(rows)
            )
            size = lines = 0
            async for chunk in stream:
                size += len(chunk)
                lines += chunk.count(b"\n")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return size, lines, peak


def test_a_year_of_hours_streams_in_bounded_memory(town: str) -> None:
    size, lines, peak = asyncio.run(_consume(town, "csv"))
    print(f"CSV {size / 2**20:.1f} MiB, {lines} lines, peak {peak / 2**20:.1f} MiB traced")
    assert lines == ROWS + 1  # and the header
    assert size > 20 * 2**20
    assert peak < PEAK_BYTES
    size, _, peak = asyncio.run(_consume(town, "parquet"))
    print(f"Parquet {size / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB traced")
    assert peak < PEAK_BYTES


def test_the_server_sends_it_in_chunks_with_flat_memory(town: str, tmp_path: Path) -> None:
    settings = UNLIMITED | {"SMARTCITY_DATA_DIR": str(tmp_path / "data")}
    with serving(town, settings=settings) as (url, server):
        process = psutil.Process(server.pid)
        path = f"{url}/opendata/datasets/parking-occupancy/series.csv"
        params = {"start": "2025-01-01", "end": "2026-01-01", "resolution": "hour"}
        headers = {"Accept-Encoding": "identity"}
        # warm: the first answer loads modules, fills the pool and caches
        httpx.get(path, params={**params, "end": "2025-01-08"}, headers=headers, timeout=60)
        before = process.memory_info().rss
        highest, size, lines, chunks = before, 0, 0, 0
        with httpx.stream("GET", path, params=params, headers=headers, timeout=120) as answer:
            assert answer.status_code == 200
            assert "content-length" not in answer.headers
            assert answer.headers["transfer-encoding"] == "chunked"
            assert answer.headers["etag"]
            for chunk in answer.iter_raw():
                size += len(chunk)
                lines += chunk.count(b"\n")
                chunks += 1
                if chunks % 20 == 0:
                    highest = max(highest, process.memory_info().rss)
    print(
        f"served {size / 2**20:.1f} MiB in {chunks} chunks; server RSS"
        f" {before / 2**20:.0f} MiB before, {highest / 2**20:.0f} MiB at most"
    )
    assert lines == ROWS + 1
    assert chunks > 10
    assert highest - before < RSS_GROWTH
