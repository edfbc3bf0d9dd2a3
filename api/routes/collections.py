"""GIS layers as OGC API - Features collections (Part 1 Core, GeoJSON; Part 3 Filtering).

``/collections``, ``/collections/{id}``, ``/collections/{id}/queryables``,
``/collections/{id}/items`` (GeoJSON; ``bbox``, ``datetime``, property filters, a CQL2
``filter``, ``limit``/``offset`` with ``prev`` and ``next`` links; any other parameter is
refused, as ``/req/core/query-param-unknown`` asks) and
``/collections/{id}/items/{featureId}``. Each has an HTML encoding as well (:mod:`api.html`):
the items page draws its features on a small map (:mod:`api.items_map`) over an
attribute table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

import orjson
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from starlette.datastructures import URL

from api import cpu, deps, html, rate_limits, security
from api import crs as crs_ref
from api.errors import InvalidParameter, NotFound
from api.geojson import GEOJSON, feature_collection
from api.items_map import items_map
from api.ogc import CRS84, Link, link
from api.openapi import problems
from api.params import four_numbers
from gis_layers import catalogue, cql2_filter, cql2_parse, features, queryables
from gis_layers.catalogue import Layer
from gis_layers.errors import FilterError
from gis_layers.queryables import Queryable

router = APIRouter(tags=["collections"], responses=problems(503))  # each reads the database

MAX_LIMIT = 10_000
"""The most features one page returns (``limit``): the demo town's 4,996 parcels fit in
one, and a larger page only makes one answer hold more memory at once; clients page on
with the ``next`` link."""
HTML_MAX_LIMIT = 1_000
"""The most features an items page shows (a table a person reads, its map drawn on the
event loop like the other pages under :data:`api.cpu.INLINE_ITEMS`); its links page on."""
_JSON = "application/json"
_CRS_HELP = "the CRS of the returned geometries (default CRS84): " + ", ".join(crs_ref.SUPPORTED)


class SpatialExtent(BaseModel):
    """The bounding box of a collection's features."""

    bbox: list[list[float]]
    crs: str = CRS84


class Extent(BaseModel):
    """A collection's extent (spatial only: layers carry no time)."""

    spatial: SpatialExtent


class Collection(BaseModel):
    """One layer of the catalogue, as OGC API - Features describes a collection."""

    id: str
    title: str
    itemType: str = "feature"
    crs: list[str] = crs_ref.SUPPORTED
    storageCrs: str = CRS84
    extent: Extent | None
    links: list[Link]
    geometryType: str
    """The layer's geometry type as imported (an extension of ours)."""
    sourceCrs: str
    """The CRS of the imported file (features are served in CRS84)."""
    numberOfFeatures: int


class Collections(BaseModel):
    """The layer catalogue."""

    collections: list[Collection]
    links: list[Link]


def parse_bbox(raw: str | None, bbox_crs: str = CRS84) -> shapely.Polygon | None:
    """A ``minx,miny,maxx,maxy`` bbox in ``bbox_crs`` as the CRS84 area features must meet."""
    if raw is None:
        return None
    values = four_numbers(raw)
    if bbox_crs != CRS84 and (values[0] > values[2] or values[1] > values[3]):
        raise InvalidParameter("bbox must be given as min, min, max, max")
    area = crs_ref.bbox_area(values, bbox_crs)
    minx, miny, maxx, maxy = values if bbox_crs == CRS84 else area.bounds
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidParameter("bbox must be in CRS84 (lon -180..180, lat -90..90, miny <= maxy)")
    if minx > maxx:
        raise InvalidParameter("bbox crossing the antimeridian is not supported")
    return area


_QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
_SCHEMA_JSON = "application/schema+json"


def _collection(request: Request, layer: Layer) -> Collection:
    layer_id = layer.layer_id
    return Collection(
        id=layer_id,
        title=layer.title,
        geometryType=layer.geometry_type,
        sourceCrs=layer.source_crs,
        numberOfFeatures=layer.feature_count,
        extent=Extent(spatial=SpatialExtent(bbox=[list(layer.bbox)])) if layer.bbox else None,
        links=[
            link(request.url_for("collection", collectionId=layer_id), "self", "application/json"),
            link(
                html.encoded(request.url_for("collection", collectionId=layer_id), "html"),
                "alternate",
                html.HTML,
            ),
            link(request.url_for("collection_items", collectionId=layer_id), "items", GEOJSON),
            link(
                request.url_for("collection_queryables", collectionId=layer_id),
                _QUERYABLES_REL,
                _SCHEMA_JSON,
            ),
            link(
                request.url_for(
                    "collection_queryables", collectionId=layer_id
                ).include_query_params(f="list"),
                "queryables",  # the draft's relation, which GDAL's OAPIF driver follows
                _JSON,
            ),
            link(
                request.url_for("collection_tilesets", collectionId=layer_id),
                "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                "application/json",
            ),
        ],
    )


