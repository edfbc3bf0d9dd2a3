"""The schema check itself: the published examples pass, a broken entity fails, and a
``$ref`` that is not among the local files fails rather than being fetched."""

from __future__ import annotations

import json

import jsonschema_rs
import pytest

from tests.fiware import schemas

TYPES = ["OffStreetParking", "ParkingGroup", "ParkingSpot"]


@pytest.mark.parametrize("entity_type", TYPES)
def test_the_published_examples_are_valid(entity_type: str) -> None:
    example = json.loads((schemas.FOLDER / f"{entity_type}.example.json").read_text())
    assert schemas.errors(example) == []


def test_a_spot_without_its_site_or_with_an_unknown_status_is_refused() -> None:
    spot = {
        "id": "urn:ngsi-ld:ParkingSpot:x",
        "type": "ParkingSpot",
        "location": {"type": "Point", "coordinates": [25.0, 44.0]},
        "category": ["offStreet"],
        "status": "silent",
    }
    found = " ".join(schemas.errors(spot))
    assert "refParkingSite" in found and "silent" in found


def test_a_ref_outside_the_local_files_is_not_fetched() -> None:
    remote = {"$ref": "https://smart-data-models.github.io/data-models/elsewhere.json"}
    with pytest.raises((schemas.Fetched, jsonschema_rs.ValidationError), match="fetched"):
        jsonschema_rs.Draft202012Validator(
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "allOf": [remote]},
            registry=schemas._registry(),
            retriever=schemas._refuse,
        )
