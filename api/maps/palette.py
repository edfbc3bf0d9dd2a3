"""The maps' colours: one table per thing coloured, from which both the deck.gl
expression that paints it and the legend that explains it are made, so that a colour on
a map cannot go without its line in the legend (nor the legend say another colour)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from air.bands import COLOURS as AIR_COLOURS
from air.bands import LEVELS as AIR_LEVELS

Colour = tuple[int, ...]
"""RGB or RGBA, 0-255."""


@dataclass(frozen=True)
class Swatch:
    """One colour of a layer and what it means (``value``: the property's value it
    paints, None for the layer's single colour or its fallback)."""

    label: str
    colour: Colour
    value: str | None = None


def case(prop: str, swatches: Sequence[Swatch], default: Colour) -> str:
    """A deck.gl JSON expression giving each feature the colour of its ``prop`` value
    (``prop`` as a dotted path, e.g. ``properties.code``), ``default`` otherwise."""
    parts = [f"{prop} == '{s.value}' ? {list(s.colour)} :" for s in swatches if s.value is not None]
    return " ".join([*parts, str(list(default))])


# Urbanism zones (PUG territorial units), as the town map draws them
ZONES = (
    Swatch("Central zone (C)", (230, 120, 60, 90), "C"),
    Swatch("Public institutions (IS)", (200, 80, 160, 90), "IS"),
    Swatch("Green spaces (V)", (80, 170, 80, 90), "V"),
    Swatch("Industry (I)", (140, 110, 200, 90), "I"),
    Swatch("Agriculture in town (A)", (210, 200, 120, 60), "A"),
    Swatch("Housing and other zones", (240, 200, 120, 70)),
)

# Romanian cadastral land-use categories (categorii de folosință)
LAND_USE = (
    Swatch("Arable (A)", (236, 214, 140, 110), "A"),
    Swatch("Pasture, hay (P, F)", (170, 205, 120, 110), "P"),
    Swatch("Pasture, hay (P, F)", (170, 205, 120, 110), "F"),
    Swatch("Vineyards (V)", (170, 120, 170, 110), "V"),
    Swatch("Orchards (L)", (120, 170, 90, 110), "L"),
    Swatch("Forest (PD)", (60, 130, 70, 120), "PD"),
    Swatch("Yards, buildings (CC)", (215, 185, 175, 110), "CC"),
    Swatch("Roads (DR)", (200, 200, 200, 110), "DR"),
    Swatch("Water (HR)", (120, 170, 220, 110), "HR"),
    Swatch("Other", (255, 255, 255, 40)),
)

ASSET_KINDS = (
    Swatch("Hospital", (220, 30, 30), "hospital"),
    Swatch("High school", (30, 90, 200), "high_school"),
    Swatch("School", (30, 120, 220), "school"),
    Swatch("Kindergarten", (60, 160, 230), "kindergarten"),
    Swatch("Town hall", (120, 40, 160), "town_hall"),
    Swatch("Parking lot", (60, 60, 60), "parking_lot"),
    Swatch("Danube gauge", (0, 90, 180), "river_gauge"),
    Swatch("Air-quality station", (20, 150, 100), "air_quality_station"),
    Swatch("Other asset", (90, 90, 90)),
)

BUILDINGS = Swatch("Building", (120, 110, 100, 200))
STREETS = Swatch("Street", (250, 250, 250, 230))
WATER = Swatch("Danube, Olt", (70, 130, 200, 160))

# parking: a lot's dot by its status and, open, by its share of free places
LOT_FREE = Swatch("Open, 30 % or more free", (40, 170, 60))
LOT_FILLING = Swatch("Open, under 30 % free", (240, 170, 0))
LOT_FULL = Swatch("Full, or under 5 % free", (220, 40, 40))
LOT_CLOSED = Swatch("Closed by an operator", (30, 30, 30))
LOT_FAULT = Swatch("Sensor fault (stale data)", (150, 60, 200))
LOT_UNKNOWN = Swatch("No data", (150, 150, 150))
LOTS = (LOT_FREE, LOT_FILLING, LOT_FULL, LOT_CLOSED, LOT_FAULT, LOT_UNKNOWN)
FILLING_BELOW = 0.30
FULL_BELOW = 0.05

BAYS = (
    Swatch("Free", (60, 180, 75, 230), "free"),
    Swatch("Occupied", (215, 50, 40, 230), "occupied"),
    Swatch("Sensor silent", (150, 60, 200, 230), "silent"),
    Swatch("Out of service", (110, 110, 110, 230), "out_of_service"),
    Swatch("Never reported", (200, 200, 200, 230)),
)
ROUTE = Swatch("Way to the nearest lot with free places", (0, 110, 255))
ORIGIN = Swatch("Where the way starts", (20, 40, 120))

# air quality: the European Air Quality Index's bands and colours
AIR = tuple(
    Swatch(level.capitalize(), (*colour, 150), level)
    for level, colour in zip(AIR_LEVELS, AIR_COLOURS, strict=True)
) + (Swatch("No station in the zone", (0, 0, 0, 0)),)


def pressure_swatches() -> tuple[Swatch, ...]:
    """Parking pressure by zone: the zone's share of occupied places, in four steps."""
    return (
        Swatch("Under 50 % occupied", (120, 200, 120, 140), "low"),
        Swatch("50-75 % occupied", (250, 210, 80, 150), "medium"),
        Swatch("75-90 % occupied", (245, 130, 40, 160), "high"),
        Swatch("90 % or more occupied", (200, 30, 30, 170), "full"),
        Swatch("No parking lot in the zone", (0, 0, 0, 0)),
    )


PRESSURE = pressure_swatches()


def pressure_step(occupancy: float | None) -> str | None:
    """The step of :data:`PRESSURE` an occupied share (0..1) falls in."""
    if occupancy is None:
        return None
    if occupancy >= 0.9:
        return "full"
    if occupancy >= 0.75:
        return "high"
    return "medium" if occupancy >= 0.5 else "low"


CARBON = Swatch("Municipal asset's emissions this year (area ∝ t CO2e)", (90, 60, 40, 170))

# the Danube: Romanian warning codes (cod galben / portocaliu / roșu)
FLOOD_NOW = Swatch("Under water now (latest level)", (0, 70, 200, 130))
FLOOD_BANDS = (
    Swatch("Under water at the attention level (yellow)", (240, 200, 0, 90), "attention"),
    Swatch("Under water at the flood level (orange)", (245, 130, 0, 80), "flood"),
    Swatch("Under water at the danger level (red)", (220, 0, 0, 70), "danger"),
)
DEPTH = (
    Swatch("Under 0.5 m of water", (120, 190, 250, 230), "shallow"),
    Swatch("0.5-1.5 m", (40, 110, 220, 235), "deep"),
    Swatch("1.5 m or more", (20, 30, 140, 240), "very_deep"),
)


def depth_step(depth_m: float) -> str:
    """The step of :data:`DEPTH` a water depth (m) falls in."""
    if depth_m >= 1.5:
        return "very_deep"
    return "deep" if depth_m >= 0.5 else "shallow"
