"""Secrets (account passwords, API keys) hashed with Argon2id by argon2-cffi, with its
defaults (RFC 9106's second recommended parameter set: 64 MiB, 3 passes): a stolen
table costs an attacker that much per guess. Verification takes tens of milliseconds,
so callers run it off the event loop and remember what they verified."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
"""NIST SP 800-63B asks for at least 8; the hub guards flood alerts: 12."""


def hash_secret(secret: str) -> str:
    """The Argon2id hash (PHC string) of ``secret``."""
    return _HASHER.hash(secret)


def verify_secret(hashed: str, secret: str) -> bool:
    """Whether ``secret`` is the one ``hashed`` was made from."""
    try:
        return _HASHER.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False
