"""Connections to the hub's database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg
from psycopg_pool import AsyncConnectionPool

from storage.errors import StorageError

log = logging.getLogger(__name__)


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """Open a connection, turning a refused connection into a :class:`StorageError`."""
    try:
        return psycopg.connect(url, autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise StorageError(f"cannot connect to PostgreSQL: {exc}") from exc


async def _configure(conn: psycopg.AsyncConnection) -> None:
    # The API's queries are short index probes; PostgreSQL's JIT compiler judges some
    # of them (a probe per sensor for a past twin snapshot) costly enough to compile,
    # which took 120 ms of a 200 ms query.
    await conn.execute("SET jit = off")


def async_pool(url: str, *, min_size: int = 1, max_size: int = 8) -> AsyncConnectionPool:
    """A not-yet-opened async pool for the API (opened in the app lifespan)."""
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True},
        configure=_configure,
    )


async def reconnecting(
    serve: Callable[[], Awaitable[None]], stop: asyncio.Event, what: str, retry_s: float = 2.0
) -> None:
    """Run ``serve`` (which connects and works until ``stop``) again whenever the
    database goes away, until ``stop`` is set."""
    while not stop.is_set():
        try:
            await serve()
        except psycopg.OperationalError as exc:
            log.warning("%s lost the database (%s); retrying in %.0f s", what, exc, retry_s)
            await asyncio.sleep(retry_s)
