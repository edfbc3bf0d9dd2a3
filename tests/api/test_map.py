from __future__ import annotations

import re

import mapbox_vector_tile
import morecantile
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.app import create_app
from api.map_deck import MVT_WORKER, OUTLINES_FROM_ZOOM
from gis_layers.vector_tiles import MEDIA_TYPE
from harness.credentials import signed_in
from settings import Settings
from tests.api.conftest import CENTRE
from tests.api.lots import WGS, lots_client  # noqa: F401  (fixture)


def test_map_page_loads_nothing_from_outside(small_town: str) -> None:
    with signed_in(create_app(Settings(), small_town), small_town) as client:
        page = client.get("/map").text
        assert re.findall(r"(?:src|href)=[\"'](https?:)?//", page) == []
        bundle = client.get("/map/deckgl.js")
        assert bundle.status_code == 200 and "createDeck" in bundle.text
        worker = client.get(MVT_WORKER)
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/java")
    # the bundle fetches loaders.gl's worker of its own release from a CDN unless told
    # where it is: the served worker must be that release
    loader = re.search(r'id:"mvt",module:"mvt".*?var \w+="([\d.]+)"', bundle.text)
    assert loader, "no MVT loader in pydeck's deck.gl bundle"
    assert f'"{loader.group(1)}"' in worker.text, f"served worker is not {loader.group(1)}"


def test_deck_has_layers_and_live_sensor_values(small_town: str) -> None:
    with signed_in(create_app(Settings(), small_town), small_town) as client:
        deck = client.get("/map/deck.json").json()
    ids = [layer["id"] for layer in deck["layers"]]
    assert ids == [
        "parcels",
        "parcels-outlines",
        "drone-observations",
        "assets",
        "sensors",
        "sensor-labels",
    ]
    layers = dict(zip(ids, deck["layers"], strict=True))
    # the drones' layer reads an endpoint of this API (empty here: no drone has flown)
    with signed_in(create_app(Settings(), small_town), small_town) as client:
        drones = client.get(layers["drone-observations"]["data"])
    assert drones.status_code == 200 and drones.json()["features"] == []
    parcels, outlines = layers["parcels"], layers["parcels-outlines"]
    assert parcels["@@type"] == outlines["@@type"] == "MVTLayer" and parcels["binary"] is True
    assert parcels["loadOptions"] == {"mvt": {"workerUrl": MVT_WORKER}}
    # fills at every zoom, picked for the tooltip; outlines only where parcels are pixels
    assert parcels["minZoom"] == 0 and parcels["pickable"] and not parcels["stroked"]
    assert outlines["minZoom"] == OUTLINES_FROM_ZOOM and outlines["filled"] is False
    template = parcels["data"]
    assert outlines["data"] == template
    assert template == "/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}"
    # the template resolves to a vector tile holding the small town's parcels
    lon, lat = Transformer.from_crs("EPSG:3844", "OGC:CRS84", always_xy=True).transform(
        CENTRE[0] + 120, CENTRE[1] + 120
    )
    where = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 16)
    with signed_in(create_app(Settings(), small_town), small_town) as client:
        tile = client.get(template.format(z=where.z, y=where.y, x=where.x))
    assert tile.headers["content-type"] == MEDIA_TYPE
    assert mapbox_vector_tile.decode(tile.content)["parcels"]["features"], "empty tile"
    sensors = {row["name"]: row for row in layers["sensors"]["data"]}
    assert sensors["gauge-tr-magurele"]["label"] == "Danube 312 cm"
    assert sensors["lot-centru-b001"]["label"] == "occupied"
    assert sensors["lot-centru-b002"]["label"] == "free"
    assert sensors["lot-centru-counter"]["label"] == "P 1/2"
    view = deck["initialViewState"]
    assert abs(view["longitude"] - 24.87) < 0.02 and abs(view["latitude"] - 43.75) < 0.02
    assert deck.get("mapProvider") is None and deck.get("mapStyle") is None


def test_a_twin_without_assets_is_centred_on_its_layers(lots_client: TestClient) -> None:  # noqa: F811
    view = lots_client.get("/map/deck.json").json()["initialViewState"]
    west, south, east, north = WGS.total_bounds
    assert view["longitude"] == pytest.approx((west + east) / 2, abs=1e-5)
    assert view["latitude"] == pytest.approx((south + north) / 2, abs=1e-5)
