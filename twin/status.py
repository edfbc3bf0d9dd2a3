"""A sensor's display status from its latest values: a short label and a colour.

Parking sensors are labelled by :mod:`parking.occupancy`; a parking lot's own status is
its occupancy (:func:`twin.state.lot_status`), not any one sensor's.

Air-quality colours follow the European Air Quality Index bands (see DOMAIN.md) applied
to the latest value, which is indicative only: the EEA index uses 24-hour PM means.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping

from parking.occupancy import sensor_display
from river_monitor.thresholds import TURNU_MAGURELE, GaugeThresholds, WarningCode

Colour = tuple[int, int, int]

# Upper bounds of good, fair, moderate, poor, very poor (µg/m³); above: extremely poor.
EAQI_BANDS: dict[str, tuple[float, ...]] = {
    "pm25": (10, 20, 25, 50, 75),
    "pm10": (20, 40, 50, 100, 150),
    "no2": (40, 90, 120, 230, 340),
    "o3": (50, 100, 130, 240, 380),
    "so2": (100, 200, 350, 500, 750),
}
EAQI_LEVELS = ("good", "fair", "moderate", "poor", "very poor", "extremely poor")
_EAQI_COLOURS: tuple[Colour, ...] = (
    (80, 240, 230),
    (80, 204, 170),
    (240, 230, 65),
    (255, 80, 80),
    (150, 0, 50),
    (125, 33, 129),
)
_GREY: Colour = (150, 150, 150)
_WARNING_COLOURS: dict[WarningCode, Colour] = {
    WarningCode.NONE: (0, 90, 180),
    WarningCode.YELLOW: (240, 200, 0),
    WarningCode.ORANGE: (245, 130, 0),
    WarningCode.RED: (220, 0, 0),
}


def eaqi_level(values: Mapping[str, float]) -> int | None:
    """Index (0 good .. 5 extremely poor) of the worst pollutant present, or None."""
    levels = [
        bisect_left(EAQI_BANDS[name], value)  # bounds below the value
        for name, value in values.items()
        if name in EAQI_BANDS
    ]
    return max(levels) if levels else None


def sensor_status(
    kind: str,
    latest: Mapping[str, float],
    capacity: int | None,
    thresholds: GaugeThresholds = TURNU_MAGURELE,
) -> tuple[str, Colour]:
    """Label and colour of a sensor for the map (gauges coloured by warning code,
    parking sensors as :mod:`parking` labels them)."""
    parking = sensor_display(kind, latest, capacity)
    if parking is not None:
        return parking
    if kind == "river_gauge" and "water_level" in latest:
        level = latest["water_level"]
        code = thresholds.code(level)
        suffix = "" if code is WarningCode.NONE else f" ({code.name.lower()})"
        return f"Danube {level:.0f} cm{suffix}", _WARNING_COLOURS[code]
    if kind == "air_quality":
        band = eaqi_level(latest)
        if band is not None:
            parts = [f"{q.upper()} {latest[q]:.0f}" for q in ("pm25", "no2") if q in latest]
            return f"AQ {EAQI_LEVELS[band]} ({', '.join(parts)})", _EAQI_COLOURS[band]
    return "no data", _GREY
