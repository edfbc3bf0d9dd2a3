"""The parking tables (migration 16) and the readings behind a lot: reads and operator
actions.

Lots are the twin's assets of kind ``parking_lot``; their bays and counters are its
devices of kinds ``parking_bay`` and ``parking_counter`` (a bay is named by the
device's ``bay_id`` property, else by the device id). Operators' decisions live in
``parking_lot_overrides`` and ``parking_bay_service``; every action is also logged in
``parking_actions`` with its values, in the same transaction, and notified on
:data:`CHANNEL` with the lot's id so that the live twin re-reads the lot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from parking import occupancy
from parking.errors import ActionConflict, BayNotFound, InvalidAction, LotNotFound
from parking.model import (
    Closure,
    LotInput,
    LotOverride,
    LotState,
    SensorValue,
    Thresholds,
)

CHANNEL = "parking_changed"
"""Notified on commit of an operator action, with the lot's id."""
SINCE_LOOKBACK = timedelta(days=7)
"""How far back a bay's readings are searched for its last change: a bay unchanged for
longer reports the first reading of the window as its ``since`` (a bound, not a date)."""
MAX_CAPACITY = 100_000
"""No lot holds more places; a larger capacity is a typing error."""
MAX_REASON = 500

_LOT_ROWS = """
SELECT a.asset_id, a.name, a.properties->>'capacity', a.lon, a.lat, p.zone_code, p.zone_name,
       d.device_id, d.kind, d.properties->>'bay_id', l.quantity, l.time, l.value
FROM assets a
LEFT JOIN asset_places p USING (asset_id)
LEFT JOIN devices d ON d.asset_id = a.asset_id AND d.kind IN ('parking_bay', 'parking_counter')
LEFT JOIN latest_readings l ON l.device_id = d.device_id
WHERE a.kind = 'parking_lot' AND (%(ids)s::text[] IS NULL OR a.asset_id = ANY(%(ids)s))
ORDER BY a.asset_id, d.device_id, l.quantity
"""
_OVERRIDES = """
SELECT lot_id, closed_reason, closed_since, closed_until, closed_by, capacity, counter_offset
FROM parking_lot_overrides WHERE %(ids)s::text[] IS NULL OR lot_id = ANY(%(ids)s)
"""
_SERVICES = """
SELECT bay_id, reason, since, until, set_by
FROM parking_bay_service WHERE %(ids)s::text[] IS NULL OR lot_id = ANY(%(ids)s)
"""
# When each bay's current state began: the first reading after the last one of the other
# state (within the lookback), by index probes on (device_id, quantity, time).
_SINCE = """
SELECT l.device_id,
       (SELECT min(r.time) FROM readings r
        WHERE r.device_id = l.device_id AND r.quantity = 'occupied' AND r.time > c.changed)
FROM latest_readings l
CROSS JOIN LATERAL (
    SELECT coalesce(max(r.time), %(floor)s) AS changed FROM readings r
    WHERE r.device_id = l.device_id AND r.quantity = 'occupied' AND r.value <> l.value
      AND r.time >= %(floor)s) c
WHERE l.device_id = ANY(%(devices)s) AND l.quantity = 'occupied'
"""


@dataclass(frozen=True)
class Lot:
    """A lot's live state with where it stands: its location (CRS84) and zone."""

    state: LotState
    lon: float
    lat: float
    zone_code: str | None
    zone_name: str | None

    def document(self, with_bays: bool = False) -> dict[str, Any]:
        """As JSON-ready values: its state's (:meth:`parking.model.LotState.document`),
        location and zone."""
        zone = None if self.zone_code is None else {"code": self.zone_code, "name": self.zone_name}
        return self.state.document(with_bays) | {"lon": self.lon, "lat": self.lat, "zone": zone}


def overrides_from_rows(rows: Sequence[tuple[Any, ...]]) -> dict[str, LotOverride]:
    """Lot overrides by lot from rows of :data:`_OVERRIDES`."""
    found = {}
    for lot_id, reason, since, until, by, capacity, offset in rows:
        closure = None if reason is None else Closure(reason, until, since, by)
        found[lot_id] = LotOverride(closure, capacity, offset)
    return found


