"""Local accounts and API keys, the embedded default when no OpenID provider is set.

An account has a name, one role and an Argon2id password hash; it can be disabled (its
tokens and sessions stop working) but not deleted, so the audit trail keeps naming
someone who existed. An API key belongs to a name (a script, a dashboard, a notebook)
with one role; it is shown once when made, as ``sck_<id>_<secret>``: the id finds the
key, the secret is kept only as its hash, and a key is revoked rather than deleted.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg

from auth.errors import AccountError, UnknownAccount
from auth.passwords import MIN_PASSWORD_LENGTH, hash_secret
from auth.principal import Role

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
"""Account and key names: letters, digits and ``._@-``, up to 64 (e-mail addresses fit)."""
KEY_PREFIX = "sck_"
KEY = re.compile(r"sck_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})")
"""An API key: the prefix (so leaked keys can be found by secret scanners), a 12-character
id and 256 random bits in URL-safe base64."""


@dataclass(frozen=True)
class Account:
    """A local account (without its password hash)."""

    name: str
    role: Role
    disabled: bool
    created_at: datetime


@dataclass(frozen=True)
class ApiKey:
    """An API key's record (its secret is never kept)."""

    key_id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


def _checked_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise AccountError(
            f"{name!r} is not a valid name: 1-64 letters, digits or ._@- starting with a"
            " letter or digit"
        )
    return name


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def add(conn: psycopg.Connection, name: str, role: Role, password: str) -> Account:
    """Create an account; refused if the name is taken."""
    hashed = hash_secret(_checked_password(password))
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO accounts (name, role, password_hash) VALUES (%s, %s, %s)"
                " RETURNING created_at",
                (_checked_name(name), role.value, hashed),
            ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise AccountError(f"an account named {name!r} exists already") from None
    assert row is not None
    return Account(name, role, False, row[0])


def all_accounts(conn: psycopg.Connection) -> list[Account]:
    """Every account, by name."""
    rows = conn.execute(
        "SELECT name, role, disabled, created_at FROM accounts ORDER BY name"
    ).fetchall()
    return [Account(name, Role(role), disabled, created) for name, role, disabled, created in rows]


def _update(conn: psycopg.Connection, name: str, change: str, value: object) -> None:
    with conn.transaction():
        found = conn.execute(
            f"UPDATE accounts SET {change} = %s WHERE name = %s RETURNING name", (value, name)
        ).fetchone()
    if found is None:
        raise UnknownAccount(f"no account named {name!r}")


def set_disabled(conn: psycopg.Connection, name: str, disabled: bool = True) -> None:
    """Disable (or enable again) an account: its tokens and sessions stop working."""
    _update(conn, name, "disabled", disabled)


def set_role(conn: psycopg.Connection, name: str, role: Role) -> None:
    """Give an account another role (effective on its next request)."""
    _update(conn, name, "role", role.value)


def set_password(conn: psycopg.Connection, name: str, password: str) -> None:
    """Replace an account's password."""
    _update(conn, name, "password_hash", hash_secret(_checked_password(password)))


def create_key(conn: psycopg.Connection, name: str, role: Role) -> tuple[ApiKey, str]:
    """A new API key and its full value, the only time it is shown."""
    key_id = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO api_keys (key_id, name, role, secret_hash) VALUES (%s, %s, %s, %s)"
            " RETURNING created_at",
            (key_id, _checked_name(name), role.value, hash_secret(secret)),
        ).fetchone()
    assert row is not None
    return ApiKey(key_id, name, role, row[0], None), f"{KEY_PREFIX}{key_id}_{secret}"


def all_keys(conn: psycopg.Connection) -> list[ApiKey]:
    """Every API key, revoked ones included, newest first."""
    rows = conn.execute(
        "SELECT key_id, name, role, created_at, revoked_at FROM api_keys ORDER BY created_at DESC"
    ).fetchall()
    return [ApiKey(k, n, Role(r), c, v) for k, n, r, c, v in rows]


def revoke_key(conn: psycopg.Connection, key_id: str) -> None:
    """Revoke an API key for good."""
    with conn.transaction():
        found = conn.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = %s"
            " RETURNING key_id",
            (key_id.removeprefix(KEY_PREFIX),),
        ).fetchone()
    if found is None:
        raise UnknownAccount(f"no API key with id {key_id!r}")
