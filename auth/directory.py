"""The accounts and API keys as each API process holds them: reread from the database
every few seconds, so a disabled account, a new role or a revoked key takes effect in
every process within :data:`FRESH_S`, without a query per request. A name or key not
held is looked up on its own, so one made a moment ago works at once."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from auth.principal import Role

log = logging.getLogger(__name__)

FRESH_S = 5.0
"""How long a read of the accounts and keys is used before it is read again."""


@dataclass(frozen=True)
class Entry:
    """An enabled account or a live API key: its role and the hash of its secret."""

    name: str
    role: Role
    secret_hash: str


@dataclass(frozen=True)
class Directory:
    """Enabled accounts by name, live (unrevoked) API keys by id."""

    accounts: dict[str, Entry] = field(default_factory=dict)
    keys: dict[str, Entry] = field(default_factory=dict)


_ONE_ACCOUNT = "SELECT name, role, password_hash FROM accounts WHERE name = %s AND NOT disabled"
_ONE_KEY = (
    "SELECT key_id, name, role, secret_hash FROM api_keys WHERE key_id = %s AND revoked_at IS NULL"
)


async def read(conn: AsyncConnection) -> Directory:
    """The enabled accounts and live keys now."""
    accounts = await (
        await conn.execute("SELECT name, role, password_hash FROM accounts WHERE NOT disabled")
    ).fetchall()
    keys = await (
        await conn.execute(
            "SELECT key_id, name, role, secret_hash FROM api_keys WHERE revoked_at IS NULL"
        )
    ).fetchall()
    return Directory(
        {name: Entry(name, Role(role), hashed) for name, role, hashed in accounts},
        {key_id: Entry(name, Role(role), hashed) for key_id, name, role, hashed in keys},
    )


class HeldDirectory:
    """A process's :class:`Directory`, reread when older than :data:`FRESH_S`.

    If the database cannot be read, the last directory is used (and the failure logged):
    signed-in users keep working through a database hiccup, with what was true then."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._held: Directory | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> Directory:
        """The directory, at most :data:`FRESH_S` old, or the last one readable."""
        if self._held is not None and time.monotonic() - self._read_at < FRESH_S:
            return self._held
        async with self._lock:
            if self._held is None or time.monotonic() - self._read_at >= FRESH_S:
                try:
                    async with self._pool.connection() as conn:
                        self._held = await read(conn)
                except Exception:
                    if self._held is None:
                        raise
                    log.exception("cannot reread the accounts; the last read is used")
                self._read_at = time.monotonic()
            return self._held

    async def account(self, name: str) -> Entry | None:
        """An enabled account: from the directory, or, if it is not there (made since
        the last read), from the database (one indexed look-up)."""
        entry = (await self.get()).accounts.get(name)
        if entry is None:
            async with self._pool.connection() as conn:
                row = await (await conn.execute(_ONE_ACCOUNT, (name,))).fetchone()
            entry = None if row is None else Entry(row[0], Role(row[1]), row[2])
        return entry

    async def key(self, key_id: str) -> Entry | None:
        """A live API key, as :meth:`account` finds an account."""
        entry = (await self.get()).keys.get(key_id)
        if entry is None:
            async with self._pool.connection() as conn:
                row = await (await conn.execute(_ONE_KEY, (key_id,))).fetchone()
            entry = None if row is None else Entry(row[1], Role(row[2]), row[3])
        return entry

    def forget(self) -> None:
        """Reread on the next request (after a change made by this process)."""
        self._read_at = 0.0
