"""Per-client rate limits on heavy requests: 429 problem+json with Retry-After, other
clients unaffected, the client served again after the wait.

Clients are told apart by their address when anonymous (a real server; each client binds
its own loopback address) or by the signed-in subject (each an API key of its own).
Budgets are counted in windows aligned on multiples of their length (the sliding window
counter): a burst is counted exactly within one window, so the tests start a burst in a
fresh window or use a day's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from auth.principal import Role
from demo_town.river import DEMO
from gis_layers.rasters import register
from harness.credentials import api_key, key_headers
from harness.live import served
from settings import Settings

WINDOW_S = 4
DAY_S = 86_400
PAST = {"at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}


def _client(url: str, address: str) -> httpx.Client:
    """An HTTP client whose connections come from ``address`` (any of 127.0.0.0/8)."""
    return httpx.Client(
        base_url=url, transport=httpx.HTTPTransport(local_address=address), timeout=60
    )


def _window_start() -> None:
    """Wait for a fresh window of the sliding window counter (windows start at multiples
    of their length since the epoch): a burst within one window is counted exactly."""
    time.sleep(WINDOW_S - time.time() % WINDOW_S + 0.05)


def _refused(answer: httpx.Response, window_s: int = WINDOW_S) -> int:
    """The checked 429 answer's Retry-After (at most the budget's window)."""
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 429
    assert problem["title"] == "Too many requests"
    assert "heavy requests" in problem["detail"]
    wait = int(answer.headers["retry-after"])
    assert 1 <= wait <= window_s
    return wait


def test_a_client_over_its_budget_waits_while_others_are_served(small_town: str) -> None:
    budget = {"SMARTCITY_RATE_LIMIT_HEAVY": f"3/{WINDOW_S} seconds"}
    # zone summaries over a chosen period: heavy, and public (anonymous callers are
    # counted by their address)
    start, end = (datetime.now(UTC) - timedelta(hours=h) for h in (2, 1))
    period = {"start": start.isoformat(), "end": end.isoformat()}
    with (
        served(small_town, settings=budget) as url,
        _client(url, "127.0.0.1") as one,
        _client(url, "127.0.0.2") as other,
    ):
        one.get("/health").raise_for_status()
        _window_start()
        for _ in range(3):
            assert one.get("/twin/zones", params=period).status_code == 200
        wait = _refused(one.get("/twin/zones", params=period))
        assert one.get("/twin/zones").status_code == 200  # the default one is not heavy
        assert other.get("/twin/zones", params=period).status_code == 200
        time.sleep(wait)
        assert one.get("/twin/zones", params=period).status_code == 200


_KEYS: dict[tuple[str, str], str] = {}


def _signed_in_client(database_url: str, **settings: str) -> TestClient:
    """The hub with ``settings``, its requests signed in as ``tests-admin`` by default."""
    app = create_app(Settings(**settings), database_url)
    return TestClient(app, headers=key_headers(database_url, Role.ADMIN))


def _as(database_url: str, subject: str) -> dict[str, str]:
    """Headers signing in as ``subject``'s API key (one key per subject and database)."""
    if (database_url, subject) not in _KEYS:
        _KEYS[database_url, subject] = api_key(database_url, Role.VIEWER, subject)
    return {"X-API-Key": _KEYS[database_url, subject]}


def test_signed_in_users_are_counted_apart_from_their_address(small_town: str) -> None:
    with _signed_in_client(small_town, rate_limit_heavy="2/day") as client:
        ana, ion = _as(small_town, "ana"), _as(small_town, "ion")
        for _ in range(2):
            assert client.get("/twin/snapshot", params=PAST, headers=ana).status_code == 200
        _refused(client.get("/twin/snapshot", params=PAST, headers=ana), DAY_S)
        # the same address: another user has a budget of its own
        assert client.get("/twin/snapshot", params=PAST, headers=ion).status_code == 200


def test_every_kind_of_heavy_request_is_charged(small_town: str) -> None:
    start, end = (datetime.now(UTC) - timedelta(hours=h) for h in (2, 1))
    heavy = [
        ("/twin/snapshot", PAST),
        ("/twin/zones", {"start": start.isoformat(), "end": end.isoformat()}),
        ("/collections/parcels/items", {"filter": "land_use = 'CC'"}),
        ("/collections/parcels/items", {"limit": 5000}),
        ("/collections/parcels/tiles/WebMercatorQuad/18/95316/148574", {}),
    ]
    light = [
        ("/twin/snapshot", {}),
        ("/twin/zones", {}),
        ("/collections/parcels/items", {"limit": 1000}),
        ("/collections/parcels/tiles/WebMercatorQuad/18/95316/148574", {}),  # now cached
    ]
    with _signed_in_client(small_town, rate_limit_heavy=f"{len(heavy)}/day") as client:
        for path, params in heavy:
            assert client.get(path, params=params).status_code == 200, path
        for path, params in light:
            assert client.get(path, params=params).status_code == 200, path
        for path, params in heavy[:-1]:
            _refused(client.get(path, params=params), DAY_S)


@pytest.fixture
def flood_town(demo_db: str, demo_files: Path) -> Iterator[str]:
    with psycopg.connect(demo_db) as conn:
        register(conn, demo_files.with_name("dem.tif"), name="terrain")
    yield demo_db


def test_new_flood_levels_are_limited_per_client_and_per_process(flood_town: str) -> None:
    gauge = DEMO.gauges[0]
    with _signed_in_client(
        flood_town, rate_limit_flood_levels="2/day", rate_limit_flood_levels_process="3/day"
    ) as client:

        def flood(level: float, subject: str) -> httpx.Response:
            headers = _as(flood_town, subject)
            return client.get("/river/flood", params={"level_cm": level}, headers=headers)

        assert flood(600, "ana").status_code == 200
        assert flood(610, "ana").status_code == 200
        refused = flood(620, "ana")
        assert refused.status_code == 429
        assert "new flood levels (2 per 1 day)" in refused.json()["detail"]
        assert "this client's" in refused.json()["detail"]
        # levels already computed cost nothing: asked again, and the warning levels
        for level in (600, 610, gauge.attention_cm, gauge.flood_cm, gauge.danger_cm):
            assert flood(level, "ana").status_code == 200, level
        assert flood(630, "ion").status_code == 200  # another client has its budget...
        spent = flood(640, "dan")  # ...until the process's is spent
        assert spent.status_code == 429
        assert "the server's budget of new flood levels of all clients" in spent.json()["detail"]
        assert flood(600, "dan").status_code == 200
