"""A lot's history as the API's JSON, over real PostgreSQL (both servers): every bucket
as Python computes it from the samples written, whether its hours are read packed by
day, from the hourly level's rows or from raw readings, on either side of the packed
days' watermark."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest

from parking.history_json import series_json
from settings import RetentionSettings
from storage import migrations, rollups
from storage.readings import Reading, ReadingWriter

SERIES = "parking-lot:lot-a"
FIVE, HOUR, DAY = timedelta(minutes=5), timedelta(hours=1), timedelta(days=1)
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
NOW = START + 3 * DAY + 5 * HOUR + 2 * timedelta(minutes=1)
TORN = START + DAY + 10 * HOUR + 20 * timedelta(minutes=1)
"""A sample whose occupancy reading is missing: its bucket is not answered."""


def _samples() -> list[tuple[datetime, float, float]]:
    """(time, occupied, capacity) every 5 minutes up to NOW: capacity 32 one hour in
    five, else 16 (shares k/16 and k/32 are exact in binary, so sums do not depend on
    the order they are added in)."""
    found = []
    at, k = START, 0
    while at < NOW:
        found.append((at, float((7 * k) % 17), 32.0 if (k // 12) % 5 == 0 else 16.0))
        at, k = at + FIVE, k + 1
    return found


def _readings() -> list[Reading]:
    readings = []
    for at, occupied, capacity in _samples():
        readings += [
            Reading(SERIES, "parking_occupied", at, occupied),
            Reading(SERIES, "parking_capacity", at, capacity),
        ]
        if at != TORN:
            readings.append(Reading(SERIES, "parking_occupancy", at, occupied / capacity))
    return readings


def _expected(start: datetime, end: datetime, width: timedelta) -> list[dict]:
    """The buckets overlapping [start, end) computed here, rounded as the API rounds
    (Python's round, like PostgreSQL's and numpy's, goes half to even)."""
    low, high = rollups.floor_time(start, width), rollups.ceil_time(end, width)
    held: dict[datetime, list[tuple[float, float]]] = defaultdict(list)
    for at, occupied, capacity in _samples():
        if low <= at < high:
            held[rollups.floor_time(at, width)].append((occupied, capacity))
    found = []
    for bucket, pairs in sorted(held.items()):
        if bucket == rollups.floor_time(TORN, width):
            continue  # one sample lacks its share: the bucket is not whole
        n = len(pairs)
        occupied, offered = sum(o for o, _ in pairs), sum(c for _, c in pairs)
        shares = [o / c for o, c in pairs]
        found.append(
            {
                "start": bucket.isoformat(),
                "end": (bucket + width).isoformat(),
                "samples": n,
                "occupied": round(100 * occupied / n) / 100,
                "occupied_min": min(o for o, _ in pairs),
                "occupied_max": max(o for o, _ in pairs),
                "capacity": round(100 * offered / n) / 100,
                "free": round(100 * (offered - occupied) / n) / 100,
                "occupancy": round(10000 * sum(shares) / n) / 10000,
                "occupancy_max": round(10000 * max(shares)) / 10000,
            }
        )
    return found


@pytest.fixture
def lot(pg_url: str) -> Iterator[str]:
    """Three days and five hours of lot-a's samples, rolled up as of NOW: the packed days
    hold the three whole days, the hourly level the hours to 05:00, raw readings the rest."""
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        ReadingWriter(migrations.readings_storage(conn), "copy").write(conn, _readings())
        conn.commit()
        while rollups.refresh(conn, RetentionSettings(), NOW):
            conn.commit()
        conn.commit()
    yield pg_url


def _answer(url: str, start: datetime, end: datetime, width: timedelta, raw: bool) -> list:
    async def run() -> tuple[dict[str, datetime | None], str]:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            marks = await rollups.watermarks(conn)
            return marks, await series_json(conn, SERIES, start, end, width, raw=raw)

    marks, text = asyncio.run(run())
    return [marks[rollups.HOURS_BY_DAY], orjson.loads(text)]


ASKED = [
    (START + 7 * HOUR + 13 * timedelta(minutes=1), NOW, HOUR),  # ends inside days
    (START, START + 3 * DAY, HOUR),
    (START + DAY + 3 * HOUR, START + 2 * DAY + 5 * HOUR, HOUR),  # before the watermark
    (START + 2 * DAY + HOUR, NOW, HOUR),  # after it, once it moved back to START + 1 day
    (START + DAY + 2 * HOUR, START + 2 * DAY + 20 * HOUR, FIVE),
    (START, NOW, DAY),
]


def test_every_bucket_as_computed_here_whichever_source_answers(lot: str) -> None:
    # as refreshed; then the packed days' watermark moved back into the range (the
    # hours after it from the hourly level's rows); then no packed days at all
    for packed, keep in ((START + 3 * DAY, None), (START + DAY, START + DAY), (None, START)):
        if keep is not None:
            with psycopg.connect(lot) as conn:
                conn.execute("DELETE FROM readings_1h_days WHERE day >= %s", (keep,))
                conn.commit()
        for start, end, width in ASKED:
            expected = _expected(start, end, width)
            assert len(expected) >= 3
            for raw in (False, True):
                got = _answer(lot, start, end, width, raw)
                assert got == [packed, expected], (packed, start, end, width, raw)


def test_an_empty_range_answers_an_empty_array(lot: str) -> None:
    later = NOW + 30 * DAY
    assert _answer(lot, later, later + DAY, HOUR, False)[1] == []