@router.get(
    "/collections",
    response_model=Collections,
    response_model_exclude_none=True,
    responses=html.PAGE,
)
async def collections(
    request: Request, response: Response, f: html.Format = None
) -> Collections | HTMLResponse:
    """Every vector layer of the hub (live layers refreshed first if stale)."""
    pool = request.app.state.pool  # no connection held while a live layer refreshes
    await request.app.state.live_layers.fresh_all(pool)
    async with pool.connection() as conn:
        found = await catalogue.all_layers(conn)
    here = request.url_for("collections")
    listed = Collections(
        collections=[
            _collection(request, layer)
            for layer in found
            if layer.public or security.principal(request) is not None
        ],
        links=[
            link(here, "self", "application/json"),
            link(html.encoded(here, "html"), "alternate", html.HTML),
        ],
    )
    if html.wants_html(request, f):
        return html.page(
            "collections.html",
            request,
            collections=[
                {"collection": c, "html": html.encoded(_href(c, "self"), "html")}
                for c in listed.collections
            ],
            links=html.page_links(listed.links),
        )
    response.headers.update(html.VARY)
    return listed


def _href(collection: Collection, rel: str) -> str:
    return next(x.href for x in collection.links if x.rel == rel)


@router.get(
    "/collections/{collectionId}",
    response_model=Collection,
    response_model_exclude_none=True,
    responses={**html.PAGE, **problems(404)},
)
async def collection(
    request: Request,
    response: Response,
    layer: Annotated[Layer, Depends(deps.layer)],
    f: html.Format = None,
) -> Collection | HTMLResponse:
    """One layer's description."""
    described = _collection(request, layer)
    if html.wants_html(request, f):
        found = queryables.from_attributes(layer.attributes)
        return html.page(
            "collection.html",
            request,
            collection=described,
            collections=html.encoded(request.url_for("collections"), "html"),
            items=html.encoded(_href(described, "items"), "html"),
            queryables=[(q.name, q.type) for q in found.values()],
            links=html.page_links(described.links),
        )
    response.headers.update(html.VARY)
    return described


@router.get(
    "/collections/{collectionId}/queryables",
    name="collection_queryables",
    responses={200: {"content": {_SCHEMA_JSON: {}}}, **problems(404)},
)
async def collection_queryables(
    request: Request,
    layer: Annotated[Layer, Depends(deps.layer)],
    f: Annotated[
        Literal["schema", "list"],
        Query(description="schema: JSON Schema (Part 3); list: the draft's list (GDAL)"),
    ] = "schema",
) -> Response:
    """What the collection's features can be filtered on (Part 3), as a JSON Schema, or
    as the draft's ``{"queryables": [{"id": ...}]}`` list GDAL's OAPIF driver reads."""
    found = queryables.from_attributes(layer.attributes)
    if f == "list":
        listed = [{"id": q.name, "type": q.type} for q in found.values()]
        return Response(json.dumps({"queryables": listed}), media_type=_JSON)
    document = queryables.json_schema(found, str(request.url), f"{layer.title} queryables")
    return Response(json.dumps(document), media_type=_SCHEMA_JSON)


_ITEMS_PARAMETERS = frozenset(
    {
        "bbox",
        "bbox-crs",
        "crs",
        "limit",
        "offset",
        "datetime",
        "filter",
        "filter-lang",
        "filter-crs",
        "f",
    }
)


