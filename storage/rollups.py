"""Rollups of the readings: long histories answered from 5-minute, hourly and daily buckets.

Every level holds, per device, quantity and bucket, the ``count``, ``sum``, ``min`` and
``max`` of the readings (the mean is ``sum / count``) and the first and last reading
(time and value): what a chart, a utilisation figure or a state carried from one bucket
to the next needs, and all of it exact when buckets are merged, so that a coarser level
is built from the finer one and a query can add buckets of different levels together.
Buckets are aligned on :data:`ORIGIN` (a Monday, midnight UTC: TimescaleDB's
``time_bucket`` origin), days and weeks are UTC days and weeks.

The same tables are kept two ways (``docs/rollups.md``):

- **TimescaleDB**: ``readings_5m``, ``readings_1h`` and ``readings_1d`` are hierarchical
  continuous aggregates refreshed by TimescaleDB's own policies (:func:`configure`).
- **Plain PostgreSQL**: the same names are tables. The writer records, in the same
  transaction as the readings, which 5-minute buckets a batch touched
  (:func:`invalidate`: one row per bucket and batch, never an update, so concurrent
  writers never wait for each other); :func:`refresh` recomputes those buckets from the
  raw readings once they are complete, then the hours and days they belong to. A late
  reading invalidates its own past bucket and is rolled up by the next refresh.

Both keep *complete* buckets only, so each level's watermark is the end of its newest
bucket. :func:`series` answers a range from the coarsest level that divides the asked
bucket width, continues past its watermark with the finer levels and ends with the raw
readings newer than every level: the newest edge is never missing, and no reading is
counted twice.

On plain PostgreSQL the hourly level is also kept packed by day (``readings_1h_days``,
:data:`HOURS_BY_DAY`): a series' day of hourly buckets in one row, refreshed with the
daily level from the same hours, so its watermark is the daily one. A year of a series
is read from it 365 rows at a time (:mod:`storage.hours_by_day`, :mod:`air.hourly_grid`);
on TimescaleDB it stays empty and such readers take the hourly level.

Rollups are refreshed over the window in which every quantity still has its raw
readings: a reading older than the shortest raw retention is stored but not rolled up
(on TimescaleDB a refresh there would recompute buckets whose readings retention has
already deleted, and empty them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from settings import RetentionSettings
from storage import migrations, rollup_revisions

ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)
"""Where the bucket grid starts: TimescaleDB's ``time_bucket`` origin, a Monday."""

REFRESH_BUCKETS_PER_PASS = 288
"""The most invalidated buckets of one level a plain-PostgreSQL refresh recomputes at
once (a day of 5-minute buckets): a backlog is worked off oldest first over several
passes instead of holding the writer's connection for one long one."""

REFRESH_LOCK_KEY = 0x5C17_2011
"""Serialises refreshes (every ingest worker runs them, one at a time does the work) and
the writers of :mod:`storage.rollup_revisions`."""


@dataclass(frozen=True, slots=True)
class Level:
    """A rollup level: its name, bucket width and table (or continuous aggregate)."""

    name: str
    width: timedelta

    @property
    def table(self) -> str:
        """The table (plain PostgreSQL) or continuous aggregate (TimescaleDB)."""
        return f"readings_{self.name}"

    def floor(self, moment: datetime) -> datetime:
        """Start of the bucket of this level holding ``moment``."""
        return floor_time(moment, self.width)


LEVELS = (
    Level("5m", timedelta(minutes=5)),
    Level("1h", timedelta(hours=1)),
    Level("1d", timedelta(days=1)),
)
"""Finest first; each level is built from the one before it (the first from raw)."""

RAW = "readings"
"""The source name of raw readings in a :class:`Segment`."""

_DAY = LEVELS[-1].width

HOURS_BY_DAY = "1h_days"
"""The watermark's name (in :func:`watermarks`) of ``readings_1h_days``, the hourly
level packed by day: per device, quantity and UTC day, the hours' starts
(``timestamptz_send``), means, counts, sums, minima and maxima as byte strings in the
hours' order."""


