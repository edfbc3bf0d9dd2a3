"""The history answers' past kept in memory: a lot's or zone's complete buckets as JSON
text, by chunk, so that a year by hour is mostly joined from memory.

A history's buckets before the rollups' watermark are read from one rollup level
(:func:`storage.rollups.settled`) and change only when a late reading makes the refresh
recompute them, or retention deletes them; both are logged in
:mod:`storage.rollup_revisions`. The cache keeps, per series and bucket width, chunks
of :data:`CHUNK_BUCKETS` buckets (aligned on the rollups' origin) lying wholly before
that watermark and inside a range asked; each request reads the log's new revisions
first (one small query) and drops the chunks they overlap. The rest of a range (the
partial chunks at either end, everything after the watermark, the newest edge from
raw readings) is computed with the missing chunks, so an answer is the one
:func:`parking.history_json.series_json` gives, joined from pieces. A revision drops
the chunks it overlaps whatever its level: an hourly chunk is read partly from the
hours packed by day, which are rebuilt with the daily level (during a backlog, in a
later refresh pass than the hours they repeat), so a revision of either level may
change it.

Why: an answer changes only at its newest edge, yet computing a year by hour whole
means reading 1,095 rows and writing 8,760 JSON objects (``BENCHMARKS.md``). Only on
plain PostgreSQL: TimescaleDB's policies refresh its continuous aggregates without
logging revisions, so there every answer is computed whole. Each API process holds its
own cache, bounded in bytes (least recently used chunks go first).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg import AsyncConnection

from parking import history_json
from storage import rollup_revisions, rollups

CHUNK_BUCKETS = 256
"""Buckets per cached chunk: 10 2/3 days by hour, 21 1/3 hours by 5 minutes, 256 days by
day. A range's two partial chunks (at most twice this, less one, buckets) are computed
at each request."""


@dataclass(frozen=True, slots=True)
class _Chunk:
    start: datetime
    end: datetime
    text: str
    """Its buckets' JSON objects, comma-separated ("" for none)."""


class HistoryCache:
    """Complete chunks of the histories' JSON answers, kept in memory (one per API
    process) and dropped when a logged revision overlaps them."""

    def __init__(self, max_bytes: int) -> None:
        """Keep at most about ``max_bytes`` of answers' text."""
        self.max_bytes = max_bytes
        self._chunks: OrderedDict[tuple[str, timedelta, datetime], _Chunk] = OrderedDict()
        self._bytes = 0
        self._seen: int | None = None
        """The newest revision applied (None: the log not read yet, nothing kept)."""

    def __len__(self) -> int:
        """How many chunks are kept."""
        return len(self._chunks)

    async def series_json(
        self,
        conn: AsyncConnection,
        series: str,
        start: datetime,
        end: datetime,
        width: timedelta,
    ) -> str:
        """:func:`parking.history_json.series_json` (from the rollups), its complete chunks
        taken from memory where held, the rest computed and the new complete chunks
        kept."""
        if self.max_bytes <= 0:
            return await history_json.series_json(conn, series, start, end, width)
        log = await rollup_revisions.read(conn, self._seen)
        self._apply(log)
        if not log.tracked:
            return await history_json.series_json(conn, series, start, end, width)
        basis = self._seen
        low, high = rollups.floor_time(start, width), rollups.ceil_time(end, width)
        watermarks = await rollups.watermarks(conn)
        settled = rollups.settled(watermarks, width)
        size = width * CHUNK_BUCKETS
        held: dict[datetime, str] = {}
        missing: list[tuple[datetime, datetime]] = []
        fill: list[datetime] = []  # the complete chunks to keep, by start
        at = rollups.floor_time(low, size)
        while at < high:
            key = (series, width, at)
            whole = settled is not None and low <= at and at + size <= min(high, settled[1])
            if whole and key in self._chunks:
                self._chunks.move_to_end(key)
                held[at] = self._chunks[key].text
            else:
                if whole:
                    fill.append(at)
                piece = (max(at, low), min(at + size, high))
                if missing and missing[-1][1] == piece[0]:
                    piece = (missing.pop()[0], piece[1])
                missing.append(piece)
            at += size
        computed = await history_json.chunks_json(conn, series, missing, width, size, watermarks)
        if self._seen == basis:  # no revision applied meanwhile that this read may predate
            for chunk_start in fill:
                text = computed.get(chunk_start, "")
                self._keep(series, width, _Chunk(chunk_start, chunk_start + size, text))
        texts = [held.get(k) or computed.get(k, "") for k in sorted(held.keys() | computed.keys())]
        return "[" + ",".join(t for t in texts if t) + "]"

    def clear(self) -> None:
        """Drop every chunk."""
        self._chunks.clear()
        self._bytes = 0

    def _apply(self, log: rollup_revisions.Revisions) -> None:
        if not log.tracked or self._seen is None or log.missed(self._seen):
            self.clear()
        else:
            for revision in log.after:
                stale = [
                    key
                    for key, chunk in self._chunks.items()
                    if chunk.start < revision.high and revision.low < chunk.end
                ]
                for key in stale:
                    self._bytes -= len(self._chunks.pop(key).text)
        self._seen = log.newest or 0

    def _keep(self, series: str, width: timedelta, chunk: _Chunk) -> None:
        key = (series, width, chunk.start)
        old = self._chunks.pop(key, None)
        if old is not None:
            self._bytes -= len(old.text)
        self._chunks[key] = chunk
        self._bytes += len(chunk.text)
        while self._bytes > self.max_bytes and self._chunks:
            _, dropped = self._chunks.popitem(last=False)
            self._bytes -= len(dropped.text)