def _items_filter(
    request: Request,
    layer: dict[str, Queryable],
    expression: Any,
    filter_crs: str,
    moment: str | None,
) -> cql2_filter.CompiledFilter | None:
    """Every filtering parameter of an items request as one compiled filter, or None."""
    conditions = [
        cql2_filter.property_equals(layer[name], value)
        for name, value in request.query_params.items()
        if name in layer and name not in _ITEMS_PARAMETERS
    ]
    if moment is not None:
        temporal = queryables.temporal(layer)
        if temporal is None:
            raise FilterError(
                "this collection has no date-time property, so datetime cannot filter it"
            )
        conditions.append(cql2_filter.datetime_filter(temporal, moment))
    if expression is not None:
        conditions.append(expression)
    if not conditions:
        return None
    return cql2_filter.compile_filter(
        cql2_filter.all_of(conditions), layer, crs_ref.to_crs84(filter_crs)
    )


@router.get(
    "/collections/{collectionId}/items",
    name="collection_items",
    response_class=Response,
    responses=rate_limits.responses(
        {200: {"content": {"application/geo+json": {}, html.HTML: {}}}, **problems(404)}
    ),
)
async def items(
    request: Request,
    layer: Annotated[Layer, Depends(deps.layer)],
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in CRS84")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    crs: Annotated[str | None, Query(description=_CRS_HELP)] = None,
    bbox_crs: Annotated[
        str | None, Query(alias="bbox-crs", description="the CRS of bbox (default CRS84)")
    ] = None,
    datetime_: Annotated[
        str | None,
        Query(
            alias="datetime",
            description="an RFC 3339 date-time or interval (start/end, '..' open) on the"
            " collection's date-time property",
        ),
    ] = None,
    filter_: Annotated[
        str | None,
        Query(
            alias="filter",
            max_length=cql2_parse.MAX_FILTER_LENGTH,
            description="a CQL2 filter, e.g. zone = 'R1' AND area_m2 > 500",
        ),
    ] = None,
    filter_lang: Annotated[
        Literal["cql2-text", "cql2-json", "cql-text"],
        Query(
            alias="filter-lang",
            description="cql2-text (default) or cql2-json; cql-text, the draft's name that"
            " GDAL sends, is read as cql2-text",
        ),
    ] = "cql2-text",
    filter_crs: Annotated[
        str | None, Query(alias="filter-crs", description="the CRS of the filter's geometries")
    ] = None,
    f: html.Format = None,
) -> Response:
    """A layer's features as a GeoJSON FeatureCollection: ``bbox``, ``datetime``, any
    queryable as ``name=value``, and a CQL2 ``filter`` all apply together. Any other
    query parameter is refused (400)."""
    layer_queryables = queryables.from_attributes(layer.attributes)
    _known_parameters(request, layer, layer_queryables)
    as_page = html.wants_html(request, f)
    if as_page:
        limit = min(limit, HTML_MAX_LIMIT)
    if filter_ is not None or limit > cpu.INLINE_ITEMS:
        await rate_limits.charge(request)
    target = crs_ref.checked(crs, "crs")
    box = parse_bbox(bbox, crs_ref.checked(bbox_crs, "bbox-crs"))
    collection_id = layer.layer_id
    pool = request.app.state.pool  # no connection held while the page is computed
    expression = None
    if filter_ is not None:
        expression = await request.app.state.filter_parser.parse(filter_, filter_lang)
    compiled = _items_filter(
        request,
        layer_queryables,
        expression,
        crs_ref.checked(filter_crs, "filter-crs"),
        datetime_,
    )
    query = features.ItemsQuery(collection_id, box, compiled, limit, offset)
    found, matched = await features.page(pool, query, request.app.state.cpu, cpu.INLINE_ITEMS)
    links = [
        link(request.url, "self", GEOJSON),
        link(html.encoded(request.url, "html"), "alternate", html.HTML),
        link(request.url_for("collection", collectionId=collection_id), "collection", _JSON),
    ]
    pages: dict[str, URL] = {}
    if offset > 0:
        pages["prev"] = request.url.include_query_params(offset=max(0, offset - limit), limit=limit)
    if offset + len(found) < matched:
        pages["next"] = request.url.include_query_params(offset=offset + limit, limit=limit)
    if as_page:
        return _ItemsPage(layer, found, matched, offset, limit).render(request, links, pages)
    links += [link(target, rel, GEOJSON) for rel, target in pages.items()]
    if len(found) > cpu.INLINE_ITEMS:
        found = await cpu.run_apart(request, crs_ref.reproject_features, found, target)
    else:
        found = crs_ref.reproject_features(found, target)
    response = feature_collection(
        found,
        number_matched=matched,
        links=[x.model_dump(exclude_none=True) for x in links],
        time_stamp=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    )
    response.headers.update(crs_ref.content_crs(target))
    response.headers.update(html.VARY)
    return response


