"""FIWARE's NGSI-LD API, read-only: the hub's entities as Smart Data Models (ETSI GS CIM
009: ``GET /ngsi-ld/v1/entities``, ``GET /ngsi-ld/v1/entities/{entityId}``).

Normalized by default, key-values with ``options=keyValues``. An ``Accept`` of
``application/ld+json`` gets the @context in the body; ``application/json`` (or anything
else) gets it as a ``Link`` header, as NGSI-LD says. The context is the hub's own
(``GET /ngsi-ld/context.jsonld``, shipped with :mod:`fiware`): no network is needed to
name it. Errors are problem details with NGSI-LD's error types.

The routes are public as the lots are (``/parking/lots``); a type whose domain keeps it
for signed-in users (bays: ``ParkingSpot``) is checked here, per type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from psycopg import AsyncConnection

from api import security
from api.deps import connection
from api.openapi import problems
from auth import policy
from fiware import registry
from fiware.entities import Entity, key_values, normalized, parse_urn
from fiware.errors import BadRequestData, ResourceNotFound
from fiware.query import MAX_LIMIT, entity_query, options_asked

router = APIRouter(tags=["ngsi-ld"], responses=problems(503))

LD_JSON = "application/ld+json"
_JSON = "application/json"
_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
_ANSWERS: dict[int | str, dict[str, Any]] = {200: {"content": {_JSON: {}, LD_JSON: {}}}}


def _check_access(request: Request, served: list[registry.EntityType]) -> None:
    for entity_type in served:
        if not entity_type.public:
            what = f"reading {entity_type.name} entities"
            security.check(policy.SIGNED_IN, security.principal(request), what)


def _answer(request: Request, document: object, headers: dict[str, str] | None = None) -> Response:
    """The document as JSON-LD with its @context, or as JSON with a ``Link`` to it."""
    context_url = str(request.url_for("ngsi_ld_context"))
    found = dict(headers or {})
    if LD_JSON in request.headers.get("accept", ""):
        if isinstance(document, list):
            document = [entity | {"@context": context_url} for entity in document]
        elif isinstance(document, dict):
            document = document | {"@context": context_url}
        media = LD_JSON
    else:
        found["Link"] = f'<{context_url}>; rel="{_CONTEXT_REL}"; type="{LD_JSON}"'
        media = _JSON
    return Response(orjson.dumps(document), media_type=media, headers=found)


def _form(entity: Entity, as_key_values: bool) -> dict[str, Any]:
    return key_values(entity) if as_key_values else normalized(entity)


@router.get(
    "/ngsi-ld/v1/entities",
    responses={**_ANSWERS, **problems(400, 401)},
)
async def query_entities(
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    type: Annotated[  # noqa: A002 - NGSI-LD's parameter name
        str | None,
        Query(description="entity types, comma-separated (terms or IRIs); required"),
    ] = None,
    id: Annotated[  # noqa: A002 - NGSI-LD's parameter name
        str | None, Query(description="entity ids (URNs), comma-separated")
    ] = None,
    limit: Annotated[
        str | None, Query(description=f"entities per page, 1..{MAX_LIMIT} (0 with count)")
    ] = None,
    offset: Annotated[str | None, Query(description="entities skipped, from 0")] = None,
    options: Annotated[
        str | None, Query(description="keyValues (or simplified), normalized (default)")
    ] = None,
    count: Annotated[
        str | None, Query(description="true: the number of matches in NGSILD-Results-Count")
    ] = None,
) -> Response:
    """Entities of the given types, ordered by id, as NGSI-LD (FIWARE Smart Data Models:
    ``OffStreetParking``, ``ParkingGroup``, ``ParkingSpot``). Types the hub does not
    serve match nothing."""
    asked = entity_query(type, id, limit, offset, options, count)
    served = registry.types_asked(asked.types)
    _check_access(request, served)
    found = await registry.read(conn, datetime.now(UTC), served, asked.ids)
    page = found[asked.offset : asked.offset + asked.limit]
    headers = {"NGSILD-Results-Count": str(len(found))} if asked.count else None
    return _answer(request, [_form(e, asked.key_values) for e in page], headers)


@router.get(
    "/ngsi-ld/v1/entities/{entityId}",
    responses={**_ANSWERS, **problems(400, 401, 404)},
)
async def one_entity(
    entityId: str,  # noqa: N803 - NGSI-LD's parameter name
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    options: Annotated[
        str | None, Query(description="keyValues (or simplified), normalized (default)")
    ] = None,
) -> Response:
    """One entity by its id (``urn:ngsi-ld:<type>:<id>``)."""
    as_key_values, _ = options_asked(options)
    if ":" not in entityId:
        raise BadRequestData(
            f"{entityId!r} is not a URI: entity ids read urn:ngsi-ld:<type>:<id>,"
            " e.g. urn:ngsi-ld:OffStreetParking:lot-centru"
        )
    parsed = parse_urn(entityId)
    served = registry.TYPES.get(parsed[0]) if parsed is not None else None
    if served is None:
        raise ResourceNotFound(f"no entity {entityId!r}; list them at /ngsi-ld/v1/entities")
    _check_access(request, [served])
    found = await registry.read(conn, datetime.now(UTC), [served], frozenset({entityId}))
    if not found:
        raise ResourceNotFound(
            f"no entity {entityId!r}; list them at /ngsi-ld/v1/entities?type={served.name}"
        )
    return _answer(request, _form(found[0], as_key_values))


@router.get(
    "/ngsi-ld/context.jsonld",
    name="ngsi_ld_context",
    responses={200: {"content": {LD_JSON: {}}}},
)
async def context() -> Response:
    """The hub's JSON-LD @context: the Smart Data Models terms its entities use, then
    NGSI-LD's core context."""
    return Response(orjson.dumps(registry.context()), media_type=LD_JSON)