async def overrides(conn: AsyncConnection, lot_ids: Sequence[str] | None) -> dict[str, LotOverride]:
    """The operators' overrides of the lots (all lots for None), by lot id."""
    rows = await (await conn.execute(_OVERRIDES, {"ids": lot_ids})).fetchall()
    return overrides_from_rows(rows)


async def services(conn: AsyncConnection, lot_ids: Sequence[str] | None) -> dict[str, Closure]:
    """The bays marked out of service (of the lots, all for None), by bay id."""
    rows = await (await conn.execute(_SERVICES, {"ids": lot_ids})).fetchall()
    return {bay: Closure(reason, until, since, by) for bay, reason, since, until, by in rows}


async def bays_since(
    conn: AsyncConnection, device_ids: Sequence[str], now: datetime
) -> dict[str, datetime]:
    """When each bay sensor's current state began (see :data:`SINCE_LOOKBACK`)."""
    rows = await (
        await conn.execute(_SINCE, {"devices": list(device_ids), "floor": now - SINCE_LOOKBACK})
    ).fetchall()
    return {device: since for device, since in rows if since is not None}


@dataclass(frozen=True)
class Held:
    """What a lot's live state is computed from, with where it stands (see :class:`Lot`)."""

    input: LotInput
    lon: float
    lat: float
    zone_code: str | None
    zone_name: str | None

    def at(self, now: datetime, thresholds: Thresholds = Thresholds()) -> Lot:  # noqa: B008 - frozen
        """The lot's live state at ``now``."""
        state = occupancy.lot_state(self.input, now, thresholds)
        return Lot(state, self.lon, self.lat, self.zone_code, self.zone_name)

    @property
    def devices(self) -> list[str]:
        """Its bay sensors' and counter's device ids."""
        found = [b.device_id for b in self.input.bays]
        return found + ([self.input.counter.device_id] if self.input.counter else [])


async def inputs(
    conn: AsyncConnection,
    now: datetime,
    lot_ids: Sequence[str] | None = None,
    *,
    with_since: bool = False,
) -> list[Held]:
    """What the lots' live states are computed from (all lots for None), by id;
    ``with_since`` looks up when each bay's state began (two index probes a bay)."""
    ids = None if lot_ids is None else list(lot_ids)
    rows = await (await conn.execute(_LOT_ROWS, {"ids": ids})).fetchall()
    held = await overrides(conn, ids)
    out_of_service = await services(conn, ids)
    since: dict[str, datetime] = {}
    if with_since:
        bays = [r[7] for r in rows if r[8] == occupancy.BAY and r[10] == "occupied"]
        since = await bays_since(conn, bays, now)
    found: list[Held] = []
    heads: dict[str, tuple[Any, ...]] = {}
    sensors: dict[str, dict[str, tuple[str, str | None, dict[str, SensorValue]]]]
    sensors = defaultdict(dict)
    for asset_id, name, capacity, lon, lat, code, zone, device, kind, bay, q, t, v in rows:
        heads.setdefault(asset_id, (name, capacity, lon, lat, code, zone))
        if device is None:
            continue
        entry = sensors[asset_id].setdefault(device, (kind, bay, {}))
        if q is not None:
            entry[2][q] = SensorValue(t, v)
    for asset_id, (name, capacity, lon, lat, code, zone) in heads.items():
        lot = occupancy.lot_input(
            asset_id,
            name,
            capacity,
            [(d, kind, bay, values) for d, (kind, bay, values) in sensors[asset_id].items()],
            held.get(asset_id),
            out_of_service,
            since,
        )
        found.append(Held(lot, lon, lat, code, zone))
    return found


async def lots(
    conn: AsyncConnection,
    now: datetime,
    lot_ids: Sequence[str] | None = None,
    *,
    with_since: bool = False,
    thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen
) -> list[Lot]:
    """The lots' live states at ``now`` (all lots for None), by id; ``with_since`` looks
    up when each bay's state began (two index probes a bay)."""
    found = await inputs(conn, now, lot_ids, with_since=with_since)
    return [held.at(now, thresholds) for held in found]


async def latest_action(conn: AsyncConnection) -> int:
    """The id of the latest operator action (0: none yet): what a process holding the
    lots' states compares with the one it last read to know whether it is behind."""
    row = await (await conn.execute("SELECT coalesce(max(id), 0) FROM parking_actions")).fetchone()
    return int(row[0]) if row else 0


