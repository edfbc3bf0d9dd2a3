"""Emission factors as versioned data, each with its source and the year it applies from.

The table ships as ``factors.toml`` beside this module (the values, their sources and
which of them are unconfirmed live there, not here). A town replaces it with a file of
the same shape (``SMARTCITY_CARBON_FACTORS_FILE``). An inventory of year Y uses, for each
energy carrier, the factor of year Y, or else the latest factor published before Y — so
a 2007 baseline recomputes with 2007's grid factor, whatever the current one is — and
reports the factor it used (:class:`EmissionFactor` carries year, source and version).

Example:
    >>> table = default_table()
    >>> table.lookup("electricity", 2019).t_co2_per_mwh
    0.26465
    >>> round(table.tonnes("diesel", 1000.0, "l", 2024), 3)  # 1,000 litres of diesel
    2.654
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from carbon.errors import FactorNotFound, InvalidFactorTable


class Carrier(StrEnum):
    """An energy carrier the inventory counts."""

    ELECTRICITY = "electricity"
    NATURAL_GAS = "natural_gas"
    DIESEL = "diesel"
    PETROL = "petrol"
    LPG = "lpg"
    DISTRICT_HEAT = "district_heat"


class Scope(IntEnum):
    """GHG Protocol for Cities scope: 1 burnt inside the boundary, 2 grid energy."""

    DIRECT = 1
    GRID = 2


#: Scope of the emissions of each carrier: fuels burnt by the town's own assets are
#: scope 1; electricity and district heat bought from a network are scope 2.
CARRIER_SCOPE: Mapping[Carrier, Scope] = {
    Carrier.ELECTRICITY: Scope.GRID,
    Carrier.DISTRICT_HEAT: Scope.GRID,
    Carrier.NATURAL_GAS: Scope.DIRECT,
    Carrier.DIESEL: Scope.DIRECT,
    Carrier.PETROL: Scope.DIRECT,
    Carrier.LPG: Scope.DIRECT,
}


@dataclass(frozen=True, slots=True)
class EmissionFactor:
    """t CO2 per MWh of a carrier, applying from ``year`` until a later entry."""

    carrier: Carrier
    year: int
    t_co2_per_mwh: float
    source: str
    confirmed: bool
    version: str

    @property
    def scope(self) -> Scope:
        """The scope the carrier's emissions count in."""
        return CARRIER_SCOPE[self.carrier]


@dataclass(frozen=True, slots=True)
class UnitConversion:
    """MWh of final energy in one unit of a carrier as metered or invoiced."""

    carrier: Carrier
    unit: str
    mwh_per_unit: float
    source: str
    confirmed: bool


class FactorTable:
    """A version of the emission factors and unit conversions, looked up by carrier and
    year; build it with :func:`load_table` or :func:`default_table`."""

    def __init__(
        self,
        version: str,
        factors: Iterable[EmissionFactor],
        units: Iterable[UnitConversion],
    ) -> None:
        self.version = version
        self._factors: dict[Carrier, list[EmissionFactor]] = {}
        for factor in factors:
            self._factors.setdefault(factor.carrier, []).append(factor)
        for entries in self._factors.values():
            entries.sort(key=lambda f: f.year)
            years = [f.year for f in entries]
            if len(set(years)) != len(years):
                raise InvalidFactorTable(
                    f"Two factors for {entries[0].carrier.value} in the same year in "
                    f"version {version}: keep one per carrier and year."
                )
        self._units: dict[tuple[Carrier, str], UnitConversion] = {}
        for conversion in units:
            self._units[(conversion.carrier, conversion.unit)] = conversion

    @property
    def factors(self) -> list[EmissionFactor]:
        """Every factor of the table, by carrier then year."""
        return [f for carrier in Carrier for f in self._factors.get(carrier, [])]

    @property
    def units(self) -> list[UnitConversion]:
        """Every unit conversion of the table."""
        return list(self._units.values())

    def lookup(self, carrier: Carrier | str, year: int) -> EmissionFactor:
        """The factor that applies to ``carrier`` in ``year``: that year's, or else the
        latest before it.

        Raises:
            FactorNotFound: an unknown carrier, or a year before the carrier's first
                factor (the message says which years the table covers).
        """
        known = _carrier(carrier)
        entries = self._factors.get(known, [])
        applicable = [f for f in entries if f.year <= year]
        if not applicable:
            first = f"from {entries[0].year}" if entries else "for no year"
            raise FactorNotFound(
                f"No emission factor for {known.value} in {year}: the table (version "
                f"{self.version}) has factors {first}. Add one to the factor file "
                "(SMARTCITY_CARBON_FACTORS_FILE)."
            )
        return applicable[-1]

    def conversion(self, carrier: Carrier | str, unit: str) -> UnitConversion:
        """How many MWh one ``unit`` of ``carrier`` holds.

        Raises:
            FactorNotFound: the table has no conversion for this carrier and unit (the
                message lists the units it has).
        """
        known = _carrier(carrier)
        found = self._units.get((known, unit))
        if found is None:
            units = sorted(u for c, u in self._units if c is known)
            raise FactorNotFound(
                f"No conversion of {unit!r} for {known.value}; known units: "
                f"{', '.join(units) or 'none'}."
            )
        return found

    def to_mwh(self, carrier: Carrier | str, quantity: float, unit: str) -> float:
        """``quantity`` of ``carrier`` in ``unit``, as MWh."""
        return quantity * self.conversion(carrier, unit).mwh_per_unit

    def tonnes(self, carrier: Carrier | str, quantity: float, unit: str, year: int) -> float:
        """t CO2 of ``quantity`` ``unit`` of ``carrier`` consumed in ``year``."""
        return self.to_mwh(carrier, quantity, unit) * self.lookup(carrier, year).t_co2_per_mwh


