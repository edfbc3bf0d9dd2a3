"""The municipality's emission inventory of a year: tCO2e by asset, sector, scope, carrier
and month, in the structure of the Covenant of Mayors baseline emission inventory (final
energy and emissions by sector and carrier) and the GHG Protocol for Cities (scopes 1
and 2; sectors mapped in :mod:`carbon.sectors`).

Every consumption is converted to MWh and multiplied by the factor of the inventory's
year (:meth:`carbon.factors.FactorTable.lookup`); each line keeps the factor it used, so
the figures can be checked by hand and a baseline recomputes as it was. Pure functions:
the consumptions come from :mod:`carbon.store`.

Example:
    >>> from datetime import date
    >>> from carbon.factors import default_table
    >>> from carbon.model import Activity, Asset, Source
    >>> from carbon.sectors import Sector
    >>> school = Asset("school-1", "School", "school", Sector.MUNICIPAL_BUILDINGS)
    >>> use = Activity("school-1", "electricity", date(2019, 1, 1), 10_000, "kWh", Source.METER)
    >>> compute(2019, [use], {"school-1": school}, default_table()).total.t_co2e
    2.6465
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from carbon.factors import Carrier, EmissionFactor, FactorTable, Scope
from carbon.model import Activity, Asset, Source
from carbon.sectors import Sector, sector_of_use

K = TypeVar("K", bound=Hashable)

UNKNOWN_KIND = "unknown"
"""The kind reported for consumption of an asset no longer in the twin."""


@dataclass(frozen=True, slots=True)
class EmissionLine:
    """One consumption with its energy, its factor and its emissions."""

    asset_id: str
    sector: Sector
    scope: Scope
    carrier: Carrier
    month: date
    source: Source
    quantity: float
    unit: str
    mwh: float
    factor: EmissionFactor
    t_co2e: float


@dataclass(frozen=True, slots=True)
class Totals:
    """Energy and emissions of a group of lines."""

    mwh: float = 0.0
    t_co2e: float = 0.0
    scope1_t_co2e: float = 0.0
    scope2_t_co2e: float = 0.0

    def __add__(self, line: EmissionLine) -> Totals:
        direct = line.scope is Scope.DIRECT
        return Totals(
            self.mwh + line.mwh,
            self.t_co2e + line.t_co2e,
            self.scope1_t_co2e + (line.t_co2e if direct else 0.0),
            self.scope2_t_co2e + (0.0 if direct else line.t_co2e),
        )


@dataclass(frozen=True)
class Inventory:
    """The emissions of one year, line by line, with the assets they belong to."""

    year: int
    factors_version: str
    lines: tuple[EmissionLine, ...]
    assets: Mapping[str, Asset]
    factors: tuple[EmissionFactor, ...] = field(default=())
    """The factors the lines used, one per carrier."""

    @property
    def total(self) -> Totals:
        """The whole inventory."""
        return _sum(self.lines)

    def by(self, key: Callable[[EmissionLine], K]) -> dict[K, Totals]:
        """Totals grouped by ``key`` of each line, in order of first appearance."""
        groups: dict[K, Totals] = defaultdict(Totals)
        for line in self.lines:
            groups[key(line)] = groups[key(line)] + line
        return dict(groups)

    def by_sector(self) -> dict[Sector, Totals]:
        """Totals per sector, in the order of :class:`Sector`."""
        found = self.by(lambda line: line.sector)
        return {s: found[s] for s in Sector if s in found}

    def by_scope(self) -> dict[Scope, Totals]:
        """Totals per scope (1, 2)."""
        found = self.by(lambda line: line.scope)
        return {s: found[s] for s in Scope if s in found}

    def by_carrier(self) -> dict[Carrier, Totals]:
        """Totals per energy carrier."""
        found = self.by(lambda line: line.carrier)
        return {c: found[c] for c in Carrier if c in found}

    def by_month(self) -> dict[date, Totals]:
        """Totals per month, January first; a month without consumption is absent."""
        found = self.by(lambda line: line.month)
        return {m: found[m] for m in sorted(found)}

    def by_asset(self) -> dict[str, Totals]:
        """Totals per asset, largest emitter first."""
        found = self.by(lambda line: line.asset_id)
        return dict(sorted(found.items(), key=lambda kv: -kv[1].t_co2e))

    def by_sector_and_carrier(self) -> dict[tuple[Sector, Carrier], Totals]:
        """The Covenant's BEI tables A (MWh) and B (tCO2): a cell per sector and carrier."""
        found = self.by(lambda line: (line.sector, line.carrier))
        return {(s, c): found[(s, c)] for s in Sector for c in Carrier if (s, c) in found}


def _sum(lines: Iterable[EmissionLine]) -> Totals:
    total = Totals()
    for line in lines:
        total = total + line
    return total


def compute(
    year: int,
    activities: Iterable[Activity],
    assets: Mapping[str, Asset],
    table: FactorTable,
) -> Inventory:
    """The inventory of ``year`` from the consumptions of its months (others are left
    out), with the factors of ``year``.

    Raises:
        FactorNotFound: a carrier consumed in ``year`` has no factor for it, or a unit
            no conversion (the message says how to add one).
    """
    known = dict(assets)
    factors: dict[Carrier, EmissionFactor] = {}
    lines: list[EmissionLine] = []
    for activity in activities:
        if activity.month.year != year:
            continue
        carrier = Carrier(activity.carrier)
        factor = factors.get(carrier)
        if factor is None:
            factor = factors[carrier] = table.lookup(carrier, year)
        asset = known.get(activity.asset_id)
        if asset is None:
            asset = known[activity.asset_id] = Asset(
                activity.asset_id, activity.asset_id, UNKNOWN_KIND, Sector.OTHER_MUNICIPAL
            )
        mwh = table.to_mwh(carrier, activity.quantity, activity.unit)
        lines.append(
            EmissionLine(
                asset_id=activity.asset_id,
                sector=sector_of_use(asset.sector, carrier, activity.sector),
                scope=factor.scope,
                carrier=carrier,
                month=activity.month,
                source=activity.source,
                quantity=activity.quantity,
                unit=activity.unit,
                mwh=mwh,
                factor=factor,
                t_co2e=mwh * factor.t_co2_per_mwh,
            )
        )
    used = {line.asset_id for line in lines}
    return Inventory(
        year=year,
        factors_version=table.version,
        lines=tuple(lines),
        assets={a: known[a] for a in sorted(used)},
        factors=tuple(factors[c] for c in Carrier if c in factors),
    )
