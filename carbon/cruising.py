"""Cruising for parking: the extra vehicle-km and tonnes of drivers searching for a place
when lots are nearly full, estimated from the lots' hourly occupancy.

The estimate, per lot and hour (every value in :class:`CruisingAssumptions`, each with
its source in :data:`SOURCES`):

1. **Occupancy** ``o``: the mean occupied share of the lot's places in the hour (its
   counters' hourly rollup, :func:`parking.hourly_occupancy.hourly_occupancy`).
2. **Arrivals**: by Little's law, a lot holding ``o × capacity`` cars that stay
   ``dwell_hours`` on average receives ``o × capacity / dwell_hours`` cars an hour.
3. **Searching share**: nobody searches below the threshold where drivers start
   cruising (about 85 % occupancy: Shoup); from there the share of arrivals that search
   rises linearly to all of them when the lot is full — the hub's modelling choice.
4. **Distance**: each searching driver cruises ``search_minutes`` at
   ``cruising_speed_kmh``.
5. **Tonnes**: vehicle-km × fuel per km × the fuel's energy content × its emission
   factor for the hour's year (:mod:`carbon.factors`).

Hours without readings count as nothing (not as full, not as empty): the answer says
how many hours each lot had.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from psycopg import AsyncConnection

from carbon.errors import CarbonError
from carbon.factors import FactorTable
from parking.hourly_occupancy import hourly_occupancy


@dataclass(frozen=True)
class CruisingAssumptions:
    """The values the estimate rests on; :data:`SOURCES` says where each comes from."""

    search_threshold: float = 0.85
    dwell_hours: float = 2.0
    search_minutes: float = 3.5
    cruising_speed_kmh: float = 15.0
    fuel: str = "petrol"
    fuel_l_per_100km: float = 8.0

    def check(self) -> None:
        """Raise :class:`InvalidAssumption` naming the first value out of its range."""
        ranges = {
            "search_threshold": (self.search_threshold, 0.5, 0.99),
            "dwell_hours": (self.dwell_hours, 0.1, 24.0),
            "search_minutes": (self.search_minutes, 0.0, 60.0),
            "cruising_speed_kmh": (self.cruising_speed_kmh, 1.0, 50.0),
            "fuel_l_per_100km": (self.fuel_l_per_100km, 1.0, 30.0),
        }
        for name, (value, low, high) in ranges.items():
            if not low <= value <= high:
                raise InvalidAssumption(f"{name} must be within [{low}, {high}], got {value}")
        if self.fuel not in ("petrol", "diesel", "lpg"):
            raise InvalidAssumption(f"fuel must be petrol, diesel or lpg, got {self.fuel!r}")


SOURCES: Mapping[str, tuple[str, bool]] = {
    "search_threshold": (
        "Shoup, The High Cost of Free Parking (2005): drivers start cruising when kerb "
        "occupancy passes about 85 % (DOMAIN.md)",
        True,
    ),
    "dwell_hours": (
        "mean parking duration in a town centre; illustrative, measure it per lot from "
        "bay turnover (GET /parking/lots/{id}/turnover) where bays have sensors",
        False,
    ),
    "search_minutes": (
        "low end of the 3.5-13.9 minutes per search in Shoup's review (DOMAIN.md): a "
        "small town's searches are short",
        True,
    ),
    "cruising_speed_kmh": ("slow search driving in town streets; illustrative", False),
    "fuel": ("the typical private car's fuel; illustrative", False),
    "fuel_l_per_100km": ("a petrol car in slow stop-and-go driving; illustrative", False),
    "searching_share": (
        "the hub's modelling choice: none at the threshold, rising linearly to every "
        "arriving driver when the lot is full",
        False,
    ),
    "arrivals": ("Little's law: arrivals an hour = cars parked / mean dwell hours", True),
}


class InvalidAssumption(CarbonError):
    """A cruising assumption outside its plausible range; the message names it."""

    status_code = 400
    title = "Invalid parameter"


@dataclass(frozen=True)
class LotCruising:
    """One lot's share of the estimate over the period."""

    lot_id: str
    capacity: int
    hours_with_data: int
    hours_above_threshold: int
    searching_vehicles: float
    vehicle_km: float
    fuel_litres: float
    tco2e: float


