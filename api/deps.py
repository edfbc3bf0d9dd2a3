"""Dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from api import security
from api.ogc import CollectionId
from auth.policy import SIGNED_IN
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
    while it waits for the CPU (see :mod:`api.cpu`). A layer not marked public needs a
    signed-in caller (:data:`auth.policy.LAYER`). A live layer is refreshed first if
    stale (:mod:`api.live_layers`)."""
    pool: AsyncConnectionPool = request.app.state.pool
    await request.app.state.live_layers.fresh(pool, collection_id)
    async with pool.connection() as conn:
        found = await catalogue.layer(conn, collection_id)
    readable(found, request)
    return found


def readable(found: catalogue.Layer, request: Request) -> None:
    """Refuse an anonymous caller a layer that is not public."""
    if not found.public:
        security.check(SIGNED_IN, security.principal(request), f"the layer {found.layer_id!r}")
