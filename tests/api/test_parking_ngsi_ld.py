"""FIWARE NGSI-LD over real PostgreSQL: the scripted lots and bays of
:mod:`tests.api.test_parking` as Smart Data Models entities, each valid against its
published schema, in both forms, with NGSI-LD's @context, paging and errors.

Named to run after test_parking.py: that module's readings are dated from its import
(``NOW``), and its data-age checks allow two minutes."""

from __future__ import annotations

from typing import Any

import pytest

from auth.principal import Role
from tests.api import test_parking
from tests.api.test_parking import A_BAYS, A_OCCUPIED, B_COUNTER, C_BAYS, Hub
from tests.fiware import schemas

pytestmark = pytest.mark.integration

hub = test_parking.hub  # the same town: three lots, thirteen bays
ENTITIES = "/ngsi-ld/v1/entities"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
CORE_TERMS = {"id", "type", "location", "@context"}


def _key_values(entity: dict[str, Any]) -> dict[str, Any]:
    """NGSI-LD's key-values of a normalized entity (independent of the hub's code)."""
    found = {"id": entity["id"], "type": entity["type"]}
    for name, attribute in entity.items():
        if name not in ("id", "type"):
            found[name] = attribute["object" if attribute["type"] == "Relationship" else "value"]
    return found


def _get(hub: Hub, params: dict[str, str], role: Role | None = Role.VIEWER, **kw: Any) -> Any:
    answer = hub.get(ENTITIES, role, params=params, **kw)
    assert answer.status_code == 200, answer.text
    return answer


def test_every_entity_is_valid_against_its_schema_in_both_forms(hub: Hub) -> None:
    types = "OffStreetParking,ParkingGroup,ParkingSpot"
    full = _get(hub, {"type": types, "limit": "1000"}).json()
    brief = _get(hub, {"type": types, "limit": "1000", "options": "keyValues"}).json()
    assert [e["id"] for e in full] == sorted(e["id"] for e in full)
    assert [_key_values(e) for e in full] == brief
    kinds = [e["type"] for e in brief]
    assert (kinds.count("OffStreetParking"), kinds.count("ParkingGroup")) == (3, 2)  # b: counter
    assert kinds.count("ParkingSpot") == len(A_BAYS) + len(C_BAYS)
    for entity in brief:
        assert schemas.errors(entity) == [], entity["id"]


def test_lots_carry_their_live_figures_and_the_context_link(hub: Hub) -> None:
    answer = _get(hub, {"type": "OffStreetParking"}, role=None)  # public, as /parking/lots
    assert answer.headers["content-type"] == "application/json"
    context = answer.headers["link"]
    assert context.startswith("<http://testserver/ngsi-ld/context.jsonld>;")
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in context
    lots = {e["id"].rsplit(":", 1)[1]: e for e in answer.json()}
    a = lots["lot-a"]
    assert a["availableSpotNumber"]["value"] == len(A_BAYS) - len(A_OCCUPIED)
    assert a["availableSpotNumber"]["observedAt"].endswith("Z")
    assert a["totalSpotNumber"] == {"type": "Property", "value": 10}
    assert a["status"]["value"] == ["open", "spacesAvailable"]
    assert a["refParkingGroup"] == {
        "type": "Relationship",
        "object": "urn:ngsi-ld:ParkingGroup:lot-a",
    }
    assert a["location"]["type"] == "GeoProperty"
    assert lots["lot-b"]["occupiedSpotNumber"]["value"] == B_COUNTER
    assert lots["lot-b"]["occupancyDetectionType"]["value"] == ["balancing"]
    assert lots["lot-c"]["status"]["value"] == ["full"]
    served = hub.get("/ngsi-ld/context.jsonld")
    assert served.headers["content-type"] == "application/ld+json"
    terms = set(served.json()["@context"][0])
    for entity in _get(hub, {"type": "OffStreetParking,ParkingGroup,ParkingSpot"}).json():
        assert set(entity) - CORE_TERMS <= terms, entity["id"]


def test_json_ld_carries_the_context_in_the_body(hub: Hub) -> None:
    ld = {"Accept": "application/ld+json"}
    answer = hub.client.get(ENTITIES, params={"type": "OffStreetParking"}, headers=ld)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/ld+json"
    assert "link" not in answer.headers
    assert all(e["@context"].endswith("/ngsi-ld/context.jsonld") for e in answer.json())


