"""The twin's assets with their place, sensors and state, now or at a past moment.

One query returns a row per asset, device and quantity (place from ``asset_places``,
sensors from ``devices``, values from ``latest_readings`` or, for a past moment, each
sensor quantity's last reading at or before it); Python assembles the documents and
adds the derived status: a parking lot's from :mod:`parking` (its occupancy, free
places and open / closed / full / fault state, its operators' decisions included),
any other asset's from its first sensor with data (:mod:`twin.status`). The spatial
questions (within a polygon, within a distance, the N nearest) measure in Stereo 70
metres, never in degrees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import shapely
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool
from pyproj import Transformer

from parking import occupancy
from parking import store as parking_store
from parking.model import Closure, LotInput, LotOverride, LotState, SensorValue
from twin.status import sensor_status

METRIC_CRS = "EPSG:3844"
VALUE_PARTS = 2
_TO_METRES = Transformer.from_crs("OGC:CRS84", METRIC_CRS, always_xy=True)

_NOW = sql.SQL("LEFT JOIN latest_readings v ON v.device_id = d.device_id")
# Every sensor quantity's last reading at or before a moment: its latest if that is not
# later, else one index probe. Joined to devices, PostgreSQL pulls the subquery up, so
# only the asked-for devices are probed.
_VALUES_AT = sql.SQL("""
SELECT l.device_id, l.quantity, r.time, r.value
FROM latest_readings l
CROSS JOIN LATERAL (
    SELECT l.time, l.value WHERE l.time <= {at}
    UNION ALL
    (SELECT time, value FROM readings
     WHERE device_id = l.device_id AND quantity = l.quantity AND time <= {at}
     ORDER BY time DESC LIMIT 1)
    LIMIT 1) r
""")
_AT = sql.SQL("LEFT JOIN ({}) v ON v.device_id = d.device_id")
# One row per asset, device and quantity with a value; assembled into documents in
# Python (building them with json_agg in PostgreSQL took 3-4 times longer).
_ROWS = sql.SQL("""
SELECT a.asset_id, a.name, a.kind, a.lon, a.lat, a.properties::text,
       p.parcel_feature_id, p.cadastral_number, p.zone_feature_id, p.zone_code, p.zone_name,
       d.device_id, d.kind, d.quantities, d.properties->>'bay_id', v.quantity, v.time, v.value
