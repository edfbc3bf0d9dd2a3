"""The hub's own access tokens: JWTs (RFC 9068 profile) signed with an Ed25519 key kept
in the data directory, made on first use and shared by every API process of the hub.

They are what ``POST /auth/token`` (OAuth 2.0 password grant) and the login page give a
local account. A token names its account; the account's role and whether it is
disabled are looked up on every request (:mod:`auth.directory`), so a role change or a
disabled account takes effect without waiting for the token to expire.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auth.errors import InvalidCredentials

AUDIENCE = "smartcity-hub"
ALGORITHM = "EdDSA"
LEEWAY_S = 30
"""Clock difference tolerated between API processes' hosts."""
KEY_FILE = "token-signing-key.pem"


def signing_key(directory: Path) -> Ed25519PrivateKey:
    """The hub's token signing key in ``directory`` (made there, readable by its owner
    only, if there is none; two processes starting at once agree on one)."""
    path = directory / KEY_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


class TokenIssuer:
    """Makes and checks the hub's access tokens for one issuer name."""

    def __init__(self, key: Ed25519PrivateKey, issuer: str, ttl_s: int) -> None:
        self._key = key
        self._public: Ed25519PublicKey = key.public_key()
        self.issuer = issuer
        self.ttl_s = ttl_s

    def issue(self, subject: str, role: str, now: datetime | None = None) -> str:
        """A signed access token for an account."""
        moment = now or datetime.now(UTC)
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": AUDIENCE,
            "iat": moment,
            "nbf": moment,
            "exp": moment + timedelta(seconds=self.ttl_s),
            "jti": secrets.token_urlsafe(12),
            "client_id": "smartcity-hub",
            "roles": [role],
        }
        return jwt.encode(claims, self._key, ALGORITHM, headers={"typ": "at+jwt"})

    def issued_here(self, token: str) -> bool:
        """Whether ``token`` claims to come from this hub (unverified: to pick a verifier)."""
        try:
            return jwt.decode(token, options={"verify_signature": False}).get("iss") == self.issuer
        except jwt.PyJWTError:
            return False

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid token of this hub; :class:`InvalidCredentials` says why not."""
        try:
            return jwt.decode(
                token,
                self._public,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "nbf", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidCredentials("the access token has expired: sign in again") from None
        except jwt.PyJWTError as exc:
            raise InvalidCredentials(f"the access token is not valid: {exc}") from None