def floor_time(moment: datetime, width: timedelta) -> datetime:
    """Start of the ``width`` bucket (aligned on :data:`ORIGIN`) holding ``moment``."""
    return ORIGIN + (moment - ORIGIN) // width * width


def ceil_time(moment: datetime, width: timedelta) -> datetime:
    """End of the last ``width`` bucket a range ending at ``moment`` overlaps."""
    start = floor_time(moment, width)
    return start if start == moment else start + width


@dataclass(frozen=True, slots=True)
class Bucket:
    """Aggregates of one bucket: of one device, or of every device asked (``device_id``
    is then None; of readings at the same time, the first and last are the smallest
    device id's)."""

    start: datetime
    device_id: str | None
    count: int
    sum: float
    min: float
    max: float
    first_time: datetime
    first_value: float
    last_time: datetime
    last_value: float

    @property
    def mean(self) -> float:
        """The mean of the bucket's readings."""
        return self.sum / self.count


@dataclass(frozen=True, slots=True)
class Segment:
    """Part of a query's range ``[start, end)`` read from one source (a level's table,
    or :data:`RAW`)."""

    source: str
    start: datetime
    end: datetime


def plan(
    watermarks: dict[str, datetime | None],
    start: datetime,
    end: datetime,
    width: timedelta,
) -> list[Segment]:
    """Which source answers which part of ``[start, end)`` for buckets of ``width``.

    ``start`` and ``end`` must lie on the ``width`` grid. ``watermarks`` maps a level's
    name to the end of its newest complete bucket (None: the level is empty). The
    coarsest level dividing ``width`` goes first, up to its watermark; each finer level
    takes over from there to its own; the raw readings answer the rest.
    """
    segments: list[Segment] = []
    cursor = start
    for level in reversed(LEVELS):
        watermark = watermarks.get(level.name)
        if watermark is None or width % level.width:
            continue
        upto = min(watermark, end)
        if upto > cursor:
            segments.append(Segment(level.table, cursor, upto))
            cursor = upto
    if cursor < end:
        segments.append(Segment(RAW, cursor, end))
    return segments


def settled(
    watermarks: dict[str, datetime | None], width: timedelta
) -> tuple[str, datetime] | None:
    """The level whose rows alone answer buckets of ``width`` before the time returned
    with it (its watermark), as the first segment of :func:`plan`; None where no level
    does. Those buckets change only as :mod:`storage.rollup_revisions` logs."""
    for level in reversed(LEVELS):
        watermark = watermarks.get(level.name)
        if watermark is not None and not width % level.width:
            return level.name, watermark
    return None


# One row per reading, or per rollup bucket, in the same columns: what is added up.
_RAW_PARTS = """
SELECT device_id, quantity, time AS bucket, 1::bigint AS count, value AS sum,
       value AS min, value AS max, time AS first_time, value AS first_value,
       time AS last_time, value AS last_value
FROM readings WHERE time >= {start} AND time < {end}{where}"""
_ROLLUP_PARTS = """
SELECT device_id, quantity, bucket, count, sum, min, max, first_time, first_value,
       last_time, last_value
FROM {table} WHERE bucket >= {start} AND bucket < {end}{where}"""
# Buckets (or readings) added up into buckets of {width}, the columns of a level.
# (min/max over [epoch, value] arrays instead of the ordered array_agg measured 1.2 to
# 1.5 times slower: a year of 5-minute readings by hour, PostgreSQL 15.)
_MERGE = """
SELECT {keys}date_bin({width}, bucket, {origin}) AS merged,
       sum(count)::bigint, sum(sum), min(min), max(max),
       min(first_time), (array_agg(first_value ORDER BY first_time, device_id))[1],
       max(last_time), (array_agg(last_value ORDER BY last_time DESC, device_id))[1]
FROM ({parts}) AS parts
GROUP BY {keys}merged"""


def _parts(
    source: str, start: sql.Composable, end: sql.Composable, where: sql.Composable
) -> sql.Composed:
    template = _RAW_PARTS if source == RAW else _ROLLUP_PARTS
    return sql.SQL(template).format(table=sql.Identifier(source), start=start, end=end, where=where)


