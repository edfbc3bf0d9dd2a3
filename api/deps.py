"""Dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
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


async def layer(
    collection_id: CollectionId, conn: Annotated[AsyncConnection, Depends(connection)]
) -> catalogue.Layer:
    """The collection a route addresses (``{collectionId}``); 404 when there is none."""
    return await catalogue.layer(conn, collection_id)
