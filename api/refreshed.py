"""An answer reused for a while and remade in the background once stale.

Some default answers aggregate a lot (the zone summaries read a day of every sensor's
readings: a second or more of PostgreSQL) and are asked often by dashboards. Each is
made once and reused; once older than its freshness, the next request starts making a
new one in the background and is answered at once with the previous one, as HTTP
caches do with ``stale-while-revalidate`` (RFC 5861). Only requests that come before
the first answer exists wait for it, and they share one computation. A failed
background refresh is logged and the previous answer served until one succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Refreshed:
    """One answer (bytes) made by ``make``, fresh for ``fresh_s`` seconds.

    Example:
        >>> zones = Refreshed(10.0)
        >>> body = await zones.get(make_summaries)  # doctest: +SKIP
    """

    def __init__(self, fresh_s: float) -> None:
        self.fresh_s = fresh_s
        self._body: bytes | None = None
        self._made = 0.0
        self._making: asyncio.Task[bytes] | None = None

    async def get(self, make: Callable[[], Awaitable[bytes]]) -> bytes:
        """The current answer: made now if there is none yet, remade in the background
        if it is older than :attr:`fresh_s`."""
        making = self._making
        if making is not None and making.get_loop() is not asyncio.get_running_loop():
            making = None  # left pending by a loop that ended (a test client's)
        stale = time.monotonic() - self._made > self.fresh_s
        if (self._body is None or stale) and (making is None or making.done()):
            making = self._making = asyncio.create_task(self._make(make))
        if self._body is None:
            assert making is not None
            return await asyncio.shield(making)  # a cancelled request leaves it running
        return self._body

    async def _make(self, make: Callable[[], Awaitable[bytes]]) -> bytes:
        try:
            body = await make()
        except Exception:
            if self._body is None:
                raise  # to the requests waiting for a first answer
            log.exception("refreshing an answer failed; the previous one is served")
            return self._body
        self._body, self._made = body, time.monotonic()
        return body
