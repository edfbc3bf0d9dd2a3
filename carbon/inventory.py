"""The municipality's emission inventory of a year: tCO2e by asset, sector, scope, carrier
and month, in the structure of the Covenant of Mayors baseline emission inventory (final
energy and emissions by sector and carrier) and the GHG Protocol for Cities (scopes 1
and 2; sectors mapped in :mod:`carbon.sectors`).

Every consumption is converted to MWh and multiplied by the factor of the inventory's
year (:meth:`carbon.factors.FactorTable.lookup`); each line keeps the factor it used, so
the figures can be checked by hand and a baseline recomputes as it was. Pure functions:
the consumptions come from :mod:`carbon.store`. The totals by sector, scope, carrier,
month and asset are added up with numpy (an inventory of 1,000 assets by month is 36,000
lines: ``bench/carbon_bench.py``).

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

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple, TypeVar

import numpy as np

from carbon.factors import Carrier, EmissionFactor, FactorTable, Scope
from carbon.model import Activity, Asset, Source
from carbon.sectors import Sector, sector_of_use

K = TypeVar("K", bound=Hashable)

_SECTOR_CODE = {s: i for i, s in enumerate(Sector)}
_CARRIER_CODE = {c: i for i, c in enumerate(Carrier)}

UNKNOWN_KIND = "unknown"
"""The kind reported for consumption of an asset no longer in the twin."""


class EmissionLine(NamedTuple):
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


@dataclass(frozen=True)
class Inventory:
    """The emissions of one year, line by line, with the assets they belong to and
    their totals by sector, scope, carrier, month and asset."""

    year: int
    factors_version: str
    lines: tuple[EmissionLine, ...]
    assets: Mapping[str, Asset]
    factors: tuple[EmissionFactor, ...] = ()
    """The factors the lines used, one per carrier."""
    total: Totals = Totals()
    sectors: Mapping[Sector, Totals] = field(default_factory=dict, repr=False)
    scopes: Mapping[Scope, Totals] = field(default_factory=dict, repr=False)
    carriers: Mapping[Carrier, Totals] = field(default_factory=dict, repr=False)
    months: Mapping[date, Totals] = field(default_factory=dict, repr=False)
    asset_totals: Mapping[str, Totals] = field(default_factory=dict, repr=False)
    sector_carriers: Mapping[tuple[Sector, Carrier], Totals] = field(
        default_factory=dict, repr=False
    )
    asset_months: Mapping[tuple[str, date], Totals] = field(default_factory=dict, repr=False)

    def by_sector(self) -> dict[Sector, Totals]:
        """Totals per sector, in the order of :class:`Sector`."""
        return {s: self.sectors[s] for s in Sector if s in self.sectors}

    def by_scope(self) -> dict[Scope, Totals]:
        """Totals per scope (1, 2)."""
        return {s: self.scopes[s] for s in Scope if s in self.scopes}

    def by_carrier(self) -> dict[Carrier, Totals]:
        """Totals per energy carrier."""
        return {c: self.carriers[c] for c in Carrier if c in self.carriers}

    def by_month(self) -> dict[date, Totals]:
        """Totals per month, January first; a month without consumption is absent."""
        return {m: self.months[m] for m in sorted(self.months)}

    def by_asset(self) -> dict[str, Totals]:
        """Totals per asset, largest emitter first."""
        return dict(sorted(self.asset_totals.items(), key=lambda kv: (-kv[1].t_co2e, kv[0])))

    def by_sector_and_carrier(self) -> dict[tuple[Sector, Carrier], Totals]:
        """The Covenant's BEI tables A (MWh) and B (tCO2): a cell per sector and carrier."""
        cells = self.sector_carriers
        return {(s, c): cells[(s, c)] for s in Sector for c in Carrier if (s, c) in cells}

    def by_asset_and_month(self) -> dict[tuple[str, date], Totals]:
        """Totals per asset and month."""
        return dict(self.asset_months)