async def acted_since(conn: AsyncConnection, action_id: int) -> tuple[list[str], int]:
    """The lots operators acted on after action ``action_id``, and the latest action's id
    (``action_id`` when there is none)."""
    rows = await (
        await conn.execute(
            "SELECT lot_id, max(id) FROM parking_actions WHERE id > %s GROUP BY lot_id",
            (action_id,),
        )
    ).fetchall()
    return [r[0] for r in rows], max((int(r[1]) for r in rows), default=action_id)


async def bay_places(
    conn: AsyncConnection, lot_ids: Sequence[str] | None = None
) -> dict[str, tuple[float, float]]:
    """Where each bay sensor stands (CRS84 lon, lat), by device id, for the lots given
    (all for None); sensors without a position are left out."""
    rows = await (
        await conn.execute(
            "SELECT device_id, lon, lat FROM devices WHERE kind = 'parking_bay'"
            " AND lon IS NOT NULL AND lat IS NOT NULL"
            " AND (%(ids)s::text[] IS NULL OR asset_id = ANY(%(ids)s))",
            {"ids": None if lot_ids is None else list(lot_ids)},
        )
    ).fetchall()
    return {device: (lon, lat) for device, lon, lat in rows}


async def lot(conn: AsyncConnection, lot_id: str, now: datetime) -> Lot:
    """One lot's live state with its bays and when each bay's state began;
    :class:`LotNotFound` when there is no such lot."""
    found = await lots(conn, now, [lot_id], with_since=True)
    if not found:
        raise LotNotFound(f"no parking lot {lot_id!r}; see /parking/lots")
    return found[0]


async def _lot_input(conn: AsyncConnection, lot_id: str) -> LotInput:
    """What a lot's state is computed from (for actions that need its counter)."""
    rows = await (await conn.execute(_LOT_ROWS, {"ids": [lot_id]})).fetchall()
    if not rows:
        raise LotNotFound(f"no parking lot {lot_id!r}; see /parking/lots")
    values: dict[str, tuple[str, str | None, dict[str, SensorValue]]] = {}
    for *_, device, kind, bay, q, t, v in rows:
        if device is not None:
            entry = values.setdefault(device, (kind, bay, {}))
            if q is not None:
                entry[2][q] = SensorValue(t, v)
    held = await overrides(conn, [lot_id])
    return occupancy.lot_input(
        lot_id,
        rows[0][1],
        rows[0][2],
        [(d, kind, bay, v) for d, (kind, bay, v) in values.items()],
        held.get(lot_id),
    )


async def recent_actions(conn: AsyncConnection, lot_id: str, limit: int = 20) -> list[dict]:
    """The lot's latest operator actions, newest first."""
    rows = await (
        await conn.execute(
            "SELECT id, at, bay_id, action, details, reason, by FROM parking_actions"
            " WHERE lot_id = %s ORDER BY at DESC, id DESC LIMIT %s",
            (lot_id, limit),
        )
    ).fetchall()
    return [
        {
            "id": i,
            "at": at.isoformat(),
            "bay_id": bay,
            "action": action,
            "details": details,
            "reason": reason,
            "by": by,
        }
        for i, at, bay, action, details, reason, by in rows
    ]


# --- operator actions ---------------------------------------------------------------


def _reason(reason: str | None, required: bool = True) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise InvalidAction("a reason is required: say why, for the lot's history")
    if len(text) > MAX_REASON:
        raise InvalidAction(f"the reason is {len(text)} characters; at most {MAX_REASON}")
    if "\x00" in text:
        raise InvalidAction("the reason holds a NUL character")
    return text or None


def _until(until: datetime | None, now: datetime) -> datetime | None:
    if until is not None:
        if until.tzinfo is None:
            raise InvalidAction("until needs a UTC offset (RFC 3339), e.g. 2025-06-01T18:00:00Z")
        if until <= now:
            raise InvalidAction(f"until {until.isoformat()} is not in the future")
    return until


async def _require_lot(conn: AsyncConnection, lot_id: str) -> None:
    row = await (
        await conn.execute(
            "SELECT 1 FROM assets WHERE asset_id = %s AND kind = 'parking_lot' FOR SHARE",
            (lot_id,),
        )
    ).fetchone()
    if row is None:
        raise LotNotFound(f"no parking lot {lot_id!r}; see /parking/lots")


