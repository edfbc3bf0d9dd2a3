"""From what a request carries to who is calling: a :class:`~auth.principal.Principal`,
nobody (anonymous), or a refusal.

A request may carry ``Authorization: Bearer <token or API key>``, ``X-API-Key: <key>``
or the browser session cookie (the hub's own token). Tokens of the hub are checked
against its key and the account's current state; API keys against their Argon2id hash,
once: a key verified is remembered by its SHA-256 with the hash it matched (Argon2id
costs tens of milliseconds and 64 MiB by design, too much for every request of a
script); revoking the key ends it at the next directory read all the same, since the
key must still be in the directory with that hash. Argon2id runs :data:`HASHING_AT_ONCE`
at a time per process: 200 scripts starting together (measured under load: up to 40
hashes at once, load average 35, light requests' p95 2.1 s) wait their turn instead.
Tokens of the city's OpenID provider go to its verifier when one is set; the session
cookie holds one after a browser signed in with the provider.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import secrets
from collections.abc import Awaitable, Callable

import anyio
import anyio.to_thread
from cachetools import LRUCache

from auth import accounts
from auth.directory import Entry, HeldDirectory
from auth.errors import InvalidCredentials
from auth.passwords import hash_secret, verify_secret
from auth.principal import Method, Principal
from auth.tokens import TokenIssuer

HASHING_AT_ONCE = 2
"""Argon2id verifications one API process runs at a time (each takes 64 MiB)."""
VERIFIED_KEYS = 16_384
"""How many verified API keys a process remembers (the least recently used go first)."""
EXTERNAL_TOKENS = Callable[[str], Awaitable[Principal]]
"""A verifier of the OpenID provider's access tokens."""


class Authenticator:
    """Resolves the caller of each request for one API process."""

    def __init__(
        self,
        directory: HeldDirectory,
        tokens: TokenIssuer,
        external: EXTERNAL_TOKENS | None = None,
    ) -> None:
        self.directory = directory
        self.tokens = tokens
        self._external = external
        self._verified: LRUCache[bytes, str] = LRUCache(maxsize=VERIFIED_KEYS)
        self._hashing: anyio.CapacityLimiter | None = None  # made in the event loop
        self._hashing_key: dict[bytes, anyio.Lock] = {}

    async def principal(
        self, authorization: str | None, api_key: str | None, session: str | None
    ) -> Principal | None:
        """Who the credentials name; ``None`` when there are none; a refusal when they
        are not valid (never silently anonymous: a client with a bad token must know)."""
        if authorization is not None:
            scheme, _, credential = authorization.partition(" ")
            credential = credential.strip()
            if scheme.lower() != "bearer" or not credential:
                raise InvalidCredentials("the Authorization header must be 'Bearer <token>'")
            if credential.startswith(accounts.KEY_PREFIX):
                return await self._api_key(credential)
            return await self._token(credential, "token")
        if api_key is not None:
            return await self._api_key(api_key.strip())
        if session is not None:
            return await self._token(session, "session")
        return None

    async def sign_in(self, name: str, password: str) -> str:
        """A token for a local account's name and password."""
        entry = await self.directory.account(name)
        # the hash is checked even for an unknown name, so timing does not tell names apart
        hashed = entry.secret_hash if entry is not None else _unknown_hash()
        matches = await self._verify(hashed, password)
        if entry is None or not matches:
            raise InvalidCredentials("unknown account, wrong password or disabled account")
        return self.tokens.issue(entry.name, entry.role.value)

    async def _token(self, token: str, method: Method) -> Principal:
        if self.tokens.issued_here(token) or self._external is None:
            claims = self.tokens.verify(token)
            entry = await self.directory.account(claims["sub"])
            if entry is None:
                raise InvalidCredentials(f"the account {claims['sub']!r} is disabled or gone")
            return Principal(entry.name, frozenset({entry.role}), method, "smartcity-hub")
        principal = await self._external(token)
        # a session opened by the provider's sign-in is a session all the same: its writes
        # get the browser session's origin check
        return dataclasses.replace(principal, method=method) if method == "session" else principal

    async def _api_key(self, key: str) -> Principal:
        parts = accounts.KEY.fullmatch(key)
        entry = None if parts is None else await self.directory.key(parts[1])
        if parts is None or entry is None:
            raise InvalidCredentials("unknown or revoked API key")
        digest = hashlib.sha256(key.encode()).digest()
        if self._verified.get(digest) != entry.secret_hash:
            if not await self._verify(entry.secret_hash, parts[2], digest):
                raise InvalidCredentials("unknown or revoked API key")
        return _key_principal(entry, parts[1])

    async def _verify(self, hashed: str, secret: str, digest: bytes | None = None) -> bool:
        """Argon2id's verdict, in a thread, :data:`HASHING_AT_ONCE` at a time. A key
        (``digest``) sent by several requests at once is hashed by the first; the others
        wait for it and find it remembered."""
        if self._hashing is None:
            self._hashing = anyio.CapacityLimiter(HASHING_AT_ONCE)
        if digest is None:
            async with self._hashing:
                return await anyio.to_thread.run_sync(verify_secret, hashed, secret)
        same_key = self._hashing_key.setdefault(digest, anyio.Lock())
        try:
            async with same_key:
                if self._verified.get(digest) == hashed:
                    return True
                async with self._hashing:
                    matches = await anyio.to_thread.run_sync(verify_secret, hashed, secret)
                if matches:
                    self._verified[digest] = hashed
                return matches
        finally:
            if not same_key.locked() and not same_key.statistics().tasks_waiting:
                self._hashing_key.pop(digest, None)


def _key_principal(entry: Entry, key_id: str) -> Principal:
    return Principal(entry.name, frozenset({entry.role}), "api-key", key_id)


@functools.cache
def _unknown_hash() -> str:
    """A hash no password matches, checked for unknown names (made once, when needed)."""
    return hash_secret(secrets.token_hex(16))
