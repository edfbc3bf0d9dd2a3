"""Who decides what is public: administrators, through the API or the CLI, every
decision in the audit log; what is never public stays so."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from auth.principal import Role
from harness.credentials import key_headers
from hub.cli import app as cli

pytestmark = pytest.mark.integration

ENERGY = "/opendata/datasets/energy-consumption"
PARAMS = {"start": "2025-03-01", "end": "2025-03-02"}


def _audit(url: str) -> list[tuple[str, str, int, dict[str, str]]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT subject, route, outcome, target FROM audit_log ORDER BY audit_id"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def test_only_administrators_publish_and_it_is_audited(client: TestClient, town: str) -> None:
    body = {"public": True}
    assert client.put(f"{ENERGY}/publication", json=body).status_code == 401
    for role in (Role.VIEWER, Role.PLANNER):
        answer = client.put(f"{ENERGY}/publication", json=body, headers=key_headers(town, role))
        assert answer.status_code == 403
    assert client.get(f"{ENERGY}/series.csv", params=PARAMS).status_code == 404
    admin = key_headers(town, Role.ADMIN)
    assert client.put(f"{ENERGY}/publication", json=body, headers=admin).status_code == 204
    assert client.get(f"{ENERGY}/series.csv", params=PARAMS).status_code == 200
    route = "/opendata/datasets/{dataset_id}/publication"
    assert ("tests-admin", route, 204, {"dataset_id": "energy-consumption"}) in _audit(town)
    # a layer's dataset is the layer's own flag
    assert client.get("/collections/assets").status_code == 401
    answer = client.put("/opendata/datasets/layer-assets/publication", json=body, headers=admin)
    assert answer.status_code == 204
    assert client.get("/collections/assets").status_code == 200
    assert client.get("/opendata/datasets/layer-assets/features.geojson").status_code == 200


def test_what_is_never_public_is_refused(client: TestClient, town: str) -> None:
    admin = key_headers(town, Role.ADMIN)
    for never in ("parking-bays", "dead-letters", "device-credentials", "accounts"):
        answer = client.put(
            f"/opendata/datasets/{never}/publication", json={"public": True}, headers=admin
        )
        assert answer.status_code == 409, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    unknown = client.put(
        "/opendata/datasets/layer-nowhere/publication", json={"public": True}, headers=admin
    )
    assert unknown.status_code == 404


def test_the_cli_publishes_and_withdraws_with_an_audit_row(
    town: str, monkeypatch: pytest.MonkeyPatch, client: TestClient
) -> None:
    monkeypatch.setenv("SMARTCITY_DATABASE_URL", town)
    runner = CliRunner()
    done = runner.invoke(cli, ["opendata", "publish", "energy-consumption"])
    assert done.exit_code == 0, done.output
    assert client.get(f"{ENERGY}/series.csv", params=PARAMS).status_code == 200
    done = runner.invoke(cli, ["opendata", "unpublish", "river-levels"])
    assert done.exit_code == 0, done.output
    assert (
        client.get("/opendata/datasets/river-levels/series.csv", params=PARAMS).status_code == 404
    )
    listed = runner.invoke(cli, ["opendata", "list"])
    assert "river-levels\tnot public\tdecided" in listed.output
    assert "energy-consumption\tpublic\tdecided" in listed.output
    routes = [(route, target) for _, route, _, target in _audit(town)]
    assert routes[-2:] == [
        ("smartcity opendata publish", {"dataset_id": "energy-consumption"}),
        ("smartcity opendata unpublish", {"dataset_id": "river-levels"}),
    ]
    refused = runner.invoke(cli, ["opendata", "publish", "parking-bays"])
    assert refused.exit_code == 2
    assert "never published" in refused.output