async def _log(
    conn: AsyncConnection,
    lot_id: str,
    action: str,
    details: dict[str, Any],
    reason: str | None,
    by: str | None,
    bay_id: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO parking_actions (lot_id, bay_id, action, details, reason, by)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (lot_id, bay_id, action, Jsonb(details), reason, by),
    )
    await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, lot_id))


async def close_lot(
    conn: AsyncConnection,
    lot_id: str,
    reason: str,
    until: datetime | None,
    by: str | None,
    now: datetime,
) -> None:
    """Close a lot (until ``until``, or until reopened), whatever its sensors say."""
    text = _reason(reason)
    until = _until(until, now)
    async with conn.transaction():
        await _require_lot(conn, lot_id)
        await conn.execute(
            "INSERT INTO parking_lot_overrides"
            " (lot_id, closed_reason, closed_since, closed_until, closed_by)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (lot_id) DO UPDATE SET"
            " closed_reason = excluded.closed_reason, closed_since = excluded.closed_since,"
            " closed_until = excluded.closed_until, closed_by = excluded.closed_by",
            (lot_id, text, now, until, by),
        )
        details = {"until": until.isoformat() if until else None}
        await _log(conn, lot_id, "close", details, text, by)


async def reopen_lot(
    conn: AsyncConnection, lot_id: str, reason: str | None, by: str | None, now: datetime
) -> None:
    """Reopen a closed lot; :class:`ActionConflict` when it is not closed."""
    text = _reason(reason, required=False)
    async with conn.transaction():
        await _require_lot(conn, lot_id)
        row = await (
            await conn.execute(
                "SELECT closed_until FROM parking_lot_overrides"
                " WHERE lot_id = %s AND closed_reason IS NOT NULL FOR UPDATE",
                (lot_id,),
            )
        ).fetchone()
        if row is None or (row[0] is not None and row[0] <= now):
            raise ActionConflict(f"lot {lot_id!r} is not closed")
        await conn.execute(
            "UPDATE parking_lot_overrides SET closed_reason = NULL, closed_since = NULL,"
            " closed_until = NULL, closed_by = NULL WHERE lot_id = %s",
            (lot_id,),
        )
        await _log(conn, lot_id, "reopen", {}, text, by)


async def set_capacity(
    conn: AsyncConnection, lot_id: str, capacity: int | None, reason: str, by: str | None
) -> None:
    """Set the lot's capacity (None: back to its layer's)."""
    if capacity is not None and not 0 < capacity <= MAX_CAPACITY:
        raise InvalidAction(f"capacity must be within 1..{MAX_CAPACITY}; got {capacity}")
    text = _reason(reason)
    async with conn.transaction():
        await _require_lot(conn, lot_id)
        await conn.execute(
            "INSERT INTO parking_lot_overrides (lot_id, capacity) VALUES (%s, %s)"
            " ON CONFLICT (lot_id) DO UPDATE SET capacity = excluded.capacity",
            (lot_id, capacity),
        )
        await _log(conn, lot_id, "capacity", {"capacity": capacity}, text, by)


async def correct_counter(
    conn: AsyncConnection, lot_id: str, occupied: int, reason: str, by: str | None
) -> int:
    """Say how many places are occupied now: the counter's figure is offset to match
    from here on. Returns the offset; :class:`ActionConflict` for a lot whose counter
    has reported nothing usable (or that has none)."""
    if not 0 <= occupied <= MAX_CAPACITY:
        raise InvalidAction(f"occupied must be within 0..{MAX_CAPACITY}; got {occupied}")
    text = _reason(reason)
    async with conn.transaction():
        await _require_lot(conn, lot_id)
        lot = await _lot_input(conn, lot_id)
        capacity = lot.override.capacity or lot.capacity
        if capacity is not None and occupied > capacity:
            raise InvalidAction(f"occupied {occupied} exceeds the lot's capacity {capacity}")
        counted = None if lot.counter is None else occupancy.counter_figure(lot.counter, capacity)
        if counted is None:
            raise ActionConflict(f"lot {lot_id!r} has no counter reading to correct")
        offset = occupied - counted[0]
        await conn.execute(
            "INSERT INTO parking_lot_overrides (lot_id, counter_offset) VALUES (%s, %s)"
            " ON CONFLICT (lot_id) DO UPDATE SET counter_offset = excluded.counter_offset",
            (lot_id, offset),
        )
        details = {"occupied": occupied, "counter": counted[0], "offset": offset}
        await _log(conn, lot_id, "counter_correction", details, text, by)
    return offset


