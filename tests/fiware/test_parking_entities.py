"""Every lot and bay state the hub knows, as Smart Data Models entities: each valid
against its published schema (key-values form, derived here from the normalized one),
its figures and enums what the state says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fiware import parking
from fiware.entities import key_values, normalized, parse_urn, urn
from parking.model import BayState, BayStatus, LotState, LotStatus, Source
from parking.store import Lot
from tests.fiware import schemas

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def _bays(lot_id: str) -> tuple[BayState, ...]:
    statuses = list(BayStatus)  # one bay in each state
    return tuple(
        BayState(
            f"{lot_id}-b{k}",
            f"{lot_id}-s{k}",
            status,
            NOW - timedelta(hours=1),
            None if status is BayStatus.UNKNOWN else NOW - timedelta(minutes=k),
        )
        for k, status in enumerate(statuses)
    )


def _lot(status: LotStatus, source: Source, with_bays: bool) -> Lot:
    lot_id = f"lot-{status}-{source}"
    known = status is not LotStatus.UNKNOWN
    capacity, occupied = (40, 40 if status is LotStatus.FULL else 25) if known else (None, None)
    state = LotState(
        lot_id=lot_id,
        name=f"Parcarea {status}",
        status=status,
        source=source,
        capacity=capacity,
        occupied=occupied,
        free=None if capacity is None or occupied is None else capacity - occupied,
        as_of=NOW - timedelta(minutes=2) if known else None,
        data_age_s=120.0 if known else None,
        bays_total=len(BayStatus) if with_bays else 0,
        bays_out_of_service=1 if with_bays else 0,
        bays=_bays(lot_id) if with_bays else (),
    )
    return Lot(state, 25.33, 43.75, "C1", "Centre")


LOTS = [
    _lot(status, source, with_bays=source in (Source.BAYS, Source.BOTH))
    for status in LotStatus
    for source in Source
]


def _key_values(entity: dict[str, Any]) -> dict[str, Any]:
    """The key-values form of a normalized entity, by NGSI-LD's rule (an oracle apart from
    :func:`fiware.entities.key_values`)."""
    found = {"id": entity["id"], "type": entity["type"]}
    for name, attribute in entity.items():
        if name in ("id", "type"):
            continue
        assert attribute["type"] in ("Property", "GeoProperty", "Relationship"), name
        found[name] = attribute["object" if attribute["type"] == "Relationship" else "value"]
    return found


def _entities() -> list[Any]:
    found: list[Any] = []
    for lot in LOTS:
        found.append(parking.off_street_parking(lot))
        group = parking.parking_group(lot)
        if group is not None:
            found.append(group)
        found += [parking.parking_spot(lot, bay, (25.331, 43.751)) for bay in lot.state.bays]
    return found


@pytest.mark.parametrize("entity", _entities(), ids=lambda e: e.id)
def test_every_entity_is_valid_in_both_forms(entity: Any) -> None:
    document = normalized(entity)
    assert _key_values(document) == key_values(entity)
    assert schemas.errors(_key_values(document)) == []


def test_a_lot_says_its_figures_and_datex_status() -> None:
    by_id = {e.id: key_values(e) for e in _entities()}
    lot = by_id[urn("OffStreetParking", "lot-open-both")]
    assert (lot["totalSpotNumber"], lot["availableSpotNumber"]) == (40, 40 - 25)
    assert lot["occupiedSpotNumber"] == 25 and lot["occupancy"] == 0.625
    assert lot["status"] == ["open", "spacesAvailable"]
    assert lot["occupancyDetectionType"] == ["singleSpaceDetection", "balancing"]
    assert lot["location"] == {"type": "Point", "coordinates": [25.33, 43.75]}
    assert lot["refParkingGroup"] == "urn:ngsi-ld:ParkingGroup:lot-open-both"
    assert by_id[urn("OffStreetParking", "lot-full-bays")]["status"] == ["full"]
    closed = by_id[urn("OffStreetParking", "lot-closed-counter")]
    assert closed["status"] == ["closed"] and closed["availableSpotNumber"] == 0
    assert "refParkingGroup" not in closed  # a counter only: no sensed bays
    for no_datex in ("lot-sensor_fault-counter", "lot-unknown-none"):
        assert "status" not in by_id[urn("OffStreetParking", no_datex)]
    unknown = by_id[urn("OffStreetParking", "lot-unknown-none")]
    assert unknown["occupancyDetectionType"] == ["none"] and "totalSpotNumber" not in unknown


def test_a_group_counts_its_bays_in_service_and_the_free_ones() -> None:
    lot = next(x for x in LOTS if x.state.lot_id == "lot-open-bays")
    group = key_values(parking.parking_group(lot))  # type: ignore[arg-type]
    in_service = [b for b in lot.state.bays if b.status is not BayStatus.OUT_OF_SERVICE]
    assert group["totalSpotNumber"] == len(in_service) == len(BayStatus) - 1
    assert group["availableSpotNumber"] == 1  # the one free bay
    assert group["refParkingSite"] == "urn:ngsi-ld:OffStreetParking:lot-open-bays"


def test_a_spot_has_its_state_when_last_heard_and_its_site() -> None:
    lot = next(x for x in LOTS if x.state.lot_id == "lot-open-bays")
    seen = {b.status: normalized(parking.parking_spot(lot, b, None)) for b in lot.state.bays}
    expected = {
        BayStatus.OCCUPIED: "occupied",
        BayStatus.FREE: "free",
        BayStatus.OUT_OF_SERVICE: "closed",
        BayStatus.SILENT: "unknown",
        BayStatus.UNKNOWN: "unknown",
    }
    assert {k: v["status"]["value"] for k, v in seen.items()} == expected
    assert seen[BayStatus.FREE]["status"]["observedAt"] == "2026-05-04T09:29:00Z"
    assert "observedAt" not in seen[BayStatus.UNKNOWN]["status"]  # never heard
    assert seen[BayStatus.FREE]["location"]["value"]["coordinates"] == [25.33, 43.75]
    assert seen[BayStatus.FREE]["refParkingSite"] == {
        "type": "Relationship",
        "object": "urn:ngsi-ld:OffStreetParking:lot-open-bays",
    }


def test_ids_are_urns_that_read_back() -> None:
    assert urn("ParkingSpot", "A 01/x") == "urn:ngsi-ld:ParkingSpot:A%2001%2Fx"
    assert parse_urn(urn("ParkingSpot", "A 01/x")) == ("ParkingSpot", "A 01/x")
    assert parse_urn("urn:ngsi-ld:ParkingSpot:") is None
    assert parse_urn("https://example.org/x") is None
