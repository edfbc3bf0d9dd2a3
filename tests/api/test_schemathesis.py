"""Schemathesis against the OpenAPI document of a live server over a real database, with
all its checks: no server error, and every answer as the document declares it (status,
media type, body schema, headers), invalid input refused, valid input not refused for
being valid, unsupported methods answered 405 with ``Allow``.

It runs as CI runs it, ``st run`` against the server's ``/openapi.json``, in its three
phases: the documented examples, the coverage phase (boundary values of every
parameter, missing ones, methods the document does not list) and fuzzing, in positive
and negative modes. The data is the generated lots layer plus a small twin, so that the
generated filters, bboxes, tile addresses and twin questions meet real rows.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from api.app import create_app
from auth.principal import Role
from gis_layers.importer import import_file
from harness.credentials import api_key
from harness.live import live_server
from settings import Settings
from storage import migrations
from tests import backends
from tests.api.lots import LAYER
from twin.registry import sync_from_layers

EXAMPLES = 25
"""Generated cases per operation and phase (CI's budget; more finds more, slowly)."""

EXCLUDED_CHECKS = {
    # A query parameter's schema says "a string"; what it must say is CQL2, WKT, a bbox
    # of four numbers in order, a known CRS or tile matrix set: grammars and relations
    # JSON Schema cannot express. Schemathesis's "valid" strings for them are refused
    # with a 400 naming the reason, as they must be; a 404 for a drawn id is allowed.
    "positive_data_acceptance": "parameters with a grammar JSON Schema cannot state",
}
EXCLUDED_OPERATIONS = "stream"
"""Server-sent event streams (/twin/stream, /river/stream) never end: a request to one
waits until the client's timeout."""


# The contract is the API's, whichever server answers; every other API test runs on
# both. Schemathesis's phases take minutes, so once, on the system server.
pytestmark = pytest.mark.parametrize("pg_server", ["system"], indirect=True)


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory, pg_server: str) -> Iterator[tuple[str, str]]:
    """A served hub and an admin's API key to call every route with."""
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
        admin = api_key(url, Role.ADMIN)
        with live_server(create_app(Settings(), url)) as base:
            yield base, admin


def test_schemathesis_finds_nothing_with_all_its_checks(
    api_url: tuple[str, str], tmp_path: Path
) -> None:
    base, admin = api_url
    report = tmp_path / "junit.xml"
    run = subprocess.run(
        [
            *(sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json"),
            *("--header", f"X-API-Key: {admin}"),
            *("--checks", "all", "--exclude-checks", ",".join(EXCLUDED_CHECKS)),
            *("--phases", "examples,coverage,fuzzing", "--mode", "all"),
            *("--max-examples", str(EXAMPLES), "--seed", "13", "--workers", "1"),
            *("--exclude-path-regex", EXCLUDED_OPERATIONS, "--request-timeout", "60"),
            *("--suppress-health-check", "all", "--report", "junit"),
            *("--report-junit-path", str(report), "--warnings", "off"),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        cwd=tmp_path,  # its cache of crashes, not in the checkout
    )
    assert run.returncode == 0, run.stdout[-30_000:] + run.stderr[-5_000:]
    tested = ET.parse(report).getroot().findall(".//testcase")
    assert len(tested) >= 30, f"only {len(tested)} operations tested"
