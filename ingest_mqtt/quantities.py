"""The quantities the hub stores: one canonical unit each, the units accepted, the bounds.

Every reading is stored in its quantity's canonical unit. SenML records name their unit
(``u`` or ``bu``) and are converted; compact JSON values are already canonical. Unit
strings are SenML's exactly: the SenML Units registry of RFC 8428 (``m``, ``K``,
``Cel``, ``lat``, ``lon``, ``count``, ``/``, ``%``, ``%RH``, ``%EL``, ``J``, ``m3``, ``l``),
the primary unit ``kg/m3`` added by RFC 8798, and the RFC 8798 *secondary* units ``cm``,
``ug/m3``, ``/100``, ``Wh`` and ``kWh``. ``None`` stands for a record without a unit.

The bounds are physical plausibility limits, not alert thresholds: a value outside them
is a sensor or encoding fault and is dead-lettered. Values marked *illustrative* in
``docs/mqtt.md`` are defaults to be confirmed; change them here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

Conversion = tuple[float, float]
"""``canonical = value * scale + offset``."""

IDENTITY: Conversion = (1.0, 0.0)
"""The conversion of a canonical unit (the one object every table entry shares)."""

_SAME = IDENTITY
_KELVIN: Conversion = (1.0, -273.15)


@dataclass(frozen=True, slots=True)
class Quantity:
    """A stored quantity: canonical unit, accepted SenML units, physical bounds."""

    name: str
    unit: str
    """The canonical unit, as a SenML unit string (``1`` for a dimensionless state)."""
    senml_units: Mapping[str | None, Conversion]
    """Accepted SenML unit strings (``None``: no unit) and their conversion."""
    low: float
    high: float
    description: str
    integral: bool = False
    """Counts: the value must be a whole number."""
    boolean: bool = False
    """States: the value must be 0 or 1; SenML may send it as ``vb``."""
    accepted: str = field(init=False)
    """The accepted units as a human-readable list, for rejection reasons."""

    def __post_init__(self) -> None:
        names = ["none" if u is None else u for u in self.senml_units]
        object.__setattr__(self, "accepted", ", ".join(names))

    def problem(self, value: float) -> str | None:
        """Why a canonical ``value`` cannot be stored, or None if it can."""
        if not self.low <= value <= self.high:
            return (
                f"{self.name} {value:g} {self.unit} is outside"
                f" {self.low:g}..{self.high:g} {self.unit}"
            )
        if self.boolean and value != 0.0 and value != 1.0:
            return f"{self.name} must be 0 or 1, got {value:g}"
        if self.integral and not value.is_integer():
            return f"{self.name} must be a whole number, got {value:g}"
        return None


def _concentration(name: str, description: str) -> Quantity:
    return Quantity(
        name,
        "ug/m3",
        {"ug/m3": _SAME, "kg/m3": (1e9, 0.0)},
        0.0,
        5000.0,
        description,
    )


def _count(name: str, description: str) -> Quantity:
    return Quantity(
        name, "count", {"count": _SAME, None: _SAME}, 0.0, 100_000.0, description, integral=True
    )


def _energy(name: str, description: str) -> Quantity:
    # consumed since the meter's previous report (carbon/meters.py): never negative
    return Quantity(
        name,
        "kWh",
        {"kWh": _SAME, "Wh": (0.001, 0.0), "J": (1 / 3.6e6, 0.0)},
        0.0,
        1_000_000.0,
        description,
    )


_ALL = (
    Quantity(
        "water_level",
        "cm",
        {"cm": _SAME, "m": (100.0, 0.0)},
        -300.0,
        1500.0,
        "Danube level on the Tr. Măgurele staff gauge, relative to the gauge zero",
    ),
    Quantity(
        "water_temperature",
        "Cel",
        {"Cel": _SAME, "K": _KELVIN},
        -5.0,
        40.0,
        "river water temperature",
    ),
    Quantity(
        "water_surface_level",
        "m",
        {"m": _SAME, "cm": (0.01, 0.0)},
        -10.0,
        100.0,
        "water surface height above the Constanța datum (EPSG:5781), measured by a drone",
    ),
    Quantity(
        "occupied",
        "1",
        {None: _SAME, "/": _SAME},
        0.0,
        1.0,
        "parking bay state: 1 occupied, 0 free",
        boolean=True,
    ),
    _count("occupied_spaces", "occupied spaces of a car park"),
    _count("free_spaces", "free spaces of a car park"),
    _concentration("pm25", "PM2.5 mass concentration"),
    _concentration("pm10", "PM10 mass concentration"),
    _concentration("no2", "NO2 mass concentration"),
    _concentration("o3", "O3 mass concentration"),
    _concentration("so2", "SO2 mass concentration"),
    Quantity("temperature", "Cel", {"Cel": _SAME, "K": _KELVIN}, -50.0, 60.0, "air temperature"),
    Quantity("humidity", "%RH", {"%RH": _SAME}, 0.0, 100.0, "relative humidity"),
    Quantity(
        "battery",
        "%EL",
        {"%EL": _SAME, "%": _SAME, "/100": _SAME},
        0.0,
        100.0,
        "remaining battery energy",
    ),
    _energy("electricity_energy", "electricity consumed since the meter's previous report"),
    _energy("gas_energy", "natural gas energy consumed since the meter's previous report"),
    _energy("heat_energy", "district heat consumed since the meter's previous report"),
    Quantity(
        "gas_volume",
        "m3",
        {"m3": _SAME, "l": (0.001, 0.0)},
        0.0,
        100_000.0,
        "natural gas volume (standard m³) consumed since the meter's previous report",
    ),
    Quantity("lat", "lat", {"lat": _SAME}, -90.0, 90.0, "WGS 84 latitude in degrees"),
    Quantity("lon", "lon", {"lon": _SAME}, -180.0, 180.0, "WGS 84 longitude in degrees"),
    Quantity("alt", "m", {"m": _SAME}, -500.0, 10_000.0, "altitude in metres"),
)

QUANTITIES: Mapping[str, Quantity] = MappingProxyType({q.name: q for q in _ALL})
"""Every quantity the hub stores, by name."""

POSITION = frozenset({"lat", "lon", "alt"})
"""A drone's position: implicit for drones, never listed in the registry."""

KNOWN = ", ".join(sorted(QUANTITIES))
"""The known quantity names, for rejection reasons."""
