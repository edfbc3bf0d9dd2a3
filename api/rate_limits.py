"""Per-client rate limits on the expensive routes: 429 problem+json with ``Retry-After``.

What is heavy is a request, not a route: a past snapshot, not the live one; a flood level
not asked before, not a memoised one; a vector tile not cached yet; items with a CQL2
filter or a limit above :data:`api.cpu.INLINE_ITEMS`; zone summaries over a given period
rather than the refreshed default; every raster preview, window and statistic. Routes
charge a budget where they know (:func:`charge`), or as a dependency (:func:`heavy`).
Budgets are settings (:class:`settings.ApiSettings`): ``rate_limit_heavy`` per client,
``rate_limit_flood_levels`` per client and ``rate_limit_flood_levels_process`` for all
the process's clients together.

The client is the signed-in subject (``request.state.principal``, set by the sign-in
dependency, which runs before the routes' own) or else the peer's IP address (behind a
reverse proxy, configure uvicorn's ``forwarded_allow_ips`` so that the peer is the
caller, not the proxy).

**Limits are per process**: counts are kept in each API process's memory, so with
``smartcity serve --workers N`` a client that spreads its connections over the
processes may get up to N times its budget. A shared store (Redis, PostgreSQL) would
cost every heavy request a round trip; the limits are there to keep one caller from
starving the rest, not to bill them.

The ``limits`` library (the engine under slowapi) counts, with its sliding window
counter in memory: two counters per client and budget, O(1) per request. slowapi itself
is a decorator that needs ``request`` in each route's signature, answers 429 in its own
format and cannot charge only some requests of a route; the library alone is a few lines
here. Its moving window (exact) costs a thread hop per client at every expiry pass.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from api.errors import ApiError
from api.openapi import problems
from settings import ApiSettings


class RateLimited(ApiError):
    """The client spent its budget: it may retry after ``retry_after_s``."""

    status_code = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_s)}


@dataclass(frozen=True)
class Budget:
    """A rate for each client (``per_client``) or for the whole process."""

    name: str
    rate: RateLimitItem
    per_client: bool = True


_TOO_MANY: dict[str, Any] = problems(429)[429] | {
    "headers": {"Retry-After": {"schema": {"type": "integer"}}}
}


def responses(others: dict[int | str, dict[str, Any]] | None = None) -> dict[int | str, Any]:
    """A route's OpenAPI ``responses``: ``others`` and the 429 answer."""
    return {**(others or {}), 429: _TOO_MANY}


class RateLimits:
    """One API process's budgets and their counts."""

    def __init__(self, settings: ApiSettings) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.heavy = Budget("heavy requests", parse(settings.rate_limit_heavy))
        self.flood_levels = Budget("new flood levels", parse(settings.rate_limit_flood_levels))
        self.flood_levels_process = Budget(
            "new flood levels of all clients",
            parse(settings.rate_limit_flood_levels_process),
            per_client=False,
        )

    async def charge(self, client: str, *budgets: Budget) -> None:
        """Count one request against every budget, or none of them and raise
        :class:`RateLimited` if one is spent."""
        keys = [(b, (b.name, client) if b.per_client else (b.name,)) for b in budgets]
        spent = [(b, key) for b, key in keys if not await self._limiter.test(b.rate, *key)]
        if spent:
            waits = [await self._retry_after(b.rate, key) for b, key in spent]
            names = ", ".join(f"{b.name} ({b.rate})" for b, _ in spent)
            scope = "this client's" if all(b.per_client for b, _ in spent) else "the server's"
            raise RateLimited(
                f"{scope} budget of {names} is spent; retry in {max(waits)} s", max(waits)
            )
        for budget, key in keys:
            await self._limiter.hit(budget.rate, *key)

    async def _retry_after(self, rate: RateLimitItem, key: tuple[str, ...]) -> int:
        stats = await self._limiter.get_window_stats(rate, *key)
        return max(1, math.ceil(stats.reset_time - time.time()))


def client(request: Request) -> str:
    """Who is asking: the signed-in subject, or else the peer's address."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return f"subject:{principal.subject}"
    return f"address:{request.client.host if request.client else 'unknown'}"


async def charge(request: Request, *budgets: Budget) -> None:
    """Count the request against ``budgets`` (default: heavy requests) for its client."""
    limits: RateLimits = request.app.state.rate_limits
    await limits.charge(client(request), *(budgets or (limits.heavy,)))


async def heavy(request: Request) -> None:
    """A dependency for routes whose every request is heavy."""
    await charge(request)
