"""OGC API - Tiles: every vector layer as Mapbox Vector Tiles in WebMercatorQuad.

``/tileMatrixSets`` and ``/tileMatrixSets/WebMercatorQuad`` describe the tiling scheme
(the OGC Two Dimensional Tile Matrix Set document, from morecantile);
``/collections/{id}/tiles`` lists a layer's tileset, ``.../tiles/WebMercatorQuad`` is
its metadata with the tile URI template, and
``.../tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`` is a tile. QGIS opens
the template as a vector tile layer; pydeck's MVTLayer reads the same URLs.

A tile carries an ``ETag`` and ``Cache-Control``, and a client that sends its tag back
in ``If-None-Match`` gets ``304 Not Modified`` (:mod:`api.etags`): a map panned back and
forth asks again without the tile being sent again.
"""

from __future__ import annotations

import gzip
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from psycopg import AsyncConnection

from api import deps, etags, rate_limits, security
from api.deps import connection
from api.geojson import GEOJSON
from api.ogc import CollectionId, link
from api.openapi import problems
from gis_layers import catalogue, vector_tiles
from gis_layers.catalogue import Layer
from gis_layers.errors import LayerNotFound

router = APIRouter(tags=["tiles"])

_JSON = "application/json"
_TMS_REL = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
_TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
TILE_MAX_AGE_S = 60
"""How long a client may reuse a tile of an imported layer without asking: panning back
over the map costs no request, and a re-import shows within a minute. A tile of a live
layer (parking occupancy, refreshed every few seconds) is asked for again each time,
and answered 304 while it is the same."""


@router.get("/tileMatrixSets")
async def tile_matrix_sets(request: Request) -> dict[str, object]:
    """The tiling schemes tiles are served in."""
    href = request.url_for("tile_matrix_set", tile_matrix_set_id=vector_tiles.TILE_MATRIX_SET)
    return {
        "tileMatrixSets": [
            {
                "id": vector_tiles.TILE_MATRIX_SET,
                "title": "Google Maps Compatible for the World",
                "uri": _TMS_URI,
                "links": [link(href, "self", _JSON).model_dump(exclude_none=True)],
            }
        ]
    }


@router.get("/tileMatrixSets/{tile_matrix_set_id}", name="tile_matrix_set", responses=problems(404))
async def tile_matrix_set(tile_matrix_set_id: str) -> Response:
    """The tiling scheme's definition (OGC 2D Tile Matrix Set 2.0)."""
    _known(tile_matrix_set_id)
    return Response(vector_tiles.TMS.model_dump_json(exclude_none=True), media_type=_JSON)


def _known(tile_matrix_set_id: str) -> None:
    if tile_matrix_set_id != vector_tiles.TILE_MATRIX_SET:
        raise LayerNotFound(
            f"no tile matrix set {tile_matrix_set_id!r}; tiles are served in"
            f" {vector_tiles.TILE_MATRIX_SET}"
        )


def _tileset(request: Request, layer: Layer) -> dict:
    collection_id, title, geometry_type = layer.layer_id, layer.title, layer.geometry_type
    metadata = request.url_for(
        "collection_tileset",
        collectionId=collection_id,
        tile_matrix_set_id=vector_tiles.TILE_MATRIX_SET,
    )
    template = f"{metadata}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
    return {
        "title": f"{title} (vector tiles)",
        "dataType": "vector",
        "crs": _MERCATOR,
        "tileMatrixSetURI": _TMS_URI,
        "layers": [
            {
                "id": collection_id,
                "dataType": "vector",
                "geometryDimension": 2 if "Polygon" in geometry_type else None,
                "minTileMatrix": "0",
                "maxTileMatrix": str(vector_tiles.MAX_ZOOM),
            }
        ],
        "links": [
            x.model_dump(exclude_none=True)
            for x in (
                link(metadata, "self", _JSON),
                link(
                    request.url_for(
                        "tile_matrix_set", tile_matrix_set_id=vector_tiles.TILE_MATRIX_SET
                    ),
                    _TMS_REL,
                    _JSON,
                ),
                link(template, "item", vector_tiles.MEDIA_TYPE, "Mapbox Vector Tile", True),
                link(f"{template}?f=geojson", "item", GEOJSON, "GeoJSON tile", True),
                link(
                    request.url_for("collection", collectionId=collection_id), "collection", _JSON
                ),
            )
        ],
    }


@router.get(
    "/collections/{collectionId}/tiles", name="collection_tilesets", responses=problems(404, 503)
)
async def collection_tilesets(
    request: Request, layer: Annotated[Layer, Depends(deps.layer)]
) -> dict[str, object]:
    """The layer's tilesets: one, vector, in WebMercatorQuad."""
    return {
        "tilesets": [_tileset(request, layer)],
        "links": [link(request.url, "self", _JSON).model_dump(exclude_none=True)],
    }


@router.get(
    "/collections/{collectionId}/tiles/{tile_matrix_set_id}",
    name="collection_tileset",
    responses=problems(404, 503),
)
async def collection_tileset(
    tile_matrix_set_id: str,
    request: Request,
    layer: Annotated[Layer, Depends(deps.layer)],
) -> dict[str, object]:
    """The tileset's metadata, with the tile URI template."""
    _known(tile_matrix_set_id)
    return _tileset(request, layer)


@router.get(
    "/collections/{collectionId}/tiles/{tile_matrix_set_id}/{tile_matrix}/{tile_row}/{tile_col}",
    response_class=Response,
    responses=rate_limits.responses(
        {
            200: {"content": {vector_tiles.MEDIA_TYPE: {}}},
            **etags.NOT_MODIFIED,
            **problems(404, 503),
        }
    ),
)
async def collection_tile(
    collection_id: CollectionId,
    tile_matrix_set_id: str,
    request: Request,
    tile_matrix: Annotated[int, Path(description="zoom level")],
    tile_row: Annotated[int, Path(description="y, from the top")],
    tile_col: Annotated[int, Path(description="x, from the left")],
    conn: Annotated[AsyncConnection, Depends(connection)],
    f: Annotated[Literal["mvt", "geojson"], Query(description="mvt (default) or geojson")] = "mvt",
    accept_encoding: Annotated[str, Header()] = "",
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """One tile of the layer (an MVT with no features has an empty body), gzip-encoded
    for clients that accept it; 304 where ``If-None-Match`` names its ETag. A tile not
    cached yet is a heavy request."""
    _known(tile_matrix_set_id)
    await request.app.state.live_layers.fresh(conn, collection_id)
    if security.principal(request) is None:  # anonymous callers see public layers only
        deps.readable(await catalogue.layer(conn, collection_id), request)
    body = await vector_tiles.tile(
        conn, collection_id, tile_matrix, tile_col, tile_row, f, lambda: rate_limits.charge(request)
    )
    anonymous = security.principal(request) is None  # then the layer is public
    reuse = "no-cache" if collection_id in request.app.state.live_layers else None
    headers = {
        "Vary": "Accept-Encoding",
        "ETag": etags.etag(body),
        "Cache-Control": f"{'public' if anonymous else 'private'}, "
        + (reuse or f"max-age={TILE_MAX_AGE_S}"),
    }
    if etags.matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if body and "gzip" in accept_encoding.lower():
        headers["Content-Encoding"] = "gzip"
    elif body:
        body = gzip.decompress(body)
    return Response(body, media_type=vector_tiles.ENCODINGS[f], headers=headers)