async def set_bay_service(
    conn: AsyncConnection,
    bay_id: str,
    in_service: bool,
    reason: str | None,
    until: datetime | None,
    by: str | None,
    now: datetime,
) -> str:
    """Mark a bay out of service (until ``until``, or until back in service) or back in
    service; returns its lot's id. :class:`BayNotFound` for an unknown bay."""
    text = _reason(reason, required=not in_service)
    until = None if in_service else _until(until, now)
    async with conn.transaction():
        row = await (
            await conn.execute(
                "SELECT asset_id FROM devices WHERE kind = 'parking_bay'"
                " AND coalesce(properties->>'bay_id', device_id) = %s AND asset_id IS NOT NULL"
                " ORDER BY device_id LIMIT 1",
                (bay_id,),
            )
        ).fetchone()
        if row is None:
            raise BayNotFound(f"no parking bay {bay_id!r}; see /parking/lots/{{lot_id}}")
        lot_id = str(row[0])
        await _require_lot(conn, lot_id)
        if in_service:
            gone = await conn.execute(
                "DELETE FROM parking_bay_service WHERE bay_id = %s", (bay_id,)
            )
            if not gone.rowcount:
                raise ActionConflict(f"bay {bay_id!r} is not out of service")
        else:
            await conn.execute(
                "INSERT INTO parking_bay_service (bay_id, lot_id, reason, since, until, set_by)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (bay_id) DO UPDATE SET"
                " lot_id = excluded.lot_id, reason = excluded.reason, since = excluded.since,"
                " until = excluded.until, set_by = excluded.set_by",
                (bay_id, lot_id, text, now, until, by),
            )
        action = "bay_in_service" if in_service else "bay_out_of_service"
        details = {"until": until.isoformat() if until else None}
        await _log(conn, lot_id, action, details, text, by, bay_id)
    return lot_id


_BAY_DEVICES = """
SELECT coalesce(properties->>'bay_id', device_id), device_id FROM devices
WHERE asset_id = %s AND kind = 'parking_bay'
"""
_BAY_READINGS = """
SELECT d.device_id, r.time, r.value
FROM devices d JOIN readings r ON r.device_id = d.device_id AND r.quantity = 'occupied'
WHERE d.asset_id = %(lot)s AND d.kind = 'parking_bay'
  AND r.time >= %(start)s AND r.time < %(end)s
ORDER BY d.device_id, r.time
"""
_BAY_BEFORE = """
SELECT d.device_id, b.value
FROM devices d CROSS JOIN LATERAL (
    SELECT value FROM readings r
    WHERE r.device_id = d.device_id AND r.quantity = 'occupied' AND r.time < %(start)s
    ORDER BY r.time DESC LIMIT 1) b
WHERE d.asset_id = %(lot)s AND d.kind = 'parking_bay'
"""


async def bay_events(
    conn: AsyncConnection, lot_id: str, start: datetime, end: datetime
) -> tuple[dict[str, list[tuple[datetime, float]]], dict[str, float]]:
    """A lot's bays' ``occupied`` readings in ``[start, end)`` and each bay's last state
    before ``start``, by bay id (every bay of the lot, with or without readings);
    :class:`LotNotFound` for an unknown lot."""
    await _require_lot(conn, lot_id)
    rows = await (await conn.execute(_BAY_DEVICES, (lot_id,))).fetchall()
    names: dict[str, str] = {bay: device for bay, device in rows}
    bay_of = {device: bay for bay, device in names.items()}
    params = {"lot": lot_id, "start": start, "end": end}
    readings: dict[str, list[tuple[datetime, float]]] = {bay: [] for bay in names}
    for device, moment, value in await (await conn.execute(_BAY_READINGS, params)).fetchall():
        readings[bay_of[device]].append((moment, value))
    before = {
        bay_of[device]: value
        for device, value in await (await conn.execute(_BAY_BEFORE, params)).fetchall()
    }
    return readings, before
