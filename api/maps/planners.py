"""The planners' map: parcels by cadastral land use, urbanism zones (PUG), buildings,
streets, municipal assets with their state, sensors, parking pressure and the air-quality
index by zone, and each asset's emissions this year; at a moment of the past too: every
figure that changes with time (assets' states, parking pressure, air quality) comes from
the twin's snapshot at that moment (what ``/twin/snapshot?at=`` answers)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from math import sqrt
from typing import Any

import anyio.to_thread
import orjson
import pydeck as pdk
from fastapi import Request
from psycopg import AsyncConnection

from api import rate_limits
from api.errors import InvalidParameter
from api.map_deck import (
    KIND_COLOUR,
    LAND_USE_COLOUR,
    OTHER_KIND,
    ZONE_COLOUR,
    collection_layers,
    dots,
)
from api.maps import palette
from api.maps.view import LegendGroup, MapView, Stream, centre_of, deck, labels, town_layers
from carbon.layer import LAYER as CARBON_LAYER
from gis_layers import catalogue, picked
from twin import map_points, state
from twin.live import compact
from twin.status import eaqi_level

ZOOM = 13.2
REPLAY_DAYS = 7
"""How far back the page's time control reaches."""
CARBON_M_PER_SQRT_T = 12.0
"""A carbon circle's radius in metres per square root of a tonne: areas ∝ tonnes, and
the town hall's hundreds of tonnes stay a few hundred metres across."""
SENSOR = palette.Swatch("Sensor", (40, 40, 40, 200))


async def snapshot(request: Request, conn: AsyncConnection, at: datetime | None) -> list[dict]:
    """Every asset's state now or at ``at``, as ``GET /twin/snapshot`` answers it."""
    live = request.app.state.live_twin
    if not live.ready.is_set():
        return [compact(a) for a in await state.assets(conn, at=at)]
    if at is None:
        found: list[dict[str, Any]] = orjson.loads(live.snapshot())
        return found
    values = await state.values_at(request.app.state.pool, at)
    return list(orjson.loads(await anyio.to_thread.run_sync(live.snapshot, values)))


