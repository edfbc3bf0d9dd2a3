"""What every map under ``/maps/`` is made of, and what its page is sent.

A map is a pydeck deck (its layers, each with an id) and a legend: groups of layers, each
group a toggle on the page with the colours it draws, on or off when the page opens. The
page (``api/templates/maps.html`` with ``api/static/maps/hub-map.js``, shared by every
map) draws the legend and the toggles, says when the data is from in Europe/Bucharest
time, keeps labels from piling up and reloads the description when one of the map's
server-sent event streams says something changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import pydeck as pdk
from psycopg import AsyncConnection

from api.map_deck import collection_layers
from api.maps import palette
from api.maps.palette import Colour, Swatch
from gis_layers import catalogue


@dataclass(frozen=True)
class LegendGroup:
    """A toggle of the page: the layers it shows or hides, and the colours they draw."""

    title: str
    layers: tuple[str, ...]
    swatches: tuple[Swatch, ...]
    visible: bool = True
    shape: str = "area"
    """How the swatches are drawn: ``area``, ``dot`` or ``line``."""

    def document(self) -> dict[str, Any]:
        """As the page reads it (a colour listed once however many values it paints)."""
        seen: set[tuple[str, Colour]] = set()
        items = []
        for swatch in self.swatches:
            if (swatch.label, swatch.colour) in seen:
                continue
            seen.add((swatch.label, swatch.colour))
            items.append({"label": swatch.label, "colour": list(swatch.colour)})
        return {
            "title": self.title,
            "layers": list(self.layers),
            "items": items,
            "visible": self.visible,
            "shape": self.shape,
        }


@dataclass(frozen=True)
class Stream:
    """A server-sent event stream the page listens to: its ``event`` events (of assets
    of ``kind`` only, if given) make it reload the map's data."""

    url: str
    event: str
    kind: str | None = None

    def document(self) -> dict[str, str | None]:
        """As the page reads it."""
        return {"url": self.url, "event": self.event, "kind": self.kind}


@dataclass(frozen=True)
class MapView:
    """A map as its page is sent it."""

    title: str
    deck: pdk.Deck
    legend: Sequence[LegendGroup]
    as_of: datetime
    """When its data is from (now, or the moment replayed)."""
    streams: Sequence[Stream] = ()
    """Server-sent event streams whose events mean the map's data changed."""
    labels: Sequence[str] = ()
    """Text layers whose labels are thinned out where they would overlap."""
    panel: dict[str, Any] = field(default_factory=dict)
    """The map's own figures for its side panel (lots, the gauge, alerts, ...)."""

    def document(self) -> bytes:
        """The page's JSON: the deck, every layer hidden that its group hides."""
        deck = orjson.loads(self.deck.to_json())
        hidden = {layer for g in self.legend if not g.visible for layer in g.layers}
        for layer in deck["layers"]:
            if layer["id"] in hidden:
                layer["visible"] = False
        missing = {layer["id"] for layer in deck["layers"]} - {
            layer for g in self.legend for layer in g.layers
        }
        if missing - set(self.labels):  # every layer drawn has its line in the legend
            raise ValueError(f"layers without a legend: {sorted(missing - set(self.labels))}")
        return orjson.dumps(
            {
                "title": self.title,
                "deck": deck,
                "legend": [g.document() for g in self.legend],
                "as_of": self.as_of.isoformat(),
                "streams": [s.document() for s in self.streams],
                "labels": list(self.labels),
                "panel": self.panel,
            }
        )


def labels(layer_id: str, rows: Iterable[dict[str, Any]], size: int = 12) -> pdk.Layer:
    """Text labels (rows with ``position``, ``text`` and ``rank``: the page keeps the
    lowest ranks where labels would overlap)."""
    return pdk.Layer(
        "TextLayer",
        data=list(rows),
        id=layer_id,
        get_position="position",
        get_text="text",
        get_size=size,
        get_color=[20, 20, 20],
        get_pixel_offset=[0, -16],
        background=True,
        get_background_color=[255, 255, 255, 225],
        background_padding=[3, 1],
    )


def centre_of(
    points: Iterable[Sequence[float]], fallback: tuple[float, float]
) -> tuple[float, float]:
    """The mean of (lon, lat) points: where a map's view is centred (``fallback`` if
    there are none)."""
    held = [(float(p[0]), float(p[1])) for p in points]
    if not held:
        return fallback
    return (sum(p[0] for p in held) / len(held), sum(p[1] for p in held) / len(held))


def deck(layers: Sequence[pdk.Layer], centre: tuple[float, float], zoom: float) -> pdk.Deck:
    """The deck of a map: no basemap (offline), the view on ``centre``."""
    return pdk.Deck(
        layers=list(layers),
        initial_view_state=pdk.ViewState(longitude=centre[0], latitude=centre[1], zoom=zoom),
        map_provider=None,
        map_style=None,
        tooltip={"html": "{tooltip}"},
    )


TOWN = {
    "waterways": {"get_fill_color": list(palette.WATER.colour), "stroked": False},
    "buildings": {"get_fill_color": list(palette.BUILDINGS.colour), "stroked": False},
    "streets": {
        "get_line_color": list(palette.STREETS.colour),
        "line_width_min_pixels": 1.5,
        "get_line_width": "properties.width_m",
    },
}
"""The town under every map, as the legend's *Town* group explains it."""


async def town_layers(conn: AsyncConnection) -> dict[str, list[pdk.Layer]]:
    """The layers of :data:`TOWN` this hub has imported, by layer id (none for a layer
    it lacks), drawn from their collections and not picked by the pointer."""
    present = {layer.layer_id for layer in await catalogue.all_layers(conn)}
    return {
        layer: collection_layers(layer, pickable=False, **style) if layer in present else []
        for layer, style in TOWN.items()
    }