FROM assets a
LEFT JOIN asset_places p USING (asset_id)
LEFT JOIN devices d ON d.asset_id = a.asset_id
{values}
WHERE {where}
ORDER BY a.asset_id, d.device_id, v.quantity
""")


@dataclass(frozen=True)
class Near:
    """A spatial question about assets: around a point, optionally within a polygon."""

    lon: float
    lat: float
    distance_m: float | None = None
    nearest: int | None = None


def _status(kind: str, values: Mapping[str, float], capacity: int | None) -> dict[str, Any]:
    label, colour = sensor_status(kind, values, capacity)
    return {"label": label, "colour": list(colour)}


def asset_status(
    sensors: Sequence[tuple[str, Mapping[str, float]]], capacity: int | None
) -> dict[str, Any]:
    """An asset's status from its sensors' kinds and values: its first sensor's that
    has data (a parking lot's is :func:`lot_status`'s)."""
    for kind, values in sensors:
        if values:
            return _status(kind, values, capacity)
    return {"label": "no data" if sensors else "no sensors"}


PARKING_LOT = "parking_lot"
_PLAYBACK = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ParkingDecisions:
    """The parking operators' decisions the twin's lot statuses take into account."""

    lots: Mapping[str, LotOverride]
    bays: Mapping[str, Closure]


NO_DECISIONS = ParkingDecisions({}, {})


def lot_status(
    asset: dict[str, Any],
    values: Mapping[str, Mapping[str, SensorValue]],
    now: datetime,
    decisions: ParkingDecisions = NO_DECISIONS,
) -> dict[str, Any]:
    """A parking lot's status from its sensors' ``values`` (device → quantity → value)
    at ``now``, as :mod:`parking` computes it: a label and colour for maps, its state,
    capacity, occupied and free places, source and flags."""
    return _status_of(occupancy.lot_state(_lot_input(asset, values, decisions), now))


def _lot_input(
    asset: dict[str, Any],
    values: Mapping[str, Mapping[str, SensorValue]],
    decisions: ParkingDecisions,
) -> LotInput:
    return occupancy.lot_input(
        asset["asset_id"],
        asset["name"],
        asset["properties"].get("capacity"),
        [
            (s["device_id"], s["kind"], s.get("bay_id"), values.get(s["device_id"], {}))
            for s in asset["sensors"]
        ],
        decisions.lots.get(asset["asset_id"]),
        decisions.bays,
    )


def _status_of(state: LotState) -> dict[str, Any]:
    label, colour = occupancy.display(state)
    return {
        "label": label,
        "colour": list(colour),
        "state": state.status.value,
        "capacity": state.capacity,
        "occupied": state.occupied,
        "free": state.free,
        "source": state.source.value,
        "flags": [f.code for f in state.flags],
    }


def playback_status(asset: dict[str, Any], values: Mapping[str, Mapping[str, float]]) -> dict:
    """An asset's status from its sensors' values at a past moment, their times unknown:
    each value is taken as current there, and no operator decision applies."""
    if asset["kind"] != PARKING_LOT:
        return asset_status(
            [(s["kind"], values.get(s["device_id"], {})) for s in asset["sensors"]],
            asset["properties"].get("capacity"),
        )
    timed = {
        device: {q: SensorValue(_PLAYBACK, v) for q, v in held.items()}
        for device, held in values.items()
    }
    return lot_status(asset, timed, _PLAYBACK)


def _with_status(
    asset: dict[str, Any], now: datetime | None, decisions: ParkingDecisions
) -> datetime | None:
    """Add each sensor's status and the asset's, now (``now``) or, for None, at a past
    moment (:func:`playback_status`: as the live twin plays a moment back). Returns
    until when a parking lot's status now holds as time passes (None: for ever, or not
    a lot now)."""
    capacity = asset["properties"].get("capacity")
    held = []
    for sensor in asset["sensors"]:
        values = {q: v["value"] for q, v in sensor["latest"].items()}
        sensor["status"] = _status(sensor["kind"], values, capacity)
        held.append((sensor["kind"], values))
    if asset["kind"] != PARKING_LOT:
        asset["status"] = asset_status(held, capacity)
    elif now is None:
        asset["status"] = playback_status(
            asset, {s["device_id"]: v for s, (_, v) in zip(asset["sensors"], held, strict=True)}
        )
    else:
        asset["status"], until = current_lot_status(asset, now, decisions)
        return until
    return None


def current_lot_status(
    asset: dict[str, Any], now: datetime, decisions: ParkingDecisions = NO_DECISIONS
) -> tuple[dict[str, Any], datetime | None]:
    """A parking lot's status at ``now`` from its document's latest sensor values, and
    until when it holds as time passes, the document and decisions unchanged (None: for
    ever): a status ages as bays fall silent, a counter turns stale, a closure ends
    (:func:`parking.occupancy.holds_until`)."""
    timed = {
        s["device_id"]: {
            q: SensorValue(datetime.fromisoformat(v["time"]), v["value"])
            for q, v in s["latest"].items()
        }
        for s in asset["sensors"]
    }
    lot = _lot_input(asset, timed, decisions)
    return _status_of(occupancy.lot_state(lot, now)), occupancy.holds_until(lot, now)


async def parking_decisions(
    conn: AsyncConnection, lot_ids: Sequence[str] | None = None
) -> ParkingDecisions:
    """The parking operators' decisions about the lots ``lot_ids`` (all for None)."""
    return ParkingDecisions(
        await parking_store.overrides(conn, lot_ids), await parking_store.services(conn, lot_ids)
    )