def _merge(keys: str, width: timedelta, parts: sql.Composable) -> sql.Composed:
    return sql.SQL(_MERGE).format(
        keys=sql.SQL(keys), width=sql.Literal(width), origin=sql.Literal(ORIGIN), parts=parts
    )


_WATERMARKS = sql.SQL("SELECT {}, (SELECT max(day) FROM readings_1h_days)").format(
    sql.SQL(", ").join(
        sql.SQL("(SELECT max(bucket) FROM {})").format(sql.Identifier(level.table))
        for level in LEVELS
    )
)


def _watermarks(row: Sequence[datetime | None] | None) -> dict[str, datetime | None]:
    """Each level's watermark from its newest bucket (the rollups hold complete buckets),
    and :data:`HOURS_BY_DAY`'s from its newest day."""
    newest = row or [None] * (len(LEVELS) + 1)
    widths = [(level.name, level.width) for level in LEVELS] + [(HOURS_BY_DAY, _DAY)]
    return {
        name: None if last is None else last + width
        for (name, width), last in zip(widths, newest, strict=True)
    }


_WIDTHS = {level.table: level.width for level in LEVELS}

_FINAL = """
SELECT device_id, bucket AS merged, count, sum, min, max, first_time, first_value,
       last_time, last_value
FROM {table} WHERE bucket >= {start} AND bucket < {end}{where}"""


def series_query(segments: Sequence[Segment], width: timedelta, *, combine: bool) -> sql.Composed:
    """The SQL of :func:`series` over ``segments`` (parameters ``devices``, ``quantity``):
    rows of (device id unless ``combine``, bucket start, count, sum, min, max, first time,
    first value, last time, last value), ordered.

    Per device, the rows of a level as wide as the buckets asked are the answer as they
    are (that level's watermark lies on the grid, so no other segment shares a bucket
    with it); only the rest is added up.
    """
    where = sql.SQL(" AND device_id = ANY(%(devices)s) AND quantity = %(quantity)s")
    final = [] if combine else [s for s in segments if _WIDTHS.get(s.source) == width]
    merged = [s for s in segments if s not in final]
    keys = "" if combine else "device_id, "
    selects = [
        sql.SQL(_FINAL).format(
            table=sql.Identifier(s.source),
            start=sql.Literal(s.start),
            end=sql.Literal(s.end),
            where=where,
        )
        for s in final
    ]
    if merged:
        parts = sql.SQL(" UNION ALL ").join(
            _parts(s.source, sql.Literal(s.start), sql.Literal(s.end), where) for s in merged
        )
        selects.append(_merge(keys, width, parts))
    return sql.SQL("{} ORDER BY {}merged").format(
        sql.SQL(" UNION ALL ").join(selects), sql.SQL(keys)
    )


async def watermarks(conn: psycopg.AsyncConnection) -> dict[str, datetime | None]:
    """Each level's watermark: the end of its newest bucket (None for an empty level)."""
    return _watermarks(await (await conn.execute(_WATERMARKS)).fetchone())


async def series(
    conn: psycopg.AsyncConnection,
    device_ids: Sequence[str],
    quantity: str,
    start: datetime,
    end: datetime,
    bucket: timedelta,
    *,
    combine: bool = False,
    raw: bool = False,
) -> list[Bucket]:
    """The readings of ``quantity`` from ``device_ids`` in buckets of ``bucket``, oldest first.

    Every bucket of the grid (aligned on :data:`ORIGIN`) that overlaps ``[start, end)``
    is answered whole; a bucket without readings is left out. Per device (ordered by
    device, then time), or with ``combine`` over every device together. Answered from
    the rollups where a level's width divides ``bucket`` (5 minutes, an hour, a day, or
    multiples: 15 minutes, a week), from raw readings for the newest edge, or for all
    of it with ``raw`` (for comparison: the same answer, slower).

    >>> await series(conn, ["lot-1-counter"], "occupied_spaces",  # doctest: +SKIP
    ...              datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
    ...              timedelta(hours=1))
    [Bucket(start=datetime(2025, 1, 1, 0, 0, tzinfo=UTC), device_id='lot-1-counter', ...]
    """
    if bucket <= timedelta(0):
        raise ValueError(f"bucket width must be positive, got {bucket}")
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC recommended)")
    if not device_ids or end <= start:
        return []
    low, high = floor_time(start, bucket), ceil_time(end, bucket)
    marks = {} if raw else await watermarks(conn)
    query = series_query(plan(marks, low, high, bucket), bucket, combine=combine)
    params = {"devices": list(device_ids), "quantity": quantity}
    rows = await (await conn.execute(query, params, binary=True)).fetchall()
    if combine:
        return [Bucket(row[0], None, *row[1:]) for row in rows]
    return [Bucket(row[1], row[0], *row[2:]) for row in rows]


