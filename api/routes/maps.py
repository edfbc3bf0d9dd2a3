"""A map for each user group under ``/maps/``: planners, parking, emergency.

Each is one page (``api/templates/maps.html``, the same for all), its description
(``/maps/{map_name}/deck.json``: a pydeck deck with its legend, built by
:mod:`api.maps`) and the page's scripts: ``hub-map.js``, shared by every map (legend,
toggles, time of the data in Europe/Bucharest, labels, live updates), and the map's own.
Offline: deck.gl comes from pydeck's bundle (``/map/deckgl.js``), nothing from a CDN.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from psycopg import AsyncConnection

from api.deps import connection
from api.errors import InvalidParameter
from api.maps import emergency, parking, planners
from api.maps.view import MapView
from api.openapi import problems
from api.params import UtcDateTime

router = APIRouter(tags=["map"])

MapName = Literal["planners", "parking", "emergency"]
TITLES: dict[str, str] = {
    "planners": "Planners' map",
    "parking": "Parking map",
    "emergency": "Emergency map",
}
SCRIPTS = Path(__file__).resolve().parents[1] / "static" / "maps"
_SCRIPT_CACHE = {"Cache-Control": "max-age=300"}

BUILDERS: dict[str, Callable[[Request, AsyncConnection], Awaitable[MapView]]] = {
    "parking": parking.build,
    "emergency": emergency.build,
}


@router.get("/maps/{map_name}", response_class=HTMLResponse, include_in_schema=False)
async def map_page(map_name: MapName) -> HTMLResponse:
    """The map's page."""
    page = resources.files("api").joinpath("templates", "maps.html").read_text(encoding="utf-8")
    page = page.replace("{{title}}", escape(TITLES[map_name])).replace("{{name}}", map_name)
    return HTMLResponse(page)


@router.get("/maps/scripts/{script}.js", include_in_schema=False)
async def map_script(script: Literal["hub-map", "planners", "parking", "emergency"]) -> Response:
    """A script of the maps' pages."""
    return FileResponse(
        SCRIPTS / f"{script}.js", media_type="text/javascript", headers=_SCRIPT_CACHE
    )


@router.get("/maps/{map_name}/deck.json", response_class=Response, responses=problems(400, 503))
async def map_description(
    map_name: MapName,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    at: Annotated[
        UtcDateTime | None,
        Query(description="planners: the moment to show (the last 7 days); default: now"),
    ] = None,
) -> Response:
    """The map's pydeck JSON, its legend (every layer and colour, and which are shown
    when the page opens), the time of its data, the event streams that update it and
    the figures of its side panel."""
    if map_name == "planners":
        view = await planners.build(request, conn, at)
    elif at is not None:
        raise InvalidParameter("only the planners' map replays the past (at)")
    else:
        view = await BUILDERS[map_name](request, conn)
    return Response(view.document(), media_type="application/json")