def zone_figures(assets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per zone code: parking pressure (occupied share of the lots' places) and the
    worst air-quality band of its stations, from the assets' states."""
    places: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    air: dict[str, int] = {}
    for asset in assets:
        zone, status = asset.get("zone"), asset.get("status") or {}
        if zone is None:
            continue
        if asset["kind"] == "parking_lot" and status.get("capacity") and "occupied" in status:
            if status["occupied"] is not None:
                places[zone][0] += status["occupied"]
                places[zone][1] += status["capacity"]
        if asset["kind"] == "air_quality_station":
            levels = [eaqi_level(v) for v in asset["values"].values()]
            worst = max((band for band in levels if band is not None), default=None)
            if worst is not None:
                air[zone] = max(air.get(zone, 0), worst)
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for zone, (occupied, capacity) in places.items():
        out[zone]["occupancy"] = occupied / capacity
        out[zone]["pressure"] = palette.pressure_step(occupied / capacity)
    for zone, band in air.items():
        out[zone]["air"] = palette.AIR[band].value
    return out


def _zone_tooltip(p: dict[str, Any]) -> str:
    text = f"{p.get('code')}: {p.get('name')}"
    if p.get("occupancy") is not None:
        text += f" · parking {p['occupancy']:.0%} occupied"
    if p.get("air"):
        text += f" · air quality {p['air']}"
    return text


def replay_moment(at: datetime | None, now: datetime) -> datetime | None:
    """``at`` if the time control may show it (within :data:`REPLAY_DAYS`, not ahead)."""
    if at is None:
        return None
    if at > now:
        raise InvalidParameter(f"at {at.isoformat()} is in the future")
    if at < now - timedelta(days=REPLAY_DAYS):
        raise InvalidParameter(f"the map replays the last {REPLAY_DAYS} days; at is earlier")
    return at


async def build(request: Request, conn: AsyncConnection, at: datetime | None) -> MapView:
    """The planners' map now, or at ``at`` (the last :data:`REPLAY_DAYS` days)."""
    now = datetime.now(UTC)
    at = replay_moment(at, now)
    if at is not None:
        await rate_limits.charge(request)  # a past moment is a heavy request
    assets = await snapshot(request, conn, at)
    figures = zone_figures(assets)
    zones = await picked.features(conn, "zones")
    for zone in zones:
        p = zone["properties"]
        p.update(figures.get(p.get("code"), {}))
        p["tooltip"] = _zone_tooltip(p)
    await request.app.state.live_layers.fresh(conn, CARBON_LAYER)
    carbon = [
        {
            "position": f["geometry"]["coordinates"],
            "radius": CARBON_M_PER_SQRT_T * sqrt(max(f["properties"]["t_co2e"], 0.0)),
            "tooltip": f"{f['properties']['name']}: {f['properties']['t_co2e']:.1f} t CO2e"
            f" in {f['properties']['year']} to date",
        }
        for f in await picked.features(conn, CARBON_LAYER)
        if f["properties"].get("t_co2e")
    ]
    present = {layer.layer_id for layer in await catalogue.all_layers(conn)}
    names = {a.asset_id: a.name for a in await map_points.asset_points(conn)}
    asset_rows = [
        {
            "position": [a["lon"], a["lat"]],
            "colour": KIND_COLOUR.get(a["kind"], OTHER_KIND),
            "tooltip": f"{names.get(a['asset_id'], a['asset_id'])}:"
            f" {(a.get('status') or {}).get('label', '')}",
        }
        for a in assets
        if a.get("lon") is not None
    ]
    # states worth reading on the map: the gauge, the air, the lots (not "no data")
    asset_labels = [
        {
            "position": [a["lon"], a["lat"]],
            "text": a["status"]["label"],
            "rank": 0 if a["kind"] == "river_gauge" else 1,
        }
        for a in assets
        if a.get("lon") is not None
        and (a.get("status") or {}).get("label")
        and a["status"]["label"] != "no data"
    ]
    zone_layer = {"type": "FeatureCollection", "features": zones}

    def zones_by(layer_id: str, prop: str, swatches: tuple[palette.Swatch, ...]) -> pdk.Layer:
        return pdk.Layer(
            "GeoJsonLayer",
            data=zone_layer,
            id=layer_id,
            get_fill_color=palette.case(f"properties.{prop}", swatches, swatches[-1].colour),
            get_line_color=[80, 80, 80, 200],
            line_width_min_pixels=1,
            pickable=True,
        )

    parcels = collection_layers("parcels", get_fill_color=LAND_USE_COLOUR, stroked=False)
    parcels = parcels if "parcels" in present else []
    by_layer = await town_layers(conn)
    sensor_style = {"get_fill_color": list(SENSOR.colour), "point_radius_min_pixels": 1.5}
    by_layer["sensors"] = (
        collection_layers("sensors", pickable=False, **sensor_style) if "sensors" in present else []
    )
    layers = [
        *parcels,
        pdk.Layer(
            "GeoJsonLayer",
            data=zone_layer,
            id="zones",
            get_fill_color=ZONE_COLOUR,
            get_line_color=[90, 60, 40, 220],
            line_width_min_pixels=1.5,
            pickable=True,
        ),
        zones_by("zone-parking", "pressure", palette.PRESSURE),
        zones_by("zone-air", "air", palette.AIR),
        *by_layer.get("waterways", []),
        *by_layer.get("buildings", []),
        *by_layer.get("streets", []),
        *by_layer.get("sensors", []),
        dots(
            "carbon",
            carbon,
            get_radius="radius",
            get_fill_color=list(palette.CARBON.colour),
            get_line_color=[60, 30, 10, 220],
        ),
        dots("assets", asset_rows, get_radius=25, radius_min_pixels=6, line_width_min_pixels=1.5),
        labels("asset-labels", asset_labels),
    ]
    town = [layer.id for layer in (*by_layer.get("waterways", []), *by_layer.get("streets", []))]
    return MapView(
        title="Planners: the town's layers" + ("" if at is None else " (replay)"),
        deck=deck(
            layers,
            centre_of((row["position"] for row in asset_rows), await map_points.centre(conn)),
            ZOOM,
        ),
        legend=[
            LegendGroup("Parcels by land use", tuple(p.id for p in parcels), palette.LAND_USE),
            LegendGroup("Urbanism zones (PUG)", ("zones",), palette.ZONES),
            LegendGroup(
                "Parking pressure by zone", ("zone-parking",), palette.PRESSURE, visible=False
            ),
            LegendGroup(
                "Air-quality index by zone (EAQI)", ("zone-air",), palette.AIR, visible=False
            ),
            LegendGroup(
                "Buildings",
                tuple(layer.id for layer in by_layer.get("buildings", [])),
                (palette.BUILDINGS,),
            ),
            LegendGroup(
                "Municipal assets (label: their state)",
                ("assets",),
                palette.ASSET_KINDS,
                shape="dot",
            ),
            LegendGroup(
                "Sensors",
                tuple(layer.id for layer in by_layer.get("sensors", [])),
                (SENSOR,),
                shape="dot",
            ),
            LegendGroup("Carbon by asset (this year)", ("carbon",), (palette.CARBON,), shape="dot"),
            LegendGroup("Town", tuple(town), (palette.STREETS, palette.WATER)),
        ],
        as_of=at or now,
        streams=[] if at is not None else [Stream("/twin/stream", "asset")],
        labels=["asset-labels"],
        panel={
            "replay": {
                "earliest": (now - timedelta(days=REPLAY_DAYS)).isoformat(),
                "latest": now.isoformat(),
                "at": None if at is None else at.isoformat(),
            }
        },
    )
