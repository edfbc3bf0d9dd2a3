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
from api.map_deck import AssetPoint, SensorPoint, build_deck
from twin.status import sensor_status

router = APIRouter(tags=["map"])

# pydeck's own offline bundle of deck.gl, served locally so the page needs no CDN.
DECKGL_BUNDLE = Path(pydeck.__file__).parent / "nbextension" / "static" / "index.js"
# loaders.gl's MVT worker of the loaders.gl release in that bundle (see api/static/README.md)
MVT_WORKER = Path(__file__).resolve().parents[1] / "static" / "mvt-worker.js"
_SCRIPT_CACHE = {"Cache-Control": "max-age=86400"}

_SENSORS = """
SELECT d.device_id, d.kind, d.lon, d.lat, (a.properties->>'capacity')::int,
       coalesce(json_object_agg(l.quantity, l.value) FILTER (WHERE l.quantity IS NOT NULL),
                '{}'::json)
FROM devices d
LEFT JOIN latest_readings l USING (device_id)
LEFT JOIN assets a USING (asset_id)
WHERE d.lon IS NOT NULL
GROUP BY d.device_id, a.properties
"""


# the middle of the assets, or of the layers when the twin has none yet
_CENTRE = """
SELECT coalesce((min(a.lon) + max(a.lon)) / 2, (l.west + l.east) / 2),
       coalesce((min(a.lat) + max(a.lat)) / 2, (l.south + l.north) / 2)
FROM (SELECT min((bbox_crs84[1])[0]) AS west, max((bbox_crs84[0])[0]) AS east,
             min((bbox_crs84[1])[1]) AS south, max((bbox_crs84[0])[1]) AS north
      FROM layers) l
LEFT JOIN assets a ON true
GROUP BY l.west, l.east, l.south, l.north
"""


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


@router.get("/map/deck.json", response_class=Response)
async def deck_json(conn: Annotated[AsyncConnection, Depends(connection)]) -> Response:
    """The map's pydeck JSON: static layers by URL, assets and sensors with live values."""
    assets = [
        AssetPoint(*row)
        for row in await (
            await conn.execute("SELECT asset_id, name, kind, lon, lat FROM assets")
        ).fetchall()
    ]
    sensors = []
    for device_id, kind, lon, lat, capacity, latest in await (
        await conn.execute(_SENSORS)
    ).fetchall():
        label, colour = sensor_status(kind, latest, capacity)
        sensors.append(SensorPoint(device_id, kind, lon, lat, label, colour))
    layers = {r[0] for r in await (await conn.execute("SELECT layer_id FROM layers")).fetchall()}
    row = await (await conn.execute(_CENTRE)).fetchone()
    centre = (row[0], row[1]) if row and row[0] is not None else (0.0, 0.0)
    deck = build_deck(assets, sensors, centre, layers)
    return Response(deck.to_json(), media_type="application/json")
