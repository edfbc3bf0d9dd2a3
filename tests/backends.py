"""Real PostgreSQL servers and MQTT brokers for the tests, and why one may be missing."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from hub.broker import EmbeddedBroker, port_answers
from storage.embedded import EmbeddedPostgres

SYSTEM_PG = os.environ.get("SMARTCITY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
MOSQUITTO = os.environ.get("SMARTCITY_TEST_MQTT", "mqtt://127.0.0.1:1883")


class BackendMissing(RuntimeError):
    """A backend cannot be reached here; the message says which and why."""


def _with_database(url: str, name: str) -> str:
    """The same server URL with another database name (the query keeps e.g. the socket)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the server behind ``admin_url``, dropped afterwards."""
    name = f"sc_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def system_postgres() -> Iterator[str]:
    """The machine's PostgreSQL (127.0.0.1:5432, database ``test``) as an admin URL."""
    try:
        psycopg.connect(SYSTEM_PG, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        raise BackendMissing(f"system PostgreSQL at {SYSTEM_PG} does not answer: {exc}") from exc
    yield SYSTEM_PG


@contextlib.contextmanager
def embedded_postgres(base: Path) -> Iterator[str]:
    """An embedded PostgreSQL server in ``base``, as an admin URL."""
    server = EmbeddedPostgres(base)
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def mosquitto() -> Iterator[str]:
    """The machine's Mosquitto on 127.0.0.1:1883."""
    host, port = "127.0.0.1", int(MOSQUITTO.rsplit(":", 1)[1])
    if not port_answers(host, port):
        raise BackendMissing(f"Mosquitto at {MOSQUITTO} does not answer")
    yield MOSQUITTO


@contextlib.contextmanager
def embedded_broker() -> Iterator[str]:
    """An embedded amqtt broker on a free loopback port."""
    broker = EmbeddedBroker().start()
    try:
        yield broker.url
    finally:
        broker.stop()
