"""From what a request carries to who is calling: a :class:`~auth.principal.Principal`,
nobody (anonymous), or a refusal.

A request may carry ``Authorization: Bearer <token or API key>``, ``X-API-Key: <key>``
or the browser session cookie (the hub's own token). Tokens of the hub are checked
against its key and the account's current state; API keys against their Argon2id hash,
once: a key verified is remembered by its SHA-256 for :data:`VERIFIED_S` (Argon2id costs
tens of milliseconds by design, too much for every request of a script); revoking the
key ends it at the next directory read all the same, since the key must still be in
the directory. Tokens of the city's OpenID provider go to its verifier when one is set;
the session cookie holds one after a browser signed in with the provider.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import secrets
from collections.abc import Awaitable, Callable

import anyio.to_thread
from cachetools import TTLCache

from auth import accounts
from auth.directory import Entry, HeldDirectory
from auth.errors import InvalidCredentials
from auth.passwords import hash_secret, verify_secret
from auth.principal import Method, Principal
from auth.tokens import TokenIssuer

VERIFIED_S = 300.0
"""How long a verified API key is trusted without hashing it again."""
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
        self._verified: TTLCache[bytes, str] = TTLCache(maxsize=4096, ttl=VERIFIED_S)

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
        matches = await anyio.to_thread.run_sync(verify_secret, hashed, password)
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
        if self._verified.get(digest) != parts[1]:
            if not await anyio.to_thread.run_sync(verify_secret, entry.secret_hash, parts[2]):
                raise InvalidCredentials("unknown or revoked API key")
            self._verified[digest] = parts[1]
        return _key_principal(entry, parts[1])


def _key_principal(entry: Entry, key_id: str) -> Principal:
    return Principal(entry.name, frozenset({entry.role}), "api-key", key_id)


@functools.cache
def _unknown_hash() -> str:
    """A hash no password matches, checked for unknown names (made once, when needed)."""
    return hash_secret(secrets.token_hex(16))