# One device's quantities side by side: what a chart of several quantities of one series
# needs, without first/last (their array_agg is the merge's dearest part) and in a row
# per bucket (a third of the rows to convert for three quantities). A level as wide as
# the buckets asked is read by merge-joining each quantity's index range (the covering
# keys hold count, sum, min and max): aggregating it with FILTERs instead measured 4x
# slower for a year by hour; the rest (the newest edge) is aggregated.
_WIDE_RAW = """
SELECT {bucket} AS merged, quantity, 1::bigint AS count, value AS sum, value AS min,
       value AS max
FROM readings WHERE time >= {start} AND time < {end}
  AND device_id = %(device)s AND quantity = ANY(%(quantities)s)"""
_WIDE_ROLLUP = """
SELECT {bucket} AS merged, quantity, count, sum, min, max
FROM {table} WHERE bucket >= {start} AND bucket < {end}
  AND device_id = %(device)s AND quantity = ANY(%(quantities)s)"""
_WIDE_COLUMNS = """
sum(count) FILTER (WHERE quantity = {q})::bigint, sum(sum) FILTER (WHERE quantity = {q}),
min(min) FILTER (WHERE quantity = {q}), max(max) FILTER (WHERE quantity = {q})"""
_WIDE_JOIN = """
LEFT JOIN {table} {alias} ON {alias}.device_id = q0.device_id AND {alias}.quantity = {q}
  AND {alias}.bucket = q0.bucket AND {alias}.bucket >= {start} AND {alias}.bucket < {end}"""


def _wide_final(segment: Segment, quantities: Sequence[str]) -> sql.Composed:
    """A level as wide as the buckets asked: its rows of each quantity joined by bucket."""
    table = sql.Identifier(segment.source)
    aliases = [sql.Identifier(f"q{k}") for k in range(len(quantities))]
    columns = sql.SQL(", ").join(
        sql.SQL("{a}.count, {a}.sum, {a}.min, {a}.max").format(a=a) for a in aliases
    )
    joins = sql.SQL("").join(
        sql.SQL(_WIDE_JOIN).format(
            table=table,
            alias=a,
            q=sql.Literal(q),
            start=sql.Literal(segment.start),
            end=sql.Literal(segment.end),
        )
        for a, q in zip(aliases[1:], quantities[1:], strict=True)
    )
    return sql.SQL(
        "SELECT q0.bucket AS merged, {columns} FROM {table} q0{joins}"
        " WHERE q0.device_id = %(device)s AND q0.quantity = {first}"
        " AND q0.bucket >= {start} AND q0.bucket < {end}"
    ).format(
        columns=columns,
        table=table,
        joins=joins,
        first=sql.Literal(quantities[0]),
        start=sql.Literal(segment.start),
        end=sql.Literal(segment.end),
    )


