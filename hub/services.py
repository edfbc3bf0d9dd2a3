"""Resolve the database and broker a process uses: configured servers or embedded ones."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from hub.broker import EmbeddedBroker, port_answers
from settings import Settings
from storage.embedded import EmbeddedPostgres

if TYPE_CHECKING:
    from fastapi import FastAPI

# Where a standalone process looks for, or starts, the embedded broker, so that
# `smartcity simulate` and `smartcity ingest` started separately meet on one broker.
EMBEDDED_MQTT_HOST = "127.0.0.1"
EMBEDDED_MQTT_PORT = 11883


def with_broker_defaults(settings: Settings) -> Settings:
    """Settings for the broker in use: the embedded one speaks MQTT 3.1.1 only."""
    if settings.mqtt_url:
        return settings
    return settings.model_copy(update={"mqtt_protocol": "3.1.1"})


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The configured database URL, or an embedded server's for the life of the context."""
    if settings.database_url:
        yield settings.database_url
        return
    server = EmbeddedPostgres(settings.data_dir)
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def broker_url(settings: Settings, port: int = EMBEDDED_MQTT_PORT) -> Iterator[str]:
    """The configured broker URL, else a running embedded broker's, else a new one's."""
    if settings.mqtt_url:
        yield settings.mqtt_url
        return
    if port and port_answers(EMBEDDED_MQTT_HOST, port):
        yield f"mqtt://{EMBEDDED_MQTT_HOST}:{port}"
        return
    broker = EmbeddedBroker(EMBEDDED_MQTT_HOST, port).start()
    try:
        yield broker.url
    finally:
        broker.stop()


def api_app() -> FastAPI:
    """The API of the database ``SMARTCITY_DATABASE_URL`` names, built from the
    environment: the factory each of ``smartcity serve --workers N``'s processes calls."""
    from api.app import create_app

    settings = with_broker_defaults(Settings())
    if not settings.database_url:
        raise RuntimeError("SMARTCITY_DATABASE_URL must name the API's (migrated) database")
    return create_app(settings, settings.database_url)
