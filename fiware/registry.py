"""The entity types the hub serves, each provided by a domain: a registry of type →
provider, so that another type (air quality's ``AirQualityObserved``) plugs in by adding
its :class:`EntityType` to :data:`TYPES` and its terms to the context.

The hub's JSON-LD @context (``context.jsonld``, served by the API and named in every
answer) maps each term to its Smart Data Models IRI; types asked for by IRI are mapped
back to their term.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from psycopg import AsyncConnection

from fiware import air, parking
from fiware.entities import Entity, parse_urn

Fetch = Callable[[AsyncConnection, datetime, frozenset[str] | None], Awaitable[list[Entity]]]
"""Read a type's entities at a moment: all of them, or those of the given local ids."""


@dataclass(frozen=True)
class EntityType:
    """A served entity type: its term, whether anonymous callers may read it (as the
    domain's own routes allow) and how its entities are read."""

    name: str
    public: bool
    fetch: Fetch


TYPES: Mapping[str, EntityType] = {
    t.name: t
    for t in (
        EntityType("OffStreetParking", True, parking.off_street_parkings),
        EntityType("ParkingGroup", True, parking.parking_groups),
        EntityType("ParkingSpot", False, parking.parking_spots),  # bays: as /parking/lots/{id}
        EntityType(air.AIR_QUALITY_OBSERVED, True, air.air_quality_observations),
    )
}


@cache
def context() -> dict[str, Any]:
    """The hub's @context document (terms of the Smart Data Models, then the core)."""
    text = resources.files("fiware").joinpath("context.jsonld").read_text(encoding="utf-8")
    found: dict[str, Any] = json.loads(text)
    return found


def _terms() -> dict[str, str]:
    found: dict[str, str] = {}
    for part in context()["@context"]:
        if isinstance(part, dict):
            for short, iri in part.items():
                found[short] = iri if isinstance(iri, str) else iri["@id"]
    return found


def term(name: str) -> str:
    """The term of a type given by its term or by its full IRI (unchanged otherwise)."""
    for short, iri in _terms().items():
        if name == iri:
            return short
    return name


def types_asked(names: Iterable[str]) -> list[EntityType]:
    """The served types among ``names`` (terms or IRIs), in the order asked, once each;
    types the hub does not serve match nothing, as in NGSI-LD."""
    found: dict[str, EntityType] = {}
    for name in names:
        served = TYPES.get(term(name))
        if served is not None:
            found.setdefault(served.name, served)
    return list(found.values())


async def read(
    conn: AsyncConnection,
    now: datetime,
    served: Iterable[EntityType],
    ids: frozenset[str] | None = None,
) -> list[Entity]:
    """The entities of the ``served`` types at ``now``, ordered by id (pages stay
    stable): all of them, or those whose URN is among ``ids``."""
    found: list[Entity] = []
    for entity_type in served:
        local = None
        if ids is not None:
            local = frozenset(
                parsed[1]
                for parsed in map(parse_urn, ids)
                if parsed is not None and parsed[0] == entity_type.name
            )
            if not local:
                continue
        found += await entity_type.fetch(conn, now, local)
    return sorted(found, key=lambda entity: entity.id)