@dataclass(frozen=True)
class CruisingEstimate:
    """The estimate over ``[start, end)`` for every lot, with what it assumed."""

    start: datetime
    end: datetime
    assumptions: CruisingAssumptions
    lots: list[LotCruising]
    factors: list[tuple[int, float, str, bool]] = field(default_factory=list)
    """(year applied from, t CO2/MWh, source, confirmed) of each factor used."""
    fuel_content: tuple[float, str, bool] = (0.0, "", False)
    """(MWh per litre, source, confirmed) of the fuel."""

    @property
    def vehicle_km(self) -> float:
        """Extra vehicle-km of every lot together."""
        return sum(lot.vehicle_km for lot in self.lots)

    @property
    def tco2e(self) -> float:
        """Tonnes of every lot together."""
        return sum(lot.tco2e for lot in self.lots)


def searching_share(occupancy: np.ndarray, threshold: float) -> np.ndarray:
    """The share of arriving drivers that search, for each occupancy (0 to 1)."""
    return np.clip((occupancy - threshold) / (1.0 - threshold), 0.0, 1.0)


def estimate(
    occupancy: Mapping[str, tuple[int, pd.Series]],
    start: datetime,
    end: datetime,
    assumptions: CruisingAssumptions,
    factors: FactorTable,
) -> CruisingEstimate:
    """The estimate from each lot's capacity and hourly occupancy (fractions indexed by
    the hours' UTC starts), lot by lot in ``occupancy``'s order.

    Raises:
        InvalidAssumption: an assumption out of range.
        carbon.errors.FactorNotFound: no factor for the fuel in a year of the period.
    """
    assumptions.check()
    conversion = factors.conversion(assumptions.fuel, "l")
    litre = conversion.mwh_per_unit
    used: dict[int, tuple[int, float, str, bool]] = {}
    lots = []
    for lot_id, (capacity, hours) in occupancy.items():
        fractions = hours.to_numpy(dtype=float)
        share = searching_share(fractions, assumptions.search_threshold)
        searching = fractions * capacity / assumptions.dwell_hours * share
        km = searching * assumptions.search_minutes / 60.0 * assumptions.cruising_speed_kmh
        fuel = km * assumptions.fuel_l_per_100km / 100.0
        years = hours.index.year if len(hours) else pd.Index([], dtype=int)
        tonnes = 0.0
        for year in sorted(set(years)):
            factor = factors.lookup(assumptions.fuel, int(year))
            used[factor.year] = (factor.year, factor.t_co2_per_mwh, factor.source, factor.confirmed)
            tonnes += float(fuel[years == year].sum()) * litre * factor.t_co2_per_mwh
        lots.append(
            LotCruising(
                lot_id=lot_id,
                capacity=capacity,
                hours_with_data=len(hours),
                hours_above_threshold=int((fractions >= assumptions.search_threshold).sum()),
                searching_vehicles=float(searching.sum()),
                vehicle_km=float(km.sum()),
                fuel_litres=float(fuel.sum()),
                tco2e=tonnes,
            )
        )
    content = (litre, conversion.source, conversion.confirmed)
    return CruisingEstimate(start, end, assumptions, lots, [used[y] for y in sorted(used)], content)


_LOTS = """
SELECT asset_id, COALESCE((properties->>'capacity')::int, 0) FROM assets
WHERE kind = 'parking_lot' ORDER BY asset_id
"""


async def lot_occupancy(
    conn: AsyncConnection, start: datetime, end: datetime
) -> dict[str, tuple[int, pd.Series]]:
    """Every parking lot's capacity and hourly occupancy in ``[start, end)`` (a lot
    without capacity or counter readings has an empty series)."""
    rows = await (await conn.execute(_LOTS)).fetchall()
    found: dict[str, tuple[int, pd.Series]] = {}
    for lot_id, capacity in rows:
        if capacity <= 0:
            found[lot_id] = (0, pd.Series([], dtype=float, index=pd.DatetimeIndex([], tz="UTC")))
            continue
        found[lot_id] = (capacity, await hourly_occupancy(conn, lot_id, capacity, start, end))
    return found
