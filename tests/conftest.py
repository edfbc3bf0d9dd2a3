"""Fixtures: every integration test runs against real servers, one parameter each.

PostgreSQL: the system server (127.0.0.1:5432) and the embedded one. Brokers:
Mosquitto (127.0.0.1:1883) and the embedded amqtt broker. A backend that cannot be
reached is skipped with the reason, except in CI, where it fails: CI installs them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests import backends
from tests.node_server import NodeServerUnavailable
from tests.oidc_provider import OidcTestProvider

IN_CI = os.environ.get("CI") == "true"
T = TypeVar("T")

# fixtures of a live ingestion worker (settings, worker) for end-to-end tests
pytest_plugins = ["tests.live_ingest"]


def _enter(
    stack: contextlib.ExitStack, factory: Callable[[], contextlib.AbstractContextManager[T]]
) -> T:
    try:
        return stack.enter_context(factory())
    except (backends.BackendMissing, NodeServerUnavailable) as exc:
        if IN_CI:
            pytest.fail(f"backend required in CI: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session", params=["system", "embedded"])
def pg_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Admin URL of a real PostgreSQL server."""
    with contextlib.ExitStack() as stack:
        if request.param == "system":
            yield _enter(stack, backends.system_postgres)
        else:
            base: Path = tmp_path_factory.mktemp("embedded-pg")
            yield _enter(stack, lambda: backends.embedded_postgres(base))


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database on each real server, dropped after the test."""
    with backends.fresh_database(pg_server) as url:
        yield url


@pytest.fixture(scope="module")
def timescale_url() -> Iterator[str]:
    """A real TimescaleDB engine (PGlite WASM build over the wire protocol), one per module.

    It serves one client at a time and holds one database: tests using it run alone.
    """
    from tests.timescale_server import timescale_server

    with contextlib.ExitStack() as stack:
        yield _enter(stack, timescale_server)


@pytest.fixture
def spare_timescale_url() -> Iterator[str]:
    """A second TimescaleDB engine, empty and the test's own: a restore target."""
    from tests.timescale_server import timescale_server

    with contextlib.ExitStack() as stack:
        yield _enter(stack, timescale_server)


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcTestProvider]:
    """A real OpenID Connect provider (panva's oidc-provider on Node.js), one per module."""
    with contextlib.ExitStack() as stack:
        yield _enter(stack, lambda: OidcTestProvider(tmp_path_factory.mktemp("oidc")))


@pytest.fixture(scope="session", params=["mosquitto", "embedded"])
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a real MQTT broker."""
    with contextlib.ExitStack() as stack:
        factory = backends.mosquitto if request.param == "mosquitto" else backends.embedded_broker
        yield _enter(stack, factory)


@pytest.fixture(scope="session")
def mosquitto_url() -> Iterator[str]:
    """Mosquitto alone, for what the embedded broker lacks (MQTT 5, shared subscriptions)."""
    with contextlib.ExitStack() as stack:
        yield _enter(stack, backends.mosquitto)


@pytest.fixture
def mqtt_protocol(broker_url: str) -> str:
    """The MQTT version to speak to ``broker_url``: amqtt (embedded) knows 3.1.1 only."""
    return "5" if broker_url == backends.MOSQUITTO else "3.1.1"
