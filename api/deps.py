"""Dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api.ogc import CollectionId
from gis_layers import catalogue
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


async def layer(collection_id: CollectionId, request: Request) -> catalogue.Layer:
    """The collection a route addresses (``{collectionId}``); 404 when there is none.

    The connection is held for the look-up only: a heavy route that follows holds none
    while it waits for the CPU (see :mod:`api.cpu`)."""
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection() as conn:
        return await catalogue.layer(conn, collection_id)
