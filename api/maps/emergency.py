"""The emergency staff's map: the Danube gauge's level against its thresholds and its
trend, the land under water at the latest level (drawn by default) and at the three
warning levels (a toggle), the parcels, buildings and municipal assets it reaches with
their depth, and the open alerts, which the page shows as a banner no one can miss and
lets the emergency role acknowledge. Reloaded by the page on every alert event
(``/river/stream``) and every new gauge reading (``/twin/stream``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import orjson
import pydeck as pdk
from fastapi import Request
from psycopg import AsyncConnection

from alerts import store
from api import security
from api.map_deck import dots
from api.maps import palette
from api.maps.view import LegendGroup, MapView, Stream, centre_of, deck, labels, town_layers
from auth.principal import Role
from gis_layers import picked
from river_monitor import levels, town_flood
from river_monitor.config import GaugeConfig
from river_monitor.town_flood import EXTENTS_LAYER, FloodUnavailable, TownFlood
from storage.database import connect
from twin import map_points

ZOOM = 13.4
TREND_HOURS = 12.0
OPEN_ALERTS = 50
"""The most open alerts the page lists (one per gauge and kind is usual)."""
BANDS = ("danger", "flood", "attention")
"""The threshold extents, drawn in this order: each lies inside the one before."""


def _answer(url: str, flood: TownFlood, gauge: GaugeConfig, level_cm: float) -> bytes:
    with connect(url, autocommit=True) as conn:
        return flood.answer(conn, gauge, level_cm)


async def flood_now(
    request: Request, conn: AsyncConnection, gauge: GaugeConfig, level_cm: float
) -> dict[str, Any] | None:
    """``GET /river/flood``'s answer at ``level_cm`` (None where the town has no terrain
    model): memoised, or made in a thread as that route makes it."""
    flood: TownFlood = request.app.state.flood
    body = flood.memoised(await town_flood.current_version(conn), gauge, level_cm)
    if body is None:
        try:
            body = await anyio.to_thread.run_sync(
                _answer, request.app.state.database_url, flood, gauge, level_cm
            )
        except FloodUnavailable:
            return None
    found: dict[str, Any] = orjson.loads(body)
    return found


def _with_depth(features: list[dict[str, Any]], depths: dict[str, float], key: str) -> list[dict]:
    for feature in features:
        p = feature["properties"]
        depth = depths.get(str(p.get(key)), 0.0)
        p["depth_m"] = depth
        p["depth"] = palette.depth_step(depth)
        p["tooltip"] = f"{p.get(key)}: {depth:.2f} m of water"
    return features


def _fc(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _features(layer_id: str, features: list[dict[str, Any]], **style: Any) -> pdk.Layer:
    """A pickable GeoJSON layer of ``features`` drawn in ``style``."""
    return pdk.Layer("GeoJsonLayer", data=_fc(features), id=layer_id, **style, pickable=True)


async def build(request: Request, conn: AsyncConnection) -> MapView:
    """The emergency map now."""
    now = datetime.now(UTC)
    config = request.app.state.river
    gauges = [await levels.gauge_state(conn, g, TREND_HOURS) for g in config.gauges]
    alerts = await store.listing(conn, config.alert_source, which="open", limit=OPEN_ALERTS)
    caller = security.principal(request)
    gauge, state = config.gauges[0], gauges[0]
    level = state["level"]
    flood = None if level is None else await flood_now(request, conn, gauge, level["cm"])
    impact = (flood or {}).get("impact", {"parcels": [], "buildings": [], "assets": []})
    parcels = _with_depth(
        await picked.features(
            conn, "parcels", "cadastral_number", [p["cadastral_number"] for p in impact["parcels"]]
        ),
        {p["cadastral_number"]: p["max_depth_m"] for p in impact["parcels"]},
        "cadastral_number",
    )
    buildings = _with_depth(
        await picked.features(
            conn, "buildings", "building_id", [b["building_id"] for b in impact["buildings"]]
        ),
        {b["building_id"]: b["max_depth_m"] for b in impact["buildings"]},
        "building_id",
    )
    wet = {a["asset_id"]: a for a in impact["assets"]}
    points = {a.asset_id: a for a in await map_points.asset_points(conn)}
    asset_rows = [
        {
            "position": [points[i].lon, points[i].lat],
            "colour": list(_depth_colour(a["depth_m"])),
            "text": f"{a['name']}: {a['depth_m']:.1f} m",
            "rank": -a["depth_m"],
            "tooltip": f"{a['name']} ({a['kind']}): {a['depth_m']:.2f} m of water",
        }
        for i, a in wet.items()
        if i in points
    ]
    bands = await picked.features(conn, EXTENTS_LAYER, "level", BANDS)
    bands.sort(key=lambda f: BANDS.index(f["properties"]["level"]))
    for band in bands:
        p = band["properties"]
        p["tooltip"] = (
            f"At the {p['level']} level ({p['level_cm']:g} cm): {p['area_m2'] / 10_000:.1f} ha,"
            f" {p['buildings']} buildings, {p['people_affected']} people"
        )
    town = await town_layers(conn)
    base = [*town["waterways"], *town["buildings"], *town["streets"]]
    extent = (flood or {}).get("features", [])
    for feature in extent:
        feature["properties"]["tooltip"] = (flood or {}).get("summary", {}).get("text", "")
    gauge_point = points.get(gauge.device_id)
    gauge_rows = (
        []
        if gauge_point is None or level is None
        else [
            {
                "position": [gauge_point.lon, gauge_point.lat],
                "text": f"Danube {level['cm']:g} cm",
                "rank": -1_000,
                "tooltip": f"{gauge.name}: {level['cm']:g} cm ({level['code']})",
            }
        ]
    )
    depth_colour = palette.case("properties.depth", palette.DEPTH, palette.DEPTH[0].colour)
    layers = [
        *town["waterways"],
        _features(
            "flood-bands",
            bands,
            get_fill_color=palette.case("properties.level", palette.FLOOD_BANDS, (0, 0, 0, 0)),
            get_line_color=[120, 60, 0, 160],
            line_width_min_pixels=1,
        ),
        _features(
            "flood-now",
            extent,
            get_fill_color=list(palette.FLOOD_NOW.colour),
            get_line_color=[0, 30, 120, 255],
            line_width_min_pixels=2,
        ),
        _features(
            "flooded-parcels",
            parcels,
            get_fill_color=[0, 0, 0, 0],
            get_line_color=depth_colour,
            line_width_min_pixels=1.5,
        ),
        *town["buildings"],
        *town["streets"],
        _features(
            "flooded-buildings",
            buildings,
            get_fill_color=depth_colour,
            stroked=True,
            get_line_color=[0, 0, 0, 200],
            line_width_min_pixels=1,
        ),
        dots(
            "flooded-assets",
            asset_rows,
            radius_min_pixels=8,
            get_line_color=[0, 0, 0],
            line_width_min_pixels=2,
        ),
        dots(
            "gauge",
            gauge_rows,
            get_fill_color=list(_gauge_colour(level)),
            radius_min_pixels=9,
            line_width_min_pixels=2,
        ),
        labels("flood-labels", [*gauge_rows, *asset_rows], size=13),
    ]
    # between the town and its gauge: the town's south and the river in one view
    middle = centre_of(((p.lon, p.lat) for p in points.values()), await map_points.centre(conn))
    centre = (
        centre_of([middle, (gauge_point.lon, gauge_point.lat)], middle) if gauge_point else middle
    )
    can_acknowledge = caller is not None and caller.has_any({Role.EMERGENCY})
    return MapView(
        title="Emergency: the Danube",
        deck=deck(layers, centre, ZOOM),
        legend=[
            LegendGroup("Flood extent now", ("flood-now",), (palette.FLOOD_NOW,)),
            LegendGroup(
                "Extents at the warning levels",
                ("flood-bands",),
                palette.FLOOD_BANDS,
                visible=False,
            ),
            LegendGroup(
                "Affected buildings (fill) and parcels (outline), by depth",
                ("flooded-buildings", "flooded-parcels"),
                palette.DEPTH,
            ),
            LegendGroup(
                "Affected municipal assets, by depth",
                ("flooded-assets",),
                palette.DEPTH,
                shape="dot",
            ),
            LegendGroup("Danube gauge (colour: warning code)", ("gauge",), _GAUGE, shape="dot"),
            LegendGroup(
                "Town",
                tuple(layer.id for layer in base),
                (palette.BUILDINGS, palette.STREETS, palette.WATER),
            ),
        ],
        as_of=datetime.fromisoformat(level["time"]) if level else now,
        streams=[
            Stream("/river/stream", "alert"),
            Stream("/twin/stream", "asset", "river_gauge"),
        ],
        labels=["flood-labels"],
        panel={
            "gauges": gauges,
            "alerts": alerts,
            "can_acknowledge": can_acknowledge,
            "flood": None
            if flood is None
            else {
                "level_cm": flood["level_cm"],
                "code": flood["code"],
                "summary": flood["summary"],
                "assets": impact["assets"][:20],
            },
        },
    )


_GAUGE = (
    palette.Swatch("Below the attention level", (0, 90, 180)),
    palette.Swatch("Attention level (yellow code)", (240, 200, 0)),
    palette.Swatch("Flood level (orange code)", (245, 130, 0)),
    palette.Swatch("Danger level (red code)", (220, 0, 0)),
)
_CODES = {"none": 0, "yellow": 1, "orange": 2, "red": 3}


def _gauge_colour(level: dict[str, Any] | None) -> palette.Colour:
    return _GAUGE[_CODES.get((level or {}).get("code", "none"), 0)].colour


def _depth_colour(depth_m: float) -> palette.Colour:
    step = palette.depth_step(depth_m)
    return next(s.colour for s in palette.DEPTH if s.value == step)
