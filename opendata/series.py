"""Aggregated sensor series, streamed from the rollups as CSV or Parquet.

A year of hourly buckets for every sensor is millions of rows: they are never held
together. One server-side cursor per quantity (:func:`batches`) hands
:data:`BATCH_ROWS` rows at a time; CSV is written batch by batch, Parquet as one row
group per batch (its footer, the only part that needs the whole file, holds the row
groups' offsets, not their data). What a download holds in memory is one batch, however
long its period.

The rows come from :func:`storage.rollups.series_query`, the query the hub's own charts
use: the hourly and daily rollups up to their watermark, the newest edge from the raw
readings, every bucket counted once.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from opendata.datasets import SeriesDataset
from opendata.errors import BadDownload
from storage import rollups

BATCH_ROWS = 5_000
"""Rows fetched from the cursor, and written as one Parquet row group, at a time."""

Resolution = Literal["hour", "day"]
WIDTHS: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
LONGEST: dict[str, timedelta] = {"hour": timedelta(days=366), "day": timedelta(days=3_660)}
"""The longest period one download may cover: a leap year of hours, ten years of days."""

FIRST_YEAR, LAST_YEAR = 1970, 2200
"""The years a period may fall in (the hub holds no older data; the grid's arithmetic
stays far from datetime's limits)."""

COLUMNS = ("device_id", "quantity", "start", "count", "mean", "min", "max")
SCHEMA = pa.schema(
    [
        ("device_id", pa.string()),
        ("quantity", pa.string()),
        ("start", pa.timestamp("s", tz="UTC")),
        ("count", pa.int64()),
        ("mean", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
    ]
)

Row = tuple[str, str, datetime, int, float, float, float]


def moment(name: str, text: str) -> datetime:
    """A day (``2025-03-01``: its midnight, UTC) or an instant with its offset
    (``2025-03-01T06:00:00Z``); :class:`BadDownload` for anything else."""
    try:
        if len(text) == len("2025-03-01"):
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        value = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise BadDownload(
            f"{name}={text!r} is neither a day (2025-03-01) nor an instant (2025-03-01T06:00:00Z)"
        ) from None
    if value.tzinfo is None:
        raise BadDownload(f"{name}={text!r} has no time zone: add Z or an offset")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise BadDownload(f"{name}={text!r} is outside the years {FIRST_YEAR} to {LAST_YEAR}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in buckets of ``resolution``, checked (:func:`period`)."""

    start: datetime
    end: datetime
    resolution: Resolution

    @property
    def width(self) -> timedelta:
        """The buckets' width."""
        return WIDTHS[self.resolution]


def period(start: str, end: str, resolution: Resolution) -> Period:
    """A download's period, on the bucket grid; :class:`BadDownload` when it is empty,
    reversed or longer than :data:`LONGEST` allows at ``resolution``."""
    low, high = moment("start", start), moment("end", end)
    if high <= low:
        raise BadDownload(f"end ({high.isoformat()}) must be after start ({low.isoformat()})")
    if high - low > LONGEST[resolution]:
        raise BadDownload(
            f"a download by {resolution} covers at most {LONGEST[resolution].days} days;"
            " split the period or choose resolution=day"
        )
    width = WIDTHS[resolution]
    last = rollups.floor_time(high, width)
    return Period(
        rollups.floor_time(low, width), last if last == high else last + width, resolution
    )


async def devices(conn: AsyncConnection, dataset: SeriesDataset) -> list[str]:
    """The ids of the dataset's devices, sorted."""
    rows = await (
        await conn.execute(
            "SELECT device_id FROM devices WHERE kind = ANY(%s) ORDER BY device_id",
            (list(dataset.device_kinds),),
        )
    ).fetchall()
    return [r[0] for r in rows]


async def version(
    conn: AsyncConnection, dataset: SeriesDataset, ids: Sequence[str], span: Period, fmt: str
) -> tuple[str, datetime | None]:
    """An entity tag of the download and when its data last changed: the rollups'
    watermarks and the dataset's newest reading decide both (a late reading older than
    the newest changes the download without changing its tag until the rollups move)."""
    newest = await (
        await conn.execute(
            "SELECT max(time), count(*) FROM latest_readings"
            " WHERE device_id = ANY(%s) AND quantity = ANY(%s)",
            (list(ids), list(dataset.quantities)),
        )
    ).fetchone()
    last, known = (newest[0], newest[1]) if newest else (None, 0)
    marks = await rollups.watermarks(conn)
    key = "|".join(
        [dataset.dataset_id, fmt, span.start.isoformat(), span.end.isoformat(), span.resolution]
        + [f"{k}={v.isoformat() if v else ''}" for k, v in sorted(marks.items())]
        + [str(len(ids)), str(known), last.isoformat() if last else ""]
    )
    tag = 'W/"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
    modified = None if last is None else min(last, span.end)
    return tag, modified


async def batches(
    pool: AsyncConnectionPool, dataset: SeriesDataset, ids: Sequence[str], span: Period
) -> AsyncIterator[list[Row]]:
    """The series' rows, :data:`BATCH_ROWS` at a time, by quantity, device and bucket;
    a server-side cursor per quantity on one pooled connection held while the client
    reads."""
    if not ids:
        return
    async with pool.connection() as conn, conn.transaction():
        marks = await rollups.watermarks(conn)
        segments = rollups.plan(marks, span.start, span.end, span.width)
        query = rollups.series_query(segments, span.width, combine=False)
        for quantity in dataset.quantities:
            async with conn.cursor(name=f"opendata_{quantity}", binary=True) as cursor:
                await cursor.execute(query, {"devices": list(ids), "quantity": quantity})
                while rows := await cursor.fetchmany(BATCH_ROWS):
                    # device, bucket, count, sum, min, max, first and last (unused)
                    yield [(r[0], quantity, r[1], r[2], r[3] / r[2], r[4], r[5]) for r in rows]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv_chunk(rows: Sequence[Row], header: bool) -> bytes:
    """CSV text of ``rows`` (with the header line first when ``header``), UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(COLUMNS)
    writer.writerows(
        (d, q, _iso(s), c, repr(m), repr(lo), repr(hi)) for d, q, s, c, m, lo, hi in rows
    )
    return out.getvalue().encode()


async def csv_stream(source: AsyncIterator[list[Row]]) -> AsyncIterator[bytes]:
    """The series as CSV, a chunk per batch; the header alone for an empty series."""
    header = True
    async for rows in source:
        yield csv_chunk(rows, header)
        header = False
    if header:
        yield csv_chunk([], True)


class _Chunks(io.RawIOBase):
    """A write-only file whose written bytes are taken away as they come."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        """It is written to."""
        return True

    def write(self, data: Any) -> int:
        """Keep ``data`` until :meth:`take`."""
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        """Bytes written so far (Parquet's footer records offsets)."""
        return self._position

    def take(self) -> bytes:
        """What was written since the last call."""
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _table(rows: Sequence[Row]) -> pa.Table:
    columns: Iterator[tuple[Any, ...]] = zip(*rows, strict=True) if rows else iter([()] * 7)
    return pa.Table.from_arrays(
        [pa.array(list(c), type=f.type) for c, f in zip(columns, SCHEMA, strict=True)],
        schema=SCHEMA,
    )


async def parquet_stream(source: AsyncIterator[list[Row]]) -> AsyncIterator[bytes]:
    """The series as one Parquet file, a row group per batch, yielded as written."""
    sink = _Chunks()
    writer = pq.ParquetWriter(pa.PythonFile(sink, mode="w"), SCHEMA, compression="zstd")
    try:
        async for rows in source:
            writer.write_table(_table(rows), row_group_size=BATCH_ROWS)
            yield sink.take()
    finally:
        writer.close()
    yield sink.take()
