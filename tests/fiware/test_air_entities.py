"""Air-quality stations as ``AirQualityObserved`` entities: each valid against the Smart
Data Models' published schema (key-values form, derived from the normalized one by
NGSI-LD's rule), its figures what the hour says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from air.bands import EAQI_2024
from air.index import index_of
from air.stations import Station
from fiware import air
from fiware.entities import Entity, key_values, normalized
from tests.fiware import schemas
from tests.fiware.test_parking_entities import _key_values

HOUR = datetime(2026, 5, 4, 9, tzinfo=UTC)
CENTRE = Station("TR-2", "TR-2 Centru", 24.8708, 43.7517, ("pm25", "no2"), "C1", "Centre")
NO_ZONE = Station("TR-4", "TR-4 Port", 24.87, 43.72, ("so2",), None, None)
HOURS = [
    (CENTRE, {"pm25": 12.0, "no2": 30.0, "o3": 70.0}),
    (CENTRE, {"pm25": 0.0}),
    (NO_ZONE, {"so2": 300.0}),
    (NO_ZONE, {"pm10": 1000.0, "pm25": 999.9, "no2": 401.0, "o3": 250.0, "so2": 600.0}),
]


def _entity(station: Station, values: dict[str, float]) -> Entity:
    return air.air_quality_observed(station, index_of(EAQI_2024, HOUR, values), values)


@pytest.mark.parametrize(("station", "values"), HOURS)
def test_every_entity_is_valid_in_both_forms(station: Station, values: dict[str, float]) -> None:
    document = normalized(_entity(station, values))
    assert _key_values(document) == key_values(_entity(station, values))
    assert schemas.errors(_key_values(document)) == []


def test_an_hour_says_its_index_level_and_concentrations() -> None:
    entity = key_values(_entity(*HOURS[0]))
    assert entity["id"] == "urn:ngsi-ld:AirQualityObserved:TR-2"
    # NO2 30 is moderate in the 2024 table: the third band of six
    assert (entity["airQualityIndex"], entity["airQualityLevel"]) == (3, "moderate")
    assert (entity["pm25"], entity["no2"], entity["o3"]) == (12.0, 30.0, 70.0)
    assert entity["dateObserved"] == "2026-05-04T10:00:00Z"  # the end of the hour
    assert entity["areaServed"] == "Centre"
    assert entity["location"] == {"type": "Point", "coordinates": [24.8708, 43.7517]}
    worst = key_values(_entity(*HOURS[3]))
    assert (worst["airQualityIndex"], worst["airQualityLevel"]) == (6, "extremely poor")
    assert "areaServed" not in worst
    observed = normalized(_entity(*HOURS[2]))["so2"]
    assert observed == {"type": "Property", "value": 300.0, "observedAt": "2026-05-04T10:00:00Z"}
