"""The parking operators' map: every lot coloured by its status and free places, with
its free count written beside it; every bay by its state; the way to the nearest lot with
free places (drawn by the page from ``/parking/nearest``). Reloaded by the page whenever
the live twin says a lot changed (``/twin/stream``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pydeck as pdk
from fastapi import Request
from psycopg import AsyncConnection

from api.map_deck import dots
from api.maps import palette
from api.maps.palette import Swatch
from api.maps.view import LegendGroup, MapView, Stream, centre_of, deck, labels, town_layers
from gis_layers import picked
from parking import store
from parking.layers import BAYS_LAYER
from twin import map_points

ZOOM = 14.3
"""The town centre and its lots at once on a laptop screen."""


def lot_swatch(lot: dict[str, Any]) -> Swatch:
    """The colour of a lot's dot: its status, and open, how many places are free."""
    status = lot["status"]
    if status == "closed":
        return palette.LOT_CLOSED
    if status == "sensor_fault":
        return palette.LOT_FAULT
    if status == "unknown" or not lot.get("capacity") or lot.get("free") is None:
        return palette.LOT_UNKNOWN
    share = lot["free"] / lot["capacity"]
    if status == "full" or share < palette.FULL_BELOW:
        return palette.LOT_FULL
    return palette.LOT_FILLING if share < palette.FILLING_BELOW else palette.LOT_FREE


def lot_label(lot: dict[str, Any]) -> str:
    """What is written beside a lot: its name and free places, or why there is no count."""
    if lot["status"] == "closed":
        return f"{lot['name']} · closed"
    if lot["status"] == "sensor_fault":
        return f"{lot['name']} · sensor fault"
    if lot.get("free") is None:
        return f"{lot['name']} · no data"
    return f"{lot['name']} · {lot['free']} free"


async def lot_documents(request: Request, conn: AsyncConnection, now: datetime) -> list[dict]:
    """Every lot's live state, as ``GET /parking/lots`` answers it."""
    live = request.app.state.live_lots
    if await live.current(conn):
        documents: list[dict[str, Any]] = live.documents(now)
        return documents
    return [x.document() for x in await store.lots(conn, now)]


async def build(request: Request, conn: AsyncConnection) -> MapView:
    """The parking map now."""
    now = datetime.now(UTC)
    lots = [lot for lot in await lot_documents(request, conn, now) if lot.get("lon") is not None]
    await request.app.state.live_layers.fresh(conn, BAYS_LAYER)
    bays = await picked.features(conn, BAYS_LAYER)
    for bay in bays:
        p = bay["properties"]
        p["tooltip"] = f"bay {p.get('bay_id')}: {str(p.get('status')).replace('_', ' ')}"
    town = await town_layers(conn)
    base = [*town["buildings"], *town["waterways"], *town["streets"]]
    rows = [
        {
            "lot_id": lot["lot_id"],
            "position": [lot["lon"], lot["lat"]],
            "colour": list(lot_swatch(lot).colour),
            "tooltip": f"{lot_label(lot)} of {lot.get('capacity')}",
        }
        for lot in lots
    ]
    # the fuller a lot, the higher its label is kept where labels would overlap
    ranked = sorted(lots, key=lambda lot: (lot.get("free") is None, lot.get("free") or 0))
    lot_labels = [
        {"position": [lot["lon"], lot["lat"]], "text": lot_label(lot), "rank": rank}
        for rank, lot in enumerate(ranked)
    ]
    layers = [
        *base,
        pdk.Layer(
            "GeoJsonLayer",
            data={"type": "FeatureCollection", "features": bays},
            id="bays",
            get_fill_color=palette.case("properties.status", palette.BAYS, palette.BAYS[-1].colour),
            stroked=False,
            pickable=True,
        ),
        dots("lots", rows, get_radius=18, radius_min_pixels=8, line_width_min_pixels=2),
        pdk.Layer(
            "PathLayer",
            data=[],
            id="nearest-route",
            get_path="path",
            get_color=list(palette.ROUTE.colour),
            width_min_pixels=5,
            cap_rounded=True,
            joint_rounded=True,
        ),
        dots(
            "nearest-origin",
            [],
            get_fill_color=list(palette.ORIGIN.colour),
            get_line_color=list(palette.ROUTE.colour),
            radius_min_pixels=7,
            line_width_min_pixels=3,
            pickable=False,
        ),
        labels("lot-labels", lot_labels, size=13),
    ]
    centre = centre_of((row["position"] for row in rows), await map_points.centre(conn))
    return MapView(
        title="Parking: live occupancy",
        deck=deck(layers, centre, ZOOM),
        legend=[
            LegendGroup("Parking lots (label: free places)", ("lots",), palette.LOTS, shape="dot"),
            LegendGroup("Bays", ("bays",), palette.BAYS),
            LegendGroup(
                "Nearest lot with free places (click the map)",
                ("nearest-route", "nearest-origin"),
                (palette.ROUTE, palette.ORIGIN),
                shape="line",
            ),
            LegendGroup(
                "Town",
                tuple(layer.id for layer in base),
                (palette.BUILDINGS, palette.STREETS, palette.WATER),
            ),
        ],
        as_of=now,
        streams=[Stream("/twin/stream", "asset", "parking_lot")],
        labels=["lot-labels"],
        panel={
            "lots": [
                {
                    "lot_id": lot["lot_id"],
                    "name": lot["name"],
                    "status": lot["status"],
                    "free": lot.get("free"),
                    "capacity": lot.get("capacity"),
                    "colour": list(lot_swatch(lot).colour),
                    "flags": [f["message"] for f in lot.get("flags", [])],
                }
                for lot in sorted(lots, key=lambda lot: lot["name"])
            ],
            "faulty_bays": sum(1 for b in bays if b["properties"].get("status") == "silent"),
        },
    )
