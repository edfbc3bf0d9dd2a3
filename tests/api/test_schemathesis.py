"""Schemathesis against the OpenAPI document: generated requests to every GET operation of
a live server over a real database; none may cause a server error.

The data is the generated lots layer plus a small twin, so that the generated filters,
bboxes, tile addresses and twin questions meet real rows. A 4xx answer is fine (bad
input must be refused); a 5xx or a broken response is not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema

from api.app import create_app
from auth.principal import Role
from gis_layers.importer import import_file
from harness.credentials import key_headers
from harness.live import live_server
from settings import Settings
from storage import migrations
from tests import backends
from tests.api.lots import LAYER
from twin.registry import sync_from_layers


@pytest.fixture(scope="module")
def api_schema(
    tmp_path_factory: pytest.TempPathFactory, pg_server: str
) -> Iterator[tuple[BaseSchema, dict[str, str]]]:
    """The OpenAPI schema of a served hub, and an admin's key to call it with."""
    path = Path(tmp_path_factory.mktemp("schema")) / "lots.gpkg"
    LAYER.to_file(path, layer="lots")
    assets = LAYER.head(20).assign(
        asset_id=[f"asset-{k}" for k in range(20)], name="asset", kind="school"
    )
    assets.set_geometry(assets.geometry.centroid).to_file(path, layer="assets")
    with backends.fresh_database(pg_server) as url:
        with psycopg.connect(url) as conn:
            migrations.upgrade(conn)
            import_file(conn, path)
            sync_from_layers(conn)
        admin = key_headers(url, Role.ADMIN)
        with live_server(create_app(Settings(), url)) as base:
            yield schemathesis.openapi.from_url(f"{base}/openapi.json"), admin


def test_no_generated_request_breaks_the_server(
    api_schema: tuple[BaseSchema, dict[str, str]],
) -> None:
    schema, admin = api_schema
    operations = schema.include(method="GET").exclude(path_regex="stream")
    tried = 0
    for result in operations.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def no_server_error(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=admin, checks=[not_a_server_error])

        no_server_error()
        tried += 1
    assert tried >= 20, f"only {tried} GET operations in the OpenAPI document"
