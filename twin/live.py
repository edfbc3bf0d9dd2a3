"""The live twin: every asset's current state, held in the API process and kept current.

Building 10,000 assets' states from the database takes a few hundred milliseconds, too
slow to repeat for every snapshot or list of assets. The API keeps them instead (the
documents and the serialised states): loaded once, then updated from PostgreSQL
notifications, the ingest writer's ``readings_changed`` (the devices of each committed
batch: their latest values are read and patched into the documents held, whose
statuses are computed again) and the twin sync's ``twin_changed`` (assets or devices
changed: everything is re-read) and parking's ``parking_changed`` (an operator acted on
a lot: that lot is re-read). Notifications arriving within :data:`GATHER_S` of each
other are followed together. Re-reading the listed devices' assets whole instead took
a quarter of the event loop under the load test's 5,000 readings/s
(``BENCHMARKS.md``); a device registered since the last reload still has its asset
read whole. Each asset's state
is kept serialised, so a snapshot is one join of bytes. Live streams subscribe here
rather than each listening to the database.

A parking lot's status also changes as time passes without a reading (its bays fall
silent, its counter turns stale, a closure ends: :mod:`parking.occupancy`): every
:data:`AGE_EVERY_S` the statuses of the lots whose moment has come (each status is kept
with until when it holds, :func:`twin.state.current`) are computed again from what is
held, and those that changed are published like any change. Computing all 2,506 lots'
of the load test's town every time took 0.1-0.6 s of the event loop.

Two counters say what changed, for answers made from the twin and reused (see
:mod:`api.live_answers`): ``version`` moves with every applied change, ``generation``
only with the changes nobody should wait for: a reload (assets or devices changed) and
an operator's action on a parking lot.

If the database is unreachable the twin reports itself not ready and keeps retrying;
callers then read the database directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg import AsyncConnection

from parking.store import CHANNEL as PARKING_CHANNEL
from storage.readings import CHANGED_CHANNEL
from twin import state
from twin.registry import TWIN_CHANNEL

log = logging.getLogger(__name__)

RETRY_S = 2.0
AGE_EVERY_S = 5.0
"""How often the lots' statuses are re-evaluated as their data ages: the thresholds are
minutes (a bay is silent after 15, a counter stale after 5), so a few seconds late."""
GATHER_S = 0.02
"""Notifications arriving this soon after one are followed together (as the live
parking lots do): one query for the devices of several ingest batches."""
QUEUE_LIMIT = 10_000
"""Events a subscriber may fall behind by before it is dropped (it reconnects)."""


def compact(
    asset: dict[str, Any], values: Mapping[str, Mapping[str, float]] | None = None
) -> dict[str, Any]:
    """An asset's state for snapshots and live events: status and the values behind it,
    its sensors' latest or, given ``values`` (device → quantity → value, from
    :func:`twin.state.values_at`), those, its status derived from them."""
    sensors = asset["sensors"]
    held: dict[str, Mapping[str, float]]
    if values is None:
        held = {s["device_id"]: {q: v["value"] for q, v in s["latest"].items()} for s in sensors}
        status = asset["status"]
    else:
        held = {s["device_id"]: values.get(s["device_id"], {}) for s in sensors}
        status = state.playback_status(asset, held)
    return {
        "asset_id": asset["asset_id"],
        "kind": asset["kind"],
        "lon": asset["lon"],
        "lat": asset["lat"],
        "zone": (asset["zone"] or {}).get("code"),
        "status": status,
        "values": held,
    }


class LiveTwin:
    """Current asset states, kept by a background task listening to PostgreSQL."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._states: dict[str, bytes] = {}
        self._assets: dict[str, dict[str, Any]] = {}
        self._order: list[str] = []
        self._asset_of: dict[str, str] = {}
        """Device id → the id of the asset whose document lists it."""
        self._until: dict[str, datetime | None] = {}
        """Lot id → until when its status holds as time passes (None: for ever)."""
        self._subscribers: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._decisions = state.NO_DECISIONS
        self._task: asyncio.Task[None] | None = None
        self._ageing: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.version = 0
        """Moves whenever an asset's document or state is replaced."""
        self.generation = 0
        """Moves after a reload and after an operator's change to a lot."""
        self.aged = 0
        """Lots whose status ageing has computed again so far."""

    async def start(self) -> None:
        """Begin listening and loading in the background."""
        self._task = asyncio.create_task(self._run(), name="live-twin")
        self._ageing = asyncio.create_task(self._age(), name="live-twin-ageing")

    async def stop(self) -> None:
        """Stop listening; subscribers get an end marker."""
        for task in (self._task, self._ageing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for queue in self._subscribers:
            queue.put_nowait(None)

    def snapshot(self, values: Mapping[str, Mapping[str, float]] | None = None) -> bytes:
        """Every asset's state as a JSON array, in asset id order: now, or with the
        sensors holding ``values`` (see :func:`compact`) for a past moment.

        A past moment takes tens of milliseconds of CPU: the API calls it from a worker
        thread while the loop goes on applying changes. It works on copies taken at
        once (each an atomic step under the GIL) and skips assets a reload removed
        between them."""
        order = self._order
        states = dict(self._states)
        if values is None:
            return b"[" + b",".join(states[a] for a in order if a in states) + b"]"
        assets = dict(self._assets)
        return orjson.dumps(
            [
                compact(asset, values)
                if (asset := assets[a])["sensors"]
                else orjson.Fragment(states[a])  # no sensors: the same at any moment
                for a in order
                if a in assets and a in states
            ]
        )

    def documents(self, kind: str | None = None, zone: str | None = None) -> list[dict[str, Any]]:
        """The assets' current documents (as :func:`twin.state.assets` makes them), in
        asset id order, of a kind and in a zone if given. Shared: not to be changed."""
        assets = self._assets
        return [
            asset
            for a in self._order
            if (asset := assets.get(a)) is not None
            and (kind is None or asset["kind"] == kind)
            and (zone is None or (asset["zone"] or {}).get("code") == zone)
        ]

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        """A queue receiving each changed asset's state (None: the twin stopped)."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        """Stop sending to ``queue``."""
        self._subscribers.discard(queue)

    def __len__(self) -> int:
        return len(self._order)

    async def _run(self) -> None:
        while True:
            try:
                # Two connections of its own, outside the request pool: when requests
                # exhaust the pool, the twin must still follow the readings, or every
                # snapshot and list falls back to the database and makes it worse.
                async with (
                    await AsyncConnection.connect(self._url, autocommit=True) as listener,
                    await AsyncConnection.connect(
                        self._url, autocommit=True, options="-c jit=off"
                    ) as reader,
                ):
                    await listener.execute(f"LISTEN {CHANGED_CHANNEL}")
                    await listener.execute(f"LISTEN {TWIN_CHANNEL}")
                    await listener.execute(f"LISTEN {PARKING_CHANNEL}")
                    await self._reload(reader)  # after LISTEN: no change can slip between
                    self.ready.set()
                    while True:
                        await self._follow(listener, reader)
            except psycopg.Error as exc:
                # a lost link, or an error of our own: either way reload from scratch
                self.ready.clear()
                log.warning("live twin lost the database (%s); retrying in %.0f s", exc, RETRY_S)
                await asyncio.sleep(RETRY_S)

    async def _follow(self, listener: AsyncConnection, reader: AsyncConnection) -> None:
        """Wait for notifications, gather those that follow within :data:`GATHER_S`,
        then apply them: a reload if the twin changed, else the operators' actions (the
        lots acted on re-read), then the readings."""
        notes = [n async for n in listener.notifies(stop_after=1)]
        notes += [n async for n in listener.notifies(timeout=GATHER_S)]
        if any(n.channel == TWIN_CHANNEL or n.payload == "*" for n in notes):
            await self._reload(reader)
            return
        acted = sorted({n.payload for n in notes if n.channel == PARKING_CHANNEL})
        if acted:
            self._decisions = await state.parking_decisions(reader)
            await self._apply(await state.current(reader, acted))
            self.generation += 1
        devices = {d for n in notes if n.channel == CHANGED_CHANNEL for d in n.payload.split(",")}
        if devices:
            await self._refresh_devices(reader, devices)

    async def _refresh_devices(self, conn: AsyncConnection, device_ids: set[str]) -> None:
        """Patch the held documents listing ``device_ids`` with their latest values;
        the assets of devices no document lists (registered since the last reload, or
        attached to no asset) are read whole."""
        known = sorted(d for d in device_ids if d in self._asset_of)
        found: list[dict[str, Any]] = []
        holds: dict[str, datetime | None] = {}
        if known:
            latest = await state.latest(conn, known)
            now = datetime.now(UTC)
            for asset_id in sorted({self._asset_of[d] for d in known}):
                asset, until = state.with_latest(
                    self._assets[asset_id], latest, now, self._decisions
                )
                found.append(asset)
                if asset["kind"] == state.PARKING_LOT:
                    holds[asset_id] = until
        unknown = [d for d in device_ids if d not in self._asset_of]
        attached = await _assets_of(conn, unknown) if unknown else []
        if attached:
            whole = await state.current(conn, attached)
            found += whole.assets
            holds.update(whole.lots_hold_until)
        await self._apply(state.Current(found, holds))

    async def _age(self) -> None:
        while True:
            await asyncio.sleep(AGE_EVERY_S)
            if self.ready.is_set():
                self.age(datetime.now(UTC))

    def age(self, now: datetime) -> None:
        """Compute again at ``now`` the statuses of the lots that may have changed by
        then, and publish those that did."""
        due = [lot for lot, until in self._until.items() if until is not None and until <= now]
        changed = []
        for lot_id in due:
            asset = self._assets[lot_id]
            status, self._until[lot_id] = state.current_lot_status(asset, now, self._decisions)
            if status != asset["status"]:
                changed.append(asset | {"status": status})  # documents are shared: a copy
        self.aged += len(due)
        self._store(changed)

    async def _reload(self, conn: AsyncConnection) -> None:
        self._decisions = await state.parking_decisions(conn)
        found = await state.current(conn)
        gone = set(self._states) - {a["asset_id"] for a in found.assets}
        for asset_id in gone:
            del self._states[asset_id]
            del self._assets[asset_id]
        if gone:
            self._order = sorted(self._states)
        self._until = {}  # an asset may no longer be a lot
        self._asset_of = {}  # a device may have moved
        await self._apply(found)  # re-sorts if assets were added
        self.generation += 1
        # The states live until the next reload. Out of the collector's full passes
        # (which walk every tracked object), they no longer add 100 ms pauses to
        # requests that allocate a lot, such as a past snapshot; reference counting
        # still frees them.
        gc.freeze()

    async def _apply(self, found: state.Current) -> None:
        self._store(found.assets)
        self._until.update(found.lots_hold_until)

    def _store(self, found: list[dict[str, Any]]) -> None:
        new = False
        if found:
            self.version += 1
        for asset in found:
            self._assets[asset["asset_id"]] = asset
            for sensor in asset["sensors"]:
                self._asset_of[sensor["device_id"]] = asset["asset_id"]
            entry = compact(asset)
            encoded = orjson.dumps(entry)
            if self._states.get(asset["asset_id"]) == encoded:
                continue
            new |= asset["asset_id"] not in self._states
            self._states[asset["asset_id"]] = encoded
            if self.ready.is_set():
                self._publish(entry)
        if new:
            self._order = sorted(self._states)

    def _publish(self, entry: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(entry)
            except asyncio.QueueFull:
                log.warning("a live twin subscriber fell %d events behind; dropped", QUEUE_LIMIT)
                self._subscribers.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)


async def _assets_of(conn: AsyncConnection, device_ids: list[str]) -> list[str]:
    """The assets the devices are attached to, as the registry says now."""
    rows = await (
        await conn.execute(
            "SELECT DISTINCT asset_id FROM devices"
            " WHERE device_id = ANY(%s) AND asset_id IS NOT NULL",
            (device_ids,),
        )
    ).fetchall()
    return [row[0] for row in rows]