def _known_parameters(request: Request, layer: Layer, found: dict[str, Queryable]) -> None:
    """Refuse a query parameter that is neither the API's nor one of the layer's
    queryables (``/req/core/query-param-unknown``): ignored, a misspelt filter would
    answer every feature."""
    unknown = sorted(set(request.query_params) - _ITEMS_PARAMETERS - set(found))
    if unknown:
        raise InvalidParameter(
            f"unknown query parameter{'s' if len(unknown) > 1 else ''}"
            f" {', '.join(map(repr, unknown))}: items take {', '.join(sorted(_ITEMS_PARAMETERS))},"
            f" and any of the collection's queryables as name=value (see"
            f" /collections/{layer.layer_id}/queryables)"
        )


class _ItemsPage:
    """The HTML encoding of a page of items: a small map over an attribute table."""

    def __init__(
        self, layer: Layer, found: list[str], matched: int, offset: int, limit: int
    ) -> None:
        self.layer, self.found, self.matched = layer, found, matched
        self.offset, self.limit = offset, limit

    def render(self, request: Request, links: list[Link], pages: dict[str, URL]) -> Response:
        """The page; ``links`` and ``pages`` (prev, next) are the JSON answer's."""
        rows = [orjson.loads(text) for text in self.found]
        columns: dict[str, None] = {}
        for row in rows:
            columns.update(dict.fromkeys(row.get("properties") or {}))
        layer_id = self.layer.layer_id

        items_url = request.url_for("collection_items", collectionId=layer_id)

        def feature_href(feature_id: object) -> str:
            return f"{items_url}/{quote(str(feature_id), safe='')}?f=html"

        listed = html.page_links(links) + [
            link(html.encoded(target, "html"), rel, html.HTML) for rel, target in pages.items()
        ]
        return html.page(
            "items.html",
            request,
            collection=_collection(request, self.layer),
            collections=html.encoded(request.url_for("collections"), "html"),
            collection_html=html.encoded(
                request.url_for("collection", collectionId=layer_id), "html"
            ),
            rows=[{"id": r.get("id"), "properties": r.get("properties") or {}} for r in rows],
            columns=list(columns),
            drawing=items_map(self.found),
            feature_href=feature_href,
            first=self.offset + 1 if rows else self.offset,
            last=self.offset + len(rows),
            returned=len(rows),
            matched=self.matched,
            limit=self.limit,
            prev=html.encoded(pages["prev"], "html") if "prev" in pages else None,
            next=html.encoded(pages["next"], "html") if "next" in pages else None,
            links=listed,
        )


@router.get(
    "/collections/{collectionId}/items/{feature_id}",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}, html.HTML: {}}}, **problems(404)},
)
async def feature(
    feature_id: str,
    request: Request,
    layer: Annotated[Layer, Depends(deps.layer)],
    crs: Annotated[str | None, Query(description=_CRS_HELP)] = None,
    f: html.Format = None,
) -> Response:
    """One feature of a layer."""
    target = crs_ref.checked(crs, "crs")
    collection_id = layer.layer_id
    async with request.app.state.pool.connection() as conn:
        found = await features.one(conn, collection_id, feature_id)
    if found is None:
        raise NotFound(f"collection {collection_id!r} has no feature {feature_id!r}")
    links = [
        link(request.url, "self", GEOJSON),
        link(html.encoded(request.url, "html"), "alternate", html.HTML),
        link(request.url_for("collection", collectionId=collection_id), "collection", _JSON),
    ]
    if html.wants_html(request, f):
        return html.page(
            "feature.html",
            request,
            collection=_collection(request, layer),
            collections=html.encoded(request.url_for("collections"), "html"),
            collection_html=html.encoded(
                request.url_for("collection", collectionId=collection_id), "html"
            ),
            items=html.encoded(
                request.url_for("collection_items", collectionId=collection_id), "html"
            ),
            feature_id=feature_id,
            properties=json.loads(found).get("properties") or {},
            drawing=items_map([found]),
            links=html.page_links(links),
        )
    body = json.loads(crs_ref.reproject_features([found], target)[0])
    body["links"] = [x.model_dump(exclude_none=True) for x in links]
    headers = {**crs_ref.content_crs(target), **html.VARY}
    return Response(json.dumps(body), media_type=GEOJSON, headers=headers)
