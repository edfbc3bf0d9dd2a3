"""A sensor's display status from its latest values: a short label and a colour.

Parking sensors are labelled by :mod:`parking.occupancy`; a parking lot's own status is
its occupancy (:func:`twin.state.lot_status`), not any one sensor's.

Air-quality colours follow the European Air Quality Index (:mod:`air.index`, the 2024
table) applied to the latest values: indicative, as the index is on hourly means
(``GET /air/stations`` has each station's index for its latest complete hour).
"""

from __future__ import annotations

from collections.abc import Mapping

from air.bands import COLOURS, EAQI_2024, LEVELS
from parking.occupancy import sensor_display
from river_monitor.thresholds import TURNU_MAGURELE, GaugeThresholds, WarningCode

Colour = tuple[int, int, int]

_GREY: Colour = (150, 150, 150)
_WARNING_COLOURS: dict[WarningCode, Colour] = {
    WarningCode.NONE: (0, 90, 180),
    WarningCode.YELLOW: (240, 200, 0),
    WarningCode.ORANGE: (245, 130, 0),
    WarningCode.RED: (220, 0, 0),
}


def eaqi_level(values: Mapping[str, float]) -> int | None:
    """Band (0 good .. 5 extremely poor) of the worst pollutant present, or None: the
    European Air Quality Index's current table (:mod:`air.bands`, 2024) on these values."""
    bands = [EAQI_2024.band(p, v) for p, v in values.items() if p in EAQI_2024.upper]
    return max(bands) if bands else None


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
            return f"AQ {LEVELS[band]} ({', '.join(parts)})", COLOURS[band]
    return "no data", _GREY
