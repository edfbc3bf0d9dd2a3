from __future__ import annotations

import re

import morecantile
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.app import create_app
from hub.settings import Settings
from tests.api.conftest import CENTRE


def test_map_page_loads_nothing_from_outside(small_town: str) -> None:
    with TestClient(create_app(Settings(), small_town)) as client:
        page = client.get("/map").text
        assert re.findall(r"(?:src|href)=[\"'](https?:)?//", page) == []
        bundle = client.get("/map/deckgl.js")
        assert bundle.status_code == 200 and "createDeck" in bundle.text


def test_deck_has_layers_and_live_sensor_values(small_town: str) -> None:
    with TestClient(create_app(Settings(), small_town)) as client:
        deck = client.get("/map/deck.json").json()
    ids = [layer["id"] for layer in deck["layers"]]
    assert ids == ["parcels", "drone-observations", "assets", "sensors", "sensor-labels"]
    # the drones' layer reads an endpoint of this API (empty here: no drone has flown)
    with TestClient(create_app(Settings(), small_town)) as client:
        drones = client.get(deck["layers"][1]["data"])
    assert drones.status_code == 200 and drones.json()["features"] == []
    parcels = deck["layers"][0]
    assert parcels["@@type"] == "TileLayer"
    template = parcels["data"]
    assert template == "/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}?f=geojson"
    # the template resolves to a GeoJSON tile holding the small town's parcels
    lon, lat = Transformer.from_crs("EPSG:3844", "OGC:CRS84", always_xy=True).transform(
        CENTRE[0] + 120, CENTRE[1] + 120
    )
    where = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 16)
    with TestClient(create_app(Settings(), small_town)) as client:
        tile = client.get(template.format(z=where.z, y=where.y, x=where.x))
    assert tile.headers["content-type"] == "application/geo+json"
    assert tile.json()["features"], "the parcels' tile is empty"
    sensors = {row["name"]: row for row in deck["layers"][3]["data"]}
    assert sensors["gauge-tr-magurele"]["label"] == "Danube 312 cm"
    assert sensors["lot-centru-b001"]["label"] == "occupied"
    assert sensors["lot-centru-b002"]["label"] == "free"
    assert sensors["lot-centru-counter"]["label"] == "P 1/2"
    view = deck["initialViewState"]
    assert abs(view["longitude"] - 24.87) < 0.02 and abs(view["latitude"] - 43.75) < 0.02
    assert deck.get("mapProvider") is None and deck.get("mapStyle") is None
