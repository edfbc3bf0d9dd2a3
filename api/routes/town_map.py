"""The town map page (pydeck, offline) and the deck description it refreshes."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import pydeck
from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, HTMLResponse, Response
from psycopg import AsyncConnection

from api.deps import connection
from api.map_deck import MVT_WORKER as MVT_WORKER_URL
from api.map_deck import build_deck
from api.openapi import problems
from gis_layers import catalogue
from twin import map_points

router = APIRouter(tags=["map"])

# pydeck's own offline bundle of deck.gl, served locally so the page needs no CDN.
DECKGL_BUNDLE = Path(pydeck.__file__).parent / "nbextension" / "static" / "index.js"
# loaders.gl's MVT worker of the loaders.gl release in that bundle (see api/static/README.md)
MVT_WORKER = Path(__file__).resolve().parents[1] / "static" / "mvt-worker.js"
_SCRIPT_CACHE = {"Cache-Control": "max-age=86400"}


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
async def map_page() -> HTMLResponse:
    """The live town map."""
    page = resources.files("api").joinpath("templates", "map.html").read_text(encoding="utf-8")
    return HTMLResponse(page)


@router.get("/map/deckgl.js", include_in_schema=False)
async def deckgl_bundle() -> FileResponse:
    """The deck.gl bundle shipped with pydeck."""
    return FileResponse(DECKGL_BUNDLE, media_type="text/javascript", headers=_SCRIPT_CACHE)


@router.get(MVT_WORKER_URL, include_in_schema=False)
async def mvt_worker() -> FileResponse:
    """The web worker that decodes the parcels' vector tiles."""
    return FileResponse(MVT_WORKER, media_type="text/javascript", headers=_SCRIPT_CACHE)


@router.get("/map/deck.json", response_class=Response, responses=problems(503))
async def deck_json(conn: Annotated[AsyncConnection, Depends(connection)]) -> Response:
    """The map's pydeck JSON: static layers by URL, assets and sensors with live values."""
    assets = await map_points.asset_points(conn)
    sensors = await map_points.sensor_points(conn)
    layers = {layer.layer_id for layer in await catalogue.all_layers(conn)}
    centre = await map_points.centre(conn)
    deck = build_deck(assets, sensors, centre, layers)
    return Response(deck.to_json(), media_type="application/json")
