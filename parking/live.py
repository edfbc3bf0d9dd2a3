"""The lots' live states held in each API process, kept current from PostgreSQL
notifications.

Read from the database at every request, ``GET /parking/lots`` took 190 ms at p50 for
200 lots and 5,000 bays (``bench/parking_bench.py --mode live``): the join of every
bay's latest reading, then a state per lot. Here each process holds what the states
are computed from (:class:`parking.store.Held`: the lots' sensors' latest values and
their operators' decisions), loaded once and then re-read lot by lot as the database
says they change:

- ``readings_changed`` (the ingest writer's, on commit of each batch, with its
  devices): the lots of those devices, or every lot for ``*``;
- ``parking_changed`` (an operator acted on a lot): that lot, and any other acted on
  since the last action this process has seen;
- ``twin_changed`` (assets or devices changed): every lot.

Notifications that come close together are followed together, and every lot is
re-read at most once a second (:data:`GATHER_S`, :data:`RELOAD_EVERY_S`).

States are computed when asked, so they age as time passes without a new reading (a
bay falls silent, a counter turns stale, a closure ends), and each lot's is kept until
the first moment it could change that way (:func:`parking.occupancy.holds_until`);
only its data age is recomputed at each answer.

Operators' decisions show at once in every process: before answering, a reader
compares the latest action's id in the database (one index probe) with the last one
this process has applied, and catches up first if it is behind. Two counters say what
changed, for answers made from the lots and reused (:mod:`api.live_answers`):
``version`` moves with every lot re-read, ``generation`` with a reload and with an
operator's action. Readings follow within
the notification's delay (milliseconds).

If the database is unreachable the live state reports itself not ready and keeps
retrying; callers then read the database directly (:func:`parking.store.lots`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection

from parking import occupancy, store
from parking.model import Thresholds

log = logging.getLogger(__name__)

RETRY_S = 2.0
"""Wait before reconnecting after the database went away."""
READINGS_CHANNEL = "readings_changed"
"""The ingest writer's channel (:data:`storage.readings.CHANGED_CHANNEL`)."""
TWIN_CHANNEL = "twin_changed"
"""The twin sync's channel (:data:`twin.registry.TWIN_CHANNEL`)."""
EVERY_DEVICE = "*"
GATHER_S = 0.02
"""Notifications arriving this soon after one are followed together: under a steady
flow of readings, one query for the lots of many batches."""
RELOAD_EVERY_S = 1.0
"""Every lot is re-read at most this often: ``*`` (every device may have changed) may
come many times a second, and each such read takes tens of milliseconds for thousands
of lots."""


@dataclass(frozen=True)
class _Computed:
    """A lot's state as last computed, its document, and until when both hold."""

    lot: store.Lot
    document: dict[str, Any]
    since: datetime
    """When it was computed."""
    until: datetime | None
    """None: until its inputs change."""

    def holds(self, now: datetime) -> bool:
        """Whether it is the state at ``now``."""
        return self.since <= now and (self.until is None or now < self.until)


