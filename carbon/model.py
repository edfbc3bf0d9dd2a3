"""What an inventory is computed from: consumptions of energy by twin assets, by month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from carbon.factors import Carrier
from carbon.sectors import Sector


class Source(StrEnum):
    """Where a consumption comes from."""

    METER = "meter"
    IMPORT = "import"


@dataclass(frozen=True, slots=True)
class Activity:
    """``quantity`` ``unit`` of ``carrier`` consumed by an asset in the month starting
    ``month``; ``sector`` when the source names one (else the asset's counts)."""

    asset_id: str
    carrier: Carrier
    month: date
    quantity: float
    unit: str
    source: Source
    sector: Sector | None = None


@dataclass(frozen=True, slots=True)
class Asset:
    """A twin asset as the inventory sees it: its sector and where to draw it."""

    asset_id: str
    name: str
    kind: str
    sector: Sector
    lon: float | None = None
    lat: float | None = None