async def _decisions(conn: AsyncConnection, found: list[dict[str, Any]]) -> ParkingDecisions:
    """The parking decisions about the lots among ``found`` (none asked without lots)."""
    lots = [a["asset_id"] for a in found if a["kind"] == PARKING_LOT]
    if not lots:
        return NO_DECISIONS
    return await parking_decisions(conn, lots)


async def _found(
    conn: AsyncConnection,
    at: datetime | None,
    asset_ids: Sequence[str] | None = None,
    kind: str | None = None,
    zone: str | None = None,
) -> list[dict[str, Any]]:
    """The assets' documents without their statuses."""
    conditions: list[sql.Composable] = [sql.SQL("TRUE")]
    if asset_ids is not None:
        conditions.append(sql.SQL("a.asset_id = ANY({})").format(sql.Literal(list(asset_ids))))
    if kind is not None:
        conditions.append(sql.SQL("a.kind = {}").format(sql.Literal(kind)))
    if zone is not None:
        conditions.append(sql.SQL("p.zone_code = {}").format(sql.Literal(zone)))
    values = _NOW if at is None else _AT.format(_VALUES_AT.format(at=sql.Literal(at)))
    query = _ROWS.format(values=values, where=sql.SQL(" AND ").join(conditions))
    return _documents(await (await conn.execute(query)).fetchall())


async def assets(
    conn: AsyncConnection,
    *,
    at: datetime | None = None,
    asset_ids: Sequence[str] | None = None,
    kind: str | None = None,
    zone: str | None = None,
) -> list[dict[str, Any]]:
    """Assets with place, sensors, values and status (at ``at``, else now)."""
    found = await _found(conn, at, asset_ids, kind, zone)
    if at is not None:
        for asset in found:
            _with_status(asset, None, NO_DECISIONS)
        return found
    return (await current(conn, asset_ids)).assets


@dataclass(frozen=True)
class Current:
    """Assets as :func:`assets` makes them now, and until when each parking lot's
    status holds as time passes (None: for ever)."""

    assets: list[dict[str, Any]]
    lots_hold_until: dict[str, datetime | None]


async def current(conn: AsyncConnection, asset_ids: Sequence[str] | None = None) -> Current:
    """The assets ``asset_ids`` (every asset for None) now, with until when each lot's
    status holds: the live twin computes a lot's status again only then."""
    found = await _found(conn, None, asset_ids)
    decisions = await _decisions(conn, found)
    now = datetime.now(UTC)
    holds: dict[str, datetime | None] = {}
    for asset in found:
        until = _with_status(asset, now, decisions)
        if asset["kind"] == PARKING_LOT:
            holds[asset["asset_id"]] = until
    return Current(found, holds)


_LATEST = """
SELECT device_id, quantity, time, value FROM latest_readings
WHERE device_id = ANY(%s) ORDER BY device_id, quantity
"""


