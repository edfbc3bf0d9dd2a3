"""Every route of the API answers every kind of caller as auth/policy.py says: anonymous
callers and each role, against a real server and database.

A route the policy does not name fails here (and the API refuses to start with it)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from api.app import create_app
from auth import policy
from auth.principal import Role
from gis_layers.catalogue import set_public
from harness.credentials import api_key
from harness.live import live_server
from settings import Settings

pytestmark = pytest.mark.integration

PUBLIC_LAYER, INTERNAL_LAYER = "parcels", "sensors"
STREAMS = {"/twin/stream", "/river/stream", "/parking/alerts/stream", "/air/alerts/stream"}
VALUES = {
    "feature_id": "1",
    "tile_matrix_set_id": "WebMercatorQuad",
    "tile_matrix": "0",
    "tile_row": "0",
    "tile_col": "0",
    "raster_id": "terrain",
    "device_id": "lot-centru-b001",
    "asset_id": "lot-centru",
    "lot_id": "lot-centru",
    "alert_id": "1",
    "zone": "C1",
    "bay_id": "lot-centru-b001",
    "entityId": "urn:ngsi-ld:OffStreetParking:lot-centru",
    "dataset_id": "river-levels",
    "fmt": "csv",
    "station_id": "aq-none",  # a 404, after the access check
    "page": "guide-planner.md",
    "image": "planner-landing.png",
    "map_name": "parking",
    "script": "hub-map",
}
CALLERS: list[Role | None] = [None, *Role]


@pytest.fixture(scope="module")
def hub(
    tmp_path_factory: pytest.TempPathFactory, pg_server: str
) -> Iterator[tuple[str, dict[Role, str]]]:
    """The small town served on loopback, its parcels public; an API key per role."""
    from tests import backends
    from tests.api.conftest import build_small_town

    with backends.fresh_database(pg_server) as url:
        build_small_town(url, tmp_path_factory.mktemp("town"))
        with psycopg.connect(url) as conn:
            set_public(conn, PUBLIC_LAYER, True)
        keys = {role: api_key(url, role) for role in Role}
        settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
        with live_server(create_app(settings, url)) as base:
            yield base, keys


def _routes() -> list[tuple[str, str]]:
    """Every (method, path template) of the OpenAPI document and of the policy."""
    document = create_app(Settings(), "postgresql://unused@127.0.0.1/none").openapi()
    found = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    return sorted(found | set(policy.POLICY))


def _url(path: str, collection: str) -> str:
    filled = path.replace("{collectionId}", collection)
    return re.sub(r"\{(\w+)\}", lambda m: VALUES[m[1]], filled)


def _status(base: str, method: str, url: str, key: str | None) -> int:
    headers = {"X-API-Key": key} if key else {}
    with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
        if url in STREAMS:  # answered as soon as the stream opens
            with client.stream(method, url) as answer:
                return answer.status_code
        body = {"note": "checked"} if method == "POST" and "/ack" in url else None
        return client.request(method, url, json=body).status_code


@pytest.mark.parametrize(("method", "path"), _routes())
def test_every_route_answers_every_caller_as_the_policy_says(
    hub: tuple[str, dict[Role, str]], method: str, path: str
) -> None:
    base, keys = hub
    rule = policy.rule_for(method, path)
    layers = [PUBLIC_LAYER, INTERNAL_LAYER] if "{collectionId}" in path else [PUBLIC_LAYER]
    for collection in layers:
        url = _url(path, collection)
        for caller in CALLERS:
            status = _status(base, method, url, keys[caller] if caller else None)
            who = caller.value if caller else "anonymous"
            if caller is None:
                public = rule.anonymous or (rule.layer and collection == PUBLIC_LAYER)
                listed = path == "/collections"  # lists what anonymous callers may see
                expected_refusal = not public and not listed
                assert (status == 401) == expected_refusal, f"{who} {method} {url}: {status}"
            elif rule.roles and caller not in rule.roles:
                assert status == 403, f"{who} {method} {url}: {status}"
            else:
                assert status not in (401, 403), f"{who} {method} {url}: {status}"


def test_a_route_without_a_rule_stops_the_api_from_starting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(policy.POLICY, ("GET", "/devices"))
    with pytest.raises(policy.NoPolicy, match="GET /devices"):
        create_app(Settings(), "postgresql://unused@127.0.0.1/none")


def test_the_openapi_document_says_what_each_operation_requires() -> None:
    document = create_app(Settings(), "postgresql://unused@127.0.0.1/none").openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["hubToken"]["flows"]["password"]["tokenUrl"] == "/auth/token"
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    ack = document["paths"]["/river/alerts/{alert_id}/ack"]["post"]
    assert {"hubToken": []} in ack["security"] and "403" in ack["responses"]
    assert "role emergency" in ack["description"]
    devices = document["paths"]["/devices"]["get"]
    assert "401" in devices["responses"] and "403" not in devices["responses"]
    assert "security" not in document["paths"]["/river/gauges"]["get"]
    items = document["paths"]["/collections/{collectionId}/items"]["get"]
    assert {} in items["security"]  # anonymous where the layer is public