_CARRIERS = frozenset(c.value for c in Carrier)


def _carrier(value: Carrier | str) -> Carrier:
    try:
        return Carrier(value)
    except ValueError:
        known = ", ".join(c.value for c in Carrier)
        raise FactorNotFound(f"Unknown energy carrier {value!r}; known: {known}.") from None


def parse_table(document: Mapping[str, Any], origin: str = "factor table") -> FactorTable:
    """A factor table from a decoded TOML document (see ``factors.toml``).

    Raises:
        InvalidFactorTable: a missing or mistyped field, an unknown carrier, a factor
            below 0; the message names the entry.
    """
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise InvalidFactorTable(f"{origin}: a 'version' string is required.")
    factors = [
        _entry(origin, "factor", i, raw, version)
        for i, raw in enumerate(document.get("factor", []), start=1)
    ]
    units = [_unit(origin, i, raw) for i, raw in enumerate(document.get("unit", []), start=1)]
    return FactorTable(version, factors, units)


def _field(origin: str, where: str, raw: Mapping[str, Any], name: str, kind: type) -> Any:
    value = raw.get(name)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidFactorTable(f"{origin}: {where} needs '{name}' ({kind.__name__}).")
    return value


def _entry(
    origin: str, table: str, index: int, raw: Mapping[str, Any], version: str
) -> EmissionFactor:
    where = f"[[{table}]] #{index}"
    carrier = _field(origin, where, raw, "carrier", str)
    if carrier not in _CARRIERS:
        raise InvalidFactorTable(f"{origin}: {where} has an unknown carrier {carrier!r}.")
    value = _field(origin, where, raw, "t_co2_per_mwh", float)
    if value < 0:
        raise InvalidFactorTable(f"{origin}: {where} has a factor below 0.")
    return EmissionFactor(
        carrier=Carrier(carrier),
        year=_field(origin, where, raw, "year", int),
        t_co2_per_mwh=value,
        source=_field(origin, where, raw, "source", str),
        confirmed=_field(origin, where, raw, "confirmed", bool),
        version=version,
    )


def _unit(origin: str, index: int, raw: Mapping[str, Any]) -> UnitConversion:
    where = f"[[unit]] #{index}"
    carrier = _field(origin, where, raw, "carrier", str)
    if carrier not in _CARRIERS:
        raise InvalidFactorTable(f"{origin}: {where} has an unknown carrier {carrier!r}.")
    value = _field(origin, where, raw, "mwh_per_unit", float)
    if value <= 0:
        raise InvalidFactorTable(f"{origin}: {where} needs 'mwh_per_unit' above 0.")
    return UnitConversion(
        carrier=Carrier(carrier),
        unit=_field(origin, where, raw, "unit", str),
        mwh_per_unit=value,
        source=_field(origin, where, raw, "source", str),
        confirmed=_field(origin, where, raw, "confirmed", bool),
    )


def load_table(path: Path) -> FactorTable:
    """The factor table in a TOML file of the shape of ``factors.toml``.

    Raises:
        InvalidFactorTable: the file cannot be read or decoded, or an entry is invalid.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidFactorTable(f"{path}: cannot be read as TOML ({exc}).") from exc
    return parse_table(document, str(path))


def table_from(path: Path | None) -> FactorTable:
    """The table in ``path`` (``SMARTCITY_CARBON_FACTORS_FILE``), or the shipped one."""
    return default_table() if path is None else load_table(path)


@cache
def default_table() -> FactorTable:
    """The factor table shipped with the hub (``carbon/factors.toml``)."""
    text = resources.files("carbon").joinpath("factors.toml").read_text(encoding="utf-8")
    return parse_table(tomllib.loads(text), "carbon/factors.toml")
