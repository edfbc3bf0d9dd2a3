"""The maps' pages and descriptions (/maps/...), over real PostgreSQL: who may open them,
who is offered to acknowledge an alert, what is refused; rendered in test_maps_render."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from api.app import create_app
from auth.principal import Role
from harness.credentials import key_headers
from settings import Settings


def test_each_map_is_described_for_signed_in_users_and_only_emergency_may_acknowledge(
    small_town: str,
) -> None:
    with TestClient(create_app(Settings(), small_town)) as client:
        assert client.get("/maps/emergency/deck.json").status_code == 401  # anonymous
        as_role = {role: key_headers(small_town, role) for role in Role}
        acknowledging = {
            role: client.get("/maps/emergency/deck.json", headers=as_role[role]).json()["panel"][
                "can_acknowledge"
            ]
            for role in Role
        }
        assert acknowledging == {role: role is Role.EMERGENCY for role in Role}
        emergency = client.get("/maps/emergency/deck.json", headers=as_role[Role.VIEWER]).json()
        assert emergency["panel"]["gauges"][0]["level"]["cm"] == 312.0
        assert emergency["panel"]["flood"] is None  # the small town has no terrain model
        for name in ("planners", "parking", "emergency"):
            answer = client.get(f"/maps/{name}/deck.json", headers=as_role[Role.VIEWER])
            assert answer.status_code == 200, answer.text
            view = answer.json()
            in_legend = {layer for group in view["legend"] for layer in group["layers"]}
            drawn = {layer["id"] for layer in view["deck"]["layers"]}
            assert drawn - set(view["labels"]) <= in_legend
            assert datetime.fromisoformat(view["as_of"]).tzinfo is not None
            page = client.get(f"/maps/{name}", headers=as_role[Role.VIEWER]).text
            # offline: every script from the hub itself
            assert re.findall(r'src="([^"]+)"', page) == [
                "/map/deckgl.js",
                "/maps/scripts/hub-map.js",
                f"/maps/scripts/{name}.js",
            ]
        parking = client.get("/maps/parking/deck.json", headers=as_role[Role.VIEWER]).json()
        assert [lot["lot_id"] for lot in parking["panel"]["lots"]] == ["lot-centru"]
        assert parking["panel"]["lots"][0]["free"] == 1  # one bay of two occupied


def test_what_the_maps_refuse(small_town: str) -> None:
    with TestClient(create_app(Settings(), small_town)) as client:
        headers = key_headers(small_town, Role.PLANNER)
        now = datetime.now(UTC)
        refused = [
            ("/maps/parking/deck.json", {"at": now.isoformat()}),
            ("/maps/planners/deck.json", {"at": (now + timedelta(hours=1)).isoformat()}),
            ("/maps/planners/deck.json", {"at": (now - timedelta(days=8)).isoformat()}),
            ("/maps/traffic", {}),
        ]
        for path, params in refused:
            answer = client.get(path, params=params, headers=headers)
            assert answer.status_code == 400, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
        past = client.get(
            "/maps/planners/deck.json",
            params={"at": (now - timedelta(hours=2)).isoformat()},
            headers=headers,
        ).json()
        assert past["streams"] == [] and past["panel"]["replay"]["at"] is not None
