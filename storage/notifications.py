"""PostgreSQL notifications for a whole process: one listening connection, any number of
subscribers.

Every server-sent event stream used to LISTEN on a connection of its own, so each open
page held one of the server's connections (``max_connections`` is 100 by default;
15 viewers took 15). Here one connection LISTENs to the process's channels, named when
it is made, and each notification's payload is handed to every subscriber of its channel
through a bounded queue.

A subscriber that falls ``queue_size`` notifications behind is dropped: its iteration
ends, and it neither holds memory nor slows the others (a page's EventSource then
reconnects). All subscribers end when the connection is lost, since what was notified
meanwhile is lost too; so a subscriber has either every notification since it
subscribed, in order, or an end. Subscribing waits until the connection listens, so
nothing notified after :meth:`Notifications.subscribe` returns is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable

from psycopg import AsyncConnection, sql

from storage.database import reconnecting

log = logging.getLogger(__name__)

QUEUE_SIZE = 256
"""Notifications a subscriber may fall behind before it is dropped."""


class Subscription:
    """One subscriber's notifications on a channel: their payloads in order, until it
    is dropped or the listening connection is lost."""

    def __init__(self, channel: str, size: int) -> None:
        self.channel = channel
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(size)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> str:
        payload = await self._queue.get()
        if payload is None:
            raise StopAsyncIteration
        return payload

    def offer(self, payload: str) -> bool:
        """Queue a payload; False (and the subscription ended) if it is full."""
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.end()
            return False
        return True

    def end(self) -> None:
        """End the iteration, discarding what was not yet read."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)


class Notifications:
    """One LISTEN connection per process, fanned out to every subscriber of a channel."""

    def __init__(
        self, database_url: str, channels: Iterable[str], *, queue_size: int = QUEUE_SIZE
    ) -> None:
        """Listen to ``channels`` once :meth:`start` is awaited."""
        self._url = database_url
        self._subscribers: dict[str, set[Subscription]] = {c: set() for c in channels}
        self._queue_size = queue_size
        self._listening = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect and listen in the background (reconnecting if the database goes away)."""
        # events of this start's loop: an app may be started again on another (tests)
        self._listening, self._stop = asyncio.Event(), asyncio.Event()
        self._task = asyncio.create_task(
            reconnecting(self._listen, self._stop, "notifications"), name="notifications"
        )

    async def stop(self) -> None:
        """Stop listening; every subscription ends."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._end_all()

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """The payloads notified on ``channel`` from now on, for the life of the context
        (once the connection listens)."""
        subscribers = self._subscribers.get(channel)
        if subscribers is None:
            listened = ", ".join(sorted(self._subscribers))
            raise ValueError(f"not listening to {channel!r} (listening to: {listened})")
        if self._task is None:
            raise RuntimeError("notifications are not started")
        await self._listening.wait()
        subscription = Subscription(channel, self._queue_size)
        subscribers.add(subscription)
        try:
            yield subscription
        finally:
            subscribers.discard(subscription)

    async def _listen(self) -> None:
        async with await AsyncConnection.connect(self._url, autocommit=True) as conn:
            try:
                # one statement for every channel: the connection shows as the one
                # listener to each in pg_stat_activity
                listens = [
                    sql.SQL("LISTEN {}").format(sql.Identifier(c)) for c in self._subscribers
                ]
                await conn.execute(sql.SQL("; ").join(listens))
                self._listening.set()
                async for note in conn.notifies():
                    self._fan_out(note.channel, note.payload)
            finally:
                self._listening.clear()
                self._end_all()

    def _fan_out(self, channel: str, payload: str) -> None:
        subscribers = self._subscribers[channel]
        for subscription in list(subscribers):
            if not subscription.offer(payload):
                subscribers.discard(subscription)
                log.warning(
                    "a subscriber of %s fell %d notifications behind; dropped",
                    channel,
                    self._queue_size,
                )

    def _end_all(self) -> None:
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.end()
            subscribers.clear()