def _wide_merged(
    segments: Sequence[Segment], width: timedelta, quantities: Sequence[str]
) -> sql.Composed:
    """Segments finer than the buckets asked (or raw): added up into them."""
    parts = []
    for s in segments:
        column = sql.Identifier("time" if s.source == RAW else "bucket")
        bucket = sql.SQL("date_bin({}, {}, {})").format(
            sql.Literal(width), column, sql.Literal(ORIGIN)
        )
        template = _WIDE_RAW if s.source == RAW else _WIDE_ROLLUP
        parts.append(
            sql.SQL(template).format(
                bucket=bucket,
                table=sql.Identifier(s.source),
                start=sql.Literal(s.start),
                end=sql.Literal(s.end),
            )
        )
    columns = sql.SQL(",").join(sql.SQL(_WIDE_COLUMNS).format(q=sql.Literal(q)) for q in quantities)
    return sql.SQL(
        "SELECT merged, {} FROM ({}) AS parts GROUP BY merged"
        " HAVING count(*) FILTER (WHERE quantity = {}) > 0"
    ).format(columns, sql.SQL(" UNION ALL ").join(parts), sql.Literal(quantities[0]))


def wide_query(
    segments: Sequence[Segment], width: timedelta, quantities: Sequence[str]
) -> sql.Composed:
    """The SQL of :func:`series_wide` over ``segments`` (parameters ``device``,
    ``quantities``)."""
    final = [s for s in segments if _WIDTHS.get(s.source) == width]
    rest = [s for s in segments if s not in final]
    selects = [_wide_final(s, quantities) for s in final]
    if rest:
        selects.append(_wide_merged(rest, width, quantities))
    return sql.SQL("{} ORDER BY merged").format(sql.SQL(" UNION ALL ").join(selects))


async def series_wide(
    conn: psycopg.AsyncConnection,
    device_id: str,
    quantities: Sequence[str],
    start: datetime,
    end: datetime,
    bucket: timedelta,
    *,
    raw: bool = False,
) -> list[tuple[Any, ...]]:
    """One device's ``quantities`` side by side in buckets of ``bucket``, oldest first:
    rows of (bucket start, then per quantity its count, sum, min and max: None where
    that quantity has no reading in the bucket). The first quantity leads: a bucket
    without a reading of it is left out.

    The buckets, sources and exactness of :func:`series` (no first and last values):
    one query and a row per bucket, for a series whose quantities are read together
    (a parking lot's occupied places, capacity and occupancy).
    """
    if bucket <= timedelta(0):
        raise ValueError(f"bucket width must be positive, got {bucket}")
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC recommended)")
    if not quantities or end <= start:
        return []
    low, high = floor_time(start, bucket), ceil_time(end, bucket)
    marks = {} if raw else await watermarks(conn)
    query = wide_query(plan(marks, low, high, bucket), bucket, quantities)
    params = {"device": device_id, "quantities": list(quantities)}
    return await (await conn.execute(query, params, binary=True)).fetchall()


# -- plain PostgreSQL: invalidations and refresh -------------------------------------

_INVALIDATE = (
    "INSERT INTO rollup_invalidations (level, bucket) SELECT %s, unnest(%s::timestamptz[])"
)


def invalidate(conn: psycopg.Connection, times: Sequence[datetime]) -> None:
    """Record the 5-minute buckets of readings at ``times`` as changed (plain PostgreSQL;
    the writer calls it in the transaction that stores the readings).

    A batch nearly always falls within one bucket, which its oldest and newest times show
    with two comparisons per reading instead of a division each.
    """
    if not times:
        return
    finest = LEVELS[0]
    first, last = finest.floor(min(times)), finest.floor(max(times))
    buckets = [first] if first == last else sorted({finest.floor(t) for t in times})
    conn.execute(_INVALIDATE, (finest.name, buckets))


BRIDGED_GAP = 12
"""The most buckets between two invalidated ones that a refresh recomputes with them in
one statement. Each statement reads its source by time range and costs about the same
for one bucket as for a few (a 10-minute sensor invalidates every other 5-minute bucket:
one statement per bucket made a year loaded at once take 40 minutes, see BENCHMARKS.md);
a complete bucket recomputed without need gets the same rows back."""


