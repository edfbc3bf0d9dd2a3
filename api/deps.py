"""Dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from settings import ApiSettings


async def connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for the duration of one request."""
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection() as conn:
        yield conn


def settings(request: Request) -> ApiSettings:
    """The app's settings object."""
    result: ApiSettings = request.app.state.settings
    return result
