"""Layers whose features are a live state (parking's), refreshed when read.

Such a layer is stored like any other, so every layer route serves it unchanged; its
owner rewrites it from the live state (:func:`parking.layers.refresh`). A route
addressing one calls :meth:`LiveLayers.fresh` first: past :data:`MAX_AGE_S` since this
process last refreshed, it refreshes, one request at a time (the others wait for that
refresh rather than repeat it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

MAX_AGE_S = 5.0
"""How stale a live layer may be when served: bays report on change, so a few seconds
is what a driver looking for a place can tell apart, and it bounds the refreshes
(tens of milliseconds each) to one per process every few seconds."""

log = logging.getLogger(__name__)

Refresh = Callable[[AsyncConnection, datetime], Awaitable[object]]


class LiveLayers:
    """The live layers of the API, each with the function that refreshes it (one
    function may refresh several layers at once)."""

    def __init__(self, refreshers: dict[str, Refresh], max_age_s: float = MAX_AGE_S) -> None:
        self._refreshers = refreshers
        self._max_age_s = max_age_s
        self._done: dict[Refresh, float] = {}
        self._lock = asyncio.Lock()

    def __contains__(self, layer_id: object) -> bool:
        return layer_id in self._refreshers

    async def fresh(self, source: AsyncConnectionPool | AsyncConnection, layer_id: str) -> None:
        """Refresh ``layer_id`` if it is live and stale here; nothing otherwise. ``source``:
        the pool, or the connection the route already holds."""
        refresh = self._refreshers.get(layer_id)
        if refresh is None or not self._stale(refresh):
            return
        async with self._lock:
            if not self._stale(refresh):  # refreshed while this request waited
                return
            try:
                if isinstance(source, AsyncConnection):
                    await refresh(source, datetime.now(UTC))
                else:
                    async with source.connection() as conn:
                        await refresh(conn, datetime.now(UTC))
            except psycopg.OperationalError:
                raise  # the database is away: the route answers 503
            except psycopg.Error:
                # the layer as last refreshed still serves; retried after MAX_AGE_S
                log.exception("live layer %s not refreshed", layer_id)
            self._done[refresh] = time.monotonic()

    async def ensure_all(self, pool: AsyncConnectionPool) -> None:
        """Write every live layer this process has never refreshed (before a list of the
        layers, so that a live layer is listed before anyone asked for its features).

        A list shows a layer's extent and description, which its states do not change:
        refreshing every live layer for each list cost up to 2 s a time at 2,500 lots and
        made ``/collections`` the slowest light route under load.
        """
        for layer_id, refresh in self._refreshers.items():
            if refresh not in self._done:
                await self.fresh(pool, layer_id)

    def invalidate(self) -> None:
        """Refresh every live layer at its next read (a write changed their state: its
        author sees it at once, other API processes within :data:`MAX_AGE_S`)."""
        self._done.clear()

    def _stale(self, refresh: Refresh) -> bool:
        done = self._done.get(refresh)
        return done is None or time.monotonic() - done > self._max_age_s