def _ranges(buckets: Sequence[datetime], width: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """Sorted bucket starts as runs ``[start, end)`` covering them, a run taking in gaps
    of up to :data:`BRIDGED_GAP` buckets."""
    run_start = run_end = None
    for bucket in buckets:
        if run_end is not None and bucket <= run_end + BRIDGED_GAP * width:
            run_end = bucket + width
            continue
        if run_start is not None and run_end is not None:
            yield run_start, run_end
        run_start, run_end = bucket, bucket + width
    if run_start is not None and run_end is not None:
        yield run_start, run_end


_PACK_HOURS = sql.SQL("""
INSERT INTO readings_1h_days (device_id, quantity, day, hours, means, counts, sums, mins, maxes)
SELECT device_id, quantity, date_bin({day}, bucket, {origin}),
       string_agg(timestamptz_send(bucket), '' ORDER BY bucket),
       string_agg(float8send(sum / count), '' ORDER BY bucket),
       string_agg(int8send(count), '' ORDER BY bucket),
       string_agg(float8send(sum), '' ORDER BY bucket),
       string_agg(float8send(min), '' ORDER BY bucket),
       string_agg(float8send(max), '' ORDER BY bucket)
FROM readings_1h WHERE bucket >= %s AND bucket < %s
GROUP BY 1, 2, 3""").format(day=sql.Literal(_DAY), origin=sql.Literal(ORIGIN))


def pack_days(conn: psycopg.Connection, low: datetime, high: datetime) -> None:
    """Pack the hourly level's rows of the UTC days in ``[low, high)`` again (replacing
    those days' rows of :data:`HOURS_BY_DAY`): only days the daily level holds, or held,
    since the packed days' watermark is the daily one."""
    conn.execute("DELETE FROM readings_1h_days WHERE day >= %s AND day < %s", (low, high))
    conn.execute(_PACK_HOURS, (low, high))


def _refresh_level(
    conn: psycopg.Connection, level: Level, source: str, horizon: datetime
) -> list[datetime]:
    """Recompute the invalidated buckets of ``level`` before ``horizon``; return them."""
    buckets = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT bucket FROM rollup_invalidations WHERE level = %s AND bucket < %s"
            " ORDER BY bucket LIMIT %s",
            (level.name, horizon, REFRESH_BUCKETS_PER_PASS),
        )
    ]
    if not buckets:
        return buckets
    # Deleted before the source is read: a writer committing meanwhile either is seen
    # by the read or keeps its own invalidation row for the next refresh.
    conn.execute(
        "DELETE FROM rollup_invalidations WHERE level = %s AND bucket = ANY(%s)",
        (level.name, buckets),
    )
    table = sql.Identifier(level.table)
    newest = conn.execute(sql.SQL("SELECT max(bucket) FROM {}").format(table)).fetchone()
    complete = None if newest is None or newest[0] is None else newest[0] + level.width
    revised = []
    for low, high in _ranges(buckets, level.width):
        if complete is not None and low < complete:  # complete before: a late reading
            revised.append((low, min(high, complete)))
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE bucket >= %s AND bucket < %s").format(table), (low, high)
        )
        parts = _parts(source, sql.Placeholder(), sql.Placeholder(), sql.SQL(""))
        merged = _merge("device_id, quantity, ", level.width, parts)
        conn.execute(sql.SQL("INSERT INTO {} {}").format(table, merged), (low, high))
        if level is LEVELS[-1]:  # the days' hours, packed (see HOURS_BY_DAY)
            pack_days(conn, low, high)
    rollup_revisions.record(conn, level.name, revised)
    return buckets


def _refresh_tables(conn: psycopg.Connection, floor: datetime, now: datetime) -> int:
    recomputed = 0
    with conn.transaction():
        locked = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (REFRESH_LOCK_KEY,))
        if not locked.fetchone()[0]:  # type: ignore[index]
            return 0  # another process is refreshing
        # Older than the shortest raw retention: their readings may be partly deleted.
        conn.execute("DELETE FROM rollup_invalidations WHERE bucket < %s", (floor,))
        rollup_revisions.prune(conn)
        source, horizon = RAW, now
        for finer, coarser in zip(LEVELS, [*LEVELS[1:], None], strict=True):
            buckets = _refresh_level(conn, finer, source, finer.floor(horizon))
            recomputed += len(buckets)
            if coarser is None:
                break
            if buckets:
                conn.execute(
                    _INVALIDATE, (coarser.name, sorted({coarser.floor(b) for b in buckets}))
                )
            # A coarser bucket is complete once no finer bucket in it waits for a refresh.
            pending = conn.execute(
                "SELECT min(bucket) FROM rollup_invalidations WHERE level = %s", (finer.name,)
            ).fetchone()
            if pending is not None and pending[0] is not None:
                horizon = min(horizon, pending[0])
            source = finer.table
    return recomputed