def test_groups_and_spots_count_the_bays(hub: Hub) -> None:
    groups = {
        e["refParkingSite"]: e
        for e in _get(hub, {"type": "ParkingGroup", "options": "keyValues"}).json()
    }
    a = groups["urn:ngsi-ld:OffStreetParking:lot-a"]
    assert (a["totalSpotNumber"], a["availableSpotNumber"]) == (10, 10 - len(A_OCCUPIED))
    c = groups["urn:ngsi-ld:OffStreetParking:lot-c"]
    assert (c["totalSpotNumber"], c["availableSpotNumber"]) == (len(C_BAYS), 0)
    spot = hub.get(f"{ENTITIES}/urn:ngsi-ld:ParkingSpot:A03", Role.VIEWER).json()
    assert spot["status"]["value"] == "free"
    assert spot["refParkingGroup"]["object"] == "urn:ngsi-ld:ParkingGroup:lot-a"
    occupied = _get(
        hub,
        {"type": "ParkingSpot", "id": "urn:ngsi-ld:ParkingSpot:A01,urn:ngsi-ld:ParkingSpot:A02"},
    ).json()
    assert [(s["id"], s["status"]["value"]) for s in occupied] == [
        ("urn:ngsi-ld:ParkingSpot:A01", "occupied"),
        ("urn:ngsi-ld:ParkingSpot:A02", "occupied"),
    ]


def test_bays_are_for_signed_in_users_as_in_parking(hub: Hub) -> None:
    refused = hub.get(ENTITIES, params={"type": "ParkingSpot"})
    assert refused.status_code == 401
    assert refused.json()["detail"].startswith("reading ParkingSpot entities needs a signed-in")
    assert hub.get(ENTITIES, params={"type": "OffStreetParking,ParkingSpot"}).status_code == 401
    assert hub.get(f"{ENTITIES}/urn:ngsi-ld:ParkingSpot:A01").status_code == 401
    assert hub.get(f"{ENTITIES}/urn:ngsi-ld:ParkingGroup:lot-a").status_code == 200


def test_a_closed_lot_is_closed_with_no_place_available(hub: Hub) -> None:
    closing = hub.send("POST", "/parking/lots/lot-a/close", {"reason": "works"})
    assert closing.status_code == 200, closing.text
    lot = hub.get(f"{ENTITIES}/urn:ngsi-ld:OffStreetParking:lot-a", params={"options": "keyValues"})
    assert lot.json()["status"] == ["closed"] and lot.json()["availableSpotNumber"] == 0


def test_paging_counting_and_types_by_iri(hub: Hub) -> None:
    everything = [e["id"] for e in _get(hub, {"type": "OffStreetParking"}).json()]
    page = _get(hub, {"type": "OffStreetParking", "limit": "1", "offset": "1", "count": "true"})
    assert [e["id"] for e in page.json()] == everything[1:2]
    assert page.headers["NGSILD-Results-Count"] == "3"
    counted = _get(hub, {"type": "OffStreetParking", "limit": "0", "count": "true"})
    assert counted.json() == [] and counted.headers["NGSILD-Results-Count"] == "3"
    iri = "https://smartdatamodels.org/dataModel.Parking/OffStreetParking"
    assert [e["id"] for e in _get(hub, {"type": iri}).json()] == everything
    assert _get(hub, {"type": "AirQualityObserved"}).json() == []  # not served: no match


def _problem(answer: Any, status: int, kind: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    found: dict[str, Any] = answer.json()
    assert found["type"] == ERRORS + kind
    return found


def test_unknown_ids_and_bad_parameters_answer_ngsi_ld_problems(hub: Hub) -> None:
    missing = hub.get(f"{ENTITIES}/urn:ngsi-ld:OffStreetParking:lot-zz")
    assert "lot-zz" in _problem(missing, 404, "ResourceNotFound")["detail"]
    _problem(hub.get(f"{ENTITIES}/urn:ngsi-ld:Building:x"), 404, "ResourceNotFound")
    _problem(hub.get(f"{ENTITIES}/lot-a"), 400, "BadRequestData")
    assert "type is required" in _problem(hub.get(ENTITIES), 400, "BadRequestData")["detail"]
    for bad in (
        {"limit": "abc"},
        {"limit": "1001"},
        {"limit": "0"},
        {"offset": "-1"},
        {"options": "sysAttrs"},
        {"options": "keyValues,normalized"},
        {"count": "maybe"},
        {"type": "OffStreetParking,"},
    ):
        params = {"type": "OffStreetParking"} | bad
        _problem(hub.get(ENTITIES, params=params), 400, "BadRequestData")
