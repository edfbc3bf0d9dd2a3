"""Inventory sectors: the Covenant of Mayors baseline emission inventory's categories,
each mapped to the GHG Protocol for Cities (GPC) sector and sub-sector it reports in.

An asset's sector is its ``carbon_sector`` property if it has one, else the sector of
its kind (:data:`SECTOR_OF_KIND`), else :attr:`Sector.OTHER_MUNICIPAL`. Transport fuels
(diesel, petrol, LPG) count in the municipal fleet whatever asset buys them, unless an
import row names another sector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from carbon.factors import Carrier


class Sector(StrEnum):
    """A sector of the municipality's own inventory (Covenant of Mayors, BEI table A)."""

    MUNICIPAL_BUILDINGS = "municipal_buildings"
    PUBLIC_LIGHTING = "public_lighting"
    MUNICIPAL_FLEET = "municipal_fleet"
    PUBLIC_TRANSPORT = "public_transport"
    WATER_WASTEWATER = "water_wastewater"
    OTHER_MUNICIPAL = "other_municipal"


@dataclass(frozen=True, slots=True)
class SectorInfo:
    """How a sector is named in the two reporting frameworks."""

    title: str
    covenant: str
    """The Covenant of Mayors BEI category."""
    gpc: str
    """The GHG Protocol for Cities sector and sub-sector (reference numbers of the GPC)."""


SECTORS: Mapping[Sector, SectorInfo] = {
    Sector.MUNICIPAL_BUILDINGS: SectorInfo(
        "Municipal buildings",
        "Municipal buildings, equipment/facilities",
        "I.2 Stationary energy: commercial and institutional buildings and facilities",
    ),
    Sector.PUBLIC_LIGHTING: SectorInfo(
        "Public lighting",
        "Municipal public lighting",
        "I.2 Stationary energy: commercial and institutional buildings and facilities",
    ),
    Sector.MUNICIPAL_FLEET: SectorInfo(
        "Municipal fleet",
        "Transport: municipal fleet",
        "II.1 Transportation: on-road",
    ),
    Sector.PUBLIC_TRANSPORT: SectorInfo(
        "Public transport",
        "Transport: public transport",
        "II.1 Transportation: on-road",
    ),
    Sector.WATER_WASTEWATER: SectorInfo(
        "Water and wastewater",
        "Other: water supply and wastewater management",
        "I.2 Stationary energy: commercial and institutional buildings and facilities"
        " (energy of pumping and treatment; process emissions of wastewater, GPC III.4,"
        " are not counted)",
    ),
    Sector.OTHER_MUNICIPAL: SectorInfo(
        "Other municipal",
        "Municipal buildings, equipment/facilities",
        "I.2 Stationary energy: commercial and institutional buildings and facilities",
    ),
}

SECTOR_OF_KIND: Mapping[str, Sector] = {
    "town_hall": Sector.MUNICIPAL_BUILDINGS,
    "hospital": Sector.MUNICIPAL_BUILDINGS,
    "high_school": Sector.MUNICIPAL_BUILDINGS,
    "school": Sector.MUNICIPAL_BUILDINGS,
    "kindergarten": Sector.MUNICIPAL_BUILDINGS,
    "library": Sector.MUNICIPAL_BUILDINGS,
    "sports_hall": Sector.MUNICIPAL_BUILDINGS,
    "street_lighting": Sector.PUBLIC_LIGHTING,
    "lighting_cabinet": Sector.PUBLIC_LIGHTING,
    "vehicle": Sector.MUNICIPAL_FLEET,
    "fleet": Sector.MUNICIPAL_FLEET,
    "bus": Sector.PUBLIC_TRANSPORT,
    "water_pumping_station": Sector.WATER_WASTEWATER,
    "water_treatment_plant": Sector.WATER_WASTEWATER,
    "wastewater_treatment_plant": Sector.WATER_WASTEWATER,
}
"""The sector of an asset by its twin kind."""

TRANSPORT_FUELS = frozenset({Carrier.DIESEL, Carrier.PETROL, Carrier.LPG})


def sector_of_asset(kind: str, properties: Mapping[str, object]) -> Sector:
    """The sector an asset's stationary energy counts in: its ``carbon_sector``
    property, else its kind's sector, else other municipal."""
    declared = properties.get("carbon_sector")
    if isinstance(declared, str) and declared in _SECTOR_NAMES:
        return Sector(declared)
    return SECTOR_OF_KIND.get(kind, Sector.OTHER_MUNICIPAL)


def sector_of_use(asset_sector: Sector, carrier: Carrier, declared: Sector | None) -> Sector:
    """The sector a consumption counts in: the one a row declares, else the fleet for
    transport fuels, else the asset's."""
    if declared is not None:
        return declared
    if carrier in TRANSPORT_FUELS and asset_sector is not Sector.PUBLIC_TRANSPORT:
        return Sector.MUNICIPAL_FLEET
    return asset_sector


_SECTOR_NAMES = frozenset(s.value for s in Sector)