# -- TimescaleDB: continuous aggregate policies and refresh --------------------------

_POLICY_SCHEDULE = {
    "5m": timedelta(minutes=1),
    "1h": timedelta(minutes=10),
    "1d": timedelta(hours=1),
}
"""How often TimescaleDB refreshes each level: a bucket is materialized once complete."""

_POLICY_IS = """
SELECT (config->>'start_offset')::interval = %s AND (config->>'end_offset')::interval = '0'
FROM timescaledb_information.jobs
WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_name = %s
"""


@contextlib.contextmanager
def _autocommit(conn: psycopg.Connection) -> Iterator[None]:
    """Autocommit for the span (TimescaleDB refuses to refresh inside a transaction)."""
    if conn.autocommit:
        yield
        return
    conn.autocommit = True
    try:
        yield
    finally:
        conn.autocommit = False


def _refresh_window_start(settings: RetentionSettings, now: datetime) -> datetime:
    """Where refreshes start: the shortest raw retention, rounded up to a whole day."""
    return ceil_time(now - timedelta(days=settings.shortest_raw_retention_days), LEVELS[-1].width)


def configure(conn: psycopg.Connection, settings: RetentionSettings) -> bool:
    """Set TimescaleDB's refresh policies from the retention settings (a policy per level,
    over the shortest raw retention, complete buckets only); False on plain PostgreSQL,
    where :func:`refresh` does the work. Unchanged policies are left alone."""
    if migrations.readings_storage(conn) != "timescaledb":
        return False
    window = timedelta(days=settings.shortest_raw_retention_days)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (REFRESH_LOCK_KEY,))
        for level in LEVELS:
            same = conn.execute(_POLICY_IS, (window, level.table)).fetchone()
            if same is not None and same[0]:
                continue
            conn.execute(
                "SELECT remove_continuous_aggregate_policy(%s::regclass, if_exists => true)",
                (level.table,),
            )
            conn.execute(
                "SELECT add_continuous_aggregate_policy(%s::regclass, start_offset => %s,"
                " end_offset => INTERVAL '0', schedule_interval => %s)",
                (level.table, window, _POLICY_SCHEDULE[level.name]),
            )
    return True


def refresh(
    conn: psycopg.Connection,
    settings: RetentionSettings,
    now: datetime | None = None,
    *,
    everything: bool = False,
) -> int:
    """Bring every level up to date with the committed readings, up to its last complete
    bucket before ``now``; return how many buckets were recomputed (plain PostgreSQL) or
    0 (TimescaleDB, which does not say).

    Plain PostgreSQL: the invalidated buckets, at most :data:`REFRESH_BUCKETS_PER_PASS`
    per level (call again for a backlog); a refresh already running elsewhere makes
    this one return 0 at once. TimescaleDB: ``CALL refresh_continuous_aggregate`` per
    level over the shortest raw retention, or the whole history with ``everything``
    (once, after upgrading a database that has readings); its policies do this by
    themselves wherever its background workers run. Commit first: the refresh runs
    outside a transaction there.
    """
    now = now or datetime.now(UTC)
    floor = _refresh_window_start(settings, now)
    idle = conn.autocommit or conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    if migrations.readings_storage(conn) != "timescaledb":
        return _refresh_tables(conn, floor, now)
    if not idle:
        raise RuntimeError("commit or roll back before refreshing continuous aggregates")
    if not conn.autocommit:
        conn.commit()  # ends the read transaction just opened, nothing else
    with _autocommit(conn):
        for level in LEVELS:
            conn.execute(
                "CALL refresh_continuous_aggregate(%s::regclass, %s::timestamptz, %s::timestamptz)",
                (level.table, None if everything else floor, level.floor(now)),
            )
    return 0
