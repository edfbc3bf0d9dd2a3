"""Parking as Smart Data Models entities (dataModel.Parking): each lot an
``OffStreetParking``, the sensed bays of a lot a ``ParkingGroup``, each bay a
``ParkingSpot``, read from the live state of :mod:`parking.store`.

Choices where the hub's state and the models differ (docs/parking.md, "FIWARE / NGSI-LD"):

- A ``ParkingGroup`` belongs to one site ("a group cannot be orphan"), so a group is a
  lot's bays with sensors (``singleSpaceDetection``), not a street zone spanning lots.
- Relationships go from part to whole (spot → group and site, group → site, site →
  group): the schemas allow one target per relationship.
- The lot's ``status`` takes DATEX II values: open (with ``spacesAvailable`` while
  places are free), full, closed. ``sensor_fault`` and ``unknown`` have no DATEX II
  value and leave ``status`` out; the figures then carry their ``observedAt``.
- A closed lot has no ``availableSpotNumber`` but 0, whatever its sensors count.
- A bay out of service is ``closed``; a silent or never-heard bay ``unknown``.
- A spot has no ``refDevice``: the schema makes it a list, which NGSI-LD only spells as
  a ListRelationship (1.8), and the hub's devices are not entities served here.
"""

from __future__ import annotations

from datetime import datetime

from psycopg import AsyncConnection

from fiware.entities import Attribute, Entity, Property, Relationship, point, timestamp, urn
from parking import store
from parking.model import BayState, BayStatus, LotState, LotStatus, Source

OFF_STREET = "OffStreetParking"
GROUP = "ParkingGroup"
SPOT = "ParkingSpot"

_DETECTION = {
    Source.BAYS: ["singleSpaceDetection"],
    Source.COUNTER: ["balancing"],
    Source.BOTH: ["singleSpaceDetection", "balancing"],
    Source.NONE: ["none"],
}
_SPOT_STATUS = {
    BayStatus.OCCUPIED: "occupied",
    BayStatus.FREE: "free",
    BayStatus.OUT_OF_SERVICE: "closed",
    BayStatus.SILENT: "unknown",
    BayStatus.UNKNOWN: "unknown",
}


def _lot_status(state: LotState) -> list[str] | None:
    if state.status is LotStatus.OPEN:
        return ["open", "spacesAvailable"] if state.free else ["open"]
    if state.status is LotStatus.FULL:
        return ["full"]
    if state.status is LotStatus.CLOSED:
        return ["closed"]
    return None


def off_street_parking(lot: store.Lot) -> Entity:
    """A lot as an ``OffStreetParking``: capacity, free and occupied places, occupancy,
    DATEX II status and how its occupancy is detected."""
    state = lot.state
    seen = state.as_of
    attributes: dict[str, Attribute] = {
        "name": Property(state.name),
        "category": Property(["parkingLot"]),
        "location": point(lot.lon, lot.lat),
        "occupancyDetectionType": Property(_DETECTION[state.source]),
    }
    status = _lot_status(state)
    if status is not None:
        attributes["status"] = Property(status, seen)
    if state.capacity is not None:
        attributes["totalSpotNumber"] = Property(state.capacity)
    if state.free is not None:
        free = 0 if state.status is LotStatus.CLOSED else state.free
        attributes["availableSpotNumber"] = Property(free, seen)
    if state.occupied is not None:
        attributes["occupiedSpotNumber"] = Property(state.occupied, seen)
    if state.occupancy is not None:
        attributes["occupancy"] = Property(round(state.occupancy, 4), seen)
    if state.bays_total:
        attributes["outOfServiceSlotNumber"] = Property(state.bays_out_of_service)
        attributes["refParkingGroup"] = Relationship(urn(GROUP, state.lot_id))
    if seen is not None:
        attributes["observationDateTime"] = Property(timestamp(seen))
    return Entity(urn(OFF_STREET, state.lot_id), OFF_STREET, attributes)


def parking_group(lot: store.Lot) -> Entity | None:
    """A lot's sensed bays as a ``ParkingGroup`` (None for a lot without bays): bays in
    service and how many of them are free."""
    state = lot.state
    if not state.bays_total:
        return None
    in_service = [b for b in state.bays if b.status is not BayStatus.OUT_OF_SERVICE]
    heard = [b.last_heard for b in state.bays if b.last_heard is not None]
    seen = max(heard) if heard else None
    free = sum(b.status is BayStatus.FREE for b in in_service)
    attributes: dict[str, Attribute] = {
        "name": Property(f"{state.name}: bays with sensors"),
        "category": Property(["offStreet", "adjacentSpaces"]),
        "location": point(lot.lon, lot.lat),
        "refParkingSite": Relationship(urn(OFF_STREET, state.lot_id)),
        "occupancyDetectionType": Property(["singleSpaceDetection"]),
        "totalSpotNumber": Property(len(in_service)),
        "availableSpotNumber": Property(0 if state.status is LotStatus.CLOSED else free, seen),
    }
    return Entity(urn(GROUP, state.lot_id), GROUP, attributes)


def parking_spot(lot: store.Lot, bay: BayState, place: tuple[float, float] | None) -> Entity:
    """A bay as a ``ParkingSpot``: its state, when its sensor was last heard, its lot and
    group; it stands where its sensor does (at its lot where the sensor has no place)."""
    lon, lat = place if place is not None else (lot.lon, lot.lat)
    attributes: dict[str, Attribute] = {
        "name": Property(bay.bay_id),
        "category": Property(["offStreet"]),
        "location": point(lon, lat),
        "status": Property(_SPOT_STATUS[bay.status], bay.last_heard),
        "refParkingSite": Relationship(urn(OFF_STREET, lot.state.lot_id)),
        "refParkingGroup": Relationship(urn(GROUP, lot.state.lot_id)),
    }
    return Entity(urn(SPOT, bay.bay_id), SPOT, attributes)


def _lot_ids(ids: frozenset[str] | None) -> list[str] | None:
    return None if ids is None else sorted(ids)


async def off_street_parkings(
    conn: AsyncConnection, now: datetime, ids: frozenset[str] | None
) -> list[Entity]:
    """The lots (all, or those of the lot ids given) as ``OffStreetParking``."""
    return [off_street_parking(lot) for lot in await store.lots(conn, now, _lot_ids(ids))]


async def parking_groups(
    conn: AsyncConnection, now: datetime, ids: frozenset[str] | None
) -> list[Entity]:
    """The lots' sensed bays (all lots, or those of the lot ids given) as
    ``ParkingGroup``."""
    found = [parking_group(lot) for lot in await store.lots(conn, now, _lot_ids(ids))]
    return [group for group in found if group is not None]


async def parking_spots(
    conn: AsyncConnection, now: datetime, ids: frozenset[str] | None
) -> list[Entity]:
    """The bays (all, or those of the bay ids given) as ``ParkingSpot``."""
    places = await store.bay_places(conn)
    return [
        parking_spot(lot, bay, places.get(bay.device_id))
        for lot in await store.lots(conn, now)
        for bay in lot.state.bays
        if ids is None or bay.bay_id in ids
    ]