async def latest(conn: AsyncConnection, device_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The devices' latest value per quantity as documents hold them (a sensor's
    ``latest``: quantity → ``{"time", "value"}``), by device id."""
    found: dict[str, dict[str, Any]] = {}
    for device_id, quantity, moment, value in await (
        await conn.execute(_LATEST, (list(device_ids),), binary=True)
    ).fetchall():
        found.setdefault(device_id, {})[quantity] = {"time": moment.isoformat(), "value": value}
    return found


def with_latest(
    asset: dict[str, Any],
    latest: Mapping[str, dict[str, Any]],
    now: datetime,
    decisions: ParkingDecisions = NO_DECISIONS,
) -> tuple[dict[str, Any], datetime | None]:
    """A new document of ``asset`` (itself unchanged) whose sensors found in ``latest``
    (as :func:`latest` answers) hold those values, with the statuses :func:`current`
    would give it at ``now``; and, for a parking lot, until when its status holds (None
    otherwise, or for ever). What the live twin does with each batch of readings
    instead of reading the assets whole."""
    sensors = [
        s | {"latest": latest[s["device_id"]]} if s["device_id"] in latest else dict(s)
        for s in asset["sensors"]
    ]
    document = asset | {"sensors": sensors}
    return document, _with_status(document, now, decisions)


async def values_at(
    pool: AsyncConnectionPool, at: datetime, parts: int = VALUE_PARTS
) -> dict[str, dict[str, float]]:
    """Every sensor's values at ``at`` (device → quantity → its last value by then).

    One index probe per sensor quantity (13,000 for the 10,000-asset bench twin, about
    60 ms on one core): split by device among ``parts`` concurrent queries on their own
    connections, so PostgreSQL probes on as many cores (its own parallel query does not
    run lateral probes in its workers).
    """
    query = sql.SQL("SELECT device_id, quantity, value FROM ({}) v WHERE {} ").format(
        _VALUES_AT.format(at=sql.Literal(at)),
        sql.SQL("abs(hashtext(device_id)) %% {} = %s").format(parts),
    )

    async def part(k: int) -> list[tuple[str, str, float]]:
        async with pool.connection() as conn, conn.cursor(binary=True) as cur:
            await cur.execute(query, (k,))
            return await cur.fetchall()

    found: dict[str, dict[str, float]] = {}
    for rows in await asyncio.gather(*(part(k) for k in range(parts))):
        for device_id, quantity, value in rows:
            found.setdefault(device_id, {})[quantity] = value
    return found


def _documents(rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Asset documents from rows ordered by asset, device and quantity."""
    found: list[dict[str, Any]] = []
    asset: dict[str, Any] = {}
    sensor: dict[str, Any] = {}
    for (
        asset_id, name, kind, lon, lat, properties,
        parcel_id, cadastral, zone_id, zone_code, zone_name,
        device_id, device_kind, quantities, bay_id, quantity, moment, value,
    ) in rows:  # fmt: skip
        if asset.get("asset_id") != asset_id:
            asset = {
                "asset_id": asset_id,
                "name": name,
                "kind": kind,
                "lon": lon,
                "lat": lat,
                "properties": orjson.loads(properties),
                "parcel": None
                if parcel_id is None
                else {"feature_id": parcel_id, "cadastral_number": cadastral},
                "zone": None
                if zone_id is None
                else {"feature_id": zone_id, "code": zone_code, "name": zone_name},
                "sensors": [],
            }
            found.append(asset)
            sensor = {}
        if device_id is None:
            continue
        if sensor.get("device_id") != device_id:
            sensor = {"device_id": device_id, "kind": device_kind, "quantities": quantities}
            if bay_id is not None:
                sensor["bay_id"] = bay_id
            sensor["latest"] = {}
            asset["sensors"].append(sensor)
        if quantity is not None:
            sensor["latest"][quantity] = {"time": moment.isoformat(), "value": value}
    return found


async def located(
    conn: AsyncConnection, within: shapely.Geometry | None, near: Near | None
) -> list[tuple[str, float | None]]:
    """Asset ids answering a spatial question, nearest first when a point is given,
    with their distance in metres (None without a point)."""
    rows = await (await conn.execute("SELECT asset_id, lon, lat FROM assets")).fetchall()
    if not rows:
        return []
    ids = np.array([r[0] for r in rows])
    lon = np.array([r[1] for r in rows])
    lat = np.array([r[2] for r in rows])
    keep = np.ones(len(rows), dtype=bool)
    if within is not None:
        keep &= shapely.contains_xy(within, lon, lat)
    if near is None:
        return [(i, None) for i in sorted(ids[keep].tolist())]
    x, y = _TO_METRES.transform(lon, lat)
    cx, cy = _TO_METRES.transform(near.lon, near.lat)
    distance = np.hypot(np.asarray(x) - cx, np.asarray(y) - cy)
    if near.distance_m is not None:
        keep &= distance <= near.distance_m
    order = [i for i in np.argsort(distance, kind="stable") if keep[i]]
    if near.nearest is not None:
        order = order[: near.nearest]
    return [(str(ids[i]), round(float(distance[i]), 2)) for i in order]