class LiveLots:
    """Every parking lot's inputs, kept by a background task listening to PostgreSQL,
    and their states computed when asked."""

    def __init__(
        self,
        database_url: str,
        thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen
    ) -> None:
        self._url = database_url
        self._thresholds = thresholds
        self._held: dict[str, store.Held] = {}
        self._order: list[str] = []
        self._lot_of: dict[str, str] = {}
        """Device id → lot id, for the lots' sensors."""
        self._computed: dict[str, _Computed] = {}
        self._action = 0
        """The latest operator action applied here."""
        self._reloaded = 0.0
        self._lock = asyncio.Lock()
        """Held while reading and applying: what is applied later was read later."""
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.version = 0
        """Moves whenever a lot is re-read."""
        self.generation = 0
        """Moves after a reload and after an operator's action is applied."""

    async def start(self) -> None:
        """Begin listening and loading in the background."""
        self.ready = asyncio.Event()  # of this start's loop: an app may start again (tests)
        self._lock = asyncio.Lock()
        self._task = asyncio.create_task(self._run(), name="live-parking")

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.ready.clear()

    async def current(self, conn: AsyncConnection) -> bool:
        """Catch up with the operators' latest actions, reading on ``conn``; False when
        the live state is not ready (read the database instead)."""
        if not self.ready.is_set() or self._task is None or self._task.done():
            return False  # loading, the database away, or the task ended (logged)
        if await store.latest_action(conn) > self._action:
            async with self._lock:
                await self._catch_up(conn, ())
        return True

    def lots(self, now: datetime) -> list[store.Lot]:
        """Every lot's live state at ``now``, by id (data ages as of when each state was
        computed)."""
        return [self._state(lot_id, now).lot for lot_id in self._order]

    def documents(self, now: datetime) -> list[dict[str, Any]]:
        """Every lot's document (:meth:`parking.store.Lot.document`) at ``now``, by id."""
        found = []
        for lot_id in self._order:
            computed = self._state(lot_id, now)
            document = computed.document
            as_of = computed.lot.state.as_of
            if as_of is not None:
                document = document | {"data_age_s": _age(as_of, now)}
            found.append(document)
        return found

    def held(self, lot_id: str) -> store.Held | None:
        """What the lot's state is computed from, or None for no such lot."""
        return self._held.get(lot_id)

    def __len__(self) -> int:
        return len(self._order)

    def _state(self, lot_id: str, now: datetime) -> _Computed:
        computed = self._computed.get(lot_id)
        if computed is not None and computed.holds(now):
            return computed
        held = self._held[lot_id]
        lot = held.at(now, self._thresholds)
        until = occupancy.holds_until(held.input, now, self._thresholds)
        if any(f.code == "stale" for f in lot.state.flags):
            until = now  # its message quotes the data's age: computed at every answer
        computed = _Computed(lot, lot.document(), now, until)
        self._computed[lot_id] = computed
        return computed

    async def _run(self) -> None:
        while True:
            try:
                # connections of its own, outside the request pool: when requests
                # exhaust the pool, the lots must still follow the readings
                async with (
                    await AsyncConnection.connect(self._url, autocommit=True) as listener,
                    await AsyncConnection.connect(self._url, autocommit=True) as reader,
                ):
                    for channel in (READINGS_CHANNEL, TWIN_CHANNEL, store.CHANNEL):
                        await listener.execute(f"LISTEN {channel}")
                    async with self._lock:  # after LISTEN: no change can slip between
                        await self._reload(reader)
                    self.ready.set()
                    while True:
                        await self._follow(listener, reader)
            except psycopg.Error as exc:
                # a lost link, or an error of our own: either way reload from scratch
                self.ready.clear()
                log.warning("live parking lost the database (%s); retrying in %.0f s", exc, RETRY_S)
                await asyncio.sleep(RETRY_S)
            except Exception:
                self.ready.clear()  # requests read the database from now on
                log.exception("live parking stopped; requests read the database")
                raise

    async def _follow(self, listener: AsyncConnection, reader: AsyncConnection) -> None:
        """Wait for notifications, gather those that follow within :data:`GATHER_S`
        (and, before reading every lot again, up to :data:`RELOAD_EVERY_S` since the
        last time), then re-read what they name in one go."""
        notes = [n async for n in listener.notifies(stop_after=1)]
        notes += [n async for n in listener.notifies(timeout=GATHER_S)]
        everything = any(n.channel == TWIN_CHANNEL or n.payload == EVERY_DEVICE for n in notes)
        if everything:
            wait = self._reloaded + RELOAD_EVERY_S - time.monotonic()
            if wait > 0:  # what comes meanwhile is read with the rest
                notes += [n async for n in listener.notifies(timeout=wait)]
        acted = [n.payload for n in notes if n.channel == store.CHANNEL]
        devices = {d for n in notes if n.channel == READINGS_CHANNEL for d in n.payload.split(",")}
        async with self._lock:
            if everything:
                await self._reload(reader)
                return
            lots = {self._lot_of[d] for d in devices if d in self._lot_of}
            if acted:
                await self._catch_up(reader, sorted(lots | set(acted)))
            elif lots:
                await self._replace(reader, sorted(lots))

    async def _catch_up(self, conn: AsyncConnection, lot_ids: Sequence[str]) -> None:
        """Re-read ``lot_ids`` and the lots acted on since the last action applied."""
        acted, latest = await store.acted_since(conn, self._action)
        lots = sorted({*lot_ids, *acted})
        if lots:
            await self._replace(conn, lots)
        if latest > self._action:
            self.generation += 1
        self._action = max(self._action, latest)

    async def _reload(self, conn: AsyncConnection) -> None:
        self._reloaded = time.monotonic()
        latest = await store.latest_action(conn)  # before: a later action is re-read
        found = await store.inputs(conn, _now())
        self._held = {}
        self._computed = {}
        self._lot_of = {}
        self._apply(found)
        self._action = latest
        self.generation += 1

    async def _replace(self, conn: AsyncConnection, lot_ids: list[str]) -> None:
        """Re-read ``lot_ids``; those no longer found are dropped."""
        found = await store.inputs(conn, _now(), lot_ids)
        for gone in set(lot_ids) - {held.input.lot_id for held in found}:
            self._forget(gone)
        self._apply(found)

    def _apply(self, found: list[store.Held]) -> None:
        self.version += 1
        for held in found:
            lot_id = held.input.lot_id
            self._forget(lot_id)
            self._held[lot_id] = held
            for device in held.devices:
                self._lot_of[device] = lot_id
        self._order = sorted(self._held)

    def _forget(self, lot_id: str) -> None:
        previous = self._held.pop(lot_id, None)
        if previous is not None:
            for device in previous.devices:
                self._lot_of.pop(device, None)
        self._computed.pop(lot_id, None)


def _now() -> datetime:
    return datetime.now(UTC)


def _age(as_of: datetime, now: datetime) -> float:
    return round(max((now - as_of).total_seconds(), 0.0), 1)