class _GroupSums:
    """Totals of the lines grouped by integer codes, added up with numpy (``bincount``
    per column): a Python loop of additions per group took most of the time of an
    inventory of a thousand assets."""

    def __init__(
        self,
        lines: Sequence[EmissionLine],
        assets: list[int],
        sectors: list[int],
        carriers: list[int],
        months: list[int],
    ) -> None:
        n = len(lines)
        self._mwh = np.fromiter((line.mwh for line in lines), float, n)
        self._tonnes = np.fromiter((line.t_co2e for line in lines), float, n)
        self.direct_code = np.fromiter((line.scope is Scope.DIRECT for line in lines), np.intp, n)
        self._direct = np.where(self.direct_code == 1, self._tonnes, 0.0)
        self._grid = self._tonnes - self._direct
        self.asset = np.array(assets, dtype=np.intp)
        self.sector = np.array(sectors, dtype=np.intp)
        self.carrier = np.array(carriers, dtype=np.intp)
        self.month = np.array(months, dtype=np.intp)

    def total(self) -> Totals:
        return Totals(
            float(self._mwh.sum()),
            float(self._tonnes.sum()),
            float(self._direct.sum()),
            float(self._grid.sum()),
        )

    def by(self, codes: np.ndarray, key: Callable[[int], K]) -> dict[K, Totals]:
        """Totals per code present, keyed by ``key(code)``."""
        if not len(codes):
            return {}
        mwh, tonnes, direct, grid = (
            np.bincount(codes, weights=values).tolist()
            for values in (self._mwh, self._tonnes, self._direct, self._grid)
        )
        present = np.flatnonzero(np.bincount(codes)).tolist()
        return {key(i): Totals(mwh[i], tonnes[i], direct[i], grid[i]) for i in present}


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
    # per (carrier as given, unit): the carrier, its factor and MWh per unit, looked up once
    resolved: dict[tuple[str, str], tuple[Carrier, EmissionFactor, float]] = {}
    sectors: dict[tuple[str, Carrier, Sector | None], Sector] = {}
    lines: list[EmissionLine] = []
    # integer codes of each line's asset, sector, carrier and month (0-11), for the sums
    asset_index: dict[str, int] = {}
    asset_codes: list[int] = []
    sector_codes: list[int] = []
    carrier_codes: list[int] = []
    month_codes: list[int] = []
    for activity in activities:
        if activity.month.year != year:
            continue
        key = (activity.carrier, activity.unit)
        found = resolved.get(key)
        if found is None:
            carrier = Carrier(activity.carrier)
            if carrier not in factors:
                factors[carrier] = table.lookup(carrier, year)
            per_unit = table.conversion(carrier, activity.unit).mwh_per_unit
            found = resolved[key] = (carrier, factors[carrier], per_unit)
        carrier, factor, per_unit = found
        sector_key = (activity.asset_id, carrier, activity.sector)
        sector = sectors.get(sector_key)
        if sector is None:
            asset = known.get(activity.asset_id)
            if asset is None:
                asset = known[activity.asset_id] = Asset(
                    activity.asset_id, activity.asset_id, UNKNOWN_KIND, Sector.OTHER_MUNICIPAL
                )
            sector = sectors[sector_key] = sector_of_use(asset.sector, carrier, activity.sector)
        mwh = activity.quantity * per_unit
        asset_codes.append(asset_index.setdefault(activity.asset_id, len(asset_index)))
        sector_codes.append(_SECTOR_CODE[sector])
        carrier_codes.append(_CARRIER_CODE[carrier])
        month_codes.append(activity.month.month - 1)
        lines.append(
            EmissionLine(
                activity.asset_id,
                sector,
                factor.scope,
                carrier,
                activity.month,
                activity.source,
                activity.quantity,
                activity.unit,
                mwh,
                factor,
                mwh * factor.t_co2_per_mwh,
            )
        )
    sums = _GroupSums(lines, asset_codes, sector_codes, carrier_codes, month_codes)
    assets_in = sorted(asset_index, key=asset_index.__getitem__)
    sector_list, carrier_list = list(Sector), list(Carrier)
    n_carriers = len(carrier_list)
    return Inventory(
        year=year,
        factors_version=table.version,
        lines=tuple(lines),
        assets={a: known[a] for a in sorted(asset_index)},
        factors=tuple(factors[c] for c in Carrier if c in factors),
        total=sums.total(),
        sectors=sums.by(sums.sector, sector_list.__getitem__),
        scopes=sums.by(sums.direct_code, lambda i: Scope.GRID if i == 0 else Scope.DIRECT),
        carriers=sums.by(sums.carrier, carrier_list.__getitem__),
        months=sums.by(sums.month, lambda m: date(year, m + 1, 1)),
        asset_totals=sums.by(sums.asset, assets_in.__getitem__),
        sector_carriers=sums.by(
            sums.sector * n_carriers + sums.carrier,
            lambda i: (sector_list[i // n_carriers], carrier_list[i % n_carriers]),
        ),
        asset_months=sums.by(
            sums.asset * 12 + sums.month, lambda i: (assets_in[i // 12], date(year, i % 12 + 1, 1))
        ),
    )
