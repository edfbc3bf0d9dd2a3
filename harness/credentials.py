"""Credentials for tests and benchmarks: API keys and accounts made in a hub's database,
as an operator makes them with ``smartcity api-keys create`` / ``smartcity users add``."""

from __future__ import annotations

import secrets

import psycopg
from fastapi import FastAPI
from fastapi.testclient import TestClient

from auth import accounts
from auth.principal import Role

HEADER = "X-API-Key"


def api_key(database_url: str, role: Role = Role.ADMIN, name: str = "tests") -> str:
    """A new API key with ``role`` in the (migrated) database at ``database_url``."""
    with psycopg.connect(database_url) as conn:
        return accounts.create_key(conn, f"{name}-{role.value}", role)[1]


def key_headers(database_url: str, role: Role = Role.ADMIN) -> dict[str, str]:
    """Request headers carrying a new API key with ``role``."""
    return {HEADER: api_key(database_url, role)}


def account(database_url: str, role: Role = Role.ADMIN) -> tuple[str, str]:
    """A new local account with ``role``: its name and password."""
    name, password = f"{role.value}-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    with psycopg.connect(database_url) as conn:
        accounts.add(conn, name, role, password)
    return name, password


def signed_in(app: FastAPI, database_url: str, role: Role = Role.ADMIN) -> TestClient:
    """A test client of ``app`` sending an API key with ``role`` on every request."""
    return TestClient(app, headers=key_headers(database_url, role))
