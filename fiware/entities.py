"""NGSI-LD entities and their two representations (ETSI GS CIM 009, 4.5).

An entity is an id, a type and attributes, each a Property (a value, when it was
observed), a GeoProperty (GeoJSON) or a Relationship (the id of another entity). The
normalized form spells every attribute out (``{"type": "Property", "value": ...,
"observedAt": ...}``); the key-values form keeps only the values, which is the form the
Smart Data Models' JSON Schemas describe.

Written here rather than taken from a library: the NGSI-LD Python packages on PyPI are
clients of a context broker (they talk to Orion-LD over HTTP), none models an entity
without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

URN = "urn:ngsi-ld:"


@dataclass(frozen=True)
class Property:
    """A value, with when it was observed where it is a measurement."""

    value: Any
    observed_at: datetime | None = None


@dataclass(frozen=True)
class GeoProperty:
    """A GeoJSON geometry (RFC 7946: lon, lat)."""

    value: dict[str, Any]


@dataclass(frozen=True)
class Relationship:
    """A link to another entity by its id."""

    target: str


Attribute = Property | GeoProperty | Relationship


@dataclass(frozen=True)
class Entity:
    """An NGSI-LD entity: its URN, its type (a term of the hub's @context) and its
    attributes by name."""

    id: str
    type: str
    attributes: dict[str, Attribute] = field(default_factory=dict)


def urn(entity_type: str, local_id: str) -> str:
    """The entity id of ``local_id`` of ``entity_type``: ``urn:ngsi-ld:<type>:<id>``, the
    local id percent-encoded where it holds characters a URN cannot.

    >>> urn("ParkingSpot", "A 01")
    'urn:ngsi-ld:ParkingSpot:A%2001'
    """
    return f"{URN}{entity_type}:{quote(local_id, safe='-._~')}"


def parse_urn(entity_id: str) -> tuple[str, str] | None:
    """The type and local id of an ``urn:ngsi-ld:<type>:<id>``, or None for another id."""
    if not entity_id.startswith(URN):
        return None
    entity_type, sep, local = entity_id[len(URN) :].partition(":")
    if not sep or not entity_type or not local:
        return None
    return entity_type, unquote(local)


def timestamp(moment: datetime) -> str:
    """An NGSI-LD DateTime: ISO 8601 in UTC with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def point(lon: float, lat: float) -> GeoProperty:
    """A GeoJSON point (lon, lat; CRS84)."""
    return GeoProperty({"type": "Point", "coordinates": [lon, lat]})


def normalized(entity: Entity) -> dict[str, Any]:
    """The entity's normalized form: every attribute with its NGSI-LD type."""
    found: dict[str, Any] = {"id": entity.id, "type": entity.type}
    for name, attribute in entity.attributes.items():
        match attribute:
            case Property(value, observed_at):
                item: dict[str, Any] = {"type": "Property", "value": value}
                if observed_at is not None:
                    item["observedAt"] = timestamp(observed_at)
            case GeoProperty(value):
                item = {"type": "GeoProperty", "value": value}
            case Relationship(target):
                item = {"type": "Relationship", "object": target}
        found[name] = item
    return found


def key_values(entity: Entity) -> dict[str, Any]:
    """The entity's key-values form: each attribute's value (a relationship's target)."""
    found: dict[str, Any] = {"id": entity.id, "type": entity.type}
    for name, attribute in entity.attributes.items():
        found[name] = attribute.target if isinstance(attribute, Relationship) else attribute.value
    return found
