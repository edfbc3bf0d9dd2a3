"""The pydeck description of the town map: layers from the API, sensors with live values.

Static layers (zones, parcels, buildings, streets, rivers) are loaded by deck.gl from
the collections endpoints, parcels as Mapbox Vector Tiles (deck.gl's MVTLayer: only
where the map looks, sub-pixel parcels left out, decoded and triangulated in a web
worker into binary arrays, so the page stays responsive with 100,000 parcels); assets
and sensors are inlined so the page can refresh them. No basemap and no CDN: the map
works offline.

Parcels are filled by cadastral land use at every zoom; their outlines are a second
layer over the same tiles, drawn from :data:`OUTLINES_FROM_ZOOM`. Outlines of parcels a
few pixels across say nothing, and they are what a frame costs: a town's 100,000 outlines
are millions of path vertices (on software WebGL, 15 s a frame against 0.4 s for the
fills; BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pydeck as pdk

from api.maps import palette
from twin.map_points import AssetPoint, SensorPoint

ITEMS = "/collections/{layer}/items?limit=10000"
TILES = "/collections/{layer}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
OUTLINES_FROM_ZOOM = 14
"""The zoom from which parcel outlines are drawn (deck.gl switches to zoom-14 tiles at
zoom 13.5, about 5 m a pixel here: a 25 m parcel is 5 pixels across)."""
MVT_WORKER = "/map/mvt-worker.js"
"""loaders.gl's MVT worker, served by the hub: by default loaders.gl fetches it from a
CDN, which an offline map cannot reach."""

# deck.gl JSON expressions (evaluated per feature in the browser), from the colour
# tables the maps' legends are made of
ZONE_COLOUR = palette.case("properties.code", palette.ZONES, palette.ZONES[-1].colour)
LAND_USE_COLOUR = palette.case("properties.land_use", palette.LAND_USE, palette.LAND_USE[-1].colour)

TILED: dict[str, dict[str, object]] = {
    "parcels": {"filled": False, "get_line_color": [90, 90, 90, 180], "line_width_min_pixels": 0.5}
}
"""Layers drawn from vector tiles (a town's parcels run to 100,000 and more), with the
style of their outlines, a second layer drawn from :data:`OUTLINES_FROM_ZOOM`."""

# the extent at the latest level only: drawing the threshold extents at every level made
# the south of the town look flooded at 78 cm (they are a toggle of /maps/emergency)
_FLOOD_COLOUR = f"properties.level == 'current' ? {list(palette.FLOOD_NOW.colour)} : [0, 0, 0, 0]"
_FLOOD_LINE = "properties.level == 'current' ? [0, 20, 90, 255] : [0, 0, 0, 0]"

_DRONE_COLOUR = (  # the drone's surface above the gauge's (+) red, below blue, none grey
    "properties.difference_cm == null ? [150, 150, 150] :"
    " properties.difference_cm > 0 ? [220, 60, 40] : [40, 90, 220]"
)

KIND_COLOUR = {s.value: list(s.colour) for s in palette.ASSET_KINDS if s.value is not None}
OTHER_KIND = list(palette.ASSET_KINDS[-1].colour)


def collection_layers(layer: str, **style: object) -> list[pdk.Layer]:
    """A layer from its collection, or for tiled layers its fills and outlines."""
    outlines = TILED.get(layer)
    if outlines is None:
        return [
            pdk.Layer(
                "GeoJsonLayer",
                data=ITEMS.format(layer=layer),
                id=layer,
                **{"pickable": True, **style},
            )
        ]
    return [
        _tile_layer(layer, layer, 0, **{"pickable": True, **style}),
        _tile_layer(layer, f"{layer}-outlines", OUTLINES_FROM_ZOOM, **outlines),
    ]


def dots(layer_id: str, rows: Sequence[Mapping[str, Any]], **style: object) -> pdk.Layer:
    """Points of ``rows`` (each with a ``position``, and a ``colour`` unless ``style``
    gives one), outlined in white and picked by the pointer unless ``style`` says
    otherwise."""
    return pdk.Layer(
        "ScatterplotLayer",
        data=list(rows),
        id=layer_id,
        **{
            "get_position": "position",
            "get_fill_color": "colour",
            "stroked": True,
            "get_line_color": [255, 255, 255],
            "line_width_min_pixels": 1,
            "pickable": True,
            **style,
        },
    )


def _tile_layer(layer: str, layer_id: str, min_zoom: int, **style: object) -> pdk.Layer:
    """The layer's vector tiles (none requested below ``min_zoom``)."""
    return pdk.Layer(
        "MVTLayer",
        data=TILES.format(layer=layer),
        id=layer_id,
        binary=True,
        load_options={"mvt": {"workerUrl": MVT_WORKER}},
        min_zoom=min_zoom,
        max_zoom=18,  # deeper zooms reuse zoom-18 tiles
        **style,
    )


def build_deck(
    assets: Sequence[AssetPoint],
    sensors: Sequence[SensorPoint],
    centre: tuple[float, float],
    layers_present: set[str],
) -> pdk.Deck:
    """The town map: zones, parcels, the flood extent at the latest level, buildings,
    streets, rivers, assets and live sensors."""
    base: list[pdk.Layer] = []
    styles: dict[str, dict[str, object]] = {
        "zones": {"get_fill_color": ZONE_COLOUR, "stroked": False},
        "waterways": {"get_fill_color": [70, 130, 200, 160], "stroked": False},
        "parcels": {"get_fill_color": LAND_USE_COLOUR, "stroked": False},
        # the latest level's extent (the threshold extents are left undrawn)
        "flood_extents": {
            "get_fill_color": _FLOOD_COLOUR,
            "get_line_color": _FLOOD_LINE,
            "line_width_min_pixels": 1,
            "get_line_width": "properties.level == 'current' ? 6 : 1",
        },
        "buildings": {"get_fill_color": [120, 110, 100, 200], "stroked": False},
        "streets": {
            "get_line_color": [250, 250, 250, 230],
            "line_width_min_pixels": 1.5,
            "get_line_width": "properties.width_m",
        },
    }
    for layer, style in styles.items():
        if layer in layers_present:
            base.extend(collection_layers(layer, **style))
    asset_rows = [
        {
            "name": a.name,
            "asset_id": a.asset_id,
            "kind": a.kind,
            "position": [a.lon, a.lat],
            "colour": KIND_COLOUR.get(a.kind, OTHER_KIND),
        }
        for a in assets
    ]
    sensor_rows = [
        {
            "name": s.device_id,
            "kind": s.kind,
            "label": s.label,
            "position": [s.lon, s.lat],
            "colour": list(s.colour),
        }
        for s in sensors
    ]
    labelled = [row for row in sensor_rows if row["kind"] != "parking_bay"]
    live = [
        dots("assets", asset_rows, get_radius=25, radius_min_pixels=5),
        pdk.Layer(
            "ScatterplotLayer",
            data=sensor_rows,
            id="sensors",
            get_position="position",
            get_fill_color="colour",
            get_radius=2,
            radius_min_pixels=2,
            radius_max_pixels=8,
            pickable=True,
        ),
        pdk.Layer(
            "TextLayer",
            data=labelled,
            id="sensor-labels",
            get_position="position",
            get_text="label",
            get_size=13,
            get_color=[20, 20, 20],
            get_pixel_offset=[0, -16],
            background=True,
            get_background_color=[255, 255, 255, 220],
        ),
    ]
    drones = pdk.Layer(  # drones' water-surface observations against the gauge
        "GeoJsonLayer",
        data="/river/drone-observations",
        id="drone-observations",
        get_fill_color=_DRONE_COLOUR,
        get_point_radius=15,
        point_radius_min_pixels=4,
        stroked=True,
        get_line_color=[20, 20, 20],
        line_width_min_pixels=1,
        pickable=True,
    )
    return pdk.Deck(
        layers=[*base, drones, *live],
        initial_view_state=pdk.ViewState(longitude=centre[0], latitude=centre[1], zoom=12.8),
        map_provider=None,
        map_style=None,
        tooltip={
            "html": "<b>{name}</b> {cadastral_number} {code}<br/>{label}{kind}{land_use}"
            "{drone_id} {difference_cm}"
        },
    )
