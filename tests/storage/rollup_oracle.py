"""An independent oracle for the rollups: buckets computed in Python from the readings.

Buckets are found by integer arithmetic on epoch microseconds, not by ``date_bin`` or
``time_bucket``, and aggregated with plain loops.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from storage.readings import Reading
from storage.rollups import Bucket

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ORIGIN_US = 946_857_600 * 1_000_000  # 2000-01-03T00:00:00Z, a Monday


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def bucket_of(moment: datetime, width: timedelta) -> datetime:
    step = width // timedelta(microseconds=1)
    start = _ORIGIN_US + (_us(moment) - _ORIGIN_US) // step * step
    return _EPOCH + timedelta(microseconds=start)


def expected(
    readings: Iterable[Reading],
    width: timedelta,
    *,
    combine: bool = False,
    devices: Iterable[str] | None = None,
    quantity: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Bucket]:
    """The buckets :func:`storage.rollups.series` should answer (or a level should hold)."""
    wanted = set(devices) if devices is not None else None
    low = bucket_of(start, width) if start is not None else None
    groups: dict[tuple[str | None, str, datetime], list[Reading]] = {}
    for r in readings:
        if wanted is not None and r.device_id not in wanted:
            continue
        if quantity is not None and r.quantity != quantity:
            continue
        b = bucket_of(r.time, width)
        if (low is not None and b < low) or (end is not None and b >= end):
            continue
        key = (None if combine else r.device_id, r.quantity, b)
        groups.setdefault(key, []).append(r)
    out = []
    for (device, _quantity, b), rs in groups.items():
        first = min(rs, key=lambda r: (r.time, r.device_id))
        last = min(rs, key=lambda r: (-_us(r.time), r.device_id))
        values = [r.value for r in rs]
        out.append(
            Bucket(
                b, device, len(rs), sum(values), min(values), max(values),
                first.time, first.value, last.time, last.value,
            )
        )  # fmt: skip
    return sorted(out, key=lambda x: (x.device_id or "", x.start))


def level_rows(readings: Iterable[Reading], width: timedelta, before: datetime) -> set[tuple]:
    """A level's rows (device, quantity, bucket, aggregates) for buckets before ``before``."""
    rows = set()
    by_quantity: dict[str, list[Reading]] = {}
    for r in readings:
        by_quantity.setdefault(r.quantity, []).append(r)
    for quantity, rs in by_quantity.items():
        for b in expected(rs, width):
            if b.start < before:
                rows.add(
                    (b.device_id, quantity, b.start, b.count, b.sum, b.min, b.max,
                     b.first_time, b.first_value, b.last_time, b.last_value)
                )  # fmt: skip
    return rows
